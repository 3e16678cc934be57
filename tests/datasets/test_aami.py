import numpy as np
import pytest

from beatdetect.datasets import AAMI_CLASSES, SYMBOL_TO_AAMI, aami_class, aami_to_y, is_beat

# AAMI EC57 grouping as given in the issue (de Chazal et al. 2004, Table I).
EXPECTED = {
    "N": "NLRej",
    "S": "AaJS",
    "V": "VE",
    "F": "F",
    "Q": "/fQ",
}
PAIRS = [(symbol, cls) for cls, symbols in EXPECTED.items() for symbol in symbols]
NON_BEATS = ["+", "~", "|", "!", "x", "[", "]", '"', "(", ")", "p", "t", "u", "^", "="]


@pytest.mark.parametrize(("symbol", "expected"), PAIRS)
def test_every_beat_symbol_maps_to_its_class(symbol, expected):
    assert aami_class([symbol]).tolist() == [expected]
    assert is_beat([symbol]).tolist() == [True]


def test_mapping_has_exactly_the_fifteen_mitbih_beat_symbols():
    assert dict(SYMBOL_TO_AAMI) == dict(PAIRS)
    assert set(SYMBOL_TO_AAMI.values()) == set(AAMI_CLASSES)


@pytest.mark.parametrize("symbol", NON_BEATS)
def test_non_beat_annotations_are_not_beats(symbol):
    assert is_beat([symbol]).tolist() == [False]
    assert aami_class([symbol]).tolist() == [""]


def test_aami_to_y_marks_only_normal_as_plus_one():
    y = aami_to_y(list("NSVFQN"))
    assert y.tolist() == [1, -1, -1, -1, -1, 1]
    assert y.dtype == np.int64


def test_empty_input_gives_empty_output():
    assert aami_class([]).shape == (0,)
    assert is_beat([]).shape == (0,)

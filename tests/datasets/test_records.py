"""training_beats and choose_leads: what ``beatdetect fit`` trains on, with its context."""

from __future__ import annotations

import numpy as np
import pytest

from beatdetect.datasets import beats_from_record, choose_leads, load_mitbih, training_beats


def test_choose_leads():
    assert choose_leads(["V5", "MLII"]) == ["MLII"]
    assert choose_leads(["V1", "V5"]) == ["V1"]
    assert choose_leads(["MLII", "V1"], n_leads=2) == ["MLII", "V1"]
    assert choose_leads(["MLII", "V1"], requested=["V1"]) == ["V1"]
    with pytest.raises(ValueError, match=r"leads \['MLII'\]; the model needs 2"):
        choose_leads(["MLII"], n_leads=2)


@pytest.mark.parametrize("kwargs", [{}, {"records": ["100"], "record_dir": "x"}])
def test_training_beats_needs_one_source(kwargs):
    with pytest.raises(ValueError, match="either records .* or record_dir"):
        training_beats(**kwargs)


@pytest.mark.parametrize("max_beats", [0, -3, 2.5, True])
def test_training_beats_rejects_a_bad_max_beats(max_beats):
    with pytest.raises(ValueError, match="max_beats must be a positive integer"):
        training_beats(records=["100"], max_beats=max_beats)


def test_training_beats_from_a_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="No folder"):
        training_beats(record_dir=tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"No WFDB records \(\*\.hea files\)"):
        training_beats(record_dir=tmp_path)


@pytest.mark.realdata
def test_training_beats_of_mitbih_records_keep_their_context(data_home):
    # Training beats are cut as scoring cuts them: each record's marks on its R peaks.
    data = load_mitbih(data_home, records=["100", "119"], align="peak", verbose=False)
    train = training_beats(records=["100", "119"], data_home=data_home, verbose=False)
    normal = data.y == 1
    np.testing.assert_array_equal(train.X, data.X[normal])
    np.testing.assert_array_equal(train.record, data.record[normal])
    # RR intervals come from all beats: a normal beat after a V beat keeps its short pre-RR.
    np.testing.assert_array_equal(train.rr, data.rr[normal])
    assert train.records == ["100", "119"]

    sub = training_beats(records=["100", "119"], data_home=data_home, max_beats=500,
                         random_state=3, verbose=False)
    keep = np.sort(np.random.default_rng(3).choice(int(normal.sum()), 500, replace=False))
    np.testing.assert_array_equal(sub.X, train.X[keep])
    np.testing.assert_array_equal(sub.rr, train.rr[keep])
    assert set(sub.record) == {"100", "119"}


@pytest.mark.realdata
def test_training_beats_of_a_folder_annotated_or_not(copy_record):
    folder = copy_record(["101"])
    copy_record(["100"], extensions=("hea", "dat"))  # no .atr: detected beats, all kept
    train = training_beats(record_dir=folder)
    annotated = beats_from_record(folder / "101", leads=["MLII"])
    detected = beats_from_record(folder / "100", leads=["MLII"])
    assert train.records == ["100", "101"]
    n100, n101 = len(detected.X), int((annotated.y == 1).sum())
    assert len(train.X) == n100 + n101
    assert train.record.tolist() == ["100"] * n100 + ["101"] * n101
    np.testing.assert_array_equal(train.rr[n100:], annotated.rr[annotated.y == 1])
    np.testing.assert_array_equal(train.X[:n100], detected.X)


def test_training_beats_shift_a_folders_marks_onto_the_r_peaks_unless_told_not_to(tmp_path):
    """Training and scoring cut the same windows: by default each record's marks move onto
    its R peaks, as score_record does; align=None keeps them."""
    from .test_qtdb import _write_record

    _write_record(tmp_path, "early", ["ECG1", "ECG2"], ["N"] * 20, offset=11)
    aligned = training_beats(record_dir=tmp_path)
    at_marks = training_beats(record_dir=tmp_path, align=None)
    assert len(aligned.X) == len(at_marks.X) == 20
    assert np.abs(aligned.X - at_marks.X).max() > 0.5
    # The synthetic R waves are one shape: centred, every window is the same beat.
    np.testing.assert_allclose(aligned.X, aligned.X[:1].repeat(20, axis=0), atol=1e-5)

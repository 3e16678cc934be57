"""RR intervals per beat: within recordings, in input order, with an upper-quantile cycle."""

from __future__ import annotations

import numpy as np
import pytest

from beatdetect.context import rhythm_anomaly
from beatdetect.datasets import load_mitbih, rr_intervals
from beatdetect.exceptions import DataError
from beatdetect.metrics import anomaly_roc_auc


def test_intervals_between_consecutive_beats_in_seconds():
    rr = rr_intervals([0, 360, 720, 900, 1440], fs=360.0)
    np.testing.assert_allclose(rr[:, 0], [1.0, 1.0, 1.0, 0.5, 1.5])  # pre
    np.testing.assert_allclose(rr[:, 1], [1.0, 1.0, 0.5, 1.5, 1.5])  # post; last copies pre


def test_intervals_never_cross_recordings_and_keep_input_order():
    sample = np.array([720, 0, 100, 360, 300])
    groups = np.array(["a", "a", "b", "a", "b"])
    rr = rr_intervals(sample, fs=360.0, groups=groups)
    np.testing.assert_allclose(rr[:, 0], [1.0, 1.0, 200 / 360, 1.0, 200 / 360])
    # the same beats in another order give the same rows, permuted
    order = np.array([4, 2, 0, 3, 1])
    np.testing.assert_array_equal(rr_intervals(sample[order], 360.0, groups[order]), rr[order])


def test_local_cycle_is_an_upper_quantile_robust_to_frequent_premature_beats():
    # bigeminy: every other beat comes after 0.5 s, then a 1.5 s pause
    sample = np.cumsum(np.tile([180, 540], 40))
    rr = rr_intervals(sample, fs=360.0)
    np.testing.assert_allclose(rr[10:-10, 2], 1.5)  # the cycle, not the premature interval
    median = rr_intervals(sample, fs=360.0, local_quantile=50)
    assert not np.allclose(median[10:-10, 2], 1.5)


def test_duplicate_positions_share_their_intervals_and_single_beats_are_nan():
    rr = rr_intervals([0, 360, 360, 720], fs=360.0)
    np.testing.assert_array_equal(rr[1], rr[2])
    np.testing.assert_allclose(rr[:, 0], [1.0, 1.0, 1.0, 1.0])
    assert np.isnan(rr_intervals([5], fs=360.0)).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"fs": 0.0}, "fs must be a positive"),
    ({"fs": 360.0, "groups": ["a"]}, "group labels"),
    ({"fs": 360.0, "local_beats": 0}, "local_beats"),
    ({"fs": 360.0, "local_quantile": 120}, "local_quantile"),
])
def test_bad_arguments_raise_data_error(kwargs, match):
    with pytest.raises(DataError, match=match):
        rr_intervals([0, 360, 720], **kwargs)


@pytest.mark.realdata
def test_mitbih_beats_carry_rr_that_separate_premature_beats(data_home):
    data = load_mitbih(data_home, records=["100", "232"], verbose=False)
    assert data.rr.shape == (len(data.X), 3)
    first = data.record == "100"
    np.testing.assert_allclose(data.rr[first][1:, 0], np.diff(data.sample[first]) / 360.0)
    # Record 100's 33 atrial premature beats come early; record 232's 1,382 are the
    # majority of its beats, and the upper-quantile cycle still finds them early.
    for record, floor in (("100", 0.99), ("232", 0.95)):
        keep = (data.record == record) & np.isin(data.aami, ["N", "S"])
        premature = rhythm_anomaly(data.rr[keep])
        assert anomaly_roc_auc(data.aami[keep], -premature) > floor

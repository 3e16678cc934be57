"""The context parts of the score: rhythm, recording template, robust references."""

from __future__ import annotations

import numpy as np
import pytest

from beatdetect.context import (
    ScoreReference,
    check_groups,
    check_rr,
    rhythm_anomaly,
    template_distances,
)


def test_rhythm_anomaly_is_high_for_premature_beats_and_zero_without_rr():
    rr = np.array([[1.0, 1.0, 1.0], [0.5, 1.5, 1.0], [1.5, 1.0, 1.0], [np.nan] * 3])
    score = rhythm_anomaly(rr)
    assert score[0] == 0.0 and score[3] == 0.0
    assert score[1] == pytest.approx(np.log(3.0) + np.log(2.0))
    assert score[2] < 0  # a late (escape) beat is not premature


def test_template_distances_use_each_groups_own_median_beat():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.01, size=(9, 1, 20)) + 1.0   # recording a sits at +1
    b = rng.normal(0, 0.01, size=(9, 1, 20)) - 1.0   # recording b at -1
    X = np.concatenate([a, b]).astype(np.float32)
    X[4] = -1.0  # a beat of a that looks like b's
    groups = np.repeat(["a", "b"], 9)
    distance = template_distances(X, groups)
    assert distance.argmax() == 4 and distance[4] == pytest.approx(4.0, rel=0.05)
    assert np.delete(distance, 4).max() < 0.01


def test_score_reference_is_median_and_iqr_with_fallbacks():
    ref = ScoreReference.from_scores([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])
    assert (ref.center, ref.scale) == (3.0, 2.0)
    np.testing.assert_allclose(ref.standardize([3.0, 5.0]), [0.0, 1.0])
    assert ScoreReference.from_scores([2.0] * 10) == ScoreReference(2.0, 1.0)
    assert ScoreReference.from_scores([]) == ScoreReference(0.0, 1.0)
    assert ScoreReference(**ref.to_dict()) == ref


def test_check_rr_and_groups_reject_mismatches():
    assert check_rr(None, 3) is None and check_groups(None, 3) is None
    with pytest.raises(ValueError, match=r"expected shape \(3, 3\)"):
        check_rr(np.ones((3, 2)), 3)
    with pytest.raises(ValueError, match="positive, finite"):
        check_rr([[1.0, -1.0, 1.0]], 1)
    np.testing.assert_array_equal(check_rr([[np.nan] * 3], 1), [[np.nan] * 3])
    with pytest.raises(ValueError, match=r"expected shape \(2,\)"):
        check_groups(["a"], 2)
    with pytest.raises(ValueError, match=r"groups has 1 missing recording id\(s\) \(nan at 1\)"):
        check_groups([0.0, np.nan], 2)


def test_template_distances_match_a_brute_force_reference_on_random_groups():
    """D12: the one-sort algorithm gives each beat its own recording's distance."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2, 16)).astype(np.float32)
    groups = rng.integers(0, 180, size=500).astype(str)  # many recordings of 1 to ~8 beats
    expected = np.empty(500)
    for g in np.unique(groups):
        members = groups == g
        template = np.median(X[members], axis=0)
        expected[members] = ((X[members] - template) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(template_distances(X, groups), expected, rtol=1e-6)
    assert (template_distances(X, np.arange(500).astype(str)) == 0).all()  # one beat each

"""BaseBeatDetector's rules shared by every detector: non-finite scores are never normal."""

from __future__ import annotations

import numpy as np
import pytest

from beatdetect.base import NONFINITE_ANOMALY, BaseBeatDetector
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc


class FirstValueDetector(BaseBeatDetector):
    """Anomaly score = first value of the beat, NaN above 0.9 and +inf below -0.9.

    Stands for a model whose arithmetic overflows on some beats.
    """

    def __init__(self, *, contamination="auto"):
        self.contamination = contamination

    def _fit(self, X):
        return self

    def _anomaly_score(self, X):
        first = X[:, 0, 0].astype(np.float64)
        return np.where(first > 0.9, np.nan, np.where(first < -0.9, np.inf, first))


def test_nan_and_infinite_anomaly_scores_are_the_most_anomalous():
    X = np.linspace(-0.5, 0.5, 20)[:, None].repeat(3, axis=1)
    X[4, 0], X[9, 0] = 0.95, -0.95  # NaN and +inf anomaly scores
    det = FirstValueDetector().fit(X[np.r_[0:4, 10:20]])
    with pytest.warns(RuntimeWarning, match="2 of 20 beats"):
        scores = det.score_samples(X)
    assert np.isfinite(scores).all()
    assert scores[4] == scores[9] == -NONFINITE_ANOMALY == scores.min()
    with pytest.warns(RuntimeWarning):
        labels = det.predict(X)
    assert labels[4] == labels[9] == -1  # NaN < 0 is False: a NaN used to be "normal"
    y = np.ones(20, dtype=int)
    y[[4, 9]] = -1
    assert anomaly_roc_auc(y, scores) == 1.0 and anomaly_average_precision(y, scores) == 1.0


def test_threshold_stays_finite_when_training_scores_are_not():
    X = np.linspace(-0.5, 0.5, 20)[:, None].repeat(3, axis=1)
    X[:3, 0] = 0.95
    with pytest.warns(RuntimeWarning, match="3 of 20 beats"):
        det = FirstValueDetector(contamination=0.2).fit(X)
    assert np.isfinite(det.offset_)


def test_finite_scores_are_untouched():
    X = np.linspace(-0.5, 0.5, 20)[:, None].repeat(3, axis=1)
    det = FirstValueDetector().fit(X)
    np.testing.assert_array_equal(det.score_samples(X), -X[:, 0].astype(np.float32))


def test_failed_refit_leaves_the_fitted_detector_as_it_was():
    """D2: fit is all or nothing; a refit that fails changes nothing."""
    X = np.linspace(-0.5, 0.5, 20)[:, None].repeat(3, axis=1)
    det = FirstValueDetector(contamination=0.1).fit(X)
    before = det.score_samples(X), det.offset_, det.n_features_in_
    with pytest.raises(ValueError, match="NaN"):
        det.fit(np.full((10, 4), np.nan))
    np.testing.assert_array_equal(det.score_samples(X), before[0])
    assert (det.offset_, det.n_features_in_) == before[1:]


def test_failed_first_fit_leaves_the_detector_unfitted():
    from sklearn.exceptions import NotFittedError

    det = FirstValueDetector()
    with pytest.raises(ValueError, match="NaN"):
        det.fit(np.full((10, 4), np.nan))
    assert not [name for name in vars(det) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        det.score_samples(np.zeros((2, 4)))

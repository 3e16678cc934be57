"""One scikit-learn outlier-detector base shared by SI-BeatGAN and every baseline.

The base fixes ``fit`` / ``score_samples`` / ``decision_function`` / ``predict``: input
validation, the (n, C, L) beat layout and the threshold ``offset_`` derived from
``contamination``. Subclasses write only two private methods on validated float32 arrays of
shape (n_beats, n_leads, n_samples):

- ``_fit(X)`` trains the model and returns ``self``;
- ``_anomaly_score(X)`` returns one float per beat, higher = more anomalous.

These detectors see each beat alone. A beat's context (its recording, its rhythm) is one
layer that wraps any of them: :class:`~beatdetect.context.ContextDetector`.

All or nothing. ``fit`` trains a shallow copy of the detector and moves the fitted state
onto the detector only once everything succeeded: after a failed ``fit`` a fitted detector
is the one it was before, and an unfitted one stays unfitted (``NotFittedError``).

Non-finite scores. Beats are validated finite and within float32's range (the networks
compute in float32). A beat whose anomaly score still comes out NaN or infinite (an
overflow inside a network for amplitudes around 1e20 and beyond, a model with non-finite
weights) is never normal: its anomaly score is :data:`NONFINITE_ANOMALY`, the largest finite
float64, so ``score_samples`` gives it ``-NONFINITE_ANOMALY``, ``predict`` flags it, it ranks
as the most anomalous beat, and the metrics see finite scores only. A ``RuntimeWarning``
says how many beats it concerned.
"""

from __future__ import annotations

import copy
import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "NONFINITE_ANOMALY",
    "BaseBeatDetector",
    "finite_anomaly",
    "offset_from_scores",
    "replace_fitted_state",
    "tukey_offset",
]

#: Tukey's fence multiplier used by ``contamination="auto"`` (Tukey, 1977).
TUKEY_K = 1.5
#: Anomaly score of a beat whose score is NaN or infinite: the largest finite float64, so
#: the beat is flagged, ranks as the most anomalous, and metrics still get finite scores.
NONFINITE_ANOMALY = float(np.finfo(np.float64).max)
#: Largest magnitude of a beat's values: the networks compute in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Constraint of every detector's ``contamination``.
CONTAMINATION = [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")]


def tukey_offset(train_scores: np.ndarray, k: float = TUKEY_K) -> float:
    """Label-free threshold on ``score_samples``: Tukey's lower fence ``Q1 - k * IQR``.

    In anomaly-score terms (``-score_samples``) this flags beats above ``Q3 + k * IQR`` of
    the training beats, the classic box-plot outlier rule. It needs no labels and adapts to
    the spread of the training scores rather than assuming a contamination rate.

    Parameters
    ----------
    train_scores : ndarray of shape (n_beats,)
        ``score_samples`` of the training beats (higher = more normal).
    k : float, default=1.5
        Fence multiplier.

    Returns
    -------
    offset : float

    Examples
    --------
    >>> import numpy as np
    >>> round(tukey_offset(np.array([-1.0, -2.0, -3.0, -4.0, -5.0])), 2)
    -7.0
    """
    q1, q3 = np.percentile(train_scores, [25.0, 75.0])
    return float(q1 - k * (q3 - q1))


def offset_from_scores(contamination, train_scores: np.ndarray) -> float:
    """``offset_`` from ``contamination`` and the training beats' ``score_samples``."""
    if contamination == "auto":
        return tukey_offset(train_scores)
    return float(np.percentile(train_scores, 100.0 * contamination))


def finite_anomaly(anomaly: np.ndarray) -> np.ndarray:
    """``anomaly`` with NaN and infinite scores replaced by ``NONFINITE_ANOMALY``, warning.

    Without this a NaN score would compare as normal (``NaN < 0`` is False, so ``predict``
    said +1) and an infinite one would break every metric.
    """
    anomaly = np.asarray(anomaly, dtype=np.float64)
    bad = ~np.isfinite(anomaly)
    if not bad.any():
        return anomaly
    warnings.warn(
        f"{int(bad.sum())} of {bad.size} beats got a NaN or infinite anomaly score (an "
        "overflow inside the model for very large amplitudes, or non-finite weights); "
        "they are scored as the most anomalous beats.",
        RuntimeWarning, stacklevel=4,
    )
    return np.where(bad, NONFINITE_ANOMALY, anomaly)


def _fitted_names(estimator) -> list[str]:
    return [name for name in vars(estimator) if name.endswith("_") and not name.startswith("__")]


def replace_fitted_state(estimator, fitted) -> None:
    """Give ``estimator`` the fitted attributes of ``fitted`` (its trained copy), and only them.

    The last step of an all-or-nothing ``fit``: nothing of the old state survives, and
    nothing of the new one arrives before training and validation have all succeeded.
    """
    for name in _fitted_names(estimator):
        delattr(estimator, name)
    for name in _fitted_names(fitted):
        setattr(estimator, name, getattr(fitted, name))


class BaseBeatDetector(OutlierMixin, BaseEstimator):
    """Base class of beatdetect's outlier detectors (scikit-learn conventions).

    Accepts beats as ``(n_beats, n_samples)`` (one lead) or ``(n_beats, n_leads,
    n_samples)``. ``n_features_in_`` counts the values of one beat (``n_leads * n_samples``)
    so both layouts of the same beats are interchangeable after ``fit``.

    Subclasses implement ``_fit(X)`` and ``_anomaly_score(X)`` and declare their own
    ``_parameter_constraints`` merged with this class's.
    """

    _parameter_constraints: dict = {"contamination": CONTAMINATION}

    # ------------------------------------------------------------------ public API
    def fit(self, X, y=None):
        """Fit the detector on (mostly normal) beats.

        All or nothing: if anything fails, the detector keeps the state it had before.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
            Training beats. No labels are used.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        self : object
            The fitted detector.
        """
        self._validate_params()
        trained = copy.copy(self)  # the same parameters; fitted state built aside
        for name in _fitted_names(trained):
            delattr(trained, name)
        X3 = trained._validate_beats(X, reset=True)
        trained._fit(X3)
        train_scores = -finite_anomaly(trained._anomaly_score(X3))
        trained.offset_ = offset_from_scores(self.contamination, train_scores)
        replace_fitted_state(self, trained)
        return self

    def score_samples(self, X):
        """Normality score of each beat: the negated anomaly score (higher = more normal).

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)

        Returns
        -------
        scores : ndarray of shape (n_beats,), float64
            Always finite: a beat whose anomaly score is NaN or infinite (an overflow
            inside the model) scores ``-NONFINITE_ANOMALY``, the lowest finite float64,
            with a ``RuntimeWarning`` (see the module docstring).
        """
        check_is_fitted(self)
        X3 = self._validate_beats(X, reset=False)
        return -finite_anomaly(self._anomaly_score(X3))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for anomalies, positive for normal beats.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)

        Returns
        -------
        decision : ndarray of shape (n_beats,), float64
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each beat +1 (normal) or -1 (anomaly), -1 exactly where the decision is < 0.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)

        Returns
        -------
        labels : ndarray of shape (n_beats,), int
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    # ------------------------------------------------------------------ for subclasses
    def _fit(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _anomaly_score(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _validate_beats(self, X, *, reset: bool) -> np.ndarray:
        """Validate ``X`` and return a C-contiguous float32 array of shape (n, C, L)."""
        ndim = getattr(X, "ndim", None)
        if ndim is None and isinstance(X, (list, tuple)):
            try:
                ndim = np.ndim(X)
            except ValueError:  # ragged nested lists: validate_data explains
                ndim = None
        if ndim == 3:
            X = np.asarray(X)
            if not np.issubdtype(X.dtype, np.number) and X.dtype != object:
                raise ValueError(f"X must hold numbers, got dtype {X.dtype}.")
            beat_shape = X.shape[1:]
            X = X.reshape(X.shape[0], beat_shape[0] * beat_shape[1])
        elif ndim is not None and ndim > 3:
            raise ValueError(
                "Expected beats of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples); "
                f"got an array with {ndim} dimensions."
            )
        else:
            beat_shape = None
        if beat_shape is not None and not reset:
            self._check_beat_shape(beat_shape)
        X = validate_data(
            self, X, reset=reset, dtype=(np.float32, np.float64), ensure_all_finite=True
        )
        # Finite in float64 is not enough: the beats become float32 below, where values
        # beyond its range turn infinite and every score NaN.
        # max and -min rather than abs: no copy of a large X.
        largest = max(float(X.max()), -float(X.min())) \
            if X.dtype == np.float64 and X.size else 0.0
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"X holds values beyond float32's range (largest magnitude {largest:.3g} > "
                f"{FLOAT32_MAX:.3g}); the detectors compute in float32. Scale the beats "
                "(they are expected around [-1, 1])."
            )
        if beat_shape is None:
            beat_shape = (1, X.shape[1])
        if reset:
            self.n_leads_, self.beat_length_ = int(beat_shape[0]), int(beat_shape[1])
        else:
            self._check_beat_shape(beat_shape)
        return np.ascontiguousarray(X, dtype=np.float32).reshape(len(X), *beat_shape)

    def _check_beat_shape(self, beat_shape) -> None:
        check_is_fitted(self)
        if tuple(beat_shape) != (self.n_leads_, self.beat_length_):
            raise ValueError(
                f"X has beats of shape (n_leads, n_samples)={tuple(beat_shape)}, but "
                f"{type(self).__name__} was fitted on beats of shape "
                f"{(self.n_leads_, self.beat_length_)}. Pass beats with the same leads and "
                "length as in fit (2-D input is read as a single lead)."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

"""One scikit-learn outlier-detector base shared by SI-BeatGAN and every baseline.

The base fixes ``fit`` / ``score_samples`` / ``decision_function`` / ``predict``: input
validation, the (n, C, L) beat layout, the threshold ``offset_`` derived from
``contamination``, and the beat's context (its recording and its rhythm). Subclasses write
only two private methods on validated float32 arrays of shape (n_beats, n_leads, n_samples):

- ``_fit(X)`` trains the model and returns ``self``;
- ``_anomaly_score(X)`` returns one float per beat, higher = more anomalous.

A detector whose score has several parts (SI-BeatGAN's reconstruction error and memory-bank
distance) overrides ``_score_components`` and ``_component_weights`` instead of
``_anomaly_score``.

Context. Every method takes optional ``groups`` (the recording of each beat) and ``rr`` (its
RR intervals, :func:`~beatdetect.datasets.rr_intervals`). A detector uses them when its
parameters say so: ``recording_template=True`` judges each beat of a recording *not seen in
fit* against the nearer of two references, the model (the training beats) and the median
beat of its own recording; ``w_rhythm > 0`` adds the beat's prematurity. Parts of different
kinds are then put on one scale (:class:`~beatdetect.context.ScoreReference`, fitted on
normal training beats) and the score is::

    morphology = sum_i w_i z_i / sum_i w_i          (the model's parts)
    morphology = min(morphology, z_template)        (beats of recordings not seen in fit)
    anomaly    = morphology + w_rhythm * z_rhythm   (with rr)

A detector with one part and no context keeps its raw score, as scikit-learn's do.

Non-finite scores. Beats are validated finite and within float32's range (the networks
compute in float32). A beat whose anomaly score still comes out NaN or infinite (an
overflow inside a network for amplitudes around 1e20 and beyond, a model with non-finite
weights) is never normal: its anomaly score is :data:`NONFINITE_ANOMALY`, the largest finite
float64, so ``score_samples`` gives it ``-NONFINITE_ANOMALY``, ``predict`` flags it, it ranks
as the most anomalous beat, and the metrics see finite scores only. A ``RuntimeWarning``
says how many beats it concerned.
"""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .context import (
    ScoreReference,
    check_groups,
    check_rr,
    rhythm_anomaly,
    template_distances,
)

__all__ = ["CONTEXT_PARAMETERS", "NONFINITE_ANOMALY", "BaseBeatDetector", "tukey_offset"]

#: Tukey's fence multiplier used by ``contamination="auto"`` (Tukey, 1977).
TUKEY_K = 1.5
#: Constraints of the context parameters, for detectors that declare them.
CONTEXT_PARAMETERS = {
    "w_rhythm": [Interval(Real, 0, None, closed="left")],
    "recording_template": ["boolean"],
}
#: Names of the context parts in ``score_references_`` and ``score_components``.
RECORDING, RHYTHM = "recording", "rhythm"
#: Anomaly score of a beat whose score is NaN or infinite: the largest finite float64, so
#: the beat is flagged, ranks as the most anomalous, and metrics still get finite scores.
NONFINITE_ANOMALY = float(np.finfo(np.float64).max)
#: Largest magnitude of a beat's values: the networks compute in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


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


def _finite_anomaly(anomaly: np.ndarray) -> np.ndarray:
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


class BaseBeatDetector(OutlierMixin, BaseEstimator):
    """Base class of beatdetect's outlier detectors (scikit-learn conventions).

    Accepts beats as ``(n_beats, n_samples)`` (one lead) or ``(n_beats, n_leads,
    n_samples)``. ``n_features_in_`` counts the values of one beat (``n_leads * n_samples``)
    so both layouts of the same beats are interchangeable after ``fit``.

    Subclasses implement ``_fit(X)`` and ``_anomaly_score(X)`` and declare their own
    ``_parameter_constraints`` merged with this class's.
    """

    _parameter_constraints: dict = {
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
    }

    # ------------------------------------------------------------------ public API
    def fit(self, X, y=None, groups=None, rr=None):
        """Fit the detector on (mostly normal) beats.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
            Training beats. No labels are used.
        y : Ignored
            Present for API consistency.
        groups : array-like of shape (n_beats,), optional
            Recording of each training beat. Recordings seen here are judged against the
            training beats only when scored; the spread of beats around their recording's
            median beat becomes the reference of the recording-template part.
        rr : array-like of shape (n_beats, 3), optional
            RR intervals of each training beat (:func:`~beatdetect.datasets.rr_intervals`):
            the reference of the rhythm part. Without them that reference comes from the
            beats being scored.

        Returns
        -------
        self : object
            The fitted detector.
        """
        self._validate_params()
        X3 = self._validate_beats(X, reset=True)
        groups, rr = check_groups(groups, len(X3)), check_rr(rr, len(X3))
        self._fit(X3)
        self.fit_groups_ = None if groups is None else sorted({str(g) for g in groups})
        raw = self._score_components(X3, groups)
        self.score_references_ = self._fit_references(X3, groups, rr, raw) \
            if self._standardizes() else {}
        self.offset_ = self._offset_from_scores(
            -_finite_anomaly(self._fuse(raw, X3, groups, rr)))
        return self

    def score_samples(self, X, groups=None, rr=None):
        """Normality score of each beat: the negated anomaly score (higher = more normal).

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
        groups : array-like of shape (n_beats,), optional
            Recording of each beat. With ``recording_template=True``, beats of recordings
            not seen in ``fit`` are also judged against their recording's median beat,
            computed from the beats passed here: pass whole recordings.
        rr : array-like of shape (n_beats, 3), optional
            RR intervals of each beat (:func:`~beatdetect.datasets.rr_intervals`), used
            when ``w_rhythm > 0``.

        Returns
        -------
        scores : ndarray of shape (n_beats,), float64
            Always finite: a beat whose anomaly score is NaN or infinite (an overflow
            inside the model) scores ``-NONFINITE_ANOMALY``, the lowest finite float64,
            with a ``RuntimeWarning`` (see the module docstring).
        """
        check_is_fitted(self)
        X3 = self._validate_beats(X, reset=False)
        return -self._fused_anomaly(X3, check_groups(groups, len(X3)), check_rr(rr, len(X3)))

    def score_components(self, X, groups=None, rr=None) -> dict:
        """Each part of the anomaly score, as used in ``score_samples`` (higher = anomalous).

        For a detector that fuses parts, each is standardised against normal training beats
        (:class:`~beatdetect.context.ScoreReference`): 0 is a typical normal beat, and the
        middle half of normal beats spans one unit. Parts that do not apply (no ``groups``,
        a recording seen in fit, no ``rr``, a zero weight) are absent.

        Parameters
        ----------
        X, groups, rr
            As in :meth:`score_samples`.

        Returns
        -------
        components : dict of str to ndarray of shape (n_beats,)
            The model's parts by name (``"model"`` for a single-score detector),
            ``"morphology"`` (their weighted mean), ``"recording"`` (beats of recordings
            not seen in fit; NaN elsewhere), ``"rhythm"`` and ``"anomaly"`` (the total,
            ``-score_samples``, where a NaN or infinite total is ``NONFINITE_ANOMALY``;
            the other parts are reported as computed).
        """
        check_is_fitted(self)
        X3 = self._validate_beats(X, reset=False)
        parts: dict = {}
        self._fused_anomaly(X3, check_groups(groups, len(X3)), check_rr(rr, len(X3)), parts)
        return parts

    def decision_function(self, X, groups=None, rr=None):
        """``score_samples(X) - offset_``: negative for anomalies, positive for normal beats.

        Parameters
        ----------
        X, groups, rr
            As in :meth:`score_samples`.

        Returns
        -------
        decision : ndarray of shape (n_beats,), float64
        """
        return self.score_samples(X, groups=groups, rr=rr) - self.offset_

    def predict(self, X, groups=None, rr=None):
        """Label each beat +1 (normal) or -1 (anomaly), -1 exactly where the decision is < 0.

        Parameters
        ----------
        X, groups, rr
            As in :meth:`score_samples`.

        Returns
        -------
        labels : ndarray of shape (n_beats,), int
        """
        decision = self.decision_function(X, groups=groups, rr=rr)
        return np.where(decision < 0, -1, 1)

    def fit_predict(self, X, y=None, groups=None, rr=None):
        """Fit on ``X`` and label the same beats (+1 normal, -1 anomaly).

        Parameters
        ----------
        X, y, groups, rr
            As in :meth:`fit`.

        Returns
        -------
        labels : ndarray of shape (n_beats,), int
        """
        return self.fit(X, groups=groups, rr=rr).predict(X, groups=groups, rr=rr)

    # ------------------------------------------------------------------ for subclasses
    def _fit(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _anomaly_score(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_components(self, X, groups=None) -> dict:
        """Raw anomaly scores of the model's parts by name; one part, ``"model"``, here.

        ``groups`` is for detectors whose own score is about recordings (the template
        baseline); others ignore it. A detector that stores its training beats (nearest
        neighbours) scores each of them against the *other* training beats, in ``fit``
        and afterwards, so thresholds and references are not zero.
        """
        return {"model": self._anomaly_score(X)}

    def _component_weights(self) -> dict:
        """Weight of each part of :meth:`_score_components` in the morphology score."""
        return {"model": 1.0}

    def _model_references(self, X, raw: dict) -> dict:
        """References of the model's parts; here, their scores ``raw`` on the training beats.

        Detectors that fit their training beats closely (an autoencoder) override this
        with scores of held-out beats.
        """
        return {name: ScoreReference.from_scores(score) for name, score in raw.items()}

    # ------------------------------------------------------------------ context and fusion
    def _standardizes(self) -> bool:
        """Whether the score is a fusion of standardised parts (else the raw model score)."""
        active = [w for w in self._component_weights().values() if w]
        return (len(active) > 1 or getattr(self, "recording_template", False)
                or bool(getattr(self, "w_rhythm", 0.0)))

    def _fit_references(self, X, groups, rr, raw: dict) -> dict:
        references = self._model_references(X, raw)
        if groups is not None:
            references[RECORDING] = ScoreReference.from_scores(template_distances(X, groups))
        if rr is not None:
            references[RHYTHM] = ScoreReference.from_scores(rhythm_anomaly(rr))
        return references

    def _reference(self, name: str, scores: np.ndarray) -> ScoreReference:
        """The fitted reference of a part, else (no context in fit) the scored beats' own."""
        found = self.score_references_.get(name)
        return found if found is not None else ScoreReference.from_scores(scores)

    def _fused_anomaly(self, X, groups, rr, parts: dict | None = None) -> np.ndarray:
        """Anomaly score (higher = anomalous) of validated beats, float64; fills ``parts``.

        Always finite: NaN and infinite scores become ``NONFINITE_ANOMALY``.
        """
        parts = {} if parts is None else parts
        anomaly = _finite_anomaly(self._fuse(self._score_components(X, groups), X, groups,
                                             rr, parts))
        parts["anomaly"] = anomaly
        return anomaly

    def _fuse(self, raw: dict, X, groups, rr, parts: dict | None = None) -> np.ndarray:
        """Fuse the raw parts ``raw`` of beats ``X`` with their context (module docstring)."""
        parts = {} if parts is None else parts
        if not self._standardizes():
            name = next(name for name, w in self._component_weights().items() if w)
            parts[name] = parts["anomaly"] = np.asarray(raw[name], dtype=np.float64)
            return parts["anomaly"]
        weights = {name: w for name, w in self._component_weights().items() if w}
        morphology = np.zeros(len(X))
        for name, w in weights.items():
            parts[name] = self.score_references_[name].standardize(raw[name])
            morphology += w * parts[name]
        morphology /= sum(weights.values())
        parts["morphology"] = morphology.copy()
        if groups is not None and getattr(self, "recording_template", False):
            seen = set(self.fit_groups_ or ())
            new = np.array([str(g) not in seen for g in groups], dtype=bool)
            if new.any():
                distance = template_distances(X[new], groups[new])
                z = self._reference(RECORDING, distance).standardize(distance)
                parts[RECORDING] = np.full(len(X), np.nan)
                parts[RECORDING][new] = z
                morphology[new] = np.minimum(morphology[new], z)
        anomaly = morphology
        w_rhythm = getattr(self, "w_rhythm", 0.0)
        if rr is not None and w_rhythm:
            prematurity = rhythm_anomaly(rr)
            parts[RHYTHM] = self._reference(RHYTHM, prematurity).standardize(prematurity)
            anomaly = morphology + w_rhythm * parts[RHYTHM]
        parts["anomaly"] = anomaly
        return anomaly

    def _offset_from_scores(self, train_scores: np.ndarray) -> float:
        if self.contamination == "auto":
            return tukey_offset(train_scores)
        return float(np.percentile(train_scores, 100.0 * self.contamination))

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

"""ContextDetector: any beat detector's score, joined by the beat's recording and rhythm."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ..base import (
    CONTAMINATION,
    BaseBeatDetector,
    finite_anomaly,
    offset_from_scores,
    replace_fitted_state,
)
from .inputs import check_groups, check_rr
from .parts import ScoreReference, rhythm_anomaly, template_distances

__all__ = ["MIN_RECORDING_BEATS", "ContextDetector"]

#: Fewest beats of a recording for its median beat to stand for the recording's normal
#: beat. Below it a beat is judged against the training beats only. Measured on MIT-BIH by
#: ``benchmarks/recording_template_beats.py``: the fewest beats whose median ranks a strip's
#: anomalies within 0.01 mean AUC of the whole recording's median, see
#: ``results/recording_template/strips.json``.
MIN_RECORDING_BEATS = 50
#: Names of the parts in ``references_`` and ``score_components``.
MODEL, RECORDING, RHYTHM = "model", "recording", "rhythm"


class ContextDetector(MetaEstimatorMixin, BaseBeatDetector):
    """A detector's score in the context of the beat's recording and rhythm.

    Wraps any beat detector (:class:`~beatdetect.SIBeatGANDetector`, a baseline, any
    scikit-learn outlier detector that takes the beats as they are passed) and adds two
    label-free parts that no beat window shows (:mod:`beatdetect.context.parts`):

    - **the recording template** (``groups``): a beat of a recording *not seen in fit* is
      judged against the nearer of two references, the detector (the training beats) and
      the median beat of its own recording, computed from the beats scored in the same
      call. This helps on new patients, whose normal beats may look unlike any training
      beat. Recordings with fewer than ``min_recording_beats`` beats in the call are judged
      against the training beats only, with a warning;
    - **the rhythm** (``rr``): the beat's prematurity, for premature beats of normal shape.

    Parts of different kinds are put on one scale (:class:`~beatdetect.context.ScoreReference`,
    the median and interquartile range of each part on normal training beats) and::

        morphology = z_model                         (the detector's own score)
        morphology = min(morphology, z_template)     (beats of recordings not seen in fit)
        anomaly    = morphology + w_rhythm * z_rhythm  (with rr)

    Without ``groups`` and ``rr`` the score ranks beats exactly as the detector does.
    With ``detector=None`` the template (and the rhythm) are the whole score: the
    "recording's own typical beat" and "RR prematurity" references. Scored with neither
    part applying (no ``groups``, no ``rr``), such a detector falls back on the distance to
    the median training beat (``template_``), so it is still an outlier detector.

    Parameters
    ----------
    detector : estimator with ``fit`` and ``score_samples``, or None, default=None
        The beat detector; cloned in ``fit``.
    recording_template : bool, default=True
        Use the recording-template part when ``groups`` is passed.
    w_rhythm : float >= 0, default=1.0
        Weight of the rhythm part when ``rr`` is passed; 0 ignores ``rr``.
    holdout : float in [0, 1), default=0.1
        Fraction of the training beats (seeded) kept from the detector: the reference of the
        detector's part is its score on them, beats it never saw. A detector that fits its
        training beats closely (a network) scores them too well to be their reference.
        0 trains on every beat and takes the reference from the training beats' own
        scores: right for a detector that scores its training beats leave-one-out
        (:class:`~beatdetect.baselines.KNNDetector`).
    min_recording_beats : int >= 1, default=50
        Fewest beats of a recording, in one call, for its median beat to be used
        (:data:`MIN_RECORDING_BEATS`; the measurement behind it is in
        ``results/recording_template/strips.json``).
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_`` from the fused scores of the training beats (see
        :func:`beatdetect.base.tukey_offset`).
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the held-out beats.

    Attributes
    ----------
    detector_ : estimator or None
        The fitted clone of ``detector``.
    template_ : ndarray of shape (n_leads, n_samples)
        With ``detector=None`` only: the element-wise median training beat.
    references_ : dict of str to ScoreReference
        ``"model"``: the detector's anomaly score on normal beats it did not fit (or on
        its training beats with ``holdout=0``; with ``detector=None`` the training beats'
        distance to ``template_``); ``"recording"``: template distances of the
        training beats (with ``groups`` in fit); ``"rhythm"``: prematurity of the training
        beats (with ``rr`` in fit). A missing context reference is taken from the beats
        being scored.
    fit_groups_ : list of str or None
        Recordings of the training beats (canonical ids, see
        :func:`~beatdetect.context.check_groups`), when ``fit`` received ``groups``.
    offset_ : float
        Threshold on ``score_samples``.
    n_leads_, beat_length_, n_features_in_ : int
        Shape of the training beats.

    Notes
    -----
    In a :class:`~sklearn.pipeline.Pipeline` or a grid search, ``groups`` and ``rr`` travel
    by scikit-learn's metadata routing: ``sklearn.set_config(enable_metadata_routing=True)``
    and request them, ``ContextDetector(...).set_fit_request(groups=True, rr=True)
    .set_decision_function_request(groups=True, rr=True)``; then ``pipe.fit(X,
    groups=g, rr=rr)`` and ``pipe.decision_function(X, groups=g, rr=rr)`` reach this
    detector. ``Pipeline.score_samples`` takes no metadata: score the last step on the
    transformed beats (``pipe[-1].score_samples(pipe[:-1].transform(X), groups=g)``), or
    use ``decision_function``, which differs from it by the constant ``offset_``.

    Examples
    --------
    >>> import numpy as np
    >>> from beatdetect.baselines import KNNDetector
    >>> from beatdetect.context import ContextDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> train = make_synthetic_beats(n_normal=400, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=100, n_anomalous=20, random_state=1)
    >>> groups = np.repeat(["a", "b"], 200)
    >>> det = ContextDetector(KNNDetector(), holdout=0.0).fit(train.X, groups=groups)
    >>> scores = det.score_samples(test.X, groups=np.repeat(["new"], 120))
    >>> scores.shape, sorted(det.references_)
    ((120,), ['model', 'recording'])
    """

    _parameter_constraints: dict = {
        "detector": [HasMethods(["fit", "score_samples"]), None],
        "recording_template": ["boolean"],
        "w_rhythm": [Interval(Real, 0, None, closed="left")],
        "holdout": [Interval(Real, 0, 1, closed="left")],
        "min_recording_beats": [Interval(Integral, 1, None, closed="left")],
        "contamination": CONTAMINATION,
        "random_state": ["random_state"],
    }

    def __init__(self, detector=None, *, recording_template=True, w_rhythm=1.0, holdout=0.1,
                 min_recording_beats=MIN_RECORDING_BEATS, contamination="auto",
                 random_state=None):
        self.detector = detector
        self.recording_template = recording_template
        self.w_rhythm = w_rhythm
        self.holdout = holdout
        self.min_recording_beats = min_recording_beats
        self.contamination = contamination
        self.random_state = random_state

    # ------------------------------------------------------------------ public API
    def fit(self, X, y=None, groups=None, rr=None):
        """Fit the detector and the references of the context parts, all or nothing.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
            Training beats. No labels are used.
        y : Ignored
        groups : array-like of shape (n_beats,), optional
            Recording of each training beat (see :func:`~beatdetect.context.check_groups`).
            Recordings seen here are judged against the training beats only when scored.
        rr : array-like of shape (n_beats, 3), optional
            RR intervals of each training beat (:func:`~beatdetect.datasets.rr_intervals`).

        Returns
        -------
        self : ContextDetector
        """
        self._validate_params()
        trained = copy.copy(self)
        for name in [n for n in vars(trained) if n.endswith("_")]:
            delattr(trained, name)
        X3 = trained._validate_beats(X, reset=True)
        groups, rr = check_groups(groups, len(X3)), check_rr(rr, len(X3))
        if self.detector is None and not self.recording_template and not self.w_rhythm:
            raise ValueError("ContextDetector without a detector needs the recording "
                             "template or the rhythm part: nothing would be scored.")
        trained._fit_parts(X, X3, groups, rr)
        anomaly = trained._fused_anomaly(X, X3, groups, rr)
        trained.offset_ = offset_from_scores(self.contamination, -anomaly)
        replace_fitted_state(self, trained)
        return self

    def score_samples(self, X, groups=None, rr=None):
        """Normality score of each beat in its context (higher = more normal).

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
        groups : array-like of shape (n_beats,), optional
            Recording of each beat. Beats of recordings not seen in ``fit`` are also judged
            against their recording's median beat, computed from the beats passed here:
            pass whole recordings (at least ``min_recording_beats`` beats each).
        rr : array-like of shape (n_beats, 3), optional
            RR intervals of each beat, used when ``w_rhythm > 0``.

        Returns
        -------
        scores : ndarray of shape (n_beats,), float64
        """
        return -self._anomaly_in_context(X, groups, rr)

    def score_components(self, X, groups=None, rr=None) -> dict:
        """Each part of the anomaly score, as used in ``score_samples`` (higher = anomalous).

        Each part is standardised against normal training beats: 0 is a typical normal
        beat, and the middle half of normal beats spans one unit. Parts that do not apply
        are absent.

        Parameters
        ----------
        X, groups, rr
            As in :meth:`score_samples`.

        Returns
        -------
        components : dict of str to ndarray of shape (n_beats,)
            ``"model"`` (the detector's part), ``"morphology"``, ``"recording"`` (beats of
            recordings not seen in fit and long enough; NaN elsewhere), ``"rhythm"`` and
            ``"anomaly"`` (the total, ``-score_samples``).
        """
        parts: dict = {}
        self._anomaly_in_context(X, groups, rr, parts)
        return parts

    def decision_function(self, X, groups=None, rr=None):
        """``score_samples(X, groups, rr) - offset_``: negative for anomalies.

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
        """+1 (normal) or -1 (anomaly) for each beat, -1 exactly where the decision is < 0.

        Parameters
        ----------
        X, groups, rr
            As in :meth:`score_samples`.

        Returns
        -------
        labels : ndarray of shape (n_beats,), int
        """
        return np.where(self.decision_function(X, groups=groups, rr=rr) < 0, -1, 1)

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

    # ------------------------------------------------------------------ internals
    def _fit_parts(self, X, X3, groups, rr) -> None:
        self.references_ = {}
        self.detector_ = None
        if self.detector is not None:
            X_all = np.asarray(X)
            fit_index = ref_index = np.arange(len(X3))
            if self.holdout:
                if len(X3) < 3:
                    raise ValueError(
                        f"ContextDetector(holdout={self.holdout}) needs at least 3 beats to "
                        f"hold some out, got n_samples = {len(X3)}."
                    )
                order = check_random_state(self.random_state).permutation(len(X3))
                n_ref = min(max(1, round(self.holdout * len(X3))), len(X3) - 2)
                ref_index, fit_index = np.sort(order[:n_ref]), np.sort(order[n_ref:])
            self.detector_ = clone(self.detector).fit(X_all[fit_index])
            model = -np.asarray(self.detector_.score_samples(X_all[ref_index]), np.float64)
            self.references_[MODEL] = ScoreReference.from_scores(model)
        else:
            self.template_ = np.median(X3, axis=0)
            self.references_[MODEL] = ScoreReference.from_scores(self._template_distance(X3))
        if groups is not None:
            self.references_[RECORDING] = ScoreReference.from_scores(
                template_distances(X3, groups))
        if rr is not None:
            self.references_[RHYTHM] = ScoreReference.from_scores(rhythm_anomaly(rr))
        self.fit_groups_ = None if groups is None else sorted(set(groups.tolist()))

    def _template_distance(self, X3) -> np.ndarray:
        """Mean squared distance of each beat to the median training beat (no detector)."""
        return np.mean((X3 - self.template_) ** 2, axis=(1, 2), dtype=np.float64)

    def _anomaly_in_context(self, X, groups, rr, parts: dict | None = None) -> np.ndarray:
        check_is_fitted(self)
        X3 = self._validate_beats(X, reset=False)
        groups, rr = check_groups(groups, len(X3)), check_rr(rr, len(X3))
        return self._fused_anomaly(X, X3, groups, rr, parts)

    def _reference(self, name: str, scores: np.ndarray) -> ScoreReference:
        """The fitted reference of a part, else (no context in fit) the scored beats' own."""
        found = self.references_.get(name)
        return found if found is not None else ScoreReference.from_scores(scores)

    def _fused_anomaly(self, X, X3, groups, rr, parts: dict | None = None) -> np.ndarray:
        parts = {} if parts is None else parts
        n = len(X3)
        if self.detector_ is not None:
            model = -np.asarray(self.detector_.score_samples(np.asarray(X)), np.float64)
            parts[MODEL] = self.references_[MODEL].standardize(finite_anomaly(model))
            morphology = parts[MODEL].copy()
        elif not ((self.recording_template and groups is not None)
                  or (rr is not None and self.w_rhythm)):
            # No detector and no context part applies: the median training beat stands in.
            parts[MODEL] = self.references_[MODEL].standardize(self._template_distance(X3))
            morphology = parts[MODEL].copy()
        else:
            morphology = np.zeros(n)
        if self.recording_template and groups is not None:
            morphology = self._with_template(X3, groups, morphology, parts)
        parts["morphology"] = morphology.copy()
        anomaly = morphology
        if rr is not None and self.w_rhythm:
            prematurity = rhythm_anomaly(rr)
            parts[RHYTHM] = self._reference(RHYTHM, prematurity).standardize(prematurity)
            anomaly = morphology + self.w_rhythm * parts[RHYTHM]
        anomaly = finite_anomaly(anomaly)
        parts["anomaly"] = anomaly
        return anomaly

    def _with_template(self, X3, groups, morphology, parts) -> np.ndarray:
        """``morphology`` with the template part of the beats it applies to."""
        if self.detector_ is None:
            judged = np.ones(len(X3), dtype=bool)  # the template is the whole score
        else:
            seen = set(self.fit_groups_ or ())
            judged = np.array([g not in seen for g in groups.tolist()], dtype=bool)
        _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        short = judged & (counts[inverse] < self.min_recording_beats)
        if short.any():
            n_rec = len(np.unique(groups[short]))
            fallback = ("judged against the training beats only" if self.detector_ is not None
                        else "still scored by their recording's median beat, which is "
                        "unreliable")
            warnings.warn(
                f"{int(short.sum())} beat(s) in {n_rec} recording(s) with fewer than "
                f"{self.min_recording_beats} beats (min_recording_beats) were {fallback}: "
                "a recording's median beat needs enough beats to be its normal beat. Pass "
                "whole recordings.", UserWarning, stacklevel=4,
            )
            if self.detector_ is not None:
                judged &= ~short
        if not judged.any():
            return morphology
        distance = template_distances(X3[judged], groups[judged])
        z = self._reference(RECORDING, distance).standardize(distance)
        parts[RECORDING] = np.full(len(X3), np.nan)
        parts[RECORDING][judged] = z
        morphology = morphology.copy()
        if self.detector_ is None:
            morphology[judged] = z
        else:
            morphology[judged] = np.minimum(morphology[judged], z)
        return morphology

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.detector is not None:
            from sklearn.utils import get_tags

            inner = get_tags(self.detector)
            tags.input_tags.three_d_array = inner.input_tags.three_d_array
        return tags

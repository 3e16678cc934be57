"""Distance to the recording's own median beat: the label-free reference for new patients."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from ..base import BaseBeatDetector
from ..context import template_distances

__all__ = ["RecordingTemplateDetector"]


class RecordingTemplateDetector(BaseBeatDetector):
    """Anomaly score = squared distance of a beat to the median beat of its own recording.

    Most beats of a recording are normal, so the element-wise median of its beats is that
    patient's normal beat, on whatever lead and at whatever morphology: no training beat of
    another patient is needed. Pass ``groups`` (the recording of each beat) to
    ``score_samples``, with whole recordings. Without ``groups`` every beat is compared
    with the median of the training beats.

    Parameters
    ----------
    w_rhythm : float, default=0.0
        Weight of the rhythm part when ``rr`` is passed (see
        :class:`~beatdetect.base.BaseBeatDetector`); 0 ignores ``rr``.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``: ``"auto"`` is Tukey's fence on the training scores (see
        :func:`beatdetect.base.tukey_offset`); a float is the expected fraction of anomalies.

    Attributes
    ----------
    template_ : ndarray of shape (n_leads, n_samples)
        Median of the training beats, the reference without ``groups``.
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    Notes
    -----
    The template comes from the beats passed with ``groups``: scoring a random subset of a
    recording (as the intra-patient protocol's test sets, rich in anomalies, are) gives a
    worse template than scoring the whole recording. A recording whose beats are mostly
    abnormal (MIT-BIH 232, mostly atrial premature beats) has an abnormal template.

    Examples
    --------
    >>> import numpy as np
    >>> from beatdetect.baselines import RecordingTemplateDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=20, random_state=1)
    >>> groups = np.repeat(["a", "b"], 110)
    >>> det = RecordingTemplateDetector().fit(test.X[test.y == 1])
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X, groups=groups)) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        "w_rhythm": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, w_rhythm=0.0, contamination="auto"):
        self.w_rhythm = w_rhythm
        self.contamination = contamination

    def _fit(self, X):
        self.template_ = np.median(X, axis=0)  # (C, L)
        return self

    def _anomaly_score(self, X):
        return np.mean((X - self.template_) ** 2, axis=(1, 2), dtype=np.float64)

    def _score_components(self, X, groups=None) -> dict:
        if groups is None:
            return super()._score_components(X)
        return {"model": template_distances(X, groups)}

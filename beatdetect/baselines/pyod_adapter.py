"""Any PyOD detector as a beatdetect outlier detector (PyOD is an optional dependency)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods

from ..base import BaseBeatDetector
from .flatten import flatten_beats

__all__ = ["PyODDetector"]

_INSTALL_HINT = "pip install pyod  (or: pip install 'beatdetect[pyod]')"


def _default_pyod_detector():
    """PyOD's k-nearest-neighbour detector, imported only when it is needed."""
    try:
        from pyod.models.knn import KNN
    except ImportError as exc:
        raise ImportError(
            f"PyODDetector(detector=None) uses PyOD's KNN, but PyOD is not installed: "
            f"{_INSTALL_HINT}"
        ) from exc
    return KNN()


class PyODDetector(BaseBeatDetector):
    """Adapter running a PyOD detector on flattened beats, in scikit-learn's orientation.

    PyOD detectors (Zhao et al., 2019) return ``decision_function`` with *higher = more
    anomalous* and label outliers 1. This adapter flattens beats to rows (leads one after
    the other), fits a clone of ``detector``, and takes PyOD's ``decision_function`` as the
    anomaly score, so that ``score_samples`` (its negation) is *higher = more normal* and
    ``predict`` returns +1 / -1 like every scikit-learn outlier detector. PyOD's own
    ``contamination``, ``threshold_`` and ``labels_`` are not used: ``offset_`` comes from
    this adapter's ``contamination``.

    Parameters
    ----------
    detector : PyOD detector or None, default=None
        An unfitted PyOD detector (anything with ``fit(X)`` and ``decision_function(X)``,
        higher = more anomalous). It is cloned, never modified. ``None`` uses
        ``pyod.models.knn.KNN()``. PyOD is optional: ``pip install pyod``.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``: ``"auto"`` is Tukey's fence on the training scores (see
        :func:`beatdetect.base.tukey_offset`); a float is the expected fraction of anomalies.

    Attributes
    ----------
    detector_ : PyOD detector
        The fitted clone.
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    Notes
    -----
    Some PyOD detectors score a beat relative to the other beats passed with it (ECOD and
    COPOD, for instance, rebuild their empirical distributions with the test batch): their
    scores then depend on the batch, unlike distance-based ones such as KNN.

    References
    ----------
    .. [1] Zhao, Y., Nasrullah, Z., Li, Z. "PyOD: A Python Toolbox for Scalable Outlier
       Detection." Journal of Machine Learning Research 20(96), 2019.

    Examples
    --------
    >>> from pyod.models.knn import KNN  # optional dependency: pip install pyod
    >>> from beatdetect.baselines import PyODDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=500, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = PyODDetector(detector=KNN(n_neighbors=5)).fit(train.X)
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        "detector": [HasMethods(["fit", "decision_function"]), None],
    }

    def __init__(self, *, detector=None, contamination="auto"):
        self.detector = detector
        self.contamination = contamination

    def _fit(self, X):
        detector = self.detector if self.detector is not None else _default_pyod_detector()
        self.detector_ = clone(detector, safe=False).fit(flatten_beats(X))
        return self

    def _anomaly_score(self, X):
        # PyOD: higher = more anomalous, which is already beatdetect's anomaly score.
        return np.asarray(self.detector_.decision_function(flatten_beats(X)), dtype=np.float64)

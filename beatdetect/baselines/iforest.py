"""Isolation forest on flattened beats."""

from __future__ import annotations

from sklearn.ensemble import IsolationForest

from ..base import BaseBeatDetector
from .flatten import flatten_beats

__all__ = ["IsolationForestDetector"]

_FOREST_PARAMS = ("n_estimators", "max_samples", "max_features", "bootstrap", "n_jobs",
                  "random_state", "verbose")


class IsolationForestDetector(BaseBeatDetector):
    """Isolation forest (Liu et al., 2008) on beats flattened to rows.

    Wraps :class:`~sklearn.ensemble.IsolationForest`, forwarding its parameters. The anomaly
    score is the forest's ``-score_samples`` (the average path length, normalised: beats
    isolated in few random splits are anomalous); ``score_samples`` here is the forest's own
    ``score_samples`` (higher = more normal). Thresholding follows beatdetect's
    ``contamination`` (Tukey's fence for ``"auto"``), not the forest's fixed ``-0.5``.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    max_samples : "auto", int or float, default="auto"
        Beats drawn to grow each tree (``"auto"``: ``min(256, n_beats)``).
    max_features : int or float, default=1.0
        Ticks (flattened features) drawn for each tree.
    bootstrap : bool, default=False
        Draw beats with replacement.
    n_jobs : int or None, default=None
        Parallel jobs for fitting and scoring.
    random_state : int, RandomState instance or None, default=None
        Seeds the forest; an int makes ``fit`` deterministic.
    verbose : int, default=0
        Verbosity of the forest's fit.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``: ``"auto"`` is Tukey's fence on the training scores (see
        :func:`beatdetect.base.tukey_offset`); a float is the expected fraction of anomalies.

    Attributes
    ----------
    forest_ : sklearn.ensemble.IsolationForest
        The fitted forest on flattened beats.
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    References
    ----------
    .. [1] Liu, F. T., Ting, K. M., Zhou, Z.-H. "Isolation Forest." ICDM 2008.

    Examples
    --------
    >>> from beatdetect.baselines import IsolationForestDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=500, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = IsolationForestDetector(random_state=0).fit(train.X)
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.8
    True
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        **{name: IsolationForest._parameter_constraints[name] for name in _FOREST_PARAMS},
    }

    def __init__(self, *, n_estimators=100, max_samples="auto", max_features=1.0,
                 bootstrap=False, n_jobs=None, random_state=None, verbose=0,
                 contamination="auto"):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.contamination = contamination

    def _fit(self, X):
        params = {name: getattr(self, name) for name in _FOREST_PARAMS}
        self.forest_ = IsolationForest(**params).fit(flatten_beats(X))
        return self

    def _anomaly_score(self, X):
        return -self.forest_.score_samples(flatten_beats(X))

"""One-class SVM on flattened beats, with an optional seeded training subsample."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.svm import OneClassSVM
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ..base import BaseBeatDetector
from .flatten import flatten_beats

__all__ = ["OneClassSVMDetector"]

_SVM_PARAMS = ("kernel", "degree", "gamma", "coef0", "tol", "nu", "shrinking", "cache_size",
               "max_iter")


class OneClassSVMDetector(BaseBeatDetector):
    """One-class SVM (Schölkopf et al., 2001) on beats flattened to rows.

    Wraps :class:`~sklearn.svm.OneClassSVM`, forwarding its parameters. ``score_samples``
    is the SVM's own ``score_samples`` (the kernel expansion: higher = more normal).

    Training a kernel SVM costs between O(n^2) and O(n^3) time and up to O(n^2) kernel
    memory in the number of beats: about a minute at 10,000 beats of 320 samples, and far
    too slow on a whole MIT-BIH fold (~70,000 normal beats). ``max_train`` fits on a seeded
    random subsample instead; scoring stays linear in the number of beats scored (times the
    number of support vectors).

    Parameters
    ----------
    kernel : {"linear", "poly", "rbf", "sigmoid"} or callable, default="rbf"
    degree : int, default=3
    gamma : "scale", "auto" or float, default="scale"
    coef0 : float, default=0.0
    tol : float, default=1e-3
    nu : float in (0, 1], default=0.5
        Upper bound on the fraction of training errors and lower bound on the fraction of
        support vectors (see :class:`~sklearn.svm.OneClassSVM`).
    shrinking : bool, default=True
    cache_size : float, default=200
        Kernel cache in MB.
    max_iter : int, default=-1
        Solver iterations (-1: no limit).
    max_train : int or None, default=None
        Fit on at most this many training beats, drawn at random without replacement
        (``None``: all). ``offset_`` is still computed on every training beat.
    random_state : int, RandomState instance or None, default=None
        Seeds the ``max_train`` subsample (the SVM itself is deterministic).
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``: ``"auto"`` is Tukey's fence on the training scores (see
        :func:`beatdetect.base.tukey_offset`); a float is the expected fraction of anomalies.

    Attributes
    ----------
    svm_ : sklearn.svm.OneClassSVM
        The fitted SVM on flattened beats.
    n_iter_ : int
        Iterations run by the SVM's solver.
    train_index_ : ndarray of int or None
        Rows of the training beats the SVM was fitted on (``None``: all of them).
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    References
    ----------
    .. [1] Schölkopf, B., Platt, J. C., Shawe-Taylor, J., Smola, A. J., Williamson, R. C.
       "Estimating the support of a high-dimensional distribution." Neural Computation
       13(7), 2001.

    Examples
    --------
    >>> from beatdetect.baselines import OneClassSVMDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=1000, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = OneClassSVMDetector(nu=0.1, max_train=300, random_state=0).fit(train.X)
    >>> len(det.train_index_)
    300
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.8
    True
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        **{name: OneClassSVM._parameter_constraints[name] for name in _SVM_PARAMS},
        "max_train": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, *, kernel="rbf", degree=3, gamma="scale", coef0=0.0, tol=1e-3, nu=0.5,
                 shrinking=True, cache_size=200, max_iter=-1, max_train=None,
                 random_state=None, contamination="auto"):
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.tol = tol
        self.nu = nu
        self.shrinking = shrinking
        self.cache_size = cache_size
        self.max_iter = max_iter
        self.max_train = max_train
        self.random_state = random_state
        self.contamination = contamination

    def _fit(self, X):
        rows = flatten_beats(X)
        self.train_index_ = None
        if self.max_train is not None and self.max_train < len(rows):
            rng = check_random_state(self.random_state)
            self.train_index_ = np.sort(rng.choice(len(rows), self.max_train, replace=False))
            rows = rows[self.train_index_]
        params = {name: getattr(self, name) for name in _SVM_PARAMS}
        self.svm_ = OneClassSVM(**params).fit(rows)
        self.n_iter_ = int(self.svm_.n_iter_)
        return self

    def _anomaly_score(self, X):
        return -self.svm_.score_samples(flatten_beats(X))

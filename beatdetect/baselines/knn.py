"""k-nearest-neighbour distance to the training beats: the strongest simple reference."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval

from ..base import BaseBeatDetector
from ..fingerprints import beat_fingerprints, fingerprint_members
from .flatten import flatten_beats

__all__ = ["KNNDetector"]

_NEIGHBOR_PARAMS = ("n_neighbors", "algorithm", "metric", "n_jobs")


class KNNDetector(BaseBeatDetector):
    """Anomaly score = mean distance of a beat to its ``n_neighbors`` nearest training beats.

    No training beyond storing the beats: a beat unlike every normal training beat is far
    from all of them. On beats of patients seen in training this label-free lookup beats
    most learned detectors (it memorises each patient's beats), so every claim of a model
    should stand beside it. Neighbours are found by
    :class:`~sklearn.neighbors.NearestNeighbors` on beats flattened to rows.

    Parameters
    ----------
    n_neighbors : int, default=1
        Neighbours whose distances are averaged.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute"}, default="auto"
        Forwarded to :class:`~sklearn.neighbors.NearestNeighbors`.
    metric : str or callable, default="euclidean"
        Distance between flattened beats, any metric scikit-learn accepts.
    n_jobs : int or None, default=None
        Parallel jobs of the neighbour search.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``: ``"auto"`` is Tukey's fence on the training scores (see
        :func:`beatdetect.base.tukey_offset`); a float is the expected fraction of anomalies.

    Attributes
    ----------
    neighbors_ : sklearn.neighbors.NearestNeighbors
        Fitted on the flattened training beats.
    train_fingerprints_ : ndarray of shape (n_train,), uint64
        Sorted :func:`~beatdetect.memory.beat_fingerprints` of the training beats, to know
        a training beat when it is scored.
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    Notes
    -----
    A training beat would score 0 against itself, so a beat that is one of the training
    beats (the same values, bit for bit) is scored leave-one-out, against the *other*
    training beats: in ``fit`` (for ``contamination``, and for the reference of
    :class:`~beatdetect.context.ContextDetector` with ``holdout=0``)
    and in every later call, so ``predict`` on the training beats flags
    ``contamination`` of them.

    Examples
    --------
    >>> from beatdetect.baselines import KNNDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=500, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = KNNDetector(n_neighbors=3).fit(train.X)
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        **{name: NearestNeighbors._parameter_constraints[name]
           for name in ("algorithm", "metric", "n_jobs")},
    }

    def __init__(self, *, n_neighbors=1, algorithm="auto", metric="euclidean", n_jobs=None,
                 contamination="auto"):
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.metric = metric
        self.n_jobs = n_jobs
        self.contamination = contamination

    def _fit(self, X):
        if len(X) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 training beats, got "
                             f"n_samples = {len(X)}.")
        params = {name: getattr(self, name) for name in _NEIGHBOR_PARAMS}
        params["n_neighbors"] = min(self.n_neighbors, len(X) - 1)
        self.neighbors_ = NearestNeighbors(**params).fit(flatten_beats(X))
        self.train_fingerprints_ = np.sort(beat_fingerprints(X))
        return self

    def _anomaly_score(self, X):
        rows = flatten_beats(X)
        member = fingerprint_members(self.train_fingerprints_, beat_fingerprints(X))
        out = np.empty(len(rows), dtype=np.float64)
        if (~member).any():
            distances, _ = self.neighbors_.kneighbors(rows[~member])
            out[~member] = distances.mean(axis=1)
        if member.any():
            # Leave one out: column 0 is the training beat itself, at distance 0.
            distances, _ = self.neighbors_.kneighbors(
                rows[member], n_neighbors=self.neighbors_.n_neighbors + 1)
            out[member] = distances[:, 1:].mean(axis=1)
        return out

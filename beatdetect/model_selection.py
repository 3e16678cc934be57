"""Cross-validation splitters for anomaly detection: train on normal beats only."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold

from .metrics import anomaly_indicator

__all__ = ["NormalOnlyKFold"]


class NormalOnlyKFold:
    """K folds over the normal beats; every test fold also holds all anomalous beats.

    This is BeatGAN's intra-patient protocol (Zhou et al., 2019): the normal beats are
    shuffled into ``n_splits`` folds; for fold ``k`` the model trains on the other normal
    folds (never on an anomaly) and is tested on normal fold ``k`` plus every anomalous beat.
    Use it as ``cv=`` in ``GridSearchCV`` so training folds stay label-free.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds over the normal beats.
    shuffle : bool, default=True
        Shuffle normal beats before splitting.
    random_state : int, RandomState instance or None, default=0
        Seed of the shuffle.
    anomaly_label : scalar, optional
        Passed to :func:`beatdetect.metrics.anomaly_indicator`.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1] * 10 + [-1] * 2)
    >>> cv = NormalOnlyKFold(n_splits=5)
    >>> train, test = next(cv.split(np.zeros((12, 3)), y))
    >>> len(train), len(test), bool((y[train] == 1).all())
    (8, 4, True)
    """

    def __init__(self, n_splits=5, *, shuffle=True, random_state=0, anomaly_label=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.anomaly_label = anomaly_label

    def split(self, X, y, groups=None):
        """Yield ``(train_index, test_index)`` pairs; ``y`` is required."""
        if y is None:
            raise ValueError("NormalOnlyKFold needs y to tell normal from anomalous beats.")
        is_anomaly = anomaly_indicator(np.asarray(y), self.anomaly_label)
        normal_idx = np.flatnonzero(~is_anomaly)
        anomaly_idx = np.flatnonzero(is_anomaly)
        kfold = KFold(
            self.n_splits,
            shuffle=self.shuffle,
            random_state=self.random_state if self.shuffle else None,
        )
        for train, test in kfold.split(normal_idx):
            yield normal_idx[train], np.sort(np.r_[normal_idx[test], anomaly_idx])

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits."""
        return self.n_splits

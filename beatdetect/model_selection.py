"""Cross-validation splitters for anomaly detection: train on normal beats only."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold

from .datasets.aami import anomaly_indicator

__all__ = ["NormalOnlyKFold", "fit_best_on_normal", "grid_search"]


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
        Passed to :func:`beatdetect.datasets.anomaly_indicator`.

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


def fit_best_on_normal(search, X, y, *, metric="auc", anomaly_label=None):
    """Fit the best candidate of a finished search on the normal beats only.

    ``GridSearchCV(refit=...)`` refits on *every* beat passed to ``fit``, anomalies
    included, which breaks the unsupervised protocol. Run the search with ``refit=False``
    and call this instead: it takes the parameters ranked first by ``metric`` and fits a
    clone of the search's estimator on the beats labelled normal.

    Parameters
    ----------
    search : GridSearchCV or RandomizedSearchCV
        A fitted search (any ``refit``).
    X : array-like of shape (n_beats, ...)
        The beats the search was run on (or any labelled set).
    y : array-like of shape (n_beats,)
        Labels, see :func:`beatdetect.datasets.anomaly_indicator`.
    metric : str, default="auc"
        Scorer name in ``search.cv_results_`` (``rank_test_<metric>``); for a single
        scorer use ``"score"``.
    anomaly_label : scalar, optional
        Passed to :func:`beatdetect.datasets.anomaly_indicator`.

    Returns
    -------
    estimator : fitted estimator
        With ``best_params_`` and ``best_score_`` set from the search.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from beatdetect.baselines import PCADetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import SCORERS
    >>> data = make_synthetic_beats(n_normal=200, n_anomalous=20, random_state=0)
    >>> search = GridSearchCV(PCADetector(), {"n_components": [2, 8]}, scoring=SCORERS,
    ...                       refit=False, cv=NormalOnlyKFold(3)).fit(data.X, data.y)
    >>> best = fit_best_on_normal(search, data.X, data.y)
    >>> best.best_params_["n_components"] in (2, 8)
    True
    """
    results = search.cv_results_
    rank_key = f"rank_test_{metric}"
    if rank_key not in results:
        names = sorted(k[len("rank_test_"):] for k in results if k.startswith("rank_test_"))
        raise ValueError(f"No metric {metric!r} in the search results; choose from {names}.")
    best = int(np.argmin(results[rank_key]))
    normal = ~anomaly_indicator(np.asarray(y), anomaly_label)
    if not normal.any():
        raise ValueError("y marks no beat as normal: nothing to fit the best candidate on.")
    estimator = clone(search.estimator).set_params(**results["params"][best])
    estimator.fit(np.asarray(X)[normal])
    estimator.best_params_ = dict(results["params"][best])
    estimator.best_score_ = float(results[f"mean_test_{metric}"][best])
    return estimator


def grid_search(estimator, param_grid, X, y, *, cv=None, scoring=None, refit=False,
                n_jobs=None, scheduler=None, **kwargs):
    """``GridSearchCV`` with beatdetect's defaults, locally or on a Dask cluster.

    Defaults suit unsupervised detectors: ``cv=NormalOnlyKFold(5)`` (training folds hold
    normal beats only; labels are used for scoring the test folds) and anomaly-positive
    AUC and AP scorers (:data:`beatdetect.metrics.SCORERS`), and no refit: GridSearchCV
    would refit on every beat, anomalies included. Fit the winner on the normal beats with
    :func:`fit_best_on_normal`.

    Parameters
    ----------
    estimator : detector
    param_grid : dict or list of dict
    X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
    y : array-like of shape (n_beats,)
        +1 / -1 (or AAMI classes converted with ``aami_to_y``).
    cv : splitter, optional
        Default ``NormalOnlyKFold(n_splits=5, random_state=0)``.
    scoring : dict or callable, optional
        Default :data:`~beatdetect.metrics.SCORERS` (``{"auc", "ap"}``).
    refit : str or bool, default=False
        Passed to ``GridSearchCV``; anything but False trains the final model on anomalies.
    n_jobs : int, optional
        Local processes; ignored with ``scheduler`` (all cluster workers are used).
    scheduler : str, Client or cluster, optional
        Dask scheduler (see :func:`beatdetect.parallel.parallel_backend`).
    **kwargs
        Passed to ``GridSearchCV``.

    Returns
    -------
    search : GridSearchCV
        Fitted.

    Examples
    --------
    >>> from beatdetect.baselines import make_detector  # doctest: +SKIP
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.model_selection import grid_search
    >>> data = make_synthetic_beats(n_normal=200, n_anomalous=20, random_state=0)
    >>> search = grid_search(make_detector("pca"), {"n_components": [2, 8]},
    ...                      data.X, data.y)  # doctest: +SKIP
    >>> sorted(search.best_params_)  # doctest: +SKIP
    ['n_components']
    """
    from sklearn.model_selection import GridSearchCV

    from .metrics import SCORERS
    from .parallel import parallel_backend

    cv = NormalOnlyKFold(n_splits=5, random_state=0) if cv is None else cv
    scoring = SCORERS if scoring is None else scoring
    with parallel_backend(scheduler, n_jobs) as jobs:
        search = GridSearchCV(estimator, param_grid, cv=cv, scoring=scoring, refit=refit,
                              n_jobs=jobs, **kwargs)
        return search.fit(X, y)

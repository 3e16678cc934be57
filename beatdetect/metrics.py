"""Anomaly-positive metrics and scorers.

Researchers report ROC AUC and average precision with the *anomaly* class as positive and
the anomaly score (higher = more anomalous) as the ranking. scikit-learn's detectors return
``score_samples`` with the opposite orientation and use +1 for normal, -1 for anomaly, so
the built-in ``"roc_auc"`` scorer silently ranks the wrong way round. Everything here
converts once, in :func:`beatdetect.datasets.anomaly_indicator`, and documents the label
conventions it accepts.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from .datasets.aami import NORMAL_AAMI_CLASS, anomaly_indicator

__all__ = [
    "SCORERS",
    "ContextScorer",
    "anomaly_ap_scorer",
    "anomaly_auc_scorer",
    "anomaly_average_precision",
    "anomaly_roc_auc",
    "per_class_scores",
]

def _check_both_classes(is_anomaly: np.ndarray) -> None:
    if is_anomaly.all() or not is_anomaly.any():
        raise ValueError(
            "Anomaly-positive AUC/AP need both normal and anomalous beats in y_true; "
            f"got {int(is_anomaly.sum())} anomalous of {is_anomaly.size}."
        )


def anomaly_roc_auc(y_true, normality_score, *, anomaly_label=None) -> float:
    """ROC AUC with the anomaly class as positive.

    Parameters
    ----------
    y_true : array-like of shape (n_beats,)
        Labels, see :func:`anomaly_indicator`.
    normality_score : array-like of shape (n_beats,)
        ``score_samples`` output: higher = more normal.
    anomaly_label : scalar, optional
        Overrides the label convention.

    Returns
    -------
    auc : float

    Examples
    --------
    >>> anomaly_roc_auc([1, 1, -1], [0.9, 0.8, 0.1])
    1.0
    """
    is_anomaly = anomaly_indicator(y_true, anomaly_label)
    _check_both_classes(is_anomaly)
    return float(roc_auc_score(is_anomaly, -np.asarray(normality_score, dtype=np.float64)))


def anomaly_average_precision(y_true, normality_score, *, anomaly_label=None) -> float:
    """Average precision with the anomaly class as positive.

    Parameters
    ----------
    y_true : array-like of shape (n_beats,)
        Labels, see :func:`anomaly_indicator`.
    normality_score : array-like of shape (n_beats,)
        ``score_samples`` output: higher = more normal.
    anomaly_label : scalar, optional
        Overrides the label convention.

    Returns
    -------
    ap : float

    Examples
    --------
    >>> anomaly_average_precision([1, 1, -1], [0.9, 0.8, 0.1])
    1.0
    """
    is_anomaly = anomaly_indicator(y_true, anomaly_label)
    _check_both_classes(is_anomaly)
    return float(
        average_precision_score(is_anomaly, -np.asarray(normality_score, dtype=np.float64))
    )


def anomaly_auc_scorer(estimator, X, y) -> float:
    """Scorer for ``GridSearchCV(scoring=...)``: anomaly-positive ROC AUC of ``score_samples``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(50, 2)), rng.normal(6, 1, size=(5, 2))]
    >>> y = np.r_[np.ones(50), -np.ones(5)]
    >>> est = IsolationForest(random_state=0).fit(X[:50])
    >>> anomaly_auc_scorer(est, X, y) > 0.9
    True
    """
    return anomaly_roc_auc(y, estimator.score_samples(X))


def anomaly_ap_scorer(estimator, X, y) -> float:
    """Scorer for ``GridSearchCV(scoring=...)``: anomaly-positive average precision."""
    return anomaly_average_precision(y, estimator.score_samples(X))


#: Scorers by name, for ``GridSearchCV(scoring=SCORERS, refit="auc")``.
SCORERS = {"auc": anomaly_auc_scorer, "ap": anomaly_ap_scorer}


class ContextScorer:
    """Scorer that passes each test fold's ``groups`` and ``rr`` on to ``score_samples``.

    For a grid search over a :class:`~beatdetect.context.ContextDetector` (alone or as the
    last step of a :class:`~sklearn.pipeline.Pipeline`, whose own ``score_samples`` takes
    no metadata) with scikit-learn's metadata routing enabled: the search slices ``groups``
    and ``rr`` to the test fold and this scorer hands them to the detector. Request them for
    ``fit`` on the detector as usual (``set_fit_request(groups=True, rr=True)``).

    Parameters
    ----------
    metric : {"auc", "ap"}, default="auc"
        Anomaly-positive ROC AUC or average precision.

    Examples
    --------
    >>> import numpy as np, sklearn
    >>> from sklearn.model_selection import GridSearchCV
    >>> from beatdetect.baselines import make_detector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.model_selection import NormalOnlyKFold
    >>> data = make_synthetic_beats(n_normal=200, n_anomalous=20, random_state=0)
    >>> groups = np.repeat(["a", "b"], 110)
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     det = make_detector("knn+context").set_fit_request(groups=True, rr=True)
    ...     search = GridSearchCV(det, {"w_rhythm": [0.0, 1.0]}, scoring=ContextScorer(),
    ...                           cv=NormalOnlyKFold(2), refit=False)
    ...     search = search.fit(data.X, data.y, groups=groups)
    >>> search.cv_results_["mean_test_score"].shape
    (2,)
    """

    def __init__(self, metric="auc"):
        if metric not in ("auc", "ap"):
            raise ValueError(f"metric must be 'auc' or 'ap', got {metric!r}.")
        self.metric = metric

    def __call__(self, estimator, X, y, groups=None, rr=None) -> float:
        context = {k: v for k, v in (("groups", groups), ("rr", rr)) if v is not None}
        if hasattr(estimator, "steps"):  # a Pipeline: its last step on the transformed beats
            X, estimator = estimator[:-1].transform(X), estimator[-1]
        scores = estimator.score_samples(X, **context)
        metric = anomaly_roc_auc if self.metric == "auc" else anomaly_average_precision
        return metric(y, scores)

    def get_metadata_routing(self):
        """The scorer consumes ``groups`` and ``rr`` (scikit-learn's metadata routing)."""
        from sklearn.utils.metadata_routing import MetadataRequest

        request = MetadataRequest(owner=type(self).__name__)
        for name in ("groups", "rr"):
            request.score.add_request(param=name, alias=True)
        return request

    def __repr__(self):
        return f"ContextScorer(metric={self.metric!r})"


def per_class_scores(aami, normality_score, classes=("S", "V", "F", "Q")) -> dict:
    """AUC and AP of each anomalous AAMI class against the normal beats alone.

    Parameters
    ----------
    aami : array-like of str, shape (n_beats,)
        AAMI class of each beat.
    normality_score : array-like of shape (n_beats,)
        ``score_samples`` output.
    classes : sequence of str
        Anomalous classes to report; a class absent from ``aami`` is skipped.

    Returns
    -------
    results : dict
        ``{cls: {"auc": float, "ap": float, "n": int}}``.

    Examples
    --------
    >>> r = per_class_scores(["N", "N", "V", "S"], [1.0, 0.9, 0.1, 0.95])
    >>> r["V"]["auc"], r["S"]["auc"]
    (1.0, 0.5)
    """
    aami = np.asarray(aami).astype(str)
    score = np.asarray(normality_score, dtype=np.float64)
    normal = aami == NORMAL_AAMI_CLASS
    results = {}
    for cls in classes:
        mask = aami == cls
        if not mask.any() or not normal.any():
            continue
        keep = normal | mask
        results[cls] = {
            "auc": anomaly_roc_auc(mask[keep], score[keep], anomaly_label=True),
            "ap": anomaly_average_precision(mask[keep], score[keep], anomaly_label=True),
            "n": int(mask.sum()),
        }
    return results

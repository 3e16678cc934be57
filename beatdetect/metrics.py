"""Anomaly-positive metrics and scorers.

Researchers report ROC AUC and average precision with the *anomaly* class as positive and
the anomaly score (higher = more anomalous) as the ranking. scikit-learn's detectors return
``score_samples`` with the opposite orientation and use +1 for normal, -1 for anomaly, so
the built-in ``"roc_auc"`` scorer silently ranks the wrong way round. Everything here
converts once, in :func:`anomaly_indicator`, and documents the label conventions it accepts.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = [
    "SCORERS",
    "anomaly_ap_scorer",
    "anomaly_auc_scorer",
    "anomaly_average_precision",
    "anomaly_indicator",
    "anomaly_roc_auc",
    "per_class_scores",
]

#: AAMI class of normal beats; every other AAMI class counts as anomalous.
NORMAL_AAMI_CLASS = "N"
#: Every AAMI class (a copy of ``beatdetect.datasets.aami.AAMI_CLASSES``, which imports us).
_AAMI_CLASSES = frozenset({"N", "S", "V", "F", "Q"})


def anomaly_indicator(y, anomaly_label=None) -> np.ndarray:
    """Turn labels into a boolean array that is True for anomalous beats.

    Parameters
    ----------
    y : array-like of shape (n_beats,)
        Labels in one of the supported conventions:

        - ``{-1, +1}`` (scikit-learn outlier detectors): -1 is the anomaly;
        - ``{0, 1}`` (anomaly-detection datasets, PyOD): 1 is the anomaly;
        - booleans: True is the anomaly;
        - AAMI class strings (``"N"``, ``"S"``, ``"V"``, ``"F"``, ``"Q"``): all but N;
          other strings (e.g. raw MIT-BIH symbols, where ``"L"`` is normal) raise.

        Object arrays (pandas columns) are read by the values they hold.

        A single class present is read with the same rules, {-1, +1} first: only ``1``
        means all normal, only ``0`` all normal, only ``-1`` all anomalous.
    anomaly_label : scalar, optional
        The label that marks anomalies, overriding the inference above.

    Returns
    -------
    is_anomaly : ndarray of bool

    Examples
    --------
    >>> anomaly_indicator([1, -1, 1]).tolist()
    [False, True, False]
    >>> anomaly_indicator([0, 1, 0]).tolist()
    [False, True, False]
    >>> anomaly_indicator(["N", "V", "S"]).tolist()
    [False, True, True]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    if anomaly_label is not None:
        return y == anomaly_label
    if y.dtype == object:  # e.g. a pandas column: numbers, booleans or strings inside
        y = np.asarray(y.tolist())
    if y.dtype == bool:
        return y.copy()
    if y.dtype.kind in "USO":
        y = y.astype(str)
        unknown = sorted(set(np.unique(y).tolist()) - _AAMI_CLASSES)
        if unknown:
            raise ValueError(
                f"String labels must be AAMI classes {sorted(_AAMI_CLASSES)}, got {unknown}: "
                "map beat symbols with beatdetect.datasets.aami_class, or pass anomaly_label."
            )
        return y != NORMAL_AAMI_CLASS
    values = set(np.unique(y).tolist())
    if values <= {-1, 1}:
        return y == -1
    if values <= {0, 1}:
        return y == 1
    raise ValueError(
        f"Cannot tell anomalies from labels {sorted(values)}: use +1/-1 (-1 = anomaly), "
        "0/1 (1 = anomaly), booleans (True = anomaly), AAMI classes, or pass anomaly_label."
    )


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

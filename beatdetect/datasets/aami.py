"""AAMI heartbeat classes of MIT-BIH beat annotations.

ANSI/AAMI EC57 groups the MIT-BIH beat labels into five classes; the grouping below is the
one tabulated by de Chazal, O'Dwyer & Reilly (IEEE TBME 51(7), 2004, Table I) and used by
most anomaly-detection work on MIT-BIH. For anomaly detection, class N is normal and every
other class anomalous (labels +1 / -1, scikit-learn's outlier convention).

Note: BeatGAN's released preprocessing (``experiments/ecg/preprocess.py``) counted the
escape beats ``e`` and ``j`` as S; this module follows AAMI (they are N).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AAMI_CLASSES",
    "NORMAL_AAMI_CLASS",
    "SYMBOL_TO_AAMI",
    "aami_class",
    "aami_to_y",
    "anomaly_indicator",
    "is_beat",
]

#: The five AAMI EC57 classes, in their customary order.
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
#: AAMI class of normal beats; every other AAMI class counts as anomalous.
NORMAL_AAMI_CLASS = "N"

#: MIT-BIH beat symbol -> AAMI class (AAMI EC57; de Chazal et al. 2004, Table I).
#: N: normal, left/right bundle branch block, atrial and nodal (junctional) escape.
#: S: atrial, aberrated atrial, nodal and supraventricular premature.
#: V: premature ventricular contraction, ventricular escape. F: fusion of ventricular and
#: normal. Q: paced, fusion of paced and normal, unclassifiable.
SYMBOL_TO_AAMI = {
    **dict.fromkeys(("N", "L", "R", "e", "j"), "N"),
    **dict.fromkeys(("A", "a", "J", "S"), "S"),
    **dict.fromkeys(("V", "E"), "V"),
    "F": "F",
    **dict.fromkeys(("/", "f", "Q"), "Q"),
}


def is_beat(symbols) -> np.ndarray:
    """Which annotation symbols are beats with an AAMI class.

    Rhythm changes (``+``), noise (``~``), comments (``"``) and other non-beat annotations
    give False.

    Parameters
    ----------
    symbols : array-like of str, shape (n_annotations,)

    Returns
    -------
    mask : ndarray of bool, shape (n_annotations,)

    Examples
    --------
    >>> is_beat(["N", "+", "V", "~"]).tolist()
    [True, False, True, False]
    """
    symbols = np.asarray(symbols, dtype=str)
    return np.isin(symbols, list(SYMBOL_TO_AAMI))


def aami_class(symbols) -> np.ndarray:
    """AAMI class of each beat symbol; non-beat symbols give the empty string.

    Parameters
    ----------
    symbols : array-like of str, shape (n_beats,)

    Returns
    -------
    classes : ndarray of str, shape (n_beats,)

    Examples
    --------
    >>> aami_class(["N", "L", "A", "V", "F", "/", "+"]).tolist()
    ['N', 'N', 'S', 'V', 'F', 'Q', '']
    """
    symbols = np.asarray(symbols, dtype=str)
    keys = np.array(list(SYMBOL_TO_AAMI), dtype=str)
    values = np.array(list(SYMBOL_TO_AAMI.values()), dtype="<U1")
    classes = np.full(symbols.shape, "", dtype="<U1")
    # Few distinct symbols, many beats: one vectorised comparison per symbol.
    for key, value in zip(keys, values):
        classes[symbols == key] = value
    return classes


def aami_to_y(classes) -> np.ndarray:
    """Outlier labels of AAMI classes: +1 for N (normal), -1 for S, V, F and Q.

    Parameters
    ----------
    classes : array-like of str, shape (n_beats,)

    Returns
    -------
    y : ndarray of int, shape (n_beats,)

    Examples
    --------
    >>> aami_to_y(["N", "S", "V", "N"]).tolist()
    [1, -1, -1, 1]
    """
    classes = np.asarray(classes, dtype=str)
    return np.where(classes == NORMAL_AAMI_CLASS, 1, -1).astype(np.int64)




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
        unknown = sorted(set(np.unique(y).tolist()) - set(AAMI_CLASSES))
        if unknown:
            raise ValueError(
                f"String labels must be AAMI classes {sorted(AAMI_CLASSES)}, got {unknown}: "
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

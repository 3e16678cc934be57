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

from ..metrics import NORMAL_AAMI_CLASS

__all__ = ["AAMI_CLASSES", "SYMBOL_TO_AAMI", "aami_class", "aami_to_y", "is_beat"]

#: The five AAMI EC57 classes, in their customary order.
AAMI_CLASSES = ("N", "S", "V", "F", "Q")

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

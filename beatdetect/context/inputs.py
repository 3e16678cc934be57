"""The context arguments ``groups`` and ``rr``, checked in one place before any work.

One rule for recording ids (``groups``): every id is a string, or every id is a whole
number (Python or numpy integers, or floats with an integral value); not a mix of the two,
and none missing (None, NaN, pandas' NA). Ids are compared in a canonical form, the string
itself or the decimal integer, so ``0``, ``0.0`` and ``np.int64(0)`` name the same
recording, in ``fit`` and when scoring, and so does the string ``"0"``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

__all__ = ["check_groups", "check_rr"]

#: Offending values shown in an error message.
_SHOWN = 5


def _kind(value) -> str:
    """``"str"``, ``"int"`` (a whole number), ``"missing"`` or ``"other"``."""
    if value is None:
        return "missing"
    if isinstance(value, (str, np.str_)):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "other"
    if isinstance(value, Integral):
        return "int"
    if isinstance(value, Real):
        value = float(value)
        if math.isnan(value):
            return "missing"
        return "int" if math.isfinite(value) and value.is_integer() else "other"
    try:  # pandas.NA and friends
        if bool(value != value):
            return "missing"
    except (TypeError, ValueError):
        return "missing"
    return "other"


def _examples(values, positions) -> str:
    shown = ", ".join(f"{values[i]!r} at {i}" for i in positions[:_SHOWN])
    more = f" and {len(positions) - _SHOWN} more" if len(positions) > _SHOWN else ""
    return shown + more


def check_groups(groups, n_beats: int) -> np.ndarray | None:
    """``groups`` as canonical recording ids, one string per beat (None passes through).

    Parameters
    ----------
    groups : array-like of shape (n_beats,) or None
        The recording of each beat: all strings, or all whole numbers.
    n_beats : int

    Returns
    -------
    ids : ndarray of str of shape (n_beats,), or None

    Raises
    ------
    ValueError
        Naming ``groups`` and the offending values: a wrong length, a missing id, ids of
        two kinds, or ids that are neither strings nor whole numbers.

    Examples
    --------
    >>> check_groups([0, 1.0, 2], 3).tolist()
    ['0', '1', '2']
    >>> check_groups([1, "2"], 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: groups mixes strings and numbers (1 at 0, '2' at 1): ...
    """
    if groups is None:
        return None
    values = groups.tolist() if hasattr(groups, "tolist") else groups
    try:
        shape = np.shape(values)
    except ValueError:
        shape = None
    if shape is None or len(shape) != 1 or shape[0] != n_beats:
        raise ValueError(
            f"groups must hold one recording id per beat: expected shape ({n_beats},), got "
            f"{shape if shape is not None else 'a ragged sequence'}."
        )
    values = list(values)
    kinds = [_kind(v) for v in values]
    missing = [i for i, k in enumerate(kinds) if k == "missing"]
    if missing:
        raise ValueError(
            f"groups has {len(missing)} missing recording id(s) ({_examples(values, missing)}); "
            "give every beat its recording."
        )
    other = [i for i, k in enumerate(kinds) if k == "other"]
    if other:
        raise ValueError(
            f"groups must hold recording ids that are strings or whole numbers, got "
            f"{_examples(values, other)}."
        )
    if len(set(kinds)) > 1:
        first_str = kinds.index("str")
        first_int = kinds.index("int")
        raise ValueError(
            f"groups mixes strings and numbers ({_examples(values, sorted([first_int, first_str]))}"
            "): give every recording id as a string, or every one as an integer."
        )
    if kinds and kinds[0] == "int":
        return np.array([str(int(v)) for v in values], dtype=str)
    return np.array([str(v) for v in values], dtype=str)


def check_rr(rr, n_beats: int) -> np.ndarray | None:
    """``rr`` as a float64 (n_beats, 3) array of pre, post and local RR (None passes through).

    Rows of NaN (a recording of one beat) are allowed and carry no rhythm evidence; any other
    value must be a positive finite interval.
    """
    if rr is None:
        return None
    try:
        rr = np.asarray(rr, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"rr must be an array of RR intervals: {err}") from None
    if rr.shape != (n_beats, 3):
        raise ValueError(
            "rr must hold the pre-RR, post-RR and local RR interval of each beat (see "
            f"beatdetect.datasets.rr_intervals): expected shape ({n_beats}, 3), got {rr.shape}."
        )
    known = ~np.isnan(rr).all(axis=1)
    values = rr[known]
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError("rr must hold positive, finite intervals (a row of NaN for a beat "
                         "without neighbours).")
    return rr

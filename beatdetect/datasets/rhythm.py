"""RR intervals of every beat: the rhythm that travels beside the beats.

A supraventricular premature beat (AAMI S) usually has a normal QRS shape: what marks it is
its timing, early against the beats around it. Beat windows cannot see that, so the loaders
compute, per beat and within its own recording, the interval from the previous beat
(pre-RR), to the next beat (post-RR) and the recording's local rhythm: an upper quantile of
the pre-RR intervals of the surrounding beats. No label is involved: only the positions of
the beats.

Why an upper quantile and not the median: premature beats only ever *shorten* pre-RR, so
where they are frequent (bigeminy, runs, or a recording such as MIT-BIH 232 whose majority
of beats are atrial premature beats) the median interval is the premature one and a
premature beat looks on time. The 90th percentile of the surrounding intervals stays on the
underlying cycle until nine beats in ten are early.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import percentile_filter

from ..exceptions import DataError

__all__ = ["LOCAL_RR_BEATS", "LOCAL_RR_QUANTILE", "RR_COLUMNS", "rr_intervals"]

#: Beats in the centred window whose median pre-RR is a beat's local rhythm: about half a
#: minute at normal rates, long enough that a run of ectopic beats does not become the
#: reference, short enough to follow changes of heart rate.
LOCAL_RR_BEATS = 31
#: Percentile of those pre-RR intervals taken as the local cycle (see the module docstring).
LOCAL_RR_QUANTILE = 90.0
#: Columns of the array returned by :func:`rr_intervals`.
RR_COLUMNS = ("pre_rr", "post_rr", "local_rr")


def _record_rr(sample: np.ndarray, local_beats: int, quantile: float) -> np.ndarray:
    """(pre, post, local) in samples for beats of one recording, sorted by position."""
    n = len(sample)
    if n < 2:
        return np.full((n, 3), np.nan)
    gaps = np.diff(sample).astype(np.float64)
    # The first beat has no pre-RR and the last no post-RR: each takes the one it has.
    pre = np.concatenate([gaps[:1], gaps])
    post = np.concatenate([gaps, gaps[-1:]])
    size = min(local_beats, n) | 1  # odd, so the window is centred on the beat
    local = np.exp(percentile_filter(np.log(pre), quantile, size=size, mode="nearest"))
    return np.column_stack([pre, post, local])


def rr_intervals(sample, fs, groups=None, *, local_beats: int = LOCAL_RR_BEATS,
                 local_quantile: float = LOCAL_RR_QUANTILE) -> np.ndarray:
    """Pre-RR, post-RR and local RR interval of every beat, in seconds.

    Parameters
    ----------
    sample : array-like of int of shape (n_beats,)
        Position of each beat (R peak or annotation) in samples of its recording, in any
        order. Pass *every* beat of a recording: intervals are taken between consecutive
        beats given; beats at one position share its intervals.
    fs : float
        Sampling rate in Hz.
    groups : array-like of shape (n_beats,), optional
        Recording of each beat; intervals never cross recordings. None: one recording.
    local_beats : int, default=31
        Beats of the centred window whose pre-RR intervals give the local rhythm.
    local_quantile : float in [0, 100], default=90
        Percentile of those intervals taken as the local cycle (50 is the median).

    Returns
    -------
    rr : ndarray of shape (n_beats, 3), float64
        Columns ``pre_rr``, ``post_rr``, ``local_rr`` (see :data:`RR_COLUMNS`), in the
        order of the input. A recording with a single beat gets NaN.

    Raises
    ------
    DataError
        Mismatched lengths or a non-positive ``fs``.

    Examples
    --------
    >>> rr = rr_intervals([0, 360, 720, 900, 1440], fs=360.0)
    >>> rr[:, 0].tolist()  # pre-RR: the 4th beat comes early
    [1.0, 1.0, 1.0, 0.5, 1.5]
    >>> rr[3].round(2).tolist()  # pre, post, local
    [0.5, 1.5, 1.5]
    """
    sample = np.asarray(sample)
    if sample.ndim != 1 or not np.issubdtype(sample.dtype, np.number):
        raise DataError(f"sample must be a 1-D array of positions, got shape {sample.shape}.")
    if not (np.isfinite(fs) and fs > 0):
        raise DataError(f"fs must be a positive number of Hz, got {fs!r}.")
    if isinstance(local_beats, bool) or not isinstance(local_beats, (int, np.integer)) \
            or local_beats < 1:
        raise DataError(f"local_beats must be a positive integer, got {local_beats!r}.")
    if not 0 <= local_quantile <= 100:
        raise DataError(f"local_quantile must be in [0, 100], got {local_quantile!r}.")
    groups = np.zeros(len(sample), dtype=int) if groups is None else np.asarray(groups)
    if groups.shape != sample.shape:
        raise DataError(f"{groups.size} group labels for {sample.size} beat positions.")
    rr = np.empty((len(sample), 3), dtype=np.float64)
    for group in np.unique(groups):
        index = np.flatnonzero(groups == group)
        # Beats annotated twice at one position share that position's intervals.
        positions, which = np.unique(sample[index], return_inverse=True)
        rr[index] = _record_rr(positions, int(local_beats), float(local_quantile))[which]
    return rr / float(fs)

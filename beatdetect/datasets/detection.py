"""R-peak detection for recordings without beat annotations, through ``wfdb.processing``."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..exceptions import DataError
from ._wfdb import wfdb
from .preprocessing import check_signal

__all__ = ["ALIGN_RADIUS_SECONDS", "DETECTORS", "align_to_r_peaks", "detect_r_peaks"]

#: QRS detectors of ``wfdb.processing``: XQRS (adaptive, learns the record's QRS shape) and
#: GQRS (a port of PhysioNet's ``gqrs``). XQRS found every beat of MIT-BIH record 100 in tests.
DETECTORS = ("xqrs", "gqrs")
#: Highest heart rate allowed for when moving detections onto the R peak, in beats per minute;
#: ``search_radius = fs * 60 / 230`` as in wfdb's QRS-detection demo notebook.
MAX_HEART_RATE_BPM = 230.0
#: Smoothing window of ``wfdb.processing.correct_peaks`` in seconds (150 samples at 360 Hz,
#: the value of wfdb's demo notebook), which removes baseline before the peak search.
SMOOTH_WINDOW_SECONDS = 150 / 360
#: How far :func:`align_to_r_peaks` looks for the R peak on either side of a mark, in seconds.
#: The QT Database's European ST-T marks sit a median 44 ms (quartiles 32-52 ms) before the
#: largest deflection, MIT-BIH's within 3 ms of it (``docs/transfer.md``); 75 ms covers the
#: first and stays short of a T wave, which comes later than 150 ms after the R peak.
ALIGN_RADIUS_SECONDS = 0.075


def detect_r_peaks(signal, fs, *, lead=0, method="xqrs") -> np.ndarray:
    """Find R peaks in one lead of an unannotated recording.

    The QRS detector's marks are moved onto the local extremum of the QRS complex with
    ``wfdb.processing.correct_peaks``, where MIT-BIH-style annotations sit, so beats cut
    around them line up with beats cut around reference annotations.

    Parameters
    ----------
    signal : array-like of shape (n_samples,) or (n_samples, n_leads)
        Recording in physical units (unfiltered: the detectors filter internally).
    fs : float
        Sampling rate in Hz.
    lead : int, default=0
        Column of ``signal`` to detect on.
    method : {"xqrs", "gqrs"}, default="xqrs"
        ``wfdb.processing.xqrs_detect`` or ``wfdb.processing.gqrs_detect``.

    Returns
    -------
    r_peaks : ndarray of int64, shape (n_peaks,)
        Sorted, unique sample indices.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360.0
    >>> t = np.arange(int(20 * fs)) / fs
    >>> ecg = sum(np.exp(-((t - c) ** 2) / (2 * 0.01**2)) for c in np.arange(0.5, 20, 0.8))
    >>> peaks = detect_r_peaks(ecg, fs)
    >>> bool(np.abs(peaks[5:10] / fs - np.arange(0.5, 20, 0.8)[5:10]).max() < 0.02)
    True
    """
    signal, fs = check_signal(signal, fs)
    if method not in DETECTORS:
        raise DataError(f"method must be one of {DETECTORS}, got {method!r}.")
    if isinstance(lead, bool) or not isinstance(lead, Integral):
        raise DataError(f"lead must be a column index, got {lead!r}.")
    if not 0 <= lead < signal.shape[1]:
        raise DataError(f"lead {lead} is out of range for a signal with {signal.shape[1]} leads.")
    sig = signal[:, lead]
    try:
        if method == "xqrs":
            peaks = wfdb.processing.xqrs_detect(sig, fs=fs, verbose=False)
        else:
            peaks = wfdb.processing.gqrs_detect(sig, fs=fs)
    except ValueError as err:
        # XQRS's internal filter fails on very short inputs with a bare scipy message.
        raise DataError(
            f"R-peak detection ({method}) failed on a {sig.size}-sample signal at {fs:g} Hz; "
            f"is the recording long enough (a few seconds at least)? {err}"
        ) from err
    peaks = np.asarray(peaks, dtype=np.int64)
    if peaks.size == 0:
        return peaks
    corrected = wfdb.processing.correct_peaks(
        sig,
        peaks,
        search_radius=max(1, int(fs * 60.0 / MAX_HEART_RATE_BPM)),
        smooth_window_size=max(1, int(round(SMOOTH_WINDOW_SECONDS * fs))),
        peak_dir="compare",
    )
    # Two marks of one wide complex can land on the same extremum: keep each peak once.
    return np.unique(np.asarray(corrected, dtype=np.int64))


def align_to_r_peaks(signal, fs, positions, *, lead=0, radius=ALIGN_RADIUS_SECONDS,
                     per="recording") -> np.ndarray:
    """Move a recording's beat marks onto its R peaks.

    Databases place their beat marks differently: MIT-BIH's reference annotations sit on the
    R peak, the European ST-T Database's (in the QT Database) about 44 ms before it. A beat
    window cut at a mark placed elsewhere is not the window a model trained on MIT-BIH saw.
    Each mark's R peak is the largest absolute value of ``lead`` within ``radius``; with
    ``per="recording"`` every mark moves by the median of those distances, which corrects
    the database's convention without the beat-to-beat jitter of jumping between the R and
    S waves of a biphasic complex; ``per="beat"`` moves each mark onto its own peak.

    Parameters
    ----------
    signal : array-like of shape (n_samples,) or (n_samples, n_leads)
        Recording, best band-pass filtered (baseline wander would otherwise win the search).
    fs : float
        Sampling rate in Hz.
    positions : array-like of int
        Sample index of each beat mark (e.g. a WFDB ``.atr``'s ``sample``).
    lead : int, default=0
        Column of ``signal`` searched.
    radius : float, default=0.075
        Seconds searched on either side of each mark.
    per : {"recording", "beat"}, default="recording"
        One shift for every mark (the median), or each mark onto its own peak.

    Returns
    -------
    aligned : ndarray of int64, shape (n_positions,)
        The moved marks, in the marks' order. With ``per="beat"`` a mark outside the signal,
        or with nothing larger than itself nearby, stays where it is; those marks do not
        count towards the median of ``per="recording"``.

    Examples
    --------
    >>> import numpy as np
    >>> ecg = np.zeros(1000)
    >>> ecg[[200, 400, 600]] = [1.0, -2.0, 1.0]  # upright and inverted R waves
    >>> align_to_r_peaks(ecg, 250.0, [190, 390, 592], per="beat").tolist()
    [200, 400, 600]
    >>> align_to_r_peaks(ecg, 250.0, [190, 390, 592]).tolist()  # all by the median, +10
    [200, 400, 602]
    """
    signal, fs = check_signal(signal, fs)
    if not 0 <= lead < signal.shape[1]:
        raise DataError(f"lead {lead} is out of range for a signal with {signal.shape[1]} leads.")
    if not (np.isfinite(radius) and radius > 0):
        raise DataError(f"radius must be a positive number of seconds, got {radius!r}.")
    if per not in ("recording", "beat"):
        raise DataError(f"per must be 'recording' or 'beat', got {per!r}.")
    positions = np.asarray(positions, dtype=np.int64)
    magnitude = np.abs(signal[:, lead])
    half = max(1, int(round(radius * fs)))
    aligned = positions.copy()
    moved = np.zeros(len(positions), dtype=bool)
    for i, mark in enumerate(positions):
        if not 0 <= mark < len(magnitude):
            continue
        start = max(0, mark - half)
        peak = start + int(np.argmax(magnitude[start:mark + half + 1]))
        # A tie with the mark itself (a flat stretch) keeps the mark where it was.
        if magnitude[peak] > magnitude[mark]:
            aligned[i] = peak
        moved[i] = True
    if per == "beat":
        return aligned
    if not moved.any():
        return positions
    return positions + int(np.round(np.median(aligned[moved] - positions[moved])))

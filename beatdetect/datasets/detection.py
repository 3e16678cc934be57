"""R-peak detection for recordings without beat annotations, through ``wfdb.processing``."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..exceptions import DataError
from ._wfdb import wfdb
from .preprocessing import check_signal

__all__ = ["DETECTORS", "detect_r_peaks"]

#: QRS detectors of ``wfdb.processing``: XQRS (adaptive, learns the record's QRS shape) and
#: GQRS (a port of PhysioNet's ``gqrs``). XQRS found every beat of MIT-BIH record 100 in tests.
DETECTORS = ("xqrs", "gqrs")
#: Highest heart rate allowed for when moving detections onto the R peak, in beats per minute;
#: ``search_radius = fs * 60 / 230`` as in wfdb's QRS-detection demo notebook.
MAX_HEART_RATE_BPM = 230.0
#: Smoothing window of ``wfdb.processing.correct_peaks`` in seconds (150 samples at 360 Hz,
#: the value of wfdb's demo notebook), which removes baseline before the peak search.
SMOOTH_WINDOW_SECONDS = 150 / 360


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

"""Signal preprocessing after BeatGAN: zero-phase band-pass, beat windows, per-beat scaling.

BeatGAN (Zhou et al., IJCAI 2019; ``experiments/ecg/preprocess.py`` and ``data.py`` of the
authors' repository) filters each whole record with biosppy's ECG filter (a 3-45 Hz FIR of
``int(0.3 * fs)`` taps applied forwards and backwards), cuts 140 samples before and 180 after
each annotated beat at 360 Hz and min-max scales every beat and lead to [-1, 1]. Every step
is a function here so that MIT-BIH loading and scoring of any other recording share one
implementation.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.signal import firwin, oaconvolve

from ..exceptions import DataError

__all__ = [
    "BEAT_LENGTH",
    "BEAT_WINDOW",
    "FILTER_BAND",
    "REFERENCE_FS",
    "bandpass_filter",
    "check_signal",
    "extract_beats",
    "scale_beats_minmax",
    "window_samples",
]

#: Sampling rate the beat window is defined at: MIT-BIH's 360 Hz (Moody & Mark, 2001).
REFERENCE_FS = 360.0
#: Samples before / after the R peak at 360 Hz: BeatGAN's ``LEFT = 140``, ``RIGHT = 180``.
BEAT_WINDOW = (140, 180)
#: Samples per beat given to the models: 140 + 180 = 320, BeatGAN's input length.
BEAT_LENGTH = 320
#: Pass band of the zero-phase filter in Hz: biosppy's ECG filter, used by BeatGAN.
FILTER_BAND = (3.0, 45.0)
#: FIR length in seconds: biosppy uses ``int(0.3 * fs)`` taps (made odd), 109 at 360 Hz.
FILTER_TAPS_SECONDS = 0.3
#: Fewest samples a scaled window may hold: a QRS complex (~0.1 s) must span a few samples,
#: which needs ~36 Hz or more for BeatGAN's 0.89 s window.
MIN_WINDOW_SAMPLES = 32
#: Per-beat scalings ``extract_beats`` accepts (None keeps physical units).
SCALE_OPTIONS = ("minmax", None)
#: Bump when a change alters preprocessed beats, so cached arrays are recomputed.
PREPROCESSING_VERSION = 1


def _validate_fs(fs) -> float:
    if isinstance(fs, bool) or not isinstance(fs, Real) or not np.isfinite(fs) or fs <= 0:
        raise DataError(f"Sampling rate fs must be a positive number of Hz, got {fs!r}.")
    return float(fs)


def check_signal(signal, fs) -> tuple[np.ndarray, float]:
    """``(signal, fs)`` checked: a finite float64 (n_samples, n_leads) array and a float.

    Shared by every function of :mod:`beatdetect.datasets` that takes a raw signal.

    Raises
    ------
    DataError
        A non-positive or non-numeric ``fs``, a signal that is not 1-D or 2-D numbers, is
        empty, or holds NaN or infinite values.
    """
    fs = _validate_fs(fs)
    try:
        signal = np.asarray(signal, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"The signal must be an array of numbers: {err}") from err
    if signal.ndim == 1:
        signal = signal[:, np.newaxis]
    if signal.ndim != 2 or signal.shape[0] == 0 or signal.shape[1] == 0:
        raise DataError(
            "Expected a signal of shape (n_samples,) or (n_samples, n_leads), "
            f"got shape {signal.shape}."
        )
    bad = ~np.isfinite(signal)
    if bad.any():
        sample, lead = np.argwhere(bad)[0]
        raise DataError(
            f"The signal holds {int(bad.sum())} NaN or infinite values (first at sample "
            f"{sample}, lead {lead}); interpolate or crop them before extracting beats."
        )
    return signal, fs


def _check_pair(value, name: str, kind: type) -> tuple:
    if (
        not isinstance(value, (tuple, list, np.ndarray))
        or len(value) != 2
        or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value)
    ):
        raise DataError(f"{name} must be a pair of numbers, got {value!r}.")
    return tuple(value.tolist() if isinstance(value, np.ndarray) else value)


def check_filter_band(band, fs) -> tuple[float, float]:
    """Validate a filter pass band ``(low, high)`` in Hz for sampling rate ``fs``."""
    low, high = _check_pair(band, "filter_band", Real)
    if not 0 < low < high < fs / 2:
        raise DataError(
            f"filter_band={band!r} Hz cannot be applied at fs={fs:g} Hz: it needs "
            f"0 < low < high < fs / 2 = {fs / 2:g} Hz. Pass a lower band or filter_band=None."
        )
    return float(low), float(high)


def check_length_scale(length, scale) -> None:
    """Validate the beat ``length`` and the per-beat ``scale`` option."""
    if isinstance(length, bool) or not isinstance(length, Integral) or length < 2:
        raise DataError(f"length must be an integer of at least 2 samples, got {length!r}.")
    if not (scale is None or (isinstance(scale, str) and scale in SCALE_OPTIONS)):
        raise DataError(f"scale must be one of {SCALE_OPTIONS}, got {scale!r}.")


def bandpass_filter(signal, fs, band=FILTER_BAND, *, numtaps=None) -> np.ndarray:
    """Zero-phase FIR band-pass filter of a whole recording, lead by lead.

    The filter is BeatGAN's (biosppy's ECG filter): a Hamming-window FIR designed with
    ``scipy.signal.firwin`` with ``int(0.3 * fs)`` taps (made odd), applied forwards and
    backwards as ``scipy.signal.filtfilt(taps, 1, signal)`` does, with the same odd-reflection
    padding of ``3 * numtaps`` samples at each end. Running it both ways cancels the phase
    delay, so R peaks stay where the annotations put them, and squares the magnitude
    response (-12 dB instead of -6 dB at the cut-offs). Both passes are done at once as one
    FFT convolution with the squared kernel ``taps * taps``: the same result to rounding
    error, and faster than ``filtfilt`` on half-hour records.

    A 0.3 s FIR has a wide transition band below 3 Hz: at 360 Hz it keeps 4 % of a constant
    offset and of 0.3 Hz baseline wander (about -27 dB). That is BeatGAN's filter, kept for
    comparability; per-beat min-max scaling removes the remaining offset. Pass ``numtaps``
    for a sharper filter.

    Parameters
    ----------
    signal : array-like of shape (n_samples,) or (n_samples, n_leads)
        Recording in physical units; must be finite and longer than ``3 * numtaps``
        samples (0.9 s with the default taps).
    fs : float
        Sampling rate in Hz.
    band : (float, float), default=(3.0, 45.0)
        Pass band in Hz; ``0 < low < high < fs / 2``.
    numtaps : int, optional
        FIR length; default ``int(0.3 * fs)`` made odd.

    Returns
    -------
    filtered : ndarray of float64, same shape as ``signal``

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360.0
    >>> t = np.arange(3600) / fs
    >>> x = 1.0 + np.sin(2 * np.pi * 10 * t) + np.sin(2 * np.pi * 100 * t)
    >>> y = bandpass_filter(x, fs)
    >>> bool(np.allclose(y[400:-400], np.sin(2 * np.pi * 10 * t)[400:-400], atol=0.05))
    True
    """
    one_lead = np.ndim(signal) == 1
    signal, fs = check_signal(signal, fs)
    low, high = check_filter_band(band, fs)
    if numtaps is None:
        numtaps = max(int(FILTER_TAPS_SECONDS * fs), 3)
    elif isinstance(numtaps, bool) or not isinstance(numtaps, Integral) or numtaps < 3:
        raise DataError(f"numtaps must be an integer of at least 3, got {numtaps!r}.")
    numtaps = int(numtaps) | 1  # odd: a type I FIR, whose delay is whole samples
    taps = firwin(numtaps, [low, high], pass_zero=False, fs=fs)
    # Forward then backward filtering is convolution with taps and its reverse; firwin's
    # taps are symmetric, so the combined kernel is taps * taps, symmetric and of odd length.
    kernel = np.convolve(taps, taps)
    n = signal.shape[0]
    padlen = 3 * numtaps  # filtfilt's default
    if n <= padlen:
        raise DataError(
            f"A signal of {n} samples is too short for the {numtaps}-tap band-pass filter at "
            f"fs={fs:g} Hz: it needs more than {padlen} samples ({padlen / fs:.2f} s). Pass "
            "a longer recording or filter_band=None."
        )
    head = 2.0 * signal[:1] - signal[padlen:0:-1]
    tail = 2.0 * signal[-1:] - signal[::-1][1 : padlen + 1]
    padded = np.concatenate([head, signal, tail])
    filtered = oaconvolve(padded, kernel[:, np.newaxis], mode="same", axes=0)[padlen : padlen + n]
    return filtered[:, 0] if one_lead else filtered


def window_samples(fs, window=BEAT_WINDOW, *, reference_fs=REFERENCE_FS) -> tuple[int, int]:
    """Samples before and after the R peak at ``fs`` for a window defined at 360 Hz.

    Parameters
    ----------
    fs : float
        Sampling rate of the recording in Hz.
    window : (int, int), default=(140, 180)
        Samples before and after the R peak at ``reference_fs`` (BeatGAN's window).
    reference_fs : float, default=360.0
        Rate at which ``window`` is given.

    Returns
    -------
    before, after : int
        ``round(fs * window[i] / reference_fs)``, halves rounded up.

    Examples
    --------
    >>> window_samples(360)
    (140, 180)
    >>> window_samples(250)
    (97, 125)
    """
    fs = _validate_fs(fs)
    before, after = _check_pair(window, "window", Integral)
    if before < 0 or after < 0 or before + after == 0:
        raise DataError(f"window must be two non-negative sample counts, got {window!r}.")
    ratio = fs / _validate_fs(reference_fs)
    scaled = tuple(int(np.floor(n * ratio + 0.5)) for n in (before, after))
    if sum(scaled) < MIN_WINDOW_SAMPLES:
        raise DataError(
            f"At fs={fs:g} Hz the beat window {window} (samples at {reference_fs:g} Hz) holds "
            f"only {sum(scaled)} samples; at least {MIN_WINDOW_SAMPLES} are needed. Use a "
            "recording sampled faster or a wider window."
        )
    return scaled


def scale_beats_minmax(beats) -> np.ndarray:
    """Min-max scale each beat and lead to [-1, 1] along the last axis (BeatGAN's ``normalize``).

    A constant beat (flat line, e.g. a disconnected lead) has no range to scale and becomes
    all zeros instead of NaN.

    Parameters
    ----------
    beats : array-like of shape (..., n_samples)

    Returns
    -------
    scaled : ndarray of float32, same shape

    Examples
    --------
    >>> scale_beats_minmax([[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]]).tolist()
    [[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    beats = np.asarray(beats, dtype=np.float64)
    low = beats.min(axis=-1, keepdims=True)
    span = beats.max(axis=-1, keepdims=True) - low
    # A range at rounding-noise level is a flat beat: scaling it would amplify the noise.
    flat = span <= np.finfo(np.float32).eps * np.maximum(np.abs(low), 1.0)
    scaled = 2.0 * (beats - low) / np.where(flat, 1.0, span) - 1.0
    return np.where(flat, 0.0, scaled).astype(np.float32)


def _resample_linear(beats: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of the last axis to ``length`` points, ends kept in place.

    Linear interpolation cannot ring like an FFT resampler at the window edges; after the
    45 Hz low-pass the signal is smooth at the sample spacing, so little detail is lost.
    """
    n = beats.shape[-1]
    if n == length:
        return beats
    position = np.linspace(0.0, n - 1, length)
    left = np.minimum(position.astype(np.intp), n - 2)
    frac = position - left
    return beats[..., left] * (1.0 - frac) + beats[..., left + 1] * frac


def extract_beats(
    signal, fs, r_peaks, *, window=BEAT_WINDOW, length=BEAT_LENGTH, scale="minmax"
) -> tuple[np.ndarray, np.ndarray]:
    """Cut one window around each R peak, resample it to ``length`` and scale it.

    The window is ``window`` samples at 360 Hz scaled to ``fs`` (see
    :func:`window_samples`); windows that do not fit inside the signal are dropped. Filter
    the whole recording first (:func:`bandpass_filter`): filtering short windows would
    distort their edges.

    Parameters
    ----------
    signal : array-like of shape (n_samples,) or (n_samples, n_leads)
        Recording, usually band-pass filtered; must be finite.
    fs : float
        Sampling rate in Hz.
    r_peaks : array-like of int, shape (n_peaks,)
        Sample index of each R peak (annotation or detector output).
    window : (int, int), default=(140, 180)
        Samples before and after the peak at 360 Hz.
    length : int, default=320
        Samples per returned beat (linear interpolation when the window differs).
    scale : {"minmax", None}, default="minmax"
        ``"minmax"`` scales each beat and lead to [-1, 1]; None keeps signal units.

    Returns
    -------
    beats : ndarray of float32, shape (n_kept, n_leads, length)
    kept : ndarray of int, shape (n_kept,)
        Positions in ``r_peaks`` of the peaks whose window fits, in input order.

    Examples
    --------
    >>> import numpy as np
    >>> signal = np.sin(np.linspace(0, 60, 3600))
    >>> beats, kept = extract_beats(signal, 360, [100, 1000, 3500])
    >>> beats.shape, kept.tolist()
    ((1, 1, 320), [1])
    """
    signal, fs = check_signal(signal, fs)
    check_length_scale(length, scale)
    peaks = np.asarray(r_peaks)
    if peaks.ndim != 1 or (peaks.size and not np.issubdtype(peaks.dtype, np.integer)):
        raise DataError(
            f"r_peaks must be a 1-D array of integer sample indices, got dtype {peaks.dtype} "
            f"and shape {peaks.shape}."
        )
    peaks = peaks.astype(np.int64)
    before, after = window_samples(fs, window)
    n_samples, n_leads = signal.shape
    kept = np.flatnonzero((peaks - before >= 0) & (peaks + after <= n_samples))
    offsets = np.arange(-before, after)
    windows = signal[peaks[kept, np.newaxis] + offsets]  # (n_kept, before + after, n_leads)
    beats = _resample_linear(windows.transpose(0, 2, 1), int(length))  # (n_kept, n_leads, L)
    beats = scale_beats_minmax(beats) if scale == "minmax" else beats.astype(np.float32)
    return beats.reshape(len(kept), n_leads, int(length)), kept

"""From a recording to a Bunch of preprocessed beats, annotated or not.

The one pipeline every beat goes through, MIT-BIH or any other recording: validate the
signal, find the R peaks (reference annotations, given positions, or a QRS detector), band-
pass filter the whole recording, cut, resample and scale one window per peak, and attach the
AAMI labels when annotations are known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..exceptions import DataError
from ._cache import cache_key, file_fingerprint, load_arrays, save_arrays
from .aami import aami_class, aami_to_y, is_beat
from .detection import align_to_r_peaks, detect_r_peaks
from .preprocessing import (
    BEAT_LENGTH,
    BEAT_WINDOW,
    FILTER_BAND,
    bandpass_filter,
    check_signal,
    extract_beats,
    window_samples,
)
from .rhythm import rr_intervals
from .wfdb_io import read_record

__all__ = ["ALIGN_OPTIONS", "beats_from_record", "beats_from_signal"]

#: Where beat windows are centred: on the marks as given (None) or on the nearby R peak.
ALIGN_OPTIONS = (None, "peak")


def beats_from_signal(
    signal,
    fs,
    *,
    r_peaks=None,
    symbols=None,
    lead_names=None,
    name="signal",
    filter_band=FILTER_BAND,
    window=BEAT_WINDOW,
    length=BEAT_LENGTH,
    scale="minmax",
    detector="xqrs",
    align=None,
) -> Bunch:
    """Preprocessed beats of a recording held in memory.

    Parameters
    ----------
    signal : array-like of shape (n_samples,) or (n_samples, n_leads)
        Raw recording in physical units; NaN and infinite values are rejected.
    fs : float
        Sampling rate in Hz.
    r_peaks : array-like of int, optional
        Sample index of each beat. None detects R peaks on the first lead with
        :func:`~beatdetect.datasets.detect_r_peaks`.
    symbols : array-like of str, optional
        Annotation symbol of each entry of ``r_peaks`` (e.g. a WFDB ``.atr``). Non-beat
        annotations are dropped and beats get AAMI labels.
    lead_names : sequence of str, optional
        Name of each lead; default ``lead_0``, ``lead_1``...
    name : str, default="signal"
        Recording name, stored per beat in ``record`` and used in error messages.
    filter_band : (float, float) or None, default=(3.0, 45.0)
        Pass band of :func:`~beatdetect.datasets.bandpass_filter`; None skips filtering.
    window : (int, int), default=(140, 180)
        Samples before and after each peak at 360 Hz, scaled to ``fs``.
    length : int, default=320
        Samples per beat.
    scale : {"minmax", None}, default="minmax"
        Per-beat, per-lead scaling.
    detector : {"xqrs", "gqrs"}, default="xqrs"
        QRS detector used when ``r_peaks`` is None.
    align : {None, "peak"}, default=None
        ``"peak"`` moves the recording's beat marks, together, onto its R peaks before
        cutting: by the median distance from each mark to the largest deflection of the
        first filtered lead within 75 ms (:func:`~beatdetect.datasets.align_to_r_peaks`),
        for databases whose marks are not on the R peak as MIT-BIH's are (the QT Database's
        European ST-T records: 44 ms before it). Detected peaks are already on the R peak.

    Returns
    -------
    beats : sklearn.utils.Bunch
        ``X`` (n_beats, n_leads, length) float32; ``sample`` (R-peak index of each beat);
        ``rr`` (pre-RR, post-RR and local RR interval of each beat in seconds, from every
        beat position, :func:`~beatdetect.datasets.rr_intervals`); ``record`` (``name`` per
        beat); ``y`` (+1 normal / -1 anomalous), ``aami`` and
        ``symbol`` when ``symbols`` is given, else None; metadata ``fs``, ``lead_names``,
        ``window``, ``length``, ``r_peak_source`` (``"annotations"``, ``"given"`` or
        ``"detected"``) and ``params``.

    Raises
    ------
    DataError
        Invalid signal or parameters, or no beat whose window fits in the signal.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360.0
    >>> t = np.arange(int(10 * fs)) / fs
    >>> ecg = sum(np.exp(-((t - c) ** 2) / (2 * 0.01**2)) for c in np.arange(0.3, 10, 0.8))
    >>> peaks = np.round(np.arange(0.3, 10, 0.8) * fs).astype(int)  # 13 beats
    >>> symbols = ["N"] * 12 + ["V"]
    >>> beats = beats_from_signal(ecg, fs, r_peaks=peaks, symbols=symbols)
    >>> beats.X.shape, beats.y[-2:].tolist(), beats.r_peak_source  # first, last cut off
    ((11, 1, 320), [1, 1], 'annotations')
    """
    signal, fs = check_signal(signal, fs)
    n_leads = signal.shape[1]
    lead_names = [f"lead_{i}" for i in range(n_leads)] if lead_names is None else list(lead_names)
    if len(lead_names) != n_leads:
        raise DataError(f"{len(lead_names)} lead names given for a signal with {n_leads} leads.")
    window_samples(fs, window)  # fail on an impossible window before the filtering work
    if align not in ALIGN_OPTIONS:
        raise DataError(f"align must be one of {ALIGN_OPTIONS}, got {align!r}.")

    if r_peaks is None:
        if symbols is not None:
            raise DataError("symbols were given without r_peaks: pass both, or neither.")
        peaks = detect_r_peaks(signal, fs, method=detector)
        source = "detected"
    else:
        peaks = np.asarray(r_peaks)
        source = "given"
        if symbols is not None:
            symbols = np.asarray(symbols, dtype=str)
            if symbols.shape != peaks.shape:
                raise DataError(
                    f"{symbols.size} symbols for {peaks.size} R peaks: give one per peak."
                )
            beat_mask = is_beat(symbols)
            peaks, symbols = peaks[beat_mask], symbols[beat_mask]
            source = "annotations"

    filtered = signal if filter_band is None else bandpass_filter(signal, fs, filter_band)
    if align == "peak" and source != "detected":
        peaks = align_to_r_peaks(filtered, fs, peaks)
    X, kept = extract_beats(filtered, fs, peaks, window=window, length=length, scale=scale)
    if len(kept) == 0:
        found = "annotated" if source == "annotations" else source
        raise DataError(
            f"No beats in {name!r}: {len(peaks)} {found} beat positions, none with a "
            f"{window} window (samples at 360 Hz) inside its {signal.shape[0]} samples."
        )
    # Intervals between *all* beats, not only those whose window fits: the first and last
    # kept beats keep their true neighbours.
    rr = rr_intervals(peaks, fs)[kept] if len(peaks) > 1 else np.full((len(kept), 3), np.nan)
    symbol = aami = y = None
    if symbols is not None:
        symbol = symbols[kept]
        aami = aami_class(symbol)
        y = aami_to_y(aami)
    return Bunch(
        X=X,
        y=y,
        aami=aami,
        symbol=symbol,
        record=np.full(len(kept), name),
        sample=np.asarray(peaks, dtype=np.int64)[kept],
        rr=rr,
        fs=fs,
        lead_names=lead_names,
        window=tuple(window),
        length=int(length),
        r_peak_source=source,
        params={
            "filter_band": None if filter_band is None else tuple(filter_band),
            "window": tuple(window),
            "length": int(length),
            "scale": scale,
            "detector": detector if source == "detected" else None,
            "align": align,
        },
    )


def beats_from_record(
    path,
    *,
    leads=None,
    annotation="atr",
    filter_band=FILTER_BAND,
    window=BEAT_WINDOW,
    length=BEAT_LENGTH,
    scale="minmax",
    detector="xqrs",
    align=None,
) -> Bunch:
    """Preprocessed beats of a WFDB record, from its annotations or detected R peaks.

    This is what a command line needs to score any recording: annotated records give
    labelled beats (for evaluation), unannotated ones beats around detected R peaks.

    Parameters
    ----------
    path : str or path-like
        Record path without extension (see :func:`~beatdetect.datasets.read_record`).
    leads : str, int or sequence of str/int, optional
        Leads to use, in order; None uses every lead.
    annotation : str or None, default="atr"
        Annotation file extension used for beat positions and labels when the file exists;
        None ignores annotations and detects R peaks.
    filter_band, window, length, scale, detector, align
        As in :func:`beats_from_signal`.

    Returns
    -------
    beats : sklearn.utils.Bunch
        As returned by :func:`beats_from_signal`, with ``record`` the record name.

    Raises
    ------
    DataNotFoundError
        A file of the record is missing.
    DataError
        A file is damaged, a lead is absent, or no beat could be cut; the message names
        the record.

    Examples
    --------
    >>> beats = beats_from_record("mitdb/100", leads=["MLII"])  # doctest: +SKIP
    >>> beats.X.shape, beats.r_peak_source  # doctest: +SKIP
    ((2271, 1, 320), 'annotations')
    """
    recording = read_record(path, leads, annotation=annotation)
    annotated = recording.ann_sample is not None
    try:
        return beats_from_signal(
            recording.signal,
            recording.fs,
            r_peaks=recording.ann_sample if annotated else None,
            symbols=recording.ann_symbol if annotated else None,
            lead_names=recording.lead_names,
            name=recording.name,
            filter_band=filter_band,
            window=window,
            length=length,
            scale=scale,
            detector=detector,
            align=align,
        )
    except DataError as err:
        raise type(err)(f"Record {recording.name!r} ({recording.path}): {err}") from err


#: Files of an annotated PhysioNet record: header, signal, reference beat annotations.
RECORD_EXTENSIONS = ("hea", "dat", "atr")


def cached_record_beats(path: Path, params: dict, cache_dir: Path | None) -> dict[str, np.ndarray]:
    """X, sample, symbol and fs of one annotated record of a database, cached when possible.

    ``params`` holds the database's name (the cache's subfolder), the ``leads`` to read and
    the preprocessing (``filter_band``, ``window``, ``length``, ``scale`` and, when not
    None, ``align``); the cache key covers them and the size and time of the record's files.
    """
    cache_file = None
    if cache_dir is not None:
        files = {
            ext: file_fingerprint(path.with_name(f"{path.name}.{ext}"))
            for ext in RECORD_EXTENSIONS
        }
        key = cache_key({**params, "record": path.name, "files": files})
        cache_file = cache_dir / params["database"] / f"{path.name}-{key}.npz"
        cached = load_arrays(cache_file)
        if cached is not None:
            return cached
    beats = beats_from_record(
        path,
        leads=list(params["leads"]),
        annotation="atr",
        filter_band=params["filter_band"],
        window=params["window"],
        length=params["length"],
        scale=params["scale"],
        align=params.get("align"),
    )
    arrays = {
        "X": beats.X,
        "sample": beats.sample,
        "symbol": beats.symbol.astype("<U1"),
        "fs": np.float64(beats.fs),
    }
    if cache_file is not None:
        save_arrays(cache_file, arrays)
    return arrays


def concatenate_records(per_record, records, fs: float) -> dict[str, np.ndarray]:
    """The beats of several records as one set: ``X``, labels, record, sample and ``rr``.

    ``per_record`` holds :func:`cached_record_beats`'s arrays of each of ``records``; the RR
    intervals are computed within each record, never across two.
    """
    symbol = np.concatenate([arrays["symbol"] for arrays in per_record])
    aami = aami_class(symbol)
    record = np.concatenate([np.full(len(arrays["sample"]), name)
                             for name, arrays in zip(records, per_record)])
    sample = np.concatenate([arrays["sample"] for arrays in per_record])
    return {
        "X": np.concatenate([arrays["X"] for arrays in per_record]),
        "y": aami_to_y(aami),
        "aami": aami,
        "symbol": symbol,
        "record": record,
        "sample": sample,
        "rr": rr_intervals(sample, fs, groups=record),
    }

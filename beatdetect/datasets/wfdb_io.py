"""Reading WFDB records (header, signal, annotations) with clear errors.

wfdb reports damaged files with whatever numpy or the parser raises first (a broadcasting
``ValueError`` for a short ``.dat``, an ``IndexError`` for a cut header). This module checks
what it can before reading, and turns every failure into a
:class:`~beatdetect.exceptions.DataError` naming the record and the file.

Some damage wfdb does not notice at all, and this module checks for it after reading:

- a header whose sampling frequency is missing, not a number or not positive (wfdb falls
  back to 250 Hz without a word);
- an annotation file that does not fit its record (random bytes often parse): negative or
  decreasing positions, many unknown annotation codes, or far fewer beats than any living
  heart gives over the record (see :data:`MIN_HEART_RATE_BPM`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np

from ..exceptions import DataError, DataNotFoundError
from ._wfdb import PandasFutureWarning as _PandasFutureWarning
from ._wfdb import wfdb

__all__ = ["Recording", "read_lead_names", "read_record"]

#: Bytes per sample of the uncompressed WFDB signal formats (PhysioNet's WFDB ``signal(5)``
#: manual page). The FLAC formats 508/516/524 are absent: their size is not predictable.
BYTES_PER_SAMPLE = {
    "8": 1,
    "16": 2,
    "24": 3,
    "32": 4,
    "61": 2,
    "80": 1,
    "160": 2,
    "212": 1.5,
    "310": 4 / 3,
    "311": 4 / 3,
}
#: File name suffixes accepted in place of a bare record path.
RECORD_SUFFIXES = (".hea", ".dat", ".atr")
#: Symbols of the WFDB beat (QRS) annotation codes: those for which the WFDB library's
#: ``isqrs()`` is true (``ecgmap.h``): every beat type, paced, unclassifiable and learning.
WFDB_BEAT_SYMBOLS = frozenset("NLRaVFJASEj/QB?enfr")
#: Fewest beats per minute an annotation file must hold over its record. The slowest
#: escape rhythms run at 20-40 bpm and a sustained rate under 20 bpm does not keep a person
#: conscious; 10 bpm averaged over the record leaves room for pauses and for unannotated
#: stretches of ventricular fibrillation or noise. MIT-BIH's sparsest record averages 50 bpm
#: (record 123: 1,518 beats in 30 minutes).
MIN_HEART_RATE_BPM = 10.0
#: The heart-rate floor is only checked for records at least this long (seconds): over a
#: shorter record it would demand one or two beats, which says nothing.
MIN_DURATION_FOR_RATE_CHECK = 60.0
#: Largest fraction of annotations allowed to carry a code with no WFDB meaning (neither a
#: standard code nor a custom label defined in the file). Real files have none; random bytes
#: give about a third (20 of the 59 annotation codes a 6-bit field can hold are undefined).
MAX_UNKNOWN_CODE_FRACTION = 0.1
#: A sampling frequency field as wfdb's header parser reads it (``fs[/counter[(base)]]``).
_FS_FIELD = re.compile(r"(?P<fs>\d+\.?\d*|\.\d+)(?:/.*)?")



@dataclass(frozen=True)
class Recording:
    """One WFDB record read into memory.

    Attributes
    ----------
    name : str
        Record name (file name without extension).
    path : pathlib.Path
        Record path without extension, as wfdb expects it.
    signal : ndarray of float64, shape (n_samples, n_leads)
        Physical units (usually mV); invalid samples are NaN.
    fs : float
        Sampling rate in Hz.
    lead_names : tuple of str
        Name of each column of ``signal``.
    units : tuple of str
        Physical unit of each column.
    ann_sample : ndarray of int64 or None
        Sample index of each annotation, None when the record has no annotation file.
    ann_symbol : ndarray of str or None
        Annotation symbol (``"N"``, ``"V"``, ``"+"``...), aligned with ``ann_sample``.
    """

    name: str
    path: Path
    signal: np.ndarray
    fs: float
    lead_names: tuple[str, ...]
    units: tuple[str, ...]
    ann_sample: np.ndarray | None = None
    ann_symbol: np.ndarray | None = None


@contextlib.contextmanager
def _quiet_wfdb():
    """Silence the ``Pandas4Warning`` that wfdb's own pandas calls raise on every read.

    wfdb (4.3) calls ``DataFrame.set_index(..., inplace=True)``, deprecated in pandas 3.1,
    each time it maps annotation codes to symbols: a user can do nothing about it, and it
    buried other warnings (about a hundred per test run). Only that category, and only when
    raised from wfdb's modules, is ignored.
    """
    with warnings.catch_warnings():
        if _PandasFutureWarning is not None:
            warnings.filterwarnings("ignore", category=_PandasFutureWarning,
                                    module=r"wfdb(\.|$)")
        yield


def _record_path(path) -> Path:
    path = Path(os.fspath(path)).expanduser()
    return path.with_suffix("") if path.suffix in RECORD_SUFFIXES else path


def _sibling(path: Path, extension: str) -> Path:
    # Not with_suffix: record names such as "s0010_re" or "a.b" must keep every character.
    return path.with_name(f"{path.name}.{extension}")


def _check_signal_files(header: wfdb.Record, path: Path) -> None:
    """Fail early, naming the file, when a signal file is missing or shorter than declared."""
    if not header.sig_len or not header.file_name:
        return
    frame_bytes: dict[str, float] = {}
    offsets: dict[str, int] = {}
    for i, file_name in enumerate(header.file_name):
        per_sample = BYTES_PER_SAMPLE.get(str(header.fmt[i]))
        if per_sample is None:
            return
        spf = (header.samps_per_frame or [1] * header.n_sig)[i] or 1
        frame_bytes[file_name] = frame_bytes.get(file_name, 0.0) + per_sample * spf
        offsets[file_name] = (header.byte_offset or [None] * header.n_sig)[i] or 0
    for file_name, per_frame in frame_bytes.items():
        file_path = path.parent / file_name
        if not file_path.is_file():
            raise DataNotFoundError(
                f"Signal file {file_path} of record {path.name!r} is missing "
                f"(named in {_sibling(path, 'hea')})."
            )
        expected = offsets[file_name] + math.ceil(header.sig_len * per_frame)
        actual = file_path.stat().st_size
        if actual < expected:
            raise DataError(
                f"Signal file {file_path} is truncated: {actual} bytes, but header "
                f"{_sibling(path, 'hea')} declares {header.sig_len} samples needing {expected} "
                "bytes. Download the record again."
            )


def _select_leads(lead_names: Sequence[str], leads, path: Path) -> list[int]:
    if leads is None:
        return list(range(len(lead_names)))
    if isinstance(leads, (str, Integral)):
        leads = (leads,)
    if len(leads) == 0:
        raise DataError("leads is empty: name at least one lead, or pass leads=None for all.")
    indices = []
    for lead in leads:
        if isinstance(lead, Integral) and not isinstance(lead, bool):
            if not 0 <= lead < len(lead_names):
                raise DataError(
                    f"Record {path.name!r} ({path}) has {len(lead_names)} leads "
                    f"{list(lead_names)}; lead index {lead} is out of range."
                )
            indices.append(int(lead))
        elif isinstance(lead, str) and lead in lead_names:
            indices.append(list(lead_names).index(lead))
        else:
            raise DataError(
                f"Record {path.name!r} ({path}) has no lead {lead!r}; its leads are "
                f"{list(lead_names)}."
            )
    return indices


def _read_annotations(
    path: Path, extension: str, n_samples: int, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and symbols of an annotation file, checked against its record.

    ``n_samples`` and ``fs`` are the record's length and sampling rate.
    """
    ann_file = _sibling(path, extension)
    try:
        with _quiet_wfdb():
            ann = wfdb.rdann(str(path), extension)
    except Exception as err:  # wfdb raises ValueError, IndexError, ... on damaged files
        raise DataError(
            f"Could not read annotation file {ann_file} of record "
            f"{path.name!r}; it may be truncated or damaged: {type(err).__name__}: {err}"
        ) from err
    sample = np.asarray(ann.sample, dtype=np.int64)
    raw_symbol = list(ann.symbol) if ann.symbol is not None else []
    # wfdb gives NaN as the symbol of a code that is neither standard nor defined in the file.
    known = np.array([isinstance(s, str) and bool(s.strip()) for s in raw_symbol], dtype=bool)
    symbol = np.asarray(raw_symbol, dtype=str)
    if symbol.shape != sample.shape:
        raise DataError(
            f"Annotation file {ann_file} has {sample.size} positions but "
            f"{symbol.size} symbols."
        )
    _check_annotations(ann_file, sample, symbol, known, n_samples, fs)
    return sample, symbol


def _check_annotations(ann_file: Path, sample, symbol, known, n_samples: int, fs: float):
    """Reject an annotation file that parses but cannot describe its record.

    wfdb reads many damaged or foreign files without error (over half of random byte
    strings of a few kilobytes parse), so the content is checked against the record.
    """
    fix = (f" Download the record again, or move {ann_file.name} aside to score the record "
           "with detected beats.")
    if sample.size == 0:
        return
    before = sample < 0
    if before.any():
        raise DataError(
            f"Annotation file {ann_file} does not fit its record: {int(before.sum())} of "
            f"{sample.size} annotations lie before the signal's first sample (e.g. sample "
            f"{int(sample[before][0])}); the file is damaged or belongs to another record.{fix}"
        )
    backwards = np.flatnonzero(np.diff(sample) < 0)
    if backwards.size:
        i = int(backwards[0])
        raise DataError(
            f"Annotation file {ann_file} is damaged: its positions go backwards "
            f"({backwards.size} times, first from sample {int(sample[i])} to "
            f"{int(sample[i + 1])}), but WFDB annotations are stored in time order.{fix}"
        )
    n_unknown = int((~known).sum())
    if n_unknown > MAX_UNKNOWN_CODE_FRACTION * sample.size:
        raise DataError(
            f"Annotation file {ann_file} is damaged or not a WFDB annotation file: "
            f"{n_unknown} of {sample.size} annotations have codes with no WFDB meaning.{fix}"
        )
    beat = np.isin(symbol, list(WFDB_BEAT_SYMBOLS))
    # Annotations past the signal's end are allowed (a record cut short of its annotation
    # file, e.g. its first minutes saved with wfdb.wrsamp; no beat window is cut there), but
    # only the beats inside the signal count towards its heart rate.
    n_inside = int((beat & (sample < n_samples)).sum())
    duration = n_samples / fs
    floor = MIN_HEART_RATE_BPM * duration / 60.0
    # A file with no beat at all annotates something else (rhythm or events only, like the
    # MIT-BIH Atrial Fibrillation Database's .atr files): not a damaged beat annotation file.
    if beat.any() and duration >= MIN_DURATION_FOR_RATE_CHECK and n_inside < floor:
        raise DataError(
            f"Annotation file {ann_file} is damaged or does not belong to its record: it "
            f"marks {n_inside} beats over {duration / 60:.1f} minutes of signal, fewer than a "
            f"heart rate of {MIN_HEART_RATE_BPM:g} beats per minute would give "
            f"({math.ceil(floor)}).{fix}"
        )


def _header_sampling_frequency(header_file: Path) -> float:
    """The sampling frequency written in a header's record line, checked.

    wfdb reads a missing, non-numeric or negative frequency as WFDB's default of 250 Hz
    without a word, which silently mis-times every beat window. The WFDB specification
    does allow omitting it, but a recording's rate is never safe to guess, so this reader
    requires it. (A line that omits the frequency but gives the length, ``100 2 650000``,
    reads as 650 kHz: the fields are positional, so that cannot be told apart.)
    """
    # Read as wfdb reads it: ASCII, undecodable bytes dropped, comment lines skipped.
    text = header_file.read_bytes().decode("ascii", errors="ignore")
    lines = [line.strip() for line in text.splitlines()]
    record_line = next((line for line in lines if line and not line.startswith("#")), "")
    fields = record_line.split()
    how = ("Write the sampling frequency in Hz as the third field of the header's first "
           f"line, e.g. '{fields[0] if fields else 'name'} "
           f"{fields[1] if len(fields) > 1 else '1'} 360 ...'.")
    if len(fields) < 3:
        raise DataError(
            f"WFDB header {header_file} gives no sampling frequency (record line "
            f"{record_line!r}); wfdb would assume 250 Hz. {how}"
        )
    match = _FS_FIELD.fullmatch(fields[2])
    fs = float(match["fs"]) if match else math.nan
    if not (math.isfinite(fs) and fs > 0):
        raise DataError(
            f"WFDB header {header_file} has an invalid sampling frequency {fields[2]!r} "
            f"(record line {record_line!r}): it must be a positive number of Hz. {how}"
        )
    return fs


def _read_header(path: Path):
    header_file = _sibling(path, "hea")
    if not header_file.is_file():
        raise DataNotFoundError(
            f"No WFDB header {header_file}: record {path.name!r} is not in {path.parent}."
        )
    try:
        with _quiet_wfdb():
            header = wfdb.rdheader(str(path))
    except Exception as err:  # wfdb's header parser fails with IndexError, ValueError, ...
        raise DataError(
            f"Could not parse WFDB header {header_file}; it may be truncated or damaged: "
            f"{type(err).__name__}: {err}"
        ) from err
    if isinstance(header, wfdb.Record):
        # A header cut short still parses: it just describes fewer signals than it declares.
        names = [name for name in (header.sig_name or []) if name is not None]
        if len(names) != (header.n_sig or 0):
            raise DataError(
                f"Could not parse WFDB header {header_file}: it declares {header.n_sig} "
                f"signals but describes {len(names)}; it may be truncated or damaged."
            )
    _header_sampling_frequency(header_file)
    return header


def read_lead_names(path) -> tuple[str, ...]:
    """Lead names of a WFDB record, from its header alone (no signal is read).

    Parameters
    ----------
    path : str or path-like
        Record path without extension.

    Returns
    -------
    lead_names : tuple of str

    Examples
    --------
    >>> read_lead_names("mitdb/114")  # doctest: +SKIP
    ('V5', 'MLII')
    """
    return tuple(str(name) for name in (_read_header(_record_path(path)).sig_name or []))


def read_record(path, leads=None, *, annotation="atr") -> Recording:
    """Read a WFDB record: signal in physical units, sampling rate, leads, annotations.

    Parameters
    ----------
    path : str or path-like
        Record path without extension (``".../mitdb/100"``); a path ending in ``.hea``,
        ``.dat`` or ``.atr`` is accepted too.
    leads : str, int or sequence of str/int, optional
        Leads to return, in this order: names as in the header (``"MLII"``) or channel
        positions. None returns every lead in file order.
    annotation : str or None, default="atr"
        Extension of the annotation file to read if it exists (PhysioNet's reference beat
        annotations are ``atr``). None skips annotations.

    Returns
    -------
    recording : Recording
        ``ann_sample`` / ``ann_symbol`` are None when there is no annotation file.

    Raises
    ------
    DataNotFoundError
        The header or a signal file does not exist.
    DataError
        A file is truncated or damaged, or a requested lead is not in the record. This
        includes a header without a positive sampling frequency (wfdb would assume 250 Hz),
        and an annotation file that does not fit the record: negative or decreasing
        positions, more than 10 % unknown annotation codes, or, in records of a minute or
        more, fewer beat annotations inside the signal than 10 beats per minute would give
        (a file with no beat annotation at all, such as a rhythm-only file, is accepted, and
        so are annotations past the end of a signal cut short).

    Examples
    --------
    >>> rec = read_record("mitdb/114", leads="MLII")  # doctest: +SKIP
    >>> rec.lead_names, rec.signal.shape, rec.fs  # doctest: +SKIP
    (('MLII',), (650000, 1), 360.0)
    """
    path = _record_path(path)
    header = _read_header(path)
    if isinstance(header, wfdb.Record):
        _check_signal_files(header, path)
    try:
        with _quiet_wfdb():
            record = wfdb.rdrecord(str(path), physical=True, m2s=True)
    except FileNotFoundError as err:
        raise DataNotFoundError(
            f"A file of record {path.name!r} is missing: {err.filename or err}"
        ) from err
    except Exception as err:  # damaged signal files surface as numpy errors inside wfdb
        raise DataError(
            f"Could not read the signal of record {path.name!r} ({path}); a file may be "
            f"truncated or damaged: {type(err).__name__}: {err}"
        ) from err
    signal = record.p_signal
    lead_names = tuple(str(name) for name in (record.sig_name or []))
    if signal is None or signal.ndim != 2 or signal.shape[1] != len(lead_names):
        raise DataError(f"Record {path.name!r} ({path}) holds no readable signal.")
    if record.sig_len and signal.shape[0] != record.sig_len:
        raise DataError(
            f"Record {path.name!r} ({path}) declares {record.sig_len} samples but "
            f"{signal.shape[0]} were read; the signal file may be truncated."
        )
    if not record.fs or record.fs <= 0:
        raise DataError(f"Record {path.name!r} ({path}) has no valid sampling rate.")
    columns = _select_leads(lead_names, leads, path)
    units = tuple(str(unit) for unit in (record.units or [""] * len(lead_names)))
    ann_sample = ann_symbol = None
    if annotation is not None and _sibling(path, annotation).is_file():
        ann_sample, ann_symbol = _read_annotations(
            path, annotation, signal.shape[0], float(record.fs)
        )
    return Recording(
        name=path.name,
        path=path,
        signal=np.ascontiguousarray(signal[:, columns], dtype=np.float64),
        fs=float(record.fs),
        lead_names=tuple(lead_names[i] for i in columns),
        units=tuple(units[i] for i in columns),
        ann_sample=ann_sample,
        ann_symbol=ann_symbol,
    )

"""The MIT-BIH Arrhythmia Database as preprocessed, labelled beats (BeatGAN's setting)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path

from sklearn.utils import Bunch
from tqdm.auto import tqdm

from ..exceptions import DataError, DataNotFoundError
from ._fetch import fetch_physionet_records
from ._home import DATA_HOME_ENV, get_data_home, resolve_cache_dir
from .beats import ALIGN_OPTIONS, RECORD_EXTENSIONS, cached_record_beats, concatenate_records
from .preprocessing import (
    BEAT_LENGTH,
    BEAT_WINDOW,
    FILTER_BAND,
    PREPROCESSING_VERSION,
    check_filter_band,
    check_length_scale,
    window_samples,
)
from .wfdb_io import read_lead_names

__all__ = ["MITBIH_RECORDS", "PACED_RECORDS", "load_mitbih"]

#: PhysioNet's name of the database, also its folder in the data home.
MITBIH_DATABASE = "mitdb"
#: The 48 records of the MIT-BIH Arrhythmia Database (PhysioNet mitdb 1.0.0).
MITBIH_RECORDS = (
    "100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "111", "112",
    "113", "114", "115", "116", "117", "118", "119", "121", "122", "123", "124", "200",
    "201", "202", "203", "205", "207", "208", "209", "210", "212", "213", "214", "215",
    "217", "219", "220", "221", "222", "223", "228", "230", "231", "232", "233", "234",
)  # fmt: skip
#: Records of patients with pacemakers, excluded as AAMI EC57 recommends (and BeatGAN did).
PACED_RECORDS = ("102", "104", "107", "217")
#: Sampling rate of every MIT-BIH record, in Hz.
MITBIH_FS = 360.0
#: Reference beat annotations of PhysioNet databases.
ANNOTATOR = "atr"
#: MLII, the modified limb lead II that BeatGAN and most MIT-BIH studies use.
DEFAULT_LEADS = ("MLII",)

DESCR = """\
MIT-BIH Arrhythmia Database (PhysioNet mitdb), preprocessed after BeatGAN
--------------------------------------------------------------------------
48 half-hour two-lead ambulatory ECG recordings of 47 subjects, 360 Hz, with reference beat
annotations. Each beat: the whole record band-pass filtered (zero-phase FIR), a window of
140 samples before and 180 after the annotation (at 360 Hz), resampled to `length` samples
and min-max scaled to [-1, 1] per lead. Labels: AAMI EC57 classes (N, S, V, F, Q); y = +1
for N, -1 otherwise. Paced records 102, 104, 107 and 217 are excluded by default.

References: Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med
Biol 20(3):45-50 (2001). Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet.
Circulation 101(23):e215-e220 (2000). Zhou B et al. BeatGAN: Anomalous Rhythm Detection
using Adversarially Generated Time Series. IJCAI 2019. License: ODC-By 1.0.
"""


def _select_records(records, exclude_paced: bool) -> list[str]:
    if records is None:
        selected = list(MITBIH_RECORDS)
    else:
        if isinstance(records, (str, Integral)):
            records = [records]
        selected = list(dict.fromkeys(str(r) for r in records))  # dedupe, keep order
        unknown = [r for r in selected if r not in MITBIH_RECORDS]
        if unknown:
            raise DataError(
                f"Unknown MIT-BIH record(s) {unknown}; the records are {', '.join(MITBIH_RECORDS)}."
            )
        if not selected:
            raise DataError("records is empty: pass record names, or records=None for all.")
    if exclude_paced:
        kept = [r for r in selected if r not in PACED_RECORDS]
        if not kept:
            raise DataError(
                f"All requested records {selected} are paced records, excluded by default; "
                "pass exclude_paced=False to load them."
            )
        selected = kept
    return selected


def _check_leads(leads) -> tuple[str, ...]:
    if isinstance(leads, str):
        leads = (leads,)
    if (
        not isinstance(leads, Sequence)
        or len(leads) == 0
        or not all(isinstance(lead, str) for lead in leads)
    ):
        raise DataError(f"leads must be a non-empty sequence of lead names, got {leads!r}.")
    return tuple(leads)


def _missing_files(folder: Path, records: Sequence[str]) -> list[Path]:
    return [
        folder / f"{record}.{ext}"
        for record in records
        for ext in RECORD_EXTENSIONS
        if not (folder / f"{record}.{ext}").is_file()
    ]


def _ensure_files(folder: Path, records: list[str], download: bool, verbose: bool, *,
                  database: str = MITBIH_DATABASE, title: str = "MIT-BIH") -> None:
    """Check that every file of ``records`` is in ``folder``, downloading them if asked."""
    missing = _missing_files(folder, records)
    if missing and download:
        to_fetch = list(dict.fromkeys(path.stem for path in missing))
        fetch_physionet_records(
            database, folder, to_fetch, annotators=[ANNOTATOR], verbose=verbose
        )
        missing = _missing_files(folder, records)
        if missing:
            raise DataNotFoundError(
                f"Downloading did not produce {len(missing)} file(s) in {folder}, e.g. "
                f"{missing[0].name}."
            )
    if missing:
        shown = ", ".join(path.name for path in missing[:6])
        more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
        raise DataNotFoundError(
            f"{title} files are missing from {folder}: {shown}{more}. Either pass "
            f"download=True to fetch them from PhysioNet into {folder}, or point data_home= "
            f"(or the {DATA_HOME_ENV} environment variable) at a folder that already holds "
            f"{database}/."
        )


def _check_record_leads(folder: Path, records: list[str], leads: tuple[str, ...]) -> None:
    """Name every selected record lacking a requested lead, before any signal is read."""
    lacking = {}
    for record in records:
        names = read_lead_names(folder / record)
        if not set(leads) <= set(names):
            lacking[record] = names
    if lacking:
        listed = "; ".join(f"{r} has {', '.join(names)}" for r, names in lacking.items())
        raise DataError(
            f"Requested leads {list(leads)} are not in every selected record ({listed}). "
            "Leave those records out (records=..., or exclude_paced=True for 102 and 104) "
            "or request leads they have."
        )


def load_mitbih(
    data_home: str | os.PathLike | None = None,
    *,
    records=None,
    leads=DEFAULT_LEADS,
    exclude_paced: bool = True,
    filter_band=FILTER_BAND,
    window=BEAT_WINDOW,
    length: int = BEAT_LENGTH,
    scale="minmax",
    align=None,
    download: bool = False,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    verbose: bool = True,
) -> Bunch:
    """Load the MIT-BIH Arrhythmia Database as preprocessed beats with AAMI labels.

    Every beat annotation (AAMI classes N, S, V, F, Q; rhythm, noise and other non-beat
    annotations are ignored) becomes one beat, preprocessed after BeatGAN (Zhou et al.,
    2019): the whole record is band-pass filtered with a zero-phase FIR, a window of 140
    samples before and 180 after the annotation is cut (windows not inside the signal are
    dropped), resampled to ``length`` and min-max scaled to [-1, 1] per lead. With the
    defaults this gives 100,687 beats: N 90,081, S 2,781, V 7,008, F 802, Q 15.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder holding ``mitdb/``; default ``BEATDETECT_DATA``, then ``~/beatdetect_data``.
    records : sequence of str or int, optional
        Records to load (``["100", "101"]``); None loads all 48 (minus the paced ones).
    leads : sequence of str, default=("MLII",)
        Lead names, in output order. Record 114 stores MLII second; 102 and 104 have no
        MLII (they are paced, excluded by default). MLII alone is the default because it
        scored better than MLII + V1 for PCA, IsolationForest and SI-BeatGAN on fold 0
        (``benchmarks/leads.py``), as in BeatGAN's published runs.
    exclude_paced : bool, default=True
        Drop the paced records 102, 104, 107 and 217 (AAMI EC57 recommendation).
    filter_band : (float, float) or None, default=(3.0, 45.0)
        Pass band in Hz of the zero-phase band-pass filter; None skips filtering.
    window : (int, int), default=(140, 180)
        Samples before and after each beat annotation (BeatGAN's window at 360 Hz).
    length : int, default=320
        Samples per returned beat.
    scale : {"minmax", None}, default="minmax"
        Per-beat, per-lead scaling to [-1, 1], or None to keep millivolts.
    align : {None, "peak"}, default=None
        None cuts each window at the reference annotation, as BeatGAN and the published
        figures do; ``"peak"`` first shifts each record's annotations by their median
        distance to the largest deflection of the filtered lead within 75 ms
        (:func:`~beatdetect.datasets.align_to_r_peaks`). MIT-BIH's annotations sit within
        3 ms of it (quartiles), so this moves them by a sample or none.
    download : bool, default=False
        Fetch missing records from PhysioNet with ``wfdb.dl_database`` into
        ``<data_home>/mitdb``.
    cache : bool, default=True
        Keep preprocessed beats on disk, one ``.npz`` per record keyed by every parameter
        above and the source files, so later loads take about a second.
    cache_dir : str or path-like, optional
        Cache folder; default ``BEATDETECT_CACHE``, then ``<data_home>/beatdetect_cache``.
        A folder that is not writable falls back to ``~/.cache/beatdetect`` with a warning.
    verbose : bool, default=True
        Show progress bars while downloading and preprocessing.

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``X`` : float32 array of shape (n_beats, n_leads, length)
        - ``y`` : int array, +1 normal (AAMI N), -1 anomalous
        - ``aami`` : AAMI class of each beat (``"N"``, ``"S"``, ``"V"``, ``"F"``, ``"Q"``)
        - ``symbol`` : original annotation symbol of each beat
        - ``record`` : record name of each beat
        - ``sample`` : annotation sample index of each beat in its record
        - ``rr`` : pre-RR, post-RR and local RR interval of each beat in seconds
          (:func:`~beatdetect.datasets.rr_intervals`), for the rhythm part of the scores
        - ``fs``, ``lead_names``, ``window``, ``length``, ``records`` (loaded records),
          ``params`` (every preprocessing parameter) and ``DESCR``.

    Raises
    ------
    DataNotFoundError
        Files are missing and ``download`` is False (the message names the folder).
    DataError
        Unknown or no records, a requested lead absent from a record, damaged files or
        invalid parameters.

    Examples
    --------
    >>> data = load_mitbih("/data/physionet")  # doctest: +SKIP
    >>> data.X.shape, dict(zip(*np.unique(data.aami, return_counts=True)))  # doctest: +SKIP
    ((100687, 1, 320), {'F': 802, 'N': 90081, 'Q': 15, 'S': 2781, 'V': 7008})
    """
    selected = _select_records(records, exclude_paced)
    leads = _check_leads(leads)
    window_samples(MITBIH_FS, window)
    window = tuple(int(n) for n in window)
    if filter_band is not None:
        filter_band = check_filter_band(filter_band, MITBIH_FS)
    check_length_scale(length, scale)
    if align not in ALIGN_OPTIONS:
        raise DataError(f"align must be one of {ALIGN_OPTIONS}, got {align!r}.")

    folder = get_data_home(data_home) / MITBIH_DATABASE
    _ensure_files(folder, selected, download, verbose)
    _check_record_leads(folder, selected, leads)
    cache_root = resolve_cache_dir(cache_dir, folder.parent) if cache else None

    params = {
        "preprocessing_version": PREPROCESSING_VERSION,
        "database": MITBIH_DATABASE,
        "leads": list(leads),
        "filter_band": None if filter_band is None else list(filter_band),
        "window": list(window),
        "length": int(length),
        "scale": scale,
    }
    if align is not None:  # absent by default, so the caches of unaligned beats stay valid
        params["align"] = align
    per_record = [
        cached_record_beats(folder / record, params, cache_root)
        for record in tqdm(
            selected, desc=f"Loading {MITBIH_DATABASE}", unit="record", disable=not verbose
        )
    ]
    fs = float(per_record[0]["fs"])
    return Bunch(
        **concatenate_records(per_record, selected, fs),
        fs=fs,
        lead_names=list(leads),
        window=tuple(window),
        length=int(length),
        records=selected,
        params={**params, "exclude_paced": bool(exclude_paced)},
        DESCR=DESCR,
    )

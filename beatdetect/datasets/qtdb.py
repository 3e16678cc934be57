"""The QT Database's excerpts of other databases: a second real database to transfer to.

The QT Database (Laguna et al., 1997; PhysioNet qtdb) holds 105 fifteen-minute excerpts of
seven databases, resampled to 250 Hz, with each source database's reference beat
annotations (``.atr``) for 80 of them. Those of the MIT-BIH Arrhythmia Database overlap the
training data and those of the MIT-BIH Supraventricular Arrhythmia Database are kept for
held-out checks, so the transfer set is the other 54: the European ST-T Database (33
records, leads such as D3, V4, CM5, 44 ms between mark and R peak), the MIT-BIH ST Change
Database (6), the MIT-BIH Normal Sinus Rhythm excerpts (11) and the MIT-BIH Long-Term ECG
Database (4). Other patients, other hospitals, other leads and another sampling rate than
the MIT-BIH beats a model is trained on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral

import numpy as np
from sklearn.utils import Bunch
from tqdm.auto import tqdm

from ..exceptions import DataError
from ._home import get_data_home, resolve_cache_dir
from .beats import ALIGN_OPTIONS, cached_record_beats, concatenate_records
from .mitbih import _ensure_files
from .preprocessing import (
    BEAT_LENGTH,
    BEAT_WINDOW,
    FILTER_BAND,
    PREPROCESSING_VERSION,
    check_filter_band,
    check_length_scale,
    window_samples,
)
from .records import choose_leads
from .wfdb_io import read_lead_names

__all__ = ["QTDB_SOURCES", "QTDB_TRANSFER_RECORDS", "load_qtdb"]

#: PhysioNet's name of the database, also its folder in the data home.
QTDB_DATABASE = "qtdb"
#: Sampling rate of every QT Database record, in Hz.
QTDB_FS = 250.0
#: Source database of each QT Database record with reference beat annotations, as its
#: header's "Produced by xform from record ..." line and the QT Database's description give
#: it (PhysioNet short names). sel17152's header names its source "mqt2", as those of the
#: NSRDB excerpts sel16265 and sel16272 do.
QTDB_SOURCES = {
    **{f"sel{r}": "mitdb" for r in (100, 102, 103, 104, 114, 116, 117, 123, 213, 221, 223,
                                    230, 231, 232)},
    **{f"sel{r}": "svdb" for r in (803, 808, 811, 820, 821, 840, 847, 853, 871, 872, 873,
                                   883, 891)},
    **{f"sel{r}": "ltdb" for r in (14046, 14157, 14172, 15814)},
    **{f"sel{r}": "nsrdb" for r in (16265, 16272, 16273, 16420, 16483, 16539, 16773, 16786,
                                    16795, 17152, 17453)},
    **{f"sel{r}": "stdb" for r in (301, 302, 306, 307, 308, 310)},
    **{f"sele0{r}": "edb" for r in (104, 106, 107, 110, 111, 112, 114, 116, 121, 122, 124,
                                    126, 129, 133, 136, 166, 170, 203, 210, 211, 303, 405,
                                    406, 409, 411, 509, 603, 604, 606, 607, 609, 612, 704)},
}  # fmt: skip
#: Sources never used for transfer: MIT-BIH Arrhythmia (the training database) and the
#: MIT-BIH Supraventricular Arrhythmia Database (kept out of this project's experiments for
#: held-out checks).
EXCLUDED_SOURCES = ("mitdb", "svdb")
#: The 54 records of the transfer protocol.
QTDB_TRANSFER_RECORDS = tuple(r for r, src in QTDB_SOURCES.items() if src not in EXCLUDED_SOURCES)

DESCR = """\
QT Database (PhysioNet qtdb): excerpts of other databases, preprocessed as MIT-BIH
----------------------------------------------------------------------------------
Fifteen-minute two-lead excerpts at 250 Hz with their source database's reference beat
annotations. By default the 54 excerpts of the European ST-T (edb, 33), MIT-BIH ST Change
(stdb, 6), Normal Sinus Rhythm (nsrdb, 11) and Long-Term ECG (ltdb, 4) databases: not
MIT-BIH Arrhythmia (training) nor Supraventricular Arrhythmia (held out). One lead per
record (MLII when present, else the first), each record's marks shifted onto its R peaks
(by their median distance to them), then the
MIT-BIH pipeline: band-pass, a window of 140/360 s before and 180/360 s after, resampled to
`length` samples, min-max scaled. Labels: AAMI EC57 classes; y = +1 for N, -1 otherwise.

References: Laguna P, Mark RG, Goldberger AL, Moody GB. A Database for Evaluation of
Algorithms for Measurement of QT and Other Waveform Intervals in the ECG. Computers in
Cardiology 24:673-676 (1997). Goldberger AL et al. PhysioBank, PhysioToolkit, and
PhysioNet. Circulation 101(23):e215-e220 (2000). License: ODC-By 1.0.
"""


def _select_records(records) -> list[str]:
    if records is None:
        return list(QTDB_TRANSFER_RECORDS)
    if isinstance(records, (str, Integral)):
        records = [records]
    selected = list(dict.fromkeys(str(r) for r in records))
    unknown = [r for r in selected if r not in QTDB_SOURCES]
    if unknown or not selected:
        raise DataError(
            f"Unknown QT Database record(s) {unknown or selected}: the records with reference "
            f"beat annotations are {', '.join(QTDB_SOURCES)}."
        )
    return selected


def load_qtdb(
    data_home: str | os.PathLike | None = None,
    *,
    records=None,
    leads: Sequence[str] | None = None,
    align="peak",
    filter_band=FILTER_BAND,
    window=BEAT_WINDOW,
    length: int = BEAT_LENGTH,
    scale="minmax",
    download: bool = False,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    verbose: bool = True,
) -> Bunch:
    """Load the QT Database's annotated excerpts of other databases as preprocessed beats.

    The second real database of the benchmark's transfer protocol (train on MIT-BIH, score
    these beats). Every beat annotation becomes one beat through the same pipeline as
    :func:`~beatdetect.datasets.load_mitbih`, with one step more by default: each record's
    marks are moved together onto its R peaks (``align="peak"``), because the European ST-T
    Database marks sit about 44 ms before them.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder holding ``qtdb/``; default ``BEATDETECT_DATA``, then ``~/beatdetect_data``.
    records : sequence of str, optional
        Records to load; None loads the 54 transfer records (``QTDB_TRANSFER_RECORDS``).
        Any record of ``QTDB_SOURCES`` can be named.
    leads : sequence of str, optional
        Lead to read, by name, in records that have it (e.g. ``["MLII"]``); a record without
        it, and every record when None, gives MLII when present, else its first lead
        (:func:`~beatdetect.datasets.choose_leads`). The lead of each beat is in ``lead``.
    align : {"peak", None}, default="peak"
        Shift each record's marks by their median distance to the R peak
        (:func:`~beatdetect.datasets.align_to_r_peaks`), or cut at the marks as annotated.
    filter_band, window, length, scale
        As in :func:`~beatdetect.datasets.load_mitbih` (``window`` in samples at 360 Hz).
    download : bool, default=False
        Fetch missing records from PhysioNet into ``<data_home>/qtdb``.
    cache, cache_dir, verbose
        As in :func:`~beatdetect.datasets.load_mitbih`.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` (n_beats, 1, length) float32, ``y``, ``aami``, ``symbol``, ``record``,
        ``sample`` (the shifted mark), ``rr``, as :func:`~beatdetect.datasets.load_mitbih`
        returns them; ``source`` (source database of each beat), ``lead`` (lead name of
        each beat), ``fs``, ``window``, ``length``, ``records``, ``params``, ``DESCR``.

    Raises
    ------
    DataNotFoundError
        Files are missing and ``download`` is False (the message names the folder).
    DataError
        Unknown records, damaged files or invalid parameters.

    Examples
    --------
    >>> data = load_qtdb("/data/physionet")  # doctest: +SKIP
    >>> data.X.shape, dict(zip(*np.unique(data.aami, return_counts=True)))  # doctest: +SKIP
    ((57212, 1, 320), {'F': 9, 'N': 56785, 'S': 153, 'V': 265})
    """
    selected = _select_records(records)
    if align not in ALIGN_OPTIONS:
        raise DataError(f"align must be one of {ALIGN_OPTIONS}, got {align!r}.")
    if leads is not None and (isinstance(leads, str) or not all(
            isinstance(lead, str) for lead in leads)):
        raise DataError(f"leads must be a sequence of lead names, got {leads!r}.")
    window_samples(QTDB_FS, window)
    window = tuple(int(n) for n in window)
    if filter_band is not None:
        filter_band = check_filter_band(filter_band, QTDB_FS)
    check_length_scale(length, scale)

    folder = get_data_home(data_home) / QTDB_DATABASE
    _ensure_files(folder, selected, download, verbose, database=QTDB_DATABASE,
                  title="QT Database")
    cache_root = resolve_cache_dir(cache_dir, folder.parent) if cache else None
    params = {
        "preprocessing_version": PREPROCESSING_VERSION,
        "database": QTDB_DATABASE,
        "filter_band": None if filter_band is None else list(filter_band),
        "window": list(window),
        "length": int(length),
        "scale": scale,
        "align": align,
    }
    per_record, record_leads = [], {}
    for record in tqdm(selected, desc=f"Loading {QTDB_DATABASE}", unit="record",
                       disable=not verbose):
        available = read_lead_names(folder / record)
        wanted = [lead for lead in (leads or ()) if lead in available][:1]
        record_leads[record] = choose_leads(available, requested=wanted)[0]
        per_record.append(cached_record_beats(
            folder / record, {**params, "leads": [record_leads[record]]}, cache_root))

    def per_beat(values):
        return np.concatenate([np.full(len(arrays["sample"]), value)
                               for value, arrays in zip(values, per_record)])

    return Bunch(
        **concatenate_records(per_record, selected, QTDB_FS),
        source=per_beat([QTDB_SOURCES[r] for r in selected]),
        lead=per_beat([record_leads[r] for r in selected]),
        fs=QTDB_FS,
        window=window,
        length=int(length),
        records=selected,
        params={**params, "leads": None if leads is None else list(leads)},
        DESCR=DESCR,
    )

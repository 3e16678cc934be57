"""Training beats from a set of recordings: MIT-BIH records, or every WFDB record of a folder.

What ``beatdetect fit`` trains on, as a function Python users can call too. The beats keep
their context, the recording of each beat (``record``) and its RR intervals (``rr``),
so that a detector can be fitted with ``groups=`` and ``rr=``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .beats import beats_from_record
from .mitbih import DEFAULT_LEADS, load_mitbih
from .wfdb_io import read_lead_names

__all__ = ["choose_leads", "training_beats"]


def choose_leads(available, n_leads=1, requested=None) -> list[str]:
    """The leads to read from a record: the requested ones, else MLII, else the first ones.

    Parameters
    ----------
    available : sequence of str
        Lead names of the record (:func:`~beatdetect.datasets.read_lead_names`).
    n_leads : int, default=1
        Leads the model needs (a fitted detector's ``n_leads_``).
    requested : sequence of str, optional
        Leads asked for by the user; returned unchanged (reading the record checks them).

    Returns
    -------
    leads : list of str
        ``requested`` when given; else ``["MLII"]`` when one lead is wanted and the record
        has it (BeatGAN's lead); else the first ``n_leads`` leads.

    Raises
    ------
    ValueError
        The record has fewer than ``n_leads`` leads.

    Examples
    --------
    >>> choose_leads(["V5", "MLII"])
    ['MLII']
    >>> choose_leads(["V1", "V5"])
    ['V1']
    >>> choose_leads(["MLII", "V1"], n_leads=2)
    ['MLII', 'V1']
    """
    if requested:
        return list(requested)
    available = list(available)
    if n_leads == 1 and "MLII" in available:
        return ["MLII"]
    if len(available) < n_leads:
        raise ValueError(f"The record has leads {available}; the model needs {n_leads}.")
    return available[:n_leads]


def training_beats(*, records=None, record_dir=None, data_home=None, cache_dir=None,
                   leads=None, download=False, max_beats=None, random_state=None,
                   align="peak", verbose=True) -> Bunch:
    """Normal beats of MIT-BIH records, or of every WFDB record in a folder, with context.

    Annotated records give their normal (AAMI N) beats; unannotated ones every beat found
    by the QRS detector, taken as mostly normal. RR intervals are computed from *all* beats
    of a recording before the normal ones are kept, so a normal beat after an ectopic one
    keeps its true pre-RR interval.

    Parameters
    ----------
    records : sequence of str, optional
        MIT-BIH record names (``["100", "101"]``), read with
        :func:`~beatdetect.datasets.load_mitbih`. Give this or ``record_dir``.
    record_dir : str or path-like, optional
        Folder of WFDB records (``*.hea`` and their signal files, annotations optional).
    data_home, cache_dir : str or path-like, optional
        As in :func:`~beatdetect.datasets.load_mitbih` (``records`` only).
    leads : sequence of str, optional
        Leads to use. Default: MLII for MIT-BIH; for a folder, per record
        :func:`choose_leads` (MLII when present, else the first lead).
    download : bool, default=False
        Fetch missing MIT-BIH records from PhysioNet (``records`` only).
    max_beats : int, optional
        Keep a seeded random subsample of this many beats (in their original order).
    random_state : int, numpy Generator or None, default=None
        Seed of that subsample (:func:`numpy.random.default_rng`).
    align : {"peak", None}, default="peak"
        Shift each recording's beat marks onto its R peaks before cutting
        (:func:`~beatdetect.datasets.align_to_r_peaks`), as
        :func:`~beatdetect.record_scoring.score_record` does by default, so a model is
        trained on the windows it will score; None cuts at the marks.
    verbose : bool, default=True
        Progress bars while loading MIT-BIH.

    Returns
    -------
    beats : sklearn.utils.Bunch
        ``X`` (n_beats, n_leads, 320) float32; ``record`` (recording of each beat, the
        ``groups`` of :meth:`~beatdetect.SIBeatGANDetector.fit`); ``rr`` (n_beats, 3) RR
        intervals in seconds (its ``rr``); ``records`` (names of the recordings read, in
        order, including any whose beats the subsample left out).

    Raises
    ------
    ValueError
        Neither or both of ``records`` and ``record_dir``, or a bad ``max_beats``.
    FileNotFoundError
        ``record_dir`` is not a folder or holds no ``*.hea`` file.
    DataNotFoundError, DataError
        From the loaders: missing or damaged files, an absent lead.

    Examples
    --------
    >>> from beatdetect import SIBeatGANDetector
    >>> train = training_beats(records=["100", "101"], max_beats=2000,
    ...                        random_state=0)  # doctest: +SKIP
    >>> det = SIBeatGANDetector(max_epochs=2).fit(
    ...     train.X, groups=train.record, rr=train.rr)  # doctest: +SKIP
    """
    if (records is None) == (record_dir is None):
        raise ValueError("Give either records (MIT-BIH names) or record_dir (a folder of WFDB "
                         "records), not both or neither.")
    if max_beats is not None and (isinstance(max_beats, bool) or int(max_beats) != max_beats
                                  or max_beats < 1):
        raise ValueError(f"max_beats must be a positive integer or None, got {max_beats!r}.")
    if records is not None:
        data = load_mitbih(data_home, records=records, leads=leads or DEFAULT_LEADS,
                           cache_dir=cache_dir, download=download, align=align,
                           verbose=verbose)
        normal = data.y == 1
        X, record, rr, names = data.X[normal], data.record[normal], data.rr[normal], \
            [str(r) for r in data.records]
    else:
        X, record, rr, names = _folder_beats(Path(record_dir), leads, align)
    if max_beats is not None and max_beats < len(X):
        keep = np.sort(np.random.default_rng(random_state).choice(len(X), int(max_beats),
                                                                   replace=False))
        X, record, rr = X[keep], record[keep], rr[keep]
    return Bunch(X=X, record=record, rr=rr, records=names)


def _folder_beats(folder: Path, leads, align):
    """X, record, rr and names of the (normal) beats of every WFDB record in ``folder``."""
    if not folder.is_dir():
        raise FileNotFoundError(f"No folder {folder}.")
    headers = sorted(folder.glob("*.hea"))
    if not headers:
        raise FileNotFoundError(f"No WFDB records (*.hea files) in {folder}.")
    chunks = []
    for header in headers:
        path = header.with_suffix("")
        beats = beats_from_record(path, leads=choose_leads(read_lead_names(path),
                                                           requested=leads), align=align)
        keep = slice(None) if beats.y is None else beats.y == 1
        chunks.append((beats.X[keep], beats.record[keep], beats.rr[keep], path.name))
    X, record, rr, names = zip(*chunks)
    return np.concatenate(X), np.concatenate(record), np.concatenate(rr), list(names)

"""Score every beat of a recording with a fitted detector, in the recording's context.

What ``beatdetect score`` does, as functions Python users can call too:
:func:`score_record` reads a WFDB record, cuts its beats as the detector was trained
(leads, beat length) and scores them with :func:`score_beats`, which passes the context the
detector uses (``groups``: the recording of every beat; ``rr``: the beats' RR intervals) to
the detector's own ``score_samples`` and ``predict``. :func:`write_scores_csv` writes one
row per beat.

Scores follow the library's conventions: ``score_samples`` is higher for more normal
beats; ``anomaly_score = -score_samples`` is higher for more anomalous ones (what the
figures plot); ``flags`` are ``predict``'s +1 (normal) / -1 (anomalous).
"""

from __future__ import annotations

import csv

import numpy as np
from sklearn.utils import Bunch

__all__ = ["CSV_COLUMNS", "recording_offset", "score_beats", "score_record", "takes_context",
           "write_scores_csv"]

#: Columns of :func:`write_scores_csv`; ``aami`` only when the beats are annotated.
CSV_COLUMNS = ("time_s", "sample", "anomaly_score", "flag", "aami")


def takes_context(detector) -> bool:
    """Whether ``detector.score_samples`` takes the beats' context (``groups``, ``rr``).

    Examples
    --------
    >>> from beatdetect.baselines import make_detector
    >>> takes_context(make_detector("knn")), takes_context(make_detector("knn+context"))
    (False, True)
    """
    import inspect

    parameters = inspect.signature(detector.score_samples).parameters
    return "groups" in parameters and "rr" in parameters


def recording_offset(scores, contamination: float) -> float:
    """A threshold per recording: flags the ``contamination`` share of its lowest scores.

    Label-free: it reads the recording's own scores, no annotation. Used where the
    detector's ``offset_`` (set on its training beats) flags too many beats of a new
    recording.

    Parameters
    ----------
    scores : array-like of shape (n_beats,)
        ``score_samples`` of the recording's beats (higher = more normal).
    contamination : float in (0, 0.5]
        Share of the beats to flag.

    Returns
    -------
    offset : float
        Beats with ``score_samples < offset`` are flagged: the ``contamination``
        quantile of the scores (linear interpolation; ties may flag a few fewer).

    Examples
    --------
    >>> recording_offset(np.arange(100.0), 0.05)
    4.95
    """
    if not 0 < contamination <= 0.5:
        raise ValueError(f"contamination must be in (0, 0.5], got {contamination!r}.")
    return float(np.quantile(np.asarray(scores, dtype=np.float64), contamination))


def score_beats(beats, detector, *, signal=None, contamination=None) -> Bunch:
    """Score beats of one recording, with their context (``groups``, ``rr``) if it takes it.

    Parameters
    ----------
    beats : sklearn.utils.Bunch
        Beats of one recording, as returned by
        :func:`~beatdetect.datasets.beats_from_record` or
        :func:`~beatdetect.datasets.beats_from_signal`: ``X``, ``record`` (the recording
        name of each beat, passed as ``groups``) and ``rr`` (passed as ``rr``).
    detector : fitted beatdetect detector
        E.g. a fitted :class:`~beatdetect.context.ContextDetector` (given ``groups`` and
        ``rr``), :class:`~beatdetect.SIBeatGANDetector` or a baseline of
        :mod:`beatdetect.baselines` (given the beats alone); its ``score_samples`` and
        ``predict`` are called.
    signal : array-like of shape (n_samples,) or (n_samples, n_leads), optional
        The raw recording, kept in the result for figures
        (:func:`~beatdetect.plotting.plot_scored_record`).
    contamination : float in (0, 0.5], optional
        Flag this share of the recording's beats (the lowest scores,
        :func:`recording_offset`) instead of using the detector's ``predict``.

    Returns
    -------
    scored : sklearn.utils.Bunch
        ``beats`` (the input), ``score_samples`` (float64, higher = more normal),
        ``anomaly_score`` (``-score_samples``, higher = more anomalous), ``flags``
        (``predict``: +1 normal, -1 anomalous), ``offset`` (the detector's ``offset_``, or
        the recording's with ``contamination``: a beat is flagged where
        ``score_samples < offset``), ``name`` (the recording) and
        ``signal``.

    Examples
    --------
    >>> import numpy as np
    >>> from beatdetect import SIBeatGANDetector
    >>> from beatdetect.datasets import beats_from_signal, make_synthetic_beats
    >>> train = make_synthetic_beats(n_normal=256, n_anomalous=0, random_state=0)
    >>> det = SIBeatGANDetector(base_filters=4, max_epochs=1, random_state=0).fit(train.X)
    >>> test = make_synthetic_beats(n_normal=30, n_anomalous=3, random_state=1)
    >>> signal = test.X[:, 0, :].reshape(-1)  # beats end to end, R peak 140 samples in
    >>> peaks = 140 + 320 * np.arange(len(test.X))
    >>> beats = beats_from_signal(signal, 360.0, r_peaks=peaks, name="synthetic")
    >>> scored = score_beats(beats, det, signal=signal)
    >>> scored.anomaly_score.shape, scored.name
    ((33,), 'synthetic')
    >>> bool(np.all(scored.anomaly_score == -scored.score_samples))
    True
    """
    groups = np.asarray(beats.record)
    # A detector of beats alone takes no context (it scores the beat window only).
    context = {"groups": groups, "rr": beats.rr} if takes_context(detector) else {}
    scores = np.asarray(detector.score_samples(beats.X, **context), dtype=np.float64)
    if contamination is None:
        flags = np.asarray(detector.predict(beats.X, **context))
        offset = float(detector.offset_)
    else:
        offset = recording_offset(scores, contamination)
        flags = np.where(scores < offset, -1, 1)
    names = np.unique(groups)
    return Bunch(
        beats=beats,
        score_samples=scores,
        anomaly_score=-scores,
        flags=flags,
        offset=offset,
        name=str(names[0]) if len(names) == 1 else ", ".join(map(str, names)),
        signal=signal,
    )


def score_record(path, detector, *, leads=None, annotation="atr",
                 contamination=None, align="peak") -> Bunch:
    """Score every beat of a WFDB record (annotated or not) with a fitted detector.

    The record's beats are cut as the detector's training beats were (its number of
    leads, its beat length), from the reference annotations when the record has them,
    else around R peaks found by a QRS detector, and scored by :func:`score_beats` with
    the recording's context (``groups`` = the record's name for every beat, ``rr`` = the
    beats' RR intervals).

    Parameters
    ----------
    path : str or path-like
        Record path without extension (see :func:`~beatdetect.datasets.read_record`).
    detector : fitted beatdetect detector
        E.g. :meth:`SIBeatGANDetector.load("model.safetensors")
        <beatdetect.SIBeatGANDetector.load>`.
    leads : sequence of str, optional
        Leads to use; default :func:`~beatdetect.datasets.choose_leads` (MLII when the
        detector has one lead and the record has it, else the record's first leads).
    annotation : str or None, default="atr"
        Annotation file used for beat positions and reference labels when it exists; None
        ignores annotations.
    contamination : float in (0, 0.5], optional
        A threshold per recording (see :func:`score_beats`).
    align : {"peak", None}, default="peak"
        Shift the record's annotations by their median distance to its R peaks
        (:func:`~beatdetect.datasets.align_to_r_peaks`), or (None) cut at the annotations.
        Databases place their marks differently (the European ST-T Database 44 ms before
        the R peak); centred, BeatGAN trained on MIT-BIH ranked the QT Database's beats at
        0.89 AUC instead of 0.65 (seed 0, quick budget, ``docs/transfer.md``).

    Returns
    -------
    scored : sklearn.utils.Bunch
        As :func:`score_beats`, with ``signal`` the record's raw signal of those leads and
        ``fs`` its sampling rate. ``beats.y`` / ``beats.aami`` are the reference labels
        (None for an unannotated record).

    Raises
    ------
    DataNotFoundError, DataError
        A file of the record is missing or damaged, or a lead is absent.
    ValueError
        The record has fewer leads than the detector needs.

    Examples
    --------
    >>> from beatdetect import SIBeatGANDetector
    >>> det = SIBeatGANDetector.load("model.safetensors")  # doctest: +SKIP
    >>> scored = score_record("mitdb/119", det)  # doctest: +SKIP
    >>> scored.beats.sample[scored.flags == -1][:3]  # doctest: +SKIP
    array([ 4193, 10226, 12497])
    """
    from .datasets import beats_from_record, choose_leads, read_lead_names, read_record

    if contamination is not None:  # checked before the record is read
        recording_offset([0.0], contamination)
    chosen = choose_leads(read_lead_names(path), detector.n_leads_, leads)
    beats = beats_from_record(path, leads=chosen, annotation=annotation,
                              length=detector.beat_length_, align=align)
    recording = read_record(path, chosen, annotation=None)
    scored = score_beats(beats, detector, signal=recording.signal, contamination=contamination)
    scored.fs = recording.fs
    return scored


def write_scores_csv(path, scored) -> None:
    """One CSV row per beat: time, sample, anomaly score, flag and reference class.

    Parameters
    ----------
    path : str or path-like
        The CSV file to write.
    scored : sklearn.utils.Bunch
        From :func:`score_record` or :func:`score_beats`.

    Notes
    -----
    Columns (:data:`CSV_COLUMNS`): ``time_s`` (R peak in seconds from the start of the
    record), ``sample`` (its sample index), ``anomaly_score`` (``-score_samples``: higher =
    more anomalous, as in the figures), ``flag`` (``predict``: -1 anomalous, +1 normal) and,
    for annotated records, ``aami`` (the reference AAMI class, N S V F or Q).

    Examples
    --------
    >>> import io, numpy as np
    >>> from sklearn.utils import Bunch
    >>> beats = Bunch(sample=np.array([100, 460]), fs=360.0, aami=None)
    >>> scored = Bunch(beats=beats, anomaly_score=np.array([0.5, 3.25]),
    ...                flags=np.array([1, -1]))
    >>> out = io.StringIO()
    >>> write_scores_csv(out, scored)
    >>> print(out.getvalue(), end="")
    time_s,sample,anomaly_score,flag
    0.2778,100,0.5,1
    1.2778,460,3.25,-1
    """
    beats = scored.beats
    annotated = beats.aami is not None
    rows = zip(beats.sample, scored.anomaly_score, scored.flags,
               beats.aami if annotated else [None] * len(beats.sample))
    if hasattr(path, "write"):
        _write_rows(path, rows, beats.fs, annotated)
        return
    with open(path, "w", newline="", encoding="utf-8") as fh:
        _write_rows(fh, rows, beats.fs, annotated)


def _write_rows(fh, rows, fs, annotated: bool) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(CSV_COLUMNS if annotated else CSV_COLUMNS[:-1])
    for sample, anomaly, flag, cls in rows:
        row = [f"{sample / fs:.4f}", int(sample), f"{anomaly:.6g}", int(flag)]
        writer.writerow([*row, cls] if annotated else row)

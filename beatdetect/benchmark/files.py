"""Benchmark results as files: ``results.json``, ``results.csv``, ``results.md``, the README.

``results.json`` is the reference: everything else (``results.csv``, ``results.md``, the
README's table) is rendered from it, so a committed results file regenerates the
published table exactly (``beatdetect report results.json``). Every file the benchmark
writes goes through :func:`atomic_write`, the results journal of
:class:`~beatdetect.benchmark.ResultsStore` included.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from ..metrics import (
    anomaly_average_precision,
    anomaly_indicator,
    anomaly_roc_auc,
    per_class_scores,
)
from .rendering import (
    README_END,
    README_START,
    render_markdown,
    render_rhythm_quantile,
    render_transfer,
    section_pattern,
)
from .statistics import CLASSES

__all__ = [
    "CSV_COLUMNS",
    "READABLE_FORMATS",
    "RESULTS_FORMAT",
    "ROW_METRICS",
    "atomic_write",
    "check_row",
    "check_scores_file",
    "job_row",
    "load_results",
    "update_readme",
    "write_results",
]

#: Format tag of ``results.json``. Format 2: every row says whether its detector saw the
#: beats alone or the beats in context (``context``), and the tables are two, one per setting.
RESULTS_FORMAT = "beatdetect.benchmark/2"
#: Earlier formats still read, and rendered as they were (one table): format 1 (before the
#: context layer, whose labels such as ``knn_context`` are the old API's).
READABLE_FORMATS = ("beatdetect.benchmark/1", RESULTS_FORMAT)
#: Metrics every result row must hold, each a number (or null: not defined on the split).
ROW_METRICS = ("auc", "ap")
#: Columns of ``results.csv``, one row per job.
CSV_COLUMNS = (
    "protocol", "fold", "seed", "model", "detector", "context", "params", "auc", "ap",
    *(f"{m}_{c}" for c in CLASSES for m in ("auc", "ap", "n")),
    "fit_seconds", "score_seconds", "n_train", "n_test", "n_anomalous", "max_train",
    "n_iter", "precision", "offset", "key",
)  # fmt: skip


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (atomic).

    A reader, or a run interrupted at any moment, sees the old file or the new one, never
    a part of it. Creates the parent folder; the file gets the usual permissions (umask).

    Parameters
    ----------
    path : path-like
    data : bytes
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_row(row, where: str) -> list[str]:
    """Check one result row (of the journal or of ``results.json``); the metrics it lacks.

    The one validator of result rows: the benchmark's resume, ``beatdetect report`` and
    the README sections all read rows through it, so a damaged row is named, never averaged
    over or silently left out.

    Parameters
    ----------
    row : object
        A decoded JSON row.
    where : str
        Where it was read, quoted in errors (``"results.jsonl line 3"``).

    Returns
    -------
    missing : list of str
        Metrics of :data:`ROW_METRICS` the row does not have (the caller reruns the job, or
        refuses the file).

    Raises
    ------
    DataError
        The row is not an object with a ``key``, ``protocol`` and ``model``, or one of its
        metrics (or timings, counts) is not a number.

    Examples
    --------
    >>> check_row({"key": "k", "protocol": "intra", "model": "knn", "auc": 0.9}, "row 1")
    ['ap']
    >>> check_row({"key": "k", "protocol": "intra", "model": "knn", "auc": "high", "ap": 1},
    ...           "results.jsonl line 2")
    Traceback (most recent call last):
    ...
    beatdetect.exceptions.DataError: results.jsonl line 2: metric 'auc' is 'high', not a number.
    """
    from ..exceptions import DataError

    if not isinstance(row, dict) or not isinstance(row.get("key"), str):
        raise DataError(f"{where}: not a result row (a JSON object with a 'key').")
    for name in ("protocol", "model"):
        if not isinstance(row.get(name), str):
            raise DataError(f"{where}: not a result row (its {name!r} is not a string).")
    numeric = (*ROW_METRICS, *(f"{m}_{c}" for m in ("auc", "ap") for c in CLASSES),
               "fit_seconds", "score_seconds", "n_train", "n_test")
    for name in numeric:
        value = row.get(name)
        if value is not None and not _is_number(value):
            kind = "metric" if name.startswith(("auc", "ap")) else "field"
            raise DataError(f"{where}: {kind} {name!r} is {value!r}, not a number.")
    return [name for name in ROW_METRICS if name not in row]


def check_scores_file(path, n_test=None, where: str = ""):
    """Read a job's ``scores/<key>.npz``, checked: ``(scores, labels)``.

    Parameters
    ----------
    path : path-like
    n_test : int, optional
        Test beats of the job (its row's ``n_test``): the arrays must have this length.
    where : str
        The journal line of the job, quoted in errors.

    Returns
    -------
    scores : ndarray of float64
    labels : ndarray of str

    Raises
    ------
    DataError
        The file is truncated, damaged or holds arrays of the wrong shape; the message names
        it and says how to rerun the job.
    """
    import zipfile

    from ..exceptions import DataError

    path = Path(path)
    rerun = (f" Delete it and the job's journal line{' (' + where + ')' if where else ''} "
             "to run the job again.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            scores, labels = np.asarray(npz["scores"]), np.asarray(npz["labels"])
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise DataError(f"The scores file {path} is damaged ({type(err).__name__}: "
                        f"{err}).{rerun}") from err
    if scores.ndim != 1 or scores.dtype.kind != "f" or labels.shape != scores.shape:
        raise DataError(f"The scores file {path} does not hold one score and one label per "
                        f"beat (scores {scores.shape} {scores.dtype}, labels "
                        f"{labels.shape}).{rerun}")
    if n_test is not None and len(scores) != n_test:
        raise DataError(f"The scores file {path} holds {len(scores)} scores, its row says "
                        f"n_test = {n_test}.{rerun}")
    return scores, labels


def _clean(value):
    """JSON-safe value: NaN becomes None, numpy scalars become Python numbers."""
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _is_context(detector: str) -> bool:
    from ..baselines.registry import is_context_detector  # late: the registry imports torch

    return is_context_detector(detector)


def job_row(job, result: dict, labels) -> dict:
    """The results row of a finished job: its metrics against the test labels.

    Parameters
    ----------
    job : Job
    result : dict
        Output of :func:`~beatdetect.benchmark.jobs.fit_and_score`.
    labels : array-like of shape (n_test,)
        AAMI classes (or +1 / -1) of the test beats.
    """
    labels = np.asarray(labels)
    scores = result["scores"]
    per_class = per_class_scores(labels, scores) if labels.dtype.kind in "USO" else {}
    row = {
        "key": job.key, "protocol": job.protocol, "fold": job.fold, "seed": job.seed,
        "model": job.model, "detector": job.detector, "context": _is_context(job.detector),
        "params": job.params, "max_train": job.max_train,
        "auc": anomaly_roc_auc(labels, scores), "ap": anomaly_average_precision(labels, scores),
    }
    for cls in CLASSES:
        found = per_class.get(cls, {})
        row[f"auc_{cls}"] = found.get("auc")
        row[f"ap_{cls}"] = found.get("ap")
        row[f"n_{cls}"] = found.get("n", 0)
    row.update({
        "fit_seconds": result["fit_seconds"], "score_seconds": result["score_seconds"],
        "n_train": result["n_train"], "n_test": result["n_test"],
        "n_anomalous": int(anomaly_indicator(labels).sum()),
        "n_iter": result.get("n_iter"), "precision": result.get("precision"),
        "offset": result.get("offset"), "resumed_epochs": result.get("resumed_epochs"),
    })
    row = {k: _clean(v) for k, v in row.items()}
    if result.get("history") is not None:  # per-epoch losses: JSON only, not the CSV
        row["history"] = [{k: _clean(v) for k, v in epoch.items()}
                          for epoch in result["history"]]
    return row


def write_results(out_dir, rows: list[dict], meta: dict) -> dict[str, Path]:
    """Write ``results.json``, ``results.csv`` and ``results.md`` into ``out_dir``.

    Returns
    -------
    paths : dict of str to Path
    """
    out_dir = Path(out_dir)
    results = {"format": RESULTS_FORMAT, "meta": meta, "rows": rows}
    paths = {"json": out_dir / "results.json", "csv": out_dir / "results.csv",
             "markdown": out_dir / "results.md"}
    atomic_write(paths["json"], (json.dumps(results, indent=1) + "\n").encode("utf-8"))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "params": json.dumps(row.get("params", {}), sort_keys=True)})
    atomic_write(paths["csv"], buffer.getvalue().encode("utf-8"))
    atomic_write(paths["markdown"], render_markdown(results).encode("utf-8"))
    return paths


def load_results(path) -> dict:
    """Read a ``results.json`` (or the output folder that holds one).

    Returns
    -------
    results : dict
        ``{"format", "meta", "rows"}``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"No results file at {path}.")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}.") from err
    if not isinstance(results, dict) or results.get("format") not in READABLE_FORMATS:
        raise ValueError(
            f"{path} is not a beatdetect benchmark results file (expected format "
            f"{RESULTS_FORMAT!r}); pass the results.json written by `beatdetect benchmark`."
        )
    from ..exceptions import DataError

    rows = results.get("rows")
    if not isinstance(rows, list):
        raise DataError(f"{path}: 'rows' is not a list of result rows.")
    for number, row in enumerate(rows, start=1):
        missing = check_row(row, f"{path} row {number}")
        if missing:
            raise DataError(f"{path} row {number} ({row.get('model')}, {row.get('protocol')}) "
                            f"has no {', '.join(missing)}: the tables would average over "
                            "fewer runs than they count. Rerun the benchmark into its folder "
                            "to redo that job.")
    return results


#: Kinds of generated sections and how each renders its file: benchmark results tables,
#: and the tables of the transfer and rhythm-quantile studies (``benchmarks/``).
SECTION_KINDS = ("results", "transfer", "rhythm")


def _render_section(kind: str, path: Path, baseline, per_class=False) -> str:
    if kind == "results":
        return render_markdown(load_results(path), baseline, per_class)
    if not path.is_file():
        raise FileNotFoundError(f"No results file at {path}.")
    data = json.loads(path.read_text(encoding="utf-8"))
    return render_transfer(data) if kind == "transfer" else render_rhythm_quantile(data)


def update_readme(readme, results_path=None, *, baseline=None, check: bool = False,
                  per_class: bool | None = None) -> bool:
    """Replace every generated section of a Markdown file with tables of its results file.

    A section is ``<!-- KIND:start [PATH] [baseline=LABEL[,LABEL...]] [per-class] -->`` ...
    ``<!-- KIND:end -->``, KIND one of :data:`SECTION_KINDS`: ``results`` (a benchmark's
    ``results.json``, rendered by :func:`~beatdetect.benchmark.render_markdown`),
    ``transfer`` and ``rhythm`` (the JSON of ``benchmarks/transfer.py`` and
    ``benchmarks/rhythm_quantile.py``). PATH (relative to the file) names the results file
    and the LABELs the baselines of the paired differences; ``per-class`` adds their AAMI
    classes' paired differences. A file may hold several
    sections. Works for the README and for documentation pages.

    Parameters
    ----------
    readme : path-like
    results_path : path-like, optional
        Results file of the ``results`` sections whose marker names none.
    baseline : str or list of str, optional
        Baselines of the ``results`` sections, instead of their marker's (see
        :func:`~beatdetect.benchmark.render_markdown`).
    check : bool, default=False
        Only report whether a section is stale; write nothing.
    per_class : bool, optional
        Per-class paired differences in the ``results`` sections, instead of their
        marker's ``per-class``.

    Returns
    -------
    changed : bool
        Whether any section differed from its rendered tables.
    """
    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    edits = []  # (start, end, body) of each section, in the text's coordinates
    for kind in SECTION_KINDS:
        for match in section_pattern(kind).finditer(text):
            path = match.group("path")
            if path is None and kind == "results" and results_path is not None:
                path = Path(results_path)
            elif path is None:
                raise ValueError(f"Name the results file in the start marker of the {kind} "
                                 f"section of {readme}, or as an argument.")
            else:
                path = readme.parent / path
            labels = (baseline or match.group("baseline")) if kind == "results" else None
            classes = per_class if per_class is not None else bool(match.group("per_class"))
            body = "\n" + _render_section(kind, path, labels, classes) + "\n"
            if match.group("body") != body:
                edits.append((match.start("body"), match.end("body"), body))
    if not edits and not any(section_pattern(k).search(text) for k in SECTION_KINDS):
        raise ValueError(
            f"{readme} has no results section: add the lines '{README_START} "
            f"results/quick/results.json -->' and '{README_END}' where the table goes."
        )
    if edits and not check:
        for start, end, body in sorted(edits, reverse=True):
            text = text[:start] + body + text[end:]
        atomic_write(readme, text.encode("utf-8"))
    return bool(edits)

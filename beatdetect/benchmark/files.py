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
    "RESULTS_FORMAT",
    "atomic_write",
    "job_row",
    "load_results",
    "update_readme",
    "write_results",
]

#: Format tag of ``results.json``.
RESULTS_FORMAT = "beatdetect.benchmark/1"
#: Columns of ``results.csv``, one row per job.
CSV_COLUMNS = (
    "protocol", "fold", "seed", "model", "detector", "params", "auc", "ap",
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


def _clean(value):
    """JSON-safe value: NaN becomes None, numpy scalars become Python numbers."""
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


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
        "model": job.model, "detector": job.detector, "params": job.params,
        "max_train": job.max_train,
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
        "offset": result.get("offset"),
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
    if not isinstance(results, dict) or results.get("format") != RESULTS_FORMAT:
        raise ValueError(
            f"{path} is not a beatdetect benchmark results file (expected format "
            f"{RESULTS_FORMAT!r}); pass the results.json written by `beatdetect benchmark`."
        )
    return results


#: Kinds of generated sections and how each renders its file: benchmark results tables,
#: and the tables of the transfer and rhythm-quantile studies (``benchmarks/``).
SECTION_KINDS = ("results", "transfer", "rhythm")


def _render_section(kind: str, path: Path, baseline) -> str:
    if kind == "results":
        return render_markdown(load_results(path), baseline)
    if not path.is_file():
        raise FileNotFoundError(f"No results file at {path}.")
    data = json.loads(path.read_text(encoding="utf-8"))
    return render_transfer(data) if kind == "transfer" else render_rhythm_quantile(data)


def update_readme(readme, results_path=None, *, baseline=None, check: bool = False) -> bool:
    """Replace every generated section of a Markdown file with tables of its results file.

    A section is ``<!-- KIND:start [PATH] [baseline=LABEL[,LABEL...]] -->`` ...
    ``<!-- KIND:end -->``, KIND one of :data:`SECTION_KINDS`: ``results`` (a benchmark's
    ``results.json``, rendered by :func:`~beatdetect.benchmark.render_markdown`),
    ``transfer`` and ``rhythm`` (the JSON of ``benchmarks/transfer.py`` and
    ``benchmarks/rhythm_quantile.py``). PATH (relative to the file) names the results file
    and the LABELs the baselines of the paired differences. A file may hold several
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
            body = "\n" + _render_section(kind, path, labels) + "\n"
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
        readme.write_text(text, encoding="utf-8")
    return bool(edits)

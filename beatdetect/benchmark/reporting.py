"""Benchmark results as files: JSON, CSV, a Markdown table, PNG figures, the README section.

``results.json`` is the reference: everything else (``results.csv``, ``results.md``, the
README's table) is rendered from it, so a committed results file regenerates the
published table exactly (``beatdetect report results.json``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np

from ..metrics import anomaly_average_precision, anomaly_roc_auc, per_class_scores

__all__ = [
    "CSV_COLUMNS",
    "README_END",
    "README_START",
    "describe_budget",
    "job_row",
    "load_results",
    "pair_with_baseline",
    "paired_differences",
    "render_markdown",
    "summarize",
    "update_readme",
    "write_plots",
    "write_results",
]

#: Format tag of ``results.json``.
RESULTS_FORMAT = "beatdetect.benchmark/1"
#: Anomalous AAMI classes reported one by one.
CLASSES = ("S", "V", "F", "Q")
#: Columns of ``results.csv``, one row per job.
CSV_COLUMNS = (
    "protocol", "fold", "seed", "model", "detector", "params", "auc", "ap",
    *(f"{m}_{c}" for c in CLASSES for m in ("auc", "ap", "n")),
    "fit_seconds", "score_seconds", "n_train", "n_test", "n_anomalous", "max_train",
    "n_iter", "precision", "offset", "key",
)  # fmt: skip
#: Markers of the generated section of the README.
README_START, README_END = "<!-- results:start", "<!-- results:end -->"
_README_SECTION = re.compile(
    r"(?P<start><!-- results:start(?:\s+(?!baseline=)(?P<path>[^\s>]+))?"
    r"(?:\s+baseline=(?P<baseline>[^\s>]+))?\s*-->)(?P<body>.*?)"
    r"(?P<end><!-- results:end -->)", re.DOTALL)


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
    from ..metrics import anomaly_indicator

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
    from .jobs import _atomic_write

    out_dir = Path(out_dir)
    results = {"format": RESULTS_FORMAT, "meta": meta, "rows": rows}
    paths = {"json": out_dir / "results.json", "csv": out_dir / "results.csv",
             "markdown": out_dir / "results.md"}
    _atomic_write(paths["json"], (json.dumps(results, indent=1) + "\n").encode("utf-8"))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "params": json.dumps(row.get("params", {}), sort_keys=True)})
    _atomic_write(paths["csv"], buffer.getvalue().encode("utf-8"))
    _atomic_write(paths["markdown"], render_markdown(results).encode("utf-8"))
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


def _stats(values) -> tuple[float, float, int] | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std()), len(arr)


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation (over folds and seeds) per protocol and model.

    Returns
    -------
    groups : list of dict
        In order of first appearance: ``protocol``, ``model``, ``runs`` and, for each
        metric (``auc``, ``ap``, ``auc_S``..., ``fit_seconds``, ``score_ms_per_beat``,
        ``n_train``, ``n_test``), a ``(mean, std, n)`` tuple or None.
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["protocol"], row["model"]), []).append(row)
    metrics = ("auc", "ap", *(f"{m}_{c}" for m in ("auc", "ap") for c in CLASSES),
               "fit_seconds", "n_train", "n_test")
    out = []
    for (protocol, model), members in groups.items():
        summary = {"protocol": protocol, "model": model, "runs": len(members)}
        for metric in metrics:
            summary[metric] = _stats(r.get(metric) for r in members)
        summary["score_ms_per_beat"] = _stats(
            1000.0 * r["score_seconds"] / r["n_test"] for r in members if r.get("n_test"))
        out.append(summary)
    return out


def pair_with_baseline(rows: list[dict], baseline: str) -> dict[tuple, list[tuple[dict, dict]]]:
    """Each run of another model matched with the baseline's run of its protocol, fold, seed.

    Parameters
    ----------
    rows : list of dict
        Result rows (``results["rows"]``).
    baseline : str
        Model label the others are compared with.

    Returns
    -------
    pairs : dict
        ``{(protocol, model): [(row, baseline_row), ...]}`` in the order of ``rows``; runs
        without a baseline run are left out.

    Examples
    --------
    >>> rows = [{"protocol": "intra", "fold": 0, "seed": s, "model": m}
    ...         for s, m in [(0, "gan"), (0, "si"), (1, "si")]]
    >>> [(k, len(v)) for k, v in pair_with_baseline(rows, "gan").items()]
    [(('intra', 'si'), 1)]
    """
    def key(row):
        return row["protocol"], row.get("fold"), row.get("seed")

    reference = {key(r): r for r in rows if r["model"] == baseline}
    if not reference:
        models = sorted({r["model"] for r in rows})
        raise ValueError(f"No run of baseline {baseline!r}; the models are {models}.")
    groups: dict[tuple, list[tuple[dict, dict]]] = {}
    for row in rows:
        if row["model"] != baseline and key(row) in reference:
            groups.setdefault((row["protocol"], row["model"]), []).append(
                (row, reference[key(row)]))
    return groups


def paired_differences(rows: list[dict], baseline: str) -> list[dict]:
    """Each model minus ``baseline`` on the same protocol, fold and seed.

    Runs of the same fold and seed share the training subsample and the test beats, so the
    per-run difference removes the variance the split and the seed cause in both.

    Parameters
    ----------
    rows : list of dict
        Result rows (``results["rows"]``).
    baseline : str
        Model label the others are compared with.

    Returns
    -------
    differences : list of dict
        Per protocol and model other than the baseline: ``pairs`` (runs matched with a
        baseline run), ``auc`` and ``ap`` as ``(mean, std, n)`` of the differences, and
        ``auc_wins`` (pairs where the model's AUC is higher).

    Examples
    --------
    >>> rows = [{"protocol": "intra", "fold": 0, "seed": s, "model": m, "auc": a, "ap": a}
    ...         for s, m, a in [(0, "gan", 0.90), (0, "si", 0.92), (1, "gan", 0.91),
    ...                         (1, "si", 0.90)]]
    >>> d = paired_differences(rows, "gan")[0]
    >>> d["model"], d["pairs"], round(d["auc"][0], 3), d["auc_wins"]
    ('si', 2, 0.005, 1)
    """
    out = []
    for (protocol, model), pairs in pair_with_baseline(rows, baseline).items():
        diff = {m: _stats(r[m] - b[m] for r, b in pairs
                          if r.get(m) is not None and b.get(m) is not None)
                for m in ("auc", "ap")}
        out.append({"protocol": protocol, "model": model, "pairs": len(pairs), **diff,
                    "auc_wins": sum(r["auc"] > b["auc"] for r, b in pairs)})
    return out


def _fmt(stat, digits=4) -> str:
    if stat is None:
        return "–"
    mean, std, n = stat
    return f"{mean:.{digits}f}" if n == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def describe_budget(preset: dict) -> str:
    """One sentence on what a benchmark run covers, from its preset's fields.

    Parameters
    ----------
    preset : dict
        :meth:`Preset.to_dict` of the run's preset, overrides included.

    Returns
    -------
    str

    Examples
    --------
    >>> from beatdetect.benchmark import get_preset
    >>> describe_budget(get_preset("quick", seeds=[0, 1]).to_dict())
    'Preset `quick`: intra-patient (BeatGAN, 5-fold); fold 0 of 5; seeds 0, 1; a seeded \
subsample of 3,000 normal training beats; 4 epochs (batch 64) for the neural detectors.'
    """
    protocols = {"intra": "intra-patient (BeatGAN, 5-fold)", "inter": "inter-patient (DS1 → DS2)"}
    parts = [", ".join(protocols.get(p, p) for p in preset.get("protocols", []))]
    if "intra" in preset.get("protocols", []):
        folds = preset.get("folds", [])
        parts.append(f"fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))} of "
                     f"{preset.get('n_folds', 5)}")
    seeds = preset.get("seeds", [])
    parts.append(f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}")
    max_train = preset.get("max_train")
    parts.append("all normal training beats" if max_train is None
                 else f"a seeded subsample of {max_train:,} normal training beats")
    if preset.get("epochs") is not None:
        batch = preset.get("batch_size")
        parts.append(f"{preset['epochs']} epochs" + (f" (batch {batch})" if batch else "")
                     + " for the neural detectors")
    return f"Preset `{preset.get('name', '?')}`: " + "; ".join(parts) + "."


def _budget_line(meta: dict) -> str:
    line = describe_budget(meta.get("preset", {}))
    data = meta.get("data", {})
    if data.get("n_beats"):
        n_records = len(data.get("records", []))
        line += (f" Data: {data.get('name', 'MIT-BIH')}, {n_records} "
                 f"record{'s' if n_records != 1 else ''}, {data['n_beats']:,} beats.")
    env = meta.get("environment", {})
    if meta.get("wall_seconds") is not None:
        n_jobs = meta.get("n_jobs") or 1
        cpu = f"{env['cpu']}; " if env.get("cpu") and env["cpu"] != "x86_64" else ""
        where = ("a Dask cluster" if meta.get("scheduler") else
                 f"{env.get('cpu_count', '?')} CPU cores ({cpu}{n_jobs} job "
                 f"process{'es' if n_jobs != 1 else ''})")
        n_sessions = len(meta.get("sessions", [])) or 1
        over = f" over {n_sessions} sessions (resumed)" if n_sessions > 1 else ""
        line += (f" Wall time {meta['wall_seconds'] / 60:.1f} min{over} on {where}, "
                 f"{env.get('threads_per_job', 1)} thread per job.")
    return line


def _precision_note(rows: list[dict]) -> str:
    """Which arithmetic each neural detector trained in, from the rows that record it."""
    by_model: dict[str, set] = {}
    for row in rows:
        if row.get("precision"):
            by_model.setdefault(row["model"], set()).add(row["precision"])
    if not by_model:
        return ""
    if len({p for found in by_model.values() for p in found}) == 1:
        (precision,) = next(iter(by_model.values()))
        return f" Training arithmetic: {precision}."
    return " Training arithmetic: " + ", ".join(
        f"{model} {'/'.join(sorted(found))}" for model, found in by_model.items()) + "."


def render_markdown(results: dict, baseline: str | None = None) -> str:
    """The Markdown tables of a results file (what the README shows).

    Mean ± standard deviation over folds and seeds (population standard deviation; a
    single run shows its value alone). AUC and AP take the anomaly class as positive;
    per-class columns compare each AAMI class with the normal test beats. Fit time
    includes computing the detector's threshold on the training beats.

    Parameters
    ----------
    results : dict
        As returned by :func:`load_results`.
    baseline : str, optional
        Model label; adds a table of each other model's paired differences from it
        (:func:`paired_differences`).

    Returns
    -------
    markdown : str
    """
    meta = results.get("meta", {})
    groups = summarize(results.get("rows", []))
    lines = [_budget_line(meta) + _precision_note(results.get("rows", [])), ""]
    lines.append("| protocol | model | runs | AUC | AP | fit (s) | score (ms/beat) "
                 "| train beats | test beats |")
    lines.append("| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for g in groups:
        fit = g["fit_seconds"][0] if g["fit_seconds"] else float("nan")
        ms = g["score_ms_per_beat"][0] if g["score_ms_per_beat"] else float("nan")
        lines.append(
            f"| {g['protocol']} | {g['model']} | {g['runs']} | {_fmt(g['auc'])} | "
            f"{_fmt(g['ap'])} | {fit:.1f} | {ms:.3f} | {g['n_train'][0]:,.0f} | "
            f"{g['n_test'][0]:,.0f} |"
        )
    lines += ["", "Per AAMI class (each anomalous class against the normal test beats):", ""]
    lines.append("| protocol | model | " + " | ".join(f"AUC {c}" for c in CLASSES) + " | "
                 + " | ".join(f"AP {c}" for c in CLASSES) + " |")
    lines.append("| --- | --- |" + " --- |" * (2 * len(CLASSES)))
    for g in groups:
        cells = [_fmt(g[f"{m}_{c}"]) for m in ("auc", "ap") for c in CLASSES]
        lines.append(f"| {g['protocol']} | {g['model']} | " + " | ".join(cells) + " |")
    if baseline is not None:
        lines += ["", f"Paired differences from `{baseline}` (same protocol, fold and seed; "
                  "mean ± standard deviation over the pairs):", ""]
        lines.append("| protocol | model | pairs | ΔAUC | ΔAP | AUC higher in |")
        lines.append("| --- | --- | ---: | --- | --- | ---: |")
        for d in paired_differences(results.get("rows", []), baseline):
            lines.append(f"| {d['protocol']} | {d['model']} | {d['pairs']} | "
                         f"{_signed(d['auc'])} | {_signed(d['ap'])} | "
                         f"{d['auc_wins']} of {d['pairs']} |")
    return "\n".join(lines) + "\n"


def _signed(stat, digits=4) -> str:
    if stat is None:
        return "–"
    mean, std, n = stat
    return f"{mean:+.{digits}f}" if n == 1 else f"{mean:+.{digits}f} ± {std:.{digits}f}"


def readme_section(readme_text: str):
    """``(match, results_path)`` of the generated section, or None without markers.

    The start marker may name the results file and a baseline for paired differences:
    ``<!-- results:start results/x/results.json baseline=beatgan -->``.
    """
    match = _README_SECTION.search(readme_text)
    if match is None:
        return None
    return match, match.group("path")


def update_readme(readme, results_path=None, *, baseline: str | None = None,
                  check: bool = False) -> bool:
    """Replace the section between the results markers of a Markdown file with the tables.

    The section is ``<!-- results:start [PATH] [baseline=LABEL] -->`` ...
    ``<!-- results:end -->``; PATH (relative to the file) names the results file when
    ``results_path`` is None, and LABEL the baseline of the paired differences when
    ``baseline`` is None. Works for the README and for documentation pages.

    Parameters
    ----------
    readme : path-like
    results_path : path-like, optional
    baseline : str, optional
        See :func:`render_markdown`.
    check : bool, default=False
        Only report whether the section is stale; write nothing.

    Returns
    -------
    changed : bool
        Whether the section differed from the rendered table.
    """
    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    found = readme_section(text)
    if found is None:
        raise ValueError(
            f"{readme} has no results section: add the lines '{README_START} "
            f"results/quick/results.json -->' and '{README_END}' where the table goes."
        )
    match, marker_path = found
    if results_path is None:
        if marker_path is None:
            raise ValueError(f"Name the results file: in the start marker of {readme} or as "
                             "an argument.")
        results_path = readme.parent / marker_path
    baseline = baseline or match.group("baseline")
    body = "\n" + render_markdown(load_results(results_path), baseline) + "\n"
    changed = match.group("body") != body
    if changed and not check:
        new = text[:match.start("body")] + body + text[match.end("body"):]
        readme.write_text(new, encoding="utf-8")
    return changed


def write_plots(out_dir, rows: list[dict], store) -> list[Path]:
    """ROC / PR curves per (protocol, fold, seed) and a score histogram per job, as PNG.

    Parameters
    ----------
    out_dir : path-like
    rows : list of dict
    store : ResultsStore
        Where the jobs' scores are.

    Returns
    -------
    paths : list of Path
    """
    from matplotlib.figure import Figure

    from ..plotting import plot_roc_pr, plot_score_histogram

    out_dir = Path(out_dir)
    paths = []
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["protocol"], row["fold"], row["seed"]), []).append(row)
    for (protocol, fold, seed), members in groups.items():
        tag = f"{protocol}_fold{fold}_seed{seed}"
        by_model, labels = {}, None
        for row in members:
            loaded = store.load_scores(row["key"])
            if loaded is None:
                continue
            scores, labels = loaded
            by_model[row["model"]] = scores
            fig = plot_score_histogram(
                scores, labels, offset=row.get("offset"),
                title=f"{row['model']} — {protocol} fold {fold} seed {seed}",
                fig=Figure(figsize=(6.4, 4.0), layout="constrained"))
            path = out_dir / f"hist_{tag}_{row['model']}.png"
            fig.savefig(path, dpi=100)
            paths.append(path)
        if by_model:
            fig = plot_roc_pr(labels, by_model, fig=Figure(figsize=(10, 4.2),
                                                            layout="constrained"))
            fig.suptitle(f"{protocol} fold {fold} seed {seed}")
            path = out_dir / f"roc_pr_{tag}.png"
            fig.savefig(path, dpi=100)
            paths.append(path)
    return paths

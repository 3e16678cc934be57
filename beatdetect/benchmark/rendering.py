"""Benchmark results as Markdown: the header line, the tables, the README section's markers.

Text in, text out: nothing here reads or writes a file (:mod:`beatdetect.benchmark.files`
does, with these functions). The numbers come from :mod:`beatdetect.benchmark.statistics`.
"""

from __future__ import annotations

import re

import numpy as np

from .statistics import CLASSES, paired_differences, summarize

__all__ = [
    "README_END",
    "PUBLISHED",
    "README_START",
    "SETTINGS",
    "baseline_labels",
    "describe_budget",
    "readme_section",
    "render_markdown",
    "render_rhythm_quantile",
    "render_transfer",
    "section_pattern",
]

#: Start of the generated section of a Markdown file: ``<!-- results:start [PATH]
#: [baseline=LABEL[,LABEL...]] -->`` (see :func:`readme_section`).
README_START = "<!-- results:start"
#: End of the generated section.
README_END = "<!-- results:end -->"


def section_pattern(kind: str = "results") -> re.Pattern:
    """Regex of a generated section: ``<!-- KIND:start [PATH] [baseline=L[,L...]]
    [per-class] -->`` ... ``<!-- KIND:end -->``, with groups ``path``, ``baseline``,
    ``per_class`` and ``body``."""
    kind = re.escape(kind)
    return re.compile(
        rf"(?P<start><!-- {kind}:start(?:\s+(?!baseline=|per-class)(?P<path>[^\s>]+))?"
        r"(?:\s+baseline=(?P<baseline>[^\s>]+))?(?:\s+(?P<per_class>per-class))?\s*-->)"
        r"(?P<body>.*?)"
        rf"(?P<end><!-- {kind}:end -->)", re.DOTALL)


_README_SECTION = section_pattern("results")


def _fmt(stat, digits=4) -> str:
    if stat is None:
        return "–"
    mean, std, n = stat
    return f"{mean:.{digits}f}" if n == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _signed(stat, digits=4) -> str:
    if stat is None:
        return "–"
    mean, std, n = stat
    return f"{mean:+.{digits}f}" if n == 1 else f"{mean:+.{digits}f} ± {std:.{digits}f}"


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
    'Preset `quick`: intra-patient (BeatGAN, 5-fold), inter-patient (DS1 → DS2); fold 0 of 5; \
seeds 0, 1; a seeded subsample of 3,000 normal training beats; 4 epochs (batch 64) for the \
neural detectors.'
    """
    protocols = {"intra": "intra-patient (BeatGAN, 5-fold)", "inter": "inter-patient (DS1 → DS2)",
                 "transfer": "transfer (MIT-BIH DS1 → QT Database, 54 records of 4 other "
                 "databases)"}
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
    # The timings are the machine's: name its CPU model. A Dask run's environment is the
    # client's, not the workers' that did the work, so it names none.
    cpu = env.get("cpu") if str(env.get("cpu")).lower() not in _NOT_A_CPU_MODEL else None
    if meta.get("wall_seconds") is not None:
        n_jobs = meta.get("n_jobs") or 1
        where = ("a Dask cluster" if meta.get("scheduler") else
                 f"{env.get('cpu_count', '?')} CPU cores ({cpu or 'CPU model not recorded'}; "
                 f"{n_jobs} job process{'es' if n_jobs != 1 else ''})")
        n_sessions = len(meta.get("sessions", [])) or 1
        over = f" over {n_sessions} sessions (resumed)" if n_sessions > 1 else ""
        line += (f" Wall time {meta['wall_seconds'] / 60:.1f} min{over} on {where}, "
                 f"{env.get('threads_per_job', 1)} thread per job.")
    elif cpu and not meta.get("scheduler"):
        line += f" Timed on {cpu}."
    if meta.get("complete") is False and "n_planned" in meta:
        line += (f" **Partial: {meta.get('n_finished', '?')} of {meta['n_planned']} planned "
                 "jobs finished**; the others are still to run.")
    return line


#: What ``platform.processor()`` / ``platform.machine()`` give where the CPU's model name is
#: unknown (the benchmark falls back on them without ``/proc/cpuinfo``).
_NOT_A_CPU_MODEL = {"", "none", "x86_64", "amd64", "i386", "i686", "aarch64", "arm64", "arm"}


def _precision_note(rows: list[dict]) -> str:
    """Which arithmetic each neural model trained in (bfloat16 or float32), from its rows.

    A row's ``precision`` is None for a detector that does no neural training; rows written
    before the benchmark recorded it have no ``precision`` at all.
    """
    by_model: dict[str, list] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    groups: dict[str, list[str]] = {}  # description -> models, in order of appearance
    for model, members in by_model.items():
        found = sorted({r["precision"] for r in members if r.get("precision")})
        missing = sum("precision" not in r for r in members)
        if found:
            desc = "/".join(found)
            if missing:
                desc += (f" in {len(members) - missing} of {len(members)} runs (not recorded "
                         f"in the other {missing}, made before results kept it)")
        elif missing:
            desc = "not recorded"
        else:
            continue  # no neural training
        groups.setdefault(desc, []).append(model)
    if not groups:
        return ""
    if list(groups) == ["not recorded"]:
        return " Training arithmetic: not recorded (runs made before results kept it)."
    return " Training arithmetic: " + "; ".join(
        f"{', '.join(models)} {desc}" for desc, models in groups.items()) + "."


def _rate(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def baseline_labels(baseline) -> list[str]:
    """Model labels from a baseline argument: None, ``"a"``, ``"a,b"`` or a list of them.

    Examples
    --------
    >>> baseline_labels(["knn_context", "beatgan,knn_context"])
    ['knn_context', 'beatgan']
    >>> baseline_labels(None)
    []
    """
    if baseline is None:
        return []
    items = [baseline] if isinstance(baseline, str) else list(baseline)
    labels = [label.strip() for item in items for label in str(item).split(",")]
    return list(dict.fromkeys(label for label in labels if label))


def _paired_table(rows: list[dict], baseline: str, planned=(), per_class=False) -> list[str]:
    if baseline in planned and not any(r["model"] == baseline for r in rows):
        # A run still in progress: the baseline's jobs come later in its plan.
        return ["", f"Paired differences from `{baseline}`: none yet, it has no finished run."]
    lines = ["", f"Paired differences from `{baseline}` (same protocol, fold and seed; mean ± "
             "sample standard deviation over the pairs):", ""]
    lines.append("| protocol | model | pairs | ΔAUC | ΔAP | AUC higher in |")
    lines.append("| --- | --- | ---: | --- | --- | ---: |")
    differences = paired_differences(rows, baseline)
    for d in differences:
        lines.append(f"| {d['protocol']} | {d['model']} | {d['pairs']} | "
                     f"{_signed(d['auc'])} | {_signed(d['ap'])} | "
                     f"{d['auc_wins']} of {d['pairs']} |")
    if not per_class:
        return lines
    lines += ["", f"Per AAMI class, ΔAUC from `{baseline}` (each class against the normal "
              "test beats, same pairs; in parentheses the pairs where the model is higher):",
              "", "| protocol | model | " + " | ".join(f"ΔAUC {c}" for c in CLASSES) + " |",
              "| --- | --- |" + " --- |" * len(CLASSES)]
    for d in differences:
        cells = [f"{_signed(d[f'auc_{c}'])} ({d[f'auc_{c}_wins']} of {d[f'auc_{c}'][2]})"
                 if d[f"auc_{c}"] is not None else "–" for c in CLASSES]
        lines.append(f"| {d['protocol']} | {d['model']} | " + " | ".join(cells) + " |")
    return lines


#: Published AUCs of other methods, shown beside the beats-alone table: ``(method, intra,
#: inter, source)``. Each was measured on its authors' own splits and budgets, not rerun here.
PUBLISHED = (
    ("BeatGAN (Zhou et al., IJCAI 2019)", "0.9447", "–", "Table 2 of the paper"),
    ("Anobeat", "0.960", "0.894", "as published"),
    ("EB-GAME", "≈ 0.97", "–", "arXiv 2404.15333"),
)
#: The two settings of a format-2 results file: ``(row["context"], title)``.
SETTINGS = (
    (False, "**Beats alone** (the beat window only, no recording and no RR intervals: the "
            "protocol the published figures use)"),
    (True, "**With context** (each beat's recording as `groups` and its RR intervals as "
           "`rr`: `NAME+context` is the detector in a `ContextDetector`; `template` and "
           "`rhythm` are the context alone)"),
)


def _main_table(groups: list[dict]) -> list[str]:
    lines = ["| protocol | model | runs | AUC | AP | fit (s) | fit (beats/s) "
             "| score (ms/beat) | score (beats/s) | train beats | test beats |",
             "| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for g in groups:
        fit = g["fit_seconds"][0] if g["fit_seconds"] else float("nan")
        ms = g["score_ms_per_beat"][0] if g["score_ms_per_beat"] else float("nan")
        lines.append(
            f"| {g['protocol']} | {g['model']} | {g['runs']} | {_fmt(g['auc'])} | "
            f"{_fmt(g['ap'])} | {fit:.1f} | {_rate(g['fit_beats_per_s'])} | {ms:.3f} | "
            f"{_rate(g['score_beats_per_s'])} | {g['n_train'][0]:,.0f} | "
            f"{g['n_test'][0]:,.0f} |"
        )
    return lines


def _class_table(groups: list[dict]) -> list[str]:
    lines = ["| protocol | model | " + " | ".join(f"AUC {c}" for c in CLASSES) + " | "
             + " | ".join(f"AP {c}" for c in CLASSES) + " |",
             "| --- | --- |" + " --- |" * (2 * len(CLASSES))]
    for g in groups:
        cells = [_fmt(g[f"{m}_{c}"]) for m in ("auc", "ap") for c in CLASSES]
        lines.append(f"| {g['protocol']} | {g['model']} | " + " | ".join(cells) + " |")
    return lines


def _published_table() -> list[str]:
    lines = ["Published figures beside it, each on its authors' own splits and budget (not "
             "rerun here: a guide, not a paired comparison):", "",
             "| method (published) | intra-patient AUC | inter-patient AUC | source |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {name} | {intra} | {inter} | {source} |"
              for name, intra, inter, source in PUBLISHED]
    return lines


def render_markdown(results: dict, baseline=None, per_class: bool = False) -> str:
    """The Markdown tables of a results file (what the README shows).

    Mean ± standard deviation over folds and seeds (sample standard deviation, ``ddof=1``;
    a single run shows its value alone). AUC and AP take the anomaly class as positive;
    per-class columns compare each AAMI class with the normal test beats. Fit time
    includes computing the detector's threshold on the training beats; throughputs are
    training beats per second of ``fit`` and test beats per second of ``score_samples``
    (:func:`~beatdetect.benchmark.statistics.throughput`). The header names the budget, the
    data, the CPU model and the arithmetic each neural model trained in.

    Rows that say whether their detector saw context (``row["context"]``, results format
    2) are shown in two tables, *beats alone* (with the published figures of
    :data:`PUBLISHED` beside it) and *with context*; rows of format 1, which predate the
    context layer, in one table, as they were rendered then.

    Parameters
    ----------
    results : dict
        As returned by :func:`~beatdetect.benchmark.load_results`.
    baseline : str or list of str, optional
        Model label(s), a list or comma-separated (``"beatgan,knn_context"``); adds one
        table per baseline of each other model's paired differences from it
        (:func:`~beatdetect.benchmark.statistics.paired_differences`): mean ± sample
        standard deviation of the per-(protocol, fold, seed) differences in AUC and AP,
        the number of pairs, and in how many pairs the model's AUC is higher.
    per_class : bool, default=False
        Also the paired differences of each AAMI class's AUC (with a baseline).

    Raises
    ------
    ValueError
        A baseline with no run in the results.

    Returns
    -------
    markdown : str
    """
    meta = results.get("meta", {})
    rows = results.get("rows", [])
    lines = [_budget_line(meta) + _precision_note(rows), ""]
    if rows and all("context" in row for row in rows):
        for context, title in SETTINGS:
            groups = summarize([row for row in rows if bool(row["context"]) == context])
            lines += [title + ":", ""]
            lines += _main_table(groups) if groups else ["No run in this setting."]
            # The published figures are of MIT-BIH's protocols; a transfer run has none.
            if not context and any(row["protocol"] in ("intra", "inter") for row in rows):
                lines += [""] + _published_table()
            if groups:
                lines += ["", "Per AAMI class (each anomalous class against the normal test "
                          "beats):", ""] + _class_table(groups)
            lines.append("")
        lines.pop()
    else:
        groups = summarize(rows)
        lines += _main_table(groups)
        lines += ["", "Per AAMI class (each anomalous class against the normal test beats):",
                  ""]
        lines += _class_table(groups)
    planned = [model[0] for model in meta.get("models", [])]
    for label in baseline_labels(baseline):
        lines += _paired_table(rows, label, planned, per_class)
    return "\n".join(lines) + "\n"


def readme_section(readme_text: str):
    """``(match, results_path)`` of the generated section, or None without markers.

    The start marker may name the results file and baselines for paired differences:
    ``<!-- results:start results/x/results.json baseline=beatgan,knn_context -->``.
    """
    match = _README_SECTION.search(readme_text)
    if match is None:
        return None
    return match, match.group("path")


def _mean_sd(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def render_transfer(results: dict) -> str:
    """Markdown table of ``benchmarks/transfer.py`` results: AUC / AP per model and condition.

    Parameters
    ----------
    results : dict
        ``{"meta", "rows"}`` with rows ``{"seed", "model", "condition", "auc", "ap", ...}``.

    Returns
    -------
    markdown : str

    Examples
    --------
    >>> rows = [{"seed": 0, "model": "knn", "condition": "MLII 128 Hz", "auc": 0.9,
    ...          "ap": 0.5, "auc_S": 0.6, "auc_V": 0.95}]
    >>> print(render_transfer({"meta": {"max_train": 10}, "rows": rows}).splitlines()[4])
    | model | MLII 128 Hz |
    """
    rows, meta = results.get("rows", []), results.get("meta", {})
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"Trained on {meta.get('train', '?')} ({meta.get('max_train', '?'):,} beats"
             f"{', ' + str(meta['epochs']) + ' epochs' if meta.get('epochs') else ''}), "
             f"tested on {meta.get('test', '?')}; seed{'s' if len(seeds) > 1 else ''} "
             f"{', '.join(map(str, seeds))}; scored with `groups` and `rr`. "
             f"{meta.get('cpu') and 'CPU: ' + meta['cpu'] + '.' or ''}".strip(), ""]
    for metric, title in (("auc", "AUC"), ("ap", "AP"), ("auc_S", "AUC of S beats")):
        if title != "AUC":
            lines.append("")
        lines.append(f"{title} (mean ± sd over seeds):")
        lines.append("")
        lines.append("| model | " + " | ".join(conditions) + " |")
        lines.append("| --- |" + " --- |" * len(conditions))
        for model in models:
            cells = [_mean_sd([r.get(metric) for r in rows
                               if r["model"] == model and r["condition"] == c])
                     for c in conditions]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_rhythm_quantile(results: dict) -> str:
    """Markdown table of ``benchmarks/rhythm_quantile.py``: AUC / AP per local-cycle quantile.

    Parameters
    ----------
    results : dict
        ``{"rows": [{"quantile", "protocol", "auc", "ap", "auc_S", "auc_V"}, ...]}``.

    Returns
    -------
    markdown : str

    Examples
    --------
    >>> rows = [{"quantile": 90, "protocol": "A", "auc": 0.97, "ap": 0.8, "auc_S": 0.9,
    ...          "auc_V": 0.99}]
    >>> print(render_rhythm_quantile({"rows": rows}).splitlines()[2])
    | 90 | 0.9700 / 0.8000 (S 0.900) |
    """
    rows = results.get("rows", [])
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    lines = ["| local cycle percentile | " + " | ".join(protocols) + " |",
             "| ---: |" + " --- |" * len(protocols)]
    for q in sorted({r["quantile"] for r in rows}):
        cells = []
        for protocol in protocols:
            (row,) = [r for r in rows if r["quantile"] == q and r["protocol"] == protocol] or [None]
            cells.append("–" if row is None else
                         f"{row['auc']:.4f} / {row['ap']:.4f} (S {row['auc_S']:.3f})")
        lines.append(f"| {q:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

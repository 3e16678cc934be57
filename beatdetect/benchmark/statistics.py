"""Statistics of benchmark rows: means and spreads per model, paired differences.

Pure functions of the rows of a results file (``results["rows"]``): no file is read or
written here. Every spread is a ``(mean, std, n)`` tuple (:func:`mean_std`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CLASSES",
    "mean_std",
    "throughput",
    "pair_with_baseline",
    "paired_differences",
    "summarize",
]

#: Anomalous AAMI classes reported one by one.
CLASSES = ("S", "V", "F", "Q")


def mean_std(values) -> tuple[float, float, int] | None:
    """``(mean, std, n)`` of the values that are not None, or None when there are none.

    The standard deviation is the sample one (``ddof=1``), the convention of the papers the
    benchmark compares with: over 3-5 seeds the population one understates the spread. It
    is NaN for a single value.

    Examples
    --------
    >>> mean, std, n = mean_std([0.90, None, 0.94])
    >>> round(mean, 4), round(std, 4), n
    (0.92, 0.0283, 2)
    >>> mean_std([0.9])
    (0.9, nan, 1)
    >>> mean_std([None]) is None
    True
    """
    values = [v for v in values if v is not None]
    if not values:
        return None
    arr = np.asarray(values, dtype=np.float64)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else float("nan")
    return float(arr.mean()), std, len(arr)


def throughput(rows: list[dict], beats: str, seconds: str) -> float | None:
    """Beats per second over runs: their beats ``rows[beats]`` over their time ``rows[seconds]``.

    Total beats over total seconds, so that it equals the mean beats of the runs divided by
    their mean time (what a table showing both columns implies). None without timed runs.

    Examples
    --------
    >>> rows = [{"n_train": 3000, "fit_seconds": 10.0}, {"n_train": 3000, "fit_seconds": 20.0}]
    >>> throughput(rows, "n_train", "fit_seconds")
    200.0
    """
    timed = [r for r in rows if r.get(beats) is not None and r.get(seconds)]
    if not timed:
        return None
    return sum(r[beats] for r in timed) / sum(r[seconds] for r in timed)


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation (over folds and seeds) per protocol and model.

    Returns
    -------
    groups : list of dict
        In order of first appearance: ``protocol``, ``model``, ``runs`` and, for each
        metric (``auc``, ``ap``, ``auc_S``..., ``fit_seconds``, ``score_ms_per_beat``,
        ``n_train``, ``n_test``), a ``(mean, std, n)`` tuple or None; and the throughputs
        ``fit_beats_per_s`` (training beats per second of ``fit``) and
        ``score_beats_per_s`` (test beats per second of ``score_samples``), floats or None
        (:func:`throughput`).
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
            summary[metric] = mean_std(r.get(metric) for r in members)
        summary["score_ms_per_beat"] = mean_std(
            1000.0 * r["score_seconds"] / r["n_test"] for r in members
            if r.get("n_test") and r.get("score_seconds") is not None)
        summary["fit_beats_per_s"] = throughput(members, "n_train", "fit_seconds")
        summary["score_beats_per_s"] = throughput(members, "n_test", "score_seconds")
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
        ``auc_wins`` (pairs where the model's AUC is higher); per AAMI class ``c`` the same
        for its AUC against the normal test beats: ``auc_c`` and ``auc_c_wins`` (None and 0
        when no pair has that class).

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
    metrics = ("auc", "ap") + tuple(f"auc_{c}" for c in CLASSES)
    for (protocol, model), pairs in pair_with_baseline(rows, baseline).items():
        both = {m: [(r[m], b[m]) for r, b in pairs
                    if r.get(m) is not None and b.get(m) is not None] for m in metrics}
        diff = {m: mean_std(a - b for a, b in found) for m, found in both.items()}
        wins = {f"{m}_wins": sum(a > b for a, b in both[m])
                for m in metrics if m.startswith("auc")}
        out.append({"protocol": protocol, "model": model, "pairs": len(pairs), **diff,
                    **wins})
    return out

"""Benchmark figures: ROC / PR curves per split and a score histogram per job, as PNG."""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_plots"]


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

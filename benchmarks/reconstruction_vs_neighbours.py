"""Why BeatGAN's score ranks below a nearest-neighbour search within patients, and above it
on new patients: reconstruction error against distance to the nearest training beat.

Usage::

    python benchmarks/reconstruction_vs_neighbours.py --data-home ../shared/data \\
        --protocol intra --max-train 10000 --epochs 8 \\
        --params '{"lr": 2e-4, "early_stopping": true}' --seed 0 --out results/gap/intra_seed0.json
    python benchmarks/reconstruction_vs_neighbours.py --report results/gap \\
        --figure docs/figures/reconstruction_vs_neighbours.png

Plain BeatGAN (``SIBeatGANDetector`` with its defaults and ``--params``) and 1-NN on the raw
beats are fitted on the *same* normal training beats. For every test beat it computes

- ``rec``: BeatGAN's anomaly score, the mean squared residual ``(x - G(x))**2``;
- ``nn``: the mean squared difference to its nearest training beat (1-NN's score, squared
  and divided by the number of ticks, so both are in the same units);

and reports, per AAMI class, the median of each, the median of ``log10(rec / nn)`` (how much
closer the generator's reconstruction lies to the beat than any training beat does), the
share of beats the generator reconstructs closer than their nearest training beat, and each
score's AUC of the class against the normal test beats. ``--report`` renders the runs of a
folder (mean ± sample sd over seeds; ``--seed`` also draws the training subsample) as one
Markdown table and a figure of each class's per-tick residual over the normal
beats' (the contrast each score has, and where in the beat).

Labels are read only here, after both models are fitted, to describe the scores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from beatdetect import SIBeatGANDetector
from beatdetect.baselines import KNNDetector
from beatdetect.benchmark import cpu_model, load_benchmark_data, split_indices, subsample_train
from beatdetect.gan.persistence import params_from_data
from beatdetect.metrics import anomaly_roc_auc

CLASSES = ("N", "S", "V", "F", "Q")


def nearest_training_beats(knn: KNNDetector, X_train, X) -> np.ndarray:
    """The nearest training beat of each beat of ``X``, found by 1-NN's own index."""
    _, index = knn.neighbors_.kneighbors(X.reshape(len(X), -1), n_neighbors=1)
    return X_train.reshape(len(X_train), *X.shape[1:])[index[:, 0]]


def describe(aami, rec, nn, rec_profile, nn_profile) -> dict:
    """Per-class summary of the two per-beat scores and their per-tick residuals."""
    normal = aami == "N"
    rows = {}
    # anomaly_roc_auc takes normality scores (higher = more normal): hence the minus signs.
    for cls in CLASSES:
        mask = aami == cls
        if not mask.any():
            continue
        ratio = np.log10(rec[mask] / np.maximum(nn[mask], 1e-12))
        row = {"n": int(mask.sum()),
               "median_rec": float(np.median(rec[mask])),
               "median_nn": float(np.median(nn[mask])),
               "median_log10_ratio": float(np.median(ratio)),
               "closer_than_neighbour": float(np.mean(rec[mask] < nn[mask])),
               "profile_rec": np.median(rec_profile[mask], axis=0).round(7).tolist(),
               "profile_nn": np.median(nn_profile[mask], axis=0).round(7).tolist()}
        if cls != "N":
            both = normal | mask
            y = np.where(mask[both], -1, 1)
            row["auc_rec"] = anomaly_roc_auc(y, -rec[both])
            row["auc_nn"] = anomaly_roc_auc(y, -nn[both])
        rows[cls] = row
    return rows


def run(args) -> dict:
    data = load_benchmark_data(args.data_home, verbose=False)
    train, test = split_indices(data, args.protocol, args.fold)
    train = subsample_train(train, args.max_train, seed=args.seed, fold=args.fold)
    X_train, X_test = data.X[train], data.X[test]
    aami = np.asarray(data.aami)[test]
    params = {"max_epochs": args.epochs, **params_from_data(json.loads(args.params))}

    start = time.perf_counter()
    gan = SIBeatGANDetector(random_state=args.seed, verbose=1, **params).fit(X_train)
    fit_seconds = time.perf_counter() - start
    knn = KNNDetector().fit(X_train)

    X3 = X_test.reshape(len(X_test), 1, -1) if X_test.ndim == 2 else X_test
    rec_profile = gan.explain(X3).mean(axis=1)
    nearest = nearest_training_beats(knn, X_train, X3[:, 0])
    nn_profile = (X3[:, 0] - nearest) ** 2
    rec, nn = rec_profile.mean(axis=1), nn_profile.mean(axis=1)
    # The two scores are the detectors' own (``score_samples`` is minus the anomaly score),
    # 1-NN's up to a monotone map (its score is the root of ``nn`` times a constant):
    # checked, so that the table describes the benchmarked scores and not a look-alike.
    np.testing.assert_allclose(rec, -gan.score_samples(X_test), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.sqrt(nn * nn_profile.shape[1]), -knn.score_samples(X_test),
                               rtol=1e-4, atol=1e-6)
    return {"args": vars(args), "params": params, "cpu": cpu_model(),
            "precision": gan.training_precision_, "epochs_run": int(gan.n_iter_),
            "fit_seconds": round(fit_seconds, 1), "train_beats": int(len(train)),
            "test_beats": int(len(test)),
            "auc_rec": anomaly_roc_auc(np.where(aami == "N", 1, -1), -rec),
            "auc_nn": anomaly_roc_auc(np.where(aami == "N", 1, -1), -nn),
            "classes": describe(aami, rec, nn, rec_profile, nn_profile)}


def _mean_sd(values, fmt: str) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(values.mean(), fmt)} ± {format(values.std(ddof=1), fmt)}"


def by_protocol(runs: list[dict]) -> dict[str, list[dict]]:
    """Runs grouped by protocol, in the order they are first seen, each group by seed."""
    groups: dict[str, list[dict]] = {}
    for run_ in runs:
        groups.setdefault(run_["args"]["protocol"], []).append(run_)
    return {p: sorted(g, key=lambda r: r["args"]["seed"]) for p, g in groups.items()}


def report(folder, figure=None) -> str:
    """One Markdown table of the runs in ``folder`` (mean ± sample sd over seeds), and the
    residual figure (profiles averaged over seeds)."""
    folder = Path(folder)
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    lines = ["| protocol | class | seeds | beats | AUC BeatGAN | AUC 1-NN | median rec "
             "| median nn | median log10(rec/nn) | rec < nn |",
             "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |"]
    for protocol, group in by_protocol(runs).items():
        seeds = len(group)
        lines.append(f"| {protocol} | all | {seeds} | {group[0]['test_beats']:,} "
                     f"| {_mean_sd([r['auc_rec'] for r in group], '.4f')} "
                     f"| {_mean_sd([r['auc_nn'] for r in group], '.4f')} | | | | |")
        for cls in CLASSES:
            rows = [r["classes"][cls] for r in group if cls in r["classes"]]
            if not rows:
                continue
            aucs = (f"{_mean_sd([r['auc_rec'] for r in rows], '.4f')} "
                    f"| {_mean_sd([r['auc_nn'] for r in rows], '.4f')}"
                    if "auc_rec" in rows[0] else "– | –")
            mean = {k: np.mean([r[k] for r in rows]) for k in
                    ("median_rec", "median_nn", "median_log10_ratio", "closer_than_neighbour")}
            lines.append(f"| {protocol} | {cls} | {seeds} | {rows[0]['n']:,} | {aucs} "
                         f"| {mean['median_rec']:.5f} | {mean['median_nn']:.5f} "
                         f"| {mean['median_log10_ratio']:+.2f} "
                         f"| {mean['closer_than_neighbour']:.0%} |")
    text = "\n".join(lines) + "\n"
    (folder / "gap.md").write_text(text)
    if runs:
        _figure(by_protocol(runs), [folder / "gap.png"] + ([Path(figure)] if figure else []))
    return text


def _figure(groups: dict[str, list[dict]], paths) -> None:
    """Per tick, each class's median residual over the normal beats' median residual: the
    contrast each score has to rank the class above normal beats, and where in the beat."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("S", "V", "F")
    fig, axes = plt.subplots(len(groups), len(shown),
                             figsize=(3.6 * len(shown), 2.8 * len(groups)), sharex=True,
                             squeeze=False)
    for r, (protocol, group) in enumerate(groups.items()):
        for c, cls in enumerate(shown):
            ax = axes[r][c]
            rows = [run_["classes"][cls] for run_ in group if cls in run_["classes"]]
            if not rows:
                ax.axis("off")
                continue
            for key, label in (("profile_rec", "BeatGAN: (x - G(x))²"),
                               ("profile_nn", "1-NN: (x - nearest)²")):
                contrast = np.mean([np.asarray(row[key])
                                    / np.maximum(run_["classes"]["N"][key], 1e-12)
                                    for row, run_ in zip(rows, group, strict=True)], axis=0)
                ax.semilogy(contrast, label=label, lw=1)
            ax.axhline(1, color="k", lw=0.6)
            auc_rec = np.mean([row["auc_rec"] for row in rows])
            auc_nn = np.mean([row["auc_nn"] for row in rows])
            ax.set_title(f"{protocol}: {cls} (AUC {auc_rec:.3f} vs {auc_nn:.3f})", fontsize=9)
            if c == 0:
                ax.set_ylabel("median residual, class / N")
            if r == len(groups) - 1:
                ax.set_xlabel("tick (R peak mid-window)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home")
    parser.add_argument("--protocol", choices=("intra", "inter"), default="intra")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train", type=int, default=10000,
                        help="normal training beats, the same for both models (default 10000)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--params", default="{}", help="JSON of SIBeatGANDetector parameters")
    parser.add_argument("--out", help="JSON file of the run")
    parser.add_argument("--report", help="render every run in this folder")
    parser.add_argument("--figure", help="with --report: also save the figure here")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report, args.figure))
        return
    result = run(args)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "classes"}, indent=1))


if __name__ == "__main__":
    main()

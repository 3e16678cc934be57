"""Why a self-improvement variant helps or not: losses, score agreement, per-class gains.

Usage::

    python benchmarks/self_improvement_diagnostics.py results/self_improvement_10k \\
        --baseline beatgan --out docs/figures/self_improvement_diagnostics.png

Reads a benchmark folder written by ``beatdetect benchmark`` (the journal ``results.jsonl``,
with each job's per-epoch ``history``, and ``scores/``) and compares every model with the
baseline at the same fold and seed:

- a Markdown table on stdout: the paired AUC difference with an exact one-sided sign-flip
  p-value, the final training reconstruction loss, the extra terms' final values, the
  Spearman correlation of the test scores with the baseline's (how far a variant reorders
  the beats at all), and the paired AUC difference per AAMI class;
- a figure: the training reconstruction loss per epoch (mean over seeds) and the paired
  AUC difference per class, one dot per seed;
- with ``--data-home``, a table of how far the contrastive augmentations move a beat
  against how far the test beats of each class lie from their nearest normal training beat.

Labels are read only here, after training, to describe the runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np
from scipy.stats import spearmanr

from beatdetect.benchmark import ResultsStore, load_results
from beatdetect.benchmark.statistics import pair_with_baseline

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

CLASSES = ("S", "V", "F", "Q")
#: History columns that are not training loss terms (val_rec: the held-out validation loss).
NOT_LOSSES = {"epoch", "lr", "time", "loss_d", "loss_g", "d_real", "d_fake", "val_rec"}


def load_runs(folder: Path) -> list[dict]:
    # The journal holds every finished job, also while the benchmark still runs; a
    # committed folder keeps only results.json (and no scores).
    rows = list(ResultsStore(folder).rows().values())
    if not rows and (folder / "results.json").is_file():
        rows = load_results(folder / "results.json")["rows"]
    if not rows:
        raise SystemExit(f"{folder} holds no finished benchmark job")
    # Reference rows of detectors that do not train (knn: no precision, no history) have
    # no losses to diagnose; their AUCs are in the benchmark's own tables.
    rows = [r for r in rows if r.get("history") or r.get("precision", "") is not None]
    missing = [r["key"] for r in rows if not r.get("history")]
    if missing:
        raise SystemExit(f"{len(missing)} rows have no training history (run before "
                         f"histories were recorded): {missing[:3]}...")
    return rows


def scores_of(folder: Path, key: str) -> np.ndarray | None:
    loaded = ResultsStore(folder).load_scores(key)
    return None if loaded is None else loaded[0]


def rank_agreement(folder: Path, members: list[tuple]) -> str:
    """Spearman correlation of each run's test scores with its baseline's: mean (min)."""
    rho = []
    for row, base in members:
        a, b = scores_of(folder, row["key"]), scores_of(folder, base["key"])
        if a is None or b is None:
            return "– (no scores/)"
        rho.append(spearmanr(a, b).statistic)
    return f"{np.mean(rho):.3f} (min {np.min(rho):.3f})"


def pairs_by_model(rows: list[dict], baseline: str) -> dict[tuple, list[tuple]]:
    """``{(protocol, model): [(row, baseline_row), ...]}``."""
    try:
        return pair_with_baseline(rows, baseline)
    except ValueError as err:
        raise SystemExit(str(err)) from None


def sign_flip_p(deltas) -> float:
    """One-sided p-value of a mean paired difference > 0, exact over all sign flips.

    Under "no effect" each paired difference is as likely positive as negative; with n pairs
    the smallest attainable p is 2**-n (0.031 for five seeds).
    """
    deltas = np.asarray(list(deltas), dtype=float)
    signs = np.array(np.meshgrid(*[[-1.0, 1.0]] * len(deltas))).reshape(len(deltas), -1).T
    means = (signs * np.abs(deltas)).mean(axis=1)
    return float(np.mean(means >= deltas.mean() - 1e-12))


def final_losses(row: dict) -> dict[str, float]:
    last = row["history"][-1]
    return {k: v for k, v in last.items() if k not in NOT_LOSSES}


def final_rec(rows: list[dict], model: str, protocol: str) -> float:
    """Mean over seeds of a model's last training reconstruction loss on one protocol."""
    return float(np.mean([final_losses(r)["rec"] for r in rows
                          if r["model"] == model and r["protocol"] == protocol]))


def mean_std(values) -> str:
    # Population standard deviation, as in the tables of results/self_improvement_10k that
    # docs/self-improvement.md quotes (the benchmark's own tables give the sample one).
    values = np.asarray(list(values), dtype=float)
    return f"{values.mean():+.4f} ± {values.std():.4f}" if len(values) > 1 else \
        f"{values.mean():+.4f}"


def table(folder: Path, rows: list[dict], baseline: str) -> str:
    pairs = pairs_by_model(rows, baseline)
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    base_rec = ", ".join(f"{protocol} {final_rec(rows, baseline, protocol):.5f}"
                         for protocol in protocols)
    lines = [
        f"Baseline `{baseline}`: final training rec {base_rec} (mean over seeds).",
        "",
        "| protocol | model | pairs | ΔAUC | sign-flip p | final rec | extra terms (final, "
        "weighted) | Spearman ρ of scores | " + " | ".join(f"ΔAUC {c}" for c in CLASSES) + " |",
        "| --- | --- | ---: | --- | ---: | --- | --- | --- | "
        + " | ".join("---" for _ in CLASSES) + " |",
    ]
    for (protocol, model), members in pairs.items():
        finals = [final_losses(r) for r, _ in members]
        extra = sorted(set().union(*finals) - {"rec", "adv"})
        extra_text = ", ".join(f"{k} {np.mean([f[k] for f in finals]):.5f}" for k in extra)
        deltas = [mean_std(r[f"auc_{c}"] - b[f"auc_{c}"] for r, b in members
                           if r.get(f"auc_{c}") is not None) for c in CLASSES]
        delta_auc = [r["auc"] - b["auc"] for r, b in members]
        lines.append(f"| {protocol} | {model} | {len(members)} | {mean_std(delta_auc)} | "
                     f"{sign_flip_p(delta_auc):.2f} | "
                     f"{np.mean([f['rec'] for f in finals]):.5f} | {extra_text or '–'} | "
                     f"{rank_agreement(folder, members)} | " + " | ".join(deltas)
                     + " |")
    return "\n".join(lines)


def augmentation_distances(data_home, cache_dir=None, n: int = 2000, seed: int = 0) -> str:
    """How far the contrastive views move a beat, against how far anomalies lie from normal.

    RMS distance between the two default views of a training beat (what NT-Xent asks the
    discriminator to ignore; also with each transform alone and without the timing ones),
    between a beat and its nearest other training beat, and
    between test beats of each class and their nearest training beat, on a seeded sample of
    fold 0 of the intra-patient protocol.
    """
    import torch

    from beatdetect.datasets import intra_patient_split, load_mitbih
    from beatdetect.nn.augment import ECGAugment

    data = load_mitbih(data_home, cache_dir=cache_dir, verbose=False)
    train, test = intra_patient_split(data, fold=0)
    rng = np.random.default_rng(seed)
    reference = torch.from_numpy(data.X[rng.choice(train, n, replace=False)]).flatten(1)

    def nearest_rms(idx) -> np.ndarray:
        beats = torch.from_numpy(data.X[idx]).flatten(1)
        dist = torch.cdist(beats, reference)
        dist[dist == 0] = np.inf  # a beat is not its own neighbour
        return (dist.min(dim=1).values / reference.shape[1] ** 0.5).numpy()

    x = torch.from_numpy(data.X[rng.choice(train, n, replace=False)])

    def views_rms(**params) -> np.ndarray:
        augment = ECGAugment(**params)
        generator = torch.Generator().manual_seed(seed)
        views = augment(x, generator) - augment(x, generator)
        return views.flatten(1).pow(2).mean(1).sqrt().numpy()

    # ECGAugment's defaults are the detector's aug_* defaults; "off" disables each transform.
    off = {"noise": 0.0, "scale": (1.0, 1.0), "wander": 0.0, "warp": 0.0, "crop": 1.0,
           "mask": 0.0}
    defaults = ECGAugment()
    rows = [("two views of one training beat (default aug_*)", views_rms())]
    for name in off:
        value = getattr(defaults, name)
        rows.append((f"... {name}={value} alone", views_rms(**{**off, name: value})))
    rows += [("... without timing (aug_warp=0, aug_crop=1, aug_mask=0)",
              views_rms(warp=0.0, crop=1.0, mask=0.0)),
             ("training N beat to nearest other N", nearest_rms(rng.choice(train, n, False)))]
    for cls in ("N",) + CLASSES:
        idx = test[data.aami[test] == cls]
        if len(idx):
            rows.append((f"test {cls} beat to nearest training N",
                         nearest_rms(rng.choice(idx, min(n, len(idx)), replace=False))))
    lines = ["| RMS distance (beats scaled to [-1, 1]) | beats | median | 10th-90th pct |",
             "| --- | ---: | ---: | --- |"]
    for name, d in rows:
        lo, mid, hi = np.percentile(d, [10, 50, 90])
        lines.append(f"| {name} | {len(d):,} | {mid:.3f} | {lo:.3f}-{hi:.3f} |")
    return "\n".join(lines)


def mean_curve(histories: list[list[dict]], key: str = "rec") -> np.ndarray:
    """Mean per epoch over the runs that reached it (early stopping ends runs apart)."""
    longest = max(len(h) for h in histories)
    return np.array([np.mean([h[e][key] for h in histories if len(h) > e])
                     for e in range(longest)])


def figure(rows: list[dict], baseline: str, out: Path) -> None:
    models = list(dict.fromkeys(r["model"] for r in rows))
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    pairs = pairs_by_model(rows, baseline)
    fig, axes = plt.subplots(len(protocols), 2, figsize=(11, 3.8 * len(protocols)),
                             layout="constrained", squeeze=False)
    for (ax_rec, ax_cls), protocol in zip(axes, protocols, strict=True):
        for model in models:
            histories = [r["history"] for r in rows
                         if r["model"] == model and r["protocol"] == protocol]
            if not histories:
                continue
            curve = mean_curve(histories)
            ax_rec.plot(np.arange(1, len(curve) + 1), curve, marker="o", ms=3, label=model,
                        lw=2.2 if model == baseline else 1.2)
        ax_rec.set(xlabel="epoch", ylabel="training reconstruction loss (rec)", yscale="log",
                   title=f"{protocol}: training rec (mean over the seeds that ran the epoch)")
        ax_rec.legend(fontsize=8)

        mine = {model: members for (p, model), members in pairs.items() if p == protocol}
        width = 0.8 / max(len(mine), 1)
        x = np.arange(len(CLASSES) + 1)
        for i, (model, members) in enumerate(mine.items()):
            offset = (i - (len(mine) - 1) / 2) * width
            for j, key in enumerate(("auc",) + tuple(f"auc_{c}" for c in CLASSES)):
                deltas = [r[key] - b[key] for r, b in members if r.get(key) is not None]
                if not deltas:
                    continue
                ax_cls.bar(x[j] + offset, np.mean(deltas), width,
                           color=f"C{models.index(model)}", alpha=0.6,
                           label=model if j == 0 else None)
                ax_cls.plot(np.full(len(deltas), x[j] + offset), deltas, "k.", ms=4)
        ax_cls.axhline(0, color="k", lw=0.8)
        ax_cls.set_xticks(x, ["all"] + list(CLASSES))
        ax_cls.set(ylabel=f"AUC − AUC of {baseline} (same seed)",
                   title=f"{protocol}: paired AUC difference by AAMI class (dots: seeds)")
        ax_cls.legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="benchmark output folder")
    parser.add_argument("--baseline", default="beatgan", help="model label to compare with")
    parser.add_argument("--out", type=Path, help="PNG figure to write")
    parser.add_argument("--data-home", help="folder holding mitdb/: also measure how far "
                        "the contrastive augmentations move beats")
    parser.add_argument("--cache-dir", help="cache of preprocessed beats")
    args = parser.parse_args(argv)
    rows = load_runs(args.folder)
    print(table(args.folder, rows, args.baseline))
    if args.data_home:
        print("\n" + augmentation_distances(args.data_home, args.cache_dir))
    if args.out:
        figure(rows, args.baseline, args.out)
        print(f"\nFigure: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

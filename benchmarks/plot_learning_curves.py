"""Plot learning curves written by ``benchmarks/learning_curve.py`` (test AUC per epoch).

Usage::

    python benchmarks/plot_learning_curves.py results/beatgan_fold0/*.json \\
        --out docs/figures/learning_curves.png

Left: the test AUC after each epoch (labels only to draw the curve). Right: the training
reconstruction loss and, where the run held beats out, the held-out reconstruction error
that label-free early stopping watches; the epoch it keeps is circled on both panels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402


def label(run: dict) -> str:
    params = run.get("params") or json.loads(run["args"].get("params", "{}"))
    schedule = params.get("lr_schedule", "constant")
    epochs = run["args"]["epochs"]
    lr = params.get("lr", 1e-4)
    return f"lr {lr:g}, {schedule}, {epochs} epochs"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("curves", nargs="+", type=Path)
    parser.add_argument("--labels", nargs="+", help="legend entries, one per curve")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    fig, (ax_auc, ax_rec) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    if args.labels and len(args.labels) != len(args.curves):
        parser.error("give one label per curve")
    for i, path in enumerate(args.curves):
        run = json.loads(path.read_text())
        curve = run["curve"]
        epochs = [row["epoch"] for row in curve]
        (line,) = ax_auc.plot(epochs, [row["auc"] for row in curve], marker="o", ms=3,
                              label=args.labels[i] if args.labels else label(run))
        color = line.get_color()
        ax_rec.plot(epochs, [row["rec"] for row in curve], ls="--", color=color)
        if all("val_rec" in row for row in curve):
            ax_rec.plot(epochs, [row["val_rec"] for row in curve], marker="o", ms=3,
                        color=color)
            best = min(curve, key=lambda row: row["val_rec"])
            ax_auc.plot(best["epoch"], best["auc"], "o", ms=10, mfc="none", color=color)
            ax_rec.plot(best["epoch"], best["val_rec"], "o", ms=10, mfc="none", color=color)
    ax_auc.axhline(0.93, color="grey", lw=0.8, ls=":")
    ax_auc.set(xlabel="epoch", ylabel="test AUC (anomaly = positive)",
               title="test AUC after each epoch")
    ax_auc.legend(fontsize=8)
    ax_rec.set_yscale("log")
    ax_rec.set(xlabel="epoch", ylabel="reconstruction MSE",
               title="reconstruction: training (dashed), held out (solid)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=96)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

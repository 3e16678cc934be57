"""AUC / AP of BeatGAN on MIT-BIH after every epoch (intra-patient protocol, one fold).

Usage::

    python benchmarks/learning_curve.py --data-home ../shared/data --epochs 8 \\
        [--protocol intra|inter] [--max-train 24000] [--params '{"lr": 1e-4}'] \\
        [--out curve.json]
    python benchmarks/learning_curve.py --report results/learning_curves \\
        --figure docs/figures/full_scale_learning_curves.png

``--report FOLDER`` renders every ``*.json`` curve in the folder as one markdown table per
curve (``curves.md``) and a figure of validation loss and test AUC per epoch
(``curves.png``).

A diagnostic for choosing a training budget: the model is trained label-free exactly as
``SIBeatGANDetector.fit`` trains it; labels are used only to report the curve afterwards,
never to pick an epoch inside ``fit``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from beatdetect import SIBeatGANDetector
from beatdetect.benchmark import cpu_model
from beatdetect.datasets import inter_patient_split, intra_patient_split, load_mitbih
from beatdetect.gan.inference import reconstruction_errors
from beatdetect.gan.persistence import params_from_data
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc, per_class_scores


def _label(run: dict) -> str:
    params = {k: v for k, v in run["params"].items()
              if k not in ("max_epochs", "early_stopping", "n_iter_no_change")}
    params.setdefault("lr", "1e-3 (default)")
    setting = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
    split = ("inter DS1 -> DS2" if run["args"]["protocol"] == "inter"
             else f"intra fold {run['args']['fold']}")
    return (f"{split}, seed {run['args']['seed']}, {run['params']['max_epochs']} epochs, "
            f"{setting}")


def report(folder, figure=None) -> str:
    """Markdown tables and a figure of the curves in ``folder`` (written beside them, and
    the figure also to ``figure`` when given, e.g. for the docs)."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    lines = []
    fig, (ax_val, ax_auc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for run in runs:
        curve = run["curve"]
        best = min(curve, key=lambda row: row.get("val_rec", float("inf")))
        n_val = "" if "val_rec" not in best else " (10 % of them held out for validation)"
        lines += [f"### {_label(run)}", "",
                  f"{run['n_train']:,} training beats{n_val}; {run['cpu']}, "
                  f"{run['threads']} thread(s), {run['precision'].removeprefix('torch.')}.",
                  "", "| epoch | lr at end | train rec | val rec | test AUC | test AP | "
                  "S | V | F | Q | s |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
                  "---: | ---: | ---: | ---: |"]
        for row in curve:
            mark = " **(lowest val)**" if row is best else ""
            pc = [row["per_class"].get(c, {}).get("auc", float("nan")) for c in "SVFQ"]
            lines.append(f"| {row['epoch']}{mark} | {row['lr_end']:.2e} | {row['rec']:.5f} | "
                         f"{row.get('val_rec', float('nan')):.5f} | {row['auc']:.4f} | "
                         f"{row['ap']:.4f} | " + " | ".join(f"{v:.3f}" for v in pc)
                         + f" | {row['time']:.0f} |")
        lines += ["", f"Label-free choice (lowest validation loss): epoch {best['epoch']}, "
                  f"test AUC {best['auc']:.4f}; highest test AUC of the curve "
                  f"{max(r['auc'] for r in curve):.4f} (for the report only).", ""]
        epochs = [r["epoch"] for r in curve]
        ax_val.plot(epochs, [r.get("val_rec", float("nan")) for r in curve], marker="o",
                    label=_label(run))
        ax_auc.plot(epochs, [r["auc"] for r in curve], marker="o", label=_label(run))
    ax_val.set(xlabel="epoch", ylabel="validation reconstruction error", yscale="log",
               title="label-free: what chooses")
    ax_auc.set(xlabel="epoch", ylabel="test AUC (anomaly positive)",
               title="for the report only")
    ax_auc.axhline(0.9447, color="grey", ls="--", lw=1, label="BeatGAN published 0.9447")
    ax_auc.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "curves.png", dpi=110)
    if figure:
        fig.savefig(figure, dpi=110)
    text = "\n".join(lines)
    (folder / "curves.md").write_text(text)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--protocol", choices=("intra", "inter"), default="intra",
                        help="intra: normal folds of every record; inter: DS1 normal -> DS2")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--params", default="{}", help="detector parameters as JSON")
    parser.add_argument("--out", default=None)
    parser.add_argument("--report", default=None, metavar="FOLDER",
                        help="render the curves in FOLDER (curves.md, curves.png) and stop")
    parser.add_argument("--figure", default=None, metavar="PNG",
                        help="with --report: also save the figure here (the docs' copy)")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report, args.figure))
        return

    data = load_mitbih(args.data_home, verbose=False)
    if args.protocol == "intra":
        train, test = intra_patient_split(data, fold=args.fold)
    else:
        train, test = inter_patient_split(data)
    if args.max_train is not None and args.max_train < len(train):
        train = np.sort(np.random.default_rng(args.seed).choice(train, args.max_train, False))
    params = {"max_epochs": args.epochs, **params_from_data(json.loads(args.params))}
    if params.get("early_stopping"):
        # Record the held-out reconstruction error of every epoch without stopping, to
        # show which epoch label-free early stopping would keep.
        params.setdefault("n_iter_no_change", args.epochs)
    det = SIBeatGANDetector(random_state=args.seed, **params)
    X_test = data.X[test]
    curve = []
    started = time.perf_counter()

    def evaluate(trainer, record):
        scores = -reconstruction_errors(trainer.generator, X_test, device=trainer.device,
                                        amp_dtype=trainer.amp_dtype)
        row = {"auc": anomaly_roc_auc(data.y[test], scores),
               "ap": anomaly_average_precision(data.y[test], scores),
               "per_class": per_class_scores(data.aami[test], scores),
               "lr_end": trainer.current_lr()}
        curve.append({**record, **row})
        per_class = " ".join(f"{k} {v['auc']:.3f}" for k, v in row["per_class"].items())
        val = f" val_rec {record['val_rec']:.5f}" if "val_rec" in record else ""
        print(f"epoch {record['epoch']}: rec {record['rec']:.5f}{val} AUC {row['auc']:.4f} "
              f"AP {row['ap']:.4f} ({per_class}) {record['time']:.0f} s "
              f"[{time.perf_counter() - started:.0f} s]", flush=True)
        if args.out:  # written every epoch: a long run keeps what it measured
            with open(args.out, "w") as fh:
                json.dump({"args": vars(args), "params": params, "n_train": int(len(train)),
                           "precision": str(trainer.amp_dtype or torch.float32),
                           "threads": torch.get_num_threads(), "cpu": cpu_model(),
                           "curve": curve}, fh, indent=1)
        return row

    # Exactly SIBeatGANDetector.fit, with the evaluation hooked after every epoch.
    det._validate_params()
    det._fit(det._validate_beats(data.X[train], reset=True), on_epoch_end=evaluate)


if __name__ == "__main__":
    main()

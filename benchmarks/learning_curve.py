"""AUC / AP of BeatGAN on MIT-BIH after every epoch (intra-patient protocol, one fold).

Usage::

    python benchmarks/learning_curve.py --data-home ../shared/data --epochs 8 \\
        [--max-train 24000] [--params '{"lr": 1e-4}'] [--out curve.json]

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
    args = parser.parse_args(argv)

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

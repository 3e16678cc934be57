"""Reproduce BeatGAN on MIT-BIH, intra-patient protocol, one fold, label-free training.

Usage::

    python benchmarks/beatgan_fold0.py --data-home ../shared/data --epochs 5 --seed 0

Trains ``SIBeatGANDetector`` on the normal beats of the training folds only (no labels, no
checkpoint picked by AUC), scores the test fold (held-out normal beats + every anomalous
beat), and prints AUC / AP overall and per AAMI class, with training and scoring throughput.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from beatdetect import SIBeatGANDetector
from beatdetect.datasets import intra_patient_split, load_mitbih
from beatdetect.gan.persistence import params_from_data
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc, per_class_scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train", type=int, default=None,
                        help="subsample the training beats (seeded) to fit a CPU budget")
    parser.add_argument("--params", default="{}", help="extra detector parameters as JSON")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--save-model", default=None, metavar="FILE",
                        help="save the fitted detector here (safetensors) for later analysis")
    args = parser.parse_args(argv)

    data = load_mitbih(args.data_home)
    train, test = intra_patient_split(data, fold=args.fold)
    if args.max_train is not None and args.max_train < len(train):
        train = np.sort(np.random.default_rng(args.seed).choice(train, args.max_train, False))
    params = {"max_epochs": args.epochs, "random_state": args.seed, "verbose": 1,
              **params_from_data(json.loads(args.params))}
    det = SIBeatGANDetector(**params)
    tic = time.perf_counter()
    det.fit(data.X[train])
    fit_s = time.perf_counter() - tic
    tic = time.perf_counter()
    scores = det.score_samples(data.X[test])
    score_s = time.perf_counter() - tic
    result = {
        "fold": args.fold, "params": params, "n_train": int(len(train)),
        "n_test": int(len(test)),
        "auc": anomaly_roc_auc(data.y[test], scores),
        "ap": anomaly_average_precision(data.y[test], scores),
        "per_class": per_class_scores(data.aami[test], scores),
        "fit_seconds": fit_s, "train_beats_per_s": len(train) * det.n_iter_ / fit_s,
        "score_seconds": score_s, "score_beats_per_s": len(test) / score_s,
        "threads": torch.get_num_threads(), "history": det.history_,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=1))
    if args.save_model:
        det.save(args.save_model)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()

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
from beatdetect._device import autocast_dtype, resolve_device
from beatdetect.datasets import intra_patient_split, load_mitbih
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc, per_class_scores
from beatdetect.nn.networks import pad_beats
from beatdetect.training import GANTrainer, reconstruction_errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--params", default="{}", help="detector parameters as JSON")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    data = load_mitbih(args.data_home, verbose=False)
    train, test = intra_patient_split(data, fold=args.fold)
    if args.max_train is not None and args.max_train < len(train):
        train = np.sort(np.random.default_rng(args.seed).choice(train, args.max_train, False))
    det = SIBeatGANDetector(random_state=args.seed, **json.loads(args.params))
    # The same set-up as SIBeatGANDetector._fit, epoch by epoch.
    det._validate_params()
    X = det._validate_beats(data.X[train], reset=True)
    seed = int(np.random.RandomState(args.seed).randint(np.iinfo(np.int32).max))
    device = resolve_device(det.device)
    amp = autocast_dtype(device, det.mixed_precision)
    cfg = det._config()
    generator, discriminator = det._build_modules(cfg, seed)
    trainer = GANTrainer(
        generator, discriminator, terms=det._loss_terms(cfg, seed, X), lr=det.lr,
        betas=(det.beta1, 0.999), w_adv=det.w_adv, d_reset_threshold=det.d_reset_threshold,
        batch_size=det.batch_size, device=device, amp_dtype=amp, augment=det._augment(),
        rng=torch.Generator().manual_seed(seed),
    )
    X_train = pad_beats(torch.from_numpy(X.copy()), cfg.padded_length).to(device)
    X_test = data.X[test]
    curve = []
    for epoch in range(1, args.epochs + 1):
        tic = time.perf_counter()
        losses = trainer.train_epoch(X_train)
        seconds = time.perf_counter() - tic
        scores = -reconstruction_errors(generator, X_test, device=device, amp_dtype=amp)
        generator.train()
        row = {"epoch": epoch, **losses, "train_seconds": seconds,
               "auc": anomaly_roc_auc(data.y[test], scores),
               "ap": anomaly_average_precision(data.y[test], scores),
               "per_class": per_class_scores(data.aami[test], scores)}
        curve.append(row)
        per_class = " ".join(f"{k} {v['auc']:.3f}" for k, v in row["per_class"].items())
        print(f"epoch {epoch}: rec {losses['rec']:.5f} AUC {row['auc']:.4f} AP {row['ap']:.4f}"
              f" ({per_class}) {len(X_train) / seconds:.0f} beats/s", flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"args": vars(args), "n_train": int(len(train)), "curve": curve}, fh,
                      indent=1)


if __name__ == "__main__":
    main()

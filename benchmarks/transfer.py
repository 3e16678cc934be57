"""Another database, another sampling rate, another lead: does a MIT-BIH model transfer?

Usage::

    python benchmarks/transfer.py --data-home ../shared/data --out results/transfer2 \
        [--max-train 5000] [--epochs 4] [--seeds 0 1 2]

Detectors are trained once per seed on the normal beats of the DS1 records (lead MLII at
360 Hz, the inter-patient protocol's training side) and score the DS2 records recorded
differently: the same signals resampled to 250 Hz and 128 Hz (``scipy.signal.
resample_poly``; annotation positions scaled), and the records' *other* lead (V1 in most
DS2 records, V2, V4 or V5 in some), at 360 Hz and at 128 Hz. Beats are cut by the library's
own pipeline at the new rate (:func:`~beatdetect.datasets.beats_from_signal`), with their
RR intervals. Each detector is scored on the beats alone and in context (``NAME+context``:
``groups`` = the record, and ``rr``), as ``beatdetect score`` does for a new recording.
No label is used in training or scoring; AUC and AP (anomaly positive) are computed
afterwards. Results go to ``<out>/results.json`` as they finish, so an interrupted run
resumes. ``results/transfer`` holds the run made before the context
layer (labels of that API, e.g. ``knn_context``); this script writes ``results/transfer2``.
"""

from __future__ import annotations

import argparse
import json
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from beatdetect.baselines.registry import is_context_detector
from beatdetect.benchmark import cpu_model
from beatdetect.benchmark.jobs import build_detector
from beatdetect.datasets import (
    DS1_RECORDS,
    DS2_RECORDS,
    beats_from_signal,
    get_data_home,
    load_mitbih,
    read_record,
)
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc, per_class_scores

#: (label, sampling rate in Hz, lead: "MLII" or "other") of each recording condition.
CONDITIONS = (
    ("MLII 360 Hz", 360, "MLII"),
    ("MLII 250 Hz", 250, "MLII"),
    ("MLII 128 Hz", 128, "MLII"),
    ("other lead 360 Hz", 360, "other"),
    ("other lead 128 Hz", 128, "other"),
)
#: Models (names of :func:`~beatdetect.baselines.make_detector`) and their parameters:
#: SI-BeatGAN at its defaults and the references beside it, on beats alone and in context.
MODELS = {
    "sibeatgan": {},
    "knn": {},
    "pca": {},
    "sibeatgan+context": {},
    "knn+context": {},
    "pca+context": {},
    "template": {},
}



def resampled_beats(path: Path, fs: int, lead: str):
    """Beats of one MIT-BIH record as if recorded at ``fs`` Hz on ``lead``."""
    recording = read_record(path)
    names = list(recording.lead_names)
    column = names.index("MLII") if lead == "MLII" else 1 - names.index("MLII")
    signal = recording.signal[:, column]
    ratio = Fraction(fs) / Fraction(int(recording.fs))
    if ratio != 1:
        signal = resample_poly(signal, ratio.numerator, ratio.denominator)
    peaks = np.round(recording.ann_sample * fs / recording.fs).astype(np.int64)
    beats = beats_from_signal(signal, float(fs), r_peaks=peaks, symbols=recording.ann_symbol,
                              lead_names=[names[column]], name=recording.name)
    return beats, names[column]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default="results/transfer2")
    parser.add_argument("--max-train", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args(argv)

    home = get_data_home(args.data_home)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else {"rows": []}
    done = {(r["seed"], r["model"], r["condition"]) for r in results["rows"]}
    results["meta"] = {"max_train": args.max_train, "epochs": args.epochs,
                       "train": "normal beats of DS1, MLII, 360 Hz", "test": "all beats of DS2",
                       "cpu": cpu_model()}

    train_data = load_mitbih(home, records=DS1_RECORDS, verbose=False)
    normal = np.flatnonzero(train_data.y == 1)
    tests = {}
    for label, fs, lead in CONDITIONS:
        parts = [resampled_beats(home / "mitdb" / r, fs, lead) for r in DS2_RECORDS]
        tests[label] = {
            key: np.concatenate([getattr(b, key) for b, _ in parts])
            for key in ("X", "y", "aami", "record", "rr")
        }
        leads = sorted({name for _, name in parts})
        print(f"{label}: {len(tests[label]['X']):,} beats, leads {', '.join(leads)}",
              flush=True)

    for seed in args.seeds:
        rng = np.random.default_rng([seed, 0])
        train = np.sort(rng.choice(normal, min(args.max_train, len(normal)), replace=False))
        for model in args.models:
            if all((seed, model, label) in done for label, _, _ in CONDITIONS):
                continue
            det = build_detector(model, dict(MODELS[model]), seed)
            epochs = [n for n in det.get_params() if n.split("__")[-1] == "max_epochs"]
            det.set_params(**{name: args.epochs for name in epochs})
            in_context = is_context_detector(model)

            def context(data, index=slice(None), in_context=in_context):
                return ({"groups": np.asarray(data["record"])[index],
                         "rr": np.asarray(data["rr"])[index]} if in_context else {})

            tic = time.perf_counter()
            det.fit(train_data.X[train], **context(train_data, train))
            fit_seconds = time.perf_counter() - tic
            for label, _, _ in CONDITIONS:
                if (seed, model, label) in done:
                    continue
                test = tests[label]
                scores = det.score_samples(test["X"], **context(test))
                row = {"seed": seed, "model": model, "condition": label,
                       "auc": anomaly_roc_auc(test["y"], scores),
                       "ap": anomaly_average_precision(test["y"], scores),
                       "fit_seconds": fit_seconds,
                       "precision": getattr(det, "training_precision_", None),
                       **{f"auc_{c}": v["auc"] for c, v in
                          per_class_scores(test["aami"], scores, classes=("S", "V", "F"))
                          .items()}}
                results["rows"].append(row)
                path.write_text(json.dumps(results, indent=1))
                print(f"seed {seed} {model:12s} {label:18s} AUC {row['auc']:.4f} "
                      f"AP {row['ap']:.4f}", flush=True)


if __name__ == "__main__":
    main()

"""Which leads should load_mitbih use by default? MLII alone vs MLII + V1, measured.

Usage::

    python benchmarks/leads.py --data-home ../shared/data [--max-train 6000] [--epochs 3]

Uses the records that have both leads (the second MIT-BIH lead is V1 in most records and
V2, V4 or V5 in others, so a two-lead model can only use records sharing the second lead),
BeatGAN's intra-patient protocol (fold 0), and the same models, seeds and budget for both
lead sets. Prints anomaly-positive AUC / AP per model and lead set.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from beatdetect.baselines import make_detector
from beatdetect.datasets import (
    MITBIH_RECORDS,
    PACED_RECORDS,
    get_data_home,
    intra_patient_split,
    load_mitbih,
    read_lead_names,
)
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--max-train", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    home = get_data_home(args.data_home)
    records = [r for r in MITBIH_RECORDS if r not in PACED_RECORDS
               and {"MLII", "V1"} <= set(read_lead_names(home / "mitdb" / r))]
    models = {"pca": {}, "iforest": {"random_state": args.seed},
              "sibeatgan": {"max_epochs": args.epochs, "random_state": args.seed}}
    results = {"records": records}
    for leads in (("MLII",), ("MLII", "V1")):
        data = load_mitbih(home, records=records, leads=leads, verbose=False)
        train, test = intra_patient_split(data, fold=0)
        rng = np.random.default_rng(args.seed)
        train = np.sort(rng.choice(train, min(args.max_train, len(train)), replace=False))
        for name, params in models.items():
            det = make_detector(name, **params).fit(data.X[train])
            scores = det.score_samples(data.X[test])
            key = f"{'+'.join(leads)} {name}"
            results[key] = {"auc": anomaly_roc_auc(data.y[test], scores),
                            "ap": anomaly_average_precision(data.y[test], scores)}
            print(f"{key:22s} AUC {results[key]['auc']:.4f}  AP {results[key]['ap']:.4f}",
                  flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

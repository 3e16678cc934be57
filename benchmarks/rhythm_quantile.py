"""How should a beat's local cycle be measured? The RR quantile, chosen inside DS1 only.

Usage::

    python benchmarks/rhythm_quantile.py --data-home ../shared/data \
        --out results/rhythm_quantile/results.json

The rhythm part of the score compares a beat's pre-RR interval with its recording's local
cycle: a percentile of the pre-RR intervals of the 31 surrounding beats
(:func:`~beatdetect.datasets.rr_intervals`, ``local_quantile``). This script measures the
choice on a development protocol that never touches the test records of the inter-patient
protocol: the 22 DS1 records are split in two seeded halves of 11; a detector trained on
the normal beats of one half scores every beat of the other (both ways). The detector is
the nearest-neighbour reference in context (``make_detector("knn+context")``: the
recording template and the rhythm part, 5,000 training beats), so only the rhythm part
changes between rows. DS2 (the inter-patient test records) is scored afterwards
with each quantile, to show what the choice does there, not to make it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from beatdetect.baselines import make_detector
from beatdetect.datasets import DS1_RECORDS, DS2_RECORDS, load_mitbih, rr_intervals
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc, per_class_scores

QUANTILES = (50, 75, 90, 95)


def evaluate(data, rr, train_records, test_records, max_train, seed):
    normal = np.flatnonzero(np.isin(data.record, train_records) & (data.y == 1))
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(normal, min(max_train, len(normal)), replace=False))
    test = np.flatnonzero(np.isin(data.record, test_records))
    det = make_detector("knn+context").fit(data.X[train], groups=data.record[train],
                                           rr=rr[train])
    scores = det.score_samples(data.X[test], groups=data.record[test], rr=rr[test])
    per_class = per_class_scores(data.aami[test], scores, classes=("S", "V"))
    return {"auc": anomaly_roc_auc(data.y[test], scores),
            "ap": anomaly_average_precision(data.y[test], scores),
            "auc_S": per_class["S"]["auc"], "auc_V": per_class["V"]["auc"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default="results/rhythm_quantile/results.json")
    parser.add_argument("--max-train", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_mitbih(args.data_home, verbose=False)
    ds1 = np.array(DS1_RECORDS)
    order = np.random.default_rng(args.seed).permutation(len(ds1))
    halves = (ds1[order[:11]].tolist(), ds1[order[11:]].tolist())
    rows = []
    for q in QUANTILES:
        rr = rr_intervals(data.sample, data.fs, groups=data.record, local_quantile=q)
        for name, train, test in (("DS1 half A -> half B", halves[0], halves[1]),
                                  ("DS1 half B -> half A", halves[1], halves[0]),
                                  ("DS1 -> DS2 (not used to choose)", DS1_RECORDS,
                                   DS2_RECORDS)):
            row = {"quantile": q, "protocol": name,
                   **evaluate(data, rr, train, test, args.max_train, args.seed)}
            rows.append(row)
            print(f"q{q:<3d} {name:32s} AUC {row['auc']:.4f} AP {row['ap']:.4f} "
                  f"S {row['auc_S']:.3f} V {row['auc_V']:.3f}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"halves": halves, "max_train": args.max_train,
                               "seed": args.seed, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()

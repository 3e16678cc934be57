"""The label-free reference at full scale: nearest neighbours on raw beats, every training beat.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/knn_reference.py --data-home ../shared/data \\
        [--protocol intra|inter] [--out results/reference/knn_intra_fold0.json]

``KNNDetector()`` (its defaults) fitted on all normal training beats of intra-patient fold 0
(or of DS1) and scored on the test beats: the bar the GAN's own score has to clear at equal
training beats (issue 20). Labels are used only to report the AUC.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from beatdetect.baselines import make_detector
from beatdetect.benchmark import cpu_model
from beatdetect.datasets import inter_patient_split, intra_patient_split, load_mitbih
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc, per_class_scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--protocol", choices=("intra", "inter"), default="intra")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    data = load_mitbih(args.data_home, verbose=False)
    train, test = (intra_patient_split(data, fold=0) if args.protocol == "intra"
                   else inter_patient_split(data))
    det = make_detector("knn")
    start = time.perf_counter()
    scores = det.fit(data.X[train]).score_samples(data.X[test])
    row = {"protocol": args.protocol, "detector": repr(det), "n_train": int(len(train)),
           "n_test": int(len(test)), "auc": anomaly_roc_auc(data.y[test], scores),
           "ap": anomaly_average_precision(data.y[test], scores),
           "per_class": per_class_scores(data.aami[test], scores),
           "seconds": time.perf_counter() - start, "cpu": cpu_model()}
    print(json.dumps(row, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()

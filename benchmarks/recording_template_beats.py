"""How many beats a recording's median beat needs to stand for the recording's normal beat.

The recording-template part of :class:`~beatdetect.context.ContextDetector` scores a beat by
its distance to the element-wise median beat of its recording. A short strip (a wearable's
few seconds, one beat per recording) gives a median of few beats. Here, on real MIT-BIH
records, each record is cut into strips of consecutive beats; the label-free score of a beat
is its mean squared distance to the median of the *first n beats of its strip*, for several
n, against the median of the whole recording. Labels serve only to report the anomaly AUC
(AAMI classes other than N are anomalies) within each strip, averaged over the strips that
hold both classes.

Writes ``results/recording_template/strips.json`` with the CPU's name. The default
``min_recording_beats`` of :class:`~beatdetect.context.ContextDetector` is read from it.

Usage::

    BEATDETECT_DATA=../shared/data python benchmarks/recording_template_beats.py
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from beatdetect.benchmark import cpu_model
from beatdetect.context import template_distances
from beatdetect.datasets import load_mitbih

#: Beats taken for the median at the start of each strip.
N_BEATS = (10, 20, 30, 50, 100)
#: Length of a strip in beats: about two minutes at a resting heart rate.
STRIP = 150
#: The rule that picks ``min_recording_beats``: the fewest beats whose median scores within
#: this much mean AUC of the whole recording's median.
AUC_TOLERANCE = 0.01


def _distance(X, template):
    return np.mean((X - template) ** 2, axis=(1, 2), dtype=np.float64)


def strip_aucs(X, anomaly, record, strip=STRIP, n_beats=N_BEATS):
    """Per n (and ``"whole"``), the within-strip AUCs of the template distance."""
    whole = template_distances(X, record)
    out = {str(n): [] for n in n_beats} | {"whole": []}
    for name in np.unique(record):
        index = np.flatnonzero(record == name)
        for start in range(0, len(index) - strip + 1, strip):
            beats = index[start:start + strip]
            y = anomaly[beats]
            if y.all() or not y.any():
                continue
            for n in n_beats:
                template = np.median(X[beats[:n]], axis=0)
                out[str(n)].append(roc_auc_score(y, _distance(X[beats], template)))
            out["whole"].append(roc_auc_score(y, whole[beats]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default="results/recording_template/strips.json")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    data = load_mitbih(args.data_home, verbose=False)
    anomaly = np.asarray(data.aami) != "N"
    aucs = strip_aucs(data.X, anomaly, np.asarray(data.record).astype(str))
    rows = {n: {"mean_auc": float(np.mean(v)), "std_auc": float(np.std(v)),
                "n_strips": len(v)} for n, v in aucs.items()}
    whole = rows["whole"]["mean_auc"]
    chosen = min((int(n) for n in rows if n != "whole"
                  and rows[n]["mean_auc"] >= whole - AUC_TOLERANCE), default=None)
    result = {"cpu": cpu_model(), "strip_beats": STRIP, "records": len(data.records),
              "beats": len(data.X), "seconds": round(time.perf_counter() - began, 1),
              "auc_by_template_beats": rows,
              "rule": f"fewest beats within {AUC_TOLERANCE} mean AUC of the whole recording",
              "min_recording_beats": chosen}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for n, row in rows.items():
        print(f"n={n:>5}  AUC {row['mean_auc']:.4f} ± {row['std_auc']:.4f} "
              f"({row['n_strips']} strips)")
    print(f"min_recording_beats = {chosen} ({result['rule']})")


if __name__ == "__main__":
    main()

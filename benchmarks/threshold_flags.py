"""How many normal beats does the automatic threshold flag, record by record? (issue 21, N3)

Usage::

    python benchmarks/threshold_flags.py --data-home ../shared/data \
        --out results/threshold_flags [--max-train 3000] [--epochs 2]

A flag a user can act on is rare on normal beats: this script measures, per test record,
the share of its *normal* beats each label-free threshold rule flags, on both protocols
(intra-patient fold 0; inter-patient DS1 -> DS2), with a small budget (a seeded subsample
of training beats, a few epochs). The rules never read a label; labels are used only
afterwards, to count flags on normal beats and anomalies caught.

Rules (each sets a threshold on ``score_samples``; a beat below it is flagged):

- ``auto``: the detector's ``offset_`` (Tukey's fence on its training scores, the default
  of ``contamination="auto"``, what ``beatdetect score`` uses);
- ``train 1%``: the 1st percentile of the training beats' scores (``contamination=0.01``);
- ``record Tukey``: Tukey's far fence (Q1 - 3 IQR of anomaly scores) of the record's own
  scores, a threshold per recording that adapts to its level;
- ``record 2%``: the 2nd percentile of the record's own scores
  (``beatdetect score --contamination 0.02``), which flags 2% of every record by design.

Output: ``<out>/results.json`` (one row per protocol, model, rule and record) and
``<out>/results.md`` (per protocol, model and rule: the median and the largest share of
normal beats flagged over records, the number of records above 5%, and the share of
anomalies flagged).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from beatdetect.baselines.registry import is_context_detector
from beatdetect.benchmark import cpu_model, load_benchmark_data, split_indices, subsample_train
from beatdetect.benchmark.jobs import build_detector

#: Models measured: SI-BeatGAN on beats alone and in context, and nearest neighbours in
#: context (the label-free reference).
MODELS = ("sibeatgan", "sibeatgan+context", "knn+context")
#: Above this share of a record's normal beats flagged, the flags are not usable.
USABLE = 0.05


def thresholds(scores, train_scores, offset, groups):
    """Each rule's threshold for every test beat (label-free: scores and groups only)."""
    rules = {"auto": np.full(len(scores), offset),
             "train 1%": np.full(len(scores), np.quantile(train_scores, 0.01))}
    tukey, share = np.empty(len(scores)), np.empty(len(scores))
    for group in np.unique(groups):
        mine = groups == group
        q1, q3 = np.quantile(-scores[mine], [0.25, 0.75])
        tukey[mine] = -(q3 + 3.0 * (q3 - q1))  # the far fence of the anomaly scores
        share[mine] = np.quantile(scores[mine], 0.02)
    rules["record Tukey"] = tukey
    rules["record 2%"] = share
    return rules


def measure(data, protocol, model, max_train, epochs, seed=0):
    """Rows of one protocol and model: per rule and record, flags on normal beats."""
    train, test = split_indices(data, protocol, 0)
    train = subsample_train(train, max_train, seed=seed)
    params = {"max_epochs": epochs} if model == "sibeatgan" else (
        {"detector__max_epochs": epochs} if model.startswith("sibeatgan") else {})
    det = build_detector(model, params, seed)

    def context(index):
        if not is_context_detector(model):
            return {}
        return {"groups": data.record[index], "rr": data.rr[index]}

    tic = time.perf_counter()
    det.fit(data.X[train], **context(train))
    fit_seconds = time.perf_counter() - tic
    train_scores = det.score_samples(data.X[train], **context(train))
    scores = det.score_samples(data.X[test], **context(test))
    groups, normal = data.record[test], data.y[test] == 1
    rows = []
    for rule, threshold in thresholds(scores, train_scores, det.offset_, groups).items():
        flagged = scores < threshold
        for record in np.unique(groups):
            mine = groups == record
            n_normal, n_anomalous = int((mine & normal).sum()), int((mine & ~normal).sum())
            rows.append({
                "protocol": protocol, "model": model, "rule": rule, "record": str(record),
                "n_normal": n_normal, "n_anomalous": n_anomalous,
                "normal_flagged": float(flagged[mine & normal].mean()) if n_normal else None,
                "anomalies_flagged": (float(flagged[mine & ~normal].mean())
                                      if n_anomalous else None),
                "fit_seconds": fit_seconds})
    return rows


def render(results) -> str:
    """Markdown summary: per protocol, model and rule, the flags on normal beats by record."""
    rows = results["rows"]
    lines = [f"Training beats: {results['meta']['max_train']:,} (seed 0), "
             f"{results['meta']['epochs']} epochs; CPU: {results['meta']['cpu']}. Share of "
             "each test record's normal beats flagged (label-free rules; labels only count):",
             "", "| protocol | model | rule | median over records | largest | records > 5% "
             "| anomalies flagged |", "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    keys = list(dict.fromkeys((r["protocol"], r["model"], r["rule"]) for r in rows))
    for protocol, model, rule in keys:
        mine = [r for r in rows if (r["protocol"], r["model"], r["rule"]) == (protocol, model,
                                                                               rule)]
        rates = [r["normal_flagged"] for r in mine if r["normal_flagged"] is not None]
        caught = (sum(r["anomalies_flagged"] * r["n_anomalous"] for r in mine
                      if r["anomalies_flagged"] is not None)
                  / max(1, sum(r["n_anomalous"] for r in mine)))
        lines.append(f"| {protocol} | {model} | {rule} | {100 * np.median(rates):.1f}% | "
                     f"{100 * max(rates):.1f}% | {sum(x > USABLE for x in rates)} of "
                     f"{len(rates)} | {100 * caught:.1f}% |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default="results/threshold_flags")
    parser.add_argument("--max-train", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--protocols", nargs="+", default=["intra", "inter"])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and BLAS threads (default 1, as a benchmark job: more "
                             "threads than free cores spin and slow the run down)")
    args = parser.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    data = load_benchmark_data(args.data_home, verbose=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"meta": {"max_train": args.max_train, "epochs": args.epochs,
                        "cpu": cpu_model()}, "rows": []}
    for protocol in args.protocols:
        for model in args.models:
            results["rows"] += measure(data, protocol, model, args.max_train, args.epochs)
            (out / "results.json").write_text(json.dumps(results, indent=1))
            print(f"{protocol} {model} done", flush=True)
    (out / "results.md").write_text(render(results))
    print(render(results))


if __name__ == "__main__":
    main()

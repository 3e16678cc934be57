"""Make the documentation's figures from real MIT-BIH beats with beatdetect's own plotting.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python docs/make_figures.py --data-home ../shared/data

Trains one :class:`~beatdetect.SIBeatGANDetector` with BeatGAN's published architecture on
a modest CPU budget (3,000 normal beats of records 106, 119, 208 and 233, 8 epochs, seed 0:
a few minutes on two cores), then draws with :mod:`beatdetect.plotting`:

- ``explanation.png``: two held-out normal (N) and two ventricular (V) beats with their
  reconstruction and per-tick squared residual, on one colour scale;
- ``roc_pr.png``: ROC and precision-recall curves on the test beats (anomaly = positive),
  with the PCA baseline fitted on the same beats when ``beatdetect.baselines`` exists;
- ``score_histogram.png``: anomaly scores per AAMI class with the ``contamination="auto"``
  threshold;
- ``record_strip.png``: ten seconds of record 119 with the flagged beats highlighted;
- ``history.png``: training losses per epoch.

Beats shown are drawn at random (seeded), not picked for looks. The budget is far below
the paper's (100 epochs over all normal beats): the figures illustrate the tools, they are
not benchmark results. PNGs are written small enough to commit (< 200 KB each).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from beatdetect import SIBeatGANDetector  # noqa: E402
from beatdetect.datasets import get_data_home, load_mitbih, read_record  # noqa: E402
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc  # noqa: E402
from beatdetect.plotting import (  # noqa: E402
    plot_explanation,
    plot_history,
    plot_record_strip,
    plot_roc_pr,
    plot_score_histogram,
)

REPO = Path(__file__).resolve().parents[1]
#: Records rich in ventricular beats (and some S and F), as in the library's end-to-end test.
RECORDS = ["106", "119", "208", "233"]
N_TRAIN, N_HELD_OUT = 3000, 1000
STRIP_RECORD, STRIP_START_S = "119", 60.0
DPI = 96
MAX_PNG_BYTES = 200_000


def _default_data_home() -> str | None:
    if os.environ.get("BEATDETECT_DATA"):
        return None  # load_mitbih reads the variable itself
    shared = REPO.parent / "shared" / "data"
    return str(shared) if (shared / "mitdb").is_dir() else None


def _save(fig, out: Path, name: str) -> Path:
    path = out / name
    fig.savefig(path, dpi=DPI, pil_kwargs={"optimize": True})
    plt.close(fig)
    size = path.stat().st_size
    flag = "" if size <= MAX_PNG_BYTES else f"  (over {MAX_PNG_BYTES // 1000} KB!)"
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path} "
          f"({size / 1000:.0f} KB){flag}")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=_default_data_home(),
                        help="folder holding mitdb/ (default: BEATDETECT_DATA, then "
                             "../shared/data, then ~/beatdetect_data)")
    parser.add_argument("--cache-dir", default=None, help="cache of preprocessed beats")
    parser.add_argument("--download", action="store_true",
                        help="fetch missing records from PhysioNet with wfdb")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "figures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    data = load_mitbih(args.data_home, records=RECORDS, cache_dir=args.cache_dir,
                       download=args.download, verbose=False)
    rng = np.random.default_rng(args.seed)
    normal = rng.permutation(np.flatnonzero(data.aami == "N"))
    train, held_out = normal[:N_TRAIN], normal[N_TRAIN:N_TRAIN + N_HELD_OUT]
    test = np.sort(np.r_[held_out, np.flatnonzero(data.aami != "N")])
    print(f"{len(data.X)} beats of records {', '.join(RECORDS)}; training on {len(train)} "
          f"normal beats, testing on {len(test)} ({int((data.aami[test] != 'N').sum())} "
          "anomalous)")

    det = SIBeatGANDetector(max_epochs=args.epochs, random_state=args.seed)
    tic = time.perf_counter()
    det.fit(data.X[train])
    print(f"trained {args.epochs} epochs in {time.perf_counter() - tic:.0f} s")
    scores = det.score_samples(data.X[test])
    y, aami = data.y[test], data.aami[test]
    print(f"test AUC {anomaly_roc_auc(y, scores):.4f}, AP "
          f"{anomaly_average_precision(y, scores):.4f} (this figure budget only)")

    # Two held-out normal and two ventricular beats in one figure: one colour scale for all.
    lead = list(data.lead_names)
    pick = np.r_[np.sort(rng.choice(held_out, 2, replace=False)),
                 np.sort(rng.choice(np.flatnonzero(data.aami == "V"), 2, replace=False))]
    titles = [f"{data.aami[i]}, record {data.record[i]} @ {data.sample[i] / data.fs:.1f} s"
              for i in pick]
    fig = plt.figure(figsize=(11, 3.8), layout="constrained")
    plot_explanation(det, data.X[pick], titles=titles, fs=data.fs, lead_names=lead, fig=fig)
    _save(fig, args.out, "explanation.png")

    curves = {f"SI-BeatGAN ({args.epochs} epochs, {N_TRAIN} beats)": scores}
    try:  # the PCA baseline on the same beats, when the baselines module is installed
        from beatdetect.baselines import PCADetector
    except ImportError:
        pass
    else:
        pca = PCADetector().fit(data.X[train])
        curves["PCA baseline (95 % variance)"] = pca.score_samples(data.X[test])
    _save(plot_roc_pr(y, curves), args.out, "roc_pr.png")
    _save(plot_score_histogram(scores, aami, offset=det.offset_,
                               title="Test beats of records " + ", ".join(RECORDS)),
          args.out, "score_histogram.png")
    _save(plot_history(det.history_), args.out, "history.png")

    # Ten seconds of one record, every beat of it scored (its training beats included).
    in_record = np.flatnonzero(data.record == STRIP_RECORD)
    recording = read_record(get_data_home(args.data_home) / "mitdb" / STRIP_RECORD, leads=lead)
    fig = plot_record_strip(
        recording.signal, recording.fs, data.sample[in_record],
        det.predict(data.X[in_record]), scores=det.score_samples(data.X[in_record]),
        start=STRIP_START_S, duration=10.0, lead_names=lead,
    )
    _save(fig, args.out, "record_strip.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

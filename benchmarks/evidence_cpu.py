"""The CPU-budget evidence run behind the README's headline (``results/cpu``), resumable.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/evidence_cpu.py --data-home ../shared/data --n-jobs 2

Both protocols, the five intra-patient folds, seeds 0, 1 and 2, 5,000 training beats and 4
epochs (the ``cpu`` preset), for the label-free references and baselines, SI-BeatGAN at its
defaults, BeatGAN's own score, and the self-improvement variants. Every finished job is in
``results/cpu/results.jsonl``: rerunning the command skips them, so the run continues
across sessions. Ctrl-C stops it and writes ``results.json`` from the finished jobs; then
``beatdetect report results/quick/results.json --readme README.md`` (and ``--readme
docs/benchmark.md``) regenerates the tables. Models run one after another (``order="model"``)
so that each row completes before the next starts.
"""

from __future__ import annotations

import argparse

from beatdetect.benchmark import run_benchmark
from beatdetect.benchmark.presets import KNN_CONTEXT

#: BeatGAN's own score: the reconstruction error alone, no memory bank, no context.
PLAIN = {"memory": None, "w_reconstruction": 1.0, "w_rhythm": 0.0, "recording_template": False}

#: Labels in the order they run (``LABEL=DETECTOR``).
MODELS = ["knn", "knn_context=knn", "template", "pca", "iforest", "sibeatgan",
          "beatgan=sibeatgan", "distill=sibeatgan", "ae", "contrastive=sibeatgan",
          "sibeatgan_rec=sibeatgan", "both=sibeatgan", "contrastive_dmem=sibeatgan"]

#: Parameters per label, over the preset's (``sibeatgan`` is the estimator's defaults).
PARAMS = {
    "knn_context": dict(KNN_CONTEXT),
    "beatgan": PLAIN,
    "sibeatgan": {"w_reconstruction": 0.0},
    "sibeatgan_rec": {"w_reconstruction": 1.0},
    "distill": {"distill": True, "w_reconstruction": 1.0},
    "contrastive": {"contrastive": True, "w_reconstruction": 1.0},
    "both": {"distill": True, "contrastive": True, "w_reconstruction": 1.0},
    "contrastive_dmem": {"contrastive": True, "memory": "discriminator",
                         "w_reconstruction": 1.0},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None,
                        help="folder holding mitdb/ (default: $BEATDETECT_DATA)")
    parser.add_argument("--out", default="results/cpu")
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args(argv)
    result = run_benchmark(args.out, "cpu", models=MODELS, params=PARAMS,
                           data_home=args.data_home, n_jobs=args.n_jobs, order="model",
                           plots=False)
    print(result.markdown)


if __name__ == "__main__":
    main()

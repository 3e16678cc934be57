"""The CPU-budget evidence run behind the README's headline (``results/cpu``), resumable.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/evidence_cpu.py --data-home ../shared/data --n-jobs 2

Both protocols, the five intra-patient folds, seeds 0, 1 and 2, 5,000 training beats and 4
epochs (the ``cpu`` preset), for every default model in both settings (beats alone and with
context) and the self-improvement variants of SI-BeatGAN. Every finished job is in
``<out>/results.jsonl``: rerunning the command skips them, so the run continues across
sessions. Ctrl-C stops it and writes ``results.json`` from the finished jobs; then
``beatdetect report`` with ``--readme README.md`` (and ``--readme docs/benchmark.md``)
regenerates the tables. ``results/cpu`` holds the run made with the API before the context
layer (labels such as ``knn_context``), kept as history; this script writes
``results/cpu2``. Models run one after another (``order="model"``)
so that each row completes before the next starts.
"""

from __future__ import annotations

import argparse

from beatdetect.benchmark import run_benchmark
from beatdetect.benchmark.presets import DEFAULT_MODELS

#: Labels in the order they run (``LABEL=DETECTOR``): the default models in both settings
#: (beats alone, the published protocol; and with context), then the self-improvement
#: variants of SI-BeatGAN, whose score is BeatGAN's reconstruction error in every variant.
MODELS = [*DEFAULT_MODELS, "distill=sibeatgan", "contrastive=sibeatgan", "both=sibeatgan"]

#: Parameters per label, over the preset's (``sibeatgan`` is the estimator's defaults).
PARAMS = {
    "distill": {"distill": True},
    "contrastive": {"contrastive": True},
    "both": {"distill": True, "contrastive": True},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None,
                        help="folder holding mitdb/ (default: $BEATDETECT_DATA)")
    parser.add_argument("--out", default="results/cpu2")
    parser.add_argument("--n-jobs", type=int, default=1)
    args = parser.parse_args(argv)
    result = run_benchmark(args.out, "cpu", models=MODELS, params=PARAMS,
                           data_home=args.data_home, n_jobs=args.n_jobs, order="model",
                           plots=False)
    print(result.markdown)


if __name__ == "__main__":
    main()

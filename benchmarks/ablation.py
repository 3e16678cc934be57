"""Does self-improvement make BeatGAN better? The full-scale ablation (issue 20), resumable.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/ablation.py --data-home ../shared/data \\
        --epochs 8 --params '{"lr": 2e-4, "early_stopping": true}' --n-jobs 2 [--plan]

Plain BeatGAN (``SIBeatGANDetector()``), ``distill=True``, ``contrastive=True`` and both,
each scored by its networks only (BeatGAN's reconstruction error: no raw-beat bank, no
context), on every training beat of intra-patient fold 0 and of the inter-patient split (all
DS1 normal beats -> DS2), seeds 0, 1 and 2, at a budget of ``--epochs`` epochs chosen
beforehand from the label-free validation loss of the learning curves
(``results/learning_curves``), beside nearest neighbours on the raw beats (``knn``, the
strongest simple detector of beats alone). Jobs run split by split (the four variants and
knn of one protocol and seed before the next), so an interrupted run leaves paired rows.
Every finished job is in ``results/ablation/results.jsonl``: rerunning the command skips it,
so the run continues across sessions. ``--plan`` prints the jobs and the CPU time they need
at the measured throughput, and runs nothing; ``--report`` writes ``results.json``/``.md``
of the jobs finished so far (marked incomplete), also while another process runs the rest,
and runs nothing. Each job writes a training checkpoint after every epoch
(``--checkpoint-dir``, outside git), so a job cut off with its session resumes after its
last finished epoch, bit for bit, when the command is run again on the same machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from beatdetect.benchmark import Preset, get_preset, run_benchmark
from beatdetect.gan.persistence import params_from_data

#: The four variants (``LABEL=DETECTOR``), in the order they run within a split.
VARIANTS = ["plain=sibeatgan", "distill=sibeatgan", "contrastive=sibeatgan", "both=sibeatgan"]
#: The strongest simple detector of beats alone, beside them in every table: nearest
#: neighbours on the raw beats (no training; deterministic, so its seeds repeat one number,
#: which keeps the paired table's pairs; about a minute per job).
REFERENCES = ["knn=knn"]
MODELS = VARIANTS + REFERENCES
#: Parameters per label over the estimator's defaults.
PARAMS = {
    "distill": {"distill": True},
    "contrastive": {"contrastive": True},
    "both": {"distill": True, "contrastive": True},
}
#: Where the jobs' per-epoch checkpoints go (a job runs close to an hour; the checkpoint
#: lets a stopped session's job continue in the next one on the same machine).
DEFAULT_CHECKPOINTS = Path.home() / ".cache" / "beatdetect" / "checkpoints" / "ablation"
#: Training beats of each protocol at full scale (MIT-BIH, this project's loader).
TRAIN_BEATS = {"intra": 72_064, "inter": 45_843}
#: Cost of each variant relative to plain BeatGAN, per training beat, as measured by
#: ``--measure-cost`` (results/ablation/relative_cost.json: one Intel Xeon thread, bfloat16).
RELATIVE_COST = {"plain": 1.0, "distill": 1.45, "contrastive": 1.29, "both": 1.73}


def measure_cost(n_beats: int = 1024, repeats: int = 3, data_home=None) -> dict:
    """Training beats/s of each variant, timed in one run, interleaved ``repeats`` times.

    Short fits (one epoch of ``n_beats`` real fold-0 training beats) in the order plain,
    distill, contrastive, both, repeated, so a load that changes during the run touches every
    variant alike; the median per variant is kept.
    """
    import time

    import numpy as np
    import torch

    from beatdetect import SIBeatGANDetector
    from beatdetect.benchmark import cpu_model
    from beatdetect.datasets import intra_patient_split, load_mitbih

    data = load_mitbih(data_home, verbose=False)
    train, _ = intra_patient_split(data, fold=0)
    X = data.X[np.random.default_rng(0).choice(train, n_beats, replace=False)]
    rates = {label: [] for label in RELATIVE_COST}
    precision = None
    for _ in range(repeats):
        for label in RELATIVE_COST:
            det = SIBeatGANDetector(max_epochs=1, random_state=0, **PARAMS.get(label, {}))
            start = time.perf_counter()
            det.fit(X)
            rates[label].append(n_beats / (time.perf_counter() - start))
            precision = det.training_precision_
    median = {label: float(np.median(r)) for label, r in rates.items()}
    return {"cpu": cpu_model(), "threads": torch.get_num_threads(), "precision": precision,
            "n_beats": n_beats, "repeats": repeats, "beats_per_second": median,
            "relative_cost": {k: median["plain"] / v for k, v in median.items()}}


def ablation_preset(epochs: int, seeds) -> Preset:
    """The "cpu" preset on every training beat (no subsample), fold 0, ``epochs``, ``seeds``.

    ``max_train=None`` has to be set on the preset itself: as a keyword of
    :func:`~beatdetect.benchmark.run_benchmark` a None means "the preset's value" (5,000).
    """
    return get_preset("cpu").replace(max_train=None, folds=(0,), seeds=tuple(seeds),
                                     epochs=epochs)


def ablation_params(common: dict) -> dict:
    """Parameters per variant: ``common`` (the set-up chosen from the learning curves, as
    JSON data) under each variant's own flags."""
    common = params_from_data(common)
    return {label: {**common, **PARAMS.get(label, {})}
            for label in (model.split("=")[0] for model in VARIANTS)}


def plan(epochs: int, seeds, beats_per_second: float, n_jobs: int) -> str:
    """A table of the runs and the CPU hours they need at ``beats_per_second`` per job."""
    lines = ["| protocol | variant | runs | hours per run | hours |",
             "| --- | --- | ---: | ---: | ---: |"]
    total = 0.0
    for protocol, n_beats in TRAIN_BEATS.items():
        for variant, cost in RELATIVE_COST.items():
            hours = n_beats * epochs * cost / beats_per_second / 3600
            total += hours * len(seeds)
            lines.append(f"| {protocol} | {variant} | {len(seeds)} | {hours:.2f} | "
                         f"{hours * len(seeds):.1f} |")
    lines.append(f"\nTotal {total:.1f} CPU hours: {total / n_jobs:.1f} h of wall time with "
                 f"{n_jobs} jobs of one thread.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None,
                        help="folder holding mitdb/ (default: $BEATDETECT_DATA)")
    parser.add_argument("--out", default="results/ablation")
    parser.add_argument("--epochs", type=int, required=True,
                        help="the budget chosen from the learning curves' validation loss")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--params", default="{}",
                        help="JSON parameters given to every variant (the training set-up "
                        "chosen from the learning curves' validation loss), e.g. "
                        "'{\"lr\": 2e-4, \"early_stopping\": true}'")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--checkpoint-dir", default=str(DEFAULT_CHECKPOINTS),
                        help="per-epoch training checkpoints, outside git: a job stopped "
                        "mid-fit resumes after its last epoch (default: %(default)s)")
    parser.add_argument("--plan", action="store_true",
                        help="print the jobs' CPU time and stop")
    parser.add_argument("--report", action="store_true",
                        help="write the results files of the finished jobs and stop")
    parser.add_argument("--measure-cost", action="store_true",
                        help="time a short fit of each variant (one run) and stop")
    parser.add_argument("--beats-per-second", type=float, default=310.0,
                        help="training throughput of one job, for --plan (measured: 310 "
                        "beats/s, plain BeatGAN, bfloat16, one Zen 4 thread)")
    args = parser.parse_args(argv)
    if args.measure_cost:
        print(json.dumps(measure_cost(data_home=args.data_home), indent=1))
        return
    if args.plan:
        print(plan(args.epochs, args.seeds, args.beats_per_second, args.n_jobs))
        return
    result = run_benchmark(
        args.out, ablation_preset(args.epochs, args.seeds),
        models=MODELS, params=ablation_params(json.loads(args.params)),
        data_home=args.data_home, n_jobs=args.n_jobs, order="split", plots=False,
        max_jobs=0 if args.report else None,
        # The journal is committed, the score files are not: its rows are the record.
        scores_required=False, checkpoint_dir=args.checkpoint_dir,
    )
    print(result.markdown)


if __name__ == "__main__":
    main()

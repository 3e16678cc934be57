"""Reproducible benchmark of beat anomaly detectors on MIT-BIH.

Protocols (:mod:`~beatdetect.benchmark.protocols`): BeatGAN's intra-patient 5-fold
protocol and de Chazal's inter-patient DS1 -> DS2 protocol, both training on normal beats
only. Budgets (:data:`PRESETS`): ``quick`` (minutes on a laptop CPU), ``cpu`` (a fuller
CPU run) and ``paper`` (BeatGAN's published budget, for GPUs). Jobs run locally or on a
Dask cluster (:mod:`beatdetect.parallel`) and are saved one by one, so an interrupted run
resumes. Results: JSON, CSV, Markdown tables and PNG figures; ``render_markdown`` turns a
committed ``results.json`` into the README's table.

Command line: ``beatdetect benchmark --preset quick`` and ``beatdetect report FILE``.
"""

from .jobs import Job, ResultsStore, fit_and_score, plan_jobs
from .presets import DEFAULT_MODELS, PRESETS, PROTOCOLS, Preset, get_preset
from .protocols import load_benchmark_data, split_indices, subsample_train
from .reporting import (
    describe_budget,
    load_results,
    render_markdown,
    summarize,
    update_readme,
    write_results,
)
from .runner import BenchmarkResult, run_benchmark

__all__ = [
    "DEFAULT_MODELS",
    "PRESETS",
    "PROTOCOLS",
    "BenchmarkResult",
    "Job",
    "Preset",
    "ResultsStore",
    "describe_budget",
    "fit_and_score",
    "get_preset",
    "load_benchmark_data",
    "load_results",
    "plan_jobs",
    "render_markdown",
    "run_benchmark",
    "split_indices",
    "subsample_train",
    "summarize",
    "update_readme",
    "write_results",
]

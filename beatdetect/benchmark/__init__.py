"""Reproducible benchmark of beat anomaly detectors on MIT-BIH.

Protocols (:mod:`~beatdetect.benchmark.protocols`): BeatGAN's intra-patient 5-fold
protocol and de Chazal's inter-patient DS1 -> DS2 protocol, both training on normal beats
only. Each detector runs in two settings: on the *beats alone* (the published protocol)
and *with context* (``NAME+context``: the beat's recording and RR intervals), shown as two
tables. Budgets (:data:`PRESETS`): ``quick`` (minutes on a laptop CPU), ``cpu`` (a fuller
CPU run) and ``paper`` (BeatGAN's published budget, for GPUs). Jobs run locally or on a
Dask cluster (:mod:`beatdetect.parallel`) and are saved one by one, so an interrupted run
resumes. Results: JSON, CSV, Markdown tables and PNG figures; ``render_markdown`` turns a
committed ``results.json`` into the README's table.

Modules: :mod:`~beatdetect.benchmark.protocols` (splits), :mod:`~beatdetect.benchmark.presets`
(budgets), :mod:`~beatdetect.benchmark.jobs` (one fit-and-score, the results store),
:mod:`~beatdetect.benchmark.runner` (the whole run), :mod:`~beatdetect.benchmark.statistics`
(means, spreads, paired differences), :mod:`~beatdetect.benchmark.rendering` (Markdown),
:mod:`~beatdetect.benchmark.files` (JSON, CSV, the README section; atomic writes) and
:mod:`~beatdetect.benchmark.figures` (PNG).

Command line: ``beatdetect benchmark --preset quick`` and ``beatdetect report FILE``.
"""

from .files import load_results, update_readme, write_results
from .jobs import Job, ResultsStore, fit_and_score, plan_jobs
from .presets import DEFAULT_MODELS, PRESETS, PROTOCOLS, Preset, get_preset
from .protocols import load_benchmark_data, split_indices, subsample_train
from .rendering import describe_budget, render_markdown
from .runner import BenchmarkResult, cpu_model, run_benchmark
from .statistics import paired_differences, summarize

__all__ = [
    "DEFAULT_MODELS",
    "PRESETS",
    "PROTOCOLS",
    "BenchmarkResult",
    "Job",
    "Preset",
    "cpu_model",
    "ResultsStore",
    "describe_budget",
    "fit_and_score",
    "get_preset",
    "load_benchmark_data",
    "load_results",
    "paired_differences",
    "plan_jobs",
    "render_markdown",
    "run_benchmark",
    "split_indices",
    "subsample_train",
    "summarize",
    "update_readme",
    "write_results",
]

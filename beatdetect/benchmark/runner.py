"""``run_benchmark``: plan the jobs, run the missing ones, write every output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import jobs as _jobs
from .figures import write_plots
from .files import job_row, write_results
from .jobs import ResultsStore, plan_jobs
from .presets import get_preset
from .protocols import data_fingerprint, load_benchmark_data, split_indices, subsample_train
from .rendering import render_markdown

__all__ = ["BenchmarkResult", "cpu_model", "run_benchmark"]


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` produced.

    Attributes
    ----------
    rows : list of dict
        One row per job of the plan (finished now or in an earlier run), in plan order.
    markdown : str
        The rendered tables (also in ``results.md``).
    paths : dict of str to Path
        ``json``, ``csv``, ``markdown`` and ``journal`` files.
    figures : list of Path
        PNG files written.
    n_run, n_skipped : int
        Jobs run now, and jobs found finished in the output folder (resumed).
    wall_seconds : float
    """

    rows: list
    markdown: str
    paths: dict
    figures: list
    n_run: int
    n_skipped: int
    wall_seconds: float


def cpu_model() -> str:
    """The CPU's model name, recorded with every timing (speeds compare only on one CPU).

    The same reader as :func:`beatdetect._device.cpu_name`, which keys the precision
    choice of ``mixed_precision="auto"``.

    Examples
    --------
    >>> isinstance(cpu_model(), str)
    True
    """
    from .._device import cpu_name

    return cpu_name()


def _environment(threads_per_job: int) -> dict:
    import sklearn
    import torch

    from .. import __version__
    from .._device import cpu_supports_bf16

    return {"beatdetect": __version__, "python": sys.version.split()[0],
            "numpy": np.__version__, "torch": torch.__version__,
            "scikit-learn": sklearn.__version__, "platform": platform.platform(),
            "cpu": cpu_model(), "cpu_bfloat16": cpu_supports_bf16(), "cpu_count": os.cpu_count(),
            "threads_per_job": threads_per_job}


def _previous_sessions(out_dir: Path) -> list[dict]:
    try:
        meta = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))["meta"]
        return list(meta.get("sessions", []))
    except (OSError, ValueError, KeyError, TypeError):
        return []


def run_benchmark(out_dir, preset="quick", *, models=None, params=None, data=None,
                  data_home=None, records=None, cache_dir=None, download=True, n_jobs=1,
                  scheduler=None, plots=True, progress=True, order="split",
                  transfer_home=None, max_jobs=None, scores_required=True,
                  checkpoint_dir=None, **overrides) -> BenchmarkResult:
    """Benchmark detectors on MIT-BIH under BeatGAN's and de Chazal's protocols.

    Every (protocol, fold, seed, model) is a job: fit the detector on normal training beats
    only (no labels reach ``fit``; nothing is selected on labels), score the test beats,
    compute anomaly-positive AUC and AP overall and per AAMI class. Finished jobs are saved
    one by one in ``out_dir``; running again with the same arguments skips them, so an
    interrupted run resumes where it stopped.

    Outputs in ``out_dir``: ``results.json`` (rows and run metadata), ``results.csv`` (one
    row per job), ``results.md`` (mean ± std tables), ``roc_pr_*.png`` and ``hist_*.png``,
    and the journal ``results.jsonl`` with ``scores/`` used for resuming.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created).
    preset : {"quick", "cpu", "paper"} or Preset, default="quick"
        Budget (:data:`~beatdetect.benchmark.PRESETS`).
    models : sequence of str, optional
        Detector names of :func:`beatdetect.baselines.make_detector` (``"knn"`` on beats
        alone, ``"knn+context"`` in context, ``"template"``, ``"rhythm"``), or
        ``"label=name"``; default: the preset's
        (:data:`~beatdetect.benchmark.DEFAULT_MODELS`, every detector in both settings).
    params : dict of str to dict, optional
        Parameters per model label, e.g. ``{"sibeatgan": {"distill__w_kd": 2.0}}`` or
        ``{"knn+context": {"detector__n_neighbors": 3, "w_rhythm": 0.5}}``.
    data : Bunch, optional
        Beats to use instead of MIT-BIH: ``X``, ``y`` and, for per-class results ``aami``,
        for the inter-patient protocol ``record`` (e.g.
        :func:`~beatdetect.datasets.make_synthetic_beats`).
    data_home : path-like, optional
        Folder holding ``mitdb/`` (default ``BEATDETECT_DATA``, then ``~/beatdetect_data``).
    transfer_home : path-like, optional
        Folder holding ``qtdb/`` for the ``"transfer"`` protocol; default ``data_home``.
    records : sequence of str, optional
        Load only these MIT-BIH records (default all 44 non-paced ones).
    cache_dir : path-like, optional
        Cache of preprocessed beats.
    download : bool, default=True
        Download MIT-BIH from PhysioNet when it is not in the data home.
    n_jobs : int, default=1
        Local processes running jobs side by side (each with one thread).
    scheduler : str, distributed.Client or cluster, optional
        Run the jobs on this Dask cluster instead (``"tcp://host:8786"``).
    plots : bool, default=True
        Write the PNG figures.
    progress : bool, default=True
        Progress bars (loading and jobs) on stderr; the first job run here (``n_jobs=1``)
        also shows its detector's own progress (a bar with an ETA inside each epoch). False
        prints nothing.
    order : {"split", "model"}, default="split"
        Order of the pending jobs: ``"split"`` runs every model of a (protocol, fold,
        seed) before the next; ``"model"`` runs one model on every split before the next
        model, in the order the models are named, so that a long run interrupted half-way
        leaves whole rows (all folds and seeds) for the first models rather than a few
        splits of all.
    max_jobs : int, optional
        Run at most this many of the pending jobs; ``0`` runs none and only writes the
        results files of the finished ones (marked incomplete), e.g. to render the tables
        of a long run that another process is still extending.
    scores_required : bool, default=True
        False counts a journal row with every metric as finished without its scores file
        (:class:`~beatdetect.benchmark.ResultsStore`): for long runs whose journal is
        committed and whose score files are not.
    checkpoint_dir : path-like, optional
        Folder of per-epoch training checkpoints (``checkpoint_dir`` of
        :class:`~beatdetect.SIBeatGANDetector`, set on every detector that has one): a job
        stopped mid-fit with the process resumes after its last finished epoch when the run
        is started again, with the result it would have had. Not part of the jobs' keys.
    **overrides
        Fields of the preset to change: ``protocols``, ``folds``, ``seeds``,
        ``max_train``, ``epochs``, ``batch_size``, ``n_folds``, ``model_params``.

    Returns
    -------
    result : BenchmarkResult

    Raises
    ------
    DataNotFoundError
        MIT-BIH is missing and cannot be downloaded; the message says how to point the
        benchmark at a local copy.
    ValueError
        Unknown preset, model, parameter or parameter value, before any job runs.

    Examples
    --------
    >>> from beatdetect.benchmark import run_benchmark
    >>> result = run_benchmark("results/quick", "quick")  # doctest: +SKIP
    >>> print(result.markdown)  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    from ..parallel import run_jobs

    if order not in ("split", "model"):
        raise ValueError(f"order must be 'split' or 'model', got {order!r}.")
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    preset = get_preset(preset, **overrides)
    out_dir = Path(out_dir)
    if data is None:
        transfer = "transfer" in preset.protocols
        data = load_benchmark_data(data_home, records=records, cache_dir=cache_dir,
                                   download=download, verbose=progress, transfer=transfer,
                                   transfer_home=transfer_home)
        data_name = "MIT-BIH Arrhythmia Database" + (
            " + QT Database (transfer)" if transfer else "")
    else:
        data_name = str(getattr(data, "name", "user data"))
    labels = getattr(data, "aami", None)
    labels = np.asarray(data.y if labels is None else labels)
    planned = plan_jobs(preset, models, params, data_id=data_fingerprint(data))

    store = ResultsStore(out_dir, scores_required=scores_required)
    done = store.rows()
    if max_jobs is not None and (isinstance(max_jobs, bool) or int(max_jobs) != max_jobs
                                 or max_jobs < 0):
        raise ValueError(f"max_jobs must be a whole number >= 0 or None, got {max_jobs!r}.")
    pending = [job for job in planned if job.key not in done]
    if order == "model":
        rank = {label: i for i, label in enumerate(dict.fromkeys(j.model for j in planned))}
        pending.sort(key=lambda job: rank[job.model])  # stable: splits stay in plan order
    n_finished = len(planned) - len(pending)
    if max_jobs is not None:
        pending = pending[:max_jobs]
    splits = {}
    tasks = []
    for job in pending:
        split_key = (job.protocol, job.fold, job.seed)
        if split_key not in splits:
            train, test = split_indices(data, job.protocol, job.fold, n_folds=preset.n_folds)
            splits[split_key] = (subsample_train(train, preset.max_train, seed=job.seed,
                                                 fold=job.fold), test)
        train, test = splits[split_key]
        # Until the first job ends the jobs bar has no ETA: that job shows its own progress
        # (a bar with an ETA inside each epoch) when it runs here, in this process.
        verbose = 2 if (progress and not tasks and n_jobs == 1 and scheduler is None) else None
        tasks.append((job.detector, job.params, job.seed, data.X, train, test,
                      getattr(data, "record", None), getattr(data, "rr", None), verbose,
                      checkpoint_dir))

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "preset": preset.to_dict(),
        "models": [list(m) for m in dict.fromkeys((j.model, j.detector) for j in planned)],
        "data": {"name": data_name, "records": sorted(set(np.asarray(
                     getattr(data, "record", np.array([])), dtype=str).tolist())),
                 "n_beats": int(len(data.X)), "fingerprint": planned[0].data},
        "n_jobs": n_jobs if scheduler is None else None,
        "scheduler": None if scheduler is None else str(getattr(scheduler, "scheduler_address",
                                                               scheduler)),
        "environment": _environment(threads_per_job=1),
    }

    def current_rows():
        finished = store.rows()
        return [finished[job.key] for job in planned if job.key in finished]

    def write_outputs(n_run: int, interrupted: bool):
        rows = current_rows()
        # Sessions that ran jobs into this folder: an interrupted run and its resumption
        # are two; a rerun with nothing left to do only re-renders the outputs.
        sessions = _previous_sessions(out_dir)
        if n_run:
            sessions.append({"started": started_at, "n_run": n_run,
                             "wall_seconds": time.perf_counter() - started,
                             "interrupted": interrupted})
        meta["sessions"] = sessions
        meta["wall_seconds"] = sum(s["wall_seconds"] for s in sessions) if sessions else None
        meta["n_run"], meta["n_resumed"] = n_run, n_finished
        meta["complete"] = len(rows) == len(planned)
        meta["n_planned"], meta["n_finished"] = len(planned), len(rows)
        return rows, write_results(out_dir, rows, meta)

    bar = tqdm(total=len(planned), initial=n_finished, desc="benchmark",
               unit="job", disable=not progress, dynamic_ncols=True)
    n_run = 0
    try:
        for index, result in run_jobs(_jobs.fit_and_score, tasks, n_jobs=n_jobs,
                                      scheduler=scheduler):
            job = pending[index]
            test = splits[(job.protocol, job.fold, job.seed)][1]
            row = job_row(job, result, labels[test])
            store.add(row, result["scores"], labels[test])
            n_run += 1
            bar.set_postfix_str(f"{job.model} {job.protocol} f{job.fold} s{job.seed} "
                                f"AUC {row['auc']:.3f}")
            bar.update()
    except BaseException:
        if n_run:  # keep the partial tables in step with the journal
            write_outputs(n_run, interrupted=True)
        raise
    finally:
        bar.close()

    rows, paths = write_outputs(n_run, interrupted=False)
    paths["journal"] = store.journal
    figures = write_plots(out_dir, rows, store) if plots else []
    return BenchmarkResult(rows=rows, markdown=render_markdown(
        {"meta": meta, "rows": rows}), paths=paths, figures=figures, n_run=n_run,
        n_skipped=n_finished, wall_seconds=meta["wall_seconds"])

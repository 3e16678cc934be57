"""Benchmark jobs: planning them, running one, and remembering the finished ones.

A job is one (protocol, fold, seed, model): fit a detector on the training beats, score
the test beats. The job function :func:`fit_and_score` never sees a label (it receives the
beats and the positions of the training and test beats), so no label can leak into
training or model selection; metrics are computed afterwards by the caller.

:class:`ResultsStore` keeps the finished jobs of an output folder: every job's scores go to
``scores/<key>.npz`` and its row to the journal ``results.jsonl``, each written to a
temporary file and moved into place (:func:`~beatdetect.benchmark.files.atomic_write`), so
an interrupted run leaves only whole results behind and a rerun skips every job whose key is
in the journal.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import atomic_write

__all__ = ["Job", "ResultsStore", "build_detector", "fit_and_score", "plan_jobs"]


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def _make_detector(name, **params):
    from ..baselines import make_detector  # late: importing the baselines imports torch

    return make_detector(name, **params)


@dataclass(frozen=True)
class Job:
    """One fit-and-score of the benchmark.

    Attributes
    ----------
    protocol : str
    fold : int
    seed : int
    model : str
        Label of the model in the results (the detector name unless renamed,
        ``--model noadv=sibeatgan``).
    detector : str
        Name given to :func:`beatdetect.baselines.make_detector`.
    params : dict
        Constructor parameters (``random_state`` excluded: it is ``seed``).
    max_train : int or None
    n_folds : int
    data : str
        Fingerprint of the beats (:func:`~beatdetect.benchmark.protocols.data_fingerprint`).
    """

    protocol: str
    fold: int
    seed: int
    model: str
    detector: str
    params: dict = field(default_factory=dict, hash=False)
    max_train: int | None = None
    n_folds: int = 5
    data: str = ""

    @property
    def key(self) -> str:
        """Stable id of everything that determines the job's result."""
        spec = {"protocol": self.protocol, "fold": self.fold, "seed": self.seed,
                "detector": self.detector, "params": self.params,
                "max_train": self.max_train, "n_folds": self.n_folds, "data": self.data}
        digest = hashlib.sha256(_canonical(spec).encode()).hexdigest()[:12]
        return f"{self.protocol}-f{self.fold}-s{self.seed}-{self.model}-{digest}"


def _accepted_params(detector: str) -> set[str]:
    from ..baselines import detector_params  # late, as in _make_detector

    return detector_params(detector)


def plan_jobs(preset, models=None, params=None, *, data_id: str = "") -> list[Job]:
    """Every job of a preset, in a stable order (protocol, fold, seed, model).

    Parameters
    ----------
    preset : Preset
    models : sequence of str, optional
        Model specs: a detector name (``"pca"``) or ``"label=name"`` to run a detector
        under another label (e.g. twice with different parameters). Default
        ``preset.models``.
    params : dict of str to dict, optional
        Parameters per model label, over the preset's defaults (``preset.model_params`` by
        label, else by detector name; ``epochs`` as ``max_epochs``, ``batch_size``, or
        ``detector__max_epochs`` and ``detector__batch_size`` for a ``NAME+context``).
    data_id : str
        Fingerprint of the beats, part of each job's key.

    Returns
    -------
    jobs : list of Job

    Raises
    ------
    ValueError
        Unknown detector, parameter or parameter value (checked before anything runs).
    """
    specs = _parse_models(preset.models if models is None else models)
    params = dict(params or {})
    labels = {label for label, _ in specs}
    stray = sorted(set(params) - labels)
    if stray:
        raise ValueError(
            f"Parameters given for {stray}, which are not benchmarked models "
            f"({', '.join(label for label, _ in specs)})."
        )
    resolved = {}
    for label, name in specs:
        accepted = _accepted_params(name)
        # The preset's parameters for this label (``knn_context``), else for the detector.
        merged = dict(preset.model_params.get(label, preset.model_params.get(name, {})))
        for key, value in (("max_epochs", preset.epochs), ("batch_size", preset.batch_size)):
            # A detector's own budget, or the wrapped detector's of a ``+context`` name.
            for name_ in (key, f"detector__{key}"):
                if value is not None and name_ in accepted:
                    merged[name_] = value
        merged.update(params.get(label, {}))
        unknown = sorted(set(merged) - accepted)
        if unknown:
            raise ValueError(
                f"Model {label!r} ({name}) has no parameter(s) {unknown}; its parameters are "
                f"{', '.join(sorted(accepted))}."
            )
        merged.pop("random_state", None)
        detector = _make_detector(name, **merged)
        if hasattr(detector, "_validate_params"):
            try:
                detector._validate_params()
            except (ValueError, TypeError) as err:
                raise ValueError(f"Model {label!r}: {err}") from err
        resolved[label] = (name, merged)

    jobs = []
    for protocol in preset.protocols:
        folds = preset.folds if protocol == "intra" else (0,)
        for fold in folds:
            for seed in preset.seeds:
                for label, (name, merged) in resolved.items():
                    jobs.append(Job(protocol=protocol, fold=int(fold), seed=int(seed),
                                    model=label, detector=name, params=merged,
                                    max_train=preset.max_train, n_folds=preset.n_folds,
                                    data=data_id))
    return jobs


def _parse_models(models) -> list[tuple[str, str]]:
    if isinstance(models, str):
        models = [models]
    specs, seen = [], set()
    for spec in models:
        label, _, name = str(spec).partition("=")
        label, name = (label.strip(), name.strip()) if name else (label.strip(), label.strip())
        if not label or not name:
            raise ValueError(f"Bad model {spec!r}: use NAME or LABEL=NAME.")
        if label in seen:
            raise ValueError(f"Model {label!r} is given twice; rename one with LABEL=NAME.")
        seen.add(label)
        specs.append((label, name.lower()))
    if not specs:
        raise ValueError("No model to benchmark.")
    return specs


def _set_everywhere(det, name: str, value) -> None:
    """Set parameter ``name`` of ``det`` and of every detector it wraps (``detector__name``)."""
    det.set_params(**{key: value for key in det.get_params()
                      if key == name or key.endswith(f"__{name}")})


def build_detector(detector: str, params: dict, seed: int, verbose: int | None = None,
                   checkpoint_dir=None):
    """The unfitted detector of a job, seeded with ``seed``.

    Every ``random_state`` it has is set, the wrapped detector's of a ``+context`` name
    (``detector__random_state``) included. ``verbose`` (when given and the detector has
    one) only changes what it prints, and ``checkpoint_dir`` (when given and the detector
    trains in epochs) only where an interrupted fit resumes from, so neither is part of the
    job's parameters or key.
    """
    det = _make_detector(detector, **params)
    _set_everywhere(det, "random_state", seed)
    if verbose is not None:
        _set_everywhere(det, "verbose", verbose)
    if checkpoint_dir is not None:
        _set_everywhere(det, "checkpoint_dir", str(checkpoint_dir))
    return det


def _takes_context(detector: str) -> bool:
    from ..baselines.registry import is_context_detector  # late, as in _make_detector

    return is_context_detector(detector)


def fit_and_score(detector: str, params: dict, seed: int, X, train_idx, test_idx,
                  groups=None, rr=None, verbose: int | None = None,
                  checkpoint_dir=None) -> dict:
    """Fit a detector on ``X[train_idx]`` and score ``X[test_idx]``: one benchmark job.

    Receives no labels. Runs on a local process or a Dask worker; the caller limits threads.
    ``groups`` (the record of each beat) and ``rr`` (its RR intervals) are the beats'
    context: passed to ``fit`` and ``score_samples`` of a context detector (``NAME+context``,
    ``template``, ``rhythm``), never to a detector of beats alone (the published protocol,
    which sees the beat window only). ``verbose`` sets the detector's own progress output
    (e.g. 2: a bar with an ETA inside each epoch), without changing its result.
    ``checkpoint_dir`` is the folder of per-epoch checkpoints of detectors that take one
    (:class:`~beatdetect.SIBeatGANDetector`): a job interrupted mid-fit resumes after its
    last finished epoch, with the same result.

    Returns
    -------
    result : dict
        ``scores`` (``score_samples`` of the test beats, float64), ``offset`` (the
        detector's threshold), ``fit_seconds``, ``score_seconds``, ``n_train``, ``n_test``,
        ``n_iter`` (epochs run, when the detector, or the detector a context wrapper
        holds, reports them; so for the next three), ``precision`` (the
        arithmetic it trained in, when it reports it: it changes the scores), ``history``
        (the detector's per-epoch losses, when it keeps them, for diagnosing a result),
        ``resumed_epochs`` (epochs restored from ``checkpoint_dir``, when the detector
        takes one; their training time is in ``fit_seconds``).
    """
    det = build_detector(detector, params, seed, verbose, checkpoint_dir)
    in_context = _takes_context(detector)

    def context(index):
        if not in_context:
            return {}
        return {"groups": None if groups is None else np.asarray(groups)[index],
                "rr": None if rr is None else np.asarray(rr)[index]}

    X_train = np.asarray(X[train_idx])
    start = time.perf_counter()
    det.fit(X_train, **context(train_idx))
    # Epochs restored from a checkpoint trained in an earlier process: counted in.
    fit_seconds = time.perf_counter() - start + _fitted(det, "resumed_seconds_", 0.0)
    X_test = np.asarray(X[test_idx])
    start = time.perf_counter()
    scores = np.asarray(det.score_samples(X_test, **context(test_idx)), dtype=np.float64)
    score_seconds = time.perf_counter() - start
    return {
        "scores": scores,
        "offset": float(getattr(det, "offset_", np.nan)),
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
        "n_train": len(X_train),
        "n_test": len(X_test),
        # Read through a context wrapper too: its BeatGAN's arithmetic changes the scores.
        "n_iter": _fitted(det, "n_iter_", None),
        "precision": _fitted(det, "training_precision_", None),
        "history": _fitted(det, "history_", None),
        "resumed_epochs": _fitted(det, "resumed_epochs_", None),
    }


def _fitted(det, name: str, default):
    """Fitted attribute ``name`` of ``det`` or of the detector it wraps, else ``default``."""
    for obj in (det, getattr(det, "detector_", None)):
        if obj is not None and hasattr(obj, name):
            return getattr(obj, name)
    return default


class ResultsStore:
    """Finished jobs of an output folder: the journal ``results.jsonl`` and ``scores/``.

    Parameters
    ----------
    out_dir : path-like
        The benchmark's output folder (created when needed).
    scores_required : bool, default=True
        Whether a finished job needs its scores file. False for long runs whose journal is
        committed without the (large) score files: a row with every metric is then
        finished even on a machine that never had its scores, and only its figures are
        missing.
    """

    JOURNAL = "results.jsonl"
    SCORES = "scores"

    def __init__(self, out_dir, *, scores_required=True):
        self.out_dir = Path(out_dir)
        self.scores_required = bool(scores_required)
        self.journal = self.out_dir / self.JOURNAL
        self.scores_dir = self.out_dir / self.SCORES
        self._checked: dict[str, tuple] = {}  # key -> (mtime, size) of its checked scores

    def rows(self) -> dict[str, dict]:
        """Rows of the finished jobs by key (the last one wins if a key repeats), checked.

        Every row goes through :func:`~beatdetect.benchmark.files.check_row` and its scores
        file through :func:`~beatdetect.benchmark.files.check_scores_file`. A row without a
        metric, or whose scores file is missing (unless ``scores_required`` is False), is not
        a finished job: it is left out (so
        the job runs again on resume) with a warning naming the line, never a silent gap in
        the tables.

        Raises
        ------
        DataError
            A line of the journal is not a JSON row, a metric of a row is not a number, or a
            scores file is damaged. The message names the file and the line, and says how
            to recover.
        """
        import warnings

        from ..exceptions import DataError
        from .files import check_row, check_scores_file

        if not self.journal.is_file():
            return {}
        rows, gaps = {}, {}
        text = self.journal.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{self.journal} line {number}"
            recover = (f"To recover, delete line {number} (that job runs again on resume), "
                       f"or delete the folder {self.out_dir} to start the benchmark over.")
            try:
                row = json.loads(line)
                missing = check_row(row, where)
            except ValueError as err:  # json.JSONDecodeError and DataError are ValueErrors
                # The journal is only ever replaced whole (atomically), so even a torn last
                # line cannot come from an interrupted run: it is damage from outside, and
                # guessing which jobs finished could mix results. Stop and say how to fix it.
                reason = str(err).removeprefix(f"{where}: ")
                raise DataError(
                    f"The benchmark journal {self.journal} is damaged at line {number}: "
                    f"{reason.rstrip('.')}. "
                    f"beatdetect replaces this file atomically, so it was changed from outside "
                    f"(a disk error, an editor, an incomplete copy). {recover}"
                ) from err
            problem = (f"has no {', '.join(missing)}" if missing else None)
            path = self.scores_path(row["key"])
            if problem is None and not path.is_file():
                if not self.scores_required:
                    rows[row["key"]] = row
                    gaps.pop(row["key"], None)
                    continue
                problem = f"has no scores file ({path.name} is missing)"
            if problem is not None:
                rows.pop(row["key"], None)
                gaps[row["key"]] = (f"{where} ({row['model']}, {row['protocol']}) {problem}: "
                                    "the job is not counted as finished and runs again on "
                                    "resume.")
                continue
            stamp = (path.stat().st_mtime_ns, path.stat().st_size)
            if self._checked.get(row["key"]) != stamp:  # each file read once, not per call
                check_scores_file(path, row.get("n_test"), where)
                self._checked[row["key"]] = stamp
            rows[row["key"]] = row
            gaps.pop(row["key"], None)  # a later line ran the job again
        for message in gaps.values():
            warnings.warn(message, UserWarning, stacklevel=2)
        return rows

    def scores_path(self, key: str) -> Path:
        return self.scores_dir / f"{key}.npz"

    def add(self, row: dict, scores: np.ndarray, labels: np.ndarray) -> None:
        """Record a finished job: its scores and test labels, then its row (atomically)."""
        import io

        buffer = io.BytesIO()
        np.savez_compressed(buffer, scores=np.asarray(scores, dtype=np.float64),
                            labels=np.asarray(labels).astype(str))
        atomic_write(self.scores_path(row["key"]), buffer.getvalue())
        previous = self.journal.read_bytes() if self.journal.is_file() else b""
        if previous and not previous.endswith(b"\n"):
            previous += b"\n"
        line = (json.dumps(row, sort_keys=False, allow_nan=True) + "\n").encode("utf-8")
        atomic_write(self.journal, previous + line)

    def load_scores(self, key: str):
        """``(scores, labels)`` of a finished job, checked, or None when the file is missing.

        Raises
        ------
        DataError
            The file is damaged (see :func:`~beatdetect.benchmark.files.check_scores_file`).
        """
        from .files import check_scores_file

        path = self.scores_path(key)
        if not path.is_file():
            return None
        return check_scores_file(path)

"""The ``beatdetect`` command: flags in, library calls out.

::

    beatdetect benchmark --preset quick --model sibeatgan --model pca --out results/quick
    beatdetect report results/quick/results.json [--readme README.md [--check]]
    beatdetect fit --records 100 101 103 --epochs 10 --out model.safetensors
    beatdetect score 105 --model model.safetensors --out-csv 105.csv --out-png 105.png

The work is done by library functions Python users can call too:
:func:`beatdetect.datasets.training_beats` and
:class:`~beatdetect.context.ContextDetector` (``fit``),
:func:`beatdetect.record_scoring.score_record`,
:func:`beatdetect.record_scoring.write_scores_csv` and
:func:`beatdetect.plotting.plot_scored_record` (``score``),
:func:`beatdetect.benchmark.run_benchmark` (``benchmark``); this module turns flags into
those calls and prints what they return.

Errors (a missing file, a bad flag value, data that cannot be found) print one line and
return a non-zero exit code, without a traceback (``--traceback`` shows it); Ctrl-C at any
moment prints one line and returns 130. Every output (its folder, its name, its format) and
every parameter is checked before any data is read, so a typo in ``--out`` never throws
away a trained model; each output is written to a temporary file and renamed into place,
and the command says when it replaces an existing file.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

__all__ = ["build_parser", "main"]

#: Exit codes: success, error, usage error (argparse), interrupted (128 + SIGINT).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# --------------------------------------------------------------------------- value parsing
def parse_value(text: str):
    """A flag value as a Python value: numbers, true/false/null, JSON, else the string.

    Examples
    --------
    >>> [parse_value(v) for v in ("3", "1e-4", "true", "None", "[1, 2]", "cpu")]
    [3, 0.0001, True, None, [1, 2], 'cpu']
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_assignment(text: str) -> tuple[str, object]:
    """``"key=value"`` -> ``("key", parsed value)``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"Bad parameter {text!r}: write KEY=VALUE, e.g. w_adv=1.0.")
    return key.strip(), parse_value(value.strip())


def parse_model_params(assignments) -> dict[str, dict]:
    """``["sibeatgan.w_adv=1.0", ...]`` -> ``{"sibeatgan": {"w_adv": 1.0}}``."""
    params: dict[str, dict] = {}
    for text in assignments or ():
        key, value = parse_assignment(text)
        model, dot, name = key.partition(".")
        if not dot or not model or not name:
            raise ValueError(
                f"Bad parameter {text!r}: write MODEL.KEY=VALUE, e.g. sibeatgan.w_adv=1.0."
            )
        params.setdefault(model, {})[name] = value
    return params


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _max_train(text: str):
    return None if text.lower() in {"all", "none"} else _positive_int(text)


def _positive_float(text: str) -> float:
    """A finite number above zero (``nan``, ``inf`` and ``-5`` are refused by argparse)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _fraction(text: str) -> float:
    """A share of beats in (0, 0.5]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 0.5], got {text!r}")
    return value


def _contamination(text: str):
    """``auto`` or a fraction in (0, 0.5], as the detectors' ``contamination``."""
    return "auto" if text.strip().lower() == "auto" else _fraction(text)


def _n_jobs(text: str) -> int:
    """joblib's ``n_jobs``: a positive count, or negative to count back from all cores."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"expected a non-zero integer (N processes, or -1 for all cores), got {text!r}")
    return value


# --------------------------------------------------------------------------- output paths
def check_output_file(path, flag: str) -> Path:
    """Fail now, in one line, if ``path`` cannot be written: before hours of training.

    The file's folder must exist and be writable, and ``path`` must not be a folder.

    Parameters
    ----------
    path : str or path-like
        The file the command will write.
    flag : str
        The flag that named it (``"--out"``), quoted in the error.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    OSError
        ``FileNotFoundError``, ``NotADirectoryError``, ``IsADirectoryError`` or
        ``PermissionError``, with a message saying what to change.
    """
    from .datasets._home import is_writable_dir

    path = Path(path).expanduser()
    folder = path.parent
    if path.is_dir():
        raise IsADirectoryError(f"{flag} {path} is a folder; give a file name inside it.")
    if not folder.exists():
        raise FileNotFoundError(
            f"{flag} {path}: folder {folder} does not exist. Create it first (mkdir -p "
            f"{folder}) or choose another path.")
    if not folder.is_dir():
        raise NotADirectoryError(f"{flag} {path}: {folder} is not a folder.")
    if not is_writable_dir(folder):
        raise PermissionError(f"{flag} {path}: folder {folder} is not writable.")
    return path


def check_output_dir(path, flag: str) -> Path:
    """Fail now if folder ``path`` can neither be written nor created (missing parents too).

    Parameters
    ----------
    path : str or path-like
        The folder the command will create or write into.
    flag : str
        The flag that named it, quoted in the error.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    OSError
        ``NotADirectoryError`` or ``PermissionError``, saying what to change.
    """
    from .datasets._home import is_writable_dir

    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{flag} {path} is a file, not a folder.")
    if not is_writable_dir(path):
        ancestor = next(p for p in (path, *path.parents) if p.exists())
        reason = ("is not a folder" if not ancestor.is_dir() else "is not writable")
        raise PermissionError(f"{flag} {path} cannot be written: {ancestor} {reason}.")
    return path


def figure_formats() -> set[str]:
    """Suffixes matplotlib can save a figure as (``png``, ``pdf``, ``svg``...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return set(FigureCanvasBase.get_supported_filetypes())


def check_figure_file(path, flag: str) -> Path:
    """:func:`check_output_file`, and the suffix must be a format matplotlib writes."""
    path = check_output_file(path, flag)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in figure_formats():
        raise ValueError(f"{flag} {path}: {path.suffix or 'no suffix'} is not an image format "
                         f"matplotlib writes; use one of "
                         f"{', '.join(sorted(figure_formats()))}, e.g. .png.")
    return path


def _replacing(args, path: Path) -> None:
    if path.exists():
        _note(args, f"Replacing the existing file {path}.")


def write_outputs(args, writers: dict) -> None:
    """Write every output through a temporary file, then rename them all into place.

    A failure while writing any output leaves every target as it was: nothing is renamed
    until all are written. Each file gets the mode of a new file (0666 minus the umask),
    like the model file.

    Parameters
    ----------
    args : argparse.Namespace
        For the notes (``--quiet``).
    writers : dict of Path to callable
        Each output path and a function writing the output to the path it is given.
    """
    from .benchmark.files import _umask

    temps = {}
    try:
        for path, write in writers.items():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                       suffix=path.suffix)
            os.close(fd)
            temps[path] = Path(tmp)
            write(temps[path])
            os.chmod(tmp, 0o666 & ~_umask())
        for path, tmp in temps.items():
            _replacing(args, path)
            os.replace(tmp, path)
    finally:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()


# --------------------------------------------------------------------------- benchmark
def cmd_benchmark(args) -> int:
    from .benchmark import describe_budget, get_preset, run_benchmark

    preset = get_preset(args.preset, protocols=args.protocol, folds=args.folds,
                        seeds=args.seeds, epochs=args.epochs, batch_size=args.batch_size,
                        models=args.model)
    if hasattr(args, "max_train"):  # absent unless given: None ("all") is a value
        preset = preset.replace(max_train=args.max_train)
    out = check_output_dir(args.out or Path("benchmark-results") / args.preset, "--out")
    with data_errors_for_the_command_line(args):
        result = run_benchmark(
            out, preset, params=parse_model_params(args.param), data_home=args.data_home,
            records=args.records, cache_dir=args.cache_dir, download=not args.no_download,
            n_jobs=args.n_jobs, scheduler=args.scheduler, plots=not args.no_plots,
            progress=not args.quiet, order=args.order, transfer_home=args.transfer_home,
            max_jobs=args.max_jobs, checkpoint_dir=args.checkpoint_dir,
        )
    print(result.markdown)
    resumed = f", {result.n_skipped} resumed from earlier runs" if result.n_skipped else ""
    _note(args, f"{result.n_run} jobs run{resumed}; {result.wall_seconds or 0:.0f} s of "
                f"benchmark wall time. {describe_budget(preset.to_dict())}")
    _note(args, f"Results in {out}/: results.json, results.csv, results.md, "
                f"{len(result.figures)} PNG figures (roc_pr_*.png, hist_*.png); results.jsonl "
                "and scores/ let a rerun resume.")
    return EXIT_OK


def cmd_report(args) -> int:
    from .benchmark import load_results, render_markdown, update_readme

    if args.out:
        check_output_file(args.out, "--out")
    if args.readme:
        changed = update_readme(args.readme, args.results, baseline=args.baseline,
                                check=args.check, per_class=args.per_class or None)
        if args.check:
            if changed:
                print(f"{args.readme}: the results section is stale; run `beatdetect report "
                      f"{args.results} --readme {args.readme}`.", file=sys.stderr)
                return EXIT_ERROR
            return EXIT_OK
        _note(args, f"{'Updated' if changed else 'Unchanged:'} {args.readme}")
        return EXIT_OK
    markdown = render_markdown(load_results(args.results), args.baseline, args.per_class)
    if args.out:
        out = Path(args.out).expanduser()
        write_outputs(args, {out: lambda tmp: tmp.write_text(markdown, encoding="utf-8")})
    else:
        print(markdown, end="")
    return EXIT_OK


# --------------------------------------------------------------------------- fit
#: Most weights the networks of ``beatdetect fit`` may have (float32: 4 GB), checked before
#: any beat is read: a typo such as base_filters=1000000000 fails at once, by name.
MAX_WEIGHTS = 10**9
#: Parameters that set the size of the networks or of a training batch.
SIZE_PARAMS = ("base_filters", "n_layers", "latent_dim")
#: Largest training mini-batch (beats) ``beatdetect fit`` accepts.
MAX_BATCH_SIZE = 2**20


def _n_weights(gan, n_leads: int = 1, length: int = 320) -> float:
    """Weights of the GAN's generator and discriminator, counted without allocating them."""
    import torch

    from .nn.networks import BeatGANConfig, Discriminator, Generator

    cfg = BeatGANConfig(n_leads=n_leads, length=length, base_filters=gan.base_filters,
                        n_layers=gan.n_layers, latent_dim=gan.latent_dim)
    try:
        with torch.device("meta"):  # shapes only: no memory is allocated
            nets = Generator(cfg), Discriminator(cfg)
    except (RuntimeError, OverflowError, ValueError):  # a size torch cannot even represent
        return math.inf
    return float(sum(p.numel() for net in nets for p in net.parameters()))


def check_sizes(gan) -> None:
    """Refuse network and batch sizes no machine can train, naming the parameter.

    Parameters
    ----------
    gan : SIBeatGANDetector
        Unfitted; its sizes are read from its parameters (one lead of 320 samples, the
        usual beat: the lead count and length change the count little).

    Raises
    ------
    ValueError
        The networks would have more than :data:`MAX_WEIGHTS` weights (the message names
        the size parameters responsible and their values), or ``batch_size`` is above
        :data:`MAX_BATCH_SIZE`.
    """
    from .gan import SIBeatGANDetector

    if gan.batch_size > MAX_BATCH_SIZE:
        raise ValueError(f"batch_size={gan.batch_size} is larger than any training set "
                         f"(at most {MAX_BATCH_SIZE:,} beats); use e.g. batch_size=64.")
    n = _n_weights(gan)
    if n <= MAX_WEIGHTS:
        return
    defaults = SIBeatGANDetector().get_params()
    # The parameters whose value alone (the others at their defaults) is too big.
    culprits = [name for name in SIZE_PARAMS
                if _n_weights(SIBeatGANDetector(**{name: getattr(gan, name)})) > MAX_WEIGHTS]
    culprits = culprits or [name for name in SIZE_PARAMS
                            if getattr(gan, name) != defaults[name]]
    given = ", ".join(f"{name}={getattr(gan, name)}" for name in culprits)
    size = "more weights than torch can count" if math.isinf(n) else f"{n:,.0f} weights"
    raise ValueError(
        f"{given} gives networks of {size}, above the {MAX_WEIGHTS:,} (4 GB) beatdetect fit "
        f"accepts; the defaults are "
        f"{', '.join(f'{name}={defaults[name]}' for name in culprits)}.")


def _check_detector(det) -> None:
    """Parameter values, sizes and the device, checked before any beat is read."""
    from ._device import resolve_device

    gan = getattr(det, "detector", None) or det
    det._validate_params()  # scikit-learn's constraints, as fit would check them
    gan._validate_params()
    check_sizes(gan)
    try:
        resolve_device(gan.device)
    except RuntimeError as err:  # torch.device("tpu")
        raise ValueError(
            f"device={gan.device!r} is not a torch device: use 'auto', 'cpu', 'cuda' or "
            f"'cuda:N' ({err})") from None


#: Parameters of the context layer that ``fit --param`` sends to it (the others go to
#: SIBeatGANDetector).
CONTEXT_PARAMS = ("recording_template", "w_rhythm", "holdout", "min_recording_beats")


def build_fit_detector(args):
    """The detector ``beatdetect fit`` trains, from its flags; checked, not yet fitted.

    SI-BeatGAN in context (:class:`~beatdetect.context.ContextDetector`: the recording
    template and the rhythm part), or alone with ``--no-context``. ``--param`` values go to
    SIBeatGANDetector (nested names such as ``distill__w_kd`` included), except the context
    layer's own (:data:`CONTEXT_PARAMS`); ``--contamination`` sets the threshold of the
    outer detector.
    """
    from .context import ContextDetector
    from .gan import SIBeatGANDetector
    from .gan.persistence import params_from_data

    given = dict(parse_assignment(p) for p in args.param or ())
    context = {k: given.pop(k) for k in CONTEXT_PARAMS if k in given}
    if context and args.no_context:
        raise ValueError(f"{', '.join(context)} belong(s) to the context layer, which "
                         "--no-context leaves out.")
    known = set(SIBeatGANDetector().get_params())
    unknown = sorted(k for k in given if k.split("__")[0] not in known)
    if unknown:
        raise ValueError(f"SIBeatGANDetector has no parameter(s) {unknown}; its parameters "
                         f"are {', '.join(sorted(known))} (and, in context, "
                         f"{', '.join(CONTEXT_PARAMS)}).")
    params = params_from_data(given)
    params.setdefault("max_epochs", args.epochs)
    params.setdefault("random_state", args.seed)
    # verbose=2: a bar with an ETA inside each epoch, besides the epoch lines.
    params.setdefault("verbose", 0 if args.quiet else 2)
    contamination = args.contamination
    if args.no_context:
        return SIBeatGANDetector(**params, contamination=contamination)
    return ContextDetector(SIBeatGANDetector(**params), contamination=contamination,
                           random_state=args.seed, **context)


def cmd_fit(args) -> int:
    from . import datasets

    det = build_fit_detector(args)
    # Everything that can fail without data is checked before the beats are read.
    _check_detector(det)
    out = check_output_file(args.out, "--out")
    with data_errors_for_the_command_line(args):
        train = datasets.training_beats(
            records=args.records, record_dir=args.record_dir, data_home=args.data_home,
            cache_dir=args.cache_dir, leads=args.leads, download=not args.no_download,
            max_beats=args.max_beats, random_state=args.seed, verbose=not args.quiet,
            align=None if args.align == "marks" else "peak")
    names = train.records
    _note(args, f"Training on {len(train.X):,} normal beats of {len(names)} record(s) "
                f"({', '.join(names[:8])}{'...' if len(names) > 8 else ''})"
                f"{'' if args.no_context else ', with their recordings and RR intervals'}.")
    if args.no_context:
        det.fit(train.X)
    else:
        det.fit(train.X, groups=train.record, rr=train.rr)
    from .gan.persistence import save_model  # SI-BeatGAN alone or in its ContextDetector

    _replacing(args, out)
    path = save_model(det, out)
    gan = getattr(det, "detector_", det)
    _note(args, f"Saved the fitted detector to {path} ({gan.n_iter_} epochs, "
                f"threshold offset_ = {det.offset_:.4g}).")
    return EXIT_OK


# --------------------------------------------------------------------------- data
#: Sentences of library messages that speak Python (``download=True``, ``data_home=``):
#: the command line says what to type instead.
_API_TERMS = re.compile(r"download=|data_home\b|data_home=|cache_dir=|transfer_home=")


@contextlib.contextmanager
def data_errors_for_the_command_line(args):
    """Say what a command-line user types when the data cannot be found or fetched.

    A :class:`~beatdetect.exceptions.DataNotFoundError` keeps its sentences that describe
    the problem, loses those that give Python advice, and ends with the flags to use:
    ``--data-home`` (a folder holding ``mitdb/``), ``$BEATDETECT_DATA``, and downloading
    (without ``--no-download``).
    """
    from .datasets._home import DATA_HOME_ENV, get_data_home
    from .exceptions import DataNotFoundError

    try:
        yield
    except DataNotFoundError as err:
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", " ".join(str(err).split()))
        kept = " ".join(s for s in sentences if not _API_TERMS.search(s))
        if str(err).startswith("Could not load the QT Database"):
            home = get_data_home(getattr(args, "transfer_home", None) or args.data_home)
            raise DataNotFoundError(
                f"{kept} Folder searched for qtdb/: {home}. Pass --transfer-home PATH, where "
                "PATH is a folder holding qtdb/ (https://physionet.org/content/qtdb/1.0.0/), "
                "or leave out --protocol transfer."
            ) from err
        home = get_data_home(args.data_home)
        extra = ("; or drop --no-download to fetch MIT-BIH from PhysioNet"
                 if getattr(args, "no_download", False) else "")
        raise DataNotFoundError(
            f"{kept} Data home: {home} (--data-home, else ${DATA_HOME_ENV}, else "
            f"~/beatdetect_data). Pass --data-home PATH or set {DATA_HOME_ENV}=PATH, where "
            f"PATH is a folder holding mitdb/{extra}."
        ) from err


# --------------------------------------------------------------------------- score
#: Below this AUC against reference annotations a model is not usable on the recording.
USABLE_AUC = 0.6


def resolve_record(record: str, data_home=None) -> Path:
    """A WFDB record path from a path (with or without extension) or a MIT-BIH name."""
    from .datasets import get_data_home

    path = Path(record).expanduser()
    if path.suffix in {".hea", ".dat", ".atr"}:
        path = path.with_suffix("")
    if path.with_suffix(".hea").is_file() or Path(f"{path}.hea").is_file():
        return path
    candidate = get_data_home(data_home) / "mitdb" / record
    if Path(f"{candidate}.hea").is_file():
        return candidate
    # An absolute path makes the data-home candidate the same path: name it once.
    tried = (f"{path}.hea does not exist" if Path(f"{candidate}") == path
             else f"neither {path}.hea nor {candidate}.hea exists")
    raise FileNotFoundError(
        f"No WFDB record {record!r}: {tried}. Pass the record's path without extension, or "
        "a MIT-BIH record name with --data-home."
    )


def low_auc_advice(auc: float) -> str | None:
    """What an AUC against the reference annotations below :data:`USABLE_AUC` means.

    Parameters
    ----------
    auc : float
        Anomaly-positive ROC AUC of the model's scores on one recording.

    Returns
    -------
    advice : str or None
        None when ``auc >= USABLE_AUC``; else a sentence saying the ranking is close to
        chance or inverted, that the model is not usable on this recording, and what to do.

    Examples
    --------
    >>> low_auc_advice(0.93) is None
    True
    >>> print(low_auc_advice(0.081))  # doctest: +ELLIPSIS
    AUC 0.081 is below 0.6: the model ranks the annotated anomalies as MORE normal than ...
    """
    if auc >= USABLE_AUC:
        return None
    if auc < 1 - USABLE_AUC:
        verdict = ("the model ranks the annotated anomalies as MORE normal than the normal "
                   "beats (an inverted ranking)")
    else:
        verdict = ("the model ranks the annotated anomalies close to chance among the normal "
                   "beats")
    return (f"AUC {auc:.3f} is below {USABLE_AUC}: {verdict}, so its scores and flags are not "
            "usable on this recording. Likely causes: an undertrained model (train more "
            "epochs, or on more beats, with `beatdetect fit`), or a recording unlike its "
            "training beats (another lead, sampling rate or kind of patient). Retrain on "
            "recordings like this one, with the same --leads, before trusting the flags.")


def load_model(path, device=None):
    """A detector saved by ``beatdetect fit``; any failure becomes one clear ValueError.

    The file holds SI-BeatGAN alone (``fit --no-context``) or in its
    :class:`~beatdetect.context.ContextDetector` (:func:`beatdetect.gan.persistence.load_model`
    returns whichever was saved). A random, truncated or edited file fails with a message
    naming the file and what to do instead. A device this machine cannot use keeps its own
    message (which names ``--device``).
    """
    from .exceptions import ModelFileError
    from .gan.persistence import load_model as load

    try:
        return load(path, device=device)
    except Exception as err:
        if isinstance(err, ValueError) and not isinstance(err, ModelFileError):
            # The device: the file itself is fine.
            raise ValueError(f"{err} From the command line: --device cpu.") from None
        raise ValueError(
            f"Could not load the model {path}: it is not a model saved by `beatdetect fit`, "
            f"or it is damaged ({type(err).__name__}: {err}). Train it again with "
            "`beatdetect fit`.") from err


#: Above this share of a recording's beats flagged, the flags are too many to review.
USABLE_FLAG_RATE = 0.05


def flag_rate_warning(rate: float, contamination) -> str | None:
    """What a flagged share above :data:`USABLE_FLAG_RATE` means, or None.

    Parameters
    ----------
    rate : float
        Share of the recording's beats flagged.
    contamination : float or None
        ``--contamination``, when the threshold is per recording.

    Returns
    -------
    warning : str or None

    Examples
    --------
    >>> flag_rate_warning(0.02, None) is None
    True
    >>> print(flag_rate_warning(0.31, None))  # doctest: +ELLIPSIS
    Warning: 31.0% of the beats are flagged, above 5%: ...
    """
    if rate <= USABLE_FLAG_RATE or contamination is not None:
        return None
    return (f"Warning: {100 * rate:.1f}% of the beats are flagged, above "
            f"{100 * USABLE_FLAG_RATE:.0f}%: the model's threshold (offset_, set on its "
            "training beats) does not carry over to this recording. Measured on MIT-BIH "
            "(results/threshold_flags), no threshold set on training beats keeps the flags "
            "on normal beats under 5% on every recording; the ranking (anomaly_score, AUC) "
            "is what to trust. To flag a fixed share of this recording's most anomalous "
            "beats, rerun with --contamination 0.02 (a threshold per recording: it flags "
            "that share even in a recording without anomalies).")


def cmd_score(args) -> int:
    from matplotlib.figure import Figure

    from . import record_scoring as scoring
    from .metrics import anomaly_average_precision, anomaly_roc_auc
    from .plotting import plot_scored_record

    model = Path(args.model)
    if not model.exists():
        raise FileNotFoundError(f"No model file {model}: train one with `beatdetect fit`.")
    if not model.is_file():  # a folder or a pipe: say what it is, not that it is damaged
        kind = "a directory" if model.is_dir() else "not a regular file"
        raise ValueError(f"--model {model} is {kind}: give the model file that "
                         "`beatdetect fit --out` wrote.")
    detector = load_model(model, args.device)
    path = resolve_record(args.record, args.data_home)
    # Every output is checked (folder, name, format) before anything is scored or written.
    out_csv = check_output_file(args.out_csv or f"{path.name}_scores.csv", "--out-csv")
    out_png = check_figure_file(args.out_png or f"{path.name}_scores.png", "--out-png")
    if out_csv.resolve() == out_png.resolve():
        raise ValueError(f"--out-csv and --out-png name the same file {out_csv}.")
    with data_errors_for_the_command_line(args):
        scored = scoring.score_record(path, detector, leads=args.leads,
                                      contamination=args.contamination,
                                      align=None if args.align == "marks" else "peak")
    fig = plot_scored_record(scored, detector, duration=args.duration,
                             fig=Figure(figsize=(12, 8), layout="constrained"))
    fmt = out_png.suffix.lower().lstrip(".")
    write_outputs(args, {out_csv: lambda tmp: scoring.write_scores_csv(tmp, scored),
                         out_png: lambda tmp: fig.savefig(tmp, dpi=110, format=fmt)})
    beats, flags = scored.beats, scored.flags
    n_flagged = int((flags == -1).sum())
    rate = n_flagged / len(flags)
    how = ("" if args.contamination is None else
           f" by the per-recording threshold --contamination {args.contamination}")
    print(f"Record {path.name}: {len(flags):,} beats ({beats.r_peak_source}), "
          f"{n_flagged:,} flagged ({100.0 * rate:.1f}%){how}.")
    warning = flag_rate_warning(rate, args.contamination)
    if warning:
        print(warning)
    if beats.y is not None and 0 < int((beats.y == -1).sum()) < len(beats.y):
        auc = anomaly_roc_auc(beats.y, scored.score_samples)
        print(f"Against the reference annotations (anomaly = positive): AUC {auc:.3f}, AP "
              f"{anomaly_average_precision(beats.y, scored.score_samples):.3f}.")
        advice = low_auc_advice(auc)
        if advice:
            print(advice)
    _note(args, f"Wrote {out_csv} (anomaly_score: higher = more anomalous; flag -1 = "
                f"flagged) and {out_png}.")
    return EXIT_OK


# --------------------------------------------------------------------------- parser
def _note(args, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def _add_align_flag(parser) -> None:
    """``--align``: fit and score cut their windows the same way, on the R peak by default."""
    parser.add_argument("--align", choices=("peak", "marks"), default="peak",
                        help="shift each record's beat marks onto its R peaks before cutting "
                             "the windows (default: databases place their marks "
                             "differently), or cut at the marks as annotated")


def _add_data_flags(parser, *, download=True) -> None:
    parser.add_argument("--data-home", metavar="DIR",
                        help="folder holding mitdb/ (default: $BEATDETECT_DATA, then "
                             "~/beatdetect_data)")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="cache of preprocessed beats (default: $BEATDETECT_CACHE, then "
                             "<data home>/beatdetect_cache)")
    if download:
        parser.add_argument("--no-download", action="store_true",
                            help="never download MIT-BIH from PhysioNet")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``beatdetect`` command."""
    from . import __version__
    from .benchmark.presets import PRESETS, PROTOCOLS

    parser = argparse.ArgumentParser(
        prog="beatdetect",
        description="Unsupervised ECG heartbeat anomaly detection (BeatGAN and baselines).",
    )
    parser.add_argument("--version", action="version", version=f"beatdetect {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    presets = "; ".join(f"{name}: {p.description}" for name, p in PRESETS.items())
    bench = sub.add_parser(
        "benchmark", help="benchmark detectors on MIT-BIH (resumable)",
        description="Fit each model on normal training beats only and score the test beats "
        "of each protocol, fold and seed; write JSON, CSV, a Markdown table and figures. "
        f"Rerunning the same command resumes an interrupted run. Presets: {presets}.")
    bench.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                       help="budget preset (default: quick)")
    bench.add_argument("--model", action="append", metavar="NAME|LABEL=NAME",
                       help="detector to run (repeat): sibeatgan, knn, ae, pca, ocsvm, "
                            "iforest, pyod on the beats alone; NAME+context (e.g. "
                            "knn+context) in context; template, rhythm; LABEL=NAME runs one "
                            "under another label. Default: the preset's models, in both "
                            "settings")
    bench.add_argument("--param", action="append", metavar="MODEL.KEY=VALUE",
                       help="detector parameter (repeat), e.g. sibeatgan.w_adv=1.0, "
                            "sibeatgan.distill__w_kd=2 or sibeatgan+context.detector__lr=1e-3")
    bench.add_argument("--protocol", action="append", choices=PROTOCOLS,
                       help="evaluation protocol (repeat); default: the preset's")
    bench.add_argument("--folds", nargs="+", type=int, metavar="K",
                       help="intra-patient folds to run (0-4)")
    bench.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="seeds to run")
    bench.add_argument("--max-train", type=_max_train, default=argparse.SUPPRESS,
                       metavar="N|all",
                       help="seeded subsample of training beats per job, or 'all'")
    bench.add_argument("--epochs", type=_positive_int, metavar="N",
                       help="max_epochs of the neural detectors")
    bench.add_argument("--batch-size", type=_positive_int, metavar="N",
                       help="training mini-batch size of the neural detectors")
    bench.add_argument("--records", nargs="+", metavar="R",
                       help="load only these MIT-BIH records (default: all 44 non-paced)")
    _add_data_flags(bench)
    bench.add_argument("--transfer-home", metavar="DIR",
                       help="folder holding qtdb/ for --protocol transfer (default: the data "
                            "home)")
    bench.add_argument("--out", metavar="DIR",
                       help="output folder (default: benchmark-results/<preset>)")
    bench.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                       help="local processes running jobs side by side (default: 1; -1: "
                            "one per core)")
    bench.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the jobs on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    bench.add_argument("--order", choices=("split", "model"), default="split",
                       help="run every model of a split before the next split (default), "
                            "or one model on every split before the next model, so that an "
                            "interrupted long run leaves whole rows")
    bench.add_argument("--max-jobs", type=_non_negative_int, metavar="N",
                       help="run at most N of the pending jobs; 0 runs none and writes the "
                            "results files of the finished ones (e.g. of a long run that "
                            "another process is extending)")
    bench.add_argument("--checkpoint-dir", type=Path, metavar="DIR",
                       help="write a training checkpoint of each BeatGAN job here after "
                            "every epoch, so a run stopped mid-fit resumes that job after "
                            "its last finished epoch (keep it outside git)")
    bench.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    bench.add_argument("--quiet", action="store_true", help="no progress bars or notes")
    bench.set_defaults(func=cmd_benchmark)

    report = sub.add_parser("report", help="render the Markdown table of a results file",
                            description="Print the Markdown tables of a results.json written "
                            "by `beatdetect benchmark`, or write them into a README between "
                            "'<!-- results:start -->' and '<!-- results:end -->'.")
    report.add_argument("results", metavar="RESULTS.json",
                        help="results.json (or the benchmark's output folder)")
    report.add_argument("--out", metavar="FILE", help="write the Markdown here")
    report.add_argument("--readme", metavar="README.md",
                        help="replace the README's results section with the table")
    report.add_argument("--baseline", metavar="LABEL",
                        help="add each model's paired differences from this model")
    report.add_argument("--per-class", action="store_true",
                        help="with --baseline (or a marker's baseline=): also each AAMI "
                             "class's paired differences")
    report.add_argument("--check", action="store_true",
                        help="with --readme: exit 1 if the section is stale, write nothing")
    report.add_argument("--quiet", action="store_true",
                        help="with --readme: no 'Updated'/'Unchanged' note on stderr")
    report.set_defaults(func=cmd_report)

    fit = sub.add_parser("fit", help="train SI-BeatGAN on normal beats and save it",
                         description="Train SIBeatGANDetector on the normal beats of MIT-BIH "
                         "records or of a folder of WFDB records, in context (a "
                         "ContextDetector: each beat's recording and RR intervals) unless "
                         "--no-context, and save it (safetensors).")
    source = fit.add_mutually_exclusive_group(required=True)
    source.add_argument("--records", nargs="+", metavar="R", help="MIT-BIH records")
    source.add_argument("--record-dir", metavar="DIR",
                        help="folder of WFDB records (.hea/.dat, annotations optional)")
    fit.add_argument("--out", required=True, metavar="FILE",
                     help="where to save the model, e.g. model.safetensors")
    fit.add_argument("--epochs", type=_positive_int, default=10, metavar="N",
                     help="training epochs (default: 10)")
    fit.add_argument("--param", action="append", metavar="KEY=VALUE",
                     help="SIBeatGANDetector parameter (repeat), e.g. w_adv=1.0, "
                          "distill=true, distill__w_kd=2; or of the context layer: "
                          + ", ".join(CONTEXT_PARAMS))
    fit.add_argument("--no-context", action="store_true",
                     help="train SI-BeatGAN on the beats alone (no recording, no RR "
                          "intervals: the published protocol) instead of in context")
    fit.add_argument("--contamination", type=_contamination, default="auto",
                     metavar="auto|FRACTION",
                     help="threshold of the saved model: 'auto' (Tukey's fence on the "
                          "training scores, default) or the share of training beats to flag")
    fit.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    fit.add_argument("--max-beats", type=_positive_int, metavar="N",
                     help="train on a seeded subsample of N beats (seeded by --seed)")
    fit.add_argument("--leads", nargs="+", metavar="LEAD",
                     help="leads to use (default: MLII when present, else the first lead)")
    _add_align_flag(fit)
    _add_data_flags(fit)
    fit.add_argument("--quiet", action="store_true",
                     help="no progress bars, epoch lines or notes on stderr")
    fit.set_defaults(func=cmd_fit)

    score = sub.add_parser("score", help="score every beat of a recording",
                           description="Score every beat of a WFDB recording (annotated or "
                           "not) with a saved model, in the recording's context (its beats' "
                           "RR intervals and median beat); write a CSV (time_s, sample, "
                           "anomaly_score, flag, and aami, the reference class, when annotated) "
                           "and a PNG (the strip around the most anomalous beat and its "
                           "per-tick explanation). anomaly_score is -score_samples: higher = "
                           "more anomalous, as plotted; flag -1 = flagged as anomalous, +1 = "
                           "normal. With reference annotations, print the AUC and say when it "
                           "is too low for the model to be usable.")
    score.add_argument("record", metavar="RECORD",
                       help="record path without extension, or a MIT-BIH record name")
    score.add_argument("--model", required=True, metavar="FILE",
                       help="model saved by `beatdetect fit`")
    score.add_argument("--out-csv", metavar="FILE",
                       help="default: <record>_scores.csv")
    score.add_argument("--out-png", metavar="FILE",
                       help="default: <record>_scores.png")
    score.add_argument("--leads", nargs="+", metavar="LEAD",
                       help="leads to use (default: MLII when present, else the first ones)")
    _add_align_flag(score)
    score.add_argument("--duration", type=_positive_float, default=10.0, metavar="S",
                       help="seconds of ECG strip in the PNG (default: 10)")
    score.add_argument("--contamination", type=_fraction, metavar="FRACTION",
                       help="flag this share of the recording's most anomalous beats (a "
                            "threshold per recording, e.g. 0.02) instead of the model's "
                            "threshold, which may flag far more on a new recording")
    score.add_argument("--device", metavar="DEVICE",
                       help="score on this device ('auto', 'cpu', 'cuda' or 'cuda:N') instead "
                            "of the one the model was trained with")
    _add_data_flags(score, download=False)
    score.add_argument("--quiet", action="store_true",
                       help="no note on stderr (the summary and AUC still print)")
    score.set_defaults(func=cmd_score)
    return parser


#: Errors a user can cause and fix (a bad file, flag value, folder, parameter): their
#: message is the whole story. beatdetect's exceptions subclass ValueError or
#: RuntimeError; OverflowError and friends come from numbers out of range.
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, TypeError, OSError, RuntimeError, KeyError, ImportError, ArithmeticError,
    EOFError, MemoryError,
)


def _user_errors() -> tuple[type[BaseException], ...]:
    """USER_ERRORS plus errors of optional libraries that do not subclass them."""
    extra = []
    try:
        from safetensors import SafetensorError  # a damaged model file
    except ImportError:  # pragma: no cover - safetensors is a dependency
        pass
    else:
        extra.append(SafetensorError)
    import zipfile

    extra.append(zipfile.BadZipFile)  # a damaged .npz
    return USER_ERRORS + tuple(extra)


def error_line(command: str, err: BaseException) -> str:
    """The one line printed for an error: the message, or an "internal error" pointer.

    Parameters
    ----------
    command : str
        The subcommand that failed (``"fit"``).
    err : BaseException
        The exception it raised.

    Returns
    -------
    line : str
        No newline inside: messages spanning lines are joined.

    Examples
    --------
    >>> error_line("score", FileNotFoundError("No model file m.safetensors."))
    'beatdetect score: error: No model file m.safetensors.'
    >>> error_line("fit", IndexError("list index out of range"))  # doctest: +ELLIPSIS
    'beatdetect fit: internal error: IndexError: list index out of range (rerun with ...'
    """
    message = " ".join(str(err).split())
    prog = f"beatdetect {command}".rstrip()  # no command: failed before one was parsed
    if isinstance(err, _user_errors()):
        if isinstance(err, KeyError) or not message:
            message = f"{type(err).__name__}: {message}".rstrip(": ")
        return f"{prog}: error: {message}"
    # A bug, not a user error: say so, and how to see where it happened.
    return (f"{prog}: internal error: {type(err).__name__}: {message} (rerun "
            "with --traceback for the details, and please report it)")


def main(argv=None) -> int:
    """Run the ``beatdetect`` command; return its exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    code : int
        0 on success, 1 on an error, 2 on a usage error, 130 when interrupted.
    """
    command = ""
    try:
        # Inside the try: building the parser imports the benchmark package (its presets),
        # which takes a moment; Ctrl-C then is one line too.
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        return args.func(args)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        hint = (" Finished jobs are saved: rerun the same command to resume."
                if command == "benchmark" else "")
        print(f"beatdetect {command}".rstrip() + f": interrupted.{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if "--traceback" in (sys.argv[1:] if argv is None else list(argv)):
            raise
        print(error_line(command, err), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

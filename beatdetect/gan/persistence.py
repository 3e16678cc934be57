"""Model files: :class:`~beatdetect.gan.SIBeatGANDetector`, alone or in context, as safetensors.

The format (tag ``beatdetect.SIBeatGANDetector/2``) is one safetensors file: the tensors of
the generator (``generator.*``) and the discriminator (``discriminator.*``), and in the
header's metadata

- ``state``, a JSON object with the constructor parameters (``"params"``), the fitted
  attributes (``"fitted"``) and, for a :class:`~beatdetect.context.ContextDetector` around
  the detector, its own parameters and fitted references (``"context"``). A parameter that
  holds an object (``time_warp``, ``distill``, ``contrastive`` and the latter's
  ``augment``) is saved as plain data, its class name and its fields:
  ``{"Contrastive": {"w_con": 0.1, "augment": {"ECGAugment": {...}}, ...}}``;
- ``sha256``, the hash of the format tag, ``state`` and every tensor's name, dtype, shape
  and bytes (:func:`content_hash`): a file changed after it was written (a flipped byte in
  a weight, an edited threshold) is refused.

A model file may come from anywhere, so :func:`load_model` trusts nothing in it. Before it
parses anything it checks the size of the header (at most :data:`MAX_HEADER_BYTES`), then
reads the header (metadata, tensor names, shapes and dtypes, no tensor data) and checks, in
this order, before it reads a tensor or builds a network:

1. the format tag, and the JSON of ``state``;
2. the parameters, with the estimator's own constraints (those ``fit`` checks), the
   objects among them rebuilt from their class name and fields and checked likewise;
3. the fitted attributes, against an allow-list of names, types and ranges (the threshold
   and the score references finite and at most :data:`MAX_SCORE_MAGNITUDE`);
4. the size of the networks those parameters imply (at most :data:`MAX_WEIGHTS` weights),
   then every tensor's name, shape and dtype against that architecture, built on the
   ``meta`` device (no memory).

Then the tensors are read, the hash is checked, every tensor must be finite, and only then
is the detector built. Any problem raises :class:`~beatdetect.exceptions.ModelFileError`
naming the file and the problem.

Files of the first format (``/1``, beatdetect 0.1) load as the same model when their score
was BeatGAN's reconstruction error (no memory bank, no context); the others scored with a
memory bank of raw training beats and the beat's context, which this detector no longer
computes, and are refused with a message that says how to get such a model again.

:func:`save_model` writes to a temporary file beside the target, named
``.<name>.<random>.tmp``, and renames it into place, so the target is either the old file or
the complete new one (with the permissions of a new file under the process's umask). The
temporary file is removed on any error; only a process killed outright (SIGKILL, power
loss) can leave one behind, recognisable by that name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import struct
import tempfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from ..context import ContextDetector, ScoreReference
from ..exceptions import ModelFileError
from ..nn.augment import ECGAugment, TimeWarp
from ..nn.networks import BeatGANConfig, Discriminator, Generator
from .options import Contrastive, Distillation

__all__ = [
    "FORMAT",
    "MAX_HEADER_BYTES",
    "MAX_WEIGHTS",
    "content_hash",
    "load_model",
    "nested_param_names",
    "params_from_data",
    "save_model",
]

#: Format tag written into saved files; bump when the layout changes.
FORMAT = "beatdetect.SIBeatGANDetector/2"
#: The first format (beatdetect 0.1): read, and converted where the model is the same.
FORMAT_1 = "beatdetect.SIBeatGANDetector/1"
#: Most bytes of a file's JSON header (tensor table and metadata), checked before it is
#: parsed: a history of 10,000 epochs takes about 5 MB.
MAX_HEADER_BYTES = 16 * 2**20
#: Most weights (generator and discriminator together) a loadable file may imply: 2**28,
#: 1 GiB of float32, about 100 times the published network (2.6 million). A file asking for
#: more is refused before anything is built.
MAX_WEIGHTS = 2**28
#: Largest magnitude of a threshold or a score reference read from a file. Scores of beats
#: scaled to [-1, 1] are squared errors of order 1, and standardised parts of order 10; a
#: value beyond this bound was not written by ``fit``.
MAX_SCORE_MAGNITUDE = 1e9
#: Bounds of the beat shape and of the training counters read from a file.
MAX_LEADS = 4096
MAX_BEAT_LENGTH = 2**20
MAX_EPOCHS_RUN = 10**5
MAX_RESETS = 10**12
#: Most keys of one history record (one per loss term and diagnostic).
MAX_HISTORY_KEYS = 1000
#: Classes a parameter or a field may hold, by the name saved with their fields.
OBJECT_CLASSES = {cls.__name__: cls for cls in (TimeWarp, Distillation, Contrastive,
                                                 ECGAugment)}
#: Parameters that hold an object, and its class.
OBJECT_PARAMS = {"time_warp": TimeWarp, "distill": Distillation, "contrastive": Contrastive}
#: Fields of those objects that hold an object themselves (None meaning the default one).
OBJECT_FIELDS = {(Contrastive, "augment"): ECGAugment}
#: Fitted attributes every file has, and those it may have.
REQUIRED_FITTED = ("offset_", "n_leads_", "beat_length_", "n_features_in_", "n_iter_",
                   "history_", "n_discriminator_resets_")
OPTIONAL_FITTED = ("training_precision_", "feature_names_in_")
#: Arithmetic a detector may have trained in (``training_precision_``).
PRECISIONS = ("float32", "bfloat16", "float16")
#: dtypes as the safetensors header spells them.
_HEADER_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
                  torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}
#: Parameters of the context layer saved with a detector in context, and its fitted state.
CONTEXT_PARAMS = ("recording_template", "w_rhythm", "holdout", "min_recording_beats",
                  "contamination", "random_state")
CONTEXT_PARTS = ("model", "recording", "rhythm")


# --------------------------------------------------------------------------- plain data
def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _to_data(value):
    """A parameter value as JSON data: objects as ``{class name: fields}``, tuples as lists."""
    if isinstance(value, (torch.device, os.PathLike)):
        return str(value)
    if type(value) in OBJECT_CLASSES.values():
        return {type(value).__name__: {k: _to_data(v) for k, v in
                                       value.get_params(deep=False).items()}}
    if hasattr(value, "get_params"):  # a subclass's code is not data
        raise TypeError(f"Cannot save {value!r}: only "
                        f"{', '.join(OBJECT_CLASSES)} objects can be saved.")
    if isinstance(value, tuple):
        return list(value)
    return value


def _from_data(name: str, data, expected):
    """The object ``expected`` saved as ``{class name: fields}`` in ``data``; anything else
    is returned as it is, for the parameter's constraint to refuse."""
    if not (isinstance(data, dict) and len(data) == 1):
        return data
    ((class_name, fields),) = data.items()
    if class_name != expected.__name__ or not isinstance(fields, dict):
        raise ValueError(f"{name!r} must be null or {{{expected.__name__!r}: {{field: value}}}},"
                         f" got {data!r:.200}.")
    unknown = sorted(set(fields) - set(expected._get_param_names()))
    if unknown:
        raise ValueError(f"{name!r}: {expected.__name__} has no field(s) {unknown}; its "
                         f"fields are {', '.join(expected._get_param_names())}.")
    values = {}
    for field, value in fields.items():
        inner = OBJECT_FIELDS.get((expected, field))
        if inner is not None:
            value = _from_data(f"{name}__{field}", value, inner)
        elif isinstance(value, list):  # JSON has no tuples: ECGAugment's pair ``scale``
            value = tuple(value)
        values[field] = value
    return expected(**values)


def _with_field(obj, cls, path: str, value, name: str):
    """A copy of ``obj`` (or of ``cls()`` when it is not one) with the field at ``path``
    (``augment__noise``) set to ``value``."""
    base = obj if isinstance(obj, cls) else cls()
    field, _, rest = path.partition("__")
    if field not in cls._get_param_names():
        raise ValueError(f"{name}: {cls.__name__} has no field {field!r}; its fields are "
                         f"{', '.join(cls._get_param_names())}.")
    fields = base.get_params(deep=False)
    if rest:
        inner = OBJECT_FIELDS.get((cls, field))
        if inner is None:
            raise ValueError(f"{name}: {cls.__name__}.{field} holds no object with fields.")
        value = _with_field(fields[field], inner, rest, value, name)
    fields[field] = value
    return cls(**fields)


def params_from_data(params: dict) -> dict:
    """SIBeatGANDetector parameters written as plain data, as the constructor takes them.

    A command line (``--param``), a JSON results file or a model file can only hold plain
    values: ``contrastive={"Contrastive": {field: value}}`` becomes that object (and so do
    ``time_warp``, ``distill`` and the ``augment`` field of ``Contrastive``), and a number
    ``time_warp=s`` means ``TimeWarp(strength=s)`` (0: no warp). A field alone,
    ``distill__w_kd=2`` or ``contrastive__augment__noise=0.1`` as
    :class:`~sklearn.model_selection.GridSearchCV` names it, changes that field of the
    object given (or of the default object when none is, so it also switches the term
    on). Other parameters pass through unchanged.

    Parameters
    ----------
    params : dict

    Returns
    -------
    params : dict

    Raises
    ------
    ValueError
        An object parameter whose data names another class or unknown fields.

    Examples
    --------
    >>> params_from_data({"time_warp": 0.2, "distill": {"Distillation": {"w_kd": 2.0}}})
    {'time_warp': TimeWarp(), 'distill': Distillation(w_kd=2.0)}
    >>> params_from_data({"contrastive__augment__warp": 0.0})
    {'contrastive': Contrastive(augment=ECGAugment(warp=0.0))}
    """
    params = dict(params)
    strength = params.get("time_warp")
    if _is_real(strength):
        params["time_warp"] = None if strength == 0 else TimeWarp(strength=strength)
    for name in OBJECT_PARAMS.keys() & params.keys():
        params[name] = _from_data(name, params[name], OBJECT_PARAMS[name])
    for key in sorted(params):  # sorted: the same result whatever the order given
        name, _, path = key.partition("__")
        if path and name in OBJECT_PARAMS:
            value = params.pop(key)
            params[name] = _with_field(params.get(name), OBJECT_PARAMS[name], path, value, key)
    return params


def nested_param_names() -> set[str]:
    """The ``name__field`` forms :func:`params_from_data` takes (``distill__w_kd``...).

    Examples
    --------
    >>> sorted(n for n in nested_param_names() if n.startswith("contrastive__augment__"))[:2]
    ['contrastive__augment__anchor', 'contrastive__augment__crop']
    """
    def names(prefix, cls):
        for field in cls._get_param_names():
            yield f"{prefix}__{field}"
            inner = OBJECT_FIELDS.get((cls, field))
            if inner is not None:
                yield from names(f"{prefix}__{field}", inner)

    return {n for name, cls in OBJECT_PARAMS.items() for n in names(name, cls)}


# --------------------------------------------------------------------------- save
def content_hash(state_json: str, tensors: dict) -> str:
    """SHA-256 of the format tag, the state and every tensor (name, dtype, shape, bytes).

    Parameters
    ----------
    state_json : str
    tensors : dict of str to torch.Tensor

    Returns
    -------
    hexdigest : str
    """
    digest = hashlib.sha256()
    digest.update(FORMAT.encode())
    digest.update(b"\0")
    digest.update(state_json.encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"\0{name}\0{tensor.dtype}\0{list(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_model(model, path) -> Path:
    """Write a fitted SIBeatGANDetector, alone or in a ContextDetector, to a safetensors file.

    Atomic, no pickle: the file is written under a temporary name in the target's folder
    (``.<name>.<random>.tmp``) and renamed over ``path`` once complete. On any error the
    temporary file is removed and an existing file at ``path`` is left as it was.

    Parameters
    ----------
    model : SIBeatGANDetector or ContextDetector
        Fitted; a ContextDetector must wrap a SIBeatGANDetector.
    path : str or Path
        Destination, conventionally ``*.safetensors``; its folder must exist.

    Returns
    -------
    path : Path

    Raises
    ------
    NotFittedError
        The model is not fitted.
    TypeError
        A ContextDetector around another kind of detector.
    IsADirectoryError
        ``path`` is a directory.
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    from safetensors.torch import save as serialize

    check_is_fitted(model)
    detector, context = (model.detector_, model) if isinstance(model, ContextDetector) \
        else (model, None)
    if not hasattr(detector, "generator_"):
        raise TypeError(f"Only a SIBeatGANDetector (or a ContextDetector around one) can be "
                        f"saved to a model file, got {type(detector).__name__}.")
    path = Path(path)
    # Checked before any work: replacing a directory fails only after the whole write.
    if path.is_dir():
        raise IsADirectoryError(
            f"Cannot save the detector to {path}: it is a directory. Pass a file path, "
            f"e.g. {path / 'model.safetensors'}."
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"Cannot save the detector to {path}: the folder {path.parent} does not exist."
        )
    state = _state(detector)
    if context is not None:
        state["context"] = _context_state(context)
    state_json = json.dumps(state)
    tensors = _tensors(detector)
    # Serialised in memory, then written by us: safetensors' own save_file writes through a
    # temporary file of its own (``.tmpXXXXXX``), which a killed process would leave behind
    # under a name that says nothing about where it came from.
    data = serialize(tensors, metadata={"format": FORMAT, "state": state_json,
                                        "sha256": content_hash(state_json, tensors)})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; a model file gets the mode of any new file (umask), like
        # the CSV and PNG written beside it.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, (stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP
                       | stat.S_IROTH | stat.S_IWOTH) & ~umask)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # complete on disk before it takes the target's name
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _state(detector) -> dict:
    """The JSON state of a fitted detector: constructor parameters and fitted attributes."""
    params = {k: _to_data(v) for k, v in detector.get_params(deep=False).items()}
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a RandomState instance is not reproducible data
    fitted = {
        "offset_": detector.offset_, "n_leads_": detector.n_leads_,
        "beat_length_": detector.beat_length_, "n_features_in_": detector.n_features_in_,
        "n_iter_": detector.n_iter_, "history_": detector.history_,
        "n_discriminator_resets_": detector.n_discriminator_resets_,
        "training_precision_": getattr(detector, "training_precision_", None),
    }
    if hasattr(detector, "feature_names_in_"):  # fitted on a DataFrame
        fitted["feature_names_in_"] = [str(name) for name in detector.feature_names_in_]
    return {"params": params, "fitted": fitted}


def _context_state(context) -> dict:
    params = {name: getattr(context, name) for name in CONTEXT_PARAMS}
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None
    return {"params": params, "fitted": {
        "offset_": context.offset_,
        "references_": {name: ref.to_dict() for name, ref in context.references_.items()},
        "fit_groups_": context.fit_groups_,
    }}


def _tensors(detector) -> dict[str, torch.Tensor]:
    tensors = {f"generator.{k}": v.contiguous() for k, v in
               detector.generator_.state_dict().items()}
    tensors.update({f"discriminator.{k}": v.contiguous() for k, v in
                    detector.discriminator_.state_dict().items()})
    return tensors


# --------------------------------------------------------------------------- load
def load_model(path, *, device=None):
    """Load a model written by :func:`save_model`, checking the whole file first.

    Reads tensors and JSON only: no code from the file runs. See the module docstring for
    what is checked and in which order.

    Parameters
    ----------
    path : str or Path
    device : {"auto", "cpu", "cuda"}, str or torch.device, optional
        The device to score on, in place of the saved ``device`` parameter (e.g. ``"cpu"``
        for a model trained on CUDA, on a machine without it).

    Returns
    -------
    model : SIBeatGANDetector or ContextDetector
        Fitted, modules on the CPU in eval mode: a ContextDetector when the file holds the
        detector in context.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError
        The path is not a regular file, or the file is not a saved detector, or is damaged
        or inconsistent; the message names the file and the problem.
    ValueError
        ``device`` is not a device, or the device to score on is a CUDA device and CUDA is
        not available here.
    """
    from .._device import resolve_device
    from .estimator import SIBeatGANDetector

    if device is not None:
        resolve_device(device)  # a bad device fails before the file is read
    path = Path(path)
    detector, context = _read(SIBeatGANDetector, path)
    if device is not None:
        detector.device = device
    try:
        resolve_device(detector.device)
    except ValueError as err:
        raise ValueError(
            f"{path} was saved with device={detector.device!r}, which this machine "
            f"cannot use ({err}) Load it with device='cpu' (or 'auto')."
        ) from None
    return detector if context is None else context


def _check_path(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise ModelFileError(f"{path} is {kind}, not a model file.")


def _header_size(path: Path) -> int:
    """The size of the file's JSON header, checked against the file and the cap."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if len(head) < 8:
        raise ModelFileError(f"{path} is not a saved SIBeatGANDetector: too short "
                             f"({len(head)} bytes) for a safetensors file.")
    (size,) = struct.unpack("<Q", head)
    if size > MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{path} has a header of {size:,} bytes, more than the {MAX_HEADER_BYTES:,} a "
            "model file may have: it was not written by beatdetect."
        )
    if size + 8 > path.stat().st_size:
        raise ModelFileError(f"{path} is truncated: its header says {size:,} bytes, the file "
                             f"has {path.stat().st_size - 8:,} after the size field.")
    return size


def _read(cls, path: Path):
    from safetensors import SafetensorError, safe_open

    _check_path(path)
    _header_size(path)
    try:
        handle = safe_open(str(path), framework="pt")
    except (SafetensorError, OSError) as err:
        raise ModelFileError(
            f"{path} is not a saved {cls.__name__}: not a readable safetensors file ({err})."
        ) from None
    with handle as f:
        metadata = f.metadata() or {}
        tag = metadata.get("format")
        if tag not in (FORMAT, FORMAT_1):
            raise ModelFileError(
                f"{path} is not a saved {cls.__name__} (format {tag!r}, expected {FORMAT!r})."
            )
        specs = {}
        for name in f.keys():  # noqa: SIM118 (safe_open is no dict)
            piece = f.get_slice(name)
            specs[name] = (tuple(piece.get_shape()), piece.get_dtype())
        try:
            state = _parsed_state(metadata.get("state"))
            if tag == FORMAT_1:
                state = _converted_first_format(state, specs)
            detector, context, cfg = _checked_header(cls, state, specs)
        except ModelFileError as err:
            raise ModelFileError(f"Cannot load {path}: {err}") from None
        # Everything is consistent and bounded: read the tensors.
        tensors = {name: f.get_tensor(name) for name in specs}
    if tag == FORMAT:
        expected = metadata.get("sha256")
        if expected != content_hash(metadata["state"], tensors):
            raise ModelFileError(
                f"Cannot load {path}: its content does not match the hash written with it "
                f"({'no hash' if expected is None else 'sha256 mismatch'}): the file was "
                "changed or damaged after it was saved."
            )
    try:
        _build(detector, cfg, tensors)
    except ModelFileError as err:
        raise ModelFileError(f"Cannot load {path}: {err}") from None
    return detector, context


def _parsed_state(state_json) -> dict:
    if not isinstance(state_json, str):
        raise ModelFileError("the metadata has no 'state'.")
    try:
        state = json.loads(state_json)
    except (ValueError, RecursionError) as err:
        raise ModelFileError(f"the metadata 'state' is not valid JSON ({err}).") from None
    if not isinstance(state, dict) or not {"params", "fitted"} <= set(state) \
            or not set(state) <= {"params", "fitted", "context"}:
        raise ModelFileError("the metadata 'state' must be an object with 'params', "
                             "'fitted' and optionally 'context'.")
    if not isinstance(state["params"], dict) or not isinstance(state["fitted"], dict):
        raise ModelFileError("'params' and 'fitted' must be JSON objects.")
    return state


def _checked_header(cls, state: dict, specs: dict):
    """A detector with validated parameters and fitted attributes, its context layer (or
    None) and its network config. Raises ModelFileError (without the file name)."""
    detector = cls(**_checked_params(cls, state["params"]))
    for name, value in _checked_fitted(state["fitted"]).items():
        setattr(detector, name, value)
    context = None
    if "context" in state:
        context = _checked_context(state["context"], detector)
    cfg, network = _checked_config(detector)
    _check_tensor_specs(detector, cfg, network, specs)
    return detector, context, cfg


def _checked_params(cls, params: dict) -> dict:
    """The constructor parameters of a file, validated as ``fit`` validates them."""
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ModelFileError(f"unknown parameters {unknown}.")
    missing = sorted(known - set(params))
    if missing:
        raise ModelFileError(f"missing parameters {missing}.")
    params = dict(params)
    try:
        for name in OBJECT_PARAMS.keys() & params.keys():
            params[name] = _from_data(name, params[name], OBJECT_PARAMS[name])
        cls(**params)._validate_params()
    except (ValueError, TypeError) as err:
        if isinstance(err, InvalidParameterError):
            raise ModelFileError(f"invalid parameter: {err}") from None
        raise ModelFileError(f"parameter {err}") from None
    return params


def _checked_int(fitted: dict, name: str, low: int, high: int) -> int:
    value = fitted[name]
    if not _is_int(value) or not low <= value <= high:
        raise ModelFileError(f"fitted {name} must be an integer in [{low}, {high}], got "
                             f"{value!r}.")
    return int(value)


def _checked_score(value, what: str) -> float:
    if not _is_real(value) or not math.isfinite(value) or abs(value) > MAX_SCORE_MAGNITUDE:
        raise ModelFileError(f"{what} must be a finite number of magnitude at most "
                             f"{MAX_SCORE_MAGNITUDE:g}, got {value!r:.60}.")
    return float(value)


def _checked_fitted(fitted: dict) -> dict:
    """Fitted attributes of a file, by an allow-list of names, types and bounds."""
    unknown = sorted(set(fitted) - set(REQUIRED_FITTED) - set(OPTIONAL_FITTED))
    if unknown:
        raise ModelFileError(f"unknown fitted attributes {unknown}.")
    missing = [name for name in REQUIRED_FITTED if name not in fitted]
    if missing:
        raise ModelFileError(f"missing fitted attributes {missing}.")
    out = {"offset_": _checked_score(fitted["offset_"], "fitted offset_")}
    out["n_leads_"] = _checked_int(fitted, "n_leads_", 1, MAX_LEADS)
    out["beat_length_"] = _checked_int(fitted, "beat_length_", 1, MAX_BEAT_LENGTH)
    n_features = out["n_leads_"] * out["beat_length_"]
    if fitted["n_features_in_"] != n_features or not _is_int(fitted["n_features_in_"]):
        raise ModelFileError(f"fitted n_features_in_ must be n_leads_ * beat_length_ = "
                             f"{n_features}, got {fitted['n_features_in_']!r}.")
    out["n_features_in_"] = n_features
    out["n_iter_"] = _checked_int(fitted, "n_iter_", 0, MAX_EPOCHS_RUN)
    out["n_discriminator_resets_"] = _checked_int(fitted, "n_discriminator_resets_", 0,
                                                  MAX_RESETS)
    history = fitted["history_"]
    if not (isinstance(history, list) and len(history) == out["n_iter_"] and all(
            isinstance(record, dict) and len(record) <= MAX_HISTORY_KEYS
            and all(isinstance(k, str) and _is_real(v) for k, v in record.items())
            for record in history)):
        raise ModelFileError("fitted history_ must be a list of n_iter_ records, each an "
                             "object of names to numbers.")
    out["history_"] = history
    precision = fitted.get("training_precision_")
    if precision is not None and precision not in PRECISIONS:
        raise ModelFileError(f"fitted training_precision_ must be one of {PRECISIONS} "
                             f"or null, got {precision!r}.")
    out["training_precision_"] = precision
    if "feature_names_in_" in fitted:
        names = fitted["feature_names_in_"]
        if not (isinstance(names, list) and len(names) == n_features
                and all(isinstance(name, str) for name in names)):
            raise ModelFileError(f"fitted feature_names_in_ must be a list of "
                                 f"n_features_in_ = {n_features} strings.")
        # As scikit-learn's validate_data stores them.
        out["feature_names_in_"] = np.asarray(names, dtype=object)
    return out


def _checked_context(context: dict, detector) -> ContextDetector:
    """The context layer of a file: its parameters and fitted references, checked."""
    if not (isinstance(context, dict) and set(context) == {"params", "fitted"}
            and isinstance(context["params"], dict) and isinstance(context["fitted"], dict)):
        raise ModelFileError("'context' must be an object with 'params' and 'fitted'.")
    params, fitted = context["params"], context["fitted"]
    if set(params) != set(CONTEXT_PARAMS):
        raise ModelFileError(f"context parameters must be exactly {list(CONTEXT_PARAMS)}.")
    layer = ContextDetector(detector.__class__(**detector.get_params(deep=False)), **params)
    try:
        layer._validate_params()
    except InvalidParameterError as err:
        raise ModelFileError(f"invalid context parameter: {err}") from None
    if set(fitted) != {"offset_", "references_", "fit_groups_"}:
        raise ModelFileError("context 'fitted' must hold exactly offset_, references_ and "
                             "fit_groups_.")
    references = fitted["references_"]
    if not isinstance(references, dict) or "model" not in references:
        raise ModelFileError("context references_ must be an object with at least 'model'.")
    layer.references_ = {}
    for name, ref in references.items():
        if name not in CONTEXT_PARTS or not (isinstance(ref, dict)
                                              and set(ref) == {"center", "scale"}):
            raise ModelFileError(f"context references_[{name!r}] must be one of "
                                 f"{list(CONTEXT_PARTS)} as {{'center', 'scale'}}.")
        center = _checked_score(ref["center"], f"context references_[{name!r}] center")
        scale = _checked_score(ref["scale"], f"context references_[{name!r}] scale")
        if not scale > 0:
            raise ModelFileError(f"context references_[{name!r}] scale must be positive.")
        layer.references_[name] = ScoreReference(center, scale)
    groups = fitted["fit_groups_"]
    if groups is not None and not (isinstance(groups, list)
                                   and all(isinstance(g, str) for g in groups)):
        raise ModelFileError("context fit_groups_ must be null or a list of strings.")
    layer.fit_groups_ = groups
    layer.offset_ = _checked_score(fitted["offset_"], "context offset_")
    layer.detector_ = detector
    layer.n_leads_, layer.beat_length_ = detector.n_leads_, detector.beat_length_
    layer.n_features_in_ = detector.n_features_in_
    if hasattr(detector, "feature_names_in_"):
        layer.feature_names_in_ = detector.feature_names_in_
    return layer


#: How to get a model like a refused first-format file again.
_REFIT_ADVICE = (
    "SIBeatGANDetector now scores by its networks only (BeatGAN's reconstruction error), "
    "so this file cannot load as the same model. Refit it with this version (`beatdetect "
    "fit`, or SIBeatGANDetector().fit); for the score it computed, fit "
    "make_detector('knn+context') (a KNNDetector in a ContextDetector), which computes a "
    "score of the same kind (nearest training beats, recording and rhythm)."
)
#: Parameters of the first format that only shaped training and mean nothing here.
_TRAINING_ONLY_1 = ("tol", "d_reset_threshold", "inference_batch_size", "kd_target",
                    "memory_size", "n_neighbors", "w_memory")


def _converted_first_format(state: dict, specs: dict) -> dict:
    """The state of a first-format file in this format, or ModelFileError with the way to
    a model like it (see the module docstring)."""
    params = dict(state["params"])
    memory = params.pop("memory", None)
    w_memory = params.get("w_memory", 1.0)
    w_rec = params.pop("w_reconstruction", 1.0)
    w_rhythm = params.pop("w_rhythm", 0.0)
    template = params.pop("recording_template", False)
    feature = params.pop("score_feature_weight", 0.0)
    fused = (memory is not None and w_memory) or w_rhythm or template or feature or not w_rec
    if fused or any(name.startswith("memory.") for name in specs):
        raise ModelFileError(
            f"it was saved by beatdetect 0.1 with a score that fused "
            f"{'a memory bank of training beats' if memory is not None else 'other parts'} "
            f"and the beat's context (memory={memory!r}, w_reconstruction={w_rec!r}, "
            f"w_rhythm={w_rhythm!r}, recording_template={template!r}). {_REFIT_ADVICE}"
        )
    for name in _TRAINING_ONLY_1:
        params.pop(name, None)
    legacy_augment = {k: params.pop(k) for k in list(params) if k.startswith("aug_")}
    augment = params.pop("augment", None)
    if legacy_augment:
        scale = legacy_augment.get("aug_scale", 0.2)
        augment = {"ECGAugment": {
            "noise": legacy_augment.get("aug_noise", 0.05), "scale": [1 - scale, 1 + scale],
            "wander": legacy_augment.get("aug_wander", 0.1),
            "warp": legacy_augment.get("aug_warp", 0.2),
            "crop": legacy_augment.get("aug_crop", 0.9),
            "mask": legacy_augment.get("aug_mask", 0.1), "p": legacy_augment.get("aug_p", 0.8)}}
    strength = params.get("time_warp")
    if _is_real(strength):
        params["time_warp"] = None if strength == 0 else {"TimeWarp": {"strength": strength}}
    distill = params.pop("distill", False)
    kd = {"w_kd": params.pop("w_kd", 1.0), "temperature": params.pop("kd_temperature", 4.0),
          "w_feat": params.pop("w_feat", 0.1), "width": params.pop("self_teacher_width", None),
          "teacher_filters": params.pop("teacher_filters", None),
          "teacher_epochs": params.pop("teacher_epochs", None)}
    if distill in (True, "self"):
        params["distill"] = {"Distillation": {"teacher": "self", **kd}}
    elif distill == "teacher":
        params["distill"] = {"Distillation": {"teacher": "beatgan", **kd}}
    else:
        params["distill"] = None
    contrastive = params.pop("contrastive", False)
    con = {"w_con": params.pop("w_con", 0.1), "temperature": params.pop("con_temperature", 0.5),
           "augment": augment, "on": params.pop("contrastive_on", "discriminator")}
    params["contrastive"] = {"Contrastive": con} if contrastive is True else None
    params.setdefault("lr_schedule", "constant")  # files written before it: constant rate
    fitted = {k: v for k, v in state["fitted"].items()
              if k not in ("score_references_", "fit_groups_")}
    return {"params": params, "fitted": fitted}


def _checked_config(detector) -> tuple[BeatGANConfig, dict]:
    """The networks' config and tensor specs; refused beyond MAX_WEIGHTS weights."""
    cfg = detector._config()
    # The largest single tensors, in exact integers: bounds them before torch sees them,
    # so no shape of the meta build can overflow.
    top, bottom = cfg.top_filters, cfg.bottom_length
    largest = max(top * cfg.latent_dim * bottom, cfg.n_leads * cfg.base_filters * 4,
                  2 * top * top if detector.n_layers > 1 else 0)
    network = {} if largest > MAX_WEIGHTS else _network_specs(cfg)
    n_weights = largest if largest > MAX_WEIGHTS else sum(
        math.prod(shape) for shape, _ in network.values())
    if n_weights > MAX_WEIGHTS:
        raise ModelFileError(
            f"the parameters (base_filters={cfg.base_filters}, n_layers={detector.n_layers}, "
            f"latent_dim={cfg.latent_dim}, beats of {cfg.n_leads} x {cfg.length}) imply "
            f"{'at least ' if largest > MAX_WEIGHTS else ''}{n_weights:,} weights, more "
            f"than the {MAX_WEIGHTS:,} a model file may hold."
        )
    return cfg, network


def _network_specs(cfg: BeatGANConfig) -> dict[str, tuple[tuple, torch.dtype]]:
    """Name -> (shape, dtype) of every tensor of the generator and discriminator.

    Built on the ``meta`` device: the modules have shapes and no storage, so this costs the
    same for any size.
    """
    with torch.device("meta"):
        modules = {"generator.": Generator(cfg), "discriminator.": Discriminator(cfg)}
    return {prefix + name: (tuple(tensor.shape), tensor.dtype)
            for prefix, module in modules.items()
            for name, tensor in module.state_dict().items()}


def _check_tensor_specs(detector, cfg: BeatGANConfig, network_specs: dict,
                        specs: dict) -> None:
    """Every tensor's name, shape and dtype (``specs``) against the networks'."""
    expected = {name: (shape, _HEADER_DTYPES[dtype])
                for name, (shape, dtype) in network_specs.items()}
    problems = [f"missing tensor {name!r}" for name in expected if name not in specs]
    problems += [f"unexpected tensor {name!r}" for name in specs if name not in expected]
    problems += [
        f"tensor {name!r} is {spec[1]} of shape {list(spec[0])}, expected "
        f"{expected[name][1]} of shape {list(expected[name][0])}"
        for name, spec in specs.items() if name in expected and spec != expected[name]
    ]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ModelFileError(
            f"its tensors do not match the networks its parameters describe "
            f"(base_filters={cfg.base_filters}, n_layers={detector.n_layers}, latent_dim="
            f"{cfg.latent_dim}, beats of {cfg.n_leads} x {cfg.length}): "
            f"{'; '.join(problems[:3])}{more}."
        )


def _build(detector, cfg: BeatGANConfig, tensors: dict) -> None:
    """Attach networks built from checked tensors; refuses non-finite values."""
    bad = sorted(name for name, tensor in tensors.items()
                 if tensor.is_floating_point() and not torch.isfinite(tensor).all())
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise ModelFileError(f"tensors {bad[:3]}{more} hold NaN or infinite values.")
    # The initial weights are overwritten at once: draw them from a forked RNG, so loading a
    # model does not move the caller's global torch random state.
    with torch.random.fork_rng(devices=[]):
        generator, discriminator = Generator(cfg), Discriminator(cfg)
    for prefix, module in (("generator.", generator), ("discriminator.", discriminator)):
        module.load_state_dict(
            {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        )
    detector.generator_, detector.discriminator_ = generator.eval(), discriminator.eval()

"""Saving and loading :class:`~beatdetect.detector.SIBeatGANDetector` as safetensors files.

The format (tag ``beatdetect.SIBeatGANDetector/1``) is one safetensors file: the tensors of
the generator (``generator.*``), the discriminator (``discriminator.*``) and, when the
detector has one, the memory bank and its projection (``memory.bank``, ``memory.mean``,
``memory.components``, and ``memory.fingerprints``, the bank's beat fingerprints, which
files saved before them lack: their bank's own beats are then not scored leave-one-out);
and in the header's metadata a JSON object ``state`` with the
constructor parameters (``"params"``) and the fitted attributes (``"fitted"``). A parameter
that holds an object (``augment``, ``time_warp``) is saved as plain data, its class name
and its fields: ``{"ECGAugment": {"noise": 0.05, "scale": [0.8, 1.2], ...}}``. Files
written before those parameters held objects, with the flat ``aug_*`` parameters and a
number for ``time_warp``, load as the same objects (:func:`_upgraded_params`).

A model file may come from anywhere, so :func:`load_detector` trusts nothing in it. It reads
the header first (metadata, tensor names, shapes and dtypes, no tensor data) and checks, in
this order, before it reads a tensor or builds a network:

1. the format tag, and the JSON of ``state``;
2. the parameters, with the estimator's own constraints (those ``fit`` checks), the
   objects among them rebuilt from their class name and fields and checked likewise;
3. the fitted attributes, against an allow-list of names and types;
4. the size of the networks those parameters imply (at most :data:`MAX_WEIGHTS` weights),
   then every tensor's name, shape and dtype against that architecture, built on the
   ``meta`` device (no memory); the memory tensors against each other, the bank's space and
   ``memory_size``.

Only then are the tensors read (each must be finite) and the detector built. Any problem
raises :class:`~beatdetect.exceptions.ModelFileError` naming the file and the problem.

:func:`save_detector` writes to a temporary file beside the target, named
``.<name>.<random>.tmp``, and renames it into place, so the target is either the old file or
the complete new one. The temporary file is removed on any error; only a process killed
outright (SIGKILL, power loss) can leave one behind, recognisable by that name.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from .context import ScoreReference
from .exceptions import ModelFileError
from .memory import MemoryBank, PCAProjection
from .nn.augment import ECGAugment, TimeWarp
from .nn.networks import BeatGANConfig, Discriminator, Generator

__all__ = ["FORMAT", "MAX_WEIGHTS", "load_detector", "save_detector"]

#: Format tag written into saved files; bump when the layout changes.
FORMAT = "beatdetect.SIBeatGANDetector/1"
#: Most weights (generator and discriminator together) a loadable file may imply: 2**28,
#: 1 GiB of float32, about 100 times the published network (2.6 million). A file asking for
#: more is refused before anything is built.
MAX_WEIGHTS = 2**28
#: Bounds of the beat shape and of the training counters read from a file.
MAX_LEADS = 4096
MAX_BEAT_LENGTH = 2**20
MAX_EPOCHS_RUN = 10**7
MAX_RESETS = 10**12
#: Most keys of one history record (one per loss term and diagnostic).
MAX_HISTORY_KEYS = 1000

#: Parameters of the format's first version: every saved file has them.
FIRST_PARAMS = frozenset({
    "contamination", "base_filters", "n_layers", "latent_dim", "w_adv", "lr", "beta1",
    "max_epochs", "batch_size", "time_warp", "score_feature_weight", "early_stopping",
    "validation_fraction", "n_iter_no_change", "tol", "d_reset_threshold",
    "mixed_precision", "device", "inference_batch_size", "random_state", "verbose",
})
#: Parameters of the fused score, with the values that reproduce files written before it:
#: those detectors were plain BeatGAN (reconstruction error, no memory, no context). Other
#: parameters added since (training-only ones) take their defaults when absent.
LEGACY_PARAMS = {"memory": None, "w_reconstruction": 1.0, "w_rhythm": 0.0,
                 "recording_template": False}
#: Parameters that hold an object, and its class: saved as ``{class name: fields}``.
OBJECT_PARAMS = {"augment": ECGAugment, "time_warp": TimeWarp}
#: The flat parameters of the contrastive views in files written before ``augment``, with
#: their defaults of then (``aug_scale=s`` meant the amplitude range ``(1 - s, 1 + s)``).
LEGACY_AUGMENT = {"aug_noise": 0.05, "aug_scale": 0.2, "aug_wander": 0.1, "aug_warp": 0.2,
                  "aug_crop": 0.9, "aug_mask": 0.1, "aug_p": 0.8}
#: Fitted attributes every file has, and those added since (absent from older files).
REQUIRED_FITTED = ("offset_", "n_leads_", "beat_length_", "n_features_in_", "n_iter_",
                   "history_", "n_discriminator_resets_")
OPTIONAL_FITTED = ("training_precision_", "score_references_", "fit_groups_",
                   "feature_names_in_")
#: Arithmetic a detector may have trained in (``training_precision_``).
PRECISIONS = ("float32", "bfloat16", "float16")
#: Parts of the score that may have a reference (``score_references_``).
SCORE_PARTS = ("reconstruction", "memory", "recording", "rhythm")
#: Tensor names of the memory bank and of its projection.
MEMORY_TENSORS = ("memory.bank", "memory.mean", "memory.components")
#: The bank's beat fingerprints (int64 bits of uint64), absent from files saved before them;
#: without them the bank's own beats are not scored leave-one-out.
MEMORY_FINGERPRINTS = "memory.fingerprints"
#: dtypes as the safetensors header spells them.
_HEADER_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
                  torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}


# --------------------------------------------------------------------------- save
def save_detector(detector, path) -> Path:
    """Write a fitted detector to a safetensors file, atomically (no pickle).

    The file is written under a temporary name in the target's folder
    (``.<name>.<random>.tmp``) and renamed over ``path`` once complete. On any error the
    temporary file is removed and an existing file at ``path`` is left as it was.

    Parameters
    ----------
    detector : SIBeatGANDetector
        A fitted detector.
    path : str or Path
        Destination, conventionally ``*.safetensors``; its folder must exist.

    Returns
    -------
    path : Path

    Raises
    ------
    NotFittedError
        The detector is not fitted.
    IsADirectoryError
        ``path`` is a directory.
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    from safetensors.torch import save as serialize

    check_is_fitted(detector)
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
    # Serialised in memory, then written by us: safetensors' own save_file writes through a
    # temporary file of its own (``.tmpXXXXXX``), which a killed process would leave behind
    # under a name that says nothing about where it came from.
    data = serialize(_tensors(detector), metadata={"format": FORMAT,
                                                   "state": json.dumps(_state(detector))})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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
    params = {k: _saved_param(k, v) for k, v in detector.get_params(deep=False).items()}
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None  # a RandomState instance is not reproducible data
    fitted = {
        "offset_": detector.offset_, "n_leads_": detector.n_leads_,
        "beat_length_": detector.beat_length_, "n_features_in_": detector.n_features_in_,
        "n_iter_": detector.n_iter_, "history_": detector.history_,
        "n_discriminator_resets_": detector.n_discriminator_resets_,
        # Absent from detectors loaded from files written before it was recorded.
        "training_precision_": getattr(detector, "training_precision_", None),
        "score_references_": {name: ref.to_dict() for name, ref in
                              getattr(detector, "score_references_", {}).items()},
        "fit_groups_": getattr(detector, "fit_groups_", None),
    }
    if hasattr(detector, "feature_names_in_"):  # fitted on a DataFrame
        fitted["feature_names_in_"] = [str(name) for name in detector.feature_names_in_]
    return {"params": params, "fitted": fitted}


def _saved_param(name: str, value):
    """A parameter as JSON data: a device as its string, an object as {class name: fields}."""
    if isinstance(value, torch.device):
        return str(value)
    if name in OBJECT_PARAMS and value is not None:
        if type(value) is not OBJECT_PARAMS[name]:  # a subclass's code is not data
            raise TypeError(f"Cannot save {name}={value!r}: only {OBJECT_PARAMS[name].__name__} "
                            "objects can be saved.")
        return {type(value).__name__: value.get_params(deep=False)}
    return value


def _tensors(detector) -> dict[str, torch.Tensor]:
    tensors = {f"generator.{k}": v.contiguous() for k, v in
               detector.generator_.state_dict().items()}
    tensors.update({f"discriminator.{k}": v.contiguous() for k, v in
                    detector.discriminator_.state_dict().items()})
    if getattr(detector, "memory_bank_", None) is not None:
        tensors.update(detector.memory_bank_.to_tensors("memory."))
    if getattr(detector, "memory_projection_", None) is not None:
        tensors.update(detector.memory_projection_.to_tensors("memory."))
    return tensors


# --------------------------------------------------------------------------- load
def load_detector(cls, path):
    """Load a detector written by :func:`save_detector`, checking the whole file first.

    Reads tensors and JSON only: no code from the file runs. See the module docstring for
    what is checked and in which order.

    Parameters
    ----------
    cls : type
        :class:`~beatdetect.detector.SIBeatGANDetector` (or a subclass).
    path : str or Path

    Returns
    -------
    detector : cls
        Fitted, modules on the CPU in eval mode.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ModelFileError
        The file is not a saved detector, or is damaged or inconsistent; the message names
        the file and the problem.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    try:
        handle = safe_open(str(path), framework="pt")
    except (SafetensorError, OSError) as err:
        raise ModelFileError(
            f"{path} is not a saved {cls.__name__}: not a readable safetensors file ({err})."
        ) from None
    with handle as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ModelFileError(
                f"{path} is not a saved {cls.__name__} (format "
                f"{metadata.get('format')!r}, expected {FORMAT!r})."
            )
        specs = {}
        for name in f.keys():  # noqa: SIM118 (safe_open is no dict)
            piece = f.get_slice(name)
            specs[name] = (tuple(piece.get_shape()), piece.get_dtype())
        try:
            detector, cfg = _checked_header(cls, metadata.get("state"), specs)
        except ModelFileError as err:
            raise ModelFileError(f"Cannot load {path}: {err}") from None
        # Everything is consistent and bounded: read the tensors.
        tensors = {name: f.get_tensor(name) for name in specs}
    try:
        _build(detector, cfg, tensors)
    except ModelFileError as err:
        raise ModelFileError(f"Cannot load {path}: {err}") from None
    return detector


def _checked_header(cls, state_json, specs: dict):
    """A detector with validated parameters and fitted attributes, and its network config.

    Raises ModelFileError (without the file name) on the first problem.
    """
    if not isinstance(state_json, str):
        raise ModelFileError("the metadata has no 'state'.")
    try:
        state = json.loads(state_json)
    except (ValueError, RecursionError) as err:
        raise ModelFileError(f"the metadata 'state' is not valid JSON ({err}).") from None
    if not isinstance(state, dict) or set(state) != {"params", "fitted"}:
        raise ModelFileError("the metadata 'state' must be an object with exactly 'params' "
                             "and 'fitted'.")
    params, fitted = state["params"], state["fitted"]
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise ModelFileError("'params' and 'fitted' must be JSON objects.")
    detector = cls(**_checked_params(cls, params))
    for name, value in _checked_fitted(fitted).items():
        setattr(detector, name, value)
    _check_score_parts(detector)
    cfg, network = _checked_config(detector)
    _check_tensor_specs(detector, cfg, network, specs)
    return detector, cfg


def _checked_params(cls, params: dict) -> dict:
    """The constructor parameters of a file, validated as ``fit`` validates them."""
    params = _upgraded_params(params)
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ModelFileError(f"unknown parameters {unknown}.")
    missing = sorted(FIRST_PARAMS - set(params))
    if missing:
        raise ModelFileError(f"missing parameters {missing}.")
    params = {**LEGACY_PARAMS, **params}
    for name in OBJECT_PARAMS.keys() & params.keys():
        params[name] = _loaded_object(name, params[name])
    try:
        cls(**params)._validate_params()
    except InvalidParameterError as err:
        raise ModelFileError(f"invalid parameter: {err}") from None
    return params


def _upgraded_params(params: dict) -> dict:
    """Parameters of files written before ``augment`` and ``time_warp`` held objects, as
    the objects' data: the same augmentations, drawn the same way.

    ``aug_noise, aug_scale, aug_wander, aug_warp, aug_crop, aug_mask, aug_p`` become
    ``augment`` (``aug_scale=s`` the range ``(1 - s, 1 + s)``; absent ones their defaults of
    then), and a number ``time_warp=s`` becomes ``TimeWarp(strength=s)``, 0 no warp (None).
    """
    legacy = {name: params[name] for name in LEGACY_AUGMENT if name in params}
    params = {name: value for name, value in params.items() if name not in LEGACY_AUGMENT}
    if legacy:
        if "augment" in params:
            raise ModelFileError(f"both 'augment' and the older parameters {sorted(legacy)} "
                                 "that it replaced.")
        not_numbers = sorted(name for name, value in legacy.items() if not _is_real(value))
        if not_numbers:
            raise ModelFileError(f"parameters {not_numbers} must be numbers.")
        old = {**LEGACY_AUGMENT, **legacy}
        params["augment"] = {"ECGAugment": {
            "noise": old["aug_noise"], "scale": [1 - old["aug_scale"], 1 + old["aug_scale"]],
            "wander": old["aug_wander"], "warp": old["aug_warp"], "crop": old["aug_crop"],
            "mask": old["aug_mask"], "p": old["aug_p"]}}
    strength = params.get("time_warp")
    if _is_real(strength):
        params["time_warp"] = None if strength == 0 else {"TimeWarp": {"strength": strength}}
    return params


def params_from_data(params: dict) -> dict:
    """SIBeatGANDetector parameters written as plain data, as the constructor takes them.

    A command line (``--param``), a JSON results file or a model file can only hold plain
    values: ``augment={"ECGAugment": {field: value}}`` and ``time_warp={"TimeWarp": {...}}``
    become those objects, and a number ``time_warp=s`` means ``TimeWarp(strength=s)`` (0:
    no warp). A field alone, ``augment__noise=0.1`` as
    :class:`~sklearn.model_selection.GridSearchCV` names it, changes that field of the
    object given (or of the default object when none is). Other parameters pass through
    unchanged.

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
    >>> params_from_data({"time_warp": 0.2, "augment": {"ECGAugment": {"noise": 0.1}}})
    {'time_warp': TimeWarp(), 'augment': ECGAugment(noise=0.1)}
    >>> params_from_data({"augment__warp": 0.0, "augment__mask": 0.0})
    {'augment': ECGAugment(mask=0.0, warp=0.0)}
    """
    params = dict(params)
    strength = params.get("time_warp")
    if _is_real(strength):
        params["time_warp"] = None if strength == 0 else TimeWarp(strength=strength)
    for name in OBJECT_PARAMS.keys() & params.keys():
        params[name] = _loaded_object(name, params[name])
    fields: dict[str, dict] = {}
    for key in list(params):
        name, _, field = key.partition("__")
        if field and name in OBJECT_PARAMS:
            fields.setdefault(name, {})[field] = params.pop(key)
    for name, values in fields.items():
        cls = OBJECT_PARAMS[name]
        unknown = sorted(set(values) - set(cls._get_param_names()))
        if unknown:
            raise ValueError(f"{name}: {cls.__name__} has no field(s) {unknown}; its fields "
                             f"are {', '.join(cls._get_param_names())}.")
        base = params.get(name)
        if not isinstance(base, cls):  # none given: the default object (None would be no warp)
            base = cls()
        params[name] = cls(**{**base.get_params(deep=False), **values})
    return params


def nested_param_names() -> set[str]:
    """The ``name__field`` forms :func:`params_from_data` takes, ``augment__noise`` and so on.

    Examples
    --------
    >>> sorted(nested_param_names())[:2]
    ['augment__anchor', 'augment__crop']
    """
    return {f"{name}__{field}" for name, cls in OBJECT_PARAMS.items()
            for field in cls._get_param_names()}


def _loaded_object(name: str, data):
    """The object of parameter ``name`` from its saved ``{class name: fields}``.

    Anything else is returned as it is, for the parameter's constraint to refuse.
    """
    cls = OBJECT_PARAMS[name]
    if not (isinstance(data, dict) and len(data) == 1):
        return data
    ((class_name, fields),) = data.items()
    if class_name != cls.__name__ or not isinstance(fields, dict):
        raise ModelFileError(f"parameter {name!r} must be null or "
                             f"{{{cls.__name__!r}: {{field: value}}}}, got {data!r:.200}.")
    unknown = sorted(set(fields) - set(cls._get_param_names()))
    if unknown:
        raise ModelFileError(f"parameter {name!r}: {cls.__name__} has no fields {unknown}.")
    # JSON has no tuples: the pair ``scale`` comes back as a list.
    return cls(**{key: tuple(value) if isinstance(value, list) else value
                  for key, value in fields.items()})


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _checked_int(fitted: dict, name: str, low: int, high: int) -> int:
    value = fitted[name]
    if not _is_int(value) or not low <= value <= high:
        raise ModelFileError(f"fitted {name} must be an integer in [{low}, {high}], got "
                             f"{value!r}.")
    return int(value)


def _checked_fitted(fitted: dict) -> dict:
    """Fitted attributes of a file, by an allow-list of names, types and bounds."""
    unknown = sorted(set(fitted) - set(REQUIRED_FITTED) - set(OPTIONAL_FITTED))
    if unknown:
        raise ModelFileError(f"unknown fitted attributes {unknown}.")
    missing = [name for name in REQUIRED_FITTED if name not in fitted]
    if missing:
        raise ModelFileError(f"missing fitted attributes {missing}.")
    out = {}
    offset = fitted["offset_"]
    if not _is_real(offset) or not math.isfinite(offset):
        raise ModelFileError(f"fitted offset_ must be a finite number, got {offset!r}.")
    out["offset_"] = float(offset)
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
    if "training_precision_" in fitted:
        precision = fitted["training_precision_"]
        if precision is not None and precision not in PRECISIONS:
            raise ModelFileError(f"fitted training_precision_ must be one of {PRECISIONS} "
                                 f"or null, got {precision!r}.")
        out["training_precision_"] = precision
    out["score_references_"] = _checked_references(fitted.get("score_references_") or {})
    groups = fitted.get("fit_groups_")
    if groups is not None and not (isinstance(groups, list)
                                   and all(isinstance(g, str) for g in groups)):
        raise ModelFileError(f"fitted fit_groups_ must be null or a list of strings, got "
                             f"{type(groups).__name__}.")
    out["fit_groups_"] = groups
    if "feature_names_in_" in fitted:
        names = fitted["feature_names_in_"]
        if not (isinstance(names, list) and len(names) == n_features
                and all(isinstance(name, str) for name in names)):
            raise ModelFileError(f"fitted feature_names_in_ must be a list of "
                                 f"n_features_in_ = {n_features} strings.")
        # As scikit-learn's validate_data stores them.
        out["feature_names_in_"] = np.asarray(names, dtype=object)
    return out


def _checked_references(references) -> dict:
    if not isinstance(references, dict):
        raise ModelFileError("fitted score_references_ must be an object.")
    out = {}
    for name, ref in references.items():
        if name not in SCORE_PARTS:
            raise ModelFileError(f"fitted score_references_ has an unknown part {name!r} "
                                 f"(known: {list(SCORE_PARTS)}).")
        if not (isinstance(ref, dict) and set(ref) == {"center", "scale"}
                and _is_real(ref["center"]) and math.isfinite(ref["center"])
                and _is_real(ref["scale"]) and math.isfinite(ref["scale"])
                and ref["scale"] > 0):
            raise ModelFileError(f"fitted score_references_[{name!r}] must be "
                                 "{'center': finite number, 'scale': finite positive number}.")
        out[name] = ScoreReference(float(ref["center"]), float(ref["scale"]))
    return out


def _has_memory_bank(detector) -> bool:
    """Whether ``fit`` gives this detector a memory bank (and so its file must hold one)."""
    return (detector.memory is not None and bool(detector.w_memory)
            and detector._standardizes())


def _check_score_parts(detector) -> None:
    """The score the parameters describe can be computed from what the file holds."""
    weights = detector._component_weights()
    active = [name for name, weight in weights.items() if weight]
    if not active:
        raise ModelFileError("the parameters give the score no part (w_reconstruction = 0 "
                             "and no memory bank).")
    if detector._standardizes():
        missing = [name for name in active if name not in detector.score_references_]
        if missing:
            raise ModelFileError(f"fitted score_references_ lacks the parts {missing} of "
                                 "the score.")


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


def _memory_space_dims(detector, cfg: BeatGANConfig) -> int:
    """Size of the features the memory bank is built from, before its projection."""
    dims = {"input": detector.n_features_in_, "latent": cfg.latent_dim,
            "discriminator": cfg.top_filters}
    return dims[detector.memory]


def _check_tensor_specs(detector, cfg: BeatGANConfig, network_specs: dict,
                        specs: dict) -> None:
    """Every tensor's name, shape and dtype (``specs``) against the networks' and memory's."""
    expected = {name: (shape, _HEADER_DTYPES[dtype])
                for name, (shape, dtype) in network_specs.items()}
    memory = {name: specs[name] for name in (*MEMORY_TENSORS, MEMORY_FINGERPRINTS)
              if name in specs}
    network = {name: spec for name, spec in specs.items() if name not in memory}
    problems = [f"missing tensor {name!r}" for name in expected if name not in network]
    problems += [f"unexpected tensor {name!r}" for name in network if name not in expected]
    problems += [
        f"tensor {name!r} is {spec[1]} of shape {list(spec[0])}, expected "
        f"{expected[name][1]} of shape {list(expected[name][0])}"
        for name, spec in network.items() if name in expected and spec != expected[name]
    ]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ModelFileError(
            f"its tensors do not match the networks its parameters describe "
            f"(base_filters={cfg.base_filters}, n_layers={detector.n_layers}, latent_dim="
            f"{cfg.latent_dim}, beats of {cfg.n_leads} x {cfg.length}): "
            f"{'; '.join(problems[:3])}{more}."
        )
    if not _has_memory_bank(detector):
        if memory:
            raise ModelFileError(f"unexpected tensors {sorted(memory)}: the parameters give "
                                 "the detector no memory bank.")
        return
    missing = [name for name in MEMORY_TENSORS if name not in memory]
    if missing:
        raise ModelFileError(f"missing tensors {missing} of the memory bank "
                             f"(memory={detector.memory!r}).")
    wrong_dtype = [name for name, (_, dtype) in memory.items()
                   if dtype != ("I64" if name == MEMORY_FINGERPRINTS else "F32")]
    if wrong_dtype:
        raise ModelFileError(f"memory tensors {wrong_dtype} must be F32 ({MEMORY_FINGERPRINTS!r}"
                             " I64).")
    bank, mean, components = (memory[name][0] for name in MEMORY_TENSORS)
    space = _memory_space_dims(detector, cfg)
    # Shapes PCAProjection.fit and MemoryBank give: components (k, space) with
    # 1 <= k <= min(space, rows of the bank), mean (space,), bank (rows, k).
    if not (len(bank) == 2 and len(mean) == 1 and len(components) == 2
            and 1 <= bank[0] <= detector.memory_size and mean[0] == space
            and components[1] == space and 1 <= components[0] <= min(space, bank[0])
            and bank[1] == components[0]):
        raise ModelFileError(
            f"the memory tensors have shapes bank {list(bank)}, mean {list(mean)}, "
            f"components {list(components)}; expected bank (rows, k) with 1 <= rows <= "
            f"memory_size = {detector.memory_size}, mean ({space},) and components "
            f"(k, {space}) with 1 <= k <= min({space}, rows) for memory={detector.memory!r}."
        )
    if MEMORY_FINGERPRINTS in memory and list(memory[MEMORY_FINGERPRINTS][0]) != [bank[0]]:
        raise ModelFileError(
            f"tensor {MEMORY_FINGERPRINTS!r} has shape {list(memory[MEMORY_FINGERPRINTS][0])}, "
            f"expected [{bank[0]}] (one fingerprint per row of the bank)."
        )


def _build(detector, cfg: BeatGANConfig, tensors: dict) -> None:
    """Attach networks and memory built from checked tensors; refuses non-finite values."""
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
    detector.memory_bank_ = detector.memory_projection_ = None
    if "memory.bank" in tensors:
        detector.memory_bank_ = MemoryBank.from_tensors(tensors, "memory.")
        detector.memory_projection_ = PCAProjection.from_tensors(tensors, "memory.")

"""Device and mixed-precision resolution, shared by every torch model in the library.

On a CPU, ``mixed_precision="auto"`` chooses bfloat16 by what is faster there, not by what
the CPU supports: native bfloat16 units are necessary (without them PyTorch emulates
bfloat16), but not sufficient. On an Intel CPU with AVX512-BF16 and no AMX, bfloat16
autocast trained BeatGAN 26 % slower than float32 (issue 20), because the conversions
around each small convolution cost more than the faster arithmetic saves. So the first
``"auto"`` fit of a model configuration times a few training steps in both precisions
(a :class:`PrecisionProbe`) and remembers the answer, in the process and in
``$XDG_CACHE_HOME/beatdetect/cpu_precision.json``, so that it is measured once per machine
and the choice is stable there.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from sklearn.utils._param_validation import StrOptions

__all__ = [
    "BF16_SPEEDUP_REQUIRED",
    "DEVICES",
    "DeviceOption",
    "PrecisionProbe",
    "autocast_dtype",
    "cpu_name",
    "cpu_precision_cache_path",
    "cpu_prefers_bf16",
    "cpu_supports_bf16",
    "forget_cpu_precision",
    "is_supported_device",
    "resolve_device",
]

#: The ``device`` values a detector accepts, as its error messages spell them.
DEVICES = '"auto", "cpu", "cuda", "cuda:N" or a torch.device of type cpu or cuda'
#: Device strings other than "auto": a CPU or a CUDA device, optionally with its index
#: (``"cpu:0"`` is how a ``torch.device("cpu", 0)`` is saved) written as torch parses it.
_DEVICE_STRING = re.compile(r"(cpu|cuda)(:(0|[1-9][0-9]{0,5}))?")


def is_supported_device(device) -> bool:
    """Whether ``device`` names a device the detectors can train and score on.

    Parameters
    ----------
    device : object
        A ``device`` parameter value.

    Returns
    -------
    supported : bool
        True for ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (and ``"cpu:N"``), and
        ``torch.device`` objects of type cpu or cuda. Whether CUDA is available is not
        checked here (see :func:`resolve_device`).

    Examples
    --------
    >>> is_supported_device("cuda:1"), is_supported_device("tpu"), is_supported_device("")
    (True, False, False)
    """
    if isinstance(device, torch.device):
        return device.type in ("cpu", "cuda")
    return isinstance(device, str) and (
        device == "auto" or _DEVICE_STRING.fullmatch(device) is not None)


class DeviceOption(StrOptions):
    """scikit-learn parameter constraint of ``device`` (see :func:`is_supported_device`).

    Used in ``_parameter_constraints``, so a device torch cannot use for a detector
    (``"tpu"``, ``"meta"``, ``""``) fails in ``fit``'s parameter validation with the other
    parameters, not inside torch. A :class:`~sklearn.utils._param_validation.StrOptions`
    (of the plain names) because scikit-learn accepts no other kind of custom constraint;
    it also accepts ``"cuda:N"`` and ``torch.device`` objects.
    """

    def __init__(self):
        super().__init__({"auto", "cpu", "cuda"})

    def is_satisfied_by(self, val) -> bool:
        return is_supported_device(val)

    def __str__(self) -> str:
        return DEVICES


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device of a ``device`` parameter.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"`` (CUDA when available, else the CPU), or a device accepted by
        :func:`is_supported_device`.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        ``device`` is not a supported device, or is a CUDA device while CUDA is not
        available.
    """
    if not is_supported_device(device):
        raise ValueError(f"device must be {DEVICES}; got {device!r}.")
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch.cuda.is_available() is False.")
    return device


@functools.cache
def cpu_supports_bf16() -> bool:
    """True when the CPU has native bfloat16 units (AMX or AVX512-BF16).

    Without them PyTorch emulates bfloat16 and autocast is much slower than float32. With
    them it is not always faster either, which :func:`cpu_prefers_bf16` measures.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: trust PyTorch's own probe
        return bool(getattr(torch.backends.mkldnn, "is_available", lambda: False)()) and (
            torch.backends.cpu.get_cpu_capability() in {"AVX512_BF16", "AMX"}
        )
    return "amx_bf16" in flags or "avx512_bf16" in flags


#: On a CPU, ``"auto"`` takes bfloat16 only when its measured training step takes at most this
#: fraction of float32's: at least 10 % faster, a margin above the noise of a short
#: measurement, so that a tie keeps the exact arithmetic.
BF16_SPEEDUP_REQUIRED = 0.9

#: Version of the cache file's layout; a file of another version is ignored and rewritten.
_CACHE_VERSION = 1
#: Entries kept in the cache file (the most recent), so configurations tried once (a grid
#: search, the tests' tiny models) do not make it grow without bound.
_CACHE_MAX_ENTRIES = 64

#: The choices of this process, by :func:`_cache_key`.
_choices: dict[str, bool] = {}


@dataclass(frozen=True)
class PrecisionProbe:
    """A short timing of one model's training step in float32 and in bfloat16 autocast.

    Built by the model that trains (for BeatGAN,
    :func:`beatdetect.gan.training.precision_probe`) and run by :func:`cpu_prefers_bf16` at
    most once per process and machine for each ``key``.

    Attributes
    ----------
    key : str
        What the timing depends on besides the machine: the model configuration and batch
        size. The CPU, PyTorch version and thread count are added to it by the cache.
    measure : callable () -> (float, float)
        Seconds per training step in float32 and in bfloat16 autocast, in that order,
        each measured after a warm-up.
    """

    key: str
    measure: Callable[[], tuple[float, float]]


@functools.cache
def cpu_name() -> str:
    """The CPU's model name ("model name" of /proc/cpuinfo, else the platform's name).

    Examples
    --------
    >>> isinstance(cpu_name(), str)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cpu_precision_cache_path() -> Path:
    """The file where measured CPU precision choices are kept.

    ``$XDG_CACHE_HOME/beatdetect/cpu_precision.json`` (``~/.cache/...`` when
    ``XDG_CACHE_HOME`` is not set). Deleting it makes the next ``"auto"`` fit measure again.

    Returns
    -------
    path : Path
    """
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "beatdetect" / "cpu_precision.json"


def _cache_key(probe_key: str) -> str:
    """Everything a CPU timing depends on: CPU model, PyTorch version, threads, model."""
    return (f"{cpu_name()} | torch {torch.__version__} | {torch.get_num_threads()} threads | "
            f"{probe_key}")


def _read_cache(path: Path) -> dict:
    """The cache file's entries; {} when it is missing, unreadable or not ours."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):  # missing, or corrupt (it will be rewritten)
        return {}
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
        return {}
    entries = data.get("entries")
    if not isinstance(entries, dict):
        return {}
    return {key: entry for key, entry in entries.items()
            if isinstance(entry, dict) and entry.get("precision") in ("float32", "bfloat16")}


def _write_cache(path: Path, entries: dict) -> None:
    """Write the entries atomically; a cache that cannot be written is skipped silently
    (read-only home): the choice is still remembered in the process."""
    newest = sorted(entries.items(), key=lambda item: item[1].get("measured", ""))
    data = {"version": _CACHE_VERSION, "entries": dict(newest[-_CACHE_MAX_ENTRIES:])}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False,
                                         encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(fh.name, path)
    except OSError:
        pass


def cpu_prefers_bf16(probe: PrecisionProbe) -> bool:
    """Whether bfloat16 autocast trains ``probe``'s model faster than float32 on this CPU.

    True when the measured bfloat16 step takes at most :data:`BF16_SPEEDUP_REQUIRED` times
    the float32 step. Measured once: the answer is remembered for the process and in
    :func:`cpu_precision_cache_path`, keyed by the CPU model, PyTorch version, number of
    threads and ``probe.key``, so that repeated fits on a machine use the same arithmetic
    (a timing on a busy machine could otherwise flip between fits). A corrupt cache file
    is ignored and rewritten.

    Parameters
    ----------
    probe : PrecisionProbe

    Returns
    -------
    prefers_bf16 : bool
    """
    key = _cache_key(probe.key)
    if key in _choices:
        return _choices[key]
    path = cpu_precision_cache_path()
    entries = _read_cache(path)
    if key in entries:
        _choices[key] = entries[key]["precision"] == "bfloat16"
        return _choices[key]
    float32_s, bfloat16_s = probe.measure()
    choice = bfloat16_s <= BF16_SPEEDUP_REQUIRED * float32_s
    _choices[key] = choice
    entries = _read_cache(path)  # again: another process may have written meanwhile
    entries[key] = {"precision": "bfloat16" if choice else "float32",
                    "float32_step_s": float32_s, "bfloat16_step_s": bfloat16_s,
                    "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _write_cache(path, entries)
    return choice


def forget_cpu_precision() -> None:
    """Forget this process's measured choices (the cache file is left alone)."""
    _choices.clear()


def autocast_dtype(device: torch.device, mixed_precision,
                   probe: PrecisionProbe | None = None) -> torch.dtype | None:
    """The autocast dtype for ``mixed_precision`` on ``device``, or None for float32.

    Parameters
    ----------
    device : torch.device
    mixed_precision : "auto" or bool
        ``True`` forces bfloat16, ``False`` float32. ``"auto"``: bfloat16 on CUDA GPUs
        that support it; on a CPU, bfloat16 only when the CPU has native bfloat16
        (:func:`cpu_supports_bf16`) and ``probe`` measured it at least 10 % faster than
        float32 (:func:`cpu_prefers_bf16`); float32 otherwise, and always on a CPU when no
        ``probe`` is given: without a measurement the exact arithmetic is kept.
    probe : PrecisionProbe, optional
        The timing of the model to train, run only when the CPU has native bfloat16 and
        no earlier answer is remembered.

    Returns
    -------
    dtype : torch.dtype or None
    """
    if mixed_precision is False:
        return None
    if mixed_precision is True:
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if not cpu_supports_bf16() or probe is None:
        return None
    return torch.bfloat16 if cpu_prefers_bf16(probe) else None

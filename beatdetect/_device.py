"""Device and mixed-precision resolution, shared by every torch model in the library."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import torch
from sklearn.utils._param_validation import StrOptions

__all__ = [
    "DEVICES",
    "DeviceOption",
    "autocast_dtype",
    "cpu_supports_bf16",
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
    """True when the CPU has native bfloat16 matrix units (AMX or AVX512-BF16).

    Without them PyTorch emulates bfloat16 and autocast is slower than float32.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: trust PyTorch's own probe
        return bool(getattr(torch.backends.mkldnn, "is_available", lambda: False)()) and (
            torch.backends.cpu.get_cpu_capability() in {"AVX512_BF16", "AMX"}
        )
    return "amx_bf16" in flags or "avx512_bf16" in flags


def autocast_dtype(device: torch.device, mixed_precision) -> torch.dtype | None:
    """The autocast dtype for ``mixed_precision`` on ``device``, or None for float32.

    ``"auto"``: bfloat16 on CPUs with native bfloat16 and on CUDA GPUs that support it,
    float32 elsewhere. ``True`` forces bfloat16, ``False`` forces float32.
    """
    if mixed_precision is False:
        return None
    if mixed_precision is True:
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if cpu_supports_bf16() else None

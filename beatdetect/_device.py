"""Device and mixed-precision resolution, shared by every torch model in the library."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

__all__ = ["autocast_dtype", "cpu_supports_bf16", "resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to torch."""
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

"""Device and precision resolution: bfloat16 only where the hardware runs it natively."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import beatdetect._device as device_module
from beatdetect import SIBeatGANDetector
from beatdetect._device import autocast_dtype, cpu_supports_bf16, resolve_device
from beatdetect.datasets import make_synthetic_beats

CPU = torch.device("cpu")


@pytest.fixture
def cpu_flags(monkeypatch):
    """Pretend /proc/cpuinfo lists the given flags."""

    def set_flags(flags: str):
        cpu_supports_bf16.cache_clear()
        monkeypatch.setattr(device_module.Path, "read_text", lambda self, *a, **k: flags)

    yield set_flags
    cpu_supports_bf16.cache_clear()


@pytest.mark.parametrize(("flags", "native"), [
    ("fpu avx2 fma", False),                       # AVX2 only (e.g. AMD Zen 3)
    ("fpu avx512f avx512_bf16", True),             # AVX512-BF16
    ("fpu avx512f amx_tile amx_bf16", True),       # AMX
])
def test_native_bfloat16_is_read_from_the_cpu_flags(cpu_flags, flags, native):
    cpu_flags(flags)
    assert cpu_supports_bf16() is native
    assert autocast_dtype(CPU, "auto") == (torch.bfloat16 if native else None)


def test_explicit_precision_overrides_detection(cpu_flags):
    cpu_flags("fpu avx2")
    assert autocast_dtype(CPU, True) == torch.bfloat16
    cpu_flags("fpu amx_bf16")
    assert autocast_dtype(CPU, False) is None


def test_auto_falls_back_to_float32_bit_for_bit_without_native_bfloat16(monkeypatch):
    monkeypatch.setattr(device_module, "cpu_supports_bf16", lambda: False)
    data = make_synthetic_beats(n_normal=128, n_anomalous=16, random_state=0)
    params = dict(base_filters=4, latent_dim=8, max_epochs=1, batch_size=32, device="cpu",
                  random_state=0)
    auto = SIBeatGANDetector(mixed_precision="auto", **params).fit(data.X)
    fp32 = SIBeatGANDetector(mixed_precision=False, **params).fit(data.X)
    np.testing.assert_array_equal(auto.score_samples(data.X), fp32.score_samples(data.X))


def test_resolve_device():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")

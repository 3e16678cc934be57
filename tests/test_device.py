"""Device and precision resolution: bfloat16 only where the hardware runs it natively."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import beatdetect._device as device_module
from beatdetect import SIBeatGANDetector
from beatdetect._device import (
    DeviceOption,
    autocast_dtype,
    cpu_supports_bf16,
    is_supported_device,
    resolve_device,
)
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


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "cpu:0",
                                    torch.device("cpu"), torch.device("cuda", 1)])
def test_supported_devices(device):
    assert is_supported_device(device)


@pytest.mark.parametrize("device", ["tpu", "meta", "", "CPU", "cuda:", "cuda:x", "cuda:01",
                                    "cuda:-1", "mps", " cpu", None, 0, 1.5,
                                    torch.device("meta")])
def test_unsupported_devices_are_a_clear_error(device):
    assert not is_supported_device(device)
    with pytest.raises(ValueError, match="device must be"):
        resolve_device(device)


def test_device_constraint_message_names_the_accepted_values():
    from sklearn.utils._param_validation import validate_parameter_constraints

    with pytest.raises(ValueError, match=r"must be \"auto\", \"cpu\", \"cuda\", \"cuda:N\" "
                                         r"or a torch.device of type cpu or cuda. Got 'tpu'"):
        validate_parameter_constraints({"device": [DeviceOption()]}, {"device": "tpu"},
                                       caller_name="Detector")

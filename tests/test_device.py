"""Device and precision resolution: bfloat16 on a CPU only where it is native and faster."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import beatdetect._device as device_module
from beatdetect import SIBeatGANDetector
from beatdetect._device import (
    DeviceOption,
    PrecisionProbe,
    autocast_dtype,
    cpu_precision_cache_path,
    cpu_prefers_bf16,
    cpu_supports_bf16,
    forget_cpu_precision,
    is_supported_device,
    resolve_device,
)
from beatdetect.datasets import make_synthetic_beats
from beatdetect.gan.training import precision_probe
from beatdetect.nn.networks import BeatGANConfig

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def private_precision_cache(tmp_path, monkeypatch):
    """Each test measures afresh and writes its cache file under tmp_path, not ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    forget_cpu_precision()
    yield tmp_path / "cache" / "beatdetect" / "cpu_precision.json"
    forget_cpu_precision()


class FakeProbe:
    """A probe reporting given step times and counting how often it was run."""

    def __init__(self, float32_s: float, bfloat16_s: float, key: str = "model A"):
        self.times, self.calls = (float32_s, bfloat16_s), 0
        self.probe = PrecisionProbe(key=key, measure=self.measure)

    def measure(self):
        self.calls += 1
        return self.times


@pytest.fixture
def native_bf16(monkeypatch):
    """A CPU with native bfloat16, whatever this machine has."""
    monkeypatch.setattr(device_module, "cpu_supports_bf16", lambda: True)


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
    fast = FakeProbe(float32_s=1.0, bfloat16_s=0.5)
    assert autocast_dtype(CPU, "auto", probe=fast.probe) == (torch.bfloat16 if native else None)
    # Without native units nothing is measured: emulated bfloat16 is never faster.
    assert fast.calls == (1 if native else 0)


@pytest.mark.parametrize(("bfloat16_s", "expected"), [
    (0.5, torch.bfloat16),   # twice as fast
    (0.9, torch.bfloat16),   # exactly the 10 % required
    (0.95, None),            # faster, but within the margin: keep float32
    (1.26, None),            # slower (issue 20's AVX512-BF16 Xeon without AMX)
])
def test_auto_on_a_cpu_chooses_bfloat16_only_when_measured_10_percent_faster(
        native_bf16, bfloat16_s, expected):
    probe = FakeProbe(float32_s=1.0, bfloat16_s=bfloat16_s)
    assert autocast_dtype(CPU, "auto", probe=probe.probe) == expected
    assert probe.calls == 1


def test_auto_without_a_probe_keeps_float32_on_a_native_cpu(native_bf16,
                                                            private_precision_cache):
    assert autocast_dtype(CPU, "auto") is None
    assert not private_precision_cache.exists()


def test_forced_precision_runs_no_probe(native_bf16):
    probe = FakeProbe(float32_s=1.0, bfloat16_s=0.5)
    assert autocast_dtype(CPU, False, probe=probe.probe) is None
    slow = FakeProbe(float32_s=1.0, bfloat16_s=2.0)
    assert autocast_dtype(CPU, True, probe=slow.probe) == torch.bfloat16
    assert probe.calls == slow.calls == 0


def test_the_choice_is_measured_once_per_process_and_per_model(native_bf16):
    fast = FakeProbe(float32_s=1.0, bfloat16_s=0.5)
    assert [cpu_prefers_bf16(fast.probe) for _ in range(3)] == [True, True, True]
    assert fast.calls == 1
    # Another model configuration is another measurement.
    other = FakeProbe(float32_s=1.0, bfloat16_s=2.0, key="model B")
    assert cpu_prefers_bf16(other.probe) is False and other.calls == 1
    assert cpu_prefers_bf16(fast.probe) is True and fast.calls == 1


def test_the_choice_is_remembered_on_disk(native_bf16, private_precision_cache):
    assert cpu_prefers_bf16(FakeProbe(float32_s=1.0, bfloat16_s=0.5).probe) is True
    entries = json.loads(private_precision_cache.read_text())["entries"]
    [(key, entry)] = entries.items()
    assert key.endswith("| model A") and device_module.cpu_name() in key
    assert f"torch {torch.__version__}" in key and f"{torch.get_num_threads()} threads" in key
    assert (entry["precision"], entry["float32_step_s"], entry["bfloat16_step_s"]) == (
        "bfloat16", 1.0, 0.5)
    # A new process (forgotten choices) reads the file: no new measurement, even when a
    # timing now would say otherwise; so the choice is stable on the machine.
    forget_cpu_precision()
    now_slower = FakeProbe(float32_s=1.0, bfloat16_s=2.0)
    assert cpu_prefers_bf16(now_slower.probe) is True and now_slower.calls == 0


def test_the_thread_count_is_part_of_the_key(native_bf16, monkeypatch):
    assert cpu_prefers_bf16(FakeProbe(float32_s=1.0, bfloat16_s=0.5).probe) is True
    monkeypatch.setattr(torch, "get_num_threads", lambda: 7)
    two_jobs = FakeProbe(float32_s=1.0, bfloat16_s=2.0)
    assert cpu_prefers_bf16(two_jobs.probe) is False and two_jobs.calls == 1


@pytest.mark.parametrize("content", [
    "{not json",
    "[1, 2]",
    '{"version": 999, "entries": {}}',
    '{"version": 1, "entries": {"x": {"precision": "float16"}}, "junk": 1}',
    "",
])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(native_bf16, private_precision_cache,
                                                       content):
    private_precision_cache.parent.mkdir(parents=True)
    private_precision_cache.write_text(content)
    probe = FakeProbe(float32_s=1.0, bfloat16_s=0.5)
    assert cpu_prefers_bf16(probe.probe) is True and probe.calls == 1
    data = json.loads(private_precision_cache.read_text())
    assert data["version"] == 1
    assert [e["precision"] for e in data["entries"].values()] == ["bfloat16"]


def test_an_unwritable_cache_still_remembers_in_the_process(native_bf16, tmp_path,
                                                            monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # its "beatdetect" folder cannot exist
    probe = FakeProbe(float32_s=1.0, bfloat16_s=0.5)
    assert cpu_prefers_bf16(probe.probe) is True
    assert cpu_prefers_bf16(probe.probe) is True and probe.calls == 1
    assert cpu_precision_cache_path() == blocker / "beatdetect" / "cpu_precision.json"


def test_the_cache_file_keeps_the_newest_entries(native_bf16, private_precision_cache,
                                                 monkeypatch):
    monkeypatch.setattr(device_module, "_CACHE_MAX_ENTRIES", 3)
    for k in range(5):
        monkeypatch.setattr(device_module.time, "gmtime", lambda k=k: (2026, 1, 1, 0, 0, k,
                                                                       0, 1, 0))
        cpu_prefers_bf16(FakeProbe(1.0, 0.5, key=f"model {k}").probe)
    keys = json.loads(private_precision_cache.read_text())["entries"]
    assert sorted(key[-7:] for key in keys) == ["model 2", "model 3", "model 4"]


def test_the_detector_probes_its_own_configuration(native_bf16, monkeypatch):
    seen, answer = [], {}

    def prefers(probe):
        seen.append(probe.key)
        return answer["faster"]

    monkeypatch.setattr(device_module, "cpu_prefers_bf16", prefers)
    data = make_synthetic_beats(n_normal=64, n_anomalous=0, random_state=0)
    params = dict(base_filters=4, n_layers=2, latent_dim=4, max_epochs=1, batch_size=16,
                  device="cpu", random_state=0)
    for faster, precision in [(True, "bfloat16"), (False, "float32")]:
        answer["faster"] = faster
        det = SIBeatGANDetector(**params).fit(data.X)
        assert det.training_precision_ == precision
    # Asked in training and in scoring (fit scores its beats for offset_), with the
    # detector's own configuration and batch size.
    key = precision_probe(BeatGANConfig(base_filters=4, n_layers=2, latent_dim=4), 16).key
    assert seen == [key] * 4
    forced = SIBeatGANDetector(**params, mixed_precision=True).fit(data.X)
    assert forced.training_precision_ == "bfloat16" and len(seen) == 4


def test_precision_probe_times_both_precisions_without_touching_the_callers_rng():
    cfg = BeatGANConfig(base_filters=4, n_layers=2, latent_dim=4)
    probe = precision_probe(cfg, 8, steps=1, warmup=1)
    assert probe.key == ("BeatGAN n_leads=1 length=320 base_filters=4 n_layers=2 "
                         "latent_dim=4 batch_size=8")
    torch.manual_seed(123)
    state = torch.get_rng_state()
    float32_s, bfloat16_s = probe.measure()
    assert float32_s > 0 and bfloat16_s > 0
    assert torch.equal(torch.get_rng_state(), state)


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

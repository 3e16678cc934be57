"""Saving and loading SIBeatGANDetector: round trips, old files, and every kind of bad file.

A model file may come from anywhere: ``load`` must check it completely before building
anything large, and fail with one ``ModelFileError`` naming the file and the problem.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import struct
import warnings

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import beatdetect.gan.persistence as persistence
from beatdetect import SIBeatGANDetector
from beatdetect.context import ContextDetector
from beatdetect.datasets import make_synthetic_beats
from beatdetect.exceptions import DataError, ModelFileError
from beatdetect.gan import Contrastive, Distillation
from beatdetect.gan.persistence import load_model, save_model
from beatdetect.nn.augment import ECGAugment, TimeWarp


@pytest.fixture(scope="module")
def X():
    return make_synthetic_beats(n_normal=96, n_anomalous=8, random_state=0).X


@pytest.fixture(scope="module")
def tiny(X, tiny_gan):
    return SIBeatGANDetector(**tiny_gan).fit(X[:80])


@pytest.fixture(scope="module")
def saved(tiny, tmp_path_factory):
    return tiny.save(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


def read(path):
    """(metadata, state, tensors) of a safetensors file."""
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    return metadata, json.loads(metadata["state"]), tensors


def write(path, metadata, state, tensors, *, rehash=True):
    """A safetensors file with ``state`` as JSON metadata, written with plain safetensors.

    ``rehash``: the file carries the hash of its new content, as a writer that lies
    consistently would write it; False keeps the hash of the original content.
    """
    state_json = json.dumps(state)
    metadata = {**metadata, "state": state_json}
    if rehash and metadata.get("format") == persistence.FORMAT:
        metadata["sha256"] = persistence.content_hash(state_json, tensors)
    save_file(tensors, str(path), metadata=metadata)
    return path


def edited(saved, tmp_path, edit_state=None, edit_tensors=None, name="edited.safetensors",
           rehash=True):
    """A copy of ``saved`` whose state and tensors went through the given edits."""
    metadata, state, tensors = read(saved)
    if edit_state is not None:
        edit_state(state)
    if edit_tensors is not None:
        edit_tensors(tensors)
    return write(tmp_path / name, metadata, state, tensors, rehash=rehash)


# --------------------------------------------------------------------------- round trips
def test_round_trip_scores_identically(tiny, saved, X):
    loaded = SIBeatGANDetector.load(saved)
    assert loaded.get_params() == tiny.get_params()
    assert loaded.offset_ == tiny.offset_ and loaded.history_ == tiny.history_
    assert not loaded.generator_.training and not loaded.discriminator_.training
    np.testing.assert_array_equal(loaded.score_samples(X), tiny.score_samples(X))


def test_detector_in_context_round_trips_with_its_references(X, tiny_gan, tmp_path):
    groups = np.repeat(["a", "b"], 40)
    model = ContextDetector(SIBeatGANDetector(**tiny_gan), random_state=0).fit(
        X[:80], groups=groups)
    loaded = load_model(save_model(model, tmp_path / "context.safetensors"))
    assert isinstance(loaded, ContextDetector)
    assert loaded.references_ == model.references_ and loaded.fit_groups_ == ["a", "b"]
    assert loaded.offset_ == model.offset_
    new = np.repeat(["c"], 24)
    np.testing.assert_array_equal(loaded.score_samples(X[80:], groups=new),
                                  model.score_samples(X[80:], groups=new))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_file_trained_on_cuda_loads_on_a_cpu_only_machine_with_device_cpu(tiny, saved, X,
                                                                          tmp_path):
    path = edited(saved, tmp_path, edit_state=_set("params", "device", value="cuda"))
    # By default the saved device is kept, and this machine cannot use it: one clear error
    # that names the way out.
    with pytest.raises(ValueError, match=r"device='cuda'.*device='cpu'") as caught:
        SIBeatGANDetector.load(path)
    assert not isinstance(caught.value, ModelFileError)  # the file itself is fine
    loaded = SIBeatGANDetector.load(path, device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.score_samples(X), tiny.score_samples(X))


def test_a_bad_device_fails_before_the_file_is_read(tmp_path):
    with pytest.raises(ValueError, match="device must be"):
        SIBeatGANDetector.load(tmp_path / "absent.safetensors", device="tpu")


def test_feature_names_of_a_dataframe_survive_save_and_load(X, tiny_gan, tmp_path):
    pd = pytest.importorskip("pandas")
    columns = [f"t{i}" for i in range(X.shape[-1])]
    frame = pd.DataFrame(X[:80, 0], columns=columns)
    det = SIBeatGANDetector(**tiny_gan).fit(frame)
    loaded = SIBeatGANDetector.load(det.save(tmp_path / "frame.safetensors"))
    np.testing.assert_array_equal(loaded.feature_names_in_, det.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        np.testing.assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))
    renamed = frame.rename(columns={"t0": "other"})
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.score_samples(renamed)


def test_a_checkpoint_folder_given_as_a_path_is_saved_as_its_text(X, tiny_gan, tmp_path):
    det = SIBeatGANDetector(**tiny_gan, checkpoint_dir=tmp_path / "ckpt").fit(X[:80])
    loaded = SIBeatGANDetector.load(det.save(tmp_path / "model.safetensors"))
    assert loaded.checkpoint_dir == str(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded.score_samples(X[:20]), det.score_samples(X[:20]))


#: The object parameters, every one set.
OBJECTS = dict(time_warp=TimeWarp(strength=0.2), distill=Distillation(w_kd=2.0),
               contrastive=Contrastive(augment=ECGAugment(noise=0.1, scale=(0.7, 1.3),
                                                          wander=0.05, warp=0.0, crop=1.0,
                                                          mask=0.2, p=0.5)))


@pytest.fixture(scope="module")
def with_objects(X, tiny_gan):
    return SIBeatGANDetector(**tiny_gan, **OBJECTS).fit(X[:80])


def test_object_parameters_are_saved_as_plain_data(with_objects, tmp_path):
    _, state, _ = read(with_objects.save(tmp_path / "objects.safetensors"))
    augment = state["params"]["contrastive"]["Contrastive"]["augment"]
    assert augment == {"ECGAugment": {
        "noise": 0.1, "scale": [0.7, 1.3], "wander": 0.05, "warp": 0.0, "crop": 1.0,
        "mask": 0.2, "p": 0.5, "anchor": None, "fill": "zero"}}
    assert state["params"]["time_warp"] == {"TimeWarp": {"strength": 0.2, "n_knots": 4,
                                                         "anchor": None}}
    assert state["params"]["distill"]["Distillation"]["w_kd"] == 2.0
    loaded = SIBeatGANDetector.load(tmp_path / "objects.safetensors")
    assert loaded.get_params() == with_objects.get_params()
    assert loaded.contrastive.augment.scale == (0.7, 1.3)


# --------------------------------------------------------------------------- format 1
def _first_format(state, **params):
    """``state`` as beatdetect 0.1 wrote it: flat parameters, the fused-score fields."""
    old = {k: v for k, v in state["params"].items()
           if k not in ("distill", "contrastive", "time_warp")}
    old.update(time_warp=0.0, distill=False, contrastive=False, w_kd=1.0, w_con=0.1,
               memory=None, w_reconstruction=1.0, w_rhythm=0.0, recording_template=False,
               score_feature_weight=0.0, kd_target="reconstruction", memory_size=10000)
    old.update(params)
    fitted = dict(state["fitted"], score_references_={}, fit_groups_=None)
    return {"params": old, "fitted": fitted}


def _write_first_format(saved, path, **params):
    metadata, state, tensors = read(saved)
    metadata = {"format": persistence.FORMAT_1}  # no hash in the first format
    return write(path, metadata, _first_format(state, **params), tensors)


def test_first_format_file_of_beatgans_score_loads_as_the_same_model(tiny, saved, X, tmp_path):
    path = _write_first_format(saved, tmp_path / "old.safetensors")
    loaded = SIBeatGANDetector.load(path)
    assert loaded.get_params() == tiny.get_params()
    np.testing.assert_array_equal(loaded.score_samples(X), tiny.score_samples(X))


@pytest.mark.parametrize("params", [
    {"memory": "input", "w_reconstruction": 0.0},
    {"recording_template": True},
    {"w_rhythm": 1.0},
])
def test_first_format_file_of_a_fused_score_is_one_message_saying_how_to_convert(
        saved, tmp_path, params):
    path = _write_first_format(saved, tmp_path / "old.safetensors", **params)
    with pytest.raises(ModelFileError, match=r"beatdetect 0\.1.*Refit it.*knn\+context") as info:
        SIBeatGANDetector.load(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- integrity (D5)
def _flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_flipped_byte_in_the_tensor_data_is_refused_by_the_hash(saved, tmp_path):
    path = tmp_path / "flipped.safetensors"
    path.write_bytes(saved.read_bytes())
    _flip_byte(path, path.stat().st_size - 7)  # inside the last tensor's bytes
    with pytest.raises(ModelFileError, match="does not match the hash"):
        SIBeatGANDetector.load(path)


def test_edited_metadata_with_the_old_hash_is_refused(saved, tmp_path):
    path = edited(saved, tmp_path, edit_state=lambda state: state["fitted"].update(
        offset_=state["fitted"]["offset_"] * 1.001), rehash=False)
    with pytest.raises(ModelFileError, match="sha256 mismatch"):
        SIBeatGANDetector.load(path)


def test_file_without_its_hash_is_refused(saved, tmp_path):
    metadata, state, tensors = read(saved)
    del metadata["sha256"]
    path = write(tmp_path / "nohash.safetensors", metadata, state, tensors, rehash=False)
    with pytest.raises(ModelFileError, match="no hash"):
        SIBeatGANDetector.load(path)


def test_threshold_far_out_of_range_is_refused_even_with_a_matching_hash(saved, tmp_path):
    path = edited(saved, tmp_path, edit_state=_set("fitted", "offset_", value=1e308))
    with pytest.raises(ModelFileError, match="offset_ must be a finite number of magnitude"):
        SIBeatGANDetector.load(path)


def test_score_reference_far_out_of_range_is_refused(X, tiny_gan, tmp_path):
    model = ContextDetector(SIBeatGANDetector(**tiny_gan), random_state=0).fit(X[:80])
    saved = save_model(model, tmp_path / "context.safetensors")
    path = edited(saved, tmp_path, edit_state=_set(
        "context", "fitted", "references_", "model", "center", value=1e308))
    with pytest.raises(ModelFileError, match=r"references_\['model'\] center"):
        load_model(path)


# --------------------------------------------------------------------------- header size (D6)
def test_oversized_header_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    import safetensors

    size = persistence.MAX_HEADER_BYTES + 1
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", size) + b"{" + b" " * size)
    opened = []
    monkeypatch.setattr(safetensors, "safe_open", lambda *a, **k: opened.append(a))
    monkeypatch.setattr(json, "loads", lambda *a, **k: opened.append(a))
    with pytest.raises(ModelFileError, match=f"header of {size:,} bytes, more than"):
        SIBeatGANDetector.load(path)
    assert opened == []  # neither read as safetensors nor parsed as JSON


def test_header_larger_than_the_file_is_truncation(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(struct.pack("<Q", 1000) + b"{}")
    with pytest.raises(ModelFileError, match="is truncated"):
        SIBeatGANDetector.load(path)


# --------------------------------------------------------------------------- bad headers
def _set(*keys, value):
    def edit(state):
        target = state
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


def _delete(*keys):
    def edit(state):
        target = state
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return edit


BAD_STATES = {
    "lr not a number": (_set("params", "lr", value="abc"), "'lr' parameter"),
    "contamination out of range": (_set("params", "contamination", value=0.9),
                                   "'contamination' parameter"),
    "unsupported device": (_set("params", "device", value="tpu"), "'device' parameter"),
    "unknown parameter": (_set("params", "gamma", value=1), r"unknown parameters \['gamma'\]"),
    "a removed parameter": (_set("params", "memory", value="input"),
                            r"unknown parameters \['memory'\]"),
    "missing parameter": (_delete("params", "base_filters"), "missing parameters"),
    "a method as fitted attribute": (_set("fitted", "score_samples", value="x"),
                                     r"unknown fitted attributes \['score_samples'\]"),
    "missing fitted attribute": (_delete("fitted", "n_leads_"), "missing fitted attributes"),
    "n_leads_ as a string": (_set("fitted", "n_leads_", value="1"), "n_leads_"),
    "n_leads_ negative": (_set("fitted", "n_leads_", value=-1), "n_leads_"),
    "n_features_in_ inconsistent": (_set("fitted", "n_features_in_", value=321),
                                    "n_features_in_"),
    "offset_ NaN": (_set("fitted", "offset_", value=float("nan")), "offset_"),
    "offset_ a bool": (_set("fitted", "offset_", value=True), "offset_"),
    "history_ not a list": (_set("fitted", "history_", value={"rec": 1.0}), "history_"),
    "history_ of strings": (_set("fitted", "history_", value=[{"rec": "low"}]), "history_"),
    "training_precision_ unknown": (_set("fitted", "training_precision_", value="int8"),
                                    "training_precision_"),
    "feature names of the wrong length": (_set("fitted", "feature_names_in_", value=["a"]),
                                          "feature_names_in_"),
    "state not an object": (lambda state: state.clear(), "must be an object with 'params'"),
    "distill of another class": (_set("params", "distill", value={"TimeWarp": {}}),
                                 "Distillation"),
    "augment field unknown": (_set("params", "contrastive", value={"Contrastive": {
        "augment": {"ECGAugment": {"gamma": 1}}}}), r"ECGAugment has no field"),
    "augment field out of range": (_set("params", "contrastive", value={"Contrastive": {
        "augment": {"ECGAugment": {"crop": 0}}}}), "'crop' parameter of ECGAugment"),
    "distill field out of range": (_set("params", "distill", value={"Distillation": {
        "w_kd": -1}}), "'w_kd' parameter of Distillation"),
    "time_warp too strong": (_set("params", "time_warp", value={"TimeWarp": {"strength": 2.0}}),
                             "'strength' parameter of TimeWarp"),
    "time_warp a string": (_set("params", "time_warp", value="0.2"), "time_warp"),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_bad_state_is_one_clear_error(saved, tmp_path, case):
    edit, match = BAD_STATES[case]
    path = edited(saved, tmp_path, edit_state=edit)
    with pytest.raises(ModelFileError, match=match) as info:
        SIBeatGANDetector.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, DataError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(("metadata", "match"), [
    ({"format": persistence.FORMAT}, "no 'state'"),
    ({"format": persistence.FORMAT, "state": "{not json"}, "not valid JSON"),
    ({"format": persistence.FORMAT, "state": "[" * 100_000}, "not valid JSON"),
    ({"format": "beatdetect.SIBeatGANDetector/0", "state": "{}"}, "is not a saved"),
    ({}, "is not a saved"),
])
def test_bad_metadata_is_one_clear_error(saved, tmp_path, metadata, match):
    _, _, tensors = read(saved)
    path = tmp_path / "m.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ModelFileError, match=match):
        SIBeatGANDetector.load(path)


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "random.safetensors"
    path.write_bytes(struct.pack("<Q", 1000) + os.urandom(2000))  # a plausible header size
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        SIBeatGANDetector.load(path)


def test_truncated_file(saved, tmp_path):
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(saved.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match=str(path)):
        SIBeatGANDetector.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        SIBeatGANDetector.load(tmp_path / "absent.safetensors")


# --------------------------------------------------------------------------- bad tensors
def _first(prefix):
    return lambda tensors: next(name for name in sorted(tensors) if name.startswith(prefix))


def _drop(tensors):
    del tensors[_first("generator.")(tensors)]


def _rename(tensors):
    name = _first("discriminator.")(tensors)
    tensors[name + "_renamed"] = tensors.pop(name)


def _reshape(tensors):
    name = _first("generator.encoder")(tensors)
    tensors[name] = torch.zeros(*tensors[name].shape[:-1], tensors[name].shape[-1] + 1)


def _retype(tensors):
    name = _first("generator.decoder")(tensors)
    tensors[name] = tensors[name].double()


def _nan(tensors):
    name = _first("generator.decoder")(tensors)
    tensors[name] = torch.full_like(tensors[name], float("nan"))


def _extra(tensors):
    tensors["payload"] = torch.zeros(10)


BAD_TENSORS = {
    "dropped": (_drop, "missing tensor"),
    "renamed": (_rename, "unexpected tensor"),
    "reshaped": (_reshape, "expected F32 of shape"),
    "float64": (_retype, "is F64"),
    "NaN weights": (_nan, "NaN or infinite"),
    "an extra tensor": (_extra, "unexpected tensor 'payload'"),
}


@pytest.mark.parametrize("case", list(BAD_TENSORS))
def test_bad_tensors_are_one_clear_error(saved, tmp_path, case):
    edit, match = BAD_TENSORS[case]
    path = edited(saved, tmp_path, edit_tensors=edit)
    with pytest.raises(ModelFileError, match=match) as info:
        SIBeatGANDetector.load(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- sizes
@pytest.fixture
def built_on(monkeypatch):
    """Devices of every network the loader builds, in order."""
    devices = []

    def recording(cls):
        def build(cfg):
            module = cls(cfg)
            devices.append(next(module.parameters()).device.type)
            return module
        return build

    monkeypatch.setattr(persistence, "Generator", recording(persistence.Generator))
    monkeypatch.setattr(persistence, "Discriminator", recording(persistence.Discriminator))
    return devices


@pytest.mark.parametrize(("n_layers", "match"), [
    (5, "weights, more than"),          # the case: 48 s and 8.5 GB before failing
    (2, "do not match the networks"),   # 10 s and 450 MB before failing
])
def test_a_small_file_claiming_a_large_network_fails_before_building_it(
        saved, tmp_path, built_on, n_layers, match):
    path = edited(saved, tmp_path, edit_state=lambda state: state["params"].update(
        base_filters=1024, n_layers=n_layers))
    with pytest.raises(ModelFileError, match=match):
        SIBeatGANDetector.load(path)
    assert set(built_on) <= {"meta"}  # shapes only: nothing built on the CPU


@pytest.mark.parametrize("params", [
    {"base_filters": 2**16, "n_layers": 10},  # 2e19 weights in the middle layers
    {"latent_dim": 10**30},                    # would overflow any tensor size
])
def test_parameters_implying_too_many_weights_are_refused(saved, tmp_path, built_on,
                                                          params):
    path = edited(saved, tmp_path, edit_state=lambda state: state["params"].update(params))
    with pytest.raises(ModelFileError, match="weights, more than"):
        SIBeatGANDetector.load(path)
    assert built_on == []


def test_weight_bound_counts_the_real_networks():
    """MAX_WEIGHTS is checked against the meta build's exact count."""
    cfg = persistence.BeatGANConfig()  # the published network
    specs = persistence._network_specs(cfg)
    generator = sum(math.prod(s) for n, (s, _) in specs.items() if n.startswith("generator."))
    discriminator = sum(math.prod(s) for n, (s, _) in specs.items()
                        if n.startswith("discriminator."))
    # The figures docs/persistence.md quotes (batch-norm statistics included).
    assert generator > 1_908_800 > generator - 10_000
    assert discriminator > 703_488 > discriminator - 10_000
    assert 50 * (generator + discriminator) < persistence.MAX_WEIGHTS


# --------------------------------------------------------------------------- fuzz
#: Values a mutation puts in place of a parameter or a fitted attribute. CUDA devices are
#: left out: a valid file may name one, and scoring it without CUDA fails by design.
VALUES = [None, True, False, 0, 1, -1, 3, 2**40, 0.5, -0.5, 1e-300, 1e308, float("nan"),
          float("inf"), "", "abc", "auto", "cpu", "input", "latent", "float32", [], [1],
          ["a"], {}, {"center": 0.0, "scale": 1.0}, {"rec": 1.0}, [{"rec": 1.0}]]


def _paths(node, prefix=()):
    """Every (path of keys, value) in a JSON tree, containers included."""
    yield prefix, node
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else ())
    for key, value in items:
        yield from _paths(value, (*prefix, key))


def _mutate_state(state: dict, rng: random.Random) -> None:
    paths = [p for p, _ in _paths(state) if p]
    path = rng.choice(paths)
    parent = state
    for key in path[:-1]:
        parent = parent[key]
    key, value = path[-1], parent[path[-1]]
    action = rng.choice(["delete", "replace", "replace", "perturb", "add"])
    if action == "delete" and isinstance(parent, dict):
        del parent[key]
    elif action == "perturb" and isinstance(value, (int, float)) and not isinstance(value,
                                                                                   bool):
        parent[key] = rng.choice([value + 1, value - 1, -value, value * 1000, value / 1000])
    elif action == "add" and isinstance(parent, dict):
        parent[rng.choice(["extra", "fit", "__class__", "predict"])] = rng.choice(VALUES)
    else:
        parent[key] = copy.deepcopy(rng.choice(VALUES))


def _mutate_tensors(tensors: dict, rng: random.Random) -> None:
    name = rng.choice(sorted(tensors))
    tensor = tensors[name]
    action = rng.choice(["drop", "rename", "reshape", "retype", "shrink", "grow", "swap",
                         "add", "scale"])
    if action == "drop":
        del tensors[name]
    elif action == "rename":
        tensors[rng.choice(["generator.", "discriminator.", ""]) + name[-12:]] = \
            tensors.pop(name)
    elif action == "reshape":
        tensors[name] = tensor.reshape(-1).clone() if tensor.ndim != 1 else \
            tensor.reshape(1, -1).clone()
    elif action == "retype":
        dtype = rng.choice([torch.float64, torch.float16, torch.bfloat16, torch.int32,
                            torch.int64, torch.float32])
        tensors[name] = tensor.to(dtype)
    elif action in ("shrink", "grow") and tensor.ndim:
        dim = rng.randrange(tensor.ndim)
        size = list(tensor.shape)
        size[dim] = max(0, size[dim] + (1 if action == "grow" else -1))
        tensors[name] = torch.zeros(size, dtype=tensor.dtype)
    elif action == "swap":
        other = rng.choice(sorted(tensors))
        tensors[name], tensors[other] = tensors[other], tensor
    elif action == "add":
        tensors[rng.choice(["generator.extra", "x"])] = torch.zeros(3)
    elif tensor.is_floating_point():
        tensors[name] = tensor * rng.choice([0.0, -1.0, 1e30])


@pytest.mark.parametrize("target", ["state", "tensors"])
def test_fuzzed_files_load_and_score_or_raise_model_file_error(saved, X, tmp_path,
                                                               target):
    """Random edits of a valid file: a usable detector, or ModelFileError, fast."""
    metadata, state, tensors = read(saved)
    rng = random.Random(0)
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(120):
        new_state, new_tensors = copy.deepcopy(state), dict(tensors)
        for _ in range(rng.choice([1, 1, 2])):
            if target == "state":
                _mutate_state(new_state, rng)
            else:
                _mutate_tensors(new_tensors, rng)
        path = write(tmp_path / f"fuzz{trial}.safetensors", metadata, new_state, new_tensors)
        try:
            det = SIBeatGANDetector.load(path)
        except ModelFileError:
            outcomes["refused"] += 1
        else:
            outcomes["loaded"] += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # overflow of edited weights
                scores = det.score_samples(X)
            assert scores.shape == (len(X),) and np.isfinite(scores).all(), trial
            assert sum(p.numel() for p in det.generator_.parameters()) <= persistence.MAX_WEIGHTS
        path.unlink()
    # Both outcomes happen: the mutations are neither all harmless nor all caught.
    assert outcomes["loaded"] > 0 and outcomes["refused"] > 0, outcomes


# --------------------------------------------------------------------------- save
def test_save_refuses_a_directory_and_writes_nothing(tiny, tmp_path):
    target = tmp_path / "model.safetensors"
    target.mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        tiny.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]
    assert list(target.iterdir()) == []


def test_save_into_a_missing_folder(tiny, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tiny.save(tmp_path / "absent" / "model.safetensors")


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_save_removes_its_temporary_file_and_keeps_the_old_model(
        tiny, tmp_path, monkeypatch, error):
    target = tiny.save(tmp_path / "model.safetensors")
    before = target.read_bytes()

    def fail(fd):  # the temporary file exists and holds the new model at this point
        raise error

    monkeypatch.setattr(persistence.os, "fsync", fail)
    with pytest.raises(type(error)):
        tiny.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    assert target.read_bytes() == before


def test_save_writes_a_recognisable_temporary_file_beside_the_target(tiny, tmp_path,
                                                                    monkeypatch):
    sources = []
    replace = os.replace

    def spy(src, dst):
        sources.append(os.fspath(src))
        replace(src, dst)

    monkeypatch.setattr(persistence.os, "replace", spy)
    tiny.save(tmp_path / "model.safetensors")
    (source,) = sources
    assert os.path.dirname(source) == str(tmp_path)
    name = os.path.basename(source)
    assert name.startswith(".model.safetensors.") and name.endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_load_leaves_the_global_torch_rng_alone(tmp_path):
    import torch

    from beatdetect.datasets import make_synthetic_beats

    X = make_synthetic_beats(n_normal=64, n_anomalous=0, random_state=0).X
    path = SIBeatGANDetector(base_filters=4, n_layers=2, latent_dim=4, max_epochs=1,
                             batch_size=32, random_state=0).fit(X).save(tmp_path / "m.safetensors")
    state = torch.get_rng_state()
    SIBeatGANDetector.load(path)
    assert torch.equal(state, torch.get_rng_state())


def test_params_from_data_builds_the_object_parameters():
    from beatdetect.baselines import make_detector
    from beatdetect.gan.persistence import params_from_data

    params = params_from_data({"time_warp": 0.3, "w_adv": 0.5,
                               "distill": {"Distillation": {"w_kd": 2.0}}})
    assert params == {"time_warp": TimeWarp(strength=0.3), "w_adv": 0.5,
                      "distill": Distillation(w_kd=2.0)}
    assert params_from_data({"time_warp": 0})["time_warp"] is None
    # The benchmark and the command line build detectors from such data.
    det = make_detector("sibeatgan", time_warp={"TimeWarp": {"strength": 0.3}})
    assert det.time_warp == TimeWarp(strength=0.3)
    with pytest.raises(ValueError, match="Distillation"):
        params_from_data({"distill": {"TimeWarp": {}}})


def test_params_from_data_sets_single_fields_as_grid_search_names_them():
    from beatdetect.gan.persistence import nested_param_names, params_from_data

    # A field alone changes the default object; the other fields keep their defaults.
    assert params_from_data({"distill__w_kd": 2.0, "contrastive__augment__noise": 0.1,
                             "w_adv": 1.0}) == {
        "distill": Distillation(w_kd=2.0), "w_adv": 1.0,
        "contrastive": Contrastive(augment=ECGAugment(noise=0.1))}
    # Given with the object, the field changes that object.
    assert params_from_data({"contrastive": {"Contrastive": {"w_con": 0.3}},
                             "contrastive__temperature": 0.2})["contrastive"] == \
        Contrastive(w_con=0.3, temperature=0.2)
    with pytest.raises(ValueError, match="Distillation has no field 'gamma'"):
        params_from_data({"distill__gamma": 1.0})
    assert {"distill__w_kd", "contrastive__w_con", "contrastive__augment__noise",
            "time_warp__strength"} <= nested_param_names()

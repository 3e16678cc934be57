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
import warnings

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import beatdetect.gan.persistence as persistence
from beatdetect import SIBeatGANDetector
from beatdetect.datasets import make_synthetic_beats
from beatdetect.exceptions import DataError, ModelFileError
from beatdetect.nn.augment import ECGAugment, TimeWarp

#: The smallest useful detector: a memory bank of beats, the fused score, one epoch.
TINY = dict(base_filters=4, n_layers=2, latent_dim=4, max_epochs=1, batch_size=32,
            memory="input", mixed_precision=False, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def beats():
    return make_synthetic_beats(n_normal=96, n_anomalous=8, random_state=0).X


@pytest.fixture(scope="module")
def tiny(beats):
    return SIBeatGANDetector(**TINY).fit(beats[:80])


@pytest.fixture(scope="module")
def saved(tiny, tmp_path_factory):
    return tiny.save(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


def read(path):
    """(metadata, state, tensors) of a safetensors file."""
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
        tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    return metadata, json.loads(metadata["state"]), tensors


def write(path, metadata, state, tensors):
    """A safetensors file with ``state`` as JSON metadata, written with plain safetensors."""
    save_file(tensors, str(path), metadata={**metadata, "state": json.dumps(state)})
    return path


def edited(saved, tmp_path, edit_state=None, edit_tensors=None, name="edited.safetensors"):
    """A copy of ``saved`` whose state and tensors went through the given edits."""
    metadata, state, tensors = read(saved)
    if edit_state is not None:
        edit_state(state)
    if edit_tensors is not None:
        edit_tensors(tensors)
    return write(tmp_path / name, metadata, state, tensors)


# --------------------------------------------------------------------------- round trips
def test_round_trip_scores_identically(tiny, saved, beats):
    loaded = SIBeatGANDetector.load(saved)
    assert loaded.get_params() == tiny.get_params()
    assert loaded.score_references_ == tiny.score_references_
    assert loaded.fit_groups_ == tiny.fit_groups_ and loaded.history_ == tiny.history_
    assert not loaded.generator_.training and not loaded.discriminator_.training
    np.testing.assert_array_equal(loaded.score_samples(beats), tiny.score_samples(beats))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_file_trained_on_cuda_loads_on_a_cpu_only_machine_with_device_cpu(tiny, saved, beats,
                                                                          tmp_path):
    path = edited(saved, tmp_path, edit_state=_set("params", "device", value="cuda"))
    # By default the saved device is kept, and this machine cannot use it: one clear error
    # that names the way out.
    with pytest.raises(ValueError, match=r"device='cuda'.*device='cpu'") as caught:
        SIBeatGANDetector.load(path)
    assert not isinstance(caught.value, ModelFileError)  # the file itself is fine
    loaded = SIBeatGANDetector.load(path, device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.score_samples(beats), tiny.score_samples(beats))


def test_a_bad_device_fails_before_the_file_is_read(tmp_path):
    with pytest.raises(ValueError, match="device must be"):
        SIBeatGANDetector.load(tmp_path / "absent.safetensors", device="tpu")


def test_feature_names_of_a_dataframe_survive_save_and_load(beats, tmp_path):
    pd = pytest.importorskip("pandas")
    columns = [f"t{i}" for i in range(beats.shape[-1])]
    frame = pd.DataFrame(beats[:80, 0], columns=columns)
    det = SIBeatGANDetector(**TINY).fit(frame)
    loaded = SIBeatGANDetector.load(det.save(tmp_path / "frame.safetensors"))
    np.testing.assert_array_equal(loaded.feature_names_in_, det.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        np.testing.assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))
    renamed = frame.rename(columns={"t0": "other"})
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.score_samples(renamed)


def test_file_written_before_the_fused_score_loads_as_plain_beatgan(beats, tmp_path):
    """The format's first version: its parameters only, no references, groups or memory."""
    plain = dict(TINY, memory=None, w_reconstruction=1.0, w_rhythm=0.0,
                 recording_template=False)
    det = SIBeatGANDetector(**plain).fit(beats[:80])
    metadata, state, tensors = read(det.save(tmp_path / "new.safetensors"))
    assert not any(name.startswith("memory.") for name in tensors)
    state["params"] = {k: v for k, v in state["params"].items()
                       if k in persistence.FIRST_PARAMS}
    for key in ("training_precision_", "score_references_", "fit_groups_"):
        del state["fitted"][key]
    old = write(tmp_path / "old.safetensors", metadata, state, tensors)
    loaded = SIBeatGANDetector.load(old)
    assert (loaded.memory, loaded.w_rhythm, loaded.recording_template) == (None, 0.0, False)
    assert loaded.memory_bank_ is None and loaded.score_references_ == {}
    np.testing.assert_array_equal(loaded.score_samples(beats), det.score_samples(beats))


#: The views and the training warp as objects, and as files wrote them before they were:
#: flat ``aug_*`` fields (``aug_scale=s`` the range (1 - s, 1 + s)) and a number.
AUGMENTED = dict(contrastive=True, augment=ECGAugment(noise=0.1, scale=(0.7, 1.3), wander=0.05,
                                                     warp=0.0, crop=1.0, mask=0.2, p=0.5),
                 time_warp=TimeWarp(strength=0.2))
FLAT = dict(aug_noise=0.1, aug_scale=0.3, aug_wander=0.05, aug_warp=0.0, aug_crop=1.0,
            aug_mask=0.2, aug_p=0.5, time_warp=0.2)


@pytest.fixture(scope="module")
def augmented(beats):
    return SIBeatGANDetector(**TINY, **AUGMENTED).fit(beats[:80])


def test_augmentation_objects_are_saved_as_plain_data(augmented, tmp_path):
    _, state, _ = read(augmented.save(tmp_path / "aug.safetensors"))
    assert state["params"]["augment"] == {"ECGAugment": {
        "noise": 0.1, "scale": [0.7, 1.3], "wander": 0.05, "warp": 0.0, "crop": 1.0,
        "mask": 0.2, "p": 0.5, "anchor": None, "fill": "zero"}}
    assert state["params"]["time_warp"] == {"TimeWarp": {"strength": 0.2, "n_knots": 4,
                                                         "anchor": None}}
    loaded = SIBeatGANDetector.load(tmp_path / "aug.safetensors")
    assert loaded.augment == augmented.augment and loaded.augment.scale == (0.7, 1.3)
    assert loaded.time_warp == augmented.time_warp
    assert loaded.get_params() == augmented.get_params()


def test_file_with_the_flat_aug_parameters_loads_as_the_same_objects(augmented, beats,
                                                                     tmp_path):
    """Files written before ``augment`` and ``time_warp`` held objects."""
    metadata, state, tensors = read(augmented.save(tmp_path / "new.safetensors"))
    del state["params"]["augment"]
    state["params"].update(FLAT)
    loaded = SIBeatGANDetector.load(write(tmp_path / "old.safetensors", metadata, state,
                                          tensors))
    assert loaded.augment == AUGMENTED["augment"] and loaded.time_warp == AUGMENTED["time_warp"]
    np.testing.assert_array_equal(loaded.score_samples(beats), augmented.score_samples(beats))
    # The same training: refitting with the loaded parameters gives the same model.
    refit = SIBeatGANDetector(**loaded.get_params(deep=False)).fit(beats[:80])
    np.testing.assert_array_equal(refit.score_samples(beats), augmented.score_samples(beats))


@pytest.mark.parametrize(("flat", "expected"), [
    ({"time_warp": 0.0}, {"time_warp": None}),
    ({"time_warp": 0}, {"time_warp": None}),
    ({"time_warp": 0.3}, {"time_warp": {"TimeWarp": {"strength": 0.3}}}),
    ({"time_warp": None}, {"time_warp": None}),
    ({"aug_noise": 0.0, "time_warp": 0.0},  # absent aug_* take their former defaults
     {"time_warp": None, "augment": {"ECGAugment": {
         "noise": 0.0, "scale": [0.8, 1.2], "wander": 0.1, "warp": 0.2, "crop": 0.9,
         "mask": 0.1, "p": 0.8}}}),
])
def test_flat_parameters_upgrade(flat, expected):
    assert persistence._upgraded_params(flat) == expected


def test_former_default_views_are_the_default_views():
    old = persistence._upgraded_params(dict(persistence.LEGACY_AUGMENT))
    assert persistence._loaded_object("augment", old["augment"]) == ECGAugment()


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


def _flat_augment(**flat):
    """The views as a file wrote them before ``augment``: flat ``aug_*`` parameters."""
    def edit(state):
        del state["params"]["augment"]
        state["params"].update(flat)
    return edit


BAD_STATES = {
    "lr not a number": (_set("params", "lr", value="abc"), "'lr' parameter"),
    "contamination out of range": (_set("params", "contamination", value=0.9),
                                   "'contamination' parameter"),
    "unsupported device": (_set("params", "device", value="tpu"), "'device' parameter"),
    "unknown parameter": (_set("params", "gamma", value=1), r"unknown parameters \['gamma'\]"),
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
    "reference of an unknown part": (_set("fitted", "score_references_", "other",
                                          value={"center": 0.0, "scale": 1.0}), "unknown part"),
    "reference of scale 0": (_set("fitted", "score_references_", "memory", "scale", value=0),
                             "score_references_"),
    "reference of a part missing": (_delete("fitted", "score_references_", "memory"),
                                    r"lacks the parts \['memory'\]"),
    "fit_groups_ of numbers": (_set("fitted", "fit_groups_", value=[1, 2]), "fit_groups_"),
    "feature names of the wrong length": (_set("fitted", "feature_names_in_", value=["a"]),
                                          "feature_names_in_"),
    "state not an object": (lambda state: state.clear(), "exactly 'params' and 'fitted'"),
    "score with no part": (lambda state: state["params"].update(w_reconstruction=0,
                                                                 w_memory=0),
                           "no part"),
    "augment of another class": (_set("params", "augment", value={"TimeWarp": {}}),
                                 r"parameter 'augment' must be null or \{'ECGAugment'"),
    "augment field unknown": (_set("params", "augment", value={"ECGAugment": {"gamma": 1}}),
                              r"ECGAugment has no fields \['gamma'\]"),
    "augment field out of range": (_set("params", "augment", value={"ECGAugment": {"crop": 0}}),
                                   "'crop' parameter of ECGAugment"),
    "augment scale not a pair": (_set("params", "augment",
                                      value={"ECGAugment": {"scale": [1.0]}}),
                                 "'scale' parameter of ECGAugment"),
    "augment a string": (_set("params", "augment", value="ECGAugment()"),
                         "'augment' parameter"),
    "time_warp too strong": (_set("params", "time_warp", value=2.0),
                             "'strength' parameter of TimeWarp"),
    "time_warp a string": (_set("params", "time_warp", value="0.2"), "'time_warp' parameter"),
    "flat aug_* beside augment": (_set("params", "aug_noise", value=0.1),
                                  r"both 'augment' and the older parameters \['aug_noise'\]"),
    "flat aug_* not numbers": (_flat_augment(aug_p="high"),
                               r"parameters \['aug_p'\] must be numbers"),
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
    path.write_bytes(os.urandom(2000))
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


def _drop_bank(tensors):
    del tensors["memory.bank"]


def _narrow_bank(tensors):
    tensors["memory.bank"] = tensors["memory.bank"][:, :3].contiguous()


def _extra(tensors):
    tensors["payload"] = torch.zeros(10)


def _short_fingerprints(tensors):
    tensors["memory.fingerprints"] = tensors["memory.fingerprints"][:-1].clone()


BAD_TENSORS = {
    "dropped": (_drop, "missing tensor"),
    "renamed": (_rename, "unexpected tensor"),
    "reshaped": (_reshape, "expected F32 of shape"),
    "float64": (_retype, "is F64"),
    "NaN weights": (_nan, "NaN or infinite"),
    "memory bank dropped": (_drop_bank, r"missing tensors \['memory.bank'\]"),
    "memory bank of other dims": (_narrow_bank, "memory tensors have shapes"),
    "an extra tensor": (_extra, "unexpected tensor 'payload'"),
    "fingerprints not one per bank row": (_short_fingerprints, "one fingerprint per row"),
}


@pytest.mark.parametrize("case", list(BAD_TENSORS))
def test_bad_tensors_are_one_clear_error(saved, tmp_path, case):
    edit, match = BAD_TENSORS[case]
    path = edited(saved, tmp_path, edit_tensors=edit)
    with pytest.raises(ModelFileError, match=match) as info:
        SIBeatGANDetector.load(path)
    assert str(path) in str(info.value)


def test_file_without_fingerprints_loads_and_scores_bank_beats_against_themselves(
        tiny, saved, beats, tmp_path):
    """Files saved before the bank kept fingerprints: same scores for beats not in it."""
    path = edited(saved, tmp_path, edit_tensors=lambda t: t.pop("memory.fingerprints"))
    old = SIBeatGANDetector.load(path)
    assert old.memory_bank_.fingerprints is None
    unseen = beats[80:]
    np.testing.assert_array_equal(old.score_samples(unseen), tiny.score_samples(unseen))
    in_bank = old.score_components(beats[:80])["memory"]
    assert np.median(in_bank) < np.median(tiny.score_components(beats[:80])["memory"])


def test_memory_bank_larger_than_memory_size(saved, tmp_path):
    path = edited(saved, tmp_path, edit_state=_set("params", "memory_size", value=10))
    with pytest.raises(ModelFileError, match="memory_size = 10"):
        SIBeatGANDetector.load(path)


def test_memory_tensors_without_a_memory_bank(saved, tmp_path):
    path = edited(saved, tmp_path, edit_state=_set("params", "memory", value=None))
    with pytest.raises(ModelFileError, match="no memory bank"):
        SIBeatGANDetector.load(path)


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
        tensors[rng.choice(["generator.", "discriminator.", "memory.", ""]) + name[-12:]] = \
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
        tensors[rng.choice(["memory.extra", "generator.extra", "x"])] = torch.zeros(3)
    elif tensor.is_floating_point():
        tensors[name] = tensor * rng.choice([0.0, -1.0, 1e30])


@pytest.mark.parametrize("target", ["state", "tensors"])
def test_fuzzed_files_load_and_score_or_raise_model_file_error(saved, beats, tmp_path,
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
                scores = det.score_samples(beats)
            assert scores.shape == (len(beats),) and np.isfinite(scores).all(), trial
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
    from beatdetect.nn.augment import ECGAugment, TimeWarp

    params = params_from_data({"time_warp": 0.2, "augment": {"ECGAugment": {"noise": 0.1}},
                               "w_adv": 0.5})
    assert params == {"time_warp": TimeWarp(strength=0.2),
                      "augment": ECGAugment(noise=0.1), "w_adv": 0.5}
    assert params_from_data({"time_warp": 0})["time_warp"] is None
    # The benchmark and the command line build detectors from such data.
    det = make_detector("sibeatgan", time_warp={"TimeWarp": {"strength": 0.3}})
    assert det.time_warp == TimeWarp(strength=0.3)
    with pytest.raises(ValueError, match="ECGAugment"):
        params_from_data({"augment": {"TimeWarp": {}}})


def test_params_from_data_sets_single_fields_as_grid_search_names_them():
    from beatdetect.gan.persistence import nested_param_names, params_from_data
    from beatdetect.nn.augment import ECGAugment, TimeWarp

    # A field alone changes the default object; the other fields keep their defaults.
    assert params_from_data({"augment__warp": 0.0, "augment__mask": 0.0, "w_adv": 1.0}) == {
        "augment": ECGAugment(warp=0.0, mask=0.0), "w_adv": 1.0}
    # Given with the object, the field changes that object.
    assert params_from_data({"augment": {"ECGAugment": {"noise": 0.2}}, "augment__crop": 1.0}
                            )["augment"] == ECGAugment(noise=0.2, crop=1.0)
    # time_warp=None means no warp; a field means a warp with that field.
    assert params_from_data({"time_warp__strength": 0.3}) == {
        "time_warp": TimeWarp(strength=0.3)}
    with pytest.raises(ValueError, match=r"ECGAugment has no field\(s\) \['gamma'\]"):
        params_from_data({"augment__gamma": 1.0})
    assert {"augment__noise", "time_warp__strength"} <= nested_param_names()

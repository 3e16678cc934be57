"""Per-epoch checkpoints: an interrupted fit resumes bit for bit, and only the same fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from beatdetect import SIBeatGANDetector
from beatdetect.gan import checkpoint as checkpoint_module
from beatdetect.gan.checkpoint import EpochCheckpoint, fit_fingerprint


class Interrupted(Exception):
    """Stands for the process ending (a session's time limit) right after a save."""


@pytest.fixture
def stop_after(monkeypatch):
    """``stop_after(k)``: the next fit ends with :class:`Interrupted` after its k-th save."""

    def arm(k: int):
        real_save = EpochCheckpoint.save
        calls = {"n": 0}

        def save(self, state):
            real_save(self, state)
            calls["n"] += 1
            if calls["n"] == k:
                monkeypatch.setattr(EpochCheckpoint, "save", real_save)
                raise Interrupted

        monkeypatch.setattr(EpochCheckpoint, "save", save)

    return arm


def same_networks(a: SIBeatGANDetector, b: SIBeatGANDetector) -> bool:
    pairs = [(a.generator_, b.generator_), (a.discriminator_, b.discriminator_)]
    return all(torch.equal(x, y) for ma, mb in pairs
               for x, y in zip(ma.state_dict().values(), mb.state_dict().values(),
                               strict=True))


def losses(history):
    return [{k: v for k, v in epoch.items() if k != "time"} for epoch in history]


VARIANTS = {
    "plain": {},
    "both": {"distill": True, "contrastive": True},
    "early stopping, time warp": {"early_stopping": True, "time_warp": 0.2,
                                  "n_iter_no_change": 1},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_an_interrupted_fit_resumes_to_the_same_networks_bit_for_bit(
        variant, tmp_path, beats, tiny_gan, stop_after):
    from beatdetect.gan.persistence import params_from_data

    X = beats[0].X[:192]
    params = dict(tiny_gan, max_epochs=4, random_state=3,
                  **params_from_data(VARIANTS[variant]))
    reference = SIBeatGANDetector(**params).fit(X)

    stop_after(2)
    with pytest.raises(Interrupted):
        SIBeatGANDetector(**params, checkpoint_dir=tmp_path).fit(X)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    resumed = SIBeatGANDetector(**params, checkpoint_dir=tmp_path).fit(X)

    assert resumed.resumed_epochs_ == 2
    assert resumed.resumed_seconds_ > 0
    assert resumed.n_iter_ == reference.n_iter_
    assert losses(resumed.history_) == losses(reference.history_)
    assert same_networks(resumed, reference)
    np.testing.assert_array_equal(resumed.score_samples(beats[1].X),
                                  reference.score_samples(beats[1].X))
    assert resumed.offset_ == reference.offset_
    assert resumed.n_discriminator_resets_ == reference.n_discriminator_resets_
    assert not list(tmp_path.iterdir()), "a completed fit removes its checkpoint"


def test_a_fit_stopped_early_resumes_without_training_further(
        tmp_path, beats, tiny_gan, stop_after, monkeypatch):
    # A validation error that never improves after epoch 1: early stopping at epoch 2.
    from beatdetect.gan.training import GANTrainer

    errors = iter([1.0, 2.0, 3.0, 4.0])
    monkeypatch.setattr(GANTrainer, "validation_loss", lambda self, data: next(errors))
    params = dict(tiny_gan, max_epochs=4, random_state=0, early_stopping=True,
                  n_iter_no_change=1)
    X = beats[0].X[:128]
    stop_after(2)  # right after the save of the stopping epoch
    with pytest.raises(Interrupted):
        SIBeatGANDetector(**params, checkpoint_dir=tmp_path).fit(X)
    trained = []
    monkeypatch.setattr(GANTrainer, "train_epoch",
                        lambda self, *a, **k: trained.append(1) or {})
    resumed = SIBeatGANDetector(**params, checkpoint_dir=tmp_path).fit(X)
    assert trained == []
    assert resumed.n_iter_ == 2 and resumed.resumed_epochs_ == 2


def test_the_resumed_fit_keeps_the_arithmetic_it_started_in(
        tmp_path, beats, tiny_gan, stop_after, monkeypatch):
    # "auto" precision chose bfloat16 on the first machine and would choose float32 on
    # the second: mixing them would change the weights, so the file's choice wins.
    from beatdetect.gan import estimator

    params = dict(tiny_gan, max_epochs=3, random_state=0)
    X = beats[0].X[:128]
    monkeypatch.setattr(estimator, "autocast_dtype", lambda *a, **k: torch.bfloat16)
    stop_after(1)
    with pytest.raises(Interrupted):
        SIBeatGANDetector(**params, checkpoint_dir=tmp_path).fit(X)
    monkeypatch.setattr(estimator, "autocast_dtype", lambda *a, **k: None)
    resumed = SIBeatGANDetector(**params, checkpoint_dir=tmp_path).fit(X)
    assert resumed.resumed_epochs_ == 1
    assert resumed.training_precision_ == "bfloat16"


@pytest.mark.parametrize("change", ["lr", "random_state", "beats"])
def test_another_fit_does_not_resume_from_the_checkpoint(
        change, tmp_path, beats, tiny_gan, stop_after):
    params = dict(tiny_gan, max_epochs=3, random_state=0)
    X = beats[0].X[:128]
    stop_after(1)
    with pytest.raises(Interrupted):
        SIBeatGANDetector(**params, checkpoint_dir=tmp_path).fit(X)
    other = {"lr": dict(params, lr=params.get("lr", 1e-3) / 2),
             "random_state": dict(params, random_state=1), "beats": params}[change]
    X_other = beats[0].X[128:256] if change == "beats" else X
    det = SIBeatGANDetector(**other, checkpoint_dir=tmp_path).fit(X_other)
    assert det.resumed_epochs_ == 0
    assert len(list(tmp_path.glob("*.pt"))) == 1, "the interrupted fit's file is kept"


def test_verbosity_and_device_are_not_part_of_the_fit(tmp_path, beats, tiny_gan, stop_after):
    params = dict(tiny_gan, max_epochs=3, random_state=0)
    X = beats[0].X[:128]
    stop_after(1)
    with pytest.raises(Interrupted):
        SIBeatGANDetector(**dict(params, device="auto"), checkpoint_dir=tmp_path).fit(X)
    det = SIBeatGANDetector(**dict(params, device="cpu", verbose=1),
                            checkpoint_dir=str(tmp_path)).fit(X)
    assert det.resumed_epochs_ == 1


def test_a_fit_without_checkpoint_dir_writes_nothing_and_reports_no_resumption(
        beats, tiny_gan, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("saved without checkpoint_dir")

    monkeypatch.setattr(EpochCheckpoint, "save", fail)
    det = SIBeatGANDetector(**dict(tiny_gan, max_epochs=1, random_state=0)).fit(
        beats[0].X[:64])
    assert det.resumed_epochs_ == 0 and det.resumed_seconds_ == 0.0


def test_an_unseeded_fit_with_a_checkpoint_dir_warns(tmp_path, beats, tiny_gan):
    det = SIBeatGANDetector(**dict(tiny_gan, max_epochs=1, random_state=None),
                            checkpoint_dir=tmp_path)
    with pytest.warns(UserWarning, match="int random_state"):
        det.fit(beats[0].X[:64])


def test_a_file_of_another_fit_under_the_same_name_is_refused(tmp_path):
    fingerprint = "cd" * 32
    EpochCheckpoint(tmp_path, "ab" * 32).save({"epoch": 1})
    (tmp_path / "sibeatgan-abababababababababababab.pt").rename(
        EpochCheckpoint(tmp_path, fingerprint).path)
    with pytest.raises(ValueError, match="another fit.*Delete it"):
        EpochCheckpoint(tmp_path, fingerprint).load()


def test_an_unreadable_file_is_named_in_the_error(tmp_path):
    ckpt = EpochCheckpoint(tmp_path, "ab" * 32)
    ckpt.path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=f"Cannot read the training checkpoint {ckpt.path}"):
        ckpt.load()


def test_a_save_that_fails_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    ckpt = EpochCheckpoint(tmp_path, "ab" * 32)
    ckpt.save({"epoch": 1})

    def broken(obj, handle):
        handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save({"epoch": 2})
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.path.name]
    assert ckpt.load()["epoch"] == 1


def test_a_file_from_another_torch_version_resumes_with_a_warning(tmp_path, monkeypatch):
    ckpt = EpochCheckpoint(tmp_path, "ab" * 32)
    monkeypatch.setattr(checkpoint_module.torch, "__version__", "0.0.1")
    ckpt.save({"epoch": 1})
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="torch 0.0.1"):
        assert ckpt.load()["epoch"] == 1


def test_the_fingerprint_covers_parameters_seed_and_every_beat():
    X = np.zeros((4, 320), np.float32)
    base = fit_fingerprint({"lr": 1e-3}, X, 0)
    changed = X.copy()
    changed[3, 319] = 1e-7
    assert len({base, fit_fingerprint({"lr": 2e-3}, X, 0), fit_fingerprint({"lr": 1e-3}, X, 1),
                fit_fingerprint({"lr": 1e-3}, changed, 0),
                fit_fingerprint({"lr": 1e-3}, X.astype(np.float64), 0)}) == 5

"""GANTrainer: the BeatGAN step, discriminator resets, divergence, loss-term slots."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from beatdetect.exceptions import TrainingDivergedError
from beatdetect.gan.inference import reconstruction_errors
from beatdetect.gan.training import GANTrainer, LossTerm, StepContext
from beatdetect.nn.networks import BeatGANConfig, Discriminator, Generator, init_weights

CFG = BeatGANConfig(length=64, base_filters=4, n_layers=3, latent_dim=8)


def make_trainer(**kwargs):
    torch.manual_seed(0)
    g, d = Generator(CFG), Discriminator(CFG)
    kwargs.setdefault("rng", torch.Generator().manual_seed(0))
    return GANTrainer(g, d, lr=1e-3, batch_size=16, **kwargs)


def beats(n=64, seed=0):
    t = torch.linspace(0, 1, CFG.length)
    rng = torch.Generator().manual_seed(seed)
    centre = 0.5 + 0.02 * torch.randn(n, 1, 1, generator=rng)
    return torch.exp(-((t - centre) / 0.05) ** 2) * 2 - 1


def test_train_step_updates_both_networks_and_reports_losses():
    trainer = make_trainer()
    g0 = [p.detach().clone() for p in trainer.generator.parameters()]
    d0 = [p.detach().clone() for p in trainer.discriminator.parameters()]
    losses = trainer.train_step(beats(16))
    assert {"d_real", "d_fake", "loss_d", "rec", "adv", "loss_g"} <= set(losses)
    assert all(not v.requires_grad for v in losses.values())
    assert all(not torch.equal(a, b) for a, b in zip(g0, trainer.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, trainer.discriminator.parameters()))
    # The generator step freezes the discriminator only while it runs.
    assert all(p.requires_grad for p in trainer.discriminator.parameters())


def test_generator_loss_is_reconstruction_plus_weighted_feature_matching():
    losses = make_trainer(w_adv=2.5).train_step(beats(16))
    assert losses["loss_g"].item() == pytest.approx(
        losses["rec"].item() + losses["adv"].item(), rel=1e-6)
    no_adv = make_trainer(w_adv=0.0).train_step(beats(16))
    assert "adv" not in no_adv
    assert no_adv["loss_g"].item() == pytest.approx(no_adv["rec"].item(), rel=1e-6)


def test_epochs_reduce_reconstruction_error():
    trainer = make_trainer()
    history = trainer.fit(beats(256), max_epochs=25)  # 400 steps of a tiny network
    rec = np.array([h["rec"] for h in history])
    # GAN training is noisy epoch to epoch: compare blocks of five epochs.
    blocks = rec.reshape(5, 5).mean(axis=1)
    assert blocks[-1] < 0.4 * rec[0]
    assert blocks[0] > blocks[2] > blocks[4]
    assert len(history) == 25 and all(h["time"] > 0 for h in history)


def test_discriminator_reinitialised_when_its_loss_collapses():
    trainer = make_trainer(d_reset_threshold=1e9)  # every step counts as collapsed
    trainer.train_epoch(beats(64))
    assert trainer.n_discriminator_resets_ == 4  # 64 beats / batch 16


class ConstantDiscriminatorTerm(LossTerm):
    side = "discriminator"

    def discriminator_loss(self, ctx):
        return {"extra": torch.tensor(10.0)}


def test_reset_looks_at_the_adversarial_loss_only():
    trainer = make_trainer(terms=[ConstantDiscriminatorTerm()], d_reset_threshold=1e3)
    trainer.train_epoch(beats(32))
    assert trainer.n_discriminator_resets_ == 2  # the extra 10 does not hide the collapse
    trainer = make_trainer(terms=[ConstantDiscriminatorTerm()], d_reset_threshold=1e-12)
    trainer.train_epoch(beats(32))
    assert trainer.n_discriminator_resets_ == 0


def test_batch_of_one_is_skipped_not_crashing_batch_norm():
    trainer = make_trainer()
    step, sizes = trainer.train_step, []

    def counting(batch):
        sizes.append(len(batch))
        return step(batch)

    trainer.train_step = counting
    losses = trainer.train_epoch(beats(17))  # 16 + a lone beat
    assert sizes == [16]  # the lone beat never reached a step
    assert all(np.isfinite(v) for v in losses.values())


def test_non_finite_loss_raises_clear_error():
    trainer = make_trainer()
    data = beats(32)
    data[3, 0, 5] = float("inf")
    with pytest.raises(TrainingDivergedError, match="NaN or infinite"):
        trainer.train_epoch(data)


class CountingTerm(LossTerm):
    """A term with one parameter pulling the latent mean to zero, on the generator side."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.calls = {"d": 0, "g": 0}

    def discriminator_loss(self, ctx):
        self.calls["d"] += 1
        return {}

    def generator_loss(self, ctx):
        self.calls["g"] += 1
        return {"latent_l2": self.scale * ctx.latent.float().pow(2).mean()}


def test_loss_terms_are_called_added_and_optimised():
    term = CountingTerm()
    trainer = make_trainer(terms=[term])
    losses = trainer.train_step(beats(16))
    assert term.calls == {"d": 1, "g": 1}
    assert losses["loss_g"].item() == pytest.approx(
        losses["rec"].item() + losses["adv"].item() + losses["latent_l2"].item(), rel=1e-5)
    assert term.scale.item() != 1.0  # its parameter belongs to the generator's optimizer


class ReadsReconstruction(LossTerm):
    """A discriminator-side term whose loss reads x_hat: it must not reach the generator."""

    side = "discriminator"

    def __init__(self):
        super().__init__()
        self.seen = []

    def discriminator_loss(self, ctx):
        self.seen.append((ctx.x_hat.requires_grad, ctx.latent.requires_grad,
                          any(f.requires_grad for f in ctx.features)))
        logit, _ = ctx.discriminator(ctx.x_hat)
        return {"x_hat_term": 0.5 * logit.float().mean() + ctx.x_hat.float().pow(2).mean()}


def test_discriminator_side_terms_cannot_backpropagate_into_the_generator():
    term = ReadsReconstruction()
    trainer = make_trainer(terms=[term])
    x = beats(16)
    x_hat, latent, features = trainer.generator(x)
    ctx = StepContext(x, x_hat, latent, features, trainer.generator, trainer.discriminator)
    losses = trainer.discriminator_step(ctx)
    assert "x_hat_term" in losses and term.seen == [(False, False, False)]
    assert all(p.grad is None for p in trainer.generator.parameters())
    # The generator's graph is intact for its own update: before discriminator-side terms
    # got a detached context, this raised "Trying to backward through the graph a second
    # time".
    trainer.generator_step(ctx)
    assert all(p.grad is not None for p in trainer.generator.parameters())


def test_detached_context_shares_tensors_without_gradient():
    g, d = Generator(CFG), Discriminator(CFG)
    x = beats(4)
    x_hat, latent, features = g(x)
    ctx = StepContext(x, x_hat, latent, features, g, d)
    detached = ctx.detached()
    assert x_hat.requires_grad and not detached.x_hat.requires_grad
    assert detached.x_hat.data_ptr() == x_hat.data_ptr() and detached.x is x
    assert detached.generator is g and detached.discriminator is d
    with pytest.raises(AttributeError):
        ctx.x = x_hat  # frozen: a term cannot swap the batch under the trainer


class DrawsRandomViews(LossTerm):
    """Draws from its own seeded stream, on both sides, as the contract asks."""

    def __init__(self):
        super().__init__()
        self.rng = torch.Generator().manual_seed(5)
        self.weight = torch.nn.Parameter(torch.ones(()))

    def _noise(self, ctx):
        assert not hasattr(ctx, "rng")  # the trainer's RNG is not offered to terms
        return torch.randn(ctx.x.shape, generator=self.rng)

    def discriminator_loss(self, ctx):
        logit, _ = ctx.discriminator(ctx.x + 0.01 * self._noise(ctx))
        return {"noisy_d": 0.1 * logit.float().mean()}

    def generator_loss(self, ctx):
        return {"noisy_g": self.weight * (ctx.x_hat - self._noise(ctx)).float().pow(2).mean()}


def test_terms_do_not_draw_from_the_trainers_rng():
    # The trainer's RNG shuffles, augments and resets the discriminator; with terms on, it
    # must have drawn exactly what it draws without them, so the GAN's batches are the same.
    def rng_after_epoch(terms):
        trainer = make_trainer(terms=terms, d_reset_threshold=1e9,  # reset every step
                               augment=lambda x, rng: x + 0.01 * torch.randn(
                                   x.shape, generator=rng))
        trainer.train_epoch(beats(48))
        return trainer.rng.get_state()

    assert torch.equal(rng_after_epoch([DrawsRandomViews()]), rng_after_epoch([]))


class ReturnsReconstructionLoss(LossTerm):
    def generator_loss(self, ctx):
        return {"rec": ctx.x_hat.float().mean()}


class SameNameBothSides(LossTerm):
    def discriminator_loss(self, ctx):
        return {"mine": torch.zeros(())}

    def generator_loss(self, ctx):
        return {"mine": ctx.x_hat.float().mean()}


@pytest.mark.parametrize("terms", [[ReturnsReconstructionLoss()], [SameNameBothSides()],
                                   [CountingTerm(), CountingTerm()]])
def test_a_term_cannot_overwrite_another_loss(terms):
    with pytest.raises(ValueError, match="already used|both sides"):
        make_trainer(terms=terms).train_step(beats(16))


def test_a_term_side_must_name_an_optimizer():
    term = CountingTerm()
    term.side = "both"
    with pytest.raises(ValueError, match="side must be"):
        make_trainer(terms=[term])


def test_early_stopping_keeps_best_generator():
    trainer = make_trainer()
    data, val = beats(64), beats(16, seed=1)
    history = trainer.fit(data, val, max_epochs=30, n_iter_no_change=1, tol=1e9)
    assert len(history) == 2
    best = history[0]["val_rec"]
    assert reconstruction_errors(trainer.generator, val).mean() == pytest.approx(best, rel=1e-5)


def test_early_stopping_restores_the_discriminator_of_the_best_epoch():
    trainer = make_trainer()
    data, val = beats(64), beats(16, seed=1)
    snapshots = []
    original = trainer.train_epoch

    def recording_epoch(*args, **kwargs):
        out = original(*args, **kwargs)
        snapshots.append({k: v.clone() for k, v in trainer.discriminator.state_dict().items()})
        return out

    trainer.train_epoch = recording_epoch
    trainer.fit(data, val, max_epochs=30, n_iter_no_change=1, tol=1e9)
    for name, value in trainer.discriminator.state_dict().items():
        assert torch.equal(value, snapshots[0][name])


def test_cosine_schedule_anneals_both_optimizers_to_zero_over_max_epochs():
    trainer = make_trainer(lr_schedule="cosine")
    seen = []

    def record_lr(tr, record):
        seen.append([g["lr"] for opt in (tr.optimizer_d_, tr.optimizer_g_)
                     for g in opt.param_groups])
        return {"lr_end": tr.current_lr()}

    history = trainer.fit(beats(64), max_epochs=2, on_epoch_end=record_lr)
    # 64 beats in batches of 16: 4 steps per epoch, 8 in all; the step after the last is 0.
    assert trainer.total_steps_ == 8 and trainer.step_ == 8
    # lr used by the last step of epoch 1 (step index 3) and of epoch 2 (step index 7).
    assert seen[0] == pytest.approx([0.5e-3 * (1 + np.cos(np.pi * 3 / 8))] * 2)
    assert seen[1] == pytest.approx([0.5e-3 * (1 + np.cos(np.pi * 7 / 8))] * 2)
    assert history[-1]["lr_end"] == pytest.approx(0.0, abs=1e-12)


def test_constant_schedule_keeps_the_learning_rate():
    trainer = make_trainer()
    trainer.fit(beats(32), max_epochs=2)
    assert all(g["lr"] == 1e-3 for opt in (trainer.optimizer_d_, trainer.optimizer_g_)
               for g in opt.param_groups)


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        make_trainer(lr_schedule="step")


def test_on_epoch_end_extends_history_and_leaves_networks_training():
    trainer = make_trainer()

    def evaluate(tr, record):
        tr.generator.eval()  # a diagnostic may switch modes; training must resume in train
        return {"seen_epoch": record["epoch"]}

    history = trainer.fit(beats(32), max_epochs=2, on_epoch_end=evaluate)
    assert [h["seen_epoch"] for h in history] == [1, 2]
    assert trainer.generator.training and trainer.discriminator.training


def test_discriminator_resets_are_seeded_and_leave_the_global_rng_alone():
    # Every step resets the discriminator (threshold far above any loss); the new weights
    # must come from the trainer's seeded generator, not torch's global RNG.
    def trained(global_seed):
        trainer = make_trainer(d_reset_threshold=1e9, rng=torch.Generator().manual_seed(0))
        torch.manual_seed(global_seed)  # the global RNG's state must not matter
        state = torch.get_rng_state()
        trainer.train_epoch(beats(64))
        assert torch.equal(torch.get_rng_state(), state)
        return trainer

    first, second = trained(0), trained(123)
    assert first.n_discriminator_resets_ == second.n_discriminator_resets_ == 4
    for a, b in zip(first.discriminator.parameters(), second.discriminator.parameters()):
        assert torch.equal(a, b)


def test_init_weights_with_a_generator_is_reproducible_and_spares_the_global_rng():
    import functools

    nets = [Discriminator(CFG) for _ in range(2)]
    state = torch.get_rng_state()
    for net in nets:
        net.apply(functools.partial(init_weights, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(torch.get_rng_state(), state)
    for a, b in zip(*(net.parameters() for net in nets)):
        assert torch.equal(a, b)
    convs = torch.cat([m.weight.flatten() for m in nets[0].modules()
                       if isinstance(m, torch.nn.Conv1d)])
    assert abs(convs.std().item() - 0.02) < 0.002 and abs(convs.mean().item()) < 0.002

"""BeatGAN's adversarial training engine, with slots for extra loss terms.

No scikit-learn here: :class:`GANTrainer` takes modules and tensors. The loop is split into
small named steps after skorch (``train_step`` -> ``discriminator_step`` /
``generator_step``), and self-improvement terms (distillation, contrastive learning) plug in
as :class:`LossTerm` modules that add to the discriminator's or generator's loss, so there is
one training path with or without them.

One step on a batch ``x`` (Zhou et al., 2019; Algorithm 1 of the paper):

1. ``x_hat = G(x)`` once; the published code ran the generator twice per step.
2. Discriminator: ``L_D = BCE(D(x), 1) + BCE(D(x_hat.detach()), 0) + sum(terms)``.
3. Generator: ``L_G = ||x - x_hat||^2 + w_adv * ||f_D(x) - f_D(x_hat)||^2 + sum(terms)``,
   with ``f_D`` the discriminator's last feature map after its update, as published.
4. When the real-vs-fake part of ``L_D`` collapses below ``d_reset_threshold`` the
   discriminator is re-initialised,
   as in the paper's code, so the generator keeps receiving a useful signal.
"""

from __future__ import annotations

import copy
import functools
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .._device import PrecisionProbe
from ..exceptions import TrainingDivergedError
from ..nn.networks import BeatGANConfig, Discriminator, Generator, init_weights
from .checkpoint import EpochCheckpoint
from .inference import CPU, INFERENCE_BATCH_SIZE, reconstruction_errors

#: Learning-rate schedules of :class:`GANTrainer`.
LR_SCHEDULES = ("constant", "cosine")

__all__ = [
    "RESERVED_LOSS_NAMES",
    "GANTrainer",
    "LossTerm",
    "StepContext",
    "precision_probe",
]


#: Loss names the trainer writes itself; a term returning one of them would replace it.
RESERVED_LOSS_NAMES = frozenset({"d_real", "d_fake", "loss_d", "rec", "adv", "loss_g"})


@dataclass(frozen=True)
class StepContext:
    """What a training step has computed so far, as a :class:`LossTerm` sees it.

    :meth:`LossTerm.generator_loss` receives it as computed: ``x_hat``, ``latent`` and
    ``features`` carry gradient to the generator. :meth:`LossTerm.discriminator_loss`
    receives :meth:`detached`, the same tensors cut from the generator's graph. The context
    is frozen: a term cannot swap a tensor under the trainer or the terms after it.

    Attributes
    ----------
    x : Tensor of shape (B, C, L)
        Real beats of the batch (after the trainer's optional time-warp augmentation).
    x_hat : Tensor of shape (B, C, L)
        Reconstructions ``G(x)``.
    latent : Tensor of shape (B, latent_dim)
        The generator's latent codes.
    features : list of Tensor
        The generator encoder's feature maps, high to low resolution.
    generator : Generator
        The network being trained, in training mode.
    discriminator : Discriminator
        The network being trained, in training mode.
    """

    x: torch.Tensor
    x_hat: torch.Tensor
    latent: torch.Tensor
    features: list[torch.Tensor]
    generator: Generator
    discriminator: Discriminator

    def detached(self) -> StepContext:
        """The context of discriminator-side hooks: the generator's outputs detached.

        Returns
        -------
        StepContext
            ``x_hat``, ``latent`` and ``features`` without gradient, sharing memory with
            this context's; ``x`` and the networks unchanged.
        """
        return replace(self, x_hat=self.x_hat.detach(), latent=self.latent.detach(),
                       features=[f.detach() for f in self.features])


class LossTerm(nn.Module):
    """An extra loss term of the GAN's training, with its own parameters (it may have none).

    Override :meth:`discriminator_loss` and/or :meth:`generator_loss`. The contract between a
    term and :class:`GANTrainer`:

    - *What a hook returns.* A dict of *weighted* scalar loss tensors by name (``{}`` for
      none). The trainer adds them to that side's loss before its backward pass and
      records each name in the training history. Names are unique within a step: one of
      the trainer's own (:data:`RESERVED_LOSS_NAMES`) or another term's raises ValueError.
    - *What the discriminator side reads.* :meth:`discriminator_loss` runs in the
      discriminator's update, before the generator's, and receives
      :meth:`StepContext.detached`: its losses reach the discriminator and the term only.
      (Backpropagating into the generator's graph there would free that graph before the
      generator's update needs it.) It may run ``ctx.discriminator``; it does not run
      ``ctx.generator``, whose gradient would be discarded.
    - *What the generator side reads.* :meth:`generator_loss` runs in the generator's
      update, after the discriminator's; ``x_hat``, ``latent`` and ``features`` carry
      gradient to the generator. The discriminator's parameters are frozen while it runs,
      so running ``ctx.discriminator`` passes gradient to its input only.
    - *Which parameters train.* ``side`` (``"generator"`` or ``"discriminator"``) names the
      optimizer that owns the term's parameters.
    - *Randomness.* A term that draws random numbers (augmented views) owns a seeded
      ``torch.Generator`` (as :class:`~beatdetect.gan.terms.ContrastiveTerm`'s
      ``rng``). The trainer's ``rng``, which shuffles the batches, time-warps them and
      re-initialises the discriminator, is not in the context: the GAN sees the same
      batches with or without terms, so a comparison at the same seed is paired.
    - *Side effects.* Extra forward passes through the networks leave their batch-norm
      running statistics alone (:func:`~beatdetect.gan.terms.call_keeping_stats`):
      those are the statistics the networks score with.

    Hooks run under the trainer's autocast; the losses of :mod:`beatdetect.nn.losses`
    compute in float32 whatever the autocast dtype.
    """

    side: str = "generator"

    def discriminator_loss(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Weighted losses added to the discriminator's; ``ctx`` is detached.

        Parameters
        ----------
        ctx : StepContext
            :meth:`StepContext.detached` of the step's context.

        Returns
        -------
        dict of str to Tensor
            Weighted scalar losses by name; empty by default.
        """
        return {}

    def generator_loss(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        """Weighted losses added to the generator's; ``ctx`` carries gradient to it.

        Parameters
        ----------
        ctx : StepContext
            The step's context.

        Returns
        -------
        dict of str to Tensor
            Weighted scalar losses by name; empty by default.
        """
        return {}


def _add_term_losses(losses: dict, term: LossTerm, term_losses: dict) -> None:
    """Add a term's losses to a step's, refusing a name already used in the step."""
    taken = (RESERVED_LOSS_NAMES | losses.keys()) & term_losses.keys()
    if taken:
        raise ValueError(
            f"{type(term).__name__} returns loss(es) {sorted(taken)}, a name already used in "
            "this step (by the trainer or another term): the history would lose one of them."
        )
    losses.update(term_losses)


class GANTrainer:
    """Trains a BeatGAN generator and discriminator (plus optional loss terms).

    Parameters
    ----------
    generator, discriminator : nn.Module
    terms : sequence of LossTerm
        Extra loss terms (self-knowledge distillation, contrastive learning).
    lr : float
    betas : tuple of float
        Adam's betas; BeatGAN uses (0.5, 0.999).
    w_adv : float
        Weight of the feature-matching (adversarial) loss of the generator.
    d_reset_threshold : float
        Re-initialise the discriminator when its loss drops below this.
    batch_size : int
    device : torch.device
    amp_dtype : torch.dtype or None
        Autocast dtype (bfloat16) or None for float32.
    augment : callable (x, rng) -> x, optional
        Applied to each real batch before the step (BeatGAN's time warping).
    rng : torch.Generator
        Seeded CPU generator for shuffling, ``augment`` and discriminator resets. The
        trainer's own: loss terms do not receive it (see :class:`LossTerm`).
    lr_schedule : {"constant", "cosine"}
        ``"cosine"`` anneals both learning rates from ``lr`` to 0 over the ``max_epochs`` of
        :meth:`fit`, step by step (Loshchilov & Hutter, 2017); ``"constant"`` is BeatGAN's.
    """

    def __init__(
        self,
        generator: Generator,
        discriminator: Discriminator,
        *,
        terms=(),
        lr: float = 1e-4,
        betas=(0.5, 0.999),
        w_adv: float = 1.0,
        d_reset_threshold: float = 5e-6,
        batch_size: int = 64,
        device: torch.device = CPU,
        amp_dtype: torch.dtype | None = None,
        augment: Callable | None = None,
        rng: torch.Generator | None = None,
        lr_schedule: str = "constant",
    ):
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}.")
        self.generator = generator
        self.discriminator = discriminator
        self.terms = nn.ModuleList(terms)
        self.lr, self.betas, self.w_adv = lr, tuple(betas), w_adv
        self.d_reset_threshold = d_reset_threshold
        self.batch_size = batch_size
        self.device = device
        self.amp_dtype = amp_dtype
        self.augment = augment
        self.rng = rng if rng is not None else torch.Generator().manual_seed(0)
        self.lr_schedule = lr_schedule
        self.total_steps_: int | None = None
        self.step_ = 0
        self.n_discriminator_resets_ = 0
        self.initialize()

    # ----------------------------------------------------------------- set-up
    def initialize(self) -> GANTrainer:
        """Move modules to the device and create the two Adam optimizers."""
        for module in (self.generator, self.discriminator, self.terms):
            module.to(self.device).train()
        g_params = list(self.generator.parameters())
        d_params = list(self.discriminator.parameters())
        for term in self.terms:
            if term.side not in ("generator", "discriminator"):
                raise ValueError(f"{type(term).__name__}.side must be 'generator' or "
                                 f"'discriminator', got {term.side!r}.")
            (d_params if term.side == "discriminator" else g_params).extend(term.parameters())
        self.optimizer_g_ = torch.optim.Adam(g_params, lr=self.lr, betas=self.betas)
        self.optimizer_d_ = torch.optim.Adam(d_params, lr=self.lr, betas=self.betas)
        return self

    def _random_generators(self) -> list[torch.Generator]:
        """Every generator the fit draws from: the trainer's, then each term's own."""
        return [self.rng] + [term.rng for term in self.terms
                             if isinstance(getattr(term, "rng", None), torch.Generator)]

    def state_dict(self) -> dict:
        """Everything the next step depends on, for :meth:`load_state_dict` to resume.

        Networks, terms, both optimizers, every random generator, the schedule's step, the
        discriminator-reset count and the autocast dtype (the arithmetic changes the
        weights, so a resumed fit keeps the one it started in).
        """
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "terms": self.terms.state_dict(),
            "optimizer_g": self.optimizer_g_.state_dict(),
            "optimizer_d": self.optimizer_d_.state_dict(),
            "rng": [g.get_state() for g in self._random_generators()],
            "step": self.step_,
            "n_discriminator_resets": self.n_discriminator_resets_,
            "amp_dtype": None if self.amp_dtype is None else str(self.amp_dtype),
        }

    def load_state_dict(self, state: dict) -> GANTrainer:
        """Restore a :meth:`state_dict` of a trainer built with the same modules and terms."""
        generators = self._random_generators()
        if len(state["rng"]) != len(generators):
            raise ValueError(f"The state has {len(state['rng'])} random generators; this "
                             f"trainer has {len(generators)} (other loss terms?).")
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.terms.load_state_dict(state["terms"])
        self.optimizer_g_.load_state_dict(state["optimizer_g"])
        self.optimizer_d_.load_state_dict(state["optimizer_d"])
        for generator, rng_state in zip(generators, state["rng"]):
            generator.set_state(rng_state.cpu())
        self.step_ = int(state["step"])
        self.n_discriminator_resets_ = int(state["n_discriminator_resets"])
        return self

    def _autocast(self):
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype or torch.float32,
            enabled=self.amp_dtype is not None,
        )

    # ----------------------------------------------------------------- steps
    def discriminator_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        """One update of the discriminator on real ``x`` vs detached ``x_hat``."""
        with self._autocast():
            logit_real, _ = self.discriminator(ctx.x)
            logit_fake, _ = self.discriminator(ctx.x_hat.detach())
            losses = {
                "d_real": F.binary_cross_entropy_with_logits(
                    logit_real.float(), torch.ones_like(logit_real, dtype=torch.float32)),
                "d_fake": F.binary_cross_entropy_with_logits(
                    logit_fake.float(), torch.zeros_like(logit_fake, dtype=torch.float32)),
            }
            detached = ctx.detached()
            for term in self.terms:
                _add_term_losses(losses, term, term.discriminator_loss(detached))
        loss = sum(losses.values())
        self.optimizer_d_.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer_d_.step()
        losses["loss_d"] = loss
        return losses

    def generator_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        """One update of the generator: reconstruction + feature matching + terms."""
        # The discriminator's weights get no gradient here: computing it would be wasted work.
        self.discriminator.requires_grad_(False)
        with self._autocast():
            _, feat_fake = self.discriminator(ctx.x_hat)
            with torch.no_grad():
                _, feat_real = self.discriminator(ctx.x)
            losses = {"rec": F.mse_loss(ctx.x_hat.float(), ctx.x.float())}
            if self.w_adv:
                losses["adv"] = self.w_adv * F.mse_loss(feat_fake.float(), feat_real.float())
            for term in self.terms:
                _add_term_losses(losses, term, term.generator_loss(ctx))
        loss = sum(losses.values())
        self.optimizer_g_.zero_grad(set_to_none=True)
        loss.backward()
        self.discriminator.requires_grad_(True)
        self.optimizer_g_.step()
        losses["loss_g"] = loss
        return losses

    def current_lr(self) -> float:
        """Learning rate of the next step under ``lr_schedule``."""
        if self.lr_schedule == "constant" or not self.total_steps_:
            return self.lr
        progress = min(self.step_ / self.total_steps_, 1.0)
        return 0.5 * self.lr * (1.0 + math.cos(math.pi * progress))

    def train_step(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Discriminator then generator update on one batch; returns detached losses."""
        if self.lr_schedule != "constant":
            lr = self.current_lr()
            for optimizer in (self.optimizer_d_, self.optimizer_g_):
                for group in optimizer.param_groups:
                    group["lr"] = lr
        self.step_ += 1
        if self.augment is not None:
            x = self.augment(x, self.rng)
        with self._autocast():
            x_hat, latent, features = self.generator(x)
        ctx = StepContext(x, x_hat, latent, features, self.generator, self.discriminator)
        losses = self.discriminator_step(ctx)
        generator_losses = self.generator_step(ctx)
        if clash := (losses.keys() & generator_losses.keys()):
            raise ValueError(f"loss(es) {sorted(clash)} returned by both sides' terms: the "
                             "history would lose one of them.")
        losses.update(generator_losses)
        loss_d, loss_g = losses["loss_d"].item(), losses["loss_g"].item()
        if not (math.isfinite(loss_d) and math.isfinite(loss_g)):
            bad = [name for name, value in losses.items() if not torch.isfinite(value).all()]
            raise TrainingDivergedError(
                f"Training diverged: loss {', '.join(bad)} became NaN or infinite. Lower lr, "
                "check the input scaling, or set mixed_precision=False."
            )
        # Only the adversarial part: extra discriminator terms (contrastive) must not mask
        # a collapse of the real-vs-fake loss.
        if (losses["d_real"] + losses["d_fake"]).item() < self.d_reset_threshold:
            # From the trainer's seeded generator, not torch's global RNG: equal seeds give
            # equal models, and fitting leaves the caller's RNG state alone.
            self.discriminator.apply(functools.partial(init_weights, generator=self.rng))
            self.n_discriminator_resets_ += 1
        return {name: value.detach() for name, value in losses.items()}

    def train_epoch(self, data: torch.Tensor, progress=None) -> dict[str, float]:
        """One pass over ``data`` (N, C, L) in shuffled batches; mean loss per term.

        A final batch of one beat is dropped: batch normalisation cannot train on it.
        """
        order = torch.randperm(len(data), generator=self.rng).to(data.device)
        totals: dict[str, torch.Tensor] = {}
        n_batches = 0
        for start in self._batch_starts(len(data)):
            index = order[start:start + self.batch_size]
            losses = self.train_step(data[index])
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + value.float()
            n_batches += 1
            if progress is not None:
                progress.update(len(index))
        return {name: float(total) / max(n_batches, 1) for name, total in totals.items()}

    def _batch_starts(self, n: int) -> range:
        """Start of each batch of an epoch; a final batch of one beat is left out."""
        stop = n - 1 if n % self.batch_size == 1 else n
        return range(0, stop, self.batch_size)

    def validation_loss(self, data: torch.Tensor) -> float:
        """Mean reconstruction error of ``data`` with the generator in eval mode."""
        errors = reconstruction_errors(
            self.generator, data, batch_size=INFERENCE_BATCH_SIZE, device=self.device,
            amp_dtype=self.amp_dtype,
        )
        self.generator.train()
        return float(errors.mean())

    def fit(
        self,
        train: torch.Tensor,
        validation: torch.Tensor | None = None,
        *,
        max_epochs: int,
        n_iter_no_change: int | None = None,
        tol: float = 0.0,
        verbose: int = 0,
        on_epoch_end: Callable[[GANTrainer, dict], dict | None] | None = None,
        checkpoint: EpochCheckpoint | None = None,
        resume: dict | None = None,
    ) -> list[dict]:
        """Train for ``max_epochs`` (or until early stopping); return the history.

        With ``validation`` and ``n_iter_no_change``, training stops once the validation
        reconstruction error has not improved by ``tol`` for that many epochs, and the
        generator and discriminator of the epoch with the lowest validation error are kept
        (the discriminator matters when scores use its features). No labels are involved.
        ``on_epoch_end(trainer, record)`` is called after each epoch with the networks in training
        mode; a dict it returns is merged into the epoch's history record (diagnostics such
        as the learning-curve script's test AUC, never used to choose anything here).
        ``checkpoint`` is saved after every epoch with the trainer's and the loop's state;
        ``resume`` (such a saved state) continues a fit after its last saved epoch, and
        ``resumed_epochs_`` / ``resumed_seconds_`` say how many epochs it restored and
        how long they had trained.
        """
        # The schedule spans this call's steps, also when fit is called again.
        self.total_steps_ = max_epochs * len(self._batch_starts(len(train)))
        self.step_ = 0
        history: list[dict] = []
        best, best_state, stale, stopped, first = math.inf, None, 0, False, 1
        self.resumed_epochs_, self.resumed_seconds_ = 0, 0.0
        if resume is not None:
            self.load_state_dict(resume["trainer"])
            history, best, best_state = list(resume["history"]), resume["best"], \
                resume["best_state"]
            stale, stopped = resume["stale"], resume["stopped"]
            first = len(history) + 1
            self.resumed_epochs_, self.resumed_seconds_ = len(history), resume["seconds"]
        started = time.perf_counter()
        logger = EpochLogger(max_epochs, len(train), verbose)
        if self.resumed_epochs_:
            logger.message(f"resuming after epoch {self.resumed_epochs_} from {checkpoint.path}"
                           if checkpoint is not None else
                           f"resuming after epoch {self.resumed_epochs_}")
        for epoch in range(first, max_epochs + 1):
            if stopped:
                break
            tic = time.perf_counter()
            with logger.batch_bar(epoch) as bar:
                record = {"epoch": epoch, **self.train_epoch(train, bar)}
            record["lr"] = self.current_lr()  # the rate the next step will use
            if validation is not None:
                record["val_rec"] = self.validation_loss(validation)
            record["time"] = time.perf_counter() - tic
            if on_epoch_end is not None:
                record.update(on_epoch_end(self, dict(record)) or {})
                self.generator.train()
                self.discriminator.train()
            history.append(record)
            logger.epoch_end(record, time.perf_counter() - started)
            if validation is not None and n_iter_no_change is not None:
                if record["val_rec"] < best - tol:
                    best, stale = record["val_rec"], 0
                    best_state = copy.deepcopy(
                        (self.generator.state_dict(), self.discriminator.state_dict()))
                else:
                    stale += 1
                    if stale >= n_iter_no_change:
                        logger.message(f"early stop after epoch {epoch}: best val_rec "
                                       f"{best:.5f}")
                        stopped = True
            if checkpoint is not None:
                checkpoint.save({
                    "trainer": self.state_dict(), "history": history, "best": best,
                    "best_state": best_state, "stale": stale, "stopped": stopped,
                    "seconds": self.resumed_seconds_ + time.perf_counter() - started,
                })
        if best_state is not None:
            self.generator.load_state_dict(best_state[0])
            self.discriminator.load_state_dict(best_state[1])
        return history


def precision_probe(cfg: BeatGANConfig, batch_size: int, *, steps: int = 3,
                    warmup: int = 2) -> PrecisionProbe:
    """A timing of BeatGAN's training step in float32 and in bfloat16 autocast on the CPU.

    What ``mixed_precision="auto"`` measures on a CPU with native bfloat16 before it uses
    bfloat16 (:func:`beatdetect._device.cpu_prefers_bf16`): the step that training will
    run, with these networks and this batch size, because which precision is faster
    depends on both (small convolutions pay the conversions to bfloat16 without gaining
    much from its arithmetic). Building the probe costs nothing; :attr:`~PrecisionProbe.measure`
    trains fresh networks on random beats for ``warmup`` steps (oneDNN builds its kernels
    on the first calls) and then times ``steps`` steps in each precision, alternating
    between them so that a change of load on a shared machine hits both; each precision's
    time is the median of its steps. About 10 s at the published size on one busy core.

    Parameters
    ----------
    cfg : BeatGANConfig
        The networks' sizes.
    batch_size : int
        The training batch size.
    steps, warmup : int
        Timed and untimed steps per precision.

    Returns
    -------
    PrecisionProbe
        Keyed by ``cfg`` and ``batch_size``.
    """

    def measure() -> tuple[float, float]:
        # Fixed seeds and a forked RNG: the timing neither depends on nor disturbs the
        # caller's random state (a seeded fit stays reproducible).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            x = torch.rand(batch_size, cfg.n_leads, cfg.padded_length) * 2 - 1
            trainers = [
                GANTrainer(Generator(cfg), Discriminator(cfg), batch_size=batch_size,
                           amp_dtype=amp, rng=torch.Generator().manual_seed(0))
                for amp in (None, torch.bfloat16)
            ]
            times: list[list[float]] = [[], []]
            for _ in range(warmup + steps):
                for trainer, seconds in zip(trainers, times):
                    tic = time.perf_counter()
                    trainer.train_step(x)
                    seconds.append(time.perf_counter() - tic)
            float32_s, bfloat16_s = (statistics.median(t[warmup:]) for t in times)
        return float32_s, bfloat16_s

    key = (f"BeatGAN n_leads={cfg.n_leads} length={cfg.length} "
           f"base_filters={cfg.base_filters} n_layers={cfg.n_layers} "
           f"latent_dim={cfg.latent_dim} batch_size={batch_size}")
    return PrecisionProbe(key=key, measure=measure)


class EpochLogger:
    """Per-epoch loss lines with elapsed time and ETA (stderr), a batch bar at verbose>=2."""

    def __init__(self, max_epochs: int, n_beats: int, verbose: int):
        self.max_epochs, self.n_beats, self.verbose = max_epochs, n_beats, verbose

    def batch_bar(self, epoch: int):
        if self.verbose < 2:
            return _NullBar()
        from tqdm.auto import tqdm

        return tqdm(total=self.n_beats, desc=f"epoch {epoch}/{self.max_epochs}", unit="beat",
                    leave=False, file=sys.stderr)

    def epoch_end(self, record: dict, elapsed: float) -> None:
        if not self.verbose:
            return
        epoch = record["epoch"]
        eta = elapsed / epoch * (self.max_epochs - epoch)
        losses = "  ".join(
            f"{k} {v:.4g}" for k, v in record.items()
            if k not in {"epoch", "time"} and isinstance(v, (int, float))
        )
        self.message(
            f"epoch {epoch:>3}/{self.max_epochs}  {losses}  "
            f"{self.n_beats / record['time']:.0f} beats/s  elapsed {_hms(elapsed)}  "
            f"ETA {_hms(eta)}"
        )

    def message(self, text: str) -> None:
        if self.verbose:
            print(text, file=sys.stderr, flush=True)


class _NullBar:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _hms(seconds: float) -> str:
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d}"

r"""Self-improving loss terms of SI-BeatGAN: self-knowledge distillation and contrastive learning.

Each term is a :class:`~beatdetect.gan.training.LossTerm`: an ``nn.Module`` whose
``discriminator_loss(ctx)`` / ``generator_loss(ctx)`` return dicts of *weighted* loss tensors
that :class:`~beatdetect.gan.training.GANTrainer` adds to BeatGAN's losses (their names become
columns of ``history_``). :class:`~beatdetect.SIBeatGANDetector` builds them from its
``distill`` and ``contrastive`` parameters.

Distillation (FRSKD, Ji et al. 2021)
------------------------------------
The generator (the student) gets :math:`L = L_G + L_{KD}` with

.. math::

    L_{KD} = w_{kd}\, T^2\, \mathrm{KL}\big(\mathrm{softmax}(f_t(x)/T) \,\|\,
             \mathrm{softmax}(f_s(x)/T)\big)
             + w_{feat} \sum_i \mathrm{AT}\big(F^{(i)}_s(x), R^{(i)}_t(x)\big) / P

(:func:`~beatdetect.nn.losses.distillation_kl`, :func:`~beatdetect.nn.losses.attention_transfer`)
where :math:`F^{(i)}_s` are the student encoder's ``P`` feature maps and :math:`R^{(i)}_t`
the teacher's (refined) maps. Teacher outputs are detached: these terms train the student only.

*The softened output* is the reconstruction :math:`\hat x`, the softmax running over the
ticks of each lead, so each lead's reconstruction is read as a distribution over time.
Teacher and student reconstruct the same beat on the same time axis, so the distributions are
aligned by construction, whatever the two networks' sizes or initialisations; and since
BeatGAN's anomaly score *is* the reconstruction, this is the output the score depends on. For
beats scaled to [-1, 1] and :math:`T \gtrsim 1` the softmax is never peaked, and
:math:`T^2\,\mathrm{KL} \approx \tfrac12 \mathrm{Var}_t(\hat x_t - \hat x_s)`: a soft,
per-lead-mean-free MSE towards the teacher's reconstruction (Hinton et al.'s high-temperature
limit), with lower :math:`T` weighting the high-amplitude ticks (the QRS) more. The latent
code is not softened: a softmax over continuous code dimensions has no probabilistic
meaning. Discriminator logits are not used either: a single logit has no distribution over
classes to soften and describes the discriminator, not the generator that produces the score.

Two teachers:

- :class:`SelfDistillation` (``distill="self"`` or ``True``): FRSKD's self-teacher
  (:class:`~beatdetect.nn.self_teacher.SelfTeacher`), a BiFPN that refines the student
  encoder's multi-scale feature maps top-down and bottom-up and predicts a latent code
  :math:`z_t` from its coarsest refined map (with a convolution spanning the map, like
  BeatGAN's encoder head, rather than FRSKD's time-pooled linear head, which loses the timing
  of the waves), trained jointly. Its own loss (``st_rec``) is
  :math:`\lVert x - \mathrm{Dec}(z_t)\rVert^2` through the *shared* decoder: the teacher is
  then a second, multi-scale encoder of the same autoencoder, so its reconstruction
  :math:`\mathrm{Dec}(z_t)` is a target of the same kind as the student's :math:`\hat x`.
  Regressing :math:`z_t` onto the student's own latent (the other option) would
  make the teacher a copy of the student with nothing to teach. The teacher's loss reaches the
  self-teacher only: the feature maps it reads and the decoder's weights enter detached, so
  the student's objective is exactly :math:`L_G + L_{KD}` and zero KD weights give BeatGAN.
- :class:`TeacherDistillation` (``distill="teacher"``): a plain BeatGAN trained first by the
  same estimator with the same seed (optionally bigger, ``teacher_filters``, or trained longer,
  ``teacher_epochs``), frozen in eval mode; the student distils its reconstruction and its
  encoder's feature maps. With a smaller student this is a faster detector for deployment.

Contrastive learning (SimCLR, Chen et al. 2020)
-----------------------------------------------
:class:`ContrastiveTerm`: two random augmentations
(:class:`~beatdetect.nn.augment.ECGAugment`) of each real beat of the batch are a positive
pair, the other :math:`2(N-1)` views are negatives, and

.. math:: L_{con} = w_{con}\, \mathrm{NT\text{-}Xent}_\tau\big(g(h(v_1)), g(h(v_2))\big)

(:func:`~beatdetect.nn.losses.nt_xent`) with :math:`h` the last feature map of the
discriminator (``side="discriminator"``, term ``con_d``) or of the generator's encoder
(``side="generator"``, term ``con_g``) and :math:`g` an MLP
:class:`~beatdetect.nn.networks.ProjectionHead` trained with that side.

Side effects kept out
---------------------
Extra forward passes (augmented views, the self-teacher's decoding) run in training mode but
leave the BatchNorm running statistics of the generator and discriminator untouched
(:func:`call_keeping_stats`): those statistics are what the networks use when scoring, and
they should describe clean training beats. The terms draw their randomness from their own
seeded ``torch.Generator`` rather than the trainer's, so switching a term on does not change
the shuffling of the batches. Together with detached teachers, a term with weight 0 leaves
the student's training bit for bit identical to BeatGAN's.

Measurements
------------
What the terms did to AUC on MIT-BIH, at which budgets and over how many seeds, is on the
Self-improvement page of the documentation.

References
----------
.. [1] Ji, M., Shin, S., Hwang, S., Park, G., Moon, I.-C. (2021). "Refine myself by teaching
   myself: feature refinement via self-knowledge distillation". CVPR 2021.
.. [2] Hinton, G., Vinyals, O., Dean, J. (2015). "Distilling the knowledge in a neural
   network". arXiv:1503.02531.
.. [3] Zagoruyko, S., Komodakis, N. (2017). "Paying more attention to attention". ICLR 2017.
.. [4] Chen, T., Kornblith, S., Norouzi, M., Hinton, G. (2020). "A simple framework for
   contrastive learning of visual representations". ICML 2020.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..nn.augment import ECGAugment
from ..nn.losses import attention_transfer, distillation_kl, nt_xent
from ..nn.networks import BeatGANConfig, Generator, ProjectionHead
from ..nn.self_teacher import SelfTeacher
from .training import LossTerm, StepContext

__all__ = [
    "ContrastiveTerm",
    "SelfDistillation",
    "TeacherDistillation",
    "call_keeping_stats",
]

def call_keeping_stats(module: nn.Module, *args, detach_parameters: bool = False):
    """``module(*args)`` that leaves the module's BatchNorm running statistics untouched.

    The module runs in its current mode (batch statistics in training mode, gradients to its
    parameters as usual) on *copies* of its buffers, so the running statistics used for
    scoring are not updated by the extra pass. With ``detach_parameters`` the parameters
    enter detached: gradient reaches the inputs only.

    Examples
    --------
    >>> import torch
    >>> bn = torch.nn.BatchNorm1d(2).train()
    >>> _ = call_keeping_stats(bn, torch.randn(8, 2, 5))
    >>> bn.running_mean.tolist(), int(bn.num_batches_tracked)
    ([0.0, 0.0], 0)
    """
    state = {name: p.detach() if detach_parameters else p
             for name, p in module.named_parameters()}
    state.update({name: b.clone() for name, b in module.named_buffers()})
    return functional_call(module, state, args)


def _check_temperature(temperature: float) -> None:
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")


class _Distillation(LossTerm):
    """Shared KD + attention-transfer losses of the student against detached teacher outputs."""

    side = "generator"

    def __init__(self, *, w_kd: float, w_feat: float, temperature: float):
        super().__init__()
        _check_temperature(temperature)
        self.w_kd, self.w_feat = float(w_kd), float(w_feat)
        self.temperature = float(temperature)

    def distillation_losses(
        self, ctx: StepContext, x_t: torch.Tensor, feats_t: list
    ) -> dict[str, torch.Tensor]:
        """``kd`` and ``feat`` of the student (``ctx``) against teacher outputs (detached)."""
        # Rows are (beat, lead); the softmax runs over the ticks of each lead: (B, C, L).
        return {
            "kd": self.w_kd * distillation_kl(ctx.x_hat, x_t.detach(), self.temperature),
            "feat": self.w_feat * attention_transfer(
                ctx.features, [f.detach() for f in feats_t]),
        }


class SelfDistillation(_Distillation):
    """FRSKD self-knowledge distillation with a jointly trained BiFPN self-teacher.

    Generator-side term with three losses: ``st_rec`` (the self-teacher's own loss,
    :math:`\\lVert x - \\mathrm{Dec}(z_t)\\rVert^2`, reaching the self-teacher only), ``kd``
    and ``feat`` (the student's distillation losses, reaching the generator only).

    Parameters
    ----------
    cfg : BeatGANConfig
        Sizes of the student generator.
    w_kd, w_feat : float
        Weights of the output and feature distillation.
    temperature : float
        Softening temperature :math:`T`.
    width : int
        Channels of the self-teacher's refined maps.

    Attributes
    ----------
    teacher : SelfTeacher
        The BiFPN refinement of the student encoder's feature maps. Its pooled linear head
        is replaced by ``head`` (and set to ``nn.Identity``).
    head : nn.Conv1d
        The self-teacher's code from its coarsest refined map, ``(B, width, bottom_length)
        -> (B, latent_dim)``: a convolution spanning the whole map, like BeatGAN's encoder
        head. FRSKD's head averages the map over time first, which loses where the waves
        of the beat sit; the decoded beat then needs timing the code no longer has, and a
        teacher worse than its student has nothing to teach (measured in the
        self-improvement docs).
    """

    def __init__(self, cfg: BeatGANConfig, *, w_kd: float = 1.0, w_feat: float = 0.1,
                 temperature: float = 4.0, width: int = 64):
        super().__init__(w_kd=w_kd, w_feat=w_feat, temperature=temperature)
        self.teacher = SelfTeacher(cfg.feature_channels, width=width, out_dim=cfg.latent_dim)
        self.teacher.head = nn.Identity()  # unused: replaced by the position-aware head
        self.head = nn.Conv1d(width, cfg.latent_dim, cfg.bottom_length, bias=False)

    def generator_loss(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        # The self-teacher reads detached maps and decodes through a detached decoder: its
        # loss trains it alone, and the student's objective stays L_G + L_KD.
        refined, _ = self.teacher([f.detach() for f in ctx.features])  # [(B, W, L_i)]
        z_t = self.head(refined[-1]).flatten(1)  # (B, W, bottom_length) -> (B, latent_dim)
        # (B, C, padded_length)
        x_t = call_keeping_stats(ctx.generator.decoder, z_t, detach_parameters=True)
        losses = {"st_rec": F.mse_loss(x_t.float(), ctx.x.float())}
        losses.update(self.distillation_losses(ctx, x_t, refined))
        return losses


class TeacherDistillation(_Distillation):
    """Distillation from a frozen, previously trained BeatGAN generator (two stages).

    Generator-side term with losses ``kd`` and ``feat``. The teacher stays in eval mode and
    never receives gradient (its parameters are frozen and it runs under ``no_grad``).

    Parameters
    ----------
    teacher : Generator
        Trained teacher with the student's ``n_layers`` (its feature maps pair with the
        student's level by level; channel counts may differ).
    w_kd, w_feat, temperature
        As in :class:`SelfDistillation`.
    """

    def __init__(self, teacher: Generator, *, w_kd: float = 1.0, w_feat: float = 0.1,
                 temperature: float = 4.0):
        super().__init__(w_kd=w_kd, w_feat=w_feat, temperature=temperature)
        self.teacher = teacher.eval().requires_grad_(False)

    def train(self, mode: bool = True) -> TeacherDistillation:
        """The teacher is frozen: it stays in eval mode whatever the trainer asks."""
        super().train(mode)
        self.teacher.eval()
        return self

    def generator_loss(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            x_t, _, feats_t = self.teacher(ctx.x)
        return self.distillation_losses(ctx, x_t, feats_t)


class ContrastiveTerm(LossTerm):
    """SimCLR's NT-Xent on two augmented views of the real beats, on one network's features.

    Parameters
    ----------
    cfg : BeatGANConfig
        Network sizes (the projection head reads ``cfg.top_filters`` channels).
    side : {"discriminator", "generator"}
        Whose last feature map is the representation :math:`h`: the discriminator's (loss
        ``con_d``, added to the discriminator's loss) or the generator encoder's (``con_g``,
        added to the generator's). The projection head trains with that side.
    weight : float
        :math:`w_{con}`.
    temperature : float
        :math:`\\tau` of NT-Xent.
    augment : ECGAugment or None
        Draws the two views; None is ``ECGAugment()``. Its fields are used as they are:
        its ``validate()`` checks them (the detector's ``fit`` calls it).
    rng : torch.Generator, optional
        The term's own seeded random stream for the augmentations (never the trainer's:
        see :class:`~beatdetect.gan.training.LossTerm`). None seeds one with 0.
    hidden_dim, out_dim : int
        Sizes of the projection head (SimCLR's MLP).
    """

    def __init__(self, cfg: BeatGANConfig, *, side: str = "discriminator", weight: float = 1.0,
                 temperature: float = 0.5, augment: ECGAugment | None = None,
                 rng: torch.Generator | None = None, hidden_dim: int = 128,
                 out_dim: int = 64):
        super().__init__()
        if side not in ("discriminator", "generator"):
            raise ValueError(f"side must be 'discriminator' or 'generator', got {side!r}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.side = side
        self.weight, self.temperature = float(weight), float(temperature)
        self.augment = augment if augment is not None else ECGAugment()
        self.rng = rng if rng is not None else torch.Generator().manual_seed(0)
        self.head = ProjectionHead(cfg.top_filters, hidden_dim, out_dim)

    def views(self, x: torch.Tensor) -> torch.Tensor:
        """Two augmentations of each beat, stacked: (2B, C, L), rows i and B + i a pair."""
        return torch.cat([self.augment(x, self.rng), self.augment(x, self.rng)])

    def contrastive_loss(self, network: nn.Module, x: torch.Tensor) -> torch.Tensor:
        views = self.views(x)
        if self.side == "discriminator":
            _, h = call_keeping_stats(network, views)  # (2B, top_filters, bottom_length)
        else:
            _, feats = call_keeping_stats(network.encoder, views)
            h = feats[-1]  # (2B, top_filters, bottom_length)
        z1, z2 = self.head(h).chunk(2)  # (B, out_dim) each
        return self.weight * nt_xent(z1, z2, self.temperature)

    def discriminator_loss(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        if self.side != "discriminator":
            return {}
        return {"con_d": self.contrastive_loss(ctx.discriminator, ctx.x)}

    def generator_loss(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        if self.side != "generator":
            return {}
        return {"con_g": self.contrastive_loss(ctx.generator, ctx.x)}

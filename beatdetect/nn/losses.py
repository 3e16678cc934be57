"""Loss functions for BeatGAN and its self-improving extensions.

Pure functions of tensors, no state. Every loss is computed in float32 (inputs are cast with
``.float()``), so the same code is numerically safe under ``torch.autocast`` with bfloat16 and
on any device; none of them leaves the device (no ``.numpy()``, no ``.item()``).

- :func:`reconstruction_error` -- BeatGAN's anomaly score, per-beat mean squared error.
- :func:`nt_xent` -- SimCLR's contrastive loss between two augmented views.
- :func:`distillation_kl` -- softened Kullback-Leibler distillation of outputs.
- :func:`attention_transfer` -- attention-map distillation of intermediate feature maps.

References
----------
.. [1] Zhou, B., Liu, S., Hooi, B., Cheng, X., Ye, J. (2019). "BeatGAN: Anomalous rhythm
   detection using adversarially generated time series". IJCAI 2019, 4433-4439.
.. [2] Chen, T., Kornblith, S., Norouzi, M., Hinton, G. (2020). "A simple framework for
   contrastive learning of visual representations". ICML 2020.
.. [3] Hinton, G., Vinyals, O., Dean, J. (2015). "Distilling the knowledge in a neural
   network". arXiv:1503.02531.
.. [4] Zagoruyko, S., Komodakis, N. (2017). "Paying more attention to attention: improving
   the performance of convolutional neural networks via attention transfer". ICLR 2017.
.. [5] Ji, M., Shin, S., Hwang, S., Park, G., Moon, I.-C. (2021). "Refine myself by teaching
   myself: feature refinement via self-knowledge distillation". CVPR 2021.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "attention_map",
    "attention_transfer",
    "distillation_kl",
    "nt_xent",
    "reconstruction_error",
]


def _float32(device: torch.device) -> contextlib.AbstractContextManager:
    """Disable autocast on ``device``: casting inputs with ``.float()`` is not enough, since
    autocast would still run matmuls in bfloat16/float16 (e.g. NT-Xent's similarities)."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def reconstruction_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    r"""Per-beat mean squared reconstruction error, BeatGAN's anomaly score [1]_.

    .. math:: e_b = \frac{1}{C L} \sum_{c=1}^{C} \sum_{t=1}^{L} (x_{bct} - \hat x_{bct})^2

    The library's one definition of the error: scoring and the trainer's validation loss
    compute it with this function, through
    :func:`beatdetect.gan.inference.reconstruction_errors`.

    Parameters
    ----------
    x, x_hat : torch.Tensor of shape (B, C, L)
        Beats and their reconstructions (any shape whose first axis is the batch works).

    Returns
    -------
    torch.Tensor of shape (B,)
        Float32 error of each beat; higher means more anomalous.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(2, 1, 4)
    >>> x_hat = torch.tensor([[[0.0, 0.0, 0.0, 0.0]], [[1.0, 1.0, -1.0, 1.0]]])
    >>> reconstruction_error(x, x_hat)
    tensor([0., 1.])
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"shapes differ: x {tuple(x.shape)} vs x_hat {tuple(x_hat.shape)}")
    with _float32(x.device):
        diff = x.float() - x_hat.float()
        return diff.pow(2).reshape(diff.shape[0], -1).mean(dim=1)  # (B, C*L) -> (B,)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    r"""SimCLR's normalized temperature-scaled cross-entropy (NT-Xent) loss [2]_.

    The two views are stacked into :math:`2N` projections :math:`z_k`; the positive of view
    :math:`i` of beat :math:`b` is the other view of the same beat, and the remaining
    :math:`2(N-1)` projections of the batch are its negatives. With cosine similarity
    :math:`s_{kj} = z_k^\top z_j / (\lVert z_k\rVert \lVert z_j\rVert)` and temperature
    :math:`\tau`,

    .. math::

        \ell_k = -\log \frac{\exp(s_{k,\pi(k)} / \tau)}
                             {\sum_{j \ne k} \exp(s_{kj} / \tau)}, \qquad
        \mathcal{L} = \frac{1}{2N} \sum_{k=1}^{2N} \ell_k,

    where :math:`\pi(k)` is the index of the positive of :math:`k`.

    Parameters
    ----------
    z1, z2 : torch.Tensor of shape (N, D)
        Projections of the first and second augmented view; row ``i`` of both comes from
        the same beat.
    temperature : float, default=0.5
        :math:`\tau > 0`; SimCLR uses 0.5 for its default batch sizes.

    Returns
    -------
    torch.Tensor
        Float32 scalar. It is invariant to rescaling the rows of ``z1`` and ``z2``, and
        ``log(2N - 1)`` when all projections are identical (nothing to tell apart).

    Examples
    --------
    Two beats whose views coincide and are orthogonal to the other beat: each anchor sees
    its positive at similarity 1 and two negatives at 0, so the loss is
    :math:`\log(1 + 2 e^{-1})` at :math:`\tau = 1`.

    >>> import math, torch
    >>> z = torch.eye(2)
    >>> loss = nt_xent(z, z, temperature=1.0)
    >>> round(loss.item(), 4), round(math.log(1 + 2 / math.e), 4)
    (0.5514, 0.5514)
    """
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(
            f"expected two (N, D) tensors of equal shape, got {tuple(z1.shape)} "
            f"and {tuple(z2.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    n = z1.shape[0]
    with _float32(z1.device):
        z = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2N, D), unit rows
        sim = z @ z.T / temperature  # (2N, 2N) cosine similarities
        # An anchor is never its own negative: remove the diagonal from the softmax.
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        sim = sim.masked_fill(self_mask, float("-inf"))
        # Row k < N has its positive at k + N, row k >= N at k - N.
        positives = torch.arange(2 * n, device=z.device).roll(n)
        return F.cross_entropy(sim, positives)


def distillation_kl(
    student: torch.Tensor, teacher: torch.Tensor, temperature: float = 4.0
) -> torch.Tensor:
    r"""Softened knowledge-distillation loss :math:`T^2\,\mathrm{KL}(p_t \,\|\, p_s)` [3]_.

    With :math:`p = \mathrm{softmax}(o / T)` over the last axis,

    .. math::

        \mathcal{L} = \frac{T^2}{B} \sum_{b=1}^{B} \sum_{k=1}^{K}
            p_{t,bk} \left(\log p_{t,bk} - \log p_{s,bk}\right).

    The direction is the usual one for distillation: the teacher's distribution is the
    target and the expectation is taken under it (``F.kl_div(log p_s, p_t)``), so the
    student is pushed to put mass wherever the teacher does. The factor :math:`T^2`
    keeps gradient magnitudes comparable across temperatures (Hinton et al.); FRSKD [5]_
    uses the same loss with :math:`T = 4` between classifier and self-teacher outputs.

    Parameters
    ----------
    student : torch.Tensor of shape (B, K)
        Student logits; gradients flow into them.
    teacher : torch.Tensor of shape (B, K)
        Teacher logits; detached here, so the teacher never receives gradient from
        this loss (FRSKD trains its self-teacher by its own objective).
    temperature : float, default=4.0
        Softening temperature :math:`T > 0`.

    Returns
    -------
    torch.Tensor
        Float32 scalar, zero exactly when the two softened distributions agree. Inputs with
        more than two axes are treated as rows of their last axis and averaged over all rows
        (``batchmean`` for 2-D inputs).

    Examples
    --------
    Teacher (3/4, 1/4) against a uniform student at :math:`T = 1`:
    :math:`\tfrac34\log\tfrac32 + \tfrac14\log\tfrac12 \approx 0.1308`.

    >>> import math, torch
    >>> student = torch.zeros(1, 2)
    >>> teacher = torch.tensor([[math.log(3.0), 0.0]])
    >>> round(distillation_kl(student, teacher, temperature=1.0).item(), 4)
    0.1308
    """
    if student.shape != teacher.shape:
        raise ValueError(
            f"shapes differ: student {tuple(student.shape)} vs teacher {tuple(teacher.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    k = student.shape[-1]
    with _float32(student.device):
        log_p_s = F.log_softmax(student.float().reshape(-1, k) / temperature, dim=-1)  # (rows, K)
        log_p_t = F.log_softmax(teacher.detach().float().reshape(-1, k) / temperature, dim=-1)
        # log_target=True avoids log(softmax) underflowing to -inf for confident teachers.
        kl = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
        return kl * temperature**2


def attention_map(feat: torch.Tensor, p: float = 2.0, length: int | None = None) -> torch.Tensor:
    r"""Spatial attention of a 1-D feature map, normalised mean over channels of :math:`|f|^p`.

    .. math:: a_b = \frac{m_b}{\lVert m_b \rVert_2}, \quad
              m_{bt} = \frac{1}{C} \sum_{c=1}^{C} |f_{bct}|^p

    Zagoruyko and Komodakis's activation-based attention [4]_ for sequences: the mean over
    channels of :math:`|f_{bct}|^p`, optionally linearly resampled to ``length``, then
    L2-normalised over time for every sample.

    Parameters
    ----------
    feat : torch.Tensor of shape (B, C, L)
        Feature map.
    p : float, default=2.0
        Exponent; larger values emphasise the most active positions.
    length : int, optional
        Resample the map to this length (linear, ``align_corners=False``) before
        normalising; by default keep ``L``.

    Returns
    -------
    torch.Tensor of shape (B, length or L)
        Float32, unit L2 norm per row (all-zero rows stay zero).

    Examples
    --------
    >>> import torch
    >>> feat = torch.tensor([[[3.0, 0.0], [-3.0, 4.0]]])  # (1, 2, 2)
    >>> attention_map(feat, p=1)  # channel means of |f|: (3, 2) -> (3, 2) / sqrt(13)
    tensor([[0.8321, 0.5547]])
    """
    if feat.ndim != 3:
        raise ValueError(f"expected a (B, C, L) feature map, got shape {tuple(feat.shape)}")
    with _float32(feat.device):
        att = feat.float().abs().pow(p).mean(dim=1, keepdim=True)  # (B, 1, L)
        if length is not None and length != att.shape[-1]:
            att = F.interpolate(att, size=length, mode="linear", align_corners=False)
        return F.normalize(att.flatten(1), dim=1)  # (B, 1, L) -> (B, L), unit rows


def attention_transfer(
    student_feats: Sequence[torch.Tensor] | torch.Tensor,
    teacher_feats: Sequence[torch.Tensor] | torch.Tensor,
    p: float = 2.0,
) -> torch.Tensor:
    r"""Attention-transfer loss between paired 1-D feature maps [4]_, as in FRSKD [5]_.

    For every pair :math:`i` of student and teacher maps, with attention maps
    :math:`a = \mathrm{normalize}(\mathrm{mean}_c |f|^p)` from :func:`attention_map`
    (the teacher's resampled to the student's length :math:`L_i` when they differ),

    .. math::

        \mathcal{L} = \frac{1}{P} \sum_{i=1}^{P} \frac{1}{B} \sum_{b=1}^{B}
            \left\lVert a^{(i)}_{s,b} - a^{(i)}_{t,b} \right\rVert_2^2 .

    Each term lies in :math:`[0, 2]` for non-negative (e.g. post-ReLU) features whatever
    the length, so levels of very different resolution weigh alike. The reference code of
    Zagoruyko and of FRSKD instead *sums* over pairs the *mean* over batch and positions,
    i.e. :math:`\sum_i \mathcal{L}_i / L_i`; rescale their :math:`\beta` accordingly when
    porting hyper-parameters.

    Parameters
    ----------
    student_feats : sequence of torch.Tensor of shape (B, C_i, L_i), or one such tensor
        Student feature maps; gradients flow into them.
    teacher_feats : sequence of torch.Tensor of shape (B, C'_i, L'_i), or one such tensor
        Teacher feature maps, paired with the student's by position; detached here.
        Channel counts may differ from the student's (attention averages them out).
    p : float, default=2.0
        Exponent of the attention map (2 in the paper and in FRSKD).

    Returns
    -------
    torch.Tensor
        Float32 scalar.

    Examples
    --------
    Student attention (1, 0) against teacher (0, 1): squared distance 2.

    >>> import torch
    >>> student = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # (B=1, C=2, L=2)
    >>> teacher = torch.tensor([[[0.0, 2.0]]])  # (B=1, C=1, L=2)
    >>> attention_transfer([student], [teacher])
    tensor(2.)
    """
    if isinstance(student_feats, torch.Tensor):
        student_feats = [student_feats]
    if isinstance(teacher_feats, torch.Tensor):
        teacher_feats = [teacher_feats]
    if len(student_feats) != len(teacher_feats) or not student_feats:
        raise ValueError(
            f"need as many student as teacher maps (at least one), got "
            f"{len(student_feats)} and {len(teacher_feats)}"
        )
    terms = []
    for f_s, f_t in zip(student_feats, teacher_feats):
        if f_s.shape[0] != f_t.shape[0]:
            raise ValueError(f"batch sizes differ: {f_s.shape[0]} vs {f_t.shape[0]}")
        a_s = attention_map(f_s, p)  # (B, L_i)
        a_t = attention_map(f_t.detach(), p, length=a_s.shape[-1])  # (B, L_i)
        terms.append((a_s - a_t).pow(2).sum(dim=1).mean())
    return torch.stack(terms).mean()

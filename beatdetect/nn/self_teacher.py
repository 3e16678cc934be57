"""FRSKD's self-teacher for 1-D convolutional encoders (Ji et al., CVPR 2021).

Feature Refinement via Self-Knowledge Distillation (FRSKD) attaches an auxiliary
"self-teacher" to a network. It reads the network's multi-scale feature maps, refines them
with a BiFPN-like top-down and bottom-up pass, and predicts from the refined maps. The
network (the student) is then distilled towards the self-teacher: its feature maps towards
the refined maps with attention transfer
(:func:`beatdetect.nn.losses.attention_transfer`) and its outputs towards the teacher's
outputs with softened KL (:func:`beatdetect.nn.losses.distillation_kl`). Here the
"classifier" is BeatGAN's encoder, whose feature maps for a 320-sample beat have
[32, 64, 128, 256, 512] channels and lengths [160, 80, 40, 20, 10], and whose output is the
latent code (50 values in BeatGAN).

Differences from the reference implementation (``MingiJi/FRSKD``, ``models/bifpnc.py``), all
for simplicity: one width for every level instead of per-level multiples of the input
channels; plain sums instead of BiFPN's learned "fast normalised fusion" weights (the
following BatchNorm rescales the sum anyway); nearest upsampling and adaptive max pooling to
the neighbour's exact length, so any lengths work (FRSKD assumes exact factors of 2); plain
3-tap conv/BN/ReLU blocks instead of depthwise-separable ones.

References
----------
.. [1] Ji, M., Shin, S., Hwang, S., Park, G., Moon, I.-C. (2021). "Refine myself by teaching
   myself: feature refinement via self-knowledge distillation". CVPR 2021, 10664-10673.
.. [2] Tan, M., Pang, R., Le, Q. V. (2020). "EfficientDet: scalable and efficient object
   detection". CVPR 2020 (BiFPN).
.. [3] Lin, T.-Y., et al. (2017). "Feature pyramid networks for object detection". CVPR 2017.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["SelfTeacher"]


def _conv_bn_relu(width: int) -> nn.Sequential:
    """3-tap convolution keeping the length, then BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv1d(width, width, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm1d(width),
        nn.ReLU(inplace=True),
    )


class SelfTeacher(nn.Module):
    r"""BiFPN-like self-teacher refining multi-scale 1-D feature maps (FRSKD [1]_).

    With input maps :math:`F_0, \dots, F_{n-1}` from high to low resolution:

    1. lateral 1x1 convolutions (with BatchNorm) bring every map to ``width`` channels:
       :math:`L_i`;
    2. top-down, from the coarsest map: :math:`P_{n-1} = L_{n-1}` and
       :math:`P_i = \mathrm{CBR}(L_i + \mathrm{up}(P_{i+1}))`;
    3. bottom-up, from the finest map: :math:`T_0 = P_0` and
       :math:`T_i = \mathrm{CBR}(L_i + P_i + \mathrm{down}(T_{i-1}))` for middle levels,
       :math:`T_{n-1} = \mathrm{CBR}(L_{n-1} + \mathrm{down}(T_{n-2}))` at the top (where
       :math:`P_{n-1} = L_{n-1}` already), as in BiFPN;
    4. the output is a linear head on the length-averaged :math:`T_{n-1}`.

    CBR is conv(3)/BatchNorm/ReLU, ``up`` is nearest upsampling and ``down`` adaptive max
    pooling, each to the exact length of the target level, so the levels may have any
    lengths (including 1). With a single level the refined map is the lateral projection.

    Parameters
    ----------
    channels : sequence of int
        Channels of the input feature maps, from high to low resolution.
    width : int, default=64
        Channels of every refined map.
    out_dim : int, default=50
        Size of the output (BeatGAN's latent size by default), matching the student
        output it is distilled into.

    Attributes
    ----------
    lateral : nn.ModuleList
        One 1x1 conv + BatchNorm per level.
    top_down : nn.ModuleList
        ``len(channels) - 1`` conv/BN/ReLU blocks, finest level first.
    bottom_up : nn.ModuleList
        ``len(channels) - 1`` conv/BN/ReLU blocks, for levels 1 to n-1.
    head : nn.Linear
        ``width -> out_dim``.

    Notes
    -----
    BatchNorm in training mode needs more than one value per channel, i.e.
    ``B * L_i >= 2`` at every level (B >= 2 when the coarsest map has length 1).

    Examples
    --------
    >>> import torch
    >>> teacher = SelfTeacher([32, 64, 128, 256, 512], width=64, out_dim=50)
    >>> feats = [torch.randn(8, c, n) for c, n in
    ...          zip([32, 64, 128, 256, 512], [160, 80, 40, 20, 10])]
    >>> refined, out = teacher(feats)
    >>> [tuple(r.shape) for r in refined], tuple(out.shape)
    ([(8, 64, 160), (8, 64, 80), (8, 64, 40), (8, 64, 20), (8, 64, 10)], (8, 50))
    """

    def __init__(self, channels: Sequence[int], width: int = 64, out_dim: int = 50):
        super().__init__()
        channels = list(channels)
        if not channels:
            raise ValueError("channels must list at least one feature map")
        self.channels = channels
        self.width = width
        self.out_dim = out_dim
        self.lateral = nn.ModuleList(
            nn.Sequential(nn.Conv1d(c, width, kernel_size=1, bias=False), nn.BatchNorm1d(width))
            for c in channels
        )
        self.top_down = nn.ModuleList(_conv_bn_relu(width) for _ in channels[1:])
        self.bottom_up = nn.ModuleList(_conv_bn_relu(width) for _ in channels[1:])
        self.head = nn.Linear(width, out_dim)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Refine feature maps ``[(B, C_i, L_i)]`` (high to low resolution).

        Returns
        -------
        refined : list of torch.Tensor of shape (B, width, L_i)
            Refined maps, one per input level, same order and lengths.
        output : torch.Tensor of shape (B, out_dim)
            Prediction from the coarsest refined map.
        """
        if len(feats) != len(self.lateral):
            raise ValueError(f"expected {len(self.lateral)} feature maps, got {len(feats)}")
        n = len(feats)
        lat = [conv(f) for conv, f in zip(self.lateral, feats)]  # [(B, width, L_i)]

        # Top-down: coarse context flows to the fine levels.
        td = [lat[-1]]  # td[0] is always the finest level computed so far
        for i in range(n - 2, -1, -1):
            up = F.interpolate(td[0], size=lat[i].shape[-1], mode="nearest")
            td.insert(0, self.top_down[i](lat[i] + up))

        # Bottom-up: fine detail flows back to the coarse levels. Middle levels sum three
        # inputs (lateral skip edge, top-down, downsampled) as in BiFPN; at the top the
        # top-down map is the lateral itself, so it is added once.
        refined = [td[0]]
        for i in range(1, n):
            down = F.adaptive_max_pool1d(refined[-1], lat[i].shape[-1])
            skip = lat[i] + td[i] if i < n - 1 else lat[i]
            refined.append(self.bottom_up[i - 1](skip + down))

        pooled = refined[-1].mean(dim=-1)  # (B, width, L_{n-1}) -> (B, width)
        return refined, self.head(pooled)

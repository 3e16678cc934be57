"""BeatGAN's networks (Zhou et al., IJCAI 2019) for 1-D beats of any length.

The published model reads 320-sample beats: five stride-2 convolutions (32 -> 512 filters)
take 320 ticks down to 10, a final convolution with kernel 10 maps them to the latent code,
and the decoder mirrors this with transposed convolutions ending in ``tanh``. Here the
bottom length is derived from the input length (``padded_length / 2**n_layers``), so 320
samples give exactly the published network, and any other length is padded on the right
(edge values) to the next multiple of ``2**n_layers`` by :func:`pad_beats`.

The decoder's transposed convolutions are computed as exact regular convolutions
(:class:`Upsample2`, :class:`ConvTranspose1d`) because PyTorch runs 1-D transposed
convolutions outside oneDNN, several times slower on CPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BeatGANConfig",
    "ConvTranspose1d",
    "Decoder",
    "Discriminator",
    "Encoder",
    "Generator",
    "ProjectionHead",
    "Upsample2",
    "init_weights",
    "pad_beats",
]


@dataclass(frozen=True)
class BeatGANConfig:
    """Sizes of BeatGAN's networks; defaults are the published ones.

    Parameters
    ----------
    n_leads : int
        Input channels (ECG leads).
    length : int
        Beat length in samples before padding.
    base_filters : int
        Filters of the first convolution; each stride-2 layer doubles them (32 -> 512).
    n_layers : int
        Number of stride-2 layers (the estimators' ``n_layers``).
    latent_dim : int
        Size of the generator's latent code.
    """

    n_leads: int = 1
    length: int = 320
    base_filters: int = 32
    n_layers: int = 5
    latent_dim: int = 50

    def __setstate__(self, state: dict) -> None:
        # Networks pickled before the field was renamed from ``n_down`` still unpickle.
        state = dict(state)
        if "n_down" in state:
            state["n_layers"] = state.pop("n_down")
        self.__dict__.update(state)

    @property
    def padded_length(self) -> int:
        step = 2**self.n_layers
        return max(step, math.ceil(self.length / step) * step)

    @property
    def bottom_length(self) -> int:
        return self.padded_length // 2**self.n_layers

    @property
    def top_filters(self) -> int:
        return self.base_filters * 2 ** (self.n_layers - 1)

    @property
    def feature_channels(self) -> list[int]:
        """Channels of the encoder's feature maps, high to low resolution."""
        return [self.base_filters * 2**i for i in range(self.n_layers)]


def pad_beats(x: torch.Tensor, length: int) -> torch.Tensor:
    """Right-pad (B, C, L) beats to ``length`` by repeating the last sample."""
    missing = length - x.shape[-1]
    if missing <= 0:
        return x
    return F.pad(x, (0, missing), mode="replicate")


def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """BeatGAN's initialisation (DCGAN): conv N(0, 0.02), batch-norm N(1, 0.02), bias 0.

    Parameters
    ----------
    module : nn.Module
        Initialised in place when it is a convolution, linear or batch-norm layer.
        :class:`Generator` and :class:`Discriminator` apply it to themselves when built;
        ``net.apply(functools.partial(init_weights, generator=rng))`` re-initialises a
        whole network (the trainer's discriminator reset).
    generator : torch.Generator, optional
        Source of the random weights. None draws from torch's global RNG; a seeded
        generator keeps a re-initialisation during training (the discriminator reset)
        reproducible and leaves the caller's global RNG untouched.
    """

    def normal_(weight: torch.Tensor, mean: float) -> None:
        if generator is None:
            nn.init.normal_(weight, mean, 0.02)
            return
        # Drawn on the generator's device (a CPU generator cannot fill a GPU tensor).
        with torch.no_grad():
            weight.copy_(torch.empty(weight.shape, dtype=weight.dtype, device=generator.device)
                         .normal_(mean, 0.02, generator=generator))

    if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear, Upsample2)):
        normal_(module.weight, 0.0)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d):
        normal_(module.weight, 1.0)
        nn.init.zeros_(module.bias)


class ConvTranspose1d(nn.ConvTranspose1d):
    """``nn.ConvTranspose1d`` that maps a length-1 input (the latent code) as one matmul.

    PyTorch runs 1-D transposed convolutions outside oneDNN; from a length-1 input with
    stride 1 and no padding the layer is exactly ``z @ W`` with ``W`` the weight viewed as
    (in_channels, out_channels * kernel), which needs no copy. Other inputs fall back to
    ``nn.ConvTranspose1d.forward``.
    """

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        plain = (self.groups == 1 and self.dilation == (1,) and self.output_padding == (0,)
                 and self.stride == (1,) and self.padding == (0,) and output_size is None)
        if plain and x.shape[-1] == 1:
            c_out, k = self.out_channels, self.kernel_size[0]
            y = (x[..., 0] @ self.weight.reshape(self.in_channels, c_out * k)).view(-1, c_out, k)
            return y if self.bias is None else y + self.bias[:, None]
        return super().forward(x, output_size)


class Upsample2(nn.Module):
    """A transposed convolution with kernel 4, stride 2, padding 1, computed fast.

    This is BeatGAN's upsampling layer. Output tick ``2m`` of the transposed convolution is
    ``w3 x[m-1] + w1 x[m]`` and tick ``2m+1`` is ``w2 x[m] + w0 x[m+1]``: one kernel-2
    convolution over the input padded by one on each side, with ``2 * out_channels``
    outputs, gives the even phase at positions ``0..L-1`` and the odd phase at ``1..L``;
    interleaving them is the result. oneDNN runs this regular convolution several times
    faster than PyTorch's 1-D transposed convolution, with no wasted multiply.

    The weight is stored directly in the convolution's layout ``(2 * out, in, 2)``, a
    permutation of ``nn.ConvTranspose1d``'s ``(in, out, 4)``, so no rearrangement runs per
    call. :meth:`from_conv_transpose` converts a stock layer exactly.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(2 * out_channels, in_channels, 2))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        # Same default initialisation as the transposed convolution it replaces.
        bound = 1.0 / math.sqrt(out_channels * 4)
        nn.init.uniform_(self.weight, -bound, bound)

    @classmethod
    def from_conv_transpose(cls, layer: nn.ConvTranspose1d) -> Upsample2:
        """The exact equivalent of a stock (kernel 4, stride 2, padding 1) layer."""
        if (layer.kernel_size, layer.stride, layer.padding) != ((4,), (2,), (1,)):
            raise ValueError("only kernel 4, stride 2, padding 1 transposed convolutions")
        new = cls(layer.in_channels, layer.out_channels, bias=layer.bias is not None)
        w = layer.weight.detach().transpose(0, 1)  # (out, in, 4)
        with torch.no_grad():
            new.weight.copy_(torch.cat([w[..., [3, 1]], w[..., [2, 0]]], dim=0))
            if layer.bias is not None:
                new.bias.copy_(layer.bias)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv1d(x, self.weight, padding=1)  # (B, 2*C_out, L+1)
        c_out, length = self.out_channels, x.shape[-1]
        y = torch.stack([y[:, :c_out, :length], y[:, c_out:, 1:]], dim=-1)  # (B, C_out, L, 2)
        y = y.reshape(len(x), c_out, 2 * length)
        return y if self.bias is None else y + self.bias[:, None]


class Encoder(nn.Module):
    """Stride-2 conv stack to a vector of ``out_dim``; also returns every feature map."""

    def __init__(self, cfg: BeatGANConfig, out_dim: int):
        super().__init__()
        channels = cfg.feature_channels
        blocks = [
            nn.Sequential(nn.Conv1d(cfg.n_leads, channels[0], 4, 2, 1, bias=False),
                          nn.LeakyReLU(0.2, inplace=True))
        ]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(c_in, c_out, 4, 2, 1, bias=False),
                    nn.BatchNorm1d(c_out),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv1d(channels[-1], out_dim, cfg.bottom_length, 1, 0, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for block in self.blocks:
            x = block(x)  # (B, C_i, L / 2**(i+1))
            features.append(x)
        return self.head(x).flatten(1), features  # (B, out_dim), [feature maps]


class Decoder(nn.Module):
    """Mirror of :class:`Encoder`: latent (B, latent_dim) to beats (B, C, padded_length)."""

    def __init__(self, cfg: BeatGANConfig):
        super().__init__()
        channels = cfg.feature_channels[::-1]  # 512, 256, ..., 32
        layers: list[nn.Module] = [
            ConvTranspose1d(cfg.latent_dim, channels[0], cfg.bottom_length, 1, 0, bias=False),
            nn.BatchNorm1d(channels[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [
                Upsample2(c_in, c_out),
                nn.BatchNorm1d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers += [Upsample2(channels[-1], cfg.n_leads), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.unsqueeze(-1))  # (B, latent, 1) -> (B, C, padded_length)


class Generator(nn.Module):
    """BeatGAN's generator: an autoencoder ``x -> z -> x_hat``.

    ``forward`` returns ``(x_hat, z, features)`` so that distillation can read the
    encoder's multi-scale feature maps without a second pass. Built with BeatGAN's
    initialisation (:func:`init_weights`), drawn from torch's global RNG.
    """

    def __init__(self, cfg: BeatGANConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg, cfg.latent_dim)
        self.decoder = Decoder(cfg)
        # After building every layer, as callers did before: same seed, same weights.
        self.apply(init_weights)

    def forward(self, x: torch.Tensor):
        z, features = self.encoder(x)
        return self.decoder(z), z, features


class Discriminator(nn.Module):
    """BeatGAN's discriminator: the encoder with one output logit.

    ``forward`` returns ``(logit, features)`` where ``features`` is the last feature map
    (B, top_filters, bottom_length), used for the generator's feature-matching loss.
    Logits rather than sigmoid probabilities keep the BCE numerically safe under autocast.
    Built with BeatGAN's initialisation (:func:`init_weights`), drawn from torch's global RNG.
    """

    def __init__(self, cfg: BeatGANConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg, 1)
        # After building every layer, as callers did before: same seed, same weights.
        self.apply(init_weights)

    def forward(self, x: torch.Tensor):
        logit, features = self.encoder(x)
        return logit.squeeze(1), features[-1]


class ProjectionHead(nn.Module):
    """SimCLR's MLP projection ``g(h) = W2 relu(W1 h)`` over pooled conv features."""

    def __init__(self, in_dim: int, hidden_dim: int = 128, out_dim: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features.mean(dim=-1))  # (B, C, L) -> (B, C) -> (B, out_dim)

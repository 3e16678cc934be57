"""Networks, losses and augmentations (PyTorch). Nothing here knows about scikit-learn."""

from .networks import (
    BeatGANConfig,
    ConvTranspose1d,
    Decoder,
    Discriminator,
    Encoder,
    Generator,
    ProjectionHead,
    Upsample2,
    init_weights,
    pad_beats,
)

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

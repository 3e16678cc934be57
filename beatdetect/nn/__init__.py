"""Networks, losses and augmentations (PyTorch). Nothing here knows about scikit-learn."""

from .networks import (
    BeatGANConfig,
    Decoder,
    Discriminator,
    Encoder,
    Generator,
    ProjectionHead,
    init_weights,
    pad_beats,
)

__all__ = [
    "BeatGANConfig",
    "Decoder",
    "Discriminator",
    "Encoder",
    "Generator",
    "ProjectionHead",
    "init_weights",
    "pad_beats",
]

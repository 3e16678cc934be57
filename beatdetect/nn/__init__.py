"""Networks, losses and augmentations (PyTorch).

Only the augmentation objects of :mod:`beatdetect.nn.augment` know scikit-learn: they follow
its parameter protocol (``get_params`` / ``set_params``), so a grid search reaches their fields.
"""

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

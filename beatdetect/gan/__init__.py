"""SI-BeatGAN: BeatGAN and its self-improving loss terms as a scikit-learn outlier detector.

One package, one job per module:

- :mod:`~beatdetect.gan.estimator`: :class:`SIBeatGANDetector`, the scikit-learn facade;
- :mod:`~beatdetect.gan.options`: :class:`Distillation` and :class:`Contrastive`, the
  settings of the ``distill=`` and ``contrastive=`` parameters;
- :mod:`~beatdetect.gan.training`: the GAN training engine (no scikit-learn);
- :mod:`~beatdetect.gan.terms`: the self-distillation and contrastive loss terms;
- :mod:`~beatdetect.gan.inference`: chunked, no-grad reconstruction and scoring;
- :mod:`~beatdetect.gan.persistence`: safetensors model files.
"""

from .estimator import SIBeatGANDetector
from .options import Contrastive, Distillation

__all__ = ["Contrastive", "Distillation", "SIBeatGANDetector"]

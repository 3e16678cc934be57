"""SI-BeatGAN: BeatGAN and its self-improving loss terms as a scikit-learn outlier detector.

One package, one job per module:

- :mod:`~beatdetect.gan.estimator`: :class:`SIBeatGANDetector`, the scikit-learn facade;
- :mod:`~beatdetect.gan.options`: :class:`Distillation` and :class:`Contrastive`, the
  settings of the ``distill=`` and ``contrastive=`` parameters;
- :mod:`~beatdetect.gan.training`: the GAN training engine (no scikit-learn);
- :mod:`~beatdetect.gan.checkpoint`: per-epoch training checkpoints, to resume a fit;
- :mod:`~beatdetect.gan.terms`: the self-distillation and contrastive loss terms;
- :mod:`~beatdetect.gan.inference`: chunked, no-grad reconstruction and scoring;
- :mod:`~beatdetect.gan.persistence`: safetensors model files.

Importing a submodule (``beatdetect.gan.inference`` to score, ``beatdetect.gan.options``)
does not import the others: the names below are imported on first use.
"""

__all__ = ["Contrastive", "Distillation", "SIBeatGANDetector"]


def __getattr__(name):
    if name == "SIBeatGANDetector":
        from .estimator import SIBeatGANDetector

        return SIBeatGANDetector
    if name in ("Contrastive", "Distillation"):
        from . import options

        return getattr(options, name)
    raise AttributeError(f"module 'beatdetect.gan' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])

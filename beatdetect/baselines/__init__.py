"""Baseline detectors, each a scikit-learn outlier detector on the shared beat base.

Every detector here subclasses :class:`beatdetect.base.BaseBeatDetector`: it accepts beats
as (n, L) or (n, C, L), its ``score_samples`` is higher for more normal beats, ``predict``
returns +1 / -1 and ``contamination`` sets the threshold, exactly like
:class:`~beatdetect.SIBeatGANDetector`. Score them all with :mod:`beatdetect.metrics`.

- :class:`KNNDetector`: distance to the nearest training beats (no training at all);
- :class:`PCADetector`: PCA reconstruction error (BeatGAN's "PCA" row);
- :class:`IsolationForestDetector`: scikit-learn's isolation forest on flattened beats;
- :class:`OneClassSVMDetector`: scikit-learn's one-class SVM, with a training subsample;
- :class:`AutoencoderDetector`: BeatGAN's generator without the adversarial term (skorch);
- :class:`PyODDetector`: any PyOD detector (optional dependency);
- :class:`BeatFlattener`: (n, C, L) -> (n, C*L) for scikit-learn pipelines;
- :data:`BASELINES` and :func:`make_detector`: detectors by name, alone or in context
  (``"knn+context"``), and the context-only references ``"template"`` (the recording's
  own median beat) and ``"rhythm"`` (RR prematurity).
"""

from .autoencoder import AutoencoderDetector, BeatAutoencoder
from .flatten import BeatFlattener, flatten_beats
from .iforest import IsolationForestDetector
from .knn import KNNDetector
from .ocsvm import OneClassSVMDetector
from .pca import PCADetector
from .pyod_adapter import PyODDetector
from .registry import BASELINES, detector_names, detector_params, make_detector

__all__ = [
    "BASELINES",
    "AutoencoderDetector",
    "BeatAutoencoder",
    "BeatFlattener",
    "IsolationForestDetector",
    "KNNDetector",
    "OneClassSVMDetector",
    "PCADetector",
    "PyODDetector",
    "detector_names",
    "detector_params",
    "flatten_beats",
    "make_detector",
]

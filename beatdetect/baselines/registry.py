"""Detectors by name, for the benchmark and the command line."""

from __future__ import annotations

from .autoencoder import AutoencoderDetector
from .iforest import IsolationForestDetector
from .ocsvm import OneClassSVMDetector
from .pca import PCADetector
from .pyod_adapter import PyODDetector

__all__ = ["BASELINES", "detector_names", "make_detector"]

#: Baseline detector classes by short name (the rows of BeatGAN's table we reproduce).
BASELINES = {
    "pca": PCADetector,
    "iforest": IsolationForestDetector,
    "ocsvm": OneClassSVMDetector,
    "ae": AutoencoderDetector,
    "pyod": PyODDetector,
}


def _sibeatgan():
    from ..detector import SIBeatGANDetector

    return SIBeatGANDetector


#: Detectors that live outside this package, imported only when asked for.
_LAZY = {"sibeatgan": _sibeatgan}


def detector_names() -> list[str]:
    """Every name :func:`make_detector` knows, sorted.

    Examples
    --------
    >>> detector_names()
    ['ae', 'iforest', 'ocsvm', 'pca', 'pyod', 'sibeatgan']
    """
    return sorted([*BASELINES, *_LAZY])


def make_detector(name: str, **params):
    """Build a detector from its short name and parameters.

    Parameters
    ----------
    name : str
        One of :func:`detector_names`: a key of :data:`BASELINES` or ``"sibeatgan"``
        (:class:`~beatdetect.SIBeatGANDetector`). Case-insensitive.
    **params
        Keyword parameters of the detector's constructor.

    Returns
    -------
    detector : BaseBeatDetector
        Unfitted.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> make_detector("pca", n_components=5)
    PCADetector(n_components=5)
    >>> make_detector("lstm")
    Traceback (most recent call last):
    ...
    ValueError: Unknown detector 'lstm'. Known detectors: ae, iforest, ocsvm, pca, pyod, sibeatgan.
    """
    key = name.lower() if isinstance(name, str) else name
    if key in BASELINES:
        return BASELINES[key](**params)
    if key in _LAZY:
        return _LAZY[key]()(**params)
    raise ValueError(
        f"Unknown detector {name!r}. Known detectors: {', '.join(detector_names())}."
    )

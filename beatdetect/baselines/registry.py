"""Detectors by name, for the benchmark and the command line."""

from __future__ import annotations

from .autoencoder import AutoencoderDetector
from .iforest import IsolationForestDetector
from .knn import KNNDetector
from .ocsvm import OneClassSVMDetector
from .pca import PCADetector
from .pyod_adapter import PyODDetector
from .template import RecordingTemplateDetector

__all__ = ["BASELINES", "detector_names", "detector_params", "make_detector"]

#: Baseline detector classes by short name: the rows of BeatGAN's table we reproduce, and
#: the label-free references any model must beat (nearest neighbours, recording template).
BASELINES = {
    "knn": KNNDetector,
    "template": RecordingTemplateDetector,
    "pca": PCADetector,
    "iforest": IsolationForestDetector,
    "ocsvm": OneClassSVMDetector,
    "ae": AutoencoderDetector,
    "pyod": PyODDetector,
}


def _sibeatgan():
    from ..detector import SIBeatGANDetector
    from ..persistence import params_from_data

    def build(**params):
        # Parameters from a command line or a results file are plain data.
        return SIBeatGANDetector(**params_from_data(params))

    return build


#: Detectors that live outside this package, imported only when asked for.
_LAZY = {"sibeatgan": _sibeatgan}


def detector_names() -> list[str]:
    """Every name :func:`make_detector` knows, sorted.

    Examples
    --------
    >>> detector_names()
    ['ae', 'iforest', 'knn', 'ocsvm', 'pca', 'pyod', 'sibeatgan', 'template']
    """
    return sorted([*BASELINES, *_LAZY])


def detector_params(name: str) -> set[str]:
    """Every parameter name :func:`make_detector` takes for detector ``name``.

    The constructor's parameters, and for ``"sibeatgan"`` also the fields of its object
    parameters (``augment__noise``, see :func:`beatdetect.persistence.params_from_data`).

    Examples
    --------
    >>> sorted(detector_params("pca"))
    ['contamination', 'n_components', 'random_state', 'svd_solver', 'whiten']
    >>> "augment__noise" in detector_params("sibeatgan")
    True
    """
    accepted = set(make_detector(name).get_params())
    if name.lower() == "sibeatgan":  # its builder reads params_from_data's forms
        from ..persistence import nested_param_names

        accepted |= nested_param_names()
    return accepted


def make_detector(name: str, **params):
    """Build a detector from its short name and parameters.

    Parameters
    ----------
    name : str
        One of :func:`detector_names`: a key of :data:`BASELINES` or ``"sibeatgan"``
        (:class:`~beatdetect.SIBeatGANDetector`). Case-insensitive.
    **params
        Keyword parameters of the detector's constructor. For ``"sibeatgan"`` the object
        parameters may be given as plain data (``time_warp=0.2``,
        ``augment={"ECGAugment": {"noise": 0.1}}``, ``augment__noise=0.1``, see
        :func:`beatdetect.persistence.params_from_data`).

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
    >>> make_detector("lstm")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Unknown detector 'lstm'. Known detectors: ae, iforest, knn, ..., template.
    """
    key = name.lower() if isinstance(name, str) else name
    if key in BASELINES:
        return BASELINES[key](**params)
    if key in _LAZY:
        return _LAZY[key]()(**params)
    raise ValueError(
        f"Unknown detector {name!r}. Known detectors: {', '.join(detector_names())}."
    )

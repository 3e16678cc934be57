"""Detectors by name, for the benchmark and the command line.

A name is a beat detector (``"knn"``, ``"sibeatgan"``...), the same detector in the context
of its recording and rhythm (``"knn+context"``: a
:class:`~beatdetect.context.ContextDetector` around it, whose detector parameters are
nested, ``detector__n_neighbors``), or a context-only reference: ``"template"`` (the
distance to the median beat of the beat's own recording) and ``"rhythm"`` (RR
prematurity).
"""

from __future__ import annotations

from .autoencoder import AutoencoderDetector
from .iforest import IsolationForestDetector
from .knn import KNNDetector
from .ocsvm import OneClassSVMDetector
from .pca import PCADetector
from .pyod_adapter import PyODDetector

__all__ = [
    "BASELINES",
    "CONTEXT_SUFFIX",
    "detector_names",
    "detector_params",
    "is_context_detector",
    "make_detector",
]

#: Baseline detector classes by short name: the rows of BeatGAN's table we reproduce, and
#: the label-free reference any model must beat (nearest neighbours on raw beats).
BASELINES = {
    "knn": KNNDetector,
    "pca": PCADetector,
    "iforest": IsolationForestDetector,
    "ocsvm": OneClassSVMDetector,
    "ae": AutoencoderDetector,
    "pyod": PyODDetector,
}
#: Suffix of a name that puts the detector in context.
CONTEXT_SUFFIX = "+context"
#: Detectors that score their own training beats leave-one-out: in context, their reference
#: comes from all training beats (``holdout=0``), so every beat stays a neighbour.
_LEAVE_ONE_OUT = {"knn"}


def _sibeatgan(**params):
    from ..gan import SIBeatGANDetector
    from ..gan.persistence import params_from_data

    # Parameters from a command line or a results file are plain data.
    return SIBeatGANDetector(**params_from_data(params))


def _template(**params):
    from ..context import ContextDetector

    return ContextDetector(None, recording_template=True, w_rhythm=0.0).set_params(**params)


def _rhythm(**params):
    from ..context import ContextDetector

    return ContextDetector(None, recording_template=False, w_rhythm=1.0).set_params(**params)


#: Detectors that live outside this package, imported only when asked for.
_LAZY = {"sibeatgan": _sibeatgan}
#: Context-only references: no beat detector, the context is the whole score.
_CONTEXT_ONLY = {"template": _template, "rhythm": _rhythm}


def detector_names() -> list[str]:
    """Every name :func:`make_detector` knows, sorted (each beat detector also takes the
    ``+context`` suffix).

    Examples
    --------
    >>> detector_names()
    ['ae', 'iforest', 'knn', 'ocsvm', 'pca', 'pyod', 'rhythm', 'sibeatgan', 'template']
    """
    return sorted([*BASELINES, *_LAZY, *_CONTEXT_ONLY])


def is_context_detector(name: str) -> bool:
    """Whether detector ``name`` takes ``groups`` and ``rr`` (a context name).

    Examples
    --------
    >>> is_context_detector("knn+context"), is_context_detector("template")
    (True, True)
    >>> is_context_detector("knn")
    False
    """
    key = name.lower()
    return key.endswith(CONTEXT_SUFFIX) or key in _CONTEXT_ONLY


def detector_params(name: str) -> set[str]:
    """Every parameter name :func:`make_detector` takes for detector ``name``.

    The constructor's parameters (nested ones included, as ``GridSearchCV`` names them),
    and for ``"sibeatgan"`` also the fields of its object parameters given as plain data
    (see :func:`beatdetect.gan.persistence.params_from_data`).

    Examples
    --------
    >>> sorted(detector_params("pca"))
    ['contamination', 'n_components', 'random_state', 'svd_solver', 'whiten']
    >>> "distill__w_kd" in detector_params("sibeatgan")
    True
    >>> "detector__n_neighbors" in detector_params("knn+context")
    True
    """
    accepted = set(make_detector(name).get_params())
    key = name.lower()
    base = key.removesuffix(CONTEXT_SUFFIX)
    if base == "sibeatgan":  # its builder reads params_from_data's forms
        from ..gan.persistence import nested_param_names

        nested = nested_param_names()
        accepted |= nested if base == key else {f"detector__{n}" for n in nested}
    return accepted


def make_detector(name: str, **params):
    """Build a detector from its short name and parameters.

    Parameters
    ----------
    name : str
        One of :func:`detector_names`, optionally with the suffix ``"+context"`` for a beat
        detector (``"sibeatgan+context"``). Case-insensitive.
    **params
        Keyword parameters of the detector's constructor; for a ``+context`` name, those of
        :class:`~beatdetect.context.ContextDetector` and the detector's as
        ``detector__<name>``. For ``"sibeatgan"`` the object parameters may be given as
        plain data (``time_warp=0.2``, ``distill={"Distillation": {"w_kd": 2}}``,
        ``distill__w_kd=2``, see :func:`beatdetect.gan.persistence.params_from_data`).

    Returns
    -------
    detector : estimator
        Unfitted.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.

    Examples
    --------
    >>> make_detector("pca", n_components=5)
    PCADetector(n_components=5)
    >>> make_detector("knn+context", detector__n_neighbors=3)
    ContextDetector(detector=KNNDetector(n_neighbors=3), holdout=0.0)
    >>> make_detector("lstm")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Unknown detector 'lstm'. Known detectors: ae, iforest, knn, ..., template.
    """
    key = name.lower() if isinstance(name, str) else name
    if isinstance(key, str) and key.endswith(CONTEXT_SUFFIX):
        from ..context import ContextDetector

        base = key.removesuffix(CONTEXT_SUFFIX)
        if base in _CONTEXT_ONLY or base not in {*BASELINES, *_LAZY}:
            raise ValueError(
                f"Unknown detector {name!r}: the {CONTEXT_SUFFIX} suffix takes a beat "
                f"detector ({', '.join(sorted({*BASELINES, *_LAZY}))})."
            )
        inner = {k.removeprefix("detector__"): v for k, v in params.items()
                 if k.startswith("detector__")}
        outer = {k: v for k, v in params.items() if not k.startswith("detector__")}
        holdout = 0.0 if base in _LEAVE_ONE_OUT else 0.1
        return ContextDetector(make_detector(base, **inner), holdout=holdout).set_params(
            **outer)
    if key in BASELINES:
        return BASELINES[key](**params)
    if key in _LAZY:
        return _LAZY[key](**params)
    if key in _CONTEXT_ONLY:
        return _CONTEXT_ONLY[key](**params)
    raise ValueError(
        f"Unknown detector {name!r}. Known detectors: {', '.join(detector_names())}."
    )

"""scikit-learn's common estimator checks on every detector of the registry and on the context
layer, with no expected failures.

The detectors are built at collection time (``parametrize_with_checks`` needs them then),
so the tiny network sizes are spelled out here rather than taken from a fixture.
"""

from __future__ import annotations

from importlib.util import find_spec

from sklearn.utils.estimator_checks import parametrize_with_checks

from beatdetect.baselines import BeatFlattener, detector_names, make_detector
from beatdetect.context import ContextDetector
from beatdetect.gan import Contrastive, Distillation
from beatdetect.nn.augment import ECGAugment, TimeWarp

#: Network sizes small enough for the ~50 checks to run in a second or so each.
NETWORK = dict(max_epochs=2, base_filters=4, n_layers=2, latent_dim=4, batch_size=32,
               device="cpu", random_state=0)
#: Per registry name, the parameters that keep its checks fast.
FAST = {
    "sibeatgan": dict(NETWORK, mixed_precision=False),
    "ae": NETWORK,
    "iforest": dict(n_estimators=10, random_state=0),
    "ocsvm": dict(max_train=100, random_state=0),
}
#: PyOD is an optional dependency; without it "pyod" cannot be built.
SKIPPED = set() if find_spec("pyod") else {"pyod"}


def registry_detectors():
    """Every registry name, alone and (for beat detectors) in context."""
    detectors = []
    for name in detector_names():
        if name in SKIPPED:
            continue
        params = FAST.get(name, {})
        detectors.append(make_detector(name, **params))
        if name not in {"template", "rhythm"}:
            nested = {f"detector__{k}": v for k, v in params.items()}
            detectors.append(make_detector(f"{name}+context", random_state=0, **nested))
    return detectors


def other_detectors():
    """The self-improving configuration with every object parameter, and the bare layer."""
    return [
        make_detector(
            "sibeatgan", **FAST["sibeatgan"], time_warp=TimeWarp(strength=0.1),
            distill=Distillation(w_kd=2.0),
            contrastive=Contrastive(on="both", augment=ECGAugment(noise=0.1)),
        ),
        ContextDetector(random_state=0),
        BeatFlattener(),
    ]


@parametrize_with_checks(registry_detectors() + other_detectors())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

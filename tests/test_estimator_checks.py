"""scikit-learn's common estimator checks on every beatdetect detector (small configs)."""

from __future__ import annotations

from importlib.util import find_spec

from sklearn.utils.estimator_checks import parametrize_with_checks

from beatdetect import SIBeatGANDetector
from beatdetect.baselines import (
    AutoencoderDetector,
    BeatFlattener,
    IsolationForestDetector,
    KNNDetector,
    OneClassSVMDetector,
    PCADetector,
    PyODDetector,
    RecordingTemplateDetector,
)
from beatdetect.nn.augment import ECGAugment, TimeWarp


def small_detectors():
    """Configurations small enough for the ~50 checks to run in seconds each."""
    return [
        SIBeatGANDetector(
            max_epochs=2, base_filters=4, n_layers=2, latent_dim=4, batch_size=32,
            mixed_precision=False, device="cpu", random_state=0,
        ),
        # The full self-improving model: self-teacher distillation, contrastive on D and G;
        # with augmentation objects, whose fields are nested parameters.
        SIBeatGANDetector(
            max_epochs=2, base_filters=4, n_layers=2, latent_dim=4, batch_size=32,
            mixed_precision=False, device="cpu", random_state=0, distill="self",
            contrastive=True, contrastive_on="both", augment=ECGAugment(noise=0.1),
            time_warp=TimeWarp(strength=0.1),
        ),
        # BeatGAN's own score (reconstruction error only) passes every check.
        SIBeatGANDetector(
            max_epochs=2, base_filters=4, n_layers=2, latent_dim=4, batch_size=32,
            mixed_precision=False, device="cpu", random_state=0, memory=None, w_reconstruction=1.0,
            w_rhythm=0.0, recording_template=False,
        ),
        KNNDetector(),
        KNNDetector(n_neighbors=3, w_rhythm=1.0, recording_template=True),
        RecordingTemplateDetector(),
        PCADetector(),
        IsolationForestDetector(n_estimators=10, random_state=0),
        OneClassSVMDetector(max_train=100, random_state=0),
        AutoencoderDetector(
            max_epochs=2, base_filters=4, n_layers=2, latent_dim=4, batch_size=32,
            device="cpu", random_state=0,
        ),
        *([PyODDetector()] if find_spec("pyod") else []),  # optional dependency: KNN
        BeatFlattener(),
    ]


@parametrize_with_checks(small_detectors())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

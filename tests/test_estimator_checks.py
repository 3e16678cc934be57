"""scikit-learn's common estimator checks on every beatdetect detector (small configs)."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from beatdetect import SIBeatGANDetector


def small_detectors():
    """Configurations small enough for the ~50 checks to run in seconds each."""
    return [
        SIBeatGANDetector(
            max_epochs=2, base_filters=4, n_layers=2, latent_dim=4, batch_size=32,
            mixed_precision=False, device="cpu", random_state=0,
        ),
    ]


@parametrize_with_checks(small_detectors())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

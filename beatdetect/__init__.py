"""beatdetect: unsupervised ECG heartbeat anomaly detection.

BeatGAN (Zhou et al., IJCAI 2019) and its self-improving extensions as scikit-learn
outlier detectors, with MIT-BIH loading through wfdb, baselines and a benchmark.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("beatdetect")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["SIBeatGANDetector", "__version__"]


def __getattr__(name):
    # Lazy so `import beatdetect.datasets` does not pay for importing torch.
    if name == "SIBeatGANDetector":
        from .gan import SIBeatGANDetector

        return SIBeatGANDetector
    raise AttributeError(f"module 'beatdetect' has no attribute {name!r}")

"""beatdetect: unsupervised ECG heartbeat anomaly detection.

BeatGAN (Zhou et al., IJCAI 2019) and its self-improving extensions as scikit-learn
outlier detectors, with MIT-BIH loading through wfdb, baselines and a benchmark.
"""

__all__ = ["SIBeatGANDetector", "__version__"]


def __getattr__(name):
    # Lazy so `import beatdetect.datasets` does not pay for importing torch, and no import
    # pays for reading the installed package's metadata (about 0.3 s) until asked.
    if name == "SIBeatGANDetector":
        from .gan.estimator import SIBeatGANDetector

        return SIBeatGANDetector
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("beatdetect")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    raise AttributeError(f"module 'beatdetect' has no attribute {name!r}")

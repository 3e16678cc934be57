"""Exceptions raised by beatdetect.

Each subclasses the closest built-in or scikit-learn exception, so code that already
catches ``ValueError`` or ``RuntimeError`` keeps working.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError

__all__ = [
    "DataError",
    "DataNotFoundError",
    "ModelFileError",
    "NotFittedError",
    "TrainingDivergedError",
]


class DataError(ValueError):
    """A recording, annotation file or beat array is malformed or inconsistent."""


class DataNotFoundError(DataError, FileNotFoundError):
    """Files of a requested database or record are missing from the data home."""


class ModelFileError(DataError):
    """A saved model file cannot be loaded: damaged, edited, or not a beatdetect model.

    Raised by :meth:`~beatdetect.gan.estimator.SIBeatGANDetector.load` for any problem found in
    the file (its header, parameters, fitted state or tensors), before anything large is
    built. The message names the file and the first problem found.
    """


class TrainingDivergedError(RuntimeError):
    """A training loss became NaN or infinite; the model state is not usable."""

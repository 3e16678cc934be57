"""Per-epoch training checkpoints: an interrupted fit resumes where it stopped, bit for bit.

A fit of BeatGAN on every training beat of MIT-BIH runs for most of an hour on a CPU, and a
process can end before it does (a session's time limit, a shared machine rebooting). With
``SIBeatGANDetector(checkpoint_dir=DIR)``, the trainer writes its whole state to one file in
``DIR`` after every epoch: both networks and the loss terms' modules, both optimizers, every
random generator the fit draws from, the learning-rate schedule's step, the early-stopping
state (best epoch's networks, epochs without improvement) and the history. A later ``fit`` of
the same detector on the same beats (same parameters, seed and data: the file is named by
their fingerprint) finds the file and continues after its last epoch, in the arithmetic the
file was trained in. The file is removed when the fit completes.

"Bit for bit" holds on the same device type with the same number of torch threads (one
thread in benchmark jobs), as for any two fits with equal seeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

__all__ = ["CHECKPOINT_FORMAT", "EpochCheckpoint", "fit_fingerprint"]

#: Version of the checkpoint file's layout; a file of another version is not resumed.
CHECKPOINT_FORMAT = 1


def fit_fingerprint(params: dict, X: np.ndarray, seed: int) -> str:
    """SHA-256 of what decides a fit's result: the parameters, the seed and the beats.

    Parameters
    ----------
    params : dict
        The detector's parameters as plain data; those that change only where or how
        verbosely it trains (``device``, ``verbose``, ``checkpoint_dir``) left out by the
        caller.
    X : ndarray
        The training beats, as ``fit`` received them.
    seed : int
        The seed drawn from ``random_state``.

    Returns
    -------
    fingerprint : str
        64 hexadecimal digits.

    Examples
    --------
    >>> import numpy as np
    >>> a = fit_fingerprint({"lr": 1e-3}, np.zeros((4, 320), np.float32), 0)
    >>> a == fit_fingerprint({"lr": 1e-3}, np.zeros((4, 320), np.float32), 0)
    True
    >>> a == fit_fingerprint({"lr": 1e-3}, np.zeros((4, 320), np.float32), 1)
    False
    """
    X = np.ascontiguousarray(X)
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": CHECKPOINT_FORMAT, "params": params, "seed": int(seed),
                              "shape": list(X.shape), "dtype": str(X.dtype)},
                             sort_keys=True, default=repr).encode())
    digest.update(memoryview(X).cast("B"))
    return digest.hexdigest()


class EpochCheckpoint:
    """The checkpoint file of one fit, written atomically after each epoch.

    Parameters
    ----------
    directory : path-like
        Folder of the checkpoint files (created on the first save).
    fingerprint : str
        :func:`fit_fingerprint` of the fit: names the file and is checked on loading.
    prefix : str, default="sibeatgan"
        Start of the file name.

    Examples
    --------
    >>> import tempfile
    >>> ckpt = EpochCheckpoint(tempfile.mkdtemp(), "ab" * 32)
    >>> ckpt.load() is None  # nothing saved yet: the fit starts from scratch
    True
    >>> ckpt.save({"epoch": 1})
    >>> ckpt.load()["epoch"]
    1
    >>> ckpt.remove(); ckpt.path.exists()
    False
    """

    def __init__(self, directory, fingerprint: str, *, prefix: str = "sibeatgan"):
        self.directory = Path(directory).expanduser()
        self.fingerprint = fingerprint
        self.path = self.directory / f"{prefix}-{fingerprint[:24]}.pt"

    def save(self, state: dict) -> None:
        """Write ``state`` (tensors and plain data) so that a crash leaves the previous file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = {"format": CHECKPOINT_FORMAT, "fingerprint": self.fingerprint,
                   "torch": str(torch.__version__), "state": state}
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(payload, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:  # KeyboardInterrupt too: never leave the temporary file
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def load(self, map_location=None) -> dict | None:
        """The saved state, or None when there is no file to resume.

        Raises
        ------
        ValueError
            The file belongs to another fit (its fingerprint differs) or is of another
            format: the message names the file, to delete it or choose another folder.
        """
        if not self.path.exists():
            return None
        try:
            payload = torch.load(self.path, map_location=map_location, weights_only=True)
        except Exception as err:
            raise ValueError(f"Cannot read the training checkpoint {self.path} ({err}). "
                             "Delete it to train from the start.") from err
        if payload.get("format") != CHECKPOINT_FORMAT \
                or payload.get("fingerprint") != self.fingerprint:
            raise ValueError(
                f"The training checkpoint {self.path} is of another fit or format "
                f"(format {payload.get('format')!r}, this library writes "
                f"{CHECKPOINT_FORMAT}). Delete it to train from the start."
            )
        if payload.get("torch") != str(torch.__version__):
            warnings.warn(f"Resuming {self.path}, written by torch {payload.get('torch')}, "
                          f"with torch {torch.__version__}: the result may differ from an "
                          "uninterrupted fit in the last bits.", stacklevel=3)
        return payload["state"]

    def remove(self) -> None:
        """Delete the file (the fit is complete); no error when it is already gone."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

"""Shared fixtures: where the real MIT-BIH records are, seeded synthetic beats, tiny models.

Data. The README promises that the tests find ``../shared/data`` beside the repository with
no environment variable set: :func:`pytest_configure` sets ``BEATDETECT_DATA`` to it when the
variable is unset and the folder holds ``mitdb/``. That variable is then the one rule every
test (and the library and command line the tests run) follows to find the data; real-data
tests take the :func:`data_home` fixture.

Caches. The session points ``XDG_CACHE_HOME`` at a temporary folder, so no test reads or
writes a per-user cache (the measured mixed-precision choice, for one).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
#: Where CI and developers keep the checksummed MIT-BIH copy (never committed).
SHARED_DATA = REPO.parent / "shared" / "data"

#: The smallest useful SI-BeatGAN: trains on a few hundred synthetic beats in about a second.
#: float32 on the CPU so every machine computes the same scores.
TINY_GAN = dict(base_filters=4, n_layers=2, latent_dim=4, max_epochs=1, batch_size=32,
                mixed_precision=False, device="cpu", random_state=0)

_SESSION_CACHE: str | None = None


def pytest_configure(config):
    global _SESSION_CACHE
    if not os.environ.get("BEATDETECT_DATA") and (SHARED_DATA / "mitdb").is_dir():
        os.environ["BEATDETECT_DATA"] = str(SHARED_DATA)
    if _SESSION_CACHE is None:
        _SESSION_CACHE = tempfile.mkdtemp(prefix="beatdetect-test-cache-")
        os.environ["XDG_CACHE_HOME"] = _SESSION_CACHE
    # Tests assert behaviour, not speed: one intra-op thread keeps small-batch training fast
    # and stable on shared 2-core machines, where spinning OpenMP threads oversubscribe.
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(1)


def pytest_unconfigure(config):
    if _SESSION_CACHE is not None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def data_home() -> Path:
    """Data home holding ``mitdb/`` (``BEATDETECT_DATA``); tests needing real records use it.

    On CI a missing database is an error, not a skip: the real-data tests must run there.
    """
    env = os.environ.get("BEATDETECT_DATA")
    home = Path(env) if env else None
    if home is None or not (home / "mitdb" / "100.hea").is_file():
        msg = f"MIT-BIH not found: set BEATDETECT_DATA or place it at {SHARED_DATA}/mitdb"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return home


@pytest.fixture(scope="session")
def beats():
    """Seeded synthetic beats: ``(train, test)``, 1024 normal training beats (enough for a small
    network to learn them; tiny fits take a slice) and a test set of 150 normal and 60
    anomalous beats (``test.y``: +1 normal, -1 anomaly)."""
    from beatdetect.datasets import make_synthetic_beats

    train = make_synthetic_beats(n_normal=1024, n_anomalous=0, random_state=0)
    test = make_synthetic_beats(n_normal=150, n_anomalous=60, random_state=1)
    return train, test


@pytest.fixture(scope="session")
def tiny_gan():
    """Constructor parameters of the smallest useful SI-BeatGAN, read-only:
    ``SIBeatGANDetector(**tiny_gan)``, or ``dict(tiny_gan, max_epochs=2)`` to change one."""
    return MappingProxyType(TINY_GAN)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Every test starts from the same global RNG state."""
    np.random.seed(0)  # noqa: NPY002 - code under test may use the legacy global RNG
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(0)

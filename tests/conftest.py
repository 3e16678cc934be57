"""Shared fixtures: where the real MIT-BIH records are, seeded synthetic beats."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
#: Where CI and developers keep the checksummed MIT-BIH copy (never committed).
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config):
    # Tests assert behaviour, not speed: one intra-op thread keeps small-batch training fast
    # and stable on shared 2-core machines, where spinning OpenMP threads oversubscribe.
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.set_num_threads(1)


def _find_data_home() -> Path | None:
    env = os.environ.get("BEATDETECT_DATA")
    for candidate in (Path(env) if env else None, SHARED_DATA):
        if candidate is not None and (candidate / "mitdb" / "100.hea").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_home() -> Path:
    """Data home holding ``mitdb/``; tests needing real records use this fixture.

    On CI a missing database is an error, not a skip: the real-data tests must run there.
    """
    home = _find_data_home()
    if home is None:
        msg = f"MIT-BIH not found: set BEATDETECT_DATA or place it at {SHARED_DATA}/mitdb"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return home


@pytest.fixture(autouse=True)
def _seed_everything():
    """Every test starts from the same global RNG state."""
    np.random.seed(0)  # noqa: NPY002 - code under test may use the legacy global RNG
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(0)

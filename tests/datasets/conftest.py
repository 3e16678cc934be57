"""Fixtures of the data-layer tests: isolated caches, copies of real records, the full load."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from beatdetect.datasets import beats as beats_module
from beatdetect.datasets import load_mitbih


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path, monkeypatch):
    """No test writes a cache next to the shared data or in the real ~/.cache.

    The shared MIT-BIH copy is read-only by its permission bits only, and the tests may run
    as root, who could write there anyway.
    """
    monkeypatch.setenv("BEATDETECT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture(scope="session")
def mitdb_dir(data_home) -> Path:
    return data_home / "mitdb"


@pytest.fixture
def copy_record(mitdb_dir, tmp_path):
    """Copy files of real records into ``tmp_path/<folder>/`` (writable), return the folder."""

    def copy(records, extensions=("hea", "dat", "atr"), folder="mitdb") -> Path:
        dest = tmp_path / folder
        dest.mkdir(parents=True, exist_ok=True)
        for record in records:
            for ext in extensions:
                target = dest / f"{record}.{ext}"
                shutil.copyfile(mitdb_dir / f"{record}.{ext}", target)
                target.chmod(stat.S_IRUSR | stat.S_IWUSR)
        return dest

    return copy


@pytest.fixture(scope="session")
def full_load(data_home, tmp_path_factory):
    """All 44 default records, cold (empty cache), then warm with record reading disabled."""
    cache_dir = tmp_path_factory.mktemp("mitbih_cache")
    cold = load_mitbih(data_home, cache_dir=cache_dir, verbose=False)
    read = []

    def no_reading(path, *args, **kwargs):
        read.append(path)
        raise AssertionError(f"the warm load read record {path}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(beats_module, "beats_from_record", no_reading)
        warm = load_mitbih(data_home, cache_dir=cache_dir, verbose=False)
    return {"cold": cold, "warm": warm, "records_read_warm": read, "cache_dir": cache_dir}

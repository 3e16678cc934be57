import numpy as np
import pytest

from beatdetect.datasets import _cache
from beatdetect.datasets._cache import cache_key, load_arrays, save_arrays

PARAMS = {"leads": ["MLII"], "window": [140, 180], "length": 320, "scale": "minmax"}


def test_cache_key_ignores_key_order():
    assert cache_key(PARAMS) == cache_key(dict(reversed(list(PARAMS.items()))))


@pytest.mark.parametrize(
    "change", [{"leads": ["V1"]}, {"window": [140, 181]}, {"length": 256}, {"scale": None}]
)
def test_cache_key_changes_with_every_parameter(change):
    assert cache_key({**PARAMS, **change}) != cache_key(PARAMS)


def test_save_then_load_round_trips(tmp_path):
    arrays = {"X": np.arange(6, dtype=np.float32).reshape(2, 1, 3), "symbol": np.array(["N", "V"])}
    path = tmp_path / "sub" / "100-abc.npz"
    assert save_arrays(path, arrays)
    loaded = load_arrays(path)
    np.testing.assert_array_equal(loaded["X"], arrays["X"])
    assert loaded["X"].dtype == np.float32
    assert loaded["symbol"].tolist() == ["N", "V"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["100-abc.npz"]


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    def interrupted(handle, **arrays):
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_cache.np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_arrays(tmp_path / "100-abc.npz", {"X": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_warns_and_returns_false(tmp_path, monkeypatch):
    def full_disk(handle, **arrays):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_cache.np, "savez", full_disk)
    with pytest.warns(UserWarning, match="Could not write cache file"):
        assert not save_arrays(tmp_path / "100-abc.npz", {"X": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_a_miss(tmp_path):
    assert load_arrays(tmp_path / "absent.npz") is None


def test_corrupt_file_is_a_miss_with_warning(tmp_path):
    path = tmp_path / "100-abc.npz"
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable cache file"):
        assert load_arrays(path) is None

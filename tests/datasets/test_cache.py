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


def _rewrite(path, **changes):
    """Rewrite a cache file in place: drop (value None) or replace arrays, keep the rest."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    for name, value in changes.items():
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
    np.savez(path, **arrays)


def test_manifest_is_written_but_not_returned(tmp_path):
    path = tmp_path / "100-abc.npz"
    save_arrays(path, {"X": np.zeros((2, 1, 3), np.float32), "fs": np.float64(360.0)})
    with np.load(path) as npz:
        assert sorted(npz.files) == sorted(["X", "fs", _cache.MANIFEST_KEY])
    assert sorted(load_arrays(path)) == ["X", "fs"]
    with pytest.raises(ValueError, match="reserved"):
        save_arrays(path, {_cache.MANIFEST_KEY: np.zeros(1)})


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"X": None}, r"arrays \['X'\] are missing"),
        ({"X": np.zeros((2, 1, 4), np.float32)}, r"array 'X' is <f4 \[2, 1, 4\], its manifest "
                                                 r"says <f4 \[2, 1, 3\]"),
        ({"symbol": np.array([1, 2])}, r"array 'symbol' is <i8"),
        ({"extra": np.zeros(2)}, r"arrays \['extra'\] are not in its manifest"),
        ({_cache.MANIFEST_KEY: np.array("{not json")}, "its manifest is damaged"),
    ],
)
def test_file_not_matching_its_manifest_is_a_miss_with_warning(tmp_path, changes, match):
    path = tmp_path / "100-abc.npz"
    save_arrays(path, {"X": np.zeros((2, 1, 3), np.float32), "symbol": np.array(["N", "V"])})
    _rewrite(path, **changes)
    with pytest.warns(UserWarning, match=rf"inconsistent cache file .*100-abc\.npz: {match}"):
        assert load_arrays(path) is None


def test_file_without_manifest_is_a_silent_miss(tmp_path, recwarn):
    path = tmp_path / "100-abc.npz"
    np.savez(path, X=np.zeros(3))  # another program's file, or one older than manifests
    assert load_arrays(path) is None
    assert len(recwarn) == 0


def test_mitbih_cache_with_a_missing_key_is_recomputed(data_home, tmp_path):
    # The reproduction: a record's cache file lacking "X" raised a bare KeyError.
    from beatdetect.datasets import load_mitbih

    first = load_mitbih(data_home, records=["100"], cache_dir=tmp_path, verbose=False)
    (cache_file,) = (tmp_path / "mitdb").glob("100-*.npz")
    with np.load(cache_file) as npz:
        arrays = {name: npz[name] for name in npz.files if name != "X"}
    np.savez(cache_file, **arrays)
    with pytest.warns(UserWarning, match=r"arrays \['X'\] are missing"):
        again = load_mitbih(data_home, records=["100"], cache_dir=tmp_path, verbose=False)
    np.testing.assert_array_equal(again.X, first.X)
    assert sorted(load_arrays(cache_file)) == ["X", "fs", "sample", "symbol"]  # overwritten

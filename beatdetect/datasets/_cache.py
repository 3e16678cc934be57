"""Cache of preprocessed arrays: content-addressed ``.npz`` files written atomically.

A cache file's name carries a hash of everything that changes its content (preprocessing
parameters, the preprocessing version, the source files' size and modification time), so a
stale file is never read: it is simply not found. Files are written under a temporary name in
the destination folder and moved into place with ``os.replace``, which is atomic on POSIX and
Windows, so an interrupted run leaves no half-written cache file behind.

Each file also stores a manifest: the name, dtype and shape of every array written. A file
whose arrays do not match its manifest (an array missing or reshaped after writing), or
that has no manifest (written by another program, or by beatdetect before manifests), is a
cache miss like an unreadable file: the caller recomputes the arrays and overwrites it,
instead of failing later on a missing key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

#: Hex digits of the SHA-256 kept in file names: 64 bits, collisions are not a concern.
KEY_HEX_DIGITS = 16
#: Name of the manifest entry of a cache file (reserved: no array may take it).
MANIFEST_KEY = "__manifest__"


def cache_key(params: Mapping) -> str:
    """Stable short hash of JSON-serialisable ``params`` (key order does not matter)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_HEX_DIGITS]


def file_fingerprint(path: Path) -> list[int]:
    """Size and modification time of a source file, to invalidate caches of edited data."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _manifest(arrays: Mapping[str, np.ndarray]) -> str:
    """JSON description (dtype and shape) of every array, stored beside them."""
    return json.dumps(
        {name: {"dtype": array.dtype.str, "shape": list(array.shape)}
         for name, array in arrays.items()},
        sort_keys=True,
    )


def _manifest_mismatch(arrays: Mapping[str, np.ndarray], manifest: str) -> str | None:
    """Why ``arrays`` do not match ``manifest``, or None when they do."""
    try:
        expected = json.loads(manifest)
        if not isinstance(expected, dict):
            raise ValueError("not a JSON object")
        missing = sorted(set(expected) - set(arrays))
        if missing:
            return f"arrays {missing} are missing"
        extra = sorted(set(arrays) - set(expected))
        if extra:
            return f"arrays {extra} are not in its manifest"
        for name, spec in expected.items():
            array = arrays[name]
            if list(array.shape) != list(spec["shape"]) or array.dtype.str != spec["dtype"]:
                return (f"array {name!r} is {array.dtype.str} {list(array.shape)}, its manifest "
                        f"says {spec['dtype']} {list(spec['shape'])}")
    except (ValueError, TypeError, KeyError) as err:
        return f"its manifest is damaged ({err})"
    return None


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """Arrays stored at ``path`` by :func:`save_arrays`, or None for a cache miss.

    A miss is a file that is absent, unreadable, written without a manifest, or whose
    arrays do not match its manifest (missing or mis-shaped); the caller recomputes the
    arrays and overwrites the file. Damage is reported with a ``UserWarning``.
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        # A damaged cache entry is only a cache miss: recompute and overwrite it.
        warnings.warn(f"Ignoring unreadable cache file {path}: {err}", UserWarning, stacklevel=2)
        return None
    manifest = arrays.pop(MANIFEST_KEY, None)
    if manifest is None:
        # Written before manifests existed (or by another program): recompute it, silently,
        # as for any other miss; nothing is wrong with it that the user should hear about.
        return None
    problem = _manifest_mismatch(arrays, str(manifest))
    if problem is not None:
        warnings.warn(f"Ignoring inconsistent cache file {path}: {problem}; recomputing it.",
                      UserWarning, stacklevel=2)
        return None
    return arrays


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Write ``arrays`` and their manifest to ``path`` atomically.

    Warn and return False if writing fails.
    """
    if MANIFEST_KEY in arrays:
        raise ValueError(f"{MANIFEST_KEY!r} is reserved for the cache file's manifest.")
    arrays = {name: np.asarray(array) for name, array in arrays.items()}
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays, **{MANIFEST_KEY: np.array(_manifest(arrays))})
        os.replace(tmp_name, path)
        return True
    except OSError as err:
        # Failing to cache must not throw away a load that already succeeded.
        warnings.warn(f"Could not write cache file {path}: {err}", UserWarning, stacklevel=2)
        return False
    finally:
        # Reached with the temporary file still present only when writing failed or was
        # interrupted (KeyboardInterrupt included): never leave a partial file behind.
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)

"""Cache of preprocessed arrays: content-addressed ``.npz`` files written atomically.

A cache file's name carries a hash of everything that changes its content (preprocessing
parameters, the preprocessing version, the source files' size and modification time), so a
stale file is never read: it is simply not found. Files are written under a temporary name in
the destination folder and moved into place with ``os.replace``, which is atomic on POSIX and
Windows, so an interrupted run leaves no half-written cache file behind.
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


def cache_key(params: Mapping) -> str:
    """Stable short hash of JSON-serialisable ``params`` (key order does not matter)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_HEX_DIGITS]


def file_fingerprint(path: Path) -> list[int]:
    """Size and modification time of a source file, to invalidate caches of edited data."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """Arrays stored at ``path``, or None when the file is absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        # A damaged cache entry is only a cache miss: recompute and overwrite it.
        warnings.warn(f"Ignoring unreadable cache file {path}: {err}", UserWarning, stacklevel=2)
        return None


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Write ``arrays`` to ``path`` atomically; warn and return False if writing fails."""
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
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

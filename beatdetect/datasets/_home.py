"""Where databases and caches live: the data home and the cache folder.

Resolution follows scikit-learn's ``sklearn.datasets.get_data_home``: an explicit argument
wins, then an environment variable, then a default under the user's home directory. The
data home holds one folder per PhysioNet database, named as PhysioNet names it (``mitdb/``),
so a copy made by ``wfdb.dl_database`` or by hand can be pointed at directly.
"""

from __future__ import annotations

import contextlib
import os
import stat
import warnings
from pathlib import Path

__all__ = ["get_data_home"]

#: Environment variable naming the data home (like scikit-learn's ``SCIKIT_LEARN_DATA``).
DATA_HOME_ENV = "BEATDETECT_DATA"
#: Environment variable naming the folder of preprocessed-array caches.
CACHE_DIR_ENV = "BEATDETECT_CACHE"
#: Data home used when neither the argument nor the environment variable is set.
DEFAULT_DATA_HOME = "~/beatdetect_data"
#: Cache folder inside the data home, next to the database folders.
CACHE_SUBDIR = "beatdetect_cache"


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder that holds the PhysioNet databases.

    Parameters
    ----------
    data_home : str or path-like, optional
        Explicit folder. When None, the ``BEATDETECT_DATA`` environment variable is used,
        then ``~/beatdetect_data``. ``~`` is expanded. The folder is not created: reading
        needs an existing copy, and downloading creates what it needs.

    Returns
    -------
    data_home : pathlib.Path

    Examples
    --------
    >>> get_data_home("/data/physionet").as_posix()
    '/data/physionet'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or DEFAULT_DATA_HOME
    return Path(data_home).expanduser()


@contextlib.contextmanager
def removed_if_empty_on_failure(folder: Path):
    """Create nothing that outlives a failure: on an error inside the block, the folders
    of ``folder`` that did not exist before it (``folder`` and missing parents) are removed
    again if they are still empty.

    A failed first download (no connection) then leaves no empty ``mitdb/`` behind, which
    would otherwise look like a data home holding a damaged copy.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> try:
    ...     with removed_if_empty_on_failure(root / "home" / "mitdb"):
    ...         (root / "home" / "mitdb").mkdir(parents=True)
    ...         raise ConnectionError("offline")
    ... except ConnectionError:
    ...     pass
    >>> (root / "home").exists()
    False
    """
    folder = Path(folder)
    new = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    try:
        yield folder
    except BaseException:
        for path in new:
            try:
                path.rmdir()  # only removes an empty folder
            except OSError:
                break  # not empty (or not ours to remove): its parents stay too
        raise


def user_cache_dir() -> Path:
    """Per-user cache folder (XDG base directory spec), the fallback for caches."""
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "beatdetect"


def is_writable_dir(path: Path) -> bool:
    """Whether files can be created in ``path`` (creating missing parent folders).

    The permission bits are checked as well as ``os.access``: root passes ``os.access``
    everywhere, but a folder made read-only on purpose (a shared, checksummed copy of a
    database) must stay untouched whoever runs the code.
    """
    probe = path
    # The nearest existing ancestor is where mkdir would have to write.
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir():
        return False
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return os.access(probe, os.W_OK | os.X_OK) and bool(probe.stat().st_mode & write_bits)


def resolve_cache_dir(cache_dir: str | os.PathLike | None, data_home: Path) -> Path | None:
    """Pick the folder for cached arrays, or None when no writable place exists.

    Order: ``cache_dir``, then ``BEATDETECT_CACHE``, then ``<data_home>/beatdetect_cache``.
    When that folder is not writable (e.g. a read-only shared data home) the per-user cache
    folder is used with a warning; when that fails too, caching is skipped with a warning.
    """
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_DIR_ENV) or data_home / CACHE_SUBDIR
    wanted = Path(cache_dir).expanduser()
    if is_writable_dir(wanted):
        return wanted
    fallback = user_cache_dir()
    if is_writable_dir(fallback):
        warnings.warn(
            f"Cache folder {wanted} is not writable; caching preprocessed beats in {fallback} "
            f"instead. Pass cache_dir= or set {CACHE_DIR_ENV} to choose the folder.",
            UserWarning,
            stacklevel=3,
        )
        return fallback
    warnings.warn(
        f"Neither {wanted} nor {fallback} is writable: preprocessed beats are not cached. "
        f"Pass cache_dir= or set {CACHE_DIR_ENV} to a writable folder.",
        UserWarning,
        stacklevel=3,
    )
    return None

"""Evaluation protocols: which beats train and which test, for every fold and seed.

- ``"intra"``: BeatGAN's intra-patient protocol (Zhou et al., 2019). The normal beats are
  shuffled into ``n_folds`` folds (seed 0, fixed, so every run sees the same folds); fold
  ``k`` trains on the other normal folds and tests on normal fold ``k`` plus every anomaly.
- ``"inter"``: de Chazal et al. (2004). Trains on the normal beats of DS1 and tests on all
  beats of DS2; there is one split, reported as fold 0.
- ``"transfer"``: trains as ``"inter"`` (the normal beats of DS1) and tests on every beat
  of a second real database, the QT Database's 54 excerpts of the European ST-T, MIT-BIH ST
  Change, Normal Sinus Rhythm and Long-Term databases (other patients, hospitals, leads,
  250 Hz). Its beats join the MIT-BIH beats in one Bunch whose ``database`` says where
  each beat comes from; the other protocols use the MIT-BIH beats only.

Both train on normal beats only. With ``max_train`` the training beats are a seeded
subsample: the same for every detector of a (protocol, fold, seed), so detectors are
compared on the same beats. Test sets are never subsampled.
"""

from __future__ import annotations

import hashlib

import numpy as np
from sklearn.utils import Bunch

from ..datasets import inter_patient_split, intra_patient_split
from ..exceptions import DataNotFoundError

__all__ = ["combine_databases", "data_fingerprint", "load_benchmark_data", "split_indices"]

#: Arrays with one entry per beat, joined by :func:`combine_databases`.
PER_BEAT_KEYS = ("X", "y", "aami", "symbol", "record", "rr", "sample")
#: The shuffle of the normal beats into folds is part of the protocol, not of the seed.
FOLD_SHUFFLE_SEED = 0


def offline_help(err: Exception, data_home) -> str:
    """The one-paragraph message shown when MIT-BIH is neither local nor downloadable."""
    from ..datasets._home import DATA_HOME_ENV, get_data_home

    folder = get_data_home(data_home) / "mitdb"
    return (
        f"Could not load the MIT-BIH Arrhythmia Database: {err} On its first run the "
        f"benchmark downloads the database from PhysioNet (about 100 MB, with wfdb) into "
        f"{folder}. Without a connection, point it at a local copy instead: pass "
        f"--data-home PATH (data_home=PATH in Python) or set {DATA_HOME_ENV}=PATH, where "
        "PATH is a folder holding mitdb/ with the .hea, .dat and .atr files of the 48 "
        "records (from https://physionet.org/content/mitdb/1.0.0/)."
    )


def load_benchmark_data(data_home=None, *, records=None, cache_dir=None, download=True,
                        verbose=True, transfer=False, transfer_home=None):
    """Load MIT-BIH beats for the benchmark (downloading them on first use).

    Parameters
    ----------
    data_home : path-like, optional
        Folder holding ``mitdb/`` (default ``BEATDETECT_DATA``, then ``~/beatdetect_data``).
    records : sequence of str, optional
        Restrict to these records (default: all 44 non-paced records).
    cache_dir : path-like, optional
        Cache of preprocessed beats (see :func:`~beatdetect.datasets.load_mitbih`).
    download : bool, default=True
        Fetch missing records from PhysioNet.
    verbose : bool, default=True
        Progress bars.
    transfer : bool, default=False
        Add the QT Database beats of the transfer protocol
        (:func:`~beatdetect.datasets.load_qtdb`).
    transfer_home : path-like, optional
        Folder holding ``qtdb/``; default ``data_home``.

    Returns
    -------
    data : Bunch
        As returned by :func:`~beatdetect.datasets.load_mitbih`; with ``transfer``, the
        QT Database beats follow the MIT-BIH ones and ``database`` names each beat's
        database (``"mitdb"`` or ``"qtdb"``).

    Raises
    ------
    DataNotFoundError
        With a paragraph explaining how to point the benchmark at a local copy.
    """
    from ..datasets import load_mitbih, load_qtdb

    try:
        data = load_mitbih(data_home, records=records, cache_dir=cache_dir, download=download,
                           verbose=verbose)
    except DataNotFoundError as err:
        raise DataNotFoundError(offline_help(err, data_home)) from err
    if not transfer:
        return data
    home = data_home if transfer_home is None else transfer_home
    try:
        other = load_qtdb(home, cache_dir=cache_dir, download=download, verbose=verbose)
    except DataNotFoundError as err:
        raise DataNotFoundError(
            f"Could not load the QT Database for the transfer protocol: {err} Pass "
            "--transfer-home PATH (transfer_home=PATH in Python), PATH a folder holding "
            "qtdb/ (https://physionet.org/content/qtdb/1.0.0/), or leave the protocol out."
        ) from err
    return combine_databases({"mitdb": data, "qtdb": other})


def combine_databases(parts) -> Bunch:
    """One Bunch of the beats of several databases, with ``database`` naming each beat's.

    Parameters
    ----------
    parts : mapping of str to Bunch
        Beats of each database (``X``, ``y``, ``record``, ``rr`` and, when every part has
        them, ``aami``, ``symbol``, ``sample``), the training database first; its metadata
        (``fs``, ``params``...) is kept. :func:`split_indices` trains and tests its MIT-BIH
        protocols on the part named ``"mitdb"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> def beats(n, record):
    ...     return Bunch(X=np.zeros((n, 1, 4)), y=np.ones(n, int), aami=np.full(n, "N"),
    ...                  record=np.full(n, record), rr=np.ones((n, 3)), sample=np.arange(n))
    >>> both = combine_databases({"mitdb": beats(2, "100"), "qtdb": beats(1, "sel301")})
    >>> both.database.tolist(), both.record.tolist()
    (['mitdb', 'mitdb', 'qtdb'], ['100', '100', 'sel301'])
    """
    parts = dict(parts)
    first = next(iter(parts.values()))
    combined = Bunch(**first)
    for key in PER_BEAT_KEYS:
        if all(key in part for part in parts.values()):
            combined[key] = np.concatenate([np.asarray(part[key]) for part in parts.values()])
        else:  # a per-beat array of one database only would no longer line up with X
            combined.pop(key, None)
    records = np.concatenate([np.asarray(part.record) for part in parts.values()])
    if len(np.unique(records)) != sum(len(np.unique(p.record)) for p in parts.values()):
        raise ValueError("Two databases share a record name: the context needs them apart.")
    combined["database"] = np.concatenate([np.full(len(part.y), name)
                                           for name, part in parts.items()])
    combined["records"] = [str(r) for r in dict.fromkeys(records.tolist())]
    return combined


def split_indices(data, protocol: str, fold: int = 0, *, n_folds: int = 5):
    """Training (normal only) and test positions of one protocol and fold.

    Parameters
    ----------
    data : Bunch with ``y`` (and ``record`` for ``"inter"`` and ``"transfer"``, and
        ``database`` when it holds a second database: :func:`combine_databases`)
    protocol : {"intra", "inter", "transfer"}
    fold : int, default=0
        Fold of the intra-patient protocol; must be 0 for ``"inter"``.
    n_folds : int, default=5

    Returns
    -------
    train_idx, test_idx : ndarray of int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> data = Bunch(y=np.array([1] * 10 + [-1] * 2))
    >>> train, test = split_indices(data, "intra", 1)
    >>> len(train), len(test)
    (8, 4)
    """
    database = getattr(data, "database", None)
    # The MIT-BIH protocols see the MIT-BIH beats only, at their positions in ``data``.
    own = (np.arange(len(data.y)) if database is None
           else np.flatnonzero(np.asarray(database) == "mitdb"))
    mitbih = Bunch(y=np.asarray(data.y)[own],
                   record=None if getattr(data, "record", None) is None
                   else np.asarray(data.record)[own])
    if protocol == "intra":
        train, test = intra_patient_split(mitbih, fold=fold, n_folds=n_folds,
                                          random_state=FOLD_SHUFFLE_SEED)
        return own[train], own[test]
    if protocol in ("inter", "transfer"):
        if fold != 0:
            raise ValueError(f"The {protocol} protocol has one split (fold 0), not {fold}.")
        if protocol == "transfer" and database is None:
            raise ValueError("The transfer protocol needs the beats of a second database: "
                             "load them with load_benchmark_data(..., transfer=True).")
        train, test = inter_patient_split(mitbih)
        if protocol == "inter":
            return own[train], own[test]
        return own[train], np.flatnonzero(np.asarray(database) != "mitdb")
    raise ValueError(f"Unknown protocol {protocol!r}; the protocols are 'intra', 'inter' and "
                     "'transfer'.")


def subsample_train(train_idx, max_train, *, seed: int, fold: int = 0):
    """A seeded, sorted subsample of ``max_train`` training positions (all if None).

    Examples
    --------
    >>> import numpy as np
    >>> subsample_train(np.arange(10), 3, seed=0).tolist()
    [5, 6, 9]
    """
    train_idx = np.asarray(train_idx)
    if max_train is None or max_train >= len(train_idx):
        return train_idx
    rng = np.random.default_rng([seed, fold])
    return np.sort(rng.choice(train_idx, size=max_train, replace=False))


def data_fingerprint(data) -> str:
    """Short hash of the beats and labels: results of other data are never reused."""
    digest = hashlib.sha256()
    X = np.ascontiguousarray(data.X)
    digest.update(repr((X.shape, str(X.dtype))).encode())
    digest.update(X.tobytes())
    digest.update(np.asarray(data.y).astype(np.int64).tobytes())
    record = getattr(data, "record", None)
    if record is not None:
        digest.update("\0".join(np.asarray(record).astype(str).tolist()).encode())
    return digest.hexdigest()[:16]

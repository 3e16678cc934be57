"""Evaluation protocols: which beats train and which test, for every fold and seed.

- ``"intra"``: BeatGAN's intra-patient protocol (Zhou et al., 2019). The normal beats are
  shuffled into ``n_folds`` folds (seed 0, fixed, so every run sees the same folds); fold
  ``k`` trains on the other normal folds and tests on normal fold ``k`` plus every anomaly.
- ``"inter"``: de Chazal et al. (2004). Trains on the normal beats of DS1 and tests on all
  beats of DS2; there is one split, reported as fold 0.

Both train on normal beats only. With ``max_train`` the training beats are a seeded
subsample: the same for every detector of a (protocol, fold, seed), so detectors are
compared on the same beats. Test sets are never subsampled.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..datasets import inter_patient_split, intra_patient_split
from ..exceptions import DataNotFoundError

__all__ = ["data_fingerprint", "load_benchmark_data", "split_indices"]

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
                        verbose=True):
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

    Returns
    -------
    data : Bunch
        As returned by :func:`~beatdetect.datasets.load_mitbih`.

    Raises
    ------
    DataNotFoundError
        With a paragraph explaining how to point the benchmark at a local copy.
    """
    from ..datasets import load_mitbih

    try:
        return load_mitbih(data_home, records=records, cache_dir=cache_dir, download=download,
                           verbose=verbose)
    except DataNotFoundError as err:
        raise DataNotFoundError(offline_help(err, data_home)) from err


def split_indices(data, protocol: str, fold: int = 0, *, n_folds: int = 5):
    """Training (normal only) and test positions of one protocol and fold.

    Parameters
    ----------
    data : Bunch with ``y`` (and ``record`` for ``"inter"``)
    protocol : {"intra", "inter"}
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
    if protocol == "intra":
        return intra_patient_split(data, fold=fold, n_folds=n_folds,
                                   random_state=FOLD_SHUFFLE_SEED)
    if protocol == "inter":
        if fold != 0:
            raise ValueError(f"The inter-patient protocol has one split (fold 0), not {fold}.")
        return inter_patient_split(data)
    raise ValueError(f"Unknown protocol {protocol!r}; the protocols are 'intra' and 'inter'.")


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

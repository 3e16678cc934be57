"""Evaluation protocols on MIT-BIH beats, as (train_idx, test_idx) index arrays.

- Intra-patient (BeatGAN, Zhou et al. 2019): beats of the same patients in train and test.
- Inter-patient (de Chazal, O'Dwyer & Reilly, IEEE TBME 51(7):1196-1206, 2004): train on
  the records of DS1, test on the disjoint records of DS2.

Both train on normal beats only, as an unsupervised anomaly detector must.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..exceptions import DataError
from ..model_selection import NormalOnlyKFold
from .aami import anomaly_indicator

__all__ = ["DS1_RECORDS", "DS2_RECORDS", "inter_patient_split", "intra_patient_split"]

#: Training records of de Chazal et al. (2004), DS1 (22 records, paced records excluded).
DS1_RECORDS = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
)  # fmt: skip
#: Test records of de Chazal et al. (2004), DS2 (22 records).
DS2_RECORDS = (
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
    "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234",
)  # fmt: skip


def _labels(bunch_or_y) -> np.ndarray:
    y = getattr(bunch_or_y, "y", bunch_or_y)
    if y is None:
        raise DataError("These beats have no labels (y is None): splits need annotated beats.")
    return np.asarray(y)


def intra_patient_split(bunch_or_y, fold=0, n_folds=5, random_state=0):
    """BeatGAN's intra-patient protocol: one fold of the normal beats plus every anomaly.

    The normal beats are shuffled into ``n_folds`` folds; the training set is the other
    normal folds (never an anomaly) and the test set is normal fold ``fold`` plus all
    anomalous beats. Implemented with
    :class:`~beatdetect.model_selection.NormalOnlyKFold`, so ``cv=NormalOnlyKFold(...)`` in
    a grid search yields exactly these splits.

    Parameters
    ----------
    bunch_or_y : Bunch with ``y``, or array-like of shape (n_beats,)
        Beats from :func:`~beatdetect.datasets.load_mitbih`, or their labels in any
        convention :func:`~beatdetect.datasets.anomaly_indicator` accepts (+1/-1, AAMI...).
    fold : int, default=0
        Which normal fold is tested, ``0 <= fold < n_folds``.
    n_folds : int, default=5
        Number of folds (BeatGAN used 5).
    random_state : int, default=0
        Seed of the shuffle of the normal beats.

    Returns
    -------
    train_idx, test_idx : ndarray of int
        Positions of the training (normal only) and test beats; test positions are sorted.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1] * 20 + [-1] * 3)
    >>> train, test = intra_patient_split(y, fold=0)
    >>> len(train), len(test), bool((y[train] == 1).all()), int((y[test] == -1).sum())
    (16, 7, True, 3)
    """
    y = _labels(bunch_or_y)
    if isinstance(n_folds, bool) or not isinstance(n_folds, Integral) or n_folds < 2:
        raise DataError(f"n_folds must be an integer >= 2, got {n_folds!r}.")
    if isinstance(fold, bool) or not isinstance(fold, Integral) or not 0 <= fold < n_folds:
        raise DataError(f"fold must be an integer in [0, {n_folds - 1}], got {fold!r}.")
    n_normal = int((~anomaly_indicator(y)).sum())
    if n_normal < n_folds:
        raise DataError(f"{n_normal} normal beats cannot be split into {n_folds} folds.")
    cv = NormalOnlyKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for k, (train_idx, test_idx) in enumerate(cv.split(np.zeros((len(y), 1)), y)):
        if k == fold:
            return train_idx, test_idx
    raise AssertionError("unreachable: fold was checked against n_folds")  # pragma: no cover


def inter_patient_split(bunch, *, train_records=DS1_RECORDS, test_records=DS2_RECORDS):
    """Inter-patient protocol of de Chazal et al. (2004) for anomaly detection.

    Training beats are the *normal* beats of the DS1 records; test beats are *all* beats of
    the DS2 records. No patient appears on both sides. Beats of other records (the paced
    ones, if loaded) are in neither set.

    Parameters
    ----------
    bunch : Bunch with ``record`` and ``y``
        Beats from :func:`~beatdetect.datasets.load_mitbih` (all records, or at least some
        of DS1 and DS2).
    train_records, test_records : sequence of str, default=DS1_RECORDS, DS2_RECORDS
        Record names of each side.

    Returns
    -------
    train_idx, test_idx : ndarray of int
        Sorted positions of the training (normal DS1) and test (all DS2) beats.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> beats = Bunch(record=np.array(["101", "101", "100", "100", "102"]),
    ...               y=np.array([1, -1, 1, -1, 1]))
    >>> train, test = inter_patient_split(beats)
    >>> train.tolist(), test.tolist()
    ([0], [2, 3])
    """
    y = _labels(bunch)
    record = getattr(bunch, "record", None)
    if record is None:
        raise DataError("inter_patient_split needs the record name of each beat (bunch.record).")
    record = np.asarray(record).astype(str)
    if record.shape != y.shape:
        raise DataError(f"{record.size} record names for {y.size} labels.")
    overlap = set(map(str, train_records)) & set(map(str, test_records))
    if overlap:
        raise DataError(f"Records {sorted(overlap)} are in both the train and the test set.")
    normal = ~anomaly_indicator(y)
    train_idx = np.flatnonzero(np.isin(record, list(map(str, train_records))) & normal)
    test_idx = np.flatnonzero(np.isin(record, list(map(str, test_records))))
    sides = (
        ("train", train_idx, "normal beats of the training records (DS1 by default)"),
        ("test", test_idx, "beats of the test records (DS2 by default)"),
    )
    for side, idx, names in sides:
        if idx.size == 0:
            raise DataError(
                f"The {side} set is empty: no {names} among the loaded records "
                f"{sorted(set(record.tolist()))}. Load them, e.g. load_mitbih(records=None)."
            )
    return train_idx, test_idx

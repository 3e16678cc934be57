import numpy as np
import pytest
from sklearn.utils import Bunch

from beatdetect.datasets import (
    DS1_RECORDS,
    DS2_RECORDS,
    MITBIH_RECORDS,
    PACED_RECORDS,
    inter_patient_split,
    intra_patient_split,
)
from beatdetect.exceptions import DataError
from beatdetect.model_selection import NormalOnlyKFold


def _labels(n_normal=103, n_anomalous=17, seed=0):
    y = np.r_[np.ones(n_normal, int), -np.ones(n_anomalous, int)]
    return np.random.default_rng(seed).permutation(y)


@pytest.mark.parametrize("fold", range(5))
def test_intra_patient_train_is_normal_and_test_has_every_anomaly(fold):
    y = _labels()
    train, test = intra_patient_split(y, fold=fold)
    assert (y[train] == 1).all()
    assert set(np.flatnonzero(y == -1)) <= set(test)
    assert not set(train) & set(test)
    assert len(train) + int((y[test] == 1).sum()) == 103


def test_intra_patient_normal_folds_partition_the_normal_beats():
    y = _labels()
    tests = [intra_patient_split(y, fold)[1] for fold in range(5)]
    tested = np.concatenate([t[y[t] == 1] for t in tests])
    assert sorted(tested) == sorted(np.flatnonzero(y == 1))


def test_intra_patient_is_normal_only_kfold():
    y = _labels()
    expected = list(NormalOnlyKFold(5, random_state=3).split(np.zeros((len(y), 1)), y))
    for fold, (train, test) in enumerate(expected):
        got = intra_patient_split(y, fold=fold, random_state=3)
        np.testing.assert_array_equal(got[0], train)
        np.testing.assert_array_equal(got[1], test)


def test_intra_patient_is_seeded():
    y = _labels()
    a, b = intra_patient_split(y, random_state=0), intra_patient_split(y, random_state=0)
    c = intra_patient_split(y, random_state=1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_intra_patient_accepts_bunch_and_aami_labels():
    aami = np.array(list("NNNNNNNNNNVS"))
    from_bunch = intra_patient_split(Bunch(y=np.where(aami == "N", 1, -1)), fold=1)
    from_aami = intra_patient_split(aami, fold=1)
    np.testing.assert_array_equal(from_bunch[0], from_aami[0])
    np.testing.assert_array_equal(from_bunch[1], from_aami[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fold": 5}, r"fold must be an integer in \[0, 4\]"),
        ({"fold": -1}, r"fold must be an integer in \[0, 4\]"),
        ({"n_folds": 1}, "n_folds must be an integer >= 2"),
        ({"fold": 0, "n_folds": 200}, "103 normal beats cannot be split into 200 folds"),
    ],
)
def test_intra_patient_bad_arguments(kwargs, match):
    with pytest.raises(DataError, match=match):
        intra_patient_split(_labels(), **kwargs)


def test_unlabelled_beats_cannot_be_split():
    with pytest.raises(DataError, match="no labels"):
        intra_patient_split(Bunch(y=None))


def test_de_chazal_record_sets():
    assert len(DS1_RECORDS) == len(DS2_RECORDS) == 22
    assert not set(DS1_RECORDS) & set(DS2_RECORDS)
    assert set(DS1_RECORDS) | set(DS2_RECORDS) == set(MITBIH_RECORDS) - set(PACED_RECORDS)


def test_inter_patient_on_a_small_bunch():
    bunch = Bunch(
        record=np.array(["101", "101", "101", "100", "100", "107"]),
        y=np.array([1, -1, 1, -1, 1, 1]),
    )
    train, test = inter_patient_split(bunch)
    assert train.tolist() == [0, 2]
    assert test.tolist() == [3, 4]


def test_inter_patient_on_mitbih(full_load):
    data = full_load["cold"]
    train, test = inter_patient_split(data)
    assert set(data.record[train]) == set(DS1_RECORDS)
    assert set(data.record[test]) == set(DS2_RECORDS)
    assert (data.y[train] == 1).all()
    # DS1 holds 50,997 beats (45,843 normal), DS2 49,690: together all 100,687.
    assert len(train) == 45_843 and len(test) == 49_690
    assert int(np.isin(data.record, DS1_RECORDS).sum()) + len(test) == len(data.y)


@pytest.mark.parametrize(
    ("bunch", "kwargs", "match"),
    [
        (Bunch(record=np.array(["100"]), y=np.array([1])), {}, "train set is empty"),
        (Bunch(record=np.array(["101"]), y=np.array([1])), {}, "test set is empty"),
        (Bunch(y=np.array([1])), {}, r"needs the record name"),
        (Bunch(record=np.array(["101", "100"]), y=np.array([1])), {}, "2 record names for 1"),
        (
            Bunch(record=np.array(["101", "100"]), y=np.array([1, 1])),
            {"train_records": ["101", "100"]},
            r"\['100'\] are in both",
        ),
    ],
)
def test_inter_patient_bad_input(bunch, kwargs, match):
    with pytest.raises(DataError, match=match):
        inter_patient_split(bunch, **kwargs)

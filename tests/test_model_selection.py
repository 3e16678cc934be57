"""NormalOnlyKFold: label-free training folds, every anomaly in every test fold."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from beatdetect.baselines import PCADetector
from beatdetect.datasets import make_synthetic_beats
from beatdetect.metrics import SCORERS, anomaly_auc_scorer
from beatdetect.model_selection import NormalOnlyKFold, fit_best_on_normal

#: 23 normal beats and 7 anomalies, interleaved.
Y = np.where(np.arange(30) % 4 == 1, -1, 1)
Y[28:] = -1
X = np.zeros((len(Y), 3))
NORMAL, ANOMALY = np.flatnonzero(Y == 1), np.flatnonzero(Y == -1)


def test_fixture_counts():
    assert len(NORMAL) == 21 and len(ANOMALY) == 9


@pytest.mark.parametrize("n_splits", [2, 3, 5])
def test_training_folds_hold_only_normal_beats(n_splits):
    for train, _ in NormalOnlyKFold(n_splits=n_splits).split(X, Y):
        assert (Y[train] == 1).all()


@pytest.mark.parametrize("n_splits", [2, 3, 5])
def test_every_anomaly_is_in_every_test_fold(n_splits):
    for _, test in NormalOnlyKFold(n_splits=n_splits).split(X, Y):
        assert set(ANOMALY) <= set(test.tolist())
        assert (np.diff(test) > 0).all()  # sorted, no duplicates


@pytest.mark.parametrize("n_splits", [2, 3, 5])
def test_normal_test_folds_partition_the_normals(n_splits):
    splits = list(NormalOnlyKFold(n_splits=n_splits).split(X, Y))
    assert len(splits) == n_splits == NormalOnlyKFold(n_splits=n_splits).get_n_splits()
    normal_tests = [test[Y[test] == 1] for _, test in splits]
    np.testing.assert_array_equal(np.sort(np.concatenate(normal_tests)), NORMAL)
    sizes = sorted(len(t) for t in normal_tests)
    assert sizes[-1] - sizes[0] <= 1  # balanced folds
    for (train, _), normal_test in zip(splits, normal_tests):
        # Train and test normals are disjoint and together all the normals.
        assert not set(train) & set(normal_test)
        np.testing.assert_array_equal(np.sort(np.r_[train, normal_test]), NORMAL)


def test_reproducible_given_random_state():
    def folds(seed):
        return [t.tolist() for _, t in NormalOnlyKFold(3, random_state=seed).split(X, Y)]

    assert folds(0) == folds(0)
    assert folds(0) != folds(1)


def test_without_shuffle_normal_folds_are_contiguous():
    splits = NormalOnlyKFold(3, shuffle=False).split(X, Y)
    _, test = next(splits)
    np.testing.assert_array_equal(test[Y[test] == 1], NORMAL[:7])


@pytest.mark.parametrize(
    "labels",
    [Y, (Y == -1).astype(int), Y == -1, np.where(Y == 1, "N", "V")],
    ids=["plus_minus", "zero_one", "bool", "aami"],
)
def test_any_label_convention(labels):
    reference = [t.tolist() for _, t in NormalOnlyKFold(3).split(X, Y)]
    assert [t.tolist() for _, t in NormalOnlyKFold(3).split(X, labels)] == reference


def test_anomaly_label_override():
    labels = np.where(Y == 1, 5, 9)
    splits = list(NormalOnlyKFold(3, anomaly_label=9).split(X, labels))
    assert all((labels[train] == 5).all() for train, _ in splits)


def test_needs_labels():
    with pytest.raises(ValueError, match="needs y"):
        next(NormalOnlyKFold().split(X, None))


def test_more_folds_than_normal_beats_is_an_error():
    with pytest.raises(ValueError, match="n_splits=5"):
        next(NormalOnlyKFold(5).split(X[:6], np.array([1, 1, 1, -1, -1, -1])))


@pytest.fixture(scope="module")
def beats():
    train = make_synthetic_beats(n_normal=240, n_anomalous=0, random_state=0)
    test = make_synthetic_beats(n_normal=60, n_anomalous=30, random_state=1)
    X = np.concatenate([train.X, test.X])
    y = np.concatenate([train.y, test.y])
    return X, y


def test_as_cv_in_grid_search(beats):
    X, y = beats
    cv = NormalOnlyKFold(n_splits=3, random_state=0)
    search = GridSearchCV(PCADetector(), {"n_components": [1, 10]}, scoring=SCORERS,
                          refit="auc", cv=cv).fit(X, y)
    assert len(search.cv_results_["split2_test_auc"]) == 2
    assert search.best_score_ > 0.95
    assert search.best_score_ == search.cv_results_["mean_test_auc"].max()
    # The refit model sees every beat (that is GridSearchCV's rule): fit on normals only
    # afterwards, as BeatGAN's protocol does.
    assert search.best_estimator_.n_features_in_ == 320


def test_as_cv_in_cross_val_score(beats):
    X, y = beats
    scores = cross_val_score(PCADetector(n_components=10), X, y, scoring=anomaly_auc_scorer,
                             cv=NormalOnlyKFold(n_splits=4, random_state=0))
    assert scores.shape == (4,) and (scores > 0.95).all()



class _RecordingDetector(PCADetector):
    """PCA that remembers how many beats it was fitted on."""

    def _fit(self, X):
        self.n_fit_beats_ = len(X)
        return super()._fit(X)


def test_fit_best_on_normal_trains_the_winner_on_normal_beats_only():
    data = make_synthetic_beats(n_normal=120, n_anomalous=30, random_state=0)
    search = GridSearchCV(_RecordingDetector(), {"n_components": [1, 5]}, scoring=SCORERS,
                          refit=False, cv=NormalOnlyKFold(3, random_state=0))
    search.fit(data.X, data.y)
    best = fit_best_on_normal(search, data.X, data.y)
    assert best.n_fit_beats_ == 120
    winner = int(np.argmin(search.cv_results_["rank_test_auc"]))
    assert best.best_params_ == search.cv_results_["params"][winner]
    assert best.best_score_ == search.cv_results_["mean_test_auc"][winner]


def test_fit_best_on_normal_unknown_metric():
    data = make_synthetic_beats(n_normal=60, n_anomalous=6, random_state=0)
    search = GridSearchCV(PCADetector(), {"n_components": [1, 2]}, scoring=SCORERS,
                          refit=False, cv=NormalOnlyKFold(2)).fit(data.X, data.y)
    with pytest.raises(ValueError, match="No metric 'f1'.*choose from \\['ap', 'auc'\\]"):
        fit_best_on_normal(search, data.X, data.y, metric="f1")

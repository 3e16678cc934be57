"""Anomaly-positive metrics: label conventions, hand-computed values, scorers in a search."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV

from beatdetect.baselines import PCADetector
from beatdetect.datasets import make_synthetic_beats
from beatdetect.metrics import (
    SCORERS,
    anomaly_ap_scorer,
    anomaly_auc_scorer,
    anomaly_average_precision,
    anomaly_indicator,
    anomaly_roc_auc,
    per_class_scores,
)
from beatdetect.model_selection import NormalOnlyKFold

#: Three normal beats and two anomalies, with normality scores (higher = more normal).
#: Anomaly-positive AUC by hand: of the 6 (anomaly, normal) pairs, the anomaly at 0.1 is
#: below all 3 normals, the one at 0.5 only below 0.9: 4/6. AP by hand: ranked by
#: increasing normality, A(0.1) N(0.2) N(0.3) A(0.5) N(0.9): precision 1/1 at the first
#: anomaly and 2/4 at the second, so AP = (1 + 0.5) / 2 = 0.75.
Y_PM = np.array([1, 1, 1, -1, -1])
SCORE = np.array([0.9, 0.2, 0.3, 0.5, 0.1])
AUC, AP = 4 / 6, 0.75


# --------------------------------------------------------------------------- conventions
@pytest.mark.parametrize(
    ("y", "expected"),
    [
        ([1, -1, 1, -1], [False, True, False, True]),  # scikit-learn: -1 = anomaly
        ([0, 1, 0, 1], [False, True, False, True]),  # PyOD / datasets: 1 = anomaly
        ([1.0, -1.0], [False, True]),  # floats of the same conventions
        ([False, True, True], [False, True, True]),  # booleans: True = anomaly
        (["N", "S", "V", "F", "Q", "N"], [False, True, True, True, True, False]),  # AAMI
        (np.array([1, -1], dtype=object), [False, True]),  # a pandas-style object column
        (np.array(["N", "V"], dtype=object), [False, True]),
    ],
)
def test_anomaly_indicator_conventions(y, expected):
    out = anomaly_indicator(y)
    assert out.dtype == bool and out.tolist() == expected


@pytest.mark.parametrize(
    ("y", "expected"),
    [([1, 1, 1], [False] * 3), ([-1, -1], [True] * 2), ([0, 0], [False] * 2),
     (["N", "N"], [False] * 2), (["V"], [True]), ([True], [True])],
)
def test_anomaly_indicator_single_class(y, expected):
    assert anomaly_indicator(y).tolist() == expected


def test_anomaly_indicator_single_class_of_ones_reads_as_normal():
    # {1} fits both {-1, +1} and {0, 1}: scikit-learn's convention wins (all normal).
    # Datasets labelled 0/1 that hold only anomalies need anomaly_label=1.
    assert not anomaly_indicator([1, 1]).any()
    assert anomaly_indicator([1, 1], anomaly_label=1).all()


@pytest.mark.parametrize(
    ("y", "label", "expected"),
    [([2, 3, 2], 3, [False, True, False]),  # any label set with an explicit anomaly
     ([0, 1, 0], 0, [True, False, True]),  # invert the 0/1 convention
     (["normal", "premature"], "premature", [False, True]),
     (["N", "V", "S"], "V", [False, True, False])],  # one AAMI class only
)
def test_anomaly_label_overrides_the_convention(y, label, expected):
    assert anomaly_indicator(y, anomaly_label=label).tolist() == expected


@pytest.mark.parametrize(
    ("y", "match"),
    [([0, 1, 2], r"Cannot tell anomalies from labels \[0, 1, 2\]"),
     ([-1, 0, 1], "Cannot tell anomalies"),
     ([2, 2], "Cannot tell anomalies"),
     (["normal", "premature"], r"must be AAMI classes .* got \['normal', 'premature'\]"),
     (["N", "L"], r"got \['L'\]"),  # raw MIT-BIH symbol: L (bundle branch block) is normal
     (np.ones((3, 2)), "1-D")],
)
def test_anomaly_indicator_rejects_unknown_label_sets(y, match):
    with pytest.raises(ValueError, match=match):
        anomaly_indicator(y)


# --------------------------------------------------------------------------- values
@pytest.mark.parametrize(
    "y", [Y_PM, (Y_PM == -1).astype(int), Y_PM == -1, np.where(Y_PM == 1, "N", "V")],
    ids=["plus_minus", "zero_one", "bool", "aami"],
)
def test_auc_and_ap_by_hand_in_every_convention(y):
    assert anomaly_roc_auc(y, SCORE) == pytest.approx(AUC)
    assert anomaly_average_precision(y, SCORE) == pytest.approx(AP)


def test_auc_counts_ties_as_half_and_perfect_ranking_as_one():
    assert anomaly_roc_auc([1, -1], [0.5, 0.5]) == 0.5
    assert anomaly_roc_auc([1, 1, -1], [0.9, 0.8, 0.1]) == 1.0
    assert anomaly_roc_auc([1, 1, -1], [0.1, 0.2, 0.9]) == 0.0  # scores the wrong way round
    assert anomaly_average_precision([1, 1, -1], [0.9, 0.8, 0.1]) == 1.0
    assert anomaly_average_precision([1, 1, -1], [0.1, 0.2, 0.9]) == pytest.approx(1 / 3)


def test_metrics_accept_anomaly_label():
    y = np.array([5, 5, 5, 7, 7])
    assert anomaly_roc_auc(y, SCORE, anomaly_label=7) == pytest.approx(AUC)
    assert anomaly_average_precision(y, SCORE, anomaly_label=7) == pytest.approx(AP)


@pytest.mark.parametrize("metric", [anomaly_roc_auc, anomaly_average_precision])
@pytest.mark.parametrize("y", [[1, 1, 1], [-1, -1]])
def test_metrics_need_both_classes(metric, y):
    with pytest.raises(ValueError, match="need both normal and anomalous"):
        metric(y, np.zeros(len(y)))


# --------------------------------------------------------------------------- vs sklearn
class _FixedScores(OutlierMixin, BaseEstimator):
    """A stand-in fitted outlier detector whose scores are SCORE (row i of X is beat i)."""

    def fit(self, X, y=None):
        return self

    def score_samples(self, X):
        return SCORE[np.asarray(X)[:, 0].astype(int)]

    def decision_function(self, X):
        return self.score_samples(X) - 0.4


def test_builtin_roc_auc_scorer_inverts_with_zero_one_labels():
    """DESIGN.md's warning, shown: sklearn's "roc_auc" takes the larger label as positive."""
    est, X = _FixedScores().fit(None), np.arange(5)[:, None]
    y01 = (Y_PM == -1).astype(int)  # 1 = anomaly
    builtin = get_scorer("roc_auc")
    assert builtin(est, X, Y_PM) == pytest.approx(AUC)  # +1 positive: right by symmetry
    assert builtin(est, X, y01) == pytest.approx(1 - AUC)  # inverted: 1/3, not 2/3
    assert anomaly_auc_scorer(est, X, Y_PM) == anomaly_auc_scorer(est, X, y01) == \
        pytest.approx(AUC)


def test_builtin_average_precision_scorer_scores_the_normal_class():
    est, X = _FixedScores().fit(None), np.arange(5)[:, None]
    # With +1/-1 labels the positive class is +1 (normal): that is the normal beats' AP.
    # Ranked by decreasing normality N(0.9) A N(0.3) N(0.2) A: (1 + 2/3 + 3/4) / 3.
    normal_ap = (1 + 2 / 3 + 3 / 4) / 3
    assert get_scorer("average_precision")(est, X, Y_PM) == pytest.approx(normal_ap)
    assert anomaly_ap_scorer(est, X, Y_PM) == pytest.approx(AP)


def test_scorers_registry():
    assert sorted(SCORERS) == ["ap", "auc"]
    assert SCORERS["auc"] is anomaly_auc_scorer and SCORERS["ap"] is anomaly_ap_scorer


# --------------------------------------------------------------------------- in a search
def test_scorers_inside_grid_search_match_the_metrics_fold_by_fold():
    train = make_synthetic_beats(n_normal=300, n_anomalous=0, random_state=0)
    test = make_synthetic_beats(n_normal=60, n_anomalous=40, random_state=1)
    X = np.concatenate([train.X, test.X])
    y = np.concatenate([train.aami, test.aami])  # AAMI strings work as labels too
    cv = NormalOnlyKFold(n_splits=3, random_state=0)
    search = GridSearchCV(PCADetector(), {"n_components": [1, 10]}, scoring=SCORERS,
                          refit="auc", cv=cv).fit(X, y)
    for i, k in enumerate(search.cv_results_["param_n_components"]):
        aucs, aps = [], []
        for tr, te in cv.split(X, y):
            det = PCADetector(n_components=k).fit(X[tr])
            aucs.append(anomaly_roc_auc(y[te], det.score_samples(X[te])))
            aps.append(anomaly_average_precision(y[te], det.score_samples(X[te])))
        assert search.cv_results_["mean_test_auc"][i] == pytest.approx(np.mean(aucs))
        assert search.cv_results_["mean_test_ap"][i] == pytest.approx(np.mean(aps))
    assert search.best_params_ == {"n_components": 10}
    assert search.best_score_ > 0.95


# --------------------------------------------------------------------------- per class
def test_per_class_scores_by_hand():
    aami = ["N", "N", "N", "V", "V", "S", "F"]
    score = [0.9, 0.8, 0.7, 0.1, 0.85, 0.75, 0.2]
    r = per_class_scores(aami, score)
    assert set(r) == {"S", "V", "F"}  # Q is absent: skipped
    # V: 0.1 below all three normals, 0.85 only below 0.9 -> 4/6; ranked A N N A: (1+1/2)/2.
    assert r["V"] == {"auc": pytest.approx(4 / 6), "ap": pytest.approx(0.75), "n": 2}
    # S: 0.75 below 0.9 and 0.8, above 0.7 -> 2/3; ranked N(0.7) S: precision 1/2.
    assert r["S"] == {"auc": pytest.approx(2 / 3), "ap": pytest.approx(0.5), "n": 1}
    assert r["F"] == {"auc": 1.0, "ap": 1.0, "n": 1}


def test_per_class_scores_compares_each_class_with_normals_only():
    # The S beat is the most anomalous overall, but V is scored against normals alone.
    r = per_class_scores(["N", "N", "V", "S"], [0.9, 0.5, 0.6, 0.0], classes=("V",))
    assert set(r) == {"V"} and r["V"]["auc"] == 0.5


def test_per_class_scores_without_normal_beats_is_empty():
    assert per_class_scores(["V", "S"], [0.1, 0.2]) == {}



def test_context_scorer_routes_each_test_folds_groups_through_a_pipeline():
    import sklearn
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from beatdetect.baselines import make_detector
    from beatdetect.datasets import make_synthetic_beats
    from beatdetect.metrics import ContextScorer
    from beatdetect.model_selection import NormalOnlyKFold

    data = make_synthetic_beats(n_normal=200, n_anomalous=40, random_state=0)
    groups = np.repeat(["a", "b", "c"], 80)
    cv = NormalOnlyKFold(2, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        det = make_detector("knn+context").set_fit_request(groups=True, rr=True)
        pipe = make_pipeline(FunctionTransformer(), det)
        search = GridSearchCV(pipe, {"contextdetector__w_rhythm": [0.0, 1.0]},
                              scoring=ContextScorer("ap"), cv=cv, refit=False)
        search.fit(data.X, data.y, groups=groups)
        train, test = next(cv.split(data.X, data.y))
        fitted = clone(pipe).set_params(contextdetector__w_rhythm=0.0).fit(
            data.X[train], groups=groups[train])
    expected = anomaly_average_precision(
        data.y[test], fitted[-1].score_samples(data.X[test], groups=groups[test]))
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="metric must be"):
        ContextScorer("f1")

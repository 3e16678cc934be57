"""ContextDetector: any detector's score with the beat's recording and rhythm (issues 19, 21)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from beatdetect import SIBeatGANDetector
from beatdetect.baselines import PCADetector, make_detector
from beatdetect.context import MIN_RECORDING_BEATS, ContextDetector
from beatdetect.datasets import make_synthetic_beats
from beatdetect.metrics import anomaly_roc_auc


@pytest.fixture(scope="module")
def premature():
    """Normal-shaped beats, 20 of them premature by their RR intervals (y = -1)."""
    rng = np.random.default_rng(0)
    X = make_synthetic_beats(n_normal=330, n_anomalous=0, random_state=2).X
    rr = np.abs(1 + 0.03 * rng.standard_normal((len(X), 3)))
    early = rng.choice(len(X), 20, replace=False)
    rr[early, 0], rr[early, 1] = 0.6, 1.4
    y = np.ones(len(X), dtype=int)
    y[early] = -1
    return X, rr, y


@pytest.fixture(scope="module")
def knn_context(beats):
    return make_detector("knn+context").fit(beats[0].X[:600])


class FitSpy(OutlierMixin, BaseEstimator):
    """A detector that records whether it was fitted (score: the first value of a beat)."""

    def fit(self, X, y=None):
        FitSpy.fitted = True
        return self

    def score_samples(self, X):
        return -np.asarray(X).reshape(len(X), -1)[:, 0]


# --------------------------------------------------------------------------- the parts
def test_recording_template_rescues_a_recording_unlike_the_training_beats(knn_context, beats):
    # A new lead of opposite polarity: every beat is far from the training beats, so the
    # detector alone ranks anomalies anywhere; against the recording's own median beat the
    # anomalies stand out again.
    test, det = beats[1], knn_context
    groups = np.full(len(test.X), "new recording")
    alone = anomaly_roc_auc(test.y, det.score_samples(-test.X))
    with_groups = anomaly_roc_auc(test.y, det.score_samples(-test.X, groups=groups))
    assert alone < 0.5 and with_groups > 0.98
    parts = det.score_components(-test.X, groups=groups)
    np.testing.assert_array_equal(parts["anomaly"], np.minimum(parts["model"],
                                                               parts["recording"]))


def test_without_context_the_score_ranks_as_the_detector_does(knn_context, beats):
    test = beats[1].X
    np.testing.assert_array_equal(np.argsort(knn_context.score_samples(test)),
                                  np.argsort(knn_context.detector_.score_samples(test)))


def test_recordings_seen_in_fit_are_judged_against_the_training_beats(beats):
    train, test = beats
    det = make_detector("knn+context").fit(train.X[:600], groups=np.repeat(["a", "b"], 300))
    assert det.fit_groups_ == ["a", "b"]
    seen = np.full(len(test.X), "a")
    np.testing.assert_array_equal(det.score_samples(test.X, groups=seen),
                                  det.score_samples(test.X))
    assert "recording" not in det.score_components(test.X, groups=seen)
    mixed = np.where(np.arange(len(test.X)) < 100, "a", "c")
    recording = det.score_components(test.X, groups=mixed)["recording"]
    assert np.isnan(recording[:100]).all() and np.isfinite(recording[100:]).all()


def test_rhythm_ranks_premature_beats_of_normal_shape(knn_context, beats, premature):
    X, rr, y = premature
    assert anomaly_roc_auc(y, knn_context.score_samples(X, rr=rr)) == 1.0
    assert anomaly_roc_auc(y, knn_context.score_samples(X)) < 0.7  # the shape says nothing
    # Without rr in fit the rhythm reference comes from the scored beats; with it, from fit.
    assert "rhythm" not in knn_context.references_
    fitted_rr = np.abs(1 + 0.03 * np.random.default_rng(1).standard_normal((600, 3)))
    det_rr = make_detector("knn+context").fit(beats[0].X[:600], rr=fitted_rr)
    assert "rhythm" in det_rr.references_
    assert anomaly_roc_auc(y, det_rr.score_samples(X, rr=rr)) == 1.0


def test_w_rhythm_zero_ignores_rr(beats, premature):
    X, rr, _ = premature
    det = make_detector("knn+context", w_rhythm=0.0).fit(beats[0].X[:600])
    np.testing.assert_array_equal(det.score_samples(X, rr=rr), det.score_samples(X))


def test_score_components_add_up_to_the_score(knn_context, premature):
    X, rr, _ = premature
    groups = np.repeat(["p", "q"], [165, 165])
    parts = knn_context.score_components(X, groups=groups, rr=rr)
    assert set(parts) == {"model", "morphology", "recording", "rhythm", "anomaly"}
    expected = np.minimum(parts["model"], parts["recording"]) + parts["rhythm"]
    np.testing.assert_allclose(parts["anomaly"], expected)
    np.testing.assert_array_equal(-parts["anomaly"],
                                  knn_context.score_samples(X, groups=groups, rr=rr))


def test_fit_predict_and_predict_pass_the_context(beats, premature):
    X, rr, _ = premature
    det = make_detector("knn+context")
    labels = det.fit_predict(X, rr=rr)
    np.testing.assert_array_equal(labels, det.predict(X, rr=rr))
    assert (labels == -1).sum() < len(X) // 2


def test_context_only_references_score_by_the_context(beats):
    train, test = beats
    groups = np.full(len(test.X), "r")
    template = make_detector("template").fit(train.X[:200])
    # The recording's own median beat, standardised: the ranking of the template distance.
    from beatdetect.context import template_distances

    expected = template_distances(test.X, groups)
    np.testing.assert_array_equal(np.argsort(-template.score_samples(test.X, groups=groups)),
                                  np.argsort(expected, kind="stable"))
    # Without groups it falls back on the median training beat, and still ranks anomalies.
    assert anomaly_roc_auc(test.y, template.score_samples(test.X)) > 0.9


def test_knn_in_context_holds_nothing_out_and_others_do(beats):
    assert make_detector("knn+context").holdout == 0.0
    assert make_detector("pca+context").holdout == 0.1
    det = ContextDetector(PCADetector(n_components=5), holdout=0.1, random_state=0)
    det.fit(beats[0].X[:200])
    # 20 held-out beats: the detector never saw them, so it was fitted on 180.
    assert det.detector_.pca_.n_samples_ == 180


# --------------------------------------------------------------------------- groups (D1, D4)
@pytest.mark.parametrize("groups", [
    np.array([i if i % 2 else str(i) for i in range(50)], dtype=object),
    [None] * 50,
    ["x"] * 25 + [np.nan] * 25,
], ids=["mixed int and str", "None", "NaN"])
def test_bad_groups_are_refused_naming_groups_before_any_training(beats, groups):
    FitSpy.fitted = False
    det = ContextDetector(FitSpy(), holdout=0.0)
    with pytest.raises(ValueError, match="^groups "):
        det.fit(beats[0].X[:50], groups=groups)
    assert not FitSpy.fitted  # validation came before training


def test_pandas_missing_group_ids_are_refused(beats):
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="groups has 25 missing recording id"):
        make_detector("knn+context").fit(beats[0].X[:50],
                                         groups=pd.Series(["x"] * 25 + [np.nan] * 25))


def test_a_bad_group_when_scoring_names_groups(knn_context, beats):
    groups = ["a"] * 9 + [None]
    with pytest.raises(ValueError, match="groups has 1 missing recording id"):
        knn_context.score_samples(beats[1].X[:10], groups=groups)


def test_integer_and_float_ids_of_equal_value_are_the_same_recording(beats):
    train, test = beats
    ints = np.repeat([0, 1, 2], 100)
    det = make_detector("knn+context").fit(train.X[:300], groups=ints)
    assert det.fit_groups_ == ["0", "1", "2"]
    floats = np.repeat([0.0, 1.0], [100, 110])
    np.testing.assert_array_equal(det.score_samples(test.X, groups=floats),
                                  det.score_samples(test.X, groups=floats.astype(int)))
    # Recordings seen in fit: no template part, so the same as scoring without groups.
    np.testing.assert_array_equal(det.score_samples(test.X, groups=floats),
                                  det.score_samples(test.X))


# --------------------------------------------------------------------------- refits (D2)
@pytest.mark.parametrize("name", ["knn+context", "sibeatgan+context"])
def test_failed_refit_leaves_the_old_detector_intact(beats, tiny_gan, name):
    train, test = beats
    inner = {f"detector__{k}": v for k, v in tiny_gan.items()} if "sibeatgan" in name else {}
    det = make_detector(name, random_state=0, **inner)
    det.fit(train.X[:150], groups=np.repeat(["a", "b", "c"], 50))
    before = (det.score_samples(test.X), det.offset_, dict(det.references_), det.fit_groups_)
    mixed = np.array([i if i % 2 else str(i) for i in range(150)], dtype=object)
    with pytest.raises(ValueError, match="groups mixes strings and numbers"):
        det.fit(train.X[150:300] * 0.5, groups=mixed)
    np.testing.assert_array_equal(det.score_samples(test.X), before[0])
    assert (det.offset_, det.references_, det.fit_groups_) == before[1:]


def test_failed_first_fit_leaves_the_detector_unfitted(beats):
    det = make_detector("knn+context")
    with pytest.raises(ValueError, match="groups"):
        det.fit(beats[0].X[:50], groups=[None] * 50)
    with pytest.raises(NotFittedError):
        det.score_samples(beats[1].X)


# --------------------------------------------------------------------------- short recordings (D3)
def test_a_beat_in_a_recording_of_its_own_is_judged_against_the_training_beats(knn_context,
                                                                                beats):
    test = beats[1]
    one_each = np.arange(len(test.X)).astype(str)  # one recording per beat
    with pytest.warns(UserWarning, match=rf"{len(test.X)} beat\(s\) in {len(test.X)} "
                      rf"recording\(s\) with fewer than {MIN_RECORDING_BEATS} beats"):
        scores = knn_context.score_samples(test.X, groups=one_each)
    np.testing.assert_array_equal(scores, knn_context.score_samples(test.X))
    assert anomaly_roc_auc(test.y, scores) > 0.95  # anomalies are not judged against themselves


def test_a_short_strip_falls_back_and_a_long_one_uses_its_median(knn_context, beats):
    test = beats[1].X
    n_short = MIN_RECORDING_BEATS - 1
    groups = np.where(np.arange(len(test)) < n_short, "strip", "long")
    with pytest.warns(UserWarning, match=rf"^{n_short} beat\(s\) in 1 recording\(s\)"):
        parts = knn_context.score_components(test, groups=groups)
    assert np.isnan(parts["recording"][:n_short]).all()
    assert np.isfinite(parts["recording"][n_short:]).all()
    np.testing.assert_array_equal(parts["anomaly"][:n_short], parts["model"][:n_short])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # whole recordings: no warning
        knn_context.score_samples(test, groups=np.full(len(test), "whole"))


# --------------------------------------------------------------------------- pipelines
@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_groups_and_rr_reach_the_detector_through_a_pipeline(routing, beats, premature):
    """Metadata routing: fit, decision_function and predict pass groups and rr; the score
    of the pipeline is the last step's on the transformed beats."""
    X, rr, _ = premature
    groups = np.repeat(["p", "q"], [165, 165])
    det = make_detector("knn+context").set_fit_request(groups=True, rr=True) \
        .set_decision_function_request(groups=True, rr=True) \
        .set_predict_request(groups=True, rr=True)
    pipe = make_pipeline(FunctionTransformer(), det).fit(X, groups=groups, rr=rr)
    alone = make_detector("knn+context").fit(X, groups=groups, rr=rr)
    assert pipe[-1].fit_groups_ == ["p", "q"] and "rhythm" in pipe[-1].references_
    new = np.repeat(["n"], len(X))
    expected = alone.decision_function(X, groups=new, rr=rr)
    np.testing.assert_array_equal(pipe.decision_function(X, groups=new, rr=rr), expected)
    np.testing.assert_array_equal(pipe.predict(X, groups=new, rr=rr),
                                  alone.predict(X, groups=new, rr=rr))
    # Pipeline.score_samples routes no metadata (scikit-learn offers no
    # set_score_samples_request); the documented way to the scores themselves is the last
    # step on the transformed beats.
    np.testing.assert_array_equal(
        pipe[-1].score_samples(pipe[:-1].transform(X), groups=new, rr=rr),
        alone.score_samples(X, groups=new, rr=rr))
    np.testing.assert_allclose(pipe.decision_function(X, groups=new, rr=rr),
                               alone.score_samples(X, groups=new, rr=rr) - alone.offset_)


def test_sibeatgan_in_context_scores_as_the_gan_without_context(beats, tiny_gan):
    train, test = beats
    inner = {f"detector__{k}": v for k, v in tiny_gan.items()}
    det = make_detector("sibeatgan+context", **inner).fit(train.X[:300])
    assert isinstance(det.detector_, SIBeatGANDetector)
    np.testing.assert_array_equal(np.argsort(det.score_samples(test.X)),
                                  np.argsort(det.detector_.score_samples(test.X)))

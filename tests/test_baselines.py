"""Baseline detectors: the shared outlier-detector contract, ranking power, each one's specifics."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from beatdetect import SIBeatGANDetector
from beatdetect.base import tukey_offset
from beatdetect.baselines import (
    BASELINES,
    AutoencoderDetector,
    BeatAutoencoder,
    BeatFlattener,
    IsolationForestDetector,
    KNNDetector,
    OneClassSVMDetector,
    PCADetector,
    PyODDetector,
    detector_names,
    make_detector,
)
from beatdetect.datasets import make_synthetic_beats
from beatdetect.metrics import SCORERS, anomaly_average_precision, anomaly_roc_auc
from beatdetect.model_selection import NormalOnlyKFold

#: Autoencoder that learns the synthetic beats in ~130 steps (lr 1e-3, as in test_detector).
AE_FAST = dict(base_filters=8, latent_dim=16, lr=1e-3, batch_size=16, max_epochs=8,
               device="cpu", random_state=0)
#: Autoencoder for contract tests: one cheap epoch, nothing learned.
AE_TINY = dict(base_filters=4, n_layers=3, latent_dim=4, batch_size=32, max_epochs=1,
               device="cpu", random_state=0)


def _pyod_knn(**params):
    knn = pytest.importorskip("pyod.models.knn")
    return PyODDetector(detector=knn.KNN(), **params)


#: A fast configuration of each baseline, by registry name.
FAST = {
    "knn": lambda **p: KNNDetector(n_neighbors=3, **p),
    "pca": lambda **p: PCADetector(n_components=10, **p),
    "iforest": lambda **p: IsolationForestDetector(n_estimators=50, random_state=0, **p),
    "ocsvm": lambda **p: OneClassSVMDetector(nu=0.1, max_train=200, random_state=0, **p),
    "ae": lambda **p: AutoencoderDetector(**{**AE_TINY, **p}),
    "pyod": _pyod_knn,
}
NAMES = list(FAST)
#: Seeded detectors whose fitted state depends on random_state.
SEEDED = ["iforest", "ocsvm", "ae"]
#: Anomaly-positive AUC floors on the synthetic beats, a margin below what each reaches.
AUC_FLOOR = {"knn": 0.95, "pca": 0.95, "iforest": 0.9, "ocsvm": 0.95,
             "ae": 0.95, "pyod": 0.95}


@pytest.fixture(scope="module")
def beats():
    train = make_synthetic_beats(n_normal=256, n_anomalous=0, random_state=0)
    test = make_synthetic_beats(n_normal=150, n_anomalous=60, random_state=1)
    return train, test


@pytest.fixture(scope="module")
def fit_once(beats):
    """``fit_once(name)``: that baseline fitted on the normal training beats, fitted once."""
    cache = {}

    def get(name):
        if name not in cache:
            # The autoencoder gets enough steps to learn the beats.
            det = AutoencoderDetector(**AE_FAST) if name == "ae" else FAST[name]()
            cache[name] = det.fit(beats[0].X)
        return cache[name]

    return get


@pytest.fixture(params=NAMES)
def fitted(request, fit_once):
    return request.param, fit_once(request.param)


# --------------------------------------------------------------------------- the contract
def test_score_samples_is_float64_one_per_beat(fitted, beats):
    _, det = fitted
    scores = det.score_samples(beats[1].X)
    assert scores.dtype == np.float64 and scores.shape == (len(beats[1].X),)
    assert np.isfinite(scores).all()
    assert det.n_leads_ == 1 and det.beat_length_ == 320 and det.n_features_in_ == 320


def test_ranks_injected_anomalies_above_normal_beats(fitted, beats):
    name, det = fitted
    test = beats[1]
    scores = det.score_samples(test.X)
    assert anomaly_roc_auc(test.y, scores) > AUC_FLOOR[name]
    assert anomaly_average_precision(test.y, scores) > AUC_FLOOR[name] - 0.1


def test_predict_is_minus_one_exactly_where_decision_is_negative(fitted, beats):
    _, det = fitted
    X = beats[1].X
    decision = det.decision_function(X)
    np.testing.assert_array_equal(decision, det.score_samples(X) - det.offset_)
    labels = det.predict(X)
    np.testing.assert_array_equal(labels, np.where(decision < 0, -1, 1))
    assert labels.dtype.kind == "i" and set(labels.tolist()) == {-1, 1}


def test_contamination_auto_is_tukey_fence(fitted, beats):
    _, det = fitted
    assert det.offset_ == pytest.approx(tukey_offset(det.score_samples(beats[0].X)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("contamination", [0.05, 0.2])
def test_contamination_float_flags_that_fraction_of_training_beats(beats, name, contamination):
    X = beats[0].X[:200]
    flagged = FAST[name](contamination=contamination).fit_predict(X) == -1
    assert flagged.mean() == pytest.approx(contamination, abs=0.01)


@pytest.mark.parametrize("contamination", [0.05, 0.2])
def test_training_beats_score_as_in_fit_leave_one_out(beats, contamination):
    """A stored training beat is scored against the others, in fit and afterwards."""
    X = beats[0].X[:200]
    det = KNNDetector(n_neighbors=2, contamination=contamination).fit(X)
    rows = X.reshape(len(X), -1)
    loo = NearestNeighbors(n_neighbors=2).fit(rows).kneighbors()[0].mean(axis=1)
    np.testing.assert_allclose(det.score_samples(X), -loo, rtol=1e-6)
    assert (det.predict(X) == -1).mean() == pytest.approx(contamination, abs=0.01)
    # A beat not in training, even one value away from a training beat, is not left out.
    nearest = KNNDetector().fit(X)
    nudged = X[:1].copy()
    nudged[0, 0, 100] += 1e-3
    assert -nearest.score_samples(nudged)[0] == pytest.approx(1e-3, rel=1e-3)
    assert -nearest.score_samples(X[:1])[0] > 0.01


def test_2d_and_3d_inputs_score_identically(fitted, beats):
    _, det = fitted
    X = beats[1].X
    np.testing.assert_array_equal(det.score_samples(X[:, 0, :]), det.score_samples(X))


@pytest.mark.parametrize("name", NAMES)
def test_fit_on_2d_and_3d_gives_the_same_model(beats, name):
    X, X_test = beats[0].X[:128], beats[1].X
    s2 = FAST[name]().fit(X[:, 0, :]).score_samples(X_test)
    s3 = FAST[name]().fit(X).score_samples(X_test)
    np.testing.assert_array_equal(s2, s3)


@pytest.mark.parametrize("name", NAMES)
def test_same_random_state_same_scores(beats, name):
    X, X_test = beats[0].X[:128], beats[1].X
    first = FAST[name]().fit(X).score_samples(X_test)
    np.testing.assert_array_equal(FAST[name]().fit(X).score_samples(X_test), first)


@pytest.mark.parametrize("name", SEEDED)
def test_other_random_state_other_scores(beats, name):
    X, X_test = beats[0].X[:128], beats[1].X
    params = {"max_train": 64} if name == "ocsvm" else {}  # the seed draws the subsample
    a = FAST[name]().set_params(**params).fit(X).score_samples(X_test)
    b = FAST[name]().set_params(**params, random_state=1).fit(X).score_samples(X_test)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_multi_lead_beats(name):
    data = make_synthetic_beats(n_normal=64, n_anomalous=0, n_leads=2, random_state=0)
    det = FAST[name]().fit(data.X)
    assert det.n_leads_ == 2 and det.n_features_in_ == 640
    assert det.score_samples(data.X[:5]).shape == (5,)


def test_pickle_round_trip(fitted, beats):
    _, det = fitted
    loaded = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(loaded.score_samples(beats[1].X), det.score_samples(beats[1].X))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.full((10, 320), np.nan, dtype=np.float32), "NaN"),
        (np.zeros((4, 1, 1, 320), dtype=np.float32), "4 dimensions"),
        (np.zeros((0, 320), dtype=np.float32), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|numbers"),
    ],
)
def test_bad_training_input(name, X, match):
    with pytest.raises(ValueError, match=match):
        FAST[name]().fit(X)


def test_other_beat_shape_at_predict(fitted):
    _, det = fitted
    with pytest.raises(ValueError, match=r"fitted on beats of shape \(1, 320\)"):
        det.score_samples(np.zeros((3, 2, 320), dtype=np.float32))
    with pytest.raises(ValueError, match="X has 300 features"):
        det.predict(np.zeros((3, 300), dtype=np.float32))


@pytest.mark.parametrize(
    ("det", "match"),
    [
        (PCADetector(n_components=-1), "n_components"),
        (PCADetector(svd_solver="magic"), "svd_solver"),
        (IsolationForestDetector(n_estimators=0), "n_estimators"),
        (OneClassSVMDetector(nu=2.0), "nu"),
        (OneClassSVMDetector(max_train=0), "max_train"),
        (AutoencoderDetector(lr=-1.0), "lr"),
        (AutoencoderDetector(batch_size=1), "batch_size"),
        (AutoencoderDetector(module="not a module"), "module"),
        (PyODDetector(detector="knn"), "detector"),
        (PCADetector(contamination=0.7), "contamination"),
    ],
)
def test_bad_parameters_rejected_at_fit(det, match):
    with pytest.raises(ValueError, match=match):
        det.fit(np.zeros((8, 320), dtype=np.float32))


# --------------------------------------------------------------------------- PCA
def test_pca_score_is_mean_squared_residual_of_projection(beats):
    X = beats[1].X[:20, 0, :].astype(np.float64)
    det = PCADetector(n_components=5).fit(beats[0].X)
    centred = X - det.pca_.mean_
    residual = centred - centred @ det.pca_.components_.T @ det.pca_.components_
    np.testing.assert_allclose(-det.score_samples(X), (residual**2).mean(axis=1), rtol=1e-10)
    np.testing.assert_allclose(det.reconstruct(X)[:, 0, :], X - residual, atol=1e-6)


def test_pca_whitening_leaves_the_score_unchanged(beats):
    X = beats[1].X
    plain = PCADetector(n_components=10).fit(beats[0].X).score_samples(X)
    white = PCADetector(n_components=10, whiten=True).fit(beats[0].X).score_samples(X)
    np.testing.assert_allclose(white, plain, rtol=1e-6)


def test_pca_variance_fraction_picks_components(beats):
    det = PCADetector(n_components=0.95).fit(beats[0].X)
    assert 1 <= det.pca_.n_components_ < 320
    assert det.pca_.explained_variance_ratio_.sum() >= 0.95


# --------------------------------------------------------------------------- isolation forest
def test_iforest_forwards_parameters_and_negates_forest_score(beats):
    X = beats[0].X
    det = IsolationForestDetector(n_estimators=20, max_samples=64, random_state=3).fit(X)
    assert det.forest_.n_estimators == 20 and det.forest_.max_samples == 64
    forest = IsolationForest(n_estimators=20, max_samples=64, random_state=3).fit(X[:, 0, :])
    np.testing.assert_allclose(det.score_samples(beats[1].X), forest.score_samples(
        beats[1].X[:, 0, :]), rtol=1e-12)


# --------------------------------------------------------------------------- one-class SVM
def test_ocsvm_max_train_is_a_seeded_subsample(beats):
    X = beats[0].X
    a = OneClassSVMDetector(max_train=50, random_state=0).fit(X)
    b = OneClassSVMDetector(max_train=50, random_state=0).fit(X)
    c = OneClassSVMDetector(max_train=50, random_state=1).fit(X)
    assert len(a.train_index_) == 50 and (np.diff(a.train_index_) > 0).all()
    np.testing.assert_array_equal(a.train_index_, b.train_index_)
    assert not np.array_equal(a.train_index_, c.train_index_)
    assert a.svm_.shape_fit_ == (50, 320)
    assert OneClassSVMDetector(max_train=10_000).fit(X).train_index_ is None


# --------------------------------------------------------------------------- autoencoder
def test_autoencoder_module_is_on_cpu_in_eval_mode_with_history(fit_once, beats):
    det = fit_once("ae")
    assert next(det.module_.parameters()).device.type == "cpu" and not det.module_.training
    assert det.n_iter_ == AE_FAST["max_epochs"] == len(det.history_)
    losses = [h["train_loss"] for h in det.history_]
    assert losses[-1] < 0.2 * losses[0]
    assert det.reconstruct(beats[1].X[:4]).shape == (4, 1, 320)


def test_autoencoder_is_beatgan_generator_without_the_discriminator(beats):
    """The ablation: same generator architecture as SIBeatGANDetector, trained on MSE only."""
    sizes = dict(base_filters=4, n_layers=3, latent_dim=4, max_epochs=1, device="cpu",
                 random_state=0)
    X = beats[0].X[:64]
    ae = AutoencoderDetector(**sizes).fit(X)
    gan = SIBeatGANDetector(**sizes, mixed_precision=False).fit(X)
    ae_shapes = {k: v.shape for k, v in ae.module_.generator.state_dict().items()}
    gan_shapes = {k: v.shape for k, v in gan.generator_.state_dict().items()}
    assert ae_shapes == gan_shapes
    assert not hasattr(ae, "discriminator_")
    # Same optimiser defaults as BeatGAN.
    defaults = AutoencoderDetector().get_params()
    assert (defaults["lr"], defaults["beta1"], defaults["batch_size"]) == (1e-4, 0.5, 64)


def test_autoencoder_fit_leaves_global_torch_rng_alone(beats):
    state = torch.get_rng_state()
    AutoencoderDetector(**AE_TINY).fit(beats[0].X[:64])
    assert torch.equal(state, torch.get_rng_state())


def test_autoencoder_final_batch_of_one_is_dropped(beats):
    det = AutoencoderDetector(**AE_TINY).fit(beats[0].X[:33])  # batches of 32 and 1
    assert np.isfinite(det.history_[0]["train_loss"])


def test_autoencoder_needs_two_beats():
    with pytest.raises(ValueError, match="at least 2 beats"):
        AutoencoderDetector(**AE_TINY).fit(np.zeros((1, 320), dtype=np.float32))


def test_autoencoder_scoring_never_moves_or_changes_its_module(fit_once, beats, monkeypatch):
    import copy

    def forbidden(*args, **kwargs):
        raise AssertionError("scoring changed the fitted module")

    det = copy.deepcopy(fit_once("ae"))  # the patches stay on this copy
    expected = det.score_samples(beats[1].X[:16])
    for method in ("to", "cpu", "cuda", "train", "eval"):
        monkeypatch.setattr(det.module_, method, forbidden)
    np.testing.assert_array_equal(det.score_samples(beats[1].X[:16]), expected)
    assert det.reconstruct(beats[1].X[:4]).shape == (4, 1, beats[1].X.shape[-1])


def test_autoencoder_concurrent_scoring_matches_single_threaded(fit_once, beats):
    from concurrent.futures import ThreadPoolExecutor

    det, X = fit_once("ae"), beats[1].X
    expected = det.score_samples(X)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: det.score_samples(X), range(8)))
    for scores in results:
        np.testing.assert_array_equal(scores, expected)


class _LinearAutoencoder(nn.Module):
    """A plug-in module: flatten, bottleneck, unflatten."""

    def __init__(self, n_features=320, hidden=8):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(n_features, hidden),
                                 nn.Linear(hidden, n_features))

    def forward(self, x):
        return self.net(x).view_as(x)  # (B, C*L) -> (B, C, L)


def test_autoencoder_accepts_any_reconstruction_module_class(beats):
    det = AutoencoderDetector(module=_LinearAutoencoder, module_params={"hidden": 4},
                              **AE_TINY).fit(beats[0].X[:64])
    assert isinstance(det.module_, _LinearAutoencoder)
    assert det.module_.net[1].out_features == 4
    assert det.score_samples(beats[1].X).shape == (len(beats[1].X),)


def test_autoencoder_module_instance_is_copied_not_trained(beats):
    module = BeatAutoencoder(base_filters=4, n_layers=3, latent_dim=4)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    det = AutoencoderDetector(module=module, **AE_TINY).fit(beats[0].X[:64])
    assert det.module_ is not module
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_autoencoder_module_params_need_a_module_class(beats):
    module = BeatAutoencoder(base_filters=4, n_layers=3, latent_dim=4)
    with pytest.raises(ValueError, match="module_params configure a module class"):
        AutoencoderDetector(module=module, module_params={"latent_dim": 2},
                            **AE_TINY).fit(beats[0].X[:8])


def test_autoencoder_rejects_module_with_wrong_output_shape(beats):
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(320, 3)

        def forward(self, x):
            return self.fc(x.flatten(1))

    with pytest.raises(ValueError, match=r"shaped like its input .* got \(2, 3\)"):
        AutoencoderDetector(module=Encoder, **AE_TINY).fit(beats[0].X[:8])


def test_autoencoder_verbose_prints_skorch_table(beats, capsys):
    AutoencoderDetector(**{**AE_TINY, "verbose": 1}).fit(beats[0].X[:32])
    assert "train_loss" in capsys.readouterr().out
    AutoencoderDetector(**AE_TINY).fit(beats[0].X[:32])
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("device", ["tpu", "meta", "", "cuda:x", torch.device("meta"), None])
def test_autoencoder_unsupported_device_rejected_with_the_other_parameters(device):
    """The same device constraint as SIBeatGANDetector: refused in parameter validation,
    not later inside torch."""
    with pytest.raises(InvalidParameterError, match=r"'device' parameter of "
                                                    r"AutoencoderDetector must be \"auto\""):
        AutoencoderDetector(device=device).fit(np.zeros((8, 320), dtype=np.float32))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_autoencoder_cuda_requested_without_gpu_is_a_clear_error(beats):
    with pytest.raises(ValueError, match="cuda"):
        AutoencoderDetector(**{**AE_TINY, "device": "cuda"}).fit(beats[0].X[:8])


# --------------------------------------------------------------------------- PyOD adapter
def test_pyod_adapter_maps_orientation(beats):
    det = _pyod_knn().fit(beats[0].X)
    test = beats[1]
    # PyOD: higher = more anomalous; beatdetect: higher = more normal.
    np.testing.assert_array_equal(det.score_samples(test.X),
                                  -det.detector_.decision_function(test.X[:, 0, :]))
    assert anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    flagged = det.predict(test.X) == -1
    assert flagged[test.y == -1].mean() > 0.9 and flagged[test.y == 1].mean() < 0.1


def test_pyod_adapter_clones_the_given_detector(beats):
    det = _pyod_knn()
    det.fit(beats[0].X[:64])
    assert det.detector_ is not det.detector
    assert not hasattr(det.detector, "decision_scores_")  # the parameter stays unfitted


def test_pyod_missing_is_a_clear_import_error(monkeypatch, beats):
    monkeypatch.setitem(sys.modules, "pyod.models.knn", None)  # import now fails
    with pytest.raises(ImportError, match="pip install pyod"):
        PyODDetector().fit(beats[0].X[:16])


# --------------------------------------------------------------------------- flattener
def test_flattener_lays_leads_one_after_the_other():
    X = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    flat = BeatFlattener().fit_transform(X)
    assert flat.shape == (2, 12) and flat.dtype == np.float64
    np.testing.assert_array_equal(flat[1], X[1].ravel())
    assert BeatFlattener().fit_transform(X.astype(np.float32)).dtype == np.float32
    names = BeatFlattener().fit(X).get_feature_names_out()
    assert names[0] == "lead0_t0" and names[4] == "lead1_t0" and len(names) == 12


def test_flattener_passes_2d_through_and_checks_shape():
    X = np.random.default_rng(0).normal(size=(5, 6))
    flattener = BeatFlattener().fit(X)
    np.testing.assert_array_equal(flattener.transform(X), X)
    with pytest.raises(ValueError, match="fitted on"):
        BeatFlattener().fit(X.reshape(5, 2, 3)).transform(X.reshape(5, 3, 2))


def test_flattener_puts_a_2d_model_in_a_pipeline(beats):
    pipe = make_pipeline(BeatFlattener(), IsolationForest(random_state=0)).fit(beats[0].X)
    scores = pipe.score_samples(beats[1].X)
    assert anomaly_roc_auc(beats[1].y, scores) > 0.9


# --------------------------------------------------------------------------- registry
def test_registry_names_and_classes():
    expected = {"knn": KNNDetector, "pca": PCADetector,
                "iforest": IsolationForestDetector, "ocsvm": OneClassSVMDetector,
                "ae": AutoencoderDetector, "pyod": PyODDetector}
    assert expected == BASELINES
    assert detector_names() == ["ae", "iforest", "knn", "ocsvm", "pca", "pyod", "rhythm",
                                "sibeatgan", "template"]


def test_context_names_wrap_the_detector_with_nested_parameters():
    from beatdetect.context import ContextDetector

    det = make_detector("KNN+context", detector__n_neighbors=3, w_rhythm=0.5)
    assert isinstance(det, ContextDetector) and isinstance(det.detector, KNNDetector)
    assert (det.detector.n_neighbors, det.w_rhythm) == (3, 0.5)
    template, rhythm = make_detector("template"), make_detector("rhythm")
    assert template.detector is None and (template.recording_template, template.w_rhythm) == \
        (True, 0.0)
    assert rhythm.detector is None and not rhythm.recording_template
    with pytest.raises(ValueError, match="suffix takes a beat detector"):
        make_detector("template+context")


@pytest.mark.parametrize("name", ["knn", "pca", "iforest", "ocsvm", "ae", "pyod"])
def test_make_detector_builds_each_baseline(name):
    det = make_detector(name, contamination=0.1)
    assert type(det) is BASELINES[name] and det.contamination == 0.1


def test_make_detector_knows_sibeatgan_and_ignores_case():
    det = make_detector("SIBeatGAN", w_adv=0.0)
    assert isinstance(det, SIBeatGANDetector) and det.w_adv == 0.0


def test_make_detector_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="Unknown detector 'lstm'.*ae, iforest, knn, ocsvm, pca"):
        make_detector("lstm")


def test_make_detector_bad_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="n_trees"):
        make_detector("iforest", n_trees=5)


# --------------------------------------------------------------------------- model selection
def test_baseline_in_grid_search_with_anomaly_scorers(beats):
    train, test = beats
    X = np.concatenate([train.X, test.X])
    y = np.concatenate([np.ones(len(train.X), dtype=int), test.y])
    search = GridSearchCV(PCADetector(), {"n_components": [2, 10]}, scoring=SCORERS,
                          refit="auc", cv=NormalOnlyKFold(n_splits=3, random_state=0)).fit(X, y)
    assert search.best_score_ > 0.95
    assert search.best_estimator_.n_features_in_ == 320

"""SIBeatGANDetector: the scikit-learn contract, determinism, persistence, bad input."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from beatdetect import SIBeatGANDetector
from beatdetect.base import NONFINITE_ANOMALY, tukey_offset
from beatdetect.datasets import make_synthetic_beats
from beatdetect.gan import Contrastive, Distillation
from beatdetect.metrics import SCORERS, anomaly_roc_auc
from beatdetect.model_selection import NormalOnlyKFold
from beatdetect.nn.augment import ECGAugment, TimeWarp

#: A small network that learns the synthetic beats in about 150 steps, in seconds. A low
#: adversarial weight keeps the discriminator from winning this short run on some seeds
#: and CPUs, so the tests of the mechanics do not hang on one training trajectory.
SMALL = dict(base_filters=8, latent_dim=16, lr=1e-3, lr_schedule="constant", max_epochs=5,
             batch_size=32, w_adv=0.1, mixed_precision=False, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def fitted(beats):
    return SIBeatGANDetector(**SMALL).fit(beats[0].X)


def test_fit_sets_fitted_state(fitted, beats):
    assert fitted.n_leads_ == 1 and fitted.beat_length_ == 320
    assert fitted.n_features_in_ == 320
    assert fitted.n_iter_ == SMALL["max_epochs"] == len(fitted.history_)
    assert {"loss_d", "loss_g", "rec", "adv", "time"} <= set(fitted.history_[0])
    assert next(fitted.generator_.parameters()).device.type == "cpu"
    assert not fitted.generator_.training


def test_training_reduces_reconstruction_error(fitted):
    rec = [h["rec"] for h in fitted.history_]
    assert rec[-1] < 0.2 * rec[0]


def test_ranks_injected_anomalies(fitted, beats):
    test = beats[1]
    scores = fitted.score_samples(test.X)
    assert scores.dtype == np.float64 and scores.shape == (len(test.X),)
    assert anomaly_roc_auc(test.y, scores) > 0.9


def test_predict_is_sign_of_decision_function(fitted, beats):
    X = beats[1].X
    decision = fitted.decision_function(X)
    np.testing.assert_array_equal(decision, fitted.score_samples(X) - fitted.offset_)
    np.testing.assert_array_equal(fitted.predict(X), np.where(decision < 0, -1, 1))
    assert fitted.predict(X).dtype.kind == "i"


def test_contamination_auto_is_tukey_fence_of_training_scores(fitted, beats):
    assert fitted.offset_ == pytest.approx(tukey_offset(fitted.score_samples(beats[0].X)))


@pytest.mark.parametrize("contamination", [0.05, 0.2])
def test_contamination_sets_training_outlier_fraction(beats, contamination):
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 1}, contamination=contamination)
    flagged = det.fit_predict(beats[0].X[:400]) == -1
    assert flagged.mean() == pytest.approx(contamination, abs=0.01)


def test_same_seed_same_scores_bit_for_bit(beats, fitted):
    again = SIBeatGANDetector(**SMALL).fit(beats[0].X)
    np.testing.assert_array_equal(again.score_samples(beats[1].X),
                                  fitted.score_samples(beats[1].X))


def test_other_seed_other_scores(beats, fitted):
    other = SIBeatGANDetector(**{**SMALL, "random_state": 1}).fit(beats[0].X)
    assert not np.array_equal(other.score_samples(beats[1].X), fitted.score_samples(beats[1].X))


def test_fit_leaves_global_torch_rng_alone(beats):
    state = torch.get_rng_state()
    SIBeatGANDetector(**{**SMALL, "max_epochs": 1}).fit(beats[0].X[:64])
    assert torch.equal(state, torch.get_rng_state())


def test_2d_and_3d_inputs_are_the_same_beats(beats, fitted):
    X = beats[1].X
    np.testing.assert_array_equal(fitted.score_samples(X[:, 0, :]), fitted.score_samples(X))
    det2d = SIBeatGANDetector(**{**SMALL, "max_epochs": 1}).fit(beats[0].X[:200, 0, :])
    det3d = SIBeatGANDetector(**{**SMALL, "max_epochs": 1}).fit(beats[0].X[:200])
    np.testing.assert_array_equal(det2d.score_samples(X), det3d.score_samples(X))


def test_multi_lead_beats():
    data = make_synthetic_beats(n_normal=96, n_anomalous=0, n_leads=2, random_state=0)
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 1}).fit(data.X)
    assert det.n_leads_ == 2 and det.reconstruct(data.X[:5]).shape == (5, 2, 320)


def test_any_beat_length_is_padded_and_cropped():
    X = np.random.default_rng(0).uniform(-1, 1, size=(40, 1, 50)).astype(np.float32)
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 1}).fit(X)
    assert det.reconstruct(X).shape == X.shape
    assert det.explain(X).shape == X.shape


def test_explanation_adds_up_to_the_anomaly_score(fitted, beats):
    X = beats[1].X[:20]
    residual = fitted.explain(X)
    assert residual.shape == X.shape and (residual >= 0).all()
    np.testing.assert_allclose(residual.mean(axis=(1, 2)), -fitted.score_samples(X), rtol=1e-5)


def test_explanation_peaks_where_the_beat_was_changed(fitted, beats):
    x = beats[0].X[:1].copy()
    x[0, 0, 250:270] = 1.0  # a square bump in the T-wave region
    residual = fitted.explain(x)[0, 0]
    assert 240 <= int(np.argmax(residual)) <= 280


def test_time_warp_warps_every_training_batch(beats, monkeypatch):
    X, test = beats[0].X[:256], beats[1].X
    small = {**SMALL, "max_epochs": 2}
    warp_batch = TimeWarp.__call__
    calls = []

    def counting(self, x, generator=None):
        y = warp_batch(self, x, generator)
        calls.append((len(x), torch.equal(x, y)))
        return y

    monkeypatch.setattr(TimeWarp, "__call__", counting)
    warped = SIBeatGANDetector(**small, time_warp=TimeWarp(strength=0.2)).fit(X)
    # Every batch of both epochs (256 beats in batches of 32), and each one changed.
    assert [n for n, _ in calls] == [32] * 16 and not any(same for _, same in calls)

    def drawn_but_ignored(self, x, generator=None):
        warp_batch(self, x, generator)  # the same draws from the trainer's random stream,
        return x  # but the networks train on the unwarped beats

    monkeypatch.setattr(TimeWarp, "__call__", drawn_but_ignored)
    ignored = SIBeatGANDetector(**small, time_warp=TimeWarp(strength=0.2)).fit(X)
    monkeypatch.undo()
    plain = SIBeatGANDetector(**small).fit(X)
    scores = warped.score_samples(test)
    assert np.isfinite(scores).all()
    # The warped beats are what the networks learn from, not just the random draws.
    assert not np.array_equal(scores, ignored.score_samples(test))
    assert not np.array_equal(scores, plain.score_samples(test))
    assert warped.history_[0]["rec"] != plain.history_[0]["rec"]


def test_zero_strength_time_warp_is_no_warp_bit_for_bit(beats):
    X, test = beats[0].X[:128], beats[1].X
    small = {**SMALL, "max_epochs": 1}
    plain = SIBeatGANDetector(**small).fit(X)
    off = SIBeatGANDetector(**small, time_warp=TimeWarp(strength=0.0)).fit(X)
    np.testing.assert_array_equal(off.score_samples(test), plain.score_samples(test))


def test_object_parameters_are_nested_parameters():
    det = SIBeatGANDetector(contrastive=Contrastive(augment=ECGAugment(noise=0.1)),
                            time_warp=TimeWarp(strength=0.3))
    params = det.get_params()
    assert params["contrastive__augment__noise"] == 0.1
    assert params["time_warp__strength"] == 0.3
    assert "contrastive=Contrastive(augment=ECGAugment(noise=0.1))" in repr(det)
    assert "time_warp=TimeWarp(strength=0.3)" in repr(det)
    copy = clone(det)
    assert copy.contrastive == det.contrastive and copy.contrastive is not det.contrastive
    assert copy.time_warp == det.time_warp and copy.time_warp is not det.time_warp
    copy.set_params(contrastive__augment__noise=0.2, time_warp__anchor=0.5)
    assert (copy.contrastive.augment.noise, copy.time_warp.anchor) == (0.2, 0.5)
    # The original: as it was.
    assert (det.contrastive.augment.noise, det.time_warp.anchor) == (0.1, None)
    assert SIBeatGANDetector().get_params(deep=True).keys() == \
        SIBeatGANDetector().get_params(deep=False).keys()  # None: no nested parameters


def test_early_stopping_on_held_out_training_beats(beats):
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 30, "lr": 1e-2}, early_stopping=True,
                            n_iter_no_change=1).fit(beats[0].X[:256])
    val = [h["val_rec"] for h in det.history_]
    assert len(val) == det.n_iter_ < 30
    # It stopped at the first epoch that did not improve on the best before it.
    assert val[-1] >= min(val[:-1])
    assert all(val[k] < min(val[:k]) for k in range(1, len(val) - 1))


def test_cosine_schedule_anneals_and_records_lr(beats):
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 2, "lr_schedule": "cosine"})
    det.fit(beats[0].X[:256])
    constant = SIBeatGANDetector(**{**SMALL, "max_epochs": 2}).fit(beats[0].X[:256])
    # Halfway through the cosine the rate is lr / 2; after the last step it is 0.
    assert [h["lr"] for h in det.history_] == pytest.approx([5e-4, 0.0], abs=1e-12)
    assert [h["lr"] for h in constant.history_] == [1e-3, 1e-3]
    # Epoch 1 already ran at lower rates, so the models differ.
    assert not np.array_equal(det.score_samples(beats[1].X), constant.score_samples(beats[1].X))


def test_verbose_reports_epochs_with_eta(beats, capsys):
    SIBeatGANDetector(**{**SMALL, "max_epochs": 2}, verbose=1).fit(beats[0].X[:64])
    err = capsys.readouterr().err
    assert err.count("ETA") == 2 and "epoch   2/2" in err and "beats/s" in err


def test_training_precision_is_recorded(fitted, beats):
    assert fitted.training_precision_ == "float32"
    bf16 = SIBeatGANDetector(**{**SMALL, "max_epochs": 1, "mixed_precision": True})
    assert bf16.fit(beats[0].X[:64]).training_precision_ == "bfloat16"


def test_bfloat16_scoring_close_to_float32(fitted, beats):
    X = beats[1].X
    det = clone(fitted).set_params(mixed_precision=True)
    det.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    fp32, bf16 = fitted.score_samples(X), det.score_samples(X)
    np.testing.assert_allclose(bf16, fp32, rtol=0.1, atol=1e-3)
    assert abs(anomaly_roc_auc(beats[1].y, bf16) - anomaly_roc_auc(beats[1].y, fp32)) < 0.01


def test_pickle_round_trip(fitted, beats):
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.score_samples(beats[1].X),
                                  fitted.score_samples(beats[1].X))


def test_save_load_round_trip_without_pickle(fitted, beats, tmp_path):
    from safetensors import safe_open

    path = fitted.save(tmp_path / "model.safetensors")
    with safe_open(str(path), framework="pt") as f:  # plain tensors + JSON metadata
        assert any(k.startswith("generator.") for k in f.keys())  # noqa: SIM118
    loaded = SIBeatGANDetector.load(path)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.offset_ == fitted.offset_ and loaded.history_ == fitted.history_
    np.testing.assert_array_equal(loaded.score_samples(beats[1].X),
                                  fitted.score_samples(beats[1].X))


def test_load_rejects_foreign_safetensors(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ValueError, match="is not a saved SIBeatGANDetector"):
        SIBeatGANDetector.load(path)


def test_save_before_fit_raises(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SIBeatGANDetector().save(tmp_path / "m.safetensors")


def test_pipeline_clone_and_grid_search(beats):
    train, test = beats
    X = np.concatenate([train.X[:768], test.X])
    y = np.concatenate([np.ones(768, dtype=int), test.y])
    # The plumbing (clone, set_params through the pipeline, scorers, refit).
    det = SIBeatGANDetector(**SMALL)
    pipe = make_pipeline(FunctionTransformer(), det)
    search = GridSearchCV(
        pipe, {"sibeatgandetector__w_adv": [0.0, 1.0]}, scoring=SCORERS, refit="auc",
        cv=NormalOnlyKFold(n_splits=2, random_state=0),
    ).fit(X, y)
    assert set(search.cv_results_["param_sibeatgandetector__w_adv"]) == {0.0, 1.0}
    assert search.best_score_ == max(search.cv_results_["mean_test_auc"])
    assert len(set(search.cv_results_["mean_test_auc"].tolist())) == 2  # w_adv reaches fit
    assert search.best_estimator_[-1].w_adv == search.best_params_["sibeatgandetector__w_adv"]
    assert search.best_estimator_[-1].n_iter_ == 5 and det.get_params()["w_adv"] == 0.1
    assert search.predict(X).shape == (len(X),)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.full((10, 320), np.nan, dtype=np.float32), "NaN"),
        (np.full((10, 320), np.inf, dtype=np.float32), "infinity"),
        (np.zeros(320, dtype=np.float32), "Expected 2D array"),
        (np.zeros((4, 1, 1, 320), dtype=np.float32), "4 dimensions"),
        (np.zeros((0, 320), dtype=np.float32), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|numbers"),
        (np.zeros((1, 320), dtype=np.float32), "at least 2 beats"),
    ],
)
def test_bad_training_input(X, match):
    with pytest.raises(ValueError, match=match):
        SIBeatGANDetector(**SMALL).fit(X)


def test_other_lead_count_at_predict(fitted):
    with pytest.raises(ValueError, match=r"fitted on beats of shape \(1, 320\)"):
        fitted.score_samples(np.zeros((3, 2, 320), dtype=np.float32))


def test_other_length_at_predict(fitted):
    with pytest.raises(ValueError, match="X has 300 features, but SIBeatGANDetector is expecting"):
        fitted.predict(np.zeros((3, 300), dtype=np.float32))


def test_nan_at_predict(fitted):
    X = np.zeros((3, 1, 320), dtype=np.float32)
    X[1, 0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted.decision_function(X)


@pytest.mark.parametrize(
    ("params", "match"),
    [({"contamination": 0.7}, "contamination"), ({"lr": -1.0}, "lr"),
     ({"batch_size": 1}, "batch_size"), ({"mixed_precision": "yes"}, "mixed_precision"),
     ({"lr_schedule": "step"}, "lr_schedule"),
     ({"time_warp": 0.2}, "'time_warp' parameter .* must be an instance of 'beatdetect.nn"),
     ({"time_warp": TimeWarp(strength=2.0)},
      "'time_warp' parameter of SIBeatGANDetector is invalid: The 'strength' parameter of "
      r"TimeWarp must be a float in the range \[0.0, 1.0\]"),
     ({"contrastive": {"w_con": 0.1}}, "'contrastive' parameter"),
     ({"contrastive": Contrastive(augment=ECGAugment(scale=(1.2, 0.8)))},
      "'contrastive' parameter of SIBeatGANDetector is invalid: The 'scale' parameter of "
      r"ECGAugment must be a pair \(low, high\)")],
)
def test_bad_parameters_rejected_at_fit(params, match):
    X = np.zeros((8, 320), dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        SIBeatGANDetector(**params).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="cuda"):
        SIBeatGANDetector(**{**SMALL, "device": "cuda"}).fit(np.zeros((8, 320), np.float32))


@pytest.mark.parametrize("device", ["tpu", "meta", "", "cuda:x", "cuda:-1", " cpu", 0, None,
                                    torch.device("meta")])
def test_unsupported_device_rejected_with_the_other_parameters(device):
    with pytest.raises(ValueError, match="'device' parameter of SIBeatGANDetector must be"):
        SIBeatGANDetector(**{**SMALL, "device": device}).fit(np.zeros((8, 320), np.float32))


@pytest.mark.parametrize("device", ["auto", "cpu", "cpu:0", torch.device("cpu")])
def test_cpu_devices_accepted(device, beats):
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 1, "device": device})
    assert np.isfinite(det.fit(beats[0].X[:64]).score_samples(beats[1].X[:8])).all()


# --------------------------------------------------------------------------- non-finite scores
def test_values_beyond_float32_are_rejected_at_input_validation(fitted):
    X = np.zeros((3, 1, 320))
    X[1, 0, 7] = 1e300
    with pytest.raises(ValueError, match="beyond float32's range"):
        fitted.score_samples(X)
    with pytest.raises(ValueError, match="beyond float32's range"):
        SIBeatGANDetector(**SMALL).fit(np.full((8, 320), -1e39))


@pytest.mark.parametrize("value", [1e20, 1e30])
def test_beats_that_overflow_the_network_score_as_most_anomalous(fitted, beats, value):
    X = beats[1].X[:20].copy()
    X[[3, 11]] = value  # float32, but (x - G(x))**2 overflows
    with pytest.warns(RuntimeWarning, match="2 of 20 beats got a NaN or infinite"):
        scores = fitted.score_samples(X)
    assert np.isfinite(scores).all()
    assert scores[3] == scores[11] == scores.min() == -NONFINITE_ANOMALY
    with pytest.warns(RuntimeWarning):
        assert (fitted.predict(X)[[3, 11]] == -1).all()
    y = np.ones(len(X), dtype=int)
    y[[3, 11]] = -1
    assert anomaly_roc_auc(y, scores) == 1.0  # was a ValueError on -inf scores


def test_a_model_with_nan_weights_flags_every_beat(fitted, beats):
    det = copy.deepcopy(fitted)
    with torch.no_grad():
        for parameter in det.generator_.parameters():
            parameter.fill_(float("nan"))
    X = beats[1].X[:10]
    with pytest.warns(RuntimeWarning, match="10 of 10 beats"):
        scores = det.score_samples(X)
    np.testing.assert_array_equal(scores, -NONFINITE_ANOMALY)
    with pytest.warns(RuntimeWarning):
        np.testing.assert_array_equal(det.predict(X), -1)  # NaN used to compare as normal


# --------------------------------------------------------------------------- scoring is read-only
@pytest.fixture(scope="module")
def every_path(beats):
    """A small fitted detector: scoring, reconstructing and explaining read its generator."""
    return SIBeatGANDetector(**{**SMALL, "max_epochs": 1}).fit(beats[0].X[:128])


def test_scoring_leaves_the_fitted_modules_as_they_are(every_path, beats):
    before = {name: [(m.training, {k: v.clone() for k, v in m.state_dict().items()},
                      {p.device.type for p in m.parameters()})
                     for m in getattr(every_path, name).modules()]
              for name in ("generator_", "discriminator_")}
    X = beats[1].X[:16]
    every_path.score_samples(X)
    every_path.reconstruct(X)
    every_path.explain(X)
    for name, modules in before.items():
        for module, (training, state, devices) in zip(getattr(every_path, name).modules(),
                                                      modules):
            assert module.training is training is False
            assert {p.device.type for p in module.parameters()} == devices
            assert all(torch.equal(v, state[k]) for k, v in module.state_dict().items())


def test_scoring_calls_nothing_that_moves_or_switches_the_fitted_modules(every_path, beats,
                                                                        monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("scoring changed a fitted module")

    det = copy.deepcopy(every_path)  # the patches stay on this copy
    expected = det.score_samples(beats[1].X[:16])
    for module in (det.generator_, det.discriminator_):
        for method in ("to", "cpu", "cuda", "train", "eval"):
            monkeypatch.setattr(module, method, forbidden)
    np.testing.assert_array_equal(det.score_samples(beats[1].X[:16]), expected)
    det.reconstruct(beats[1].X[:4])


def test_scoring_on_another_device_uses_copies(every_path):
    # "meta" stands for a GPU here: any device other than the CPU takes this path.
    from beatdetect.gan.inference import module_on

    generator = module_on(every_path.generator_, torch.device("meta"))
    assert generator is not every_path.generator_
    assert next(generator.parameters()).device.type == "meta"
    assert {p.device.type for p in every_path.generator_.parameters()} == {"cpu"}


def test_concurrent_scoring_matches_single_threaded(every_path, beats):
    from concurrent.futures import ThreadPoolExecutor

    X = beats[1].X
    expected = every_path.score_samples(X)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: every_path.score_samples(X), range(8)))
    for scores in results:
        np.testing.assert_array_equal(scores, expected)


# --------------------------------------------------------------------------- real data
@pytest.mark.slow  # trains the full-size network on 3,000 real beats: 1-2 minutes on a CPU
@pytest.mark.realdata
def test_ranks_real_ventricular_beats_above_held_out_normals(data_home, tmp_path):
    """End to end on MIT-BIH: trained on normal beats only, BeatGAN's own score (the
    reconstruction error) must rank V beats as anomalous."""
    from beatdetect.datasets import load_mitbih

    data = load_mitbih(data_home, records=["106", "119", "208", "233"],
                       cache_dir=tmp_path, verbose=False)
    rng = np.random.default_rng(0)
    normal = rng.permutation(np.flatnonzero(data.aami == "N"))
    train, held_out = normal[:3000], normal[3000:4000]
    ventricular = np.flatnonzero(data.aami == "V")
    # A few hundred steps of the default cosine schedule; float32 makes the run the same on
    # every CPU.
    det = SIBeatGANDetector(max_epochs=4, mixed_precision=False,
                            random_state=0).fit(data.X[train])
    test = np.r_[held_out, ventricular]
    auc = anomaly_roc_auc(data.aami[test] == "V", det.score_samples(data.X[test]),
                          anomaly_label=True)
    assert auc > 0.99


# --------------------------------------------------------------------- the score is the networks'
@pytest.mark.parametrize("params", [
    {"distill": True}, {"contrastive": True}, {"w_adv": 0.0},
    {"distill": Distillation(w_kd=5.0)}, {"contrastive": Contrastive(w_con=1.0)},
])
def test_flags_and_loss_weights_change_the_score(beats, tiny_gan, params):
    """Issue 19: the defaults' score reads the networks, so whatever changes their training
    changes ``score_samples``."""
    X, test = beats[0].X[:400], beats[1].X
    plain = SIBeatGANDetector(**tiny_gan).fit(X).score_samples(test)
    changed = SIBeatGANDetector(**tiny_gan, **params).fit(X).score_samples(test)
    assert not np.array_equal(changed, plain)


@pytest.mark.parametrize(("base", "name", "values"), [
    ({"distill": True}, "distill__w_kd", [1.0, 5.0]),
    ({"contrastive": True}, "contrastive__w_con", [0.1, 1.0]),
])
def test_nested_loss_weight_changes_the_score(beats, tiny_gan, base, name, values):
    X, test = beats[0].X[:400], beats[1].X
    scores = [SIBeatGANDetector(**tiny_gan, **base).set_params(**{name: v}).fit(X)
              .score_samples(test) for v in values]
    assert not np.array_equal(scores[0], scores[1])


def test_grid_search_over_a_nested_loss_weight_scores_candidates_differently(beats):
    from beatdetect.model_selection import grid_search

    train, test = beats
    X = np.concatenate([train.X[:512], test.X])
    y = np.concatenate([np.ones(512, dtype=int), test.y])
    # A model that learns the beats: an untrained one ranks them alike whatever the weight.
    det = SIBeatGANDetector(**SMALL, distill=True)
    search = grid_search(det, {"distill__w_kd": [0.0, 1.0, 5.0]}, X, y,
                         cv=NormalOnlyKFold(n_splits=2, random_state=0))
    assert [p["distill__w_kd"] for p in search.cv_results_["params"]] == [0.0, 1.0, 5.0]
    assert len(set(search.cv_results_["mean_test_auc"].tolist())) == 3
    assert len(set(search.cv_results_["mean_test_ap"].tolist())) == 3


def test_constructor_fits_on_one_screen():
    # Issue 19 asked for "about 20 or fewer"; checkpoint_dir (issue 20: fits of an hour
    # that must survive a session's end) is the 21st. Anything beyond needs a grouping.
    params = SIBeatGANDetector().get_params(deep=False)
    assert len(params) <= 21
    assert {"distill", "contrastive", "w_adv", "time_warp"} <= set(params)


def test_same_seed_and_thread_count_fit_bitwise_equal_weights(beats, tiny_gan):
    """The determinism promise of ``random_state``: with the same number of torch threads."""
    X = beats[0].X[:256]
    threads = torch.get_num_threads()
    first = SIBeatGANDetector(**tiny_gan).fit(X)
    assert torch.get_num_threads() == threads
    second = SIBeatGANDetector(**tiny_gan).fit(X)
    for name in ("generator_", "discriminator_"):
        a, b = getattr(first, name).state_dict(), getattr(second, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    def losses(det):  # the history without the wall-clock times
        return [{k: v for k, v in h.items() if k != "time"} for h in det.history_]

    assert losses(first) == losses(second)

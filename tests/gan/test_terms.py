"""Self-improving terms: where each loss's gradient goes, zero weights, and the estimator."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from beatdetect import SIBeatGANDetector
from beatdetect.gan import Contrastive, Distillation
from beatdetect.gan import terms as si
from beatdetect.gan.training import GANTrainer, StepContext
from beatdetect.metrics import SCORERS, anomaly_roc_auc
from beatdetect.model_selection import NormalOnlyKFold
from beatdetect.nn.augment import ECGAugment, TimeWarp
from beatdetect.nn.losses import distillation_kl
from beatdetect.nn.networks import BeatGANConfig, Discriminator, Generator

#: A small network with a higher learning rate and a constant schedule: these tests are
#: about what the terms do to the networks.
SMALL = dict(base_filters=8, latent_dim=16, lr=1e-3, lr_schedule="constant", max_epochs=5,
             batch_size=32, mixed_precision=False, device="cpu", random_state=0)
#: Both flags on, every term: self-teacher distillation, contrastive on D and G.
FULL = dict(distill=Distillation(), contrastive=Contrastive(on="both"))
CFG = BeatGANConfig(n_leads=1, length=320, base_filters=8, latent_dim=16)


@pytest.fixture(scope="module")
def full(beats):
    return SIBeatGANDetector(**SMALL, **FULL).fit(beats[0].X)


# --------------------------------------------------------------------------- gradient routing
def _networks(seed=0):
    torch.manual_seed(seed)
    generator, discriminator = Generator(CFG), Discriminator(CFG)
    return generator.train(), discriminator.train()


def _context(generator, discriminator, seed=0):
    x = torch.rand(8, 1, 320, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    x_hat, latent, features = generator(x)
    return StepContext(x, x_hat, latent, features, generator, discriminator)


def _reached(module: torch.nn.Module) -> list[bool]:
    """Per parameter: did a non-zero gradient arrive?"""
    return [p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters()]


def _route(term, loss_name, side, generator, discriminator, **extra):
    """Backpropagate one named loss of ``term``; which module groups got gradient."""
    for module in (generator, discriminator, term):
        module.zero_grad(set_to_none=True)
    ctx = _context(generator, discriminator)
    if side == "discriminator":
        ctx = ctx.detached()  # what the trainer hands discriminator-side hooks
    getattr(term, f"{side}_loss")(ctx)[loss_name].backward()
    groups = {"encoder.blocks": generator.encoder.blocks,  # the feature maps
              "encoder.head": generator.encoder.head,  # last conv: maps -> latent code
              "decoder": generator.decoder,
              "discriminator.blocks": discriminator.encoder.blocks,
              "discriminator.head": discriminator.encoder.head,  # the real/fake logit
              **extra}
    return {name: _reached(module) for name, module in groups.items()}


def _assert_route(reached, to):
    """Every parameter of the groups in ``to`` got gradient, no parameter elsewhere did."""
    for name, flags in reached.items():
        if name in to:
            assert all(flags), f"{name}: {flags.count(False)} parameters got no gradient"
        else:
            assert not any(flags), f"{name} should get no gradient"


@pytest.mark.parametrize(
    ("loss", "to"),
    [
        # The self-teacher's own loss trains the self-teacher alone (detached maps, decoder).
        ("st_rec", {"self_teacher"}),
        # Output distillation of the reconstruction reaches the whole student generator.
        ("kd", {"encoder.blocks", "encoder.head", "decoder"}),
        # Attention transfer reaches the layers making the student's feature maps only.
        ("feat", {"encoder.blocks"}),
    ],
)
def test_self_distillation_gradients(loss, to):
    generator, discriminator = _networks()
    term = si.SelfDistillation(CFG, width=8).train()
    reached = _route(term, loss, "generator", generator, discriminator,
                     self_teacher=torch.nn.ModuleList([term.teacher, term.head]))
    _assert_route(reached, to)


def test_the_softened_output_is_the_reconstruction_only():
    # One way: the latent-code target of earlier versions is gone from the engine.
    with pytest.raises(TypeError, match="kd_target"):
        si.SelfDistillation(CFG, kd_target="latent")


@pytest.mark.parametrize(("loss", "to"), [("kd", {"encoder.blocks", "encoder.head", "decoder"}),
                                          ("feat", {"encoder.blocks"})])
def test_teacher_distillation_gradients_never_reach_the_frozen_teacher(loss, to):
    teacher, _ = _networks(seed=1)
    generator, discriminator = _networks()
    term = si.TeacherDistillation(teacher).train()
    assert not term.teacher.training  # frozen: eval mode even when the term trains
    reached = _route(term, loss, "generator", generator, discriminator, teacher=teacher)
    _assert_route(reached, to)
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())


def test_contrastive_on_discriminator_reaches_discriminator_and_head_only():
    generator, discriminator = _networks()
    term = si.ContrastiveTerm(CFG, side="discriminator").train()
    assert term.side == "discriminator" and term.generator_loss(None) == {}
    reached = _route(term, "con_d", "discriminator", generator, discriminator,
                     projection=term.head)
    _assert_route(reached, {"discriminator.blocks", "projection"})


def test_contrastive_on_generator_reaches_encoder_and_head_only():
    generator, discriminator = _networks()
    term = si.ContrastiveTerm(CFG, side="generator").train()
    assert term.discriminator_loss(None) == {}
    reached = _route(term, "con_g", "generator", generator, discriminator,
                     projection=term.head)
    _assert_route(reached, {"encoder.blocks", "projection"})


def test_term_parameters_go_to_the_optimizer_of_their_side():
    generator, discriminator = _networks()
    d_term = si.ContrastiveTerm(CFG, side="discriminator")
    g_term = si.SelfDistillation(CFG, width=8)
    trainer = GANTrainer(generator, discriminator, terms=[d_term, g_term])

    def owned(optimizer):
        return {id(p) for group in optimizer.param_groups for p in group["params"]}

    assert {id(p) for p in d_term.parameters()} <= owned(trainer.optimizer_d_)
    assert {id(p) for p in g_term.parameters()} <= owned(trainer.optimizer_g_)
    assert not {id(p) for p in d_term.parameters()} & owned(trainer.optimizer_g_)


@pytest.mark.parametrize("make_term", [
    lambda: si.SelfDistillation(CFG, width=8),
    lambda: si.ContrastiveTerm(CFG, side="discriminator"),
    lambda: si.ContrastiveTerm(CFG, side="generator"),
])
def test_extra_passes_leave_batchnorm_running_stats_alone(make_term):
    generator, discriminator = _networks()
    ctx = _context(generator, discriminator)  # the student's own pass updates the stats
    before = {k: v.clone() for k, v in [*generator.state_dict().items(),
                                        *discriminator.state_dict().items()]}
    term = make_term().train()
    losses = {**term.discriminator_loss(ctx), **term.generator_loss(ctx)}
    sum(losses.values()).backward()
    after = {**generator.state_dict(), **discriminator.state_dict()}
    for name, value in before.items():
        assert torch.equal(value, after[name]), name


def test_reconstruction_kd_is_a_soft_mse_at_high_temperature():
    # Documented reading of the reconstruction KD: T^2 KL -> Var_t(x_t - x_s) / 2.
    g = torch.Generator().manual_seed(0)
    x_s, x_t = torch.rand(4, 2, 320, generator=g) * 2 - 1, torch.rand(4, 2, 320, generator=g)
    kd = distillation_kl(x_s, x_t, temperature=50.0)
    expected = 0.5 * (x_t - x_s).var(dim=-1, unbiased=False).mean()
    assert kd.item() == pytest.approx(expected.item(), rel=0.02)


def test_contrastive_views_are_seeded_pairs():
    x = torch.rand(4, 1, 320)
    term = si.ContrastiveTerm(CFG, augment=ECGAugment(), rng=torch.Generator().manual_seed(3))
    again = si.ContrastiveTerm(CFG, augment=ECGAugment(), rng=torch.Generator().manual_seed(3))
    views = term.views(x)
    assert views.shape == (8, 1, 320) and views.dtype == x.dtype
    assert torch.equal(views, again.views(x))
    assert not torch.equal(views[:4], views[4:])


@pytest.mark.parametrize(("make", "match"), [
    (lambda: si.SelfDistillation(CFG, temperature=0.0), "temperature"),
    (lambda: si.ContrastiveTerm(CFG, side="both"), "side"),
    (lambda: si.ContrastiveTerm(CFG, temperature=-1.0), "temperature"),
])
def test_terms_validate_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --------------------------------------------------------------------------- zero weights
@pytest.mark.parametrize("params", [
    dict(distill=Distillation(w_kd=0.0, w_feat=0.0)),
    dict(distill=Distillation(teacher="beatgan", w_kd=0.0, w_feat=0.0, teacher_epochs=1)),
    dict(contrastive=Contrastive(on="both", w_con=0.0)),
])
def test_zero_weights_are_beatgan_bit_for_bit(beats, params):
    """Exact, not approximate: a zero-weighted term adds exact zeros to the student's loss and
    gradients, its modules are seeded apart from G and D, it draws from its own random stream
    (same batches), and its extra passes leave the BatchNorm statistics alone."""
    X, test = beats[0].X[:256], beats[1].X
    small = {**SMALL, "max_epochs": 2}
    plain = SIBeatGANDetector(**small).fit(X)
    det = SIBeatGANDetector(**small, **params).fit(X)
    np.testing.assert_array_equal(det.score_samples(test), plain.score_samples(test))
    for name in ("kd", "feat", "con_d", "con_g"):
        assert det.history_[-1].get(name, 0.0) == 0.0


@pytest.mark.parametrize("off", [None, False])
def test_flags_off_is_plain_beatgan(beats, off):
    X, test = beats[0].X[:256], beats[1].X
    small = {**SMALL, "max_epochs": 1}
    plain = SIBeatGANDetector(**small).fit(X)
    det = SIBeatGANDetector(**small, distill=off, contrastive=off).fit(X)
    np.testing.assert_array_equal(det.score_samples(test), plain.score_samples(test))
    assert set(det.history_[0]) == set(plain.history_[0])


# --------------------------------------------------------------------------- estimator
def test_full_model_trains_and_ranks_injected_anomalies(full, beats):
    test = beats[1]
    assert anomaly_roc_auc(test.y, full.score_samples(test.X)) > 0.9
    assert {"st_rec", "kd", "feat", "con_d", "con_g", "rec", "adv"} <= set(full.history_[0])
    assert len(full.history_) == SMALL["max_epochs"]
    rec = [h["rec"] for h in full.history_]
    assert rec[-1] < 0.3 * rec[0]
    # Only the detector's own networks are kept: the terms are training-time scaffolding.
    assert not any(k.endswith("_") and "teacher" in k for k in vars(full))


def test_full_model_pickle_and_save_load(full, beats, tmp_path):
    X = beats[1].X
    expected = full.score_samples(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(full)).score_samples(X), expected)
    loaded = SIBeatGANDetector.load(full.save(tmp_path / "full.safetensors"))
    assert loaded.get_params() == full.get_params()
    assert loaded.history_ == full.history_
    np.testing.assert_array_equal(loaded.score_samples(X), expected)


def test_clone_and_get_params_round_trip(full):
    params = full.get_params()
    assert {k: params[k] for k in FULL} == FULL
    assert params["contrastive__on"] == "both" and params["distill__w_kd"] == 1.0
    copy = clone(full)
    assert copy.get_params() == params and not hasattr(copy, "generator_")
    assert SIBeatGANDetector(**full.get_params(deep=False)).get_params() == params


def test_same_seed_same_scores_with_every_term(beats):
    X, test = beats[0].X[:128], beats[1].X
    params = {**SMALL, "max_epochs": 1, "distill": Distillation(teacher="beatgan"),
              "contrastive": Contrastive(on="both")}
    first = SIBeatGANDetector(**params).fit(X).score_samples(test)
    np.testing.assert_array_equal(SIBeatGANDetector(**params).fit(X).score_samples(test), first)
    other = SIBeatGANDetector(**{**params, "random_state": 1}).fit(X).score_samples(test)
    assert not np.array_equal(other, first)


def test_fit_with_terms_leaves_global_torch_rng_alone(beats):
    state = torch.get_rng_state()
    SIBeatGANDetector(**{**SMALL, "max_epochs": 1}, distill=Distillation(teacher="beatgan"),
                      contrastive=Contrastive(on="both")).fit(beats[0].X[:64])
    assert torch.equal(state, torch.get_rng_state())


def test_teacher_is_the_plain_detector_with_teacher_sizes(beats, monkeypatch):
    """Distillation(teacher="beatgan"): stage one is exactly
    SIBeatGANDetector(base_filters=teacher_filters, max_epochs=teacher_epochs) with the same
    random_state, weights bit for bit; the student may be smaller."""
    X = beats[0].X[:128]
    seen = {}
    original = si.TeacherDistillation

    def spy(teacher, **kwargs):
        seen["teacher"] = teacher
        return original(teacher, **kwargs)

    monkeypatch.setattr(si, "TeacherDistillation", spy)
    student = SIBeatGANDetector(**{**SMALL, "base_filters": 4, "max_epochs": 1},
                                distill=Distillation(teacher="beatgan", teacher_filters=8,
                                                     teacher_epochs=2)).fit(X)
    reference = SIBeatGANDetector(**{**SMALL, "base_filters": 8, "max_epochs": 2}).fit(X)
    teacher = seen["teacher"].state_dict()
    assert teacher.keys() == reference.generator_.state_dict().keys()
    for name, value in reference.generator_.state_dict().items():
        assert torch.equal(teacher[name], value), name
    n_student = sum(p.numel() for p in student.generator_.parameters())
    assert n_student < sum(p.numel() for p in seen["teacher"].parameters()) / 2
    assert student.n_iter_ == 1 and {"kd", "feat"} <= set(student.history_[0])


def test_student_of_a_frozen_teacher_ranks_injected_anomalies(beats):
    train, test = beats
    student = SIBeatGANDetector(**SMALL, distill=Distillation(teacher="beatgan")).fit(train.X)
    assert anomaly_roc_auc(test.y, student.score_samples(test.X)) > 0.9


def test_distill_true_means_the_default_self_teacher(beats):
    X = beats[0].X[:64]
    small = {**SMALL, "max_epochs": 1}
    det = SIBeatGANDetector(**small, distill=np.True_).fit(X)
    assert {"st_rec", "kd", "feat"} <= set(det.history_[0])
    self_taught = SIBeatGANDetector(**small, distill=Distillation(teacher="self")).fit(X)
    np.testing.assert_array_equal(det.score_samples(X), self_taught.score_samples(X))
    teacher = SIBeatGANDetector(**small, distill=Distillation(teacher="beatgan")).fit(X)
    assert "st_rec" not in teacher.history_[0]


def test_grid_search_over_term_weights(beats):
    """Every grid point is fitted with its weights and scored anomaly-positive; the search
    refits the one with the best mean AUC, with those weights in effect."""
    train, test = beats
    X = np.concatenate([train.X[:192], test.X[:100]])
    y = np.concatenate([np.ones(192, dtype=int), test.y[:100]])
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 1}, distill=True, contrastive=True)
    grid = {"distill__w_kd": [0.0, 2.0], "contrastive__w_con": [0.0, 0.5]}
    cv = NormalOnlyKFold(n_splits=2, random_state=0)
    search = GridSearchCV(det, grid, scoring=SCORERS, refit="auc", cv=cv).fit(X, y)
    results = search.cv_results_
    assert sorted((p["distill__w_kd"], p["contrastive__w_con"]) for p in results["params"]) == \
        [(0.0, 0.0), (0.0, 0.5), (2.0, 0.0), (2.0, 0.5)]
    # A split's AUC is the anomaly-positive AUC of a detector fitted on that split's normal
    # training beats with the candidate's weights. Each differs from 0.5, so an inverted
    # scorer (1 - AUC) would not match. (One epoch: the AUCs test the mechanics only.)
    train_idx, test_idx = next(cv.split(X, y))
    scores = []
    for k, params in enumerate(results["params"]):
        fitted = clone(det).set_params(**params).fit(X[train_idx])
        scores.append(fitted.score_samples(X[test_idx]))
        auc = anomaly_roc_auc(y[test_idx], scores[-1])
        assert results["split0_test_auc"][k] == pytest.approx(auc, abs=1e-12)
        assert abs(auc - 0.5) > 0.01
    # The weights reach training: every candidate is a different model.
    assert all(not np.array_equal(a, b) for i, a in enumerate(scores) for b in scores[:i])
    # Refit: the candidate with the best mean AUC, and its weights reach the training.
    best = int(np.argmax(results["mean_test_auc"]))
    assert search.best_params_ == results["params"][best]
    refit = search.best_estimator_
    assert refit.get_params()["distill__w_kd"] == search.best_params_["distill__w_kd"]
    assert refit.get_params()["contrastive__w_con"] == search.best_params_["contrastive__w_con"]
    assert det.distill is True  # the searched detector is left as it was
    last = refit.history_[-1]
    assert (last["kd"] > 0) == (search.best_params_["distill__w_kd"] > 0)
    assert (last["con_d"] > 0) == (search.best_params_["contrastive__w_con"] > 0)


def test_grid_search_over_the_views_fields(beats):
    """``contrastive__augment__noise`` reaches the ECGAugment of each candidate (a copy: the
    searched detector's own object is left as it was) and changes the views the term trains on."""
    train, test = beats
    X = np.concatenate([train.X[:128], test.X[:60]])
    y = np.concatenate([np.ones(128, dtype=int), test.y[:60]])
    augment = ECGAugment(warp=0.0, crop=1.0, mask=0.0)
    det = SIBeatGANDetector(**{**SMALL, "max_epochs": 1}, contrastive=Contrastive(augment=augment))
    name = "contrastive__augment__noise"
    search = GridSearchCV(det, {name: [0.0, 0.3]}, scoring=SCORERS, refit="auc",
                          cv=NormalOnlyKFold(n_splits=2, random_state=0)).fit(X, y)
    assert [p[name] for p in search.cv_results_["params"]] == [0.0, 0.3]
    assert search.best_estimator_.contrastive.augment == ECGAugment(
        noise=search.best_params_[name], warp=0.0, crop=1.0, mask=0.0)
    assert det.contrastive.augment is augment and augment.noise == 0.05
    # Different views, different contrastive losses from the same seed.
    histories = [clone(det).set_params(**{name: noise}).fit(X[:128]).history_[-1]
                 for noise in (0.0, 0.3)]
    assert histories[0]["con_d"] != histories[1]["con_d"]


@pytest.mark.parametrize(
    ("params", "match"),
    [({"distill": "yes"}, "distill"), ({"contrastive": "on"}, "contrastive"),
     ({"contrastive": Contrastive(on="generator")}, "'on' parameter of Contrastive"),
     ({"distill": Distillation(w_kd=-1.0)}, "'w_kd' parameter of Distillation"),
     ({"distill": Distillation(temperature=0.0)}, "'temperature' parameter of Distillation"),
     ({"distill": Distillation(teacher="latent")}, "'teacher' parameter of Distillation"),
     ({"contrastive": Contrastive(w_con=-0.1)}, "'w_con' parameter of Contrastive"),
     ({"contrastive": Contrastive(temperature=0)}, "'temperature' parameter of Contrastive"),
     ({"contrastive": Contrastive(augment=ECGAugment(crop=0.0))},
      "'crop' parameter of ECGAugment"),
     ({"contrastive": Contrastive(augment=ECGAugment(scale=(0.0, 2.0)))},
      "'scale' parameter of ECGAugment"),
     ({"contrastive": Contrastive(augment=ECGAugment(p=1.5))}, "'p' parameter of ECGAugment"),
     ({"contrastive": Contrastive(augment=TimeWarp())}, "'augment' parameter of Contrastive"),
     ({"distill": Distillation(teacher_filters=0)}, "teacher_filters"),
     ({"distill": Distillation(teacher_epochs=0)}, "teacher_epochs"),
     ({"distill": Distillation(width=0)}, "'width' parameter of Distillation")],
)
def test_bad_self_improvement_parameters_rejected_at_fit(params, match):
    with pytest.raises(ValueError, match=match):
        SIBeatGANDetector(**params).fit(np.zeros((8, 320), dtype=np.float32))

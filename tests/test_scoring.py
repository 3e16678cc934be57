"""The fused score: recording template, rhythm, memory bank, references (all detectors)."""

from __future__ import annotations

import numpy as np
import pytest

from beatdetect import SIBeatGANDetector
from beatdetect.baselines import KNNDetector, PCADetector, RecordingTemplateDetector
from beatdetect.datasets import load_mitbih, make_synthetic_beats
from beatdetect.fingerprints import beat_fingerprints, fingerprint_members
from beatdetect.gan.inference import reconstruction_errors
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc

#: A small SI-BeatGAN at its default scoring (reconstruction + memory bank + context).
SMALL = dict(base_filters=8, latent_dim=16, max_epochs=3, batch_size=32,
             mixed_precision=False, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def beats():
    train = make_synthetic_beats(n_normal=600, n_anomalous=0, random_state=0)
    test = make_synthetic_beats(n_normal=300, n_anomalous=30, random_state=1)
    return train, test


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
def sibeatgan(beats):
    """Both model parts: BeatGAN's reconstruction error and the memory bank."""
    return SIBeatGANDetector(**SMALL, w_reconstruction=1.0).fit(beats[0].X)


@pytest.mark.parametrize("make", [lambda: KNNDetector(recording_template=True),
                                  lambda: SIBeatGANDetector(**SMALL)],
                         ids=["knn", "sibeatgan"])
def test_recording_template_rescues_a_recording_unlike_the_training_beats(beats, make):
    # A new lead of opposite polarity: every beat is far from the training beats, so the
    # model alone ranks anomalies anywhere; against the recording's own median beat the
    # anomalies stand out again.
    train, test = beats
    det = make().fit(train.X)
    groups = np.full(len(test.X), "new recording")
    alone = anomaly_roc_auc(test.y, det.score_samples(-test.X))
    with_groups = anomaly_roc_auc(test.y, det.score_samples(-test.X, groups=groups))
    assert alone < 0.5 and with_groups > 0.98
    parts = det.score_components(-test.X, groups=groups)
    np.testing.assert_array_equal(parts["anomaly"], np.minimum(parts["morphology"],
                                                               parts["recording"]))


def test_recordings_seen_in_fit_are_judged_against_the_training_beats(beats):
    train, test = beats
    det = KNNDetector(recording_template=True).fit(train.X, groups=np.repeat(["a", "b"], 300))
    assert det.fit_groups_ == ["a", "b"]
    seen = np.full(len(test.X), "a")
    np.testing.assert_array_equal(det.score_samples(test.X, groups=seen),
                                  det.score_samples(test.X))
    assert "recording" not in det.score_components(test.X, groups=seen)
    mixed = np.where(np.arange(len(test.X)) < 100, "a", "c")
    recording = det.score_components(test.X, groups=mixed)["recording"]
    assert np.isnan(recording[:100]).all() and np.isfinite(recording[100:]).all()


def test_rhythm_ranks_premature_beats_of_normal_shape(beats, premature):
    X, rr, y = premature
    det = KNNDetector(w_rhythm=1.0).fit(beats[0].X)
    assert anomaly_roc_auc(y, det.score_samples(X, rr=rr)) == 1.0
    assert anomaly_roc_auc(y, det.score_samples(X)) < 0.7  # the shape says nothing
    # Without rr in fit the rhythm reference comes from the scored beats; with it, from fit.
    assert "rhythm" not in det.score_references_
    fitted_rr = np.abs(1 + 0.03 * np.random.default_rng(1).standard_normal((600, 3)))
    det_rr = KNNDetector(w_rhythm=1.0).fit(beats[0].X, rr=fitted_rr)
    assert "rhythm" in det_rr.score_references_
    assert anomaly_roc_auc(y, det_rr.score_samples(X, rr=rr)) == 1.0


def test_w_rhythm_zero_ignores_rr_and_detectors_without_context_ignore_it(beats, premature):
    X, rr, _ = premature
    groups = np.full(len(X), "new")
    for det in (KNNDetector(), PCADetector(n_components=5)):
        det.fit(beats[0].X)
        np.testing.assert_array_equal(det.score_samples(X, groups=groups, rr=rr),
                                      det.score_samples(X))


def test_score_components_add_up_to_the_score(sibeatgan, beats, premature):
    X, rr, _ = premature
    groups = np.repeat(["p", "q"], [165, 165])
    parts = sibeatgan.score_components(X, groups=groups, rr=rr)
    assert set(parts) == {"reconstruction", "memory", "morphology", "recording", "rhythm",
                          "anomaly"}
    np.testing.assert_allclose(parts["morphology"],
                               (parts["reconstruction"] + parts["memory"]) / 2)
    expected = np.minimum(parts["morphology"], parts["recording"]) + parts["rhythm"]
    np.testing.assert_allclose(parts["anomaly"], expected)
    np.testing.assert_array_equal(-parts["anomaly"],
                                  sibeatgan.score_samples(X, groups=groups, rr=rr))


def test_defaults_score_by_memory_and_context_and_still_train_the_networks(beats):
    train, test = beats
    det = SIBeatGANDetector(**SMALL).fit(train.X)
    assert det.w_reconstruction == 0.0 and set(det.score_references_) == {"memory"}
    assert set(det.score_components(test.X)) == {"memory", "morphology", "anomaly"}
    assert det.explain(test.X[:2]).shape == (2, 1, 320)  # the GAN serves explanations
    assert anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.95


def test_fused_sibeatgan_holds_out_reference_beats_and_keeps_a_memory(sibeatgan, beats):
    train, test = beats
    assert set(sibeatgan.score_references_) == {"reconstruction", "memory"}
    # validation_fraction = 0.1 of 600 beats never trained on: the references' beats
    assert len(sibeatgan.memory_bank_) == 540 and sibeatgan.memory_bank_.n_dims == 32
    assert anomaly_roc_auc(test.y, sibeatgan.score_samples(test.X)) > 0.95
    det = SIBeatGANDetector(**SMALL, memory_size=100, w_reconstruction=1.0).fit(train.X)
    assert len(det.memory_bank_) == 100


@pytest.mark.parametrize("memory", ["input", "latent"])
def test_training_beats_score_as_fit_scored_them_and_flag_contamination(beats, memory):
    """Beats of the bank are scored leave-one-out when scored again, as fit did."""
    X = beats[0].X[:300]
    det = SIBeatGANDetector(**SMALL, memory=memory, contamination=0.1).fit(X)
    assert (det.predict(X) == -1).mean() == pytest.approx(0.1, abs=0.01)
    np.testing.assert_array_equal(det.fit_predict(X), det.predict(X))
    if memory != "input":
        return
    bank, rows = det.memory_bank_, det.memory_projection_.transform(X.reshape(len(X), -1))
    in_bank = fingerprint_members(bank.fingerprints, beat_fingerprints(X))
    assert in_bank.sum() == len(bank) == 270  # the other 30 hold the references
    itself = bank.distances(rows)
    assert itself[in_bank].max() < 1e-5  # what a bank beat would get without the prints
    loo = bank.distances(rows, fingerprints=beat_fingerprints(X))
    assert loo[in_bank].min() > 0.05
    np.testing.assert_array_equal(loo[~in_bank], itself[~in_bank])
    order = np.argsort(det.score_components(X)["memory"], kind="stable")
    np.testing.assert_array_equal(order, np.argsort(loo, kind="stable"))


def test_plain_beatgan_score_is_the_reconstruction_error(beats):
    train, test = beats
    det = SIBeatGANDetector(**SMALL, memory=None, w_reconstruction=1.0, w_rhythm=0.0,
                            recording_template=False)
    det.fit(train.X)
    assert det.score_references_ == {} and det.memory_bank_ is None
    np.testing.assert_array_equal(-det.score_samples(test.X),
                                  reconstruction_errors(det.generator_, test.X))


@pytest.mark.parametrize("memory", ["input", "latent", "discriminator"])
def test_memory_spaces_score_and_survive_save_and_load(beats, premature, memory, tmp_path):
    train, test = beats
    X, rr, _ = premature
    det = SIBeatGANDetector(**SMALL, memory=memory).fit(train.X, rr=np.ones((600, 3)))
    assert anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    loaded = SIBeatGANDetector.load(det.save(tmp_path / "m.safetensors"))
    groups = np.full(len(X), "new")
    np.testing.assert_array_equal(loaded.score_samples(X, groups=groups, rr=rr),
                                  det.score_samples(X, groups=groups, rr=rr))
    assert loaded.score_references_ == det.score_references_


def test_a_score_with_no_part_is_refused(beats):
    det = SIBeatGANDetector(**SMALL, w_reconstruction=0.0, memory=None)
    with pytest.raises(ValueError, match="no part"):
        det.fit(beats[0].X)


def test_fit_predict_and_predict_pass_the_context(beats, premature):
    X, rr, _ = premature
    det = KNNDetector(w_rhythm=1.0, contamination=0.1)
    labels = det.fit_predict(X, rr=rr)
    np.testing.assert_array_equal(labels, det.predict(X, rr=rr))
    assert not np.array_equal(labels, det.predict(X))


def test_template_baseline_uses_each_recordings_median(beats):
    train, test = beats
    det = RecordingTemplateDetector().fit(train.X)
    groups = np.full(len(test.X), "r")
    assert anomaly_roc_auc(test.y, det.score_samples(-test.X, groups=groups)) > 0.98
    assert anomaly_roc_auc(test.y, det.score_samples(-test.X)) < 0.5


@pytest.mark.realdata
def test_context_on_real_records_of_new_patients(data_home):
    # Train on the normal beats of two records, score four others (new patients).
    data = load_mitbih(data_home, records=["101", "106", "100", "105", "119", "208"],
                       verbose=False)
    train = np.isin(data.record, ["101", "106"]) & (data.y == 1)
    test = ~np.isin(data.record, ["101", "106"])
    results = {}
    for name, det in {"knn": KNNDetector(),
                      "knn+context": KNNDetector(w_rhythm=1.0, recording_template=True),
                      "template": RecordingTemplateDetector()}.items():
        det.fit(data.X[train], groups=data.record[train], rr=data.rr[train])
        scores = det.score_samples(data.X[test], groups=data.record[test], rr=data.rr[test])
        results[name] = (anomaly_roc_auc(data.y[test], scores),
                         anomaly_average_precision(data.y[test], scores))
    # measured: knn 0.972 / 0.885, knn+context 0.989 / 0.942, template 0.972
    assert results["knn"][0] > 0.95 and results["template"][0] > 0.95
    assert results["knn+context"][0] > results["knn"][0] + 0.01
    assert results["knn+context"][1] > results["knn"][1] + 0.03


def test_memory_alone_without_context_is_the_raw_distance(beats):
    # One part and no context: no standardisation, the score is the bank distance itself.
    train, test = beats
    det = SIBeatGANDetector(**SMALL, w_reconstruction=0.0, w_rhythm=0.0,
                            recording_template=False).fit(train.X)
    assert det.score_references_ == {} and len(det.memory_bank_) == 600
    expected = det.memory_bank_.distances(det._embed(test.X))
    np.testing.assert_array_equal(-det.score_samples(test.X), expected)
    assert anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.95

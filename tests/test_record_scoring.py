"""beatdetect.record_scoring: a recording scored by the detector's own methods, with its context."""

from __future__ import annotations

import csv
import shutil
import stat

import numpy as np
import pytest

from beatdetect import SIBeatGANDetector
from beatdetect.context import ContextDetector
from beatdetect.datasets import beats_from_record, beats_from_signal, make_synthetic_beats
from beatdetect.record_scoring import (
    CSV_COLUMNS,
    score_beats,
    score_record,
    takes_context,
    write_scores_csv,
)


@pytest.fixture(scope="module")
def detector():
    """SI-BeatGAN in context, as ``beatdetect fit`` trains it (here without RR intervals)."""
    train = make_synthetic_beats(n_normal=256, n_anomalous=0, random_state=0)
    gan = SIBeatGANDetector(base_filters=4, max_epochs=1, mixed_precision=False,
                            random_state=0)
    return ContextDetector(gan, random_state=0).fit(
        train.X, groups=np.repeat(["a", "b"], 128))


@pytest.fixture(scope="module")
def recording():
    """A synthetic recording: 44 beats end to end with an early beat, and annotations."""
    test = make_synthetic_beats(n_normal=40, n_anomalous=4, random_state=3)
    signal = test.X[:, 0, :].reshape(-1)
    peaks = 140 + 320 * np.arange(len(test.X))
    peaks[20] -= 100  # premature: its pre-RR is short
    symbols = np.array([{"N": "N", "S": "A", "V": "V", "Q": "Q"}[c] for c in test.aami])
    beats = beats_from_signal(signal, 360.0, r_peaks=peaks, symbols=symbols, name="syn")
    return beats, signal


class SpyDetector:
    """Records what score_samples and predict receive; its flags ignore its scores."""

    offset_ = 0.5

    def __init__(self):
        self.calls = []

    def score_samples(self, X, groups=None, rr=None):
        self.calls.append(("score_samples", groups, rr))
        return np.arange(len(X), dtype=np.float64)

    def predict(self, X, groups=None, rr=None):
        self.calls.append(("predict", groups, rr))
        return np.where(np.arange(len(X)) % 3 == 0, -1, 1)


def test_score_beats_calls_the_detectors_own_methods_with_the_context(recording):
    beats, signal = recording
    spy = SpyDetector()
    scored = score_beats(beats, spy, signal=signal)
    assert [name for name, *_ in spy.calls] == ["score_samples", "predict"]
    for _, groups, rr in spy.calls:
        assert groups.tolist() == ["syn"] * len(beats.X)
        assert rr is beats.rr
    # The flags are predict's, not recomputed from the scores and offset_.
    np.testing.assert_array_equal(scored.flags, np.where(np.arange(len(beats.X)) % 3, 1, -1))
    np.testing.assert_array_equal(scored.anomaly_score, -np.arange(len(beats.X)))
    assert scored.offset == 0.5 and scored.name == "syn" and scored.signal is signal


def test_score_beats_matches_the_detector_with_context(recording, detector):
    beats, _ = recording
    scored = score_beats(beats, detector)
    context = {"groups": beats.record, "rr": beats.rr}
    expected = detector.score_samples(beats.X, **context)
    np.testing.assert_array_equal(scored.score_samples, expected)
    np.testing.assert_array_equal(scored.anomaly_score, -expected)
    np.testing.assert_array_equal(scored.flags, detector.predict(beats.X, **context))
    np.testing.assert_array_equal(scored.flags == -1, scored.score_samples < scored.offset)
    # The context changes the scores: this is not the context-free score.
    assert not np.allclose(scored.score_samples, detector.score_samples(beats.X))


def test_score_beats_gives_a_detector_of_beats_alone_no_context(recording, detector):
    beats, _ = recording
    gan = detector.detector_  # the fitted SI-BeatGAN, which scores the beat window only
    assert not takes_context(gan) and takes_context(detector)
    scored = score_beats(beats, gan)
    np.testing.assert_array_equal(scored.score_samples, gan.score_samples(beats.X))
    np.testing.assert_array_equal(scored.flags, gan.predict(beats.X))


def test_write_scores_csv_round_trip(recording, detector, tmp_path):
    beats, _ = recording
    scored = score_beats(beats, detector)
    write_scores_csv(tmp_path / "s.csv", scored)
    with open(tmp_path / "s.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(beats.X)
    np.testing.assert_allclose([float(r["anomaly_score"]) for r in rows],
                               scored.anomaly_score, rtol=1e-5)
    assert [int(r["flag"]) for r in rows] == scored.flags.tolist()
    assert [r["aami"] for r in rows] == beats.aami.tolist()
    assert float(rows[3]["time_s"]) == pytest.approx(beats.sample[3] / 360.0, abs=1e-4)


def test_write_scores_csv_without_annotations(recording, detector, tmp_path):
    beats, signal = recording
    unannotated = beats_from_signal(signal, 360.0, r_peaks=beats.sample, name="syn")
    write_scores_csv(tmp_path / "s.csv", score_beats(unannotated, detector))
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "time_s,sample,anomaly_score,flag" and len(lines) == len(beats.X) + 1


@pytest.mark.realdata
def test_score_record_reads_mlii_and_scores_in_context(data_home, detector, tmp_path):
    path = data_home / "mitdb" / "114"  # MLII is its second lead
    scored = score_record(path, detector)
    beats = beats_from_record(path, leads=["MLII"], align="peak")  # scoring's default
    assert scored.beats.lead_names == ["MLII"] and scored.signal.shape[1] == 1
    np.testing.assert_array_equal(scored.beats.sample, beats.sample)
    at_marks = score_record(path, detector, align=None)
    np.testing.assert_array_equal(at_marks.beats.sample,
                                  beats_from_record(path, leads=["MLII"]).sample)
    assert scored.name == "114" and scored.fs == 360.0
    context = {"groups": np.full(len(beats.X), "114"), "rr": beats.rr}
    np.testing.assert_allclose(scored.score_samples,
                               detector.score_samples(beats.X, **context), rtol=1e-6)

    # Without annotations: R peaks from the QRS detector, no reference labels.
    for ext in ("hea", "dat"):
        target = tmp_path / f"114.{ext}"
        shutil.copyfile(data_home / "mitdb" / f"114.{ext}", target)
        target.chmod(stat.S_IRUSR | stat.S_IWUSR)
    unannotated = score_record(tmp_path / "114", detector)
    assert unannotated.beats.r_peak_source == "detected" and unannotated.beats.y is None


@pytest.mark.realdata
def test_score_record_refuses_a_model_with_more_leads(data_home):
    train = make_synthetic_beats(n_normal=64, n_anomalous=0, n_leads=3, random_state=0)
    det = SIBeatGANDetector(base_filters=4, max_epochs=1, random_state=0).fit(train.X)
    with pytest.raises(ValueError, match="the model needs 3"):
        score_record(data_home / "mitdb" / "100", det)

import numpy as np
import pytest

from beatdetect.datasets import align_to_r_peaks, detect_r_peaks, is_beat, read_record
from beatdetect.exceptions import DataError


def _spike_train(fs, seconds=30.0, rr=0.8, first=0.5):
    t = np.arange(int(seconds * fs)) / fs
    centres = np.arange(first, seconds - 0.1, rr)
    ecg = sum(np.exp(-((t - c) ** 2) / (2 * 0.012**2)) for c in centres)
    return ecg, np.round(centres * fs).astype(int)


@pytest.mark.parametrize("method", ["xqrs", "gqrs"])
@pytest.mark.parametrize("fs", [250.0, 360.0])
def test_detects_every_spike_of_a_regular_train(method, fs):
    ecg, truth = _spike_train(fs)
    peaks = detect_r_peaks(ecg, fs, method=method)
    # Detectors learn for a few beats; every later beat is found within 2 samples.
    distance = np.abs(truth[5:, None] - peaks[None, :]).min(axis=1)
    assert (distance <= 2).all()
    assert peaks.dtype == np.int64 and np.all(np.diff(peaks) > 0)


@pytest.mark.parametrize("record", ["100", "119"])
def test_matches_reference_annotations_of_mitbih(mitdb_dir, record):
    rec = read_record(mitdb_dir / record, leads="MLII")
    n = int(180 * rec.fs)  # three minutes keep the test fast
    peaks = detect_r_peaks(rec.signal[:n], rec.fs)
    beats = is_beat(rec.ann_symbol) & (rec.ann_sample < n)
    truth = rec.ann_sample[beats]
    tolerance = int(0.05 * rec.fs)  # 50 ms, the usual matching window (ANSI/AAMI EC57)
    sensitivity = np.mean(np.abs(truth[:, None] - peaks[None, :]).min(axis=1) <= tolerance)
    precision = np.mean(np.abs(peaks[:, None] - truth[None, :]).min(axis=1) <= tolerance)
    assert sensitivity >= 0.99
    assert precision >= 0.99


def test_flat_signal_has_no_peaks():
    peaks = detect_r_peaks(np.zeros(3600), 360)
    assert peaks.shape == (0,) and peaks.dtype == np.int64


def test_too_short_signal_is_a_data_error():
    with pytest.raises(DataError, match=r"R-peak detection \(xqrs\) failed on a 100-sample"):
        detect_r_peaks(np.random.default_rng(0).standard_normal(100), 360)


def test_detects_on_the_requested_lead():
    ecg, truth = _spike_train(360.0)
    signal = np.column_stack([np.zeros_like(ecg), ecg])
    assert detect_r_peaks(signal, 360.0, lead=0).size == 0
    assert detect_r_peaks(signal, 360.0, lead=1).size >= len(truth) - 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "pan-tompkins"}, "method must be one of"),
        ({"lead": 3}, "lead 3 is out of range"),
        ({"lead": "MLII"}, "lead must be a column index"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(DataError, match=match):
        detect_r_peaks(np.zeros(3600), 360, **kwargs)


def test_nan_is_rejected():
    signal = np.zeros(3600)
    signal[5] = np.nan
    with pytest.raises(DataError, match="NaN"):
        detect_r_peaks(signal, 360)


def test_align_moves_marks_onto_the_largest_deflection_upright_or_inverted():
    ecg = np.zeros(2000)
    ecg[[300, 900, 1500]] = [1.0, -2.0, 0.5]
    marks = [289, 911, 1500]  # 44 ms early, 44 ms late, on the peak (250 Hz)
    assert align_to_r_peaks(ecg, 250.0, marks, per="beat").tolist() == [300, 900, 1500]


def test_align_searches_only_within_the_radius_and_keeps_marks_outside_the_signal():
    ecg = np.zeros(2000)
    ecg[[300, 600]] = [1.0, 5.0]
    # The tall wave at 600 is 1.2 s from the mark at 300: beyond 75 ms, never reached.
    assert align_to_r_peaks(ecg, 250.0, [310, 2500, -3], per="beat").tolist() == [300, 2500, -3]
    # A radius of 10 ms (3 samples) cannot reach a peak 40 ms away: the mark stays in place.
    assert align_to_r_peaks(ecg, 250.0, [310], radius=0.01, per="beat").tolist() == [310]
    # Marks outside the signal do not count towards the recording's shift, and move with it.
    assert align_to_r_peaks(ecg, 250.0, [310, 2500, -3]).tolist() == [300, 2490, -13]


def test_align_searches_the_requested_lead():
    ecg = np.zeros((1000, 2))
    ecg[400, 0], ecg[410, 1] = 1.0, 1.0
    assert align_to_r_peaks(ecg, 250.0, [405], lead=1, per="beat").tolist() == [410]
    with pytest.raises(DataError, match="lead 2 is out of range"):
        align_to_r_peaks(ecg, 250.0, [405], lead=2)
    with pytest.raises(DataError, match="radius"):
        align_to_r_peaks(ecg, 250.0, [405], radius=0)
    with pytest.raises(DataError, match="per must be"):
        align_to_r_peaks(ecg, 250.0, [405], per="record")


def test_a_recording_moves_by_one_shift_so_biphasic_beats_do_not_jitter():
    """Beats whose R and S waves are about as large: per beat, the largest |value| jumps
    between them from beat to beat; per recording, every mark moves by the same median."""
    ecg = np.zeros(3000)
    r_waves = np.arange(200, 2800, 200)
    ecg[r_waves] = 1.0
    ecg[r_waves[::3] + 5] = -1.1  # every third beat's S wave (20 ms later) is the larger
    marks = r_waves - 10  # 40 ms early
    per_beat = align_to_r_peaks(ecg, 250.0, marks, per="beat") - marks
    assert set(per_beat.tolist()) == {10, 15}  # jitter of 5 samples between beats
    per_recording = align_to_r_peaks(ecg, 250.0, marks) - marks
    assert set(per_recording.tolist()) == {10}

import numpy as np
import pytest
from scipy.signal import filtfilt, firwin

from beatdetect.datasets import bandpass_filter, extract_beats, scale_beats_minmax, window_samples
from beatdetect.exceptions import DataError


def _sine(freq, fs, seconds=10.0):
    t = np.arange(int(seconds * fs)) / fs
    return np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize("fs", [250.0, 360.0, 500.0])
@pytest.mark.parametrize("n_leads", [1, 2])
def test_bandpass_equals_scipy_filtfilt_with_biosppy_design(fs, n_leads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((int(20 * fs), n_leads)).cumsum(axis=0)
    numtaps = int(0.3 * fs) | 1
    taps = firwin(numtaps, [3.0, 45.0], pass_zero=False, fs=fs)
    expected = filtfilt(taps, [1.0], x, axis=0)
    np.testing.assert_allclose(bandpass_filter(x, fs), expected, atol=1e-10)


def test_bandpass_keeps_one_lead_shape():
    assert bandpass_filter(_sine(10, 360), 360).shape == (3600,)
    assert bandpass_filter(_sine(10, 360)[:, None], 360).shape == (3600, 1)


@pytest.mark.parametrize(
    ("freq", "gain_range"),
    [
        # The short (0.3 s) FIR of BeatGAN/biosppy has a wide low transition band: baseline
        # wander at 0.3 Hz is attenuated ~27 dB, not removed.
        (0.3, (0.0, 0.05)),
        (10.0, (0.97, 1.03)),
        (25.0, (0.97, 1.03)),
        (60.0, (0.0, 1e-3)),
        (100.0, (0.0, 1e-3)),
    ],
)
def test_bandpass_passes_the_band_and_stops_the_rest(freq, gain_range):
    fs = 360.0
    y = bandpass_filter(_sine(freq, fs, seconds=30), fs)
    middle = y[len(y) // 4 : -len(y) // 4]
    gain = np.sqrt(2) * middle.std()
    assert gain_range[0] <= gain <= gain_range[1]


def test_bandpass_attenuates_baseline_offset():
    # BeatGAN's 109-tap design passes 0.205 of DC each way, 4.2 % both ways (-27 dB);
    # per-beat min-max scaling removes what is left.
    y = bandpass_filter(5.0 + _sine(10, 360), 360)
    assert abs(y[1000:-1000].mean()) == pytest.approx(5.0 * 0.0422, rel=0.01)


def test_bandpass_is_zero_phase():
    fs = 360.0
    t = np.arange(3600) / fs
    spike = np.exp(-((t - 5.0) ** 2) / (2 * 0.015**2))
    assert np.argmax(bandpass_filter(spike, fs)) == np.argmax(spike) == 1800


@pytest.mark.parametrize(
    ("band", "fs", "match"),
    [
        ((3.0, 45.0), 80.0, r"fs / 2 = 40 Hz"),
        ((45.0, 3.0), 360.0, "0 < low < high"),
        ((0.0, 45.0), 360.0, "0 < low < high"),
        ((3.0,), 360.0, "pair of numbers"),
        ("3-45", 360.0, "pair of numbers"),
    ],
)
def test_bandpass_rejects_impossible_bands(band, fs, match):
    with pytest.raises(DataError, match=match):
        bandpass_filter(np.zeros(4000), fs, band)


def test_bandpass_rejects_too_short_signal():
    with pytest.raises(DataError, match=r"327 samples is too short .* filter_band=None"):
        bandpass_filter(np.zeros(327), 360)


@pytest.mark.parametrize(
    ("fs", "expected"),
    [(360, (140, 180)), (250, (97, 125)), (500, (194, 250)), (128, (50, 64)), (1000, (389, 500))],
)
def test_window_samples_scales_beatgan_window(fs, expected):
    assert window_samples(fs) == expected


def test_window_samples_rejects_rates_too_low_for_a_beat():
    with pytest.raises(DataError, match=r"fs=30 Hz .* only 27 samples"):
        window_samples(30)


@pytest.mark.parametrize("window", [(-1, 180), (0, 0), (140.5, 180), (140,), "140,180"])
def test_window_samples_rejects_bad_windows(window):
    with pytest.raises(DataError, match="window"):
        window_samples(360, window)


def test_extract_beats_drops_windows_outside_the_signal():
    n = 3600
    peaks = [139, 140, 1000, n - 180, n - 179]
    beats, kept = extract_beats(np.zeros(n), 360, peaks)
    assert kept.tolist() == [1, 2, 3]
    assert beats.shape == (3, 1, 320)


def test_extract_beats_at_360hz_is_the_raw_window():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((2000, 2))
    beats, kept = extract_beats(signal, 360, [500, 1200], scale=None)
    assert beats.dtype == np.float32
    np.testing.assert_allclose(beats[1], signal[1200 - 140 : 1200 + 180].T.astype(np.float32))


def test_extract_beats_resamples_other_rates_to_length():
    fs = 250.0
    ramp = np.arange(2500, dtype=float)
    beats, _ = extract_beats(ramp, fs, [1000], scale=None)
    before, after = window_samples(fs)
    # Linear interpolation keeps a ramp exactly linear, ends in place.
    np.testing.assert_allclose(beats[0, 0], np.linspace(1000 - before, 1000 + after - 1, 320),
                               rtol=1e-6)


@pytest.mark.parametrize("length", [64, 320, 512])
def test_extract_beats_length(length):
    beats, _ = extract_beats(_sine(1, 360), 360, [1000, 2000], length=length)
    assert beats.shape == (2, 1, length)


def test_extract_beats_minmax_scales_each_beat_and_lead():
    rng = np.random.default_rng(1)
    signal = rng.standard_normal((3000, 2)) * [1.0, 50.0] + [0.0, 7.0]
    beats, _ = extract_beats(signal, 360, [500, 1500, 2500])
    np.testing.assert_allclose(beats.min(axis=-1), -1.0)
    np.testing.assert_allclose(beats.max(axis=-1), 1.0)


def test_extract_beats_with_no_peaks_is_empty():
    beats, kept = extract_beats(np.zeros(1000), 360, np.array([], dtype=int))
    assert beats.shape == (0, 1, 320)
    assert kept.shape == (0,)


def test_scale_beats_minmax_guards_constant_beats():
    scaled = scale_beats_minmax(np.array([[[3.0] * 5, [0.0, 1.0, 2.0, 3.0, 4.0]]]))
    assert scaled.dtype == np.float32
    assert scaled[0, 0].tolist() == [0.0] * 5
    assert scaled[0, 1].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert np.isfinite(scale_beats_minmax(np.full((2, 1, 4), 1e6))).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_signal_is_rejected_with_position(bad):
    signal = np.zeros((1000, 2))
    signal[10, 1] = bad
    with pytest.raises(DataError, match=r"1 NaN or infinite values \(first at sample 10, lead 1\)"):
        extract_beats(signal, 360, [500])


@pytest.mark.parametrize("fs", [0, -360, np.nan, "360", None, True])
def test_bad_sampling_rate_is_rejected(fs):
    with pytest.raises(DataError, match="Sampling rate fs"):
        extract_beats(np.zeros(1000), fs, [500])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"signal": np.zeros((10, 2, 2))}, "Expected a signal of shape"),
        ({"signal": np.zeros((0, 1))}, "Expected a signal of shape"),
        ({"signal": ["a", "b"]}, "array of numbers"),
        ({"r_peaks": [500.5]}, "integer sample indices"),
        ({"r_peaks": [[500]]}, "integer sample indices"),
        ({"length": 1}, "length must be an integer"),
        ({"length": 320.0}, "length must be an integer"),
        ({"scale": "zscore"}, "scale must be one of"),
    ],
)
def test_extract_beats_rejects_bad_arguments(kwargs, match):
    args = {"signal": np.zeros(1000), "fs": 360, "r_peaks": [500], **kwargs}
    with pytest.raises(DataError, match=match):
        extract_beats(args.pop("signal"), args.pop("fs"), args.pop("r_peaks"), **args)


@pytest.mark.parametrize("fs", ["abc", 0, None])
def test_window_samples_rejects_bad_rates(fs):
    with pytest.raises(DataError, match="Sampling rate fs"):
        window_samples(fs)


@pytest.mark.parametrize("numtaps", [1, 2.5, True])
def test_bandpass_rejects_bad_numtaps(numtaps):
    with pytest.raises(DataError, match="numtaps must be an integer"):
        bandpass_filter(np.zeros(4000), 360, numtaps=numtaps)


def test_longer_filter_attenuates_dc_more():
    x = 5.0 + _sine(10, 360, seconds=60)
    default = abs(bandpass_filter(x, 360)[5000:-5000].mean())
    sharper = abs(bandpass_filter(x, 360, numtaps=721)[5000:-5000].mean())
    assert sharper < default / 10

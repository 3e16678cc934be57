import warnings

import numpy as np
import pytest
import wfdb

from beatdetect.datasets import (
    bandpass_filter,
    beats_from_record,
    beats_from_signal,
    extract_beats,
    read_record,
)
from beatdetect.datasets._wfdb import PandasFutureWarning
from beatdetect.exceptions import DataError


def wrsamp(*args, **kwargs):
    """``wfdb.wrsamp`` without the Pandas4Warning that wfdb's own header code raises.

    wfdb 4.3 calls ``DataFrame.drop(..., inplace=True)`` (deprecated in pandas 3.1) while
    writing a header: three warnings per call that the library cannot fix. The library
    silences them where it reads records; these tests write records themselves, so the
    same filter (that category, raised from wfdb's modules only) is applied here.
    """
    with warnings.catch_warnings():
        if PandasFutureWarning is not None:
            warnings.filterwarnings("ignore", category=PandasFutureWarning,
                                    module=r"wfdb(\.|$)")
        wfdb.wrsamp(*args, **kwargs)


def test_annotated_record_gives_labelled_beats(mitdb_dir):
    beats = beats_from_record(mitdb_dir / "100", leads=["MLII"])
    assert beats.r_peak_source == "annotations"
    # 2273 beat annotations; the first (sample 77) has no room for 140 samples before it.
    assert beats.X.shape == (2271, 1, 320)
    assert beats.X.dtype == np.float32
    assert dict(zip(*np.unique(beats.symbol, return_counts=True))) == {"A": 33, "N": 2237, "V": 1}
    assert (beats.y == np.where(beats.aami == "N", 1, -1)).all()
    assert beats.record.tolist() == ["100"] * 2271
    assert beats.sample[0] == 370
    assert beats.lead_names == ["MLII"] and beats.fs == 360.0


def test_pipeline_is_filter_then_extract(mitdb_dir):
    rec = read_record(mitdb_dir / "100", leads=["MLII"])
    beats = beats_from_record(mitdb_dir / "100", leads=["MLII"])
    expected, _ = extract_beats(bandpass_filter(rec.signal, rec.fs), rec.fs, beats.sample)
    np.testing.assert_array_equal(beats.X, expected)


def test_record_and_signal_paths_agree(mitdb_dir):
    rec = read_record(mitdb_dir / "114", leads=["MLII", "V5"])
    from_record = beats_from_record(mitdb_dir / "114", leads=["MLII", "V5"])
    from_signal = beats_from_signal(
        rec.signal, rec.fs, r_peaks=rec.ann_sample, symbols=rec.ann_symbol, name="114"
    )
    np.testing.assert_array_equal(from_record.X, from_signal.X)
    assert from_record.X.shape[1] == 2
    assert from_signal.lead_names == ["lead_0", "lead_1"]


def test_unannotated_record_uses_detected_peaks(mitdb_dir, tmp_path):
    rec = read_record(mitdb_dir / "100")
    n = int(120 * rec.fs)
    wrsamp(
        "short100", fs=rec.fs, units=list(rec.units), sig_name=list(rec.lead_names),
        p_signal=rec.signal[:n], fmt=["212", "212"], write_dir=str(tmp_path),
    )  # fmt: skip
    beats = beats_from_record(tmp_path / "short100", leads=["MLII"])
    assert beats.r_peak_source == "detected"
    assert beats.y is None and beats.aami is None and beats.symbol is None
    assert beats.params["detector"] == "xqrs"
    inside = (rec.ann_sample > 140) & (rec.ann_sample < n - 180)
    truth = rec.ann_sample[(rec.ann_symbol == "N") & inside]
    # Detected beats sit on the annotated R peaks (within 10 ms).
    distance = np.abs(truth[:, None] - beats.sample[None, :]).min(axis=1)
    assert np.mean(distance <= 4) >= 0.99


def test_annotation_none_forces_detection(copy_record):
    folder = copy_record(["100"])
    rec = read_record(folder / "100")
    wrsamp("cut", fs=rec.fs, units=["mV"], sig_name=["MLII"],
           p_signal=rec.signal[:36000, :1], fmt=["16"], write_dir=str(folder))  # fmt: skip
    (folder / "cut.atr").write_bytes((folder / "100.atr").read_bytes())
    assert beats_from_record(folder / "cut").r_peak_source == "annotations"
    assert beats_from_record(folder / "cut", annotation=None).r_peak_source == "detected"


def test_given_peaks_without_symbols_have_no_labels():
    signal = np.random.default_rng(0).standard_normal(5000)
    beats = beats_from_signal(signal, 360, r_peaks=[1000, 2000, 3000])
    assert beats.r_peak_source == "given" and beats.y is None
    assert beats.sample.tolist() == [1000, 2000, 3000]


def test_non_beat_annotations_are_dropped():
    signal = np.random.default_rng(0).standard_normal(5000)
    beats = beats_from_signal(
        signal, 360, r_peaks=[1000, 1500, 2000, 2500], symbols=["N", "+", "V", "~"]
    )
    assert beats.symbol.tolist() == ["N", "V"]
    assert beats.sample.tolist() == [1000, 2000]
    assert beats.y.tolist() == [1, -1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"symbols": ["N"]}, "symbols were given without r_peaks"),
        ({"r_peaks": [1000, 2000], "symbols": ["N"]}, "1 symbols for 2 R peaks"),
        ({"r_peaks": [10, 4990]}, r"No beats in 'signal': 2 given beat positions"),
        ({"r_peaks": [1000], "lead_names": ["a", "b"]}, "2 lead names given"),
        ({"r_peaks": [1000], "window": (1, 2)}, "holds only 3 samples"),
        ({"r_peaks": [1000], "filter_band": (3, 500)}, "cannot be applied at fs=360"),
    ],
)
def test_bad_arguments(kwargs, match):
    signal = np.random.default_rng(0).standard_normal(5000)
    with pytest.raises(DataError, match=match):
        beats_from_signal(signal, 360, **kwargs)


def test_nan_in_numpy_signal():
    signal = np.ones(5000)
    signal[[7, 9]] = np.nan
    with pytest.raises(DataError, match=r"2 NaN or infinite values \(first at sample 7"):
        beats_from_signal(signal, 360, r_peaks=[1000])


def test_record_errors_name_the_record(copy_record):
    folder = copy_record(["100"], extensions=("hea", "dat"))
    with pytest.raises(DataError, match=r"Record '100' \(.*100\): .*window"):
        beats_from_record(folder / "100", window=(1, 1))


def _gaussian_beats(fs, centres, seconds=12.0):
    t = np.arange(int(seconds * fs)) / fs
    return sum(np.exp(-((t - c) ** 2) / (2 * 0.01**2)) for c in centres)


def test_align_peak_cuts_the_window_of_the_true_r_peak_from_early_marks():
    fs = 250.0
    centres = np.arange(1.0, 11.0, 0.8)
    ecg = _gaussian_beats(fs, centres)
    peaks = np.round(centres * fs).astype(int)
    early = peaks - 11  # 44 ms before the R peak, as the European ST-T marks sit
    at_peaks = beats_from_signal(ecg, fs, r_peaks=peaks, symbols=["N"] * len(peaks))
    as_marked = beats_from_signal(ecg, fs, r_peaks=early, symbols=["N"] * len(peaks))
    aligned = beats_from_signal(ecg, fs, r_peaks=early, symbols=["N"] * len(peaks),
                                align="peak")
    assert aligned.sample.tolist() == at_peaks.sample.tolist()
    np.testing.assert_array_equal(aligned.X, at_peaks.X)
    # Unaligned, the QRS sits 44 ms late in its window: a different beat to a model.
    assert np.abs(as_marked.X - at_peaks.X).max() > 0.5
    assert aligned.params["align"] == "peak" and as_marked.params["align"] is None


def test_unknown_align_is_refused():
    ecg = _gaussian_beats(250.0, [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="align must be one of"):
        beats_from_signal(ecg, 250.0, r_peaks=[250, 500, 750], align="onset")

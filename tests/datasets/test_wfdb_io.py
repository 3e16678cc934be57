import os

import numpy as np
import pytest

from beatdetect.datasets import Recording, read_lead_names, read_record
from beatdetect.datasets.wfdb_io import _quiet_wfdb
from beatdetect.exceptions import DataError, DataNotFoundError


def test_read_record_100(mitdb_dir):
    rec = read_record(mitdb_dir / "100")
    assert isinstance(rec, Recording)
    assert rec.name == "100"
    assert rec.signal.shape == (650000, 2)
    assert rec.signal.dtype == np.float64
    assert rec.fs == 360.0
    assert rec.lead_names == ("MLII", "V5")
    assert rec.units == ("mV", "mV")
    # 2274 annotations in all (PhysioNet), 2273 of them beats.
    assert rec.ann_sample.shape == rec.ann_symbol.shape == (2274,)
    assert rec.ann_symbol[:3].tolist() == ["+", "N", "N"]
    assert rec.ann_sample[:3].tolist() == [18, 77, 370]


def test_record_114_mlii_is_its_second_column(mitdb_dir):
    both = read_record(mitdb_dir / "114")
    mlii = read_record(mitdb_dir / "114", leads="MLII")
    assert both.lead_names == ("V5", "MLII")
    assert mlii.lead_names == ("MLII",)
    np.testing.assert_array_equal(mlii.signal[:, 0], both.signal[:, 1])


def test_leads_by_position_keep_the_requested_order(mitdb_dir):
    rec = read_record(mitdb_dir / "100", leads=[1, 0], annotation=None)
    assert rec.lead_names == ("V5", "MLII")
    assert rec.ann_sample is None


@pytest.mark.parametrize("suffix", [".hea", ".dat", ".atr"])
def test_paths_with_extension_are_accepted(mitdb_dir, suffix):
    assert read_record(f"{mitdb_dir / '100'}{suffix}").name == "100"


def test_missing_lead_names_record_and_available_leads(mitdb_dir):
    match = r"Record '102' .* no lead 'MLII'; its leads are \['V5', 'V2'\]"
    with pytest.raises(DataError, match=match):
        read_record(mitdb_dir / "102", leads=["MLII"])


def test_lead_index_out_of_range(mitdb_dir):
    with pytest.raises(DataError, match="lead index 2 is out of range"):
        read_record(mitdb_dir / "100", leads=[2])


def test_empty_leads_are_rejected(mitdb_dir):
    with pytest.raises(DataError, match="leads is empty"):
        read_record(mitdb_dir / "100", leads=[])


def test_missing_header_raises_not_found(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"No WFDB header .*999\.hea"):
        read_record(tmp_path / "999")


def test_missing_signal_file_is_named(copy_record):
    folder = copy_record(["100"], extensions=("hea", "atr"))
    match = r"Signal file .*100\.dat of record '100' is missing"
    with pytest.raises(DataNotFoundError, match=match):
        read_record(folder / "100")


@pytest.mark.parametrize("size", [1_000_000, 999_999, 0])
def test_truncated_signal_file(copy_record, size):
    folder = copy_record(["100"])
    os.truncate(folder / "100.dat", size)
    with pytest.raises(DataError, match=rf"100\.dat is truncated: {size} bytes.*1950000 bytes"):
        read_record(folder / "100")


def test_truncated_annotation_file(copy_record):
    folder = copy_record(["100"])
    os.truncate(folder / "100.atr", 2001)
    with pytest.raises(DataError, match=r"annotation file .*100\.atr of record '100'"):
        read_record(folder / "100")


@pytest.mark.parametrize("size", [0, 10, 30, 60])
def test_truncated_header(copy_record, size):
    folder = copy_record(["100"])
    os.truncate(folder / "100.hea", size)
    with pytest.raises(DataError, match=r"Could not parse WFDB header .*100\.hea"):
        read_record(folder / "100")


def test_unreadable_signal_is_wrapped(copy_record, monkeypatch):
    folder = copy_record(["100"])

    def broken(*args, **kwargs):
        raise ValueError("could not broadcast input array")

    monkeypatch.setattr("wfdb.rdrecord", broken)
    with pytest.raises(DataError, match=r"signal of record '100' .* ValueError: could not"):
        read_record(folder / "100")


def test_record_without_annotations(copy_record):
    folder = copy_record(["100"], extensions=("hea", "dat"))
    rec = read_record(folder / "100")
    assert rec.ann_sample is None and rec.ann_symbol is None


def test_read_lead_names(mitdb_dir):
    assert read_lead_names(mitdb_dir / "114") == ("V5", "MLII")


# ------------------------------------------------------------------ damaged files that parse
def write_synthetic_record(folder, name="syn", *, minutes=10.0, fs=360):
    """A one-lead WFDB record of ``minutes`` of noise, written with wfdb (no real data needed)."""
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    signal = np.random.default_rng(0).normal(0.0, 0.1, size=(int(minutes * 60 * fs), 1))
    with _quiet_wfdb():
        wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=signal,
                    fmt=["16"], write_dir=str(folder))
    return folder / name


def write_annotations(record, samples, symbols, extension="atr"):
    import wfdb

    with _quiet_wfdb():
        wfdb.wrann(record.name, extension, np.asarray(samples, dtype=np.int64),
                   symbol=list(symbols), write_dir=str(record.parent))


def encode_annotations(samples, codes) -> bytes:
    """WFDB annotation bytes (MIT format), written by hand to allow what wfdb.wrann refuses.

    Each annotation is a 16-bit little-endian word ``code << 10 | interval``; an interval
    that does not fit in 10 bits (or is negative) goes in a SKIP (code 59) followed by a
    32-bit two's complement integer, high half first (WFDB's ``annot(5)`` manual page).
    """
    out, previous = bytearray(), 0
    for sample, code in zip(samples, codes):
        code, interval = int(code), int(sample) - previous
        if 0 <= interval < 1024:
            out += ((code << 10) | interval).to_bytes(2, "little")
        else:
            value = interval & 0xFFFFFFFF
            out += (59 << 10).to_bytes(2, "little")
            out += (value >> 16).to_bytes(2, "little") + (value & 0xFFFF).to_bytes(2, "little")
            out += (code << 10).to_bytes(2, "little")
        previous = int(sample)
    return bytes(out + b"\0\0")


@pytest.mark.parametrize("size", [10, 100, 1_000, 4_000, 20_000])
def test_random_bytes_as_annotations_are_rejected(tmp_path, size):
    """Random bytes often parse as WFDB annotations; none may pass as a record's beats.

    The only random files read_record accepts hold no beat annotation at all (a handful of
    bytes that decode to rhythm or comment codes, or to nothing): such a file is
    indistinguishable from a legitimate rhythm-only annotation file (the MIT-BIH Atrial
    Fibrillation Database's .atr files are), and beats_from_record then refuses it.
    """
    from beatdetect.datasets import beats_from_record
    from beatdetect.datasets.wfdb_io import WFDB_BEAT_SYMBOLS

    record = write_synthetic_record(tmp_path)
    n_accepted = 0
    for seed in range(60):
        (tmp_path / "syn.atr").write_bytes(np.random.default_rng([seed, size]).bytes(size))
        try:
            rec = read_record(record)
        except DataError as err:
            assert "syn.atr" in str(err)
            continue
        n_accepted += 1
        assert not np.isin(rec.ann_symbol, list(WFDB_BEAT_SYMBOLS)).any(), seed
        with pytest.raises(DataError, match="No beats"):
            beats_from_record(record)
    assert n_accepted <= 6  # only tiny files decode to a few non-beat codes


def test_random_annotations_of_a_real_record_are_rejected(copy_record):
    # The reproduction: random bytes as 100.atr, which wfdb often reads without error.
    folder = copy_record(["100"], extensions=("hea", "dat"))
    for seed in range(20):
        (folder / "100.atr").write_bytes(np.random.default_rng(seed).bytes(4000))
        with pytest.raises(DataError, match=r"100\.atr"):
            read_record(folder / "100")


def test_annotations_before_the_signal(tmp_path):
    record = write_synthetic_record(tmp_path, minutes=1)
    samples = [-5_000, -4_000] + list(range(100, 20_000, 300))
    (tmp_path / "syn.atr").write_bytes(encode_annotations(samples, [1] * len(samples)))
    with pytest.raises(DataError, match=r"syn\.atr does not fit its record: 2 of 69 annotations "
                                        r"lie before the signal's first sample \(e\.g\. sample "
                                        r"-5000\)"):
        read_record(record)


def test_annotations_past_the_end_of_a_cut_signal_are_kept(tmp_path):
    # A record cut short of its annotation file (its first minute saved with wfdb.wrsamp):
    # the annotations inside the signal are sound, no beat window is cut past its end.
    record = write_synthetic_record(tmp_path, minutes=1)
    samples = np.arange(100, 10 * 21_600, 300)
    write_annotations(record, samples, "N" * len(samples))
    assert read_record(record).ann_sample.tolist() == samples.tolist()
    # But the beats inside the signal must still be plausible.
    samples = np.r_[100, np.arange(30_000, 10 * 21_600, 300)]
    write_annotations(record, samples, "N" * len(samples))
    with pytest.raises(DataError, match=r"syn\.atr .* marks 1 beats over 1\.0 minutes"):
        read_record(record)


def test_annotations_out_of_time_order(tmp_path):
    record = write_synthetic_record(tmp_path, minutes=1)
    samples = list(range(100, 20_000, 300))
    samples[10], samples[11] = samples[11], samples[10]
    (tmp_path / "syn.atr").write_bytes(encode_annotations(samples, [1] * len(samples)))
    with pytest.raises(DataError, match=r"syn\.atr is damaged: its positions go backwards"):
        read_record(record)


def test_mostly_unknown_annotation_codes(tmp_path):
    record = write_synthetic_record(tmp_path, minutes=1)
    samples = np.arange(100, 20_000, 300)
    codes = np.where(np.arange(len(samples)) % 3 == 0, 45, 1)  # 45: no WFDB meaning
    (tmp_path / "syn.atr").write_bytes(encode_annotations(samples, codes))
    with pytest.raises(DataError, match=r"syn\.atr is damaged or not a WFDB annotation file: "
                                        r"23 of 67 annotations have codes with no WFDB meaning"):
        read_record(record)
    # A few undefined codes (at most 10 %) are tolerated: the beats around them are usable.
    codes = np.where(np.arange(len(samples)) % 12 == 0, 45, 1)  # 6 of 67
    (tmp_path / "syn.atr").write_bytes(encode_annotations(samples, codes))
    assert (read_record(record).ann_symbol == "N").sum() == 61


def test_far_too_few_beats_for_the_record(tmp_path):
    record = write_synthetic_record(tmp_path, minutes=10)
    write_annotations(record, np.arange(99) * 2_000 + 500, "N" * 99)  # ~10 bpm
    with pytest.raises(DataError, match=r"marks 99 beats over 10\.0 minutes .* 10 beats per "
                                        r"minute would give \(100\)"):
        read_record(record)
    write_annotations(record, np.arange(100) * 2_000 + 500, "N" * 100)
    assert read_record(record).ann_sample.size == 100


def test_sparse_or_beatless_annotations_are_kept_when_plausible(tmp_path):
    # A short record is not held to the heart-rate floor: 3 beats over 30 s is too few to
    # say anything. A file without any beat annotates something else (rhythm only).
    short = write_synthetic_record(tmp_path / "short", minutes=0.5)
    write_annotations(short, [1_000, 5_000, 9_000], "NVN")
    assert read_record(short).ann_symbol.tolist() == ["N", "V", "N"]
    rhythm = write_synthetic_record(tmp_path / "rhythm", minutes=10)
    write_annotations(rhythm, [10, 90_000], "++")
    assert read_record(rhythm).ann_sample.tolist() == [10, 90_000]


@pytest.mark.realdata
def test_every_mitbih_record_loads_its_annotations(mitdb_dir):
    from beatdetect.datasets import MITBIH_RECORDS

    for record in MITBIH_RECORDS:
        read_lead_names(mitdb_dir / record)
        rec = read_record(mitdb_dir / record, leads=[0])
        assert rec.fs == 360.0 and rec.ann_sample.size > 1_500, record


def _edit_record_line(header_file, fields):
    lines = header_file.read_text().splitlines(keepends=True)
    lines[0] = " ".join(fields) + "\n"
    header_file.write_text("".join(lines))


@pytest.mark.parametrize(
    "fs_field, match",
    [
        ("abc", r"invalid sampling frequency 'abc'"),
        ("-360", r"invalid sampling frequency '-360'"),
        ("0", r"invalid sampling frequency '0'"),
        ("0/360", r"invalid sampling frequency '0/360'"),
        (None, r"gives no sampling frequency \(record line '100 2'\); wfdb would assume 250 Hz"),
    ],
)
def test_header_without_a_valid_sampling_frequency(copy_record, fs_field, match):
    folder = copy_record(["100"])
    _edit_record_line(folder / "100.hea", ["100", "2"] + ([fs_field, "650000"] if fs_field else []))
    for read in (read_record, read_lead_names):
        with pytest.raises(DataError, match=rf"WFDB header .*100\.hea .*{match}") as info:
            read(folder / "100")
        assert "third field of the header's first line, e.g. '100 2 360 ...'" in str(info.value)


def test_header_sampling_frequency_with_counter_and_comments(copy_record):
    folder = copy_record(["100"])
    header = folder / "100.hea"
    text = header.read_text().replace("100 2 360 ", "100 2 360/1(0) ", 1)
    header.write_text("# a comment line first\n\n" + text)
    assert read_record(folder / "100", annotation=None).fs == 360.0


def test_wfdb_pandas_deprecations_are_silenced_at_their_source(mitdb_dir):
    # wfdb's own DataFrame.set_index(inplace=True) warns on every annotation read (pandas
    # >= 3.1); only that warning, raised from wfdb, is silenced.
    import warnings

    pandas_warning = pytest.importorskip("pandas.errors").__dict__.get("Pandas4Warning")
    if pandas_warning is None:
        pytest.skip("this pandas has no Pandas4Warning")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_lead_names(mitdb_dir / "100")
        read_record(mitdb_dir / "100")
        with _quiet_wfdb():
            warnings.warn("raised outside wfdb", pandas_warning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["raised outside wfdb"]

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

"""The QT Database loader: record selection, lead choice, alignment, errors, the real data."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import wfdb

from beatdetect.datasets import QTDB_SOURCES, QTDB_TRANSFER_RECORDS, load_qtdb
from beatdetect.datasets._wfdb import PandasFutureWarning
from beatdetect.exceptions import DataError, DataNotFoundError

from .test_beats import wrsamp

FS = 250


def _write_record(folder: Path, name: str, lead_names, symbols, offset: int = 0):
    """A 20-second two-lead record at 250 Hz with one Gaussian R wave per mark, the marks
    ``offset`` samples before the R peaks (as the European ST-T marks are)."""
    t = np.arange(20 * FS) / FS
    centres = np.arange(1.0, 1.0 + 0.8 * len(symbols), 0.8)
    ecg = sum(np.exp(-((t - c) ** 2) / (2 * 0.01**2)) for c in centres)
    signal = np.column_stack([ecg, -ecg])
    wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=list(lead_names), p_signal=signal,
           fmt=["16", "16"], write_dir=str(folder))
    marks = np.round(centres * FS).astype(np.int64) - offset
    with warnings.catch_warnings():  # wfdb's own pandas deprecation, as in wrsamp
        if PandasFutureWarning is not None:
            warnings.filterwarnings("ignore", category=PandasFutureWarning,
                                    module=r"wfdb(\.|$)")
        wfdb.wrann(name, "atr", marks, symbol=list(symbols), write_dir=str(folder))


@pytest.fixture
def qtdb_home(tmp_path):
    folder = tmp_path / "qtdb"
    folder.mkdir()
    _write_record(folder, "sele0104", ["D3", "D4"], ["N"] * 20 + ["V"], offset=11)
    _write_record(folder, "sel301", ["record 301, signal 0", "record 301, signal 1"],
                  ["N"] * 18 + ["A", "N"])
    _write_record(folder, "sel114", ["V5", "MLII"], ["N"] * 20)
    return tmp_path


def test_transfer_records_leave_out_mitbih_and_the_held_out_supraventricular_database():
    sources = {QTDB_SOURCES[r] for r in QTDB_TRANSFER_RECORDS}
    assert sources == {"edb", "stdb", "nsrdb", "ltdb"}
    assert len(QTDB_TRANSFER_RECORDS) == 54
    assert {QTDB_SOURCES[r] for r in QTDB_SOURCES} - sources == {"mitdb", "svdb"}


def test_loads_labelled_beats_with_their_source_lead_and_aligned_marks(qtdb_home):
    data = load_qtdb(qtdb_home, records=["sele0104", "sel301", "sel114"], verbose=False)
    counts = {r: int((data.record == r).sum()) for r in data.records}
    # The first beat of each record (1.0 s) has room for its 140/360 s window; the last
    # beats too: every mark gives a beat.
    assert counts == {"sele0104": 21, "sel301": 20, "sel114": 20}
    assert dict(zip(*np.unique(data.aami, return_counts=True))) == {"N": 59, "S": 1, "V": 1}
    assert set(data.source) == {"edb", "stdb", "mitdb"}
    # MLII when the record has it (sel114 stores it second), else the first lead.
    lead = {r: data.lead[data.record == r][0] for r in data.records}
    assert lead == {"sele0104": "D3", "sel301": "record 301, signal 0", "sel114": "MLII"}
    # sele0104's marks were 11 samples (44 ms) early: aligned onto the R peaks.
    sele = data.sample[data.record == "sele0104"]
    assert (sele == np.round(np.arange(1.0, 17.8, 0.8) * FS).astype(int)).all()
    assert data.rr.shape == (61, 3) and data.fs == 250.0


def test_align_none_keeps_the_marks_and_changes_the_beats(qtdb_home):
    aligned = load_qtdb(qtdb_home, records=["sele0104"], verbose=False)
    as_marked = load_qtdb(qtdb_home, records=["sele0104"], align=None, verbose=False)
    assert (aligned.sample - as_marked.sample == 11).all()
    assert np.abs(aligned.X - as_marked.X).max() > 0.5


def test_a_requested_lead_is_read_where_present(qtdb_home):
    data = load_qtdb(qtdb_home, records=["sele0104", "sel114"], leads=["D4"], verbose=False)
    assert {r: data.lead[data.record == r][0] for r in data.records} == {
        "sele0104": "D4", "sel114": "MLII"}


def test_missing_files_name_the_folder_and_unknown_records_are_refused(tmp_path, qtdb_home):
    with pytest.raises(DataNotFoundError, match=r"QT Database files are missing from .*qtdb"):
        load_qtdb(tmp_path / "elsewhere", verbose=False)
    with pytest.raises(DataError, match="Unknown QT Database record"):
        load_qtdb(qtdb_home, records=["sel999"], verbose=False)
    with pytest.raises(DataError, match="align must be one of"):
        load_qtdb(qtdb_home, records=["sel114"], align="onset", verbose=False)


def _real_qtdb_home():
    """A folder holding the real qtdb/, when this machine has one (never in CI's data)."""
    for home in (os.environ.get("BEATDETECT_TRANSFER_HOME"), os.environ.get("BEATDETECT_DATA")):
        if home and all((Path(home) / "qtdb" / f"{r}.atr").is_file()
                        for r in QTDB_TRANSFER_RECORDS):
            return Path(home)
    return None


@pytest.mark.skipif(_real_qtdb_home() is None,
                    reason="the QT Database is not on this machine (set "
                           "BEATDETECT_TRANSFER_HOME to a folder holding qtdb/)")
def test_the_real_transfer_records():
    data = load_qtdb(_real_qtdb_home(), verbose=False)
    assert data.X.shape == (57212, 1, 320)
    assert dict(zip(*np.unique(data.aami, return_counts=True))) == {
        "F": 9, "N": 56785, "S": 153, "V": 265}
    assert dict(zip(*np.unique(data.source, return_counts=True))) == {
        "edb": 33709, "ltdb": 4034, "nsrdb": 11425, "stdb": 8044}

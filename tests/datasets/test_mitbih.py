import os
import shutil

import numpy as np
import pytest

from beatdetect.datasets import MITBIH_RECORDS, PACED_RECORDS, beats_from_record, load_mitbih
from beatdetect.datasets import beats as beats_module
from beatdetect.exceptions import DataError, DataNotFoundError

# The hard requirement: all beat annotations of the 44 non-paced records whose
# 140/180-sample window fits in the signal.
EXPECTED_COUNTS = {"N": 90_081, "S": 2_781, "V": 7_008, "F": 802, "Q": 15}


def _counts(values):
    return {str(k): int(v) for k, v in zip(*np.unique(values, return_counts=True))}


def test_full_database_gives_the_expected_beats(full_load):
    data = full_load["cold"]
    assert data.X.shape == (100_687, 1, 320)
    assert data.X.dtype == np.float32
    assert _counts(data.aami) == EXPECTED_COUNTS
    assert len(data.records) == 44 and not set(PACED_RECORDS) & set(data.records)
    assert set(data.record.tolist()) == set(MITBIH_RECORDS) - set(PACED_RECORDS)
    for field in ("y", "aami", "symbol", "record", "sample"):
        assert len(data[field]) == len(data.X)
    assert (data.y == np.where(data.aami == "N", 1, -1)).all()
    assert int((data.y == 1).sum()) == EXPECTED_COUNTS["N"]
    assert data.X.min() == -1.0 and data.X.max() == 1.0
    assert data.fs == 360.0 and data.lead_names == ["MLII"] and data.window == (140, 180)
    assert data.params["scale"] == "minmax" and data.params["filter_band"] == [3.0, 45.0]
    assert "MIT-BIH" in data.DESCR


def test_warm_load_is_identical_and_reads_no_record(full_load):
    cold, warm = full_load["cold"], full_load["warm"]
    for field in ("X", "y", "aami", "symbol", "record", "sample", "rr"):
        np.testing.assert_array_equal(warm[field], cold[field])
    assert full_load["records_read_warm"] == []  # every record came from the cache


def test_cache_holds_one_file_per_record_and_no_temporaries(full_load):
    files = sorted(p.name for p in (full_load["cache_dir"] / "mitdb").iterdir())
    assert len(files) == 44
    assert all(name.endswith(".npz") and not name.startswith(".") for name in files)
    assert files[0].startswith("100-")


def test_record_114_uses_its_second_channel(data_home, mitdb_dir, tmp_path):
    data = load_mitbih(data_home, records=["114"], cache_dir=tmp_path, verbose=False)
    direct = beats_from_record(mitdb_dir / "114", leads=["MLII"])
    np.testing.assert_array_equal(data.X, direct.X)
    assert data.lead_names == ["MLII"] and data.records == ["114"]


def test_records_accept_ints_strings_and_keep_order(data_home, tmp_path):
    data = load_mitbih(data_home, records=[200, "100", "200"], cache_dir=tmp_path, verbose=False)
    assert data.records == ["200", "100"]
    assert data.record[0] == "200" and data.record[-1] == "100"


def test_two_leads(data_home, tmp_path):
    data = load_mitbih(
        data_home, records=["103", "117"], leads=("MLII", "V2"), cache_dir=tmp_path, verbose=False
    )
    assert data.X.shape[1:] == (2, 320) and data.lead_names == ["MLII", "V2"]


def test_lead_missing_from_one_record_is_named(data_home):
    with pytest.raises(DataError, match=r"\['MLII', 'V2'\] are not in .*\(100 has MLII, V5\)"):
        load_mitbih(data_home, records=["100", "103"], leads=("MLII", "V2"), verbose=False)


def test_missing_lead_lists_every_record_lacking_it(data_home):
    with pytest.raises(DataError, match=r"102 has V5, V2; 104 has V5, V2\).*exclude_paced=True"):
        load_mitbih(data_home, exclude_paced=False, verbose=False)


def test_paced_record_loads_when_asked(data_home, tmp_path):
    data = load_mitbih(
        data_home, records=["107"], exclude_paced=False, cache_dir=tmp_path, verbose=False
    )
    assert _counts(data.aami)["Q"] > 2000  # mostly paced beats


@pytest.mark.parametrize(
    ("records", "kwargs", "match"),
    [
        ([], {}, "records is empty"),
        (["999"], {}, r"Unknown MIT-BIH record\(s\) \['999'\]"),
        (["102", "104"], {}, r"paced records, excluded by default; pass exclude_paced=False"),
        (["100"], {"leads": []}, "non-empty sequence of lead names"),
        (["100"], {"leads": [0]}, "non-empty sequence of lead names"),
        (["100"], {"length": 0}, "length must be an integer"),
        (["100"], {"scale": "zscore"}, "scale must be one of"),
        (["100"], {"window": (140,)}, "window must be a pair"),
        (["100"], {"filter_band": (3.0, 200.0)}, "cannot be applied at fs=360"),
    ],
)
def test_bad_selection_and_parameters(data_home, records, kwargs, match):
    with pytest.raises(DataError, match=match):
        load_mitbih(data_home, records=records, verbose=False, **kwargs)


def test_missing_database_names_folder_and_both_fixes(tmp_path):
    folder = tmp_path / "mitdb"
    with pytest.raises(DataNotFoundError, match=r"missing from .*mitdb: 100\.hea") as info:
        load_mitbih(tmp_path, records=["100"], verbose=False)
    message = str(info.value)
    assert str(folder) in message
    assert "download=True" in message and "BEATDETECT_DATA" in message and "data_home" in message


def test_data_home_from_environment(data_home, monkeypatch, tmp_path):
    monkeypatch.setenv("BEATDETECT_DATA", str(data_home))
    data = load_mitbih(records=["100"], cache_dir=tmp_path, verbose=False)
    assert len(data.X) == 2271


def test_download_fetches_only_missing_records(mitdb_dir, tmp_path, monkeypatch, copy_record):
    copy_record(["100"], folder="home/mitdb")
    calls = []

    def fake_dl_database(db_dir, dl_dir, records="all", annotators="all", **kwargs):
        calls.append((db_dir, dl_dir, records, annotators))
        for record in records:
            for ext in ("hea", "dat", "atr"):
                name = f"{record}.{ext}"
                shutil.copyfile(mitdb_dir / name, os.path.join(dl_dir, name))

    monkeypatch.setattr("wfdb.dl_database", fake_dl_database)
    data = load_mitbih(tmp_path / "home", records=["100", "101"], download=True, verbose=False)
    assert calls == [("mitdb", str(tmp_path / "home" / "mitdb"), ["101"], ["atr"])]
    assert data.records == ["100", "101"]


def test_download_failure_is_reported(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr("wfdb.dl_database", offline)
    with pytest.raises(DataNotFoundError, match=r"Could not download record '100' .*Connection"):
        load_mitbih(tmp_path, records=["100"], download=True, verbose=False)


def test_truncated_record_names_the_file(copy_record, tmp_path):
    folder = copy_record(["100"])
    os.truncate(folder / "100.dat", 100_000)
    with pytest.raises(DataError, match=r"100\.dat is truncated"):
        load_mitbih(tmp_path, records=["100"], verbose=False)


def test_cache_is_keyed_by_parameters_and_reused(data_home, tmp_path, monkeypatch):
    load_mitbih(data_home, records=["100"], cache_dir=tmp_path, verbose=False)
    load_mitbih(data_home, records=["100"], length=256, cache_dir=tmp_path, verbose=False)
    assert len(list((tmp_path / "mitdb").glob("100-*.npz"))) == 2

    def no_recompute(*args, **kwargs):
        raise AssertionError("should have been read from the cache")

    monkeypatch.setattr(beats_module, "beats_from_record", no_recompute)
    data = load_mitbih(data_home, records=["100"], length=256, cache_dir=tmp_path, verbose=False)
    assert data.X.shape == (2271, 1, 256)


def test_cache_false_writes_nothing(data_home, tmp_path):
    load_mitbih(data_home, records=["100"], cache=False, cache_dir=tmp_path, verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_cache_dir_from_environment(data_home, tmp_path, monkeypatch):
    monkeypatch.setenv("BEATDETECT_CACHE", str(tmp_path / "envcache"))
    load_mitbih(data_home, records=["100"], verbose=False)
    assert len(list((tmp_path / "envcache" / "mitdb").glob("100-*.npz"))) == 1


def test_read_only_data_home_falls_back_to_user_cache(copy_record, tmp_path, monkeypatch):
    folder = copy_record(["100"], folder="ro/mitdb")
    monkeypatch.delenv("BEATDETECT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder.parent.chmod(0o555)
    try:
        with pytest.warns(UserWarning, match=r"beatdetect_cache is not writable"):
            load_mitbih(folder.parent, records=["100"], verbose=False)
        assert sorted(p.name for p in folder.parent.iterdir()) == ["mitdb"]
    finally:
        folder.parent.chmod(0o755)
    assert len(list((tmp_path / "xdg" / "beatdetect" / "mitdb").glob("100-*.npz"))) == 1


def test_progress_bar_when_verbose(data_home, tmp_path, capsys):
    load_mitbih(data_home, records=["100"], cache_dir=tmp_path, verbose=True)
    assert "Loading mitdb" in capsys.readouterr().err
    load_mitbih(data_home, records=["100"], cache_dir=tmp_path, verbose=False)
    assert capsys.readouterr().err == ""


def test_download_into_an_uncreatable_folder(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DataNotFoundError, match=r"Cannot create .*file/mitdb"):
        load_mitbih(tmp_path / "file", records=["100"], download=True, verbose=False)


def test_align_peak_moves_mitbih_annotations_little_and_keeps_the_default_cache(data_home):
    as_annotated = load_mitbih(data_home, records=["100"], verbose=False)
    aligned = load_mitbih(data_home, records=["100"], align="peak", verbose=False)
    assert len(aligned.sample) == len(as_annotated.sample) == 2271
    shift = aligned.sample - as_annotated.sample
    # MIT-BIH's annotations sit on the R peak: the record's one shift is a sample at most.
    assert len(set(shift.tolist())) == 1 and abs(int(shift[0])) <= 1
    assert aligned.params["align"] == "peak" and "align" not in as_annotated.params
    with pytest.raises(DataError, match="align must be one of"):
        load_mitbih(data_home, records=["100"], align="onset", verbose=False)

from pathlib import Path

import pytest

from beatdetect.datasets import get_data_home
from beatdetect.datasets._home import is_writable_dir, resolve_cache_dir


def test_get_data_home_argument_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BEATDETECT_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"


def test_get_data_home_uses_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BEATDETECT_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"


def test_get_data_home_default_is_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("BEATDETECT_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "beatdetect_data"


def test_get_data_home_expands_user(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home("~/physionet") == tmp_path / "physionet"


def test_get_data_home_does_not_create_the_folder(tmp_path):
    get_data_home(tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_is_writable_dir_walks_up_to_existing_parent(tmp_path):
    assert is_writable_dir(tmp_path / "a" / "b" / "c")
    assert not (tmp_path / "a").exists()


def test_is_writable_dir_respects_permission_bits_even_for_root(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert not is_writable_dir(locked)
        assert not is_writable_dir(locked / "cache")
    finally:
        locked.chmod(0o755)


def test_is_writable_dir_false_below_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    assert not is_writable_dir(tmp_path / "file" / "cache")


@pytest.mark.parametrize(
    ("argument", "env", "expected"),
    [
        ("arg", "env", "arg"),
        (None, "env", "env"),
        (None, None, "home/beatdetect_cache"),
    ],
)
def test_resolve_cache_dir_order(monkeypatch, tmp_path, argument, env, expected):
    if env is None:
        monkeypatch.delenv("BEATDETECT_CACHE", raising=False)
    else:
        monkeypatch.setenv("BEATDETECT_CACHE", str(tmp_path / env))
    argument = None if argument is None else tmp_path / argument
    assert resolve_cache_dir(argument, tmp_path / "home") == tmp_path / expected


def test_resolve_cache_dir_falls_back_to_user_cache_with_warning(monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)
    monkeypatch.delenv("BEATDETECT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    try:
        with pytest.warns(UserWarning, match=r"not writable.*BEATDETECT_CACHE"):
            chosen = resolve_cache_dir(None, home)
    finally:
        home.chmod(0o755)
    assert chosen == tmp_path / "xdg" / "beatdetect"


def test_resolve_cache_dir_gives_none_when_nothing_is_writable(monkeypatch, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    monkeypatch.setenv("XDG_CACHE_HOME", str(locked / "xdg"))
    try:
        with pytest.warns(UserWarning, match="not cached"):
            assert resolve_cache_dir(locked / "cache", Path("/unused")) is None
    finally:
        locked.chmod(0o755)


def test_one_data_home_rule_for_library_and_command_line(monkeypatch, tmp_path):
    """N2: argument > $BEATDETECT_DATA > ~/beatdetect_data, the same in the CLI."""
    from beatdetect.cli import resolve_record

    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    for home in (tmp_path / "env", tmp_path / "arg", tmp_path / "user" / "beatdetect_data"):
        (home / "mitdb").mkdir(parents=True)
        (home / "mitdb" / "100.hea").write_text("100 1 360 10\n")
    monkeypatch.setenv("BEATDETECT_DATA", str(tmp_path / "env"))
    assert resolve_record("100", tmp_path / "arg") == tmp_path / "arg" / "mitdb" / "100"
    assert resolve_record("100") == tmp_path / "env" / "mitdb" / "100"
    monkeypatch.delenv("BEATDETECT_DATA")
    assert resolve_record("100") == tmp_path / "user" / "beatdetect_data" / "mitdb" / "100"
    assert get_data_home() == tmp_path / "user" / "beatdetect_data"


def test_a_failed_download_removes_only_the_empty_folders_it_created(tmp_path):
    from beatdetect.datasets._home import removed_if_empty_on_failure

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "keep.txt").write_text("x")
    with pytest.raises(ConnectionError), removed_if_empty_on_failure(
            tmp_path / "home" / "mitdb" / "sub"):
        (tmp_path / "home" / "mitdb" / "sub").mkdir(parents=True)
        raise ConnectionError("offline")
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["keep.txt"]
    # A folder holding a fetched record stays.
    with pytest.raises(ConnectionError), removed_if_empty_on_failure(tmp_path / "home" / "mitdb"):
        (tmp_path / "home" / "mitdb").mkdir()
        (tmp_path / "home" / "mitdb" / "100.hea").write_text("100 1 360 10\n")
        raise ConnectionError("offline")
    assert (tmp_path / "home" / "mitdb" / "100.hea").is_file()
    with removed_if_empty_on_failure(tmp_path / "ok"):  # success: the folder stays
        (tmp_path / "ok").mkdir()
    assert (tmp_path / "ok").is_dir()

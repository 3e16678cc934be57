"""Every example runs end to end in its --small mode (synthetic beats, tiny networks)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", [name, "--small", *map(str, args)])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_every_example_has_a_smoke_test():
    tested = {"quickstart.py", "grid_search.py", "dask_grid_search.py", "score_record.py",
              "baselines_comparison.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_quickstart(monkeypatch, capsys, tmp_path):
    out = run_example("quickstart.py", monkeypatch, capsys, "--out", tmp_path)
    # --small has no recordings: the GAN's score of the beats alone, no context line
    assert "beats alone:" in out and "with context:" not in out
    auc = float(out.split("AUC ")[1].split()[0])
    assert auc > 0.8
    assert (tmp_path / "quickstart_explanation.png").stat().st_size > 10_000
    assert (tmp_path / "quickstart_history.png").is_file()


def test_grid_search(monkeypatch, capsys):
    out = run_example("grid_search.py", monkeypatch, capsys)
    # BeatGAN and self-distillation at two weights of its loss, each with its mean AUC
    assert out.count("AUC") == 3 and "best: {" in out
    assert "{'distill': None}" in out and "{'distill__w_kd': 4.0}" in out


def test_dask_grid_search(monkeypatch, capsys):
    pytest.importorskip("distributed")
    out = run_example("dask_grid_search.py", monkeypatch, capsys)
    assert out.count("AUC") == 2 and "best: {'w_adv'" in out


def test_score_record(monkeypatch, capsys, tmp_path):
    out = run_example("score_record.py", monkeypatch, capsys, "--out", tmp_path)
    assert "beats flagged" in out
    lines = (tmp_path / "scores.csv").read_text().splitlines()
    assert lines[0] == "time_s,sample,anomaly_score,flag,aami" and len(lines) > 30
    assert (tmp_path / "scored_record.png").stat().st_size > 10_000


def test_baselines_comparison(monkeypatch, capsys, tmp_path):
    out = run_example("baselines_comparison.py", monkeypatch, capsys, "--out", tmp_path / "b")
    for model in ("sibeatgan", "ae", "pca", "ocsvm", "iforest"):
        assert f"| intra | {model} | 1 |" in out
    assert (tmp_path / "b" / "results.json").is_file()
    assert (tmp_path / "b" / "roc_pr_intra_fold0_seed0.png").is_file()

"""The benchmark: protocols, presets, jobs, resuming, results files and the README table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import beatdetect.benchmark.jobs as jobs_module
from beatdetect.benchmark import (
    DEFAULT_MODELS,
    PRESETS,
    ResultsStore,
    get_preset,
    load_results,
    plan_jobs,
    render_markdown,
    run_benchmark,
    split_indices,
    summarize,
    update_readme,
)
from beatdetect.benchmark.files import CSV_COLUMNS, RESULTS_FORMAT
from beatdetect.benchmark.protocols import combine_databases
from beatdetect.benchmark.rendering import README_END, README_START
from beatdetect.benchmark.statistics import paired_differences
from beatdetect.datasets import make_synthetic_beats
from beatdetect.exceptions import DataNotFoundError

REPO = Path(__file__).resolve().parents[1]
TINY = {"base_filters": 8, "latent_dim": 8, "lr": 1e-3, "batch_size": 32,
        "mixed_precision": False, "device": "cpu"}
#: Every number of a row that does not depend on timing.
METRICS = ("auc", "ap", "auc_S", "ap_S", "auc_V", "ap_V", "auc_Q", "ap_Q", "n_train", "n_test",
           "n_anomalous", "offset", "n_iter")


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic_beats(n_normal=300, n_anomalous=45, random_state=0)


def _synthetic_kwargs(synthetic, **changes):
    # Intra-patient only: the synthetic beats have no DS1/DS2 records for the inter split.
    kwargs = dict(models=["sibeatgan", "pca", "iforest"], params={"sibeatgan": TINY},
                  data=synthetic, protocols=("intra",), folds=(0, 1), epochs=1,
                  max_train=120, plots=False, progress=False)
    return {**kwargs, **changes}


def _metrics(rows):
    return [{m: r[m] for m in METRICS} | {"key": r["key"]} for r in rows]


def benchmark_script(name: str):
    """The module of ``benchmarks/<name>.py`` (the scripts are not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


# --------------------------------------------------------------------------- presets, planning
def test_presets_define_the_documented_budgets():
    quick, cpu, paper = PRESETS["quick"], PRESETS["cpu"], PRESETS["paper"]
    assert (quick.protocols, quick.folds, quick.seeds) == (("intra", "inter"), (0,), (0,))
    assert (quick.max_train, quick.epochs) == (3000, 4)
    assert cpu.protocols == ("intra", "inter") and cpu.folds == (0, 1, 2, 3, 4)
    assert (paper.epochs, paper.batch_size, paper.folds, paper.max_train) == (
        100, 64, (0, 1, 2, 3, 4), None)
    assert get_preset("quick", seeds=[0, 1], epochs=None).seeds == (0, 1)
    with pytest.raises(ValueError, match="Unknown preset 'fast'"):
        get_preset("fast")
    with pytest.raises(TypeError, match="Unknown preset field"):
        get_preset("quick", fold=1)
    with pytest.raises(ValueError, match="folds must be integers in"):
        get_preset("quick", folds=(5,))


def test_plan_jobs_order_params_and_keys():
    preset = get_preset("quick", protocols=("intra", "inter"), folds=(0, 1), seeds=(0, 1))
    jobs = plan_jobs(preset, ["sibeatgan", "noadv=sibeatgan", "pca"],
                     {"noadv": {"w_adv": 0.0}}, data_id="d")
    # intra: 2 folds x 2 seeds x 3 models; inter: one split x 2 seeds x 3 models
    assert len(jobs) == 18 and len({j.key for j in jobs}) == 18
    assert [(j.protocol, j.fold, j.seed, j.model) for j in jobs[:4]] == [
        ("intra", 0, 0, "sibeatgan"), ("intra", 0, 0, "noadv"), ("intra", 0, 0, "pca"),
        ("intra", 0, 1, "sibeatgan")]
    assert {j.fold for j in jobs if j.protocol == "inter"} == {0}
    first, noadv, pca = jobs[:3]
    assert first.params == {"max_epochs": 4, "batch_size": 64}
    assert noadv.detector == "sibeatgan" and noadv.params["w_adv"] == 0.0
    assert pca.params == {}  # epochs and batch size only go to detectors that have them
    again = plan_jobs(preset, ["sibeatgan", "noadv=sibeatgan", "pca"],
                      {"noadv": {"w_adv": 0.0}}, data_id="d")
    assert [j.key for j in again] == [j.key for j in jobs]  # keys are stable
    other_data = plan_jobs(preset, ["pca"], data_id="e")
    assert other_data[0].key != jobs[2].key


def test_plan_jobs_takes_fields_of_object_parameters():
    from beatdetect.benchmark.jobs import build_detector
    from beatdetect.nn.augment import ECGAugment

    preset = get_preset("quick", protocols=("intra",), folds=(0,), seeds=(0,))
    (job,) = plan_jobs(preset, ["amp=sibeatgan"],
                       {"amp": {"contrastive": True, "contrastive__augment__warp": 0.0,
                                "contrastive__augment__crop": 1.0}})
    assert job.params["contrastive__augment__warp"] == 0.0  # plain data: the key and file
    det = build_detector(job.detector, job.params, seed=0)
    assert det.contrastive.augment == ECGAugment(warp=0.0, crop=1.0)
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['augment__gamma'\]"):
        plan_jobs(preset, ["sibeatgan"], {"sibeatgan": {"augment__gamma": 1.0}})


def test_plan_jobs_accepts_context_names_and_nested_params():
    from beatdetect.benchmark.jobs import build_detector

    preset = get_preset("quick", protocols=("intra",), folds=(0,), seeds=(0,))
    kd, ctx = plan_jobs(preset, ["kd=sibeatgan", "kd_ctx=sibeatgan+context"],
                        {"kd": {"distill": True, "distill__w_kd": 2.5},
                         "kd_ctx": {"detector__distill": True, "detector__distill__w_kd": 2.5,
                                    "w_rhythm": 0.5}})
    assert ctx.detector == "sibeatgan+context" and ctx.params["w_rhythm"] == 0.5
    # The preset's budget reaches the wrapped detector by its nested name.
    assert ctx.params["detector__max_epochs"] == 4 and ctx.params["detector__batch_size"] == 64
    det = build_detector(ctx.detector, ctx.params, seed=7)
    assert det.detector.distill.w_kd == 2.5 and det.detector.max_epochs == 4
    assert det.random_state == 7 and det.detector.random_state == 7  # both seeded
    assert build_detector(kd.detector, kd.params, seed=0).distill.w_kd == 2.5
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['detector__depth'\]"):
        plan_jobs(preset, ["knn+context"], {"knn+context": {"detector__depth": 3}})


def test_default_models_cover_both_settings():
    from beatdetect.benchmark.presets import BEATS_ALONE_MODELS, CONTEXT_MODELS

    assert BEATS_ALONE_MODELS == ("sibeatgan", "knn", "ae", "pca", "iforest")
    # Every detector of beats alone is also run in context, beside the context-only ones.
    assert tuple(f"{m}+context" for m in BEATS_ALONE_MODELS) + (
        "template", "rhythm") == CONTEXT_MODELS
    assert DEFAULT_MODELS == BEATS_ALONE_MODELS + CONTEXT_MODELS
    jobs = plan_jobs(PRESETS["quick"], data_id="d")
    assert len(jobs) == 2 * len(DEFAULT_MODELS)  # intra fold 0 and inter, seed 0
    assert {j.protocol for j in jobs} == {"intra", "inter"}


@pytest.mark.parametrize(
    ("models", "params", "match"),
    [(["lstm"], None, "Unknown detector 'lstm'. Known detectors: ae, iforest"),
     (["pca"], {"pca": {"depth": 3}}, r"has no parameter\(s\) \['depth'\]"),
     (["sibeatgan"], {"sibeatgan": {"lr": -1.0}}, "'lr' parameter"),
     (["pca"], {"ae": {"lr": 0.1}}, "not benchmarked models"),
     (["pca", "pca"], None, "given twice")],
)
def test_plan_jobs_rejects_bad_models_and_params_before_running(models, params, match):
    with pytest.raises(ValueError, match=match):
        plan_jobs(PRESETS["quick"], models, params)


def test_job_function_receives_no_labels():
    import inspect

    # groups and rr are each beat's recording and RR intervals: context, not labels.
    assert list(inspect.signature(jobs_module.fit_and_score).parameters) == [
        "detector", "params", "seed", "X", "train_idx", "test_idx", "groups", "rr", "verbose",
        "checkpoint_dir"]


# --------------------------------------------------------------------------- synthetic runs
def test_run_writes_json_csv_markdown_and_figures(synthetic, tmp_path):
    result = run_benchmark(tmp_path, "quick", **_synthetic_kwargs(synthetic, plots=True))
    assert result.n_run == 6 and result.n_skipped == 0
    rows = result.rows
    assert [(r["fold"], r["model"]) for r in rows] == [
        (0, "sibeatgan"), (0, "pca"), (0, "iforest"), (1, "sibeatgan"), (1, "pca"),
        (1, "iforest")]
    for row in rows:
        assert row["n_train"] == 120 and row["n_test"] == 60 + 45
        assert row["n_anomalous"] == 45 and row["n_S"] + row["n_V"] + row["n_Q"] == 45
        assert 0.0 <= row["auc"] <= 1.0 and row["fit_seconds"] > 0 and row["score_seconds"] > 0
        assert row["auc_F"] is None  # no F beats in the synthetic data
    assert min(r["auc"] for r in rows if r["model"] == "pca") > 0.95
    # The neural detector's per-epoch losses are kept for diagnosis; PCA has none.
    assert [h["epoch"] for h in rows[0]["history"]] == [1] and rows[0]["history"][0]["rec"] > 0
    assert "history" not in rows[1]
    # The training arithmetic is recorded, since it changes the scores.
    assert [r["precision"] for r in rows[:2]] == ["float32", None]
    assert "Training arithmetic: sibeatgan float32." in result.markdown

    saved = load_results(tmp_path / "results.json")
    assert saved["rows"] == rows
    assert saved["meta"]["preset"]["max_train"] == 120 and saved["meta"]["n_run"] == 6
    with open(tmp_path / "results.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert tuple(table[0]) == CSV_COLUMNS and len(table) == 6
    assert json.loads(table[0]["params"])["max_epochs"] == 1
    assert float(table[1]["auc"]) == pytest.approx(rows[1]["auc"])
    assert (tmp_path / "results.md").read_text() == render_markdown(saved) == result.markdown
    names = sorted(p.name for p in result.figures)
    assert names == sorted(
        [f"roc_pr_intra_fold{f}_seed0.png" for f in (0, 1)]
        + [f"hist_intra_fold{f}_seed0_{m}.png" for f in (0, 1)
           for m in ("sibeatgan", "pca", "iforest")])
    assert all(p.stat().st_size > 10_000 for p in result.figures)


def test_interrupted_run_resumes_from_finished_jobs(synthetic, tmp_path, monkeypatch):
    full = run_benchmark(tmp_path / "full", "quick", **_synthetic_kwargs(synthetic))
    original = jobs_module.fit_and_score
    calls = []

    def interrupted_after_two(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args[0])
        return original(*args)

    monkeypatch.setattr(jobs_module, "fit_and_score", interrupted_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(tmp_path / "resumed", "quick", **_synthetic_kwargs(synthetic))
    assert len(ResultsStore(tmp_path / "resumed").rows()) == 2  # whole rows only
    partial = load_results(tmp_path / "resumed")
    assert len(partial["rows"]) == 2 and not partial["meta"]["complete"]

    calls.clear()
    monkeypatch.setattr(jobs_module, "fit_and_score",
                        lambda *args: calls.append(args[0]) or original(*args))
    resumed = run_benchmark(tmp_path / "resumed", "quick", **_synthetic_kwargs(synthetic))
    assert (resumed.n_run, resumed.n_skipped) == (4, 2)
    assert calls == ["iforest", "sibeatgan", "pca", "iforest"]  # the unfinished jobs only
    assert _metrics(resumed.rows) == _metrics(full.rows)

    meta = load_results(tmp_path / "resumed")["meta"]
    assert [(s["n_run"], s["interrupted"]) for s in meta["sessions"]] == [(2, True), (4, False)]
    assert meta["complete"] and "over 2 sessions (resumed)" in resumed.markdown
    calls.clear()
    again = run_benchmark(tmp_path / "resumed", "quick", **_synthetic_kwargs(synthetic))
    assert calls == [] and again.n_skipped == 6
    assert load_results(tmp_path / "resumed")["meta"]["sessions"] == meta["sessions"]
    changed = run_benchmark(tmp_path / "resumed", "quick",
                            **_synthetic_kwargs(synthetic, max_train=100))
    assert changed.n_run == 6  # another budget is another set of jobs


def test_a_job_stopped_mid_fit_resumes_from_its_checkpoint(synthetic, tmp_path, monkeypatch):
    from beatdetect.gan.checkpoint import EpochCheckpoint

    kwargs = _synthetic_kwargs(synthetic, models=["sibeatgan"], folds=(0,), epochs=3)
    full = run_benchmark(tmp_path / "full", "quick", **kwargs)
    real_save, saves = EpochCheckpoint.save, []

    def save_then_stop(self, state):  # the session ends right after epoch 2's checkpoint
        real_save(self, state)
        saves.append(self.path)
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(EpochCheckpoint, "save", save_then_stop)
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(tmp_path / "run", "quick", checkpoint_dir=checkpoints, **kwargs)
    assert [p.name for p in checkpoints.iterdir()] == [saves[0].name]
    monkeypatch.setattr(EpochCheckpoint, "save", real_save)
    resumed = run_benchmark(tmp_path / "run", "quick", checkpoint_dir=checkpoints, **kwargs)

    assert resumed.n_run == 1 and resumed.rows[0]["resumed_epochs"] == 2
    assert full.rows[0]["resumed_epochs"] == 0
    assert _metrics(resumed.rows) == _metrics(full.rows)
    assert resumed.rows[0]["key"] == full.rows[0]["key"], "the folder is not part of the key"
    assert not list(checkpoints.iterdir())


def test_the_checkpoint_folder_reaches_the_detector_inside_a_context_wrapper(tmp_path):
    from beatdetect.benchmark.jobs import build_detector

    det = build_detector("sibeatgan+context", {}, 0, checkpoint_dir=tmp_path)
    assert det.detector.checkpoint_dir == str(tmp_path)
    assert build_detector("knn", {}, 0, checkpoint_dir=tmp_path).get_params().get(
        "checkpoint_dir") is None  # detectors without epochs are left alone


def test_a_context_row_records_the_epochs_and_arithmetic_of_its_beatgan(synthetic, tmp_path):
    """The wrapped BeatGAN's precision changes the scores: a ``+context`` row records it,
    with its epochs and per-epoch losses, as the beats-alone row does."""
    nested = {f"detector__{k}": v for k, v in TINY.items()}
    result = run_benchmark(tmp_path, "quick", **_synthetic_kwargs(
        synthetic, models=["sibeatgan", "sibeatgan+context"], folds=(0,), epochs=2,
        params={"sibeatgan": TINY, "sibeatgan+context": nested}))
    alone, context = result.rows
    assert (alone["n_iter"], alone["precision"]) == (2, "float32")
    assert (context["n_iter"], context["precision"]) == (2, "float32")
    assert [sorted(e) for e in context["history"]] == [sorted(e) for e in alone["history"]]
    assert len(context["history"]) == 2


def test_same_seed_same_numbers_other_seed_other_subsample(synthetic, tmp_path):
    kwargs = _synthetic_kwargs(synthetic, models=["iforest"], params=None, folds=(0,))
    a = run_benchmark(tmp_path / "a", "quick", **kwargs)
    b = run_benchmark(tmp_path / "b", "quick", **kwargs)
    c = run_benchmark(tmp_path / "c", "quick", seeds=(1,), **kwargs)
    assert _metrics(a.rows) == _metrics(b.rows)
    assert a.rows[0]["auc"] != c.rows[0]["auc"]


def test_offline_without_local_copy_explains_how_to_point_at_one(tmp_path, monkeypatch):
    import beatdetect.datasets._fetch as fetch

    def no_network(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(fetch.wfdb, "dl_database", no_network)
    with pytest.raises(DataNotFoundError) as info:
        run_benchmark(tmp_path / "out", "quick", data_home=tmp_path / "empty",
                      cache_dir=tmp_path / "cache", progress=False)
    message = str(info.value)
    assert "--data-home" in message and "BEATDETECT_DATA" in message
    assert str(tmp_path / "empty" / "mitdb") in message and "\n" not in message


# --------------------------------------------------------------------------- reporting
def _row(model, fold, auc, ap, **extra):
    base = {"key": f"{model}{fold}", "protocol": "intra", "fold": fold, "seed": 0,
            "model": model, "detector": model, "params": {}, "auc": auc, "ap": ap,
            "fit_seconds": 10.0, "score_seconds": 2.0, "n_train": 100, "n_test": 1000,
            "precision": None}
    for c in "SVFQ":
        base |= {f"auc_{c}": None, f"ap_{c}": None, f"n_{c}": 0}
    return base | extra


def test_markdown_reports_mean_and_std_over_runs():
    results = {"meta": {"preset": PRESETS["quick"].to_dict()},
               "rows": [_row("gan", 0, 0.90, 0.80, auc_V=0.99), _row("gan", 1, 0.94, 0.84),
                        _row("pca", 0, 0.81234, 0.65)]}
    text = render_markdown(results)
    # Sample standard deviation (ddof=1): 0.90 and 0.94 spread by 0.04 / sqrt(2).
    # Throughputs: 100 training beats in 10 s, 1,000 test beats in 2 s.
    assert ("| intra | gan | 2 | 0.9200 ± 0.0283 | 0.8200 ± 0.0283 | 10.0 | 10 | 2.000 | 500 "
            "| 100 | 1,000 |") in text
    assert "| intra | pca | 1 | 0.8123 | 0.6500 |" in text  # one run: no spread
    assert "| intra | gan | – | 0.9900 | – |" in text  # per class: only runs that have it
    assert text.startswith("Preset `quick`: intra-patient")


def test_report_and_readme_section_round_trip(synthetic, tmp_path):
    run_benchmark(tmp_path / "run", "quick",
                  **_synthetic_kwargs(synthetic, models=["pca"], params=None, folds=(0,)))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_START} run/results.json -->\nold\n{README_END}\nend\n")
    assert update_readme(readme, check=True) is True
    assert "old" in readme.read_text()
    assert update_readme(readme) is True
    expected = render_markdown(load_results(tmp_path / "run" / "results.json"))
    assert f"run/results.json -->\n{expected}\n{README_END}\nend\n" in readme.read_text()
    assert update_readme(readme) is False
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="no results section"):
        update_readme(readme)


def test_load_results_rejects_other_files(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"rows": []}')
    with pytest.raises(ValueError, match="not a beatdetect benchmark results file"):
        load_results(other)
    with pytest.raises(FileNotFoundError, match="No results file"):
        load_results(tmp_path / "missing.json")


@pytest.mark.parametrize("page", ["README.md", "docs/benchmark.md", "docs/self-improvement.md",
                                  "docs/scoring.md"])
def test_generated_tables_match_the_committed_results(page):
    assert update_readme(REPO / page, check=True) is False, (
        f"the results section of {page} differs from the committed results file its start "
        f"marker names: run `beatdetect report RESULTS.json --readme {page}`")


def test_paired_differences_match_runs_by_fold_and_seed():
    rows = [_row("gan", 0, 0.90, 0.80), _row("si", 0, 0.93, 0.82), _row("gan", 1, 0.94, 0.84),
            _row("si", 1, 0.93, 0.86), _row("si", 2, 0.99, 0.99)]  # fold 2: no baseline run
    (d,) = paired_differences(rows, "gan")
    assert d["model"] == "si" and d["pairs"] == 2 and d["auc_wins"] == 1
    assert d["auc"] == pytest.approx((0.01, 0.02 * np.sqrt(2), 2))  # +0.03, -0.01; ddof=1
    assert d["ap"] == pytest.approx((0.02, 0.0, 2))
    text = render_markdown({"meta": {}, "rows": rows}, baseline="gan")
    assert "| intra | si | 2 | +0.0100 ± 0.0283 | +0.0200 ± 0.0000 | 1 of 2 |" in text
    with pytest.raises(ValueError, match="No run of baseline 'ae'"):
        paired_differences(rows, "ae")


def test_precision_note_names_each_models_arithmetic():
    rows = [_row("gan", 0, 0.9, 0.8) | {"precision": "bfloat16"},
            _row("ae", 0, 0.9, 0.8) | {"precision": "float32"}, _row("pca", 0, 0.9, 0.8)]
    meta = {"environment": {"cpu": "AMD EPYC", "cpu_count": 2}, "wall_seconds": 60.0}
    first = render_markdown({"meta": meta, "rows": rows}).splitlines()[0]
    assert first.endswith("on 2 CPU cores (AMD EPYC; 1 job process), 1 thread per job. "
                          "Training arithmetic: gan bfloat16; ae float32.")


def test_throughput_is_total_beats_over_total_seconds():
    rows = [_row("gan", 0, 0.9, 0.8, fit_seconds=10.0, score_seconds=1.0),
            _row("gan", 1, 0.9, 0.8, fit_seconds=30.0, score_seconds=3.0, n_train=300)]
    (group,) = summarize(rows)
    assert group["fit_beats_per_s"] == pytest.approx(400 / 40)  # mean beats / mean seconds
    assert group["score_beats_per_s"] == pytest.approx(2000 / 4)
    untimed = summarize([_row("gan", 0, 0.9, 0.8, fit_seconds=0.0, score_seconds=None)])
    assert untimed[0]["fit_beats_per_s"] is None and untimed[0]["score_beats_per_s"] is None


def test_header_names_the_cpu_model_and_unrecorded_arithmetic():
    old = [{k: v for k, v in _row(m, s, 0.9, 0.8, seed=s).items() if k != "precision"}
           for m in ("gan", "pca") for s in (0, 1)]  # rows written before precision was kept
    meta = {"environment": {"cpu": "x86_64", "cpu_count": 2}, "wall_seconds": 60.0}
    first = render_markdown({"meta": meta, "rows": old}).splitlines()[0]
    assert "on 2 CPU cores (CPU model not recorded; 1 job process)" in first
    assert first.endswith("Training arithmetic: not recorded (runs made before results kept "
                          "it).")
    newer = [_row("gan", 0, 0.9, 0.8, seed=2, precision="bfloat16"),
             _row("pca", 0, 0.9, 0.8, seed=2)]
    meta = {"environment": {"cpu": "AMD EPYC 9R14"}}  # no wall time: the CPU is still named
    first = render_markdown({"meta": meta, "rows": old + newer}).splitlines()[0]
    assert "Timed on AMD EPYC 9R14." in first
    assert first.endswith("Training arithmetic: gan bfloat16 in 1 of 3 runs (not recorded in "
                          "the other 2, made before results kept it); pca not recorded.")


def test_start_marker_names_the_baseline(synthetic, tmp_path):
    run_benchmark(tmp_path / "run", "quick",
                  **_synthetic_kwargs(synthetic, models=["pca", "iforest"], params=None,
                                      folds=(0,)))
    page = tmp_path / "page.md"
    page.write_text(f"{README_START} run/results.json baseline=pca -->\n{README_END}\n")
    assert update_readme(page) is True
    assert "Paired differences from `pca`" in page.read_text()
    assert "| intra | iforest | 1 |" in page.read_text()
    page.write_text(f"{README_START} run/results.json baseline=pca,iforest -->\n{README_END}\n")
    assert update_readme(page) is True
    text = page.read_text()
    assert text.index("Paired differences from `pca`") < text.index(
        "Paired differences from `iforest`")


def _paired_tables(text):
    """{baseline: [table rows]} of the paired-difference tables of a rendered report."""
    tables = {}
    for block in text.split("\nPaired differences from `")[1:]:
        label = block.split("`", 1)[0]
        tables[label] = [line for line in block.splitlines() if line.startswith("| intra")]
    return tables


def test_paired_differences_against_several_baselines():
    # Two folds x two seeds: four pairs per (model, baseline).
    aucs = {"gan": [0.90, 0.92, 0.91, 0.95], "knn": [0.95, 0.94, 0.96, 0.93],
            "si": [0.93, 0.93, 0.92, 0.97]}
    rows = [_row(m, fold, a, a - 0.1, seed=seed, key=f"{m}{fold}{seed}")
            for m, values in aucs.items()
            for (fold, seed), a in zip([(0, 0), (0, 1), (1, 0), (1, 1)], values)]
    results = {"meta": {}, "rows": rows}
    for baseline in (["gan", "knn"], "gan,knn", ("gan", " knn ", "gan")):
        text = render_markdown(results, baseline=baseline)
        tables = _paired_tables(text)
        assert list(tables) == ["gan", "knn"]
    si_minus_knn = np.subtract(aucs["si"], aucs["knn"])  # -0.02, -0.01, -0.04, +0.04
    mean, sd = si_minus_knn.mean(), si_minus_knn.std(ddof=1)
    assert f"| intra | si | 4 | {mean:+.4f} ± {sd:.4f} | {mean:+.4f} ± {sd:.4f} | 1 of 4 |" in (
        tables["knn"])
    assert [line.split(" | ")[1] for line in tables["gan"]] == ["knn", "si"]
    assert [line.split(" | ")[1] for line in tables["knn"]] == ["gan", "si"]
    assert "Paired differences" not in render_markdown(results, baseline=[])
    with pytest.raises(ValueError, match="No run of baseline 'ae'"):
        render_markdown(results, baseline="gan,ae")


def test_per_class_paired_differences_count_the_pairs_that_have_the_class(tmp_path):
    rows = [_row(m, 0, 0.9, 0.8, seed=seed, key=f"{m}{seed}", auc_S=s_auc,
                 auc_V=0.95 if seed else None)
            for m, values in {"plain": [0.80, 0.82, 0.84], "si": [0.83, 0.81, 0.88]}.items()
            for seed, s_auc in enumerate(values)]
    d = paired_differences(rows, "plain")[0]
    assert d["auc_S"][2] == 3 and d["auc_S_wins"] == 2
    assert d["auc_S"][0] == pytest.approx(np.mean([0.03, -0.01, 0.04]))
    assert d["auc_V"][2] == 2 and d["auc_V_wins"] == 0  # seed 0 has no V beats
    assert d["auc_F"] is None and d["auc_F_wins"] == 0
    results = {"meta": {}, "rows": rows}
    plain = render_markdown(results, baseline="plain")
    assert "Per AAMI class, ΔAUC" not in plain
    text = render_markdown(results, baseline="plain", per_class=True)
    sd = np.std([0.03, -0.01, 0.04], ddof=1)
    assert f"| intra | si | +0.0200 ± {sd:.4f} (2 of 3) | +0.0000 ± 0.0000 (0 of 2) | – | – |" \
        in text
    # A marker's "per-class" asks for the same table in a generated section.
    (tmp_path / "results.json").write_text(json.dumps({"format": RESULTS_FORMAT, **results}))
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- results:start results.json baseline=plain per-class -->\n"
                   "<!-- results:end -->\n")
    assert update_readme(doc)
    assert "Per AAMI class, ΔAUC from `plain`" in doc.read_text()


def test_report_command_takes_comma_separated_baselines(synthetic, tmp_path, capsys):
    from beatdetect.cli import main

    run_benchmark(tmp_path / "run", "quick",
                  **_synthetic_kwargs(synthetic, models=["pca", "iforest"], params=None,
                                      folds=(0,)))
    assert main(["report", str(tmp_path / "run"), "--baseline", "pca,iforest"]) == 0
    assert list(_paired_tables(capsys.readouterr().out)) == ["pca", "iforest"]


# --------------------------------------------------------------------------- real MIT-BIH
@pytest.mark.realdata
def test_quick_benchmark_end_to_end_on_mitbih(data_home, tmp_path, monkeypatch):
    """Every default model on six records, training on normal beats only."""
    from beatdetect.datasets import load_mitbih

    records = ["100", "105", "106", "119", "208", "233"]
    data = load_mitbih(data_home, records=records, cache_dir=tmp_path / "cache", verbose=False)
    original = jobs_module.fit_and_score
    train_labels = []

    def spy(detector, params, seed, X, train_idx, test_idx, *context):
        train_labels.append(np.unique(data.aami[train_idx]).tolist())
        return original(detector, params, seed, X, train_idx, test_idx, *context)

    models = ["sibeatgan", "knn", "pca", "iforest", "sibeatgan+context", "knn+context",
              "template", "rhythm"]

    monkeypatch.setattr(jobs_module, "fit_and_score", spy)
    result = run_benchmark(tmp_path / "out", "quick", data_home=data_home, records=records,
                           cache_dir=tmp_path / "cache", protocols=("intra",), max_train=600,
                           epochs=1, progress=False, models=models)
    labels = models
    assert train_labels == [["N"]] * len(labels)  # no anomalous beat was ever trained on
    rows = {r["model"]: r for r in result.rows}
    assert list(rows) == labels
    _, test = split_indices(data, "intra", 0)
    for row in rows.values():
        assert row["n_train"] == 600 and row["max_train"] == 600
        assert row["n_test"] == len(test) and row["n_anomalous"] == int((data.y == -1).sum())
        assert row["n_V"] == int((data.aami == "V").sum())
    assert rows["pca"]["auc_V"] > 0.9 and rows["iforest"]["auc_V"] > 0.8
    assert rows["sibeatgan"]["params"] == {"max_epochs": 1, "batch_size": 64}
    assert rows["sibeatgan+context"]["params"] == {"detector__max_epochs": 1,
                                                   "detector__batch_size": 64}
    assert [r["context"] for r in rows.values()] == [False] * 4 + [True] * 4
    # In context, the recording template lifts nearest neighbours on new beats' records.
    assert rows["knn+context"]["auc"] != rows["knn"]["auc"]
    meta = load_results(tmp_path / "out")["meta"]
    assert meta["data"]["records"] == sorted(records) and meta["data"]["n_beats"] == len(data.y)
    assert (tmp_path / "out" / "roc_pr_intra_fold0_seed0.png").is_file()


@pytest.mark.parametrize("name", ["beatdetect.benchmark.presets", "beatdetect.benchmark.protocols",
                                  "beatdetect.benchmark.runner", "beatdetect.cli",
                                  "beatdetect.parallel", "beatdetect.plotting"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def _finished_row(store, key="a", n=4, **changes):
    """A journal row and its scores file, as a finished job leaves them."""
    row = {"key": key, "protocol": "intra", "fold": 0, "seed": 0, "model": "pca",
           "detector": "pca", "context": False, "auc": 0.9, "ap": 0.5, "n_test": n,
           **changes}
    store.add(row, np.linspace(0, 1, n), np.array(["N", "V"] * (n // 2)))
    return row


@pytest.mark.parametrize(
    "damaged, match",
    [
        ('{"key": "b", "auc": 0.9', "Expecting ',' delimiter"),  # a torn last write
        ('{"key": "b", "model": "pca\n', "Unterminated string"),
        ("[1, 2]", r"not a result row \(a JSON object with a 'key'\)"),
        ('{"auc": 0.9}', "not a result row"),
        ('{"key": "b", "protocol": "intra", "model": "pca", "auc": "not a number", "ap": 1}',
         "metric 'auc' is 'not a number', not a number"),
    ],
)
def test_damaged_journal_names_file_line_and_recovery(tmp_path, damaged, match):
    from beatdetect.exceptions import DataError

    store = ResultsStore(tmp_path / "out")
    _finished_row(store)
    store.journal.write_text(store.journal.read_text() + "\n" + damaged + "\n")
    with pytest.raises(DataError, match=match) as info:
        store.rows()
    message = str(info.value)
    assert f"{store.journal} is damaged at line 3" in message
    assert "delete line 3 (that job runs again on resume)" in message
    assert f"delete the folder {store.out_dir}" in message
    lines = store.journal.read_text().splitlines()
    store.journal.write_text("\n".join(lines[:2]) + "\n")  # line deleted: resumable
    assert list(store.rows()) == ["a"]


def test_truncated_scores_file_names_the_file_and_the_journal_line(tmp_path):
    from beatdetect.exceptions import DataError

    store = ResultsStore(tmp_path / "out")
    _finished_row(store, "a")
    _finished_row(store, "b")
    path = store.scores_path("b")
    path.write_bytes(path.read_bytes()[:40])  # torn by a disk error or a bad copy
    with pytest.raises(DataError, match="damaged") as info:
        store.rows()
    assert str(path) in str(info.value) and "line 2" in str(info.value)
    with pytest.raises(DataError, match=str(path)):
        store.load_scores("b")


def test_row_without_a_metric_or_scores_file_reruns_never_a_silent_gap(synthetic, tmp_path):
    kwargs = _synthetic_kwargs(synthetic, models=["pca", "iforest"], params=None, folds=(0,))
    first = run_benchmark(tmp_path, "quick", **kwargs)
    store = ResultsStore(tmp_path)
    lines = store.journal.read_text().splitlines()
    row = json.loads(lines[0])
    del row["auc"]  # a row that lost its metric
    store.journal.write_text("\n".join([json.dumps(row), lines[1]]) + "\n")
    with pytest.warns(UserWarning, match="line 1 .* has no auc: the job .* runs again"):
        assert list(store.rows()) == [json.loads(lines[1])["key"]]
    store.scores_path(json.loads(lines[1])["key"]).unlink()  # a deleted scores file
    with pytest.warns(UserWarning, match="has no scores file"):
        again = run_benchmark(tmp_path, "quick", **kwargs)
    assert again.n_run == 2 and again.n_skipped == 0  # both jobs ran again, none is missing
    assert _metrics(again.rows) == _metrics(first.rows)


def test_report_refuses_a_results_file_with_a_gap(synthetic, tmp_path):
    from beatdetect.exceptions import DataError

    run_benchmark(tmp_path, "quick",
                  **_synthetic_kwargs(synthetic, models=["pca"], params=None, folds=(0,)))
    results = json.loads((tmp_path / "results.json").read_text())
    del results["rows"][0]["ap"]
    (tmp_path / "results.json").write_text(json.dumps(results))
    with pytest.raises(DataError, match=r"results.json row 1 \(pca, intra\) has no ap"):
        load_results(tmp_path)
    results["rows"][0]["ap"] = "n/a"
    (tmp_path / "results.json").write_text(json.dumps(results))
    with pytest.raises(DataError, match="row 1: metric 'ap' is 'n/a', not a number"):
        load_results(tmp_path)


def test_every_generated_section_of_a_page_is_updated(synthetic, tmp_path):
    # Two results sections and a rhythm-quantile section in one page, each from its file.
    run_benchmark(tmp_path / "a", "quick",
                  **_synthetic_kwargs(synthetic, models=["pca", "iforest"], params=None,
                                      folds=(0,)))
    rhythm = {"rows": [{"quantile": 90, "protocol": "DS1", "auc": 0.97, "ap": 0.81,
                        "auc_S": 0.93, "auc_V": 0.99}]}
    (tmp_path / "rhythm.json").write_text(json.dumps(rhythm))
    page = tmp_path / "page.md"
    page.write_text(f"{README_START} a/results.json -->\nold\n{README_END}\ntext\n"
                    "<!-- rhythm:start rhythm.json -->\nold\n<!-- rhythm:end -->\n"
                    f"{README_START} a/results.json baseline=pca -->\n{README_END}\n")
    assert update_readme(page) is True
    text = page.read_text()
    assert "\nold\n" not in text and text.count("| intra |") > 2
    assert "| 90 | 0.9700 / 0.8100 (S 0.930) |" in text
    assert "Paired differences from `pca`" in text.split("\ntext\n")[1]
    assert update_readme(page, check=True) is False


def test_order_model_runs_one_model_on_every_split_first(synthetic, tmp_path):
    result = run_benchmark(tmp_path / "run", "quick", order="model",
                           **_synthetic_kwargs(synthetic, models=["pca", "iforest"],
                                               params=None, folds=(0, 1)))
    assert [row["model"] for row in result.rows] == ["pca", "iforest", "pca", "iforest"]
    journal = [json.loads(line)["model"] for line in
               (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert journal == ["pca", "pca", "iforest", "iforest"]  # the order jobs ran in
    with pytest.raises(ValueError, match="order must be"):
        run_benchmark(tmp_path / "x", "quick", order="random",
                      **_synthetic_kwargs(synthetic, models=["pca"], params=None, folds=(0,)))


def test_a_planned_baseline_without_runs_yet_is_noted_not_an_error(synthetic, tmp_path):
    run_benchmark(tmp_path / "run", "quick",
                  **_synthetic_kwargs(synthetic, models=["pca"], params=None, folds=(0,)))
    results = load_results(tmp_path / "run")
    results["meta"]["models"].append(["later", "iforest"])  # planned, not run yet
    text = render_markdown(results, baseline="later")
    assert "Paired differences from `later`: none yet" in text
    with pytest.raises(ValueError, match="No run of baseline 'typo'"):
        render_markdown(results, baseline="typo")


def test_evidence_script_plans_both_settings_on_the_new_api():
    """``benchmarks/evidence_cpu.py`` plans the default models in both settings and the
    self-improvement variants on today's API; ``results/cpu``, made before the context
    layer, stays as history (its labels, e.g. ``knn_context``, are no longer planned)."""

    from beatdetect.benchmark.jobs import plan_jobs
    from beatdetect.benchmark.presets import PRESETS

    script = benchmark_script("evidence_cpu")
    planned = plan_jobs(PRESETS["cpu"], script.MODELS, script.PARAMS, data_id="d")
    labels = list(dict.fromkeys(job.model for job in planned))
    assert len(planned) == len(labels) * (5 * 3 + 3)  # 5 folds x 3 seeds + inter x 3
    assert set(DEFAULT_MODELS) <= set(labels) and "knn_context" not in labels
    both = next(job for job in planned if job.model == "both")
    assert both.params == {"distill": True, "contrastive": True, "max_epochs": 4,
                           "batch_size": 64}
    old = load_results(REPO / "results" / "cpu" / "results.json")
    assert not {row["key"] for row in old["rows"]} & {job.key for job in planned}


def test_every_benchmark_script_imports():
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        benchmark_script(path.stem)  # no stale name


# --------------------------------------------------------------------------- two settings
def test_results_show_beats_alone_and_with_context_tables_with_published_figures(
        synthetic, tmp_path):
    from beatdetect.benchmark.files import RESULTS_FORMAT

    result = run_benchmark(tmp_path, "quick", **_synthetic_kwargs(
        synthetic, models=["pca", "pca+context", "template"], params=None, folds=(0,)))
    assert load_results(tmp_path)["format"] == RESULTS_FORMAT == "beatdetect.benchmark/2"
    assert [r["context"] for r in result.rows] == [False, True, True]
    text = result.markdown
    alone, context = text.split("**With context**")
    assert "**Beats alone**" in alone and "| intra | pca |" in alone
    assert "| intra | pca+context |" not in alone
    assert "| intra | pca+context |" in context and "| intra | template |" in context
    # The published figures sit beside the beats-alone table, marked as published.
    assert "| BeatGAN (Zhou et al., IJCAI 2019) | 0.9447 | – |" in alone
    assert "| Anobeat | 0.960 | 0.894 |" in alone and "arXiv 2404.15333" in alone
    assert "on its authors' own splits" in alone and "0.9447" not in context


@pytest.mark.parametrize("name", ["cpu", "self_improvement", "self_improvement_10k"])
def test_results_of_the_old_api_still_render_as_before(name):
    """Format-1 files (labels of the API before the context layer, e.g. ``knn_context``)
    render as the one table committed beside them: the docs show them as history."""
    folder = REPO / "results" / name
    results = load_results(folder)
    assert results["format"] == "beatdetect.benchmark/1"
    assert render_markdown(results) == (folder / "results.md").read_text(encoding="utf-8")
    assert "**Beats alone**" not in render_markdown(results)


@pytest.mark.parametrize("progress", [True, False])
def test_first_job_shows_its_epoch_progress_and_is_quiet_without_progress(
        synthetic, tmp_path, monkeypatch, progress):
    """N4: the jobs bar has no ETA until a job ends, so the first job shows its own bar
    (verbose=2: an ETA inside each epoch); with progress=False nothing is shown."""
    original = jobs_module.fit_and_score
    seen = []

    def spy(*args):
        seen.append((args[0], args[8]))  # detector, verbose
        return original(*args)

    monkeypatch.setattr(jobs_module, "fit_and_score", spy)
    result = run_benchmark(tmp_path, "quick", **_synthetic_kwargs(
        synthetic, models=["sibeatgan", "pca"], folds=(0,), progress=progress))
    assert seen == [("sibeatgan", 2 if progress else None), ("pca", None)]
    # verbose is not a parameter of the job: it changes neither its key nor its numbers.
    assert result.rows[0]["params"] == {**TINY, "max_epochs": 1}


def test_threshold_flags_script_rules_read_no_label():
    """N3: the rules of ``benchmarks/threshold_flags.py`` see scores and recordings only."""
    import inspect

    script = benchmark_script("threshold_flags")
    assert list(inspect.signature(script.thresholds).parameters) == [
        "scores", "train_scores", "offset", "groups"]
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0, 1, 500), rng.normal(5, 1, 500)])  # two levels
    groups = np.repeat(["a", "b"], 500)
    rules = script.thresholds(scores, rng.normal(0, 1, 1000), -2.5, groups)
    flagged = {name: [(scores[groups == g] < t[groups == g]).mean() for g in "ab"]
               for name, t in rules.items()}
    assert flagged["record 2%"] == [0.02, 0.02]  # 2% of each recording, by design
    assert max(flagged["record Tukey"]) < 0.01  # adapts to each recording's level
    assert flagged["auto"][1] == 0.0 and flagged["auto"][0] > 0  # one fixed threshold


def test_ablation_trains_on_every_beat_with_the_chosen_set_up():
    """``benchmarks/ablation.py`` (issue 20) plans the four variants on all training beats
    of fold 0 and DS1 (no 5,000-beat subsample), each with the common set-up."""

    from beatdetect.benchmark.jobs import plan_jobs

    script = benchmark_script("ablation")
    preset = script.ablation_preset(8, [0, 1, 2])
    assert preset.max_train is None and preset.folds == (0,) and preset.epochs == 8
    params = script.ablation_params({"lr": 2e-4, "early_stopping": True})
    jobs = plan_jobs(preset, script.MODELS, params, data_id="d")
    assert len(jobs) == 5 * 2 * 3  # (variants + knn) x protocols x seeds
    assert all(job.params == {} for job in jobs if job.model == "knn")  # a reference as is
    both = next(job for job in jobs if job.model == "both")
    assert both.params["lr"] == 2e-4 and both.params["early_stopping"] is True
    assert both.params["distill"] is True and both.params["contrastive"] is True
    assert all(job.max_train is None for job in jobs)


def test_nearest_detected_peak_distance_for_the_published_normal_beat_filter():
    script = benchmark_script("published_protocol")
    peaks = np.array([100, 400, 700])
    samples = np.array([0, 105, 250, 260, 395, 699, 2000])
    assert script.nearest_distance(samples, peaks).tolist() == [100, 5, 150, 140, 5, 1, 1300]


def test_published_split_drops_unconfirmed_normals_and_tests_escape_beats_as_s():
    """BeatGAN's preprocessing: normal beats without a detected R peak within 10 samples are
    gone from both sides; e / j beats are S anomalies, all in the test set."""
    from sklearn.utils import Bunch

    script = benchmark_script("published_protocol")
    n = 60
    symbol = np.array(["N"] * 50 + ["e", "j"] + ["V"] * 4 + ["A"] * 4)
    aami = np.where(np.isin(symbol, ["N", "e", "j"]), "N", np.where(symbol == "V", "V", "S"))
    data = Bunch(y=np.where(aami == "N", 1, -1), aami=aami, symbol=symbol)
    kept = np.ones(n, dtype=bool)
    kept[[3, 7, 11, 30]] = False  # normal beats the detector did not confirm
    train, test, labels = script.published_split(data, kept)
    base_train, base_test = split_indices(data, "intra", 0)
    assert not set(train) & set(test)
    assert not set(train) & {3, 7, 11, 30, 50, 51} and not set(test) & {3, 7, 11, 30}
    assert {50, 51} <= set(test) and labels[np.isin(test, [50, 51])].tolist() == ["S", "S"]
    assert set(range(52, 60)) <= set(test)  # every anomaly is still tested
    assert set(train) == set(base_train) - {3, 7, 11, 30, 50, 51}
    assert len(labels) == len(test) and (labels[~np.isin(test, [50, 51])]
                                         == aami[test[~np.isin(test, [50, 51])]]).all()


def test_the_published_preprocessing_table_is_the_committed_measurement():
    """docs/benchmark.md quotes the table ``benchmarks/published_protocol.py`` renders from
    its committed results file."""
    import json

    script = benchmark_script("published_protocol")
    summary = json.loads((REPO / "results" / "published_protocol" / "published_filter.json")
                         .read_text(encoding="utf-8"))
    assert (summary["normal_beats"], summary["normal_dropped"]) == (90081, 3056)
    assert summary["per_record"]["207"]["dropped"] == 1458
    table = script.render_table(summary)
    assert "| 1-NN on raw beats | 0.9541 | 0.9579 | 0.9585 |" in table
    assert table in (REPO / "docs" / "benchmark.md").read_text(encoding="utf-8")


def test_the_gap_script_finds_each_beats_nearest_training_beat():
    from beatdetect.baselines import KNNDetector

    script = benchmark_script("reconstruction_vs_neighbours")
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(40, 1, 16)), rng.normal(size=(7, 1, 16))
    nearest = script.nearest_training_beats(KNNDetector().fit(train), train, test[:, 0])
    brute = train[((test - train.transpose(1, 0, 2)) ** 2).sum(-1).argmin(axis=1), 0]
    np.testing.assert_array_equal(nearest, brute)


def test_the_gap_script_summarises_both_scores_per_class():
    """Per class: medians, log ratio, share reconstructed closer than the nearest training
    beat, and each score's AUC of the class against the normal beats."""
    script = benchmark_script("reconstruction_vs_neighbours")
    aami = np.array(["N"] * 4 + ["S"] * 2)
    rec = np.array([1.0, 2.0, 3.0, 4.0, 2.5, 10.0])
    nn = np.array([1.0, 1.0, 1.0, 1.0, 5.0, 100.0])
    profile = np.ones((6, 3))
    rows = script.describe(aami, rec, nn, profile * rec[:, None], profile * nn[:, None])
    assert set(rows) == {"N", "S"} and "auc_rec" not in rows["N"]
    assert rows["N"]["median_rec"] == 2.5 and rows["N"]["closer_than_neighbour"] == 0.0
    assert rows["S"]["closer_than_neighbour"] == 1.0  # both S beats: rec < nn
    assert rows["S"]["median_log10_ratio"] == pytest.approx(np.median(np.log10([0.5, 0.1])))
    # rec: 2.5 beats two of the four normal scores, 10 beats all four -> (2 + 4) / 8
    assert rows["S"]["auc_rec"] == pytest.approx(6 / 8)
    assert rows["S"]["auc_nn"] == 1.0
    assert rows["S"]["profile_nn"] == [52.5] * 3  # median over the class, per tick
    assert "auc_std" not in rows["S"]
    # A third score (the residual standardised per tick) gets its own AUC per class.
    with_std = script.describe(aami, rec, nn, profile * rec[:, None], profile * nn[:, None],
                               standardised=-rec)
    assert with_std["S"]["auc_std"] == pytest.approx(1 - 6 / 8)


def test_the_docs_quote_the_committed_gap_measurement():
    """docs/benchmark.md quotes both tables ``reconstruction_vs_neighbours.py --report``
    renders from the committed runs in ``results/gap``."""
    script = benchmark_script("reconstruction_vs_neighbours")
    runs = script.load_runs(REPO / "results" / "gap")
    plain = [run for run in runs if not script.lever(run)]
    assert sorted((r["args"]["protocol"], r["args"]["seed"]) for r in plain) == [
        (p, s) for p in ("inter", "intra") for s in (0, 1, 2)]
    assert all(r["train_beats"] == 10000 for r in runs)
    docs = (REPO / "docs" / "benchmark.md").read_text(encoding="utf-8")
    assert script.table(plain) in docs and script.lever_table(runs) in docs
    assert script.standardised_table(runs) in docs
    assert "| intra | F | 3 | 802 | 0.8365 ± 0.0007 | 0.9310 ± 0.0015 |" in script.table(plain)


def test_the_memory_lever_decodes_a_sparse_mix_of_prototypes(synthetic):
    """The MemAE-style generator of the gap script: addressing weights are sparse and sum
    to one, the decoder sees their mix of memory items, and the entropy term trains."""
    import torch

    from beatdetect.nn.networks import BeatGANConfig

    script = benchmark_script("reconstruction_vs_neighbours")
    cfg = BeatGANConfig(n_leads=1, length=synthetic.X.shape[-1], base_filters=8, latent_dim=8)
    torch.manual_seed(0)
    generator = script.MemoryGenerator(cfg, slots=50, shrink=1.0)
    z = torch.randn(16, 8)
    w = generator.address(z)
    assert torch.allclose(w.sum(dim=1), torch.ones(16))
    assert (w >= 0).all() and (w == 0).any(dim=1).all()  # shrinkage zeroes weak items
    x_hat, latent, _ = generator(torch.as_tensor(synthetic.X[:16]).reshape(16, 1, -1))
    assert torch.allclose(generator.attention.sum(dim=1), torch.ones(16))
    assert x_hat.shape[0] == 16 and latent.shape == (16, 8)

    params = {k: v for k, v in TINY.items() if k != "lr"}
    det = script.memory_detector(20)(max_epochs=2, random_state=0, **params)
    det.fit(synthetic.X[synthetic.y == 1][:120])
    assert isinstance(det.generator_, script.MemoryGenerator)
    assert len(det.history_) == 2 and all(h["mem_ent"] > 0 for h in det.history_)
    plain = script.SIBeatGANDetector(max_epochs=2, random_state=0, **params)
    plain.fit(synthetic.X[synthetic.y == 1][:120])
    assert not np.allclose(det.score_samples(synthetic.X), plain.score_samples(synthetic.X))


def test_the_mixture_lever_penalises_reconstructed_mixtures_of_distant_beats(synthetic):
    import torch

    from beatdetect.gan.training import StepContext
    from beatdetect.nn.networks import BeatGANConfig, Discriminator, Generator

    script = benchmark_script("reconstruction_vs_neighbours")
    cfg = BeatGANConfig(n_leads=1, length=synthetic.X.shape[-1], base_filters=8, latent_dim=8)
    torch.manual_seed(0)
    generator, discriminator = Generator(cfg).train(), Discriminator(cfg)
    x = torch.as_tensor(synthetic.X[:32]).reshape(32, 1, -1)
    x_hat, latent, features = generator(x)
    ctx = StepContext(x=x, x_hat=x_hat[..., :x.shape[-1]], latent=latent, features=features,
                      generator=generator, discriminator=discriminator)
    stats = generator.encoder.blocks[1][1].running_mean.clone()
    loss = script.MixtureRepulsion(weight=0.5, margin=4.0, seed=3).generator_loss(ctx)["mix"]
    again = script.MixtureRepulsion(weight=0.5, margin=4.0, seed=3).generator_loss(ctx)["mix"]
    assert 0 <= loss.item() <= 0.5 and loss.item() == again.item()  # bounded, seeded
    assert torch.equal(generator.encoder.blocks[1][1].running_mean, stats)
    loss.backward()
    assert generator.encoder.head.weight.grad.abs().sum() > 0  # it trains the generator
    # A margin of 0 asks nothing: every mixture already has a residual above 0.
    zero = script.MixtureRepulsion(weight=0.5, margin=0.0, seed=3).generator_loss(ctx)
    assert zero["mix"].item() == 0.0


# --------------------------------------------------------------------------- transfer protocol
def _two_databases():
    """MIT-BIH-like beats on a DS1 and a DS2 record, and a second database's two records."""
    from sklearn.utils import Bunch

    def beats(records, n, n_anomalous, seed):
        data = make_synthetic_beats(n_normal=n, n_anomalous=n_anomalous, random_state=seed)
        order = np.arange(len(data.y))
        return Bunch(X=data.X, y=data.y, aami=data.aami, sample=order,
                     record=np.array([records[i % len(records)] for i in order]),
                     rr=np.full((len(order), 3), 0.8))

    return combine_databases({"mitdb": beats(["101", "100"], 120, 20, 0),
                              "qtdb": beats(["sele0104", "sel301"], 60, 10, 1)})


def test_transfer_trains_on_ds1_normal_beats_and_tests_on_every_beat_of_the_other_database():
    data = _two_databases()
    mitbih = data.database == "mitdb"
    train, test = split_indices(data, "transfer")
    assert set(data.record[train]) == {"101"} and (data.y[train] == 1).all()
    assert (data.database[test] == "qtdb").all() and len(test) == int((~mitbih).sum())
    inter_train, inter_test = split_indices(data, "inter")
    assert inter_train.tolist() == train.tolist()
    assert set(data.record[inter_test]) == {"100"}
    # The intra-patient folds never take a beat of the second database.
    for fold in range(5):
        fold_train, fold_test = split_indices(data, "intra", fold)
        assert mitbih[fold_train].all() and mitbih[fold_test].all()


def test_a_second_database_leaves_the_mitbih_splits_as_they_were():
    data = _two_databases()
    alone = type(data)(y=data.y[data.database == "mitdb"],
                       record=data.record[data.database == "mitdb"])
    for protocol, fold in (("intra", 0), ("intra", 3), ("inter", 0)):
        for with_other, without in zip(split_indices(data, protocol, fold),
                                       split_indices(alone, protocol, fold)):
            assert with_other.tolist() == without.tolist()  # MIT-BIH beats come first


def test_transfer_without_a_second_database_and_shared_record_names_are_refused(synthetic):
    alone = make_synthetic_beats(n_normal=40, n_anomalous=4, random_state=0)
    alone.record = np.full(44, "101")
    with pytest.raises(ValueError, match="needs the beats of a second database"):
        split_indices(alone, "transfer")
    data = _two_databases()
    with pytest.raises(ValueError, match="share a record name"):
        combine_databases({"mitdb": data, "other": data})


@pytest.mark.filterwarnings("ignore:70 beat.s. in 2 recording:UserWarning")
def test_transfer_run_scores_the_second_database_and_renders_no_published_figures(tmp_path):
    result = run_benchmark(tmp_path / "out", "quick", data=_two_databases(),
                           protocols=("transfer",), models=["knn", "knn+context", "rhythm"],
                           plots=False, progress=False)
    rows = {row["model"]: row for row in result.rows}
    assert {row["protocol"] for row in result.rows} == {"transfer"}
    # The synthetic records are short: the context layer falls back, as it warns.
    assert rows["knn"]["n_test"] == 70 and rows["knn"]["n_anomalous"] == 10
    assert rows["knn"]["n_train"] == int(((_two_databases().record == "101")
                                          & (_two_databases().y == 1)).sum())
    assert "transfer (MIT-BIH DS1 → QT Database" in result.markdown
    assert "Published figures" not in result.markdown


def test_max_jobs_runs_that_many_and_zero_only_writes_the_finished_ones(synthetic, tmp_path,
                                                                      monkeypatch):
    out = tmp_path / "out"
    kwargs = _synthetic_kwargs(synthetic, models=["pca", "iforest"], params=None)
    first = run_benchmark(out, "quick", max_jobs=3, **kwargs)
    assert first.n_run == 3 and len(first.rows) == 3
    assert load_results(out)["meta"]["complete"] is False

    def forbidden(*args):
        raise AssertionError("max_jobs=0 ran a job")

    monkeypatch.setattr(jobs_module, "fit_and_score", forbidden)
    (out / "results.json").unlink()
    report = run_benchmark(out, "quick", max_jobs=0, **kwargs)
    meta = load_results(out)["meta"]
    assert report.n_run == 0 and report.n_skipped == 3 and meta["n_resumed"] == 3
    assert _metrics(report.rows) == _metrics(first.rows) and meta["complete"] is False
    assert "**Partial: 3 of 4 planned jobs finished**" in report.markdown
    with pytest.raises(ValueError, match="max_jobs must be a whole number"):
        run_benchmark(out, "quick", max_jobs=-1, **kwargs)


def test_combined_databases_keep_only_per_beat_arrays_that_line_up():
    from sklearn.utils import Bunch

    def beats(n, record, **extra):
        return Bunch(X=np.zeros((n, 1, 8)), y=np.ones(n, int), aami=np.full(n, "N"),
                     record=np.full(n, record), rr=np.ones((n, 3)), sample=np.arange(n),
                     fs=360.0, **extra)

    both = combine_databases({"mitdb": beats(3, "100", symbol=np.full(3, "N")),
                              "qtdb": beats(2, "sel301")})  # the second has no symbols
    assert "symbol" not in both and both.fs == 360.0
    assert all(len(both[k]) == 5 for k in ("X", "y", "aami", "record", "rr", "sample"))
    assert both.records == ["100", "sel301"]


def test_alignment_comparison_reads_the_three_committed_set_ups():
    """``benchmarks/alignment.py --compare`` puts the seed-0 AUC of each set-up side by side
    from the committed runs (docs/transfer.md quotes its table)."""

    script = benchmark_script("alignment")
    table = script.compare(REPO)
    assert "| transfer | knn | 0.6943 | 0.9017 | 0.9026 |" in table
    assert "| intra | knn | – | 0.9422 | 0.9419 |" in table
    assert table in (REPO / "docs" / "transfer.md").read_text(encoding="utf-8")


def test_a_committed_journal_without_score_files_resumes_when_scores_are_not_required(
        synthetic, tmp_path, monkeypatch):
    out = tmp_path / "out"
    kwargs = _synthetic_kwargs(synthetic, models=["pca", "iforest"], params=None)
    first = run_benchmark(out, "quick", scores_required=False, **kwargs)
    for path in (out / "scores").glob("*.npz"):  # a fresh clone: the journal, no scores
        path.unlink()

    def forbidden(*args):
        raise AssertionError("a finished job ran again")

    monkeypatch.setattr(jobs_module, "fit_and_score", forbidden)
    again = run_benchmark(out, "quick", scores_required=False, **kwargs)
    assert again.n_run == 0 and _metrics(again.rows) == _metrics(first.rows)
    # By default (issue 21, D11) a missing scores file still makes the job run again.
    with pytest.warns(UserWarning, match="has no scores file"):
        assert ResultsStore(out).rows() == {}

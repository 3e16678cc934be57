"""beatdetect.parallel: local and Dask execution give the same numbers, one thread per job."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from beatdetect import SIBeatGANDetector
from beatdetect.benchmark import run_benchmark
from beatdetect.datasets import make_synthetic_beats
from beatdetect.model_selection import NormalOnlyKFold, fit_best_on_normal, grid_search
from beatdetect.parallel import limit_threads, parallel_backend, run_jobs

TINY = {"base_filters": 8, "latent_dim": 8, "lr": 1e-3, "batch_size": 32,
        "mixed_precision": False, "device": "cpu"}
METRICS = ("auc", "ap", "auc_S", "auc_V", "auc_Q", "ap_S", "ap_V", "ap_Q", "n_train", "n_test",
           "offset")


def _threads_and_square(x):
    return torch.get_num_threads(), x * x


def test_limit_threads_sets_and_restores():
    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_run_jobs_locally_yields_every_result_in_one_thread():
    results = dict(run_jobs(_threads_and_square, [(x,) for x in range(5)]))
    assert results == {i: (1, i * i) for i in range(5)}


def test_run_jobs_in_local_processes_matches_sequential():
    sequential = dict(run_jobs(_threads_and_square, [(x,) for x in range(4)], n_jobs=1))
    processes = dict(run_jobs(_threads_and_square, [(x,) for x in range(4)], n_jobs=2))
    assert processes == sequential


def test_run_jobs_without_tasks_yields_nothing():
    assert list(run_jobs(_threads_and_square, [])) == []


def test_parallel_backend_locally_yields_n_jobs():
    with parallel_backend(None, 3) as n_jobs:
        assert n_jobs == 3


def test_unreachable_scheduler_is_a_clear_error():
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(OSError, match="Could not connect to the Dask scheduler"), \
            parallel_backend("tcp://127.0.0.1:9", n_jobs=1):
        pass


# --------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def beats():
    return make_synthetic_beats(n_normal=240, n_anomalous=36, random_state=0)


def test_dask_workers_run_jobs_single_threaded(cluster):
    results = dict(run_jobs(_threads_and_square, [(x,) for x in range(4)],
                            scheduler=cluster.scheduler_address))
    assert results == {i: (1, i * i) for i in range(4)}


def test_benchmark_on_dask_equals_local_run(cluster, beats, tmp_path):
    kwargs = dict(models=["sibeatgan", "pca", "iforest"], params={"sibeatgan": TINY},
                  data=beats, protocols=("intra",), folds=(0, 1),
                  seeds=(0,), epochs=2, max_train=150,
                  plots=False, progress=False)
    local = run_benchmark(tmp_path / "local", "quick", **kwargs)
    remote = run_benchmark(tmp_path / "dask", "quick", scheduler=cluster.scheduler_address,
                           **kwargs)
    assert remote.n_run == local.n_run == 6
    assert [r["key"] for r in remote.rows] == [r["key"] for r in local.rows]
    for a, b in zip(local.rows, remote.rows):
        assert {m: a[m] for m in METRICS} == {m: b[m] for m in METRICS}, a["key"]
    assert 0.0 < local.rows[0]["auc"] <= 1.0


def test_grid_search_on_dask_equals_local(cluster, beats):
    base = SIBeatGANDetector(max_epochs=1, random_state=0, **TINY)
    kwargs = dict(cv=NormalOnlyKFold(n_splits=2, random_state=0))
    local = grid_search(base, {"w_adv": [0.0, 1.0]}, beats.X, beats.y, n_jobs=1, **kwargs)
    remote = grid_search(base, {"w_adv": [0.0, 1.0]}, beats.X, beats.y,
                         scheduler=cluster.scheduler_address, **kwargs)
    for key in ("mean_test_auc", "mean_test_ap", "split0_test_auc", "split1_test_auc"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    best_local = fit_best_on_normal(local, beats.X, beats.y)
    best_remote = fit_best_on_normal(remote, beats.X, beats.y)
    assert best_remote.best_params_ == best_local.best_params_
    np.testing.assert_array_equal(best_remote.predict(beats.X), best_local.predict(beats.X))

"""The same grid search on a Dask cluster (or a local one started here).

    python examples/dask_grid_search.py --scheduler tcp://10.0.0.5:8786
    python examples/dask_grid_search.py --small     # a 2-worker LocalCluster, synthetic beats

Every fit of the search becomes a task on the cluster through joblib's Dask backend; each
worker keeps PyTorch to one thread. Needs ``pip install "beatdetect[distributed]"``.
"""

import argparse

from beatdetect import SIBeatGANDetector
from beatdetect.datasets import load_mitbih, make_synthetic_beats
from beatdetect.model_selection import NormalOnlyKFold, fit_best_on_normal, grid_search


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address")
    parser.add_argument("--small", action="store_true", help="synthetic beats, tiny network")
    parser.add_argument("--data-home", default=None, help="folder holding mitdb/")
    args = parser.parse_args()

    if args.small:
        data = make_synthetic_beats(n_normal=300, n_anomalous=30, random_state=0)
        base = SIBeatGANDetector(base_filters=8, latent_dim=16, lr=1e-3, max_epochs=2,
                                 batch_size=32, random_state=0)
    else:
        data = load_mitbih(args.data_home, records=["100", "106", "119", "208"], download=True)
        base = SIBeatGANDetector(max_epochs=3, random_state=0)

    cluster = None
    scheduler = args.scheduler
    if scheduler is None:  # no cluster given: start two local worker processes
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        scheduler = cluster.scheduler_address
    try:
        search = grid_search(base, {"w_adv": [0.0, 1.0]}, data.X, data.y,
                             cv=NormalOnlyKFold(n_splits=2, random_state=0),
                             scheduler=scheduler)
    finally:
        if cluster is not None:
            cluster.close()
    for params, auc in zip(search.cv_results_["params"], search.cv_results_["mean_test_auc"]):
        print(f"{params}  AUC {auc:.3f}")
    best = fit_best_on_normal(search, data.X, data.y)  # trained on normal beats only
    print("best:", best.best_params_)


if __name__ == "__main__":  # worker processes re-import this file: start nothing then
    main()

"""Grid search of SI-BeatGAN's parameters without training on a single anomaly.

    python examples/grid_search.py            # MIT-BIH records (downloaded on first use)
    python examples/grid_search.py --small    # synthetic beats, seconds

``NormalOnlyKFold`` trains every fold on normal beats only (its test folds hold the anomalies)
and ``SCORERS`` score with the anomaly class as positive. ``refit=False``: GridSearchCV would
refit on every beat, anomalies included; ``fit_best_on_normal`` fits the winner on normal beats.
(A label-based search is model selection on labels: report its score on other data.)
"""

import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV

from beatdetect import SIBeatGANDetector
from beatdetect.datasets import load_mitbih, make_synthetic_beats
from beatdetect.metrics import SCORERS
from beatdetect.model_selection import NormalOnlyKFold, fit_best_on_normal

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--small", action="store_true", help="synthetic beats, tiny network")
parser.add_argument("--data-home", default=None, help="folder holding mitdb/")
parser.add_argument("--n-jobs", type=int, default=1)
args = parser.parse_args()

if args.small:
    data = make_synthetic_beats(n_normal=400, n_anomalous=40, random_state=0)
    X, y = data.X, data.y
    base = SIBeatGANDetector(base_filters=8, latent_dim=16, lr=1e-3, max_epochs=2,
                             batch_size=32, random_state=0)
else:
    data = load_mitbih(args.data_home, records=["100", "106", "119", "208"], download=True)
    keep = np.sort(np.random.default_rng(0).choice(len(data.X), 6000, replace=False))
    X, y = data.X[keep], data.y[keep]
    base = SIBeatGANDetector(max_epochs=3, random_state=0)

search = GridSearchCV(
    base,
    {"w_adv": [0.0, 1.0], "score_feature_weight": [0.0, 0.1]},
    scoring=SCORERS,
    refit=False,
    cv=NormalOnlyKFold(n_splits=3, random_state=0),
    n_jobs=args.n_jobs,
).fit(X, y)

results = search.cv_results_
for i in np.argsort(results["rank_test_auc"]):
    print(f"{results['params'][i]}  AUC {results['mean_test_auc'][i]:.3f} "
          f"± {results['std_test_auc'][i]:.3f}  AP {results['mean_test_ap'][i]:.3f}")
best = fit_best_on_normal(search, X, y)  # trained on the normal beats only
print("best:", best.best_params_)

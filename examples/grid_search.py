"""Grid search of SI-BeatGAN's loss weights without training on a single anomaly.

    python examples/grid_search.py            # MIT-BIH records (downloaded on first use)
    python examples/grid_search.py --small    # synthetic beats, seconds

The candidates are BeatGAN (``distill=None``) and self-distillation at two weights
(``distill__w_kd``): each changes what the generator learns, hence its score, the
reconstruction error. ``NormalOnlyKFold`` trains every fold on normal beats only (its test
folds hold the anomalies) and ``SCORERS`` score with the anomaly class as positive.
``refit=False``: GridSearchCV would refit on every beat, anomalies included;
``fit_best_on_normal`` fits the winner on normal beats. (A label-based search is model
selection on labels: report its score on other data.)
"""

import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV

from beatdetect import SIBeatGANDetector
from beatdetect.datasets import load_mitbih, make_synthetic_beats
from beatdetect.gan import Distillation
from beatdetect.metrics import SCORERS
from beatdetect.model_selection import NormalOnlyKFold, fit_best_on_normal

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--small", action="store_true", help="synthetic beats, tiny network")
parser.add_argument("--data-home", default=None, help="folder holding mitdb/")
parser.add_argument("--n-jobs", type=int, default=1)
args = parser.parse_args()

if args.small:
    data = make_synthetic_beats(n_normal=240, n_anomalous=24, random_state=0)
    X, y = data.X, data.y
    base = SIBeatGANDetector(base_filters=4, latent_dim=8, max_epochs=1, batch_size=32,
                             distill=Distillation(), random_state=0)
else:
    # Four records rich in ventricular beats; a seeded 3,000 of their beats, 2 epochs in
    # batches of 16 (about 130 steps per fit: fewer leave the generator untrained).
    data = load_mitbih(args.data_home, records=["100", "106", "119", "208"], download=True)
    keep = np.sort(np.random.default_rng(0).choice(len(data.X), 3000, replace=False))
    X, y = data.X[keep], data.y[keep]
    base = SIBeatGANDetector(max_epochs=2, batch_size=16, distill=Distillation(),
                             random_state=0)

search = GridSearchCV(
    base,
    # BeatGAN alone, then self-distillation at two weights of its loss
    [{"distill": [None]}, {"distill__w_kd": [0.5, 4.0]}],
    scoring=SCORERS,
    refit=False,
    cv=NormalOnlyKFold(n_splits=2, random_state=0),
    n_jobs=args.n_jobs,
).fit(X, y)

results = search.cv_results_
for i in np.argsort(results["rank_test_auc"], kind="stable"):
    print(f"{results['params'][i]}  AUC {results['mean_test_auc'][i]:.4f} "
          f"± {results['std_test_auc'][i]:.4f}  AP {results['mean_test_ap'][i]:.4f}")
best = fit_best_on_normal(search, X, y)  # trained on the normal beats only
print("best:", best.best_params_)

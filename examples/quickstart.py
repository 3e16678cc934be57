"""Quickstart: train SI-BeatGAN on normal heartbeats, score, flag and explain beats.

    python examples/quickstart.py            # MIT-BIH records (downloaded on first use)
    python examples/quickstart.py --small    # synthetic beats, a few seconds

Training sees normal beats only and no labels; labels are used afterwards, to evaluate.
The GAN scores each beat alone (its reconstruction error); on MIT-BIH the same fit also
scores the beats in the context of their recording and rhythm (``ContextDetector``).
"""

import argparse
from pathlib import Path

import numpy as np

from beatdetect import SIBeatGANDetector
from beatdetect.context import ContextDetector
from beatdetect.datasets import load_mitbih, make_synthetic_beats
from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc
from beatdetect.plotting import plot_explanation, plot_history

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--small", action="store_true", help="synthetic beats, tiny network")
parser.add_argument("--out", default=".", help="folder for the figures")
parser.add_argument("--data-home", default=None, help="folder holding mitdb/")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

if args.small:
    train_X = make_synthetic_beats(n_normal=1024, n_anomalous=0, random_state=0).X
    test = make_synthetic_beats(n_normal=200, n_anomalous=40, random_state=1)
    test_X, test_y, test_class = test.X, test.y, test.aami
    params = dict(base_filters=8, latent_dim=16, lr=1e-3, max_epochs=5, batch_size=32)
    fit_context = test_context = {}  # one synthetic "recording", no rhythm
else:
    data = load_mitbih(args.data_home, records=["100", "105", "106", "119", "208", "233"],
                       download=True)
    rng = np.random.default_rng(0)
    normal = rng.permutation(np.flatnonzero(data.y == 1))
    train, held_out = normal[:6000], normal[6000:9000]
    test_idx = np.r_[held_out, np.flatnonzero(data.y == -1)]
    train_X = data.X[train]
    test_X, test_y, test_class = data.X[test_idx], data.y[test_idx], data.aami[test_idx]
    params = dict(max_epochs=5)
    # Each beat's recording (groups) and RR intervals (rr): the context of its score.
    fit_context = {"groups": data.record[train], "rr": data.rr[train]}
    test_context = {"groups": data.record[test_idx], "rr": data.rr[test_idx]}

gan = SIBeatGANDetector(random_state=0, verbose=1, **params)
if fit_context:
    # One fit for both scores: the context layer trains the GAN on 90 % of the beats and
    # takes the reference of its score from the other 10 %.
    det = ContextDetector(gan, random_state=0).fit(train_X, **fit_context)
    gan = det.detector_  # the fitted GAN: its score sees each beat alone
else:
    det = gan.fit(train_X)
alone = gan.score_samples(test_X)  # higher = more normal
print(f"beats alone:  AUC {anomaly_roc_auc(test_y, alone):.3f}  "
      f"AP {anomaly_average_precision(test_y, alone):.3f}")
scores = det.score_samples(test_X, **test_context)
flags = det.predict(test_X, **test_context)  # +1 normal, -1 anomalous
if test_context:
    print(f"with context: AUC {anomaly_roc_auc(test_y, scores):.3f}  "
          f"AP {anomaly_average_precision(test_y, scores):.3f}")
print(f"flagged {np.mean(flags == -1):.1%} of {len(flags)} beats")

worst = np.argsort(scores)[:3]  # the three most anomalous beats, and a typical normal one
shown = np.r_[worst, np.flatnonzero(test_y == 1)[0]]
titles = [f"class {c}" for c in test_class[shown]]
fig = plot_explanation(gan, test_X[shown], titles=titles, fs=360.0, scores=scores[shown],
                       flags=flags[shown])  # the scores and flags computed in context
fig.savefig(out / "quickstart_explanation.png")
plot_history(gan.history_).savefig(out / "quickstart_history.png")
print(f"Figures in {out}/: quickstart_explanation.png, quickstart_history.png")

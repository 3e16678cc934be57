"""Score every beat of one recording and show where the anomalous beats are.

    python examples/score_record.py            # train on MIT-BIH 100-115, score record 119
    python examples/score_record.py --small    # a synthetic recording, seconds

The command line does the same: ``beatdetect fit`` then ``beatdetect score``. Beats are
scored in their recording's context: the GAN sits in a ``ContextDetector``, to which
:func:`beatdetect.record_scoring.score_beats` passes ``groups`` (the recording of every
beat: the whole recording, in one call) and ``rr`` (the beats' RR intervals).
"""

import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from beatdetect import SIBeatGANDetector
from beatdetect.context import ContextDetector
from beatdetect.datasets import (
    beats_from_signal,
    get_data_home,
    make_synthetic_beats,
    training_beats,
)
from beatdetect.plotting import plot_scored_record
from beatdetect.record_scoring import score_beats, score_record, write_scores_csv

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--small", action="store_true", help="synthetic recording, tiny network")
parser.add_argument("--out", default=".", help="folder for the CSV and the figure")
parser.add_argument("--data-home", default=None, help="folder holding mitdb/")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)

if args.small:
    train_X = make_synthetic_beats(n_normal=600, n_anomalous=0, random_state=0).X
    gan = SIBeatGANDetector(base_filters=8, latent_dim=16, max_epochs=4, batch_size=32,
                            random_state=0)
    det = ContextDetector(gan, random_state=0).fit(train_X)  # no recordings in training
    # A synthetic "recording": beats laid end to end, R peak 140 samples into each window.
    beats = make_synthetic_beats(n_normal=40, n_anomalous=4, random_state=3)
    signal = beats.X[:, 0, :].reshape(-1)
    peaks = 140 + 320 * np.arange(len(beats.X))
    symbols = np.array([{"N": "N", "S": "A", "V": "V", "Q": "Q"}[c] for c in beats.aami])
    beats = beats_from_signal(signal, 360.0, r_peaks=peaks, symbols=symbols, name="synthetic")
    scored = score_beats(beats, det, signal=signal)
else:
    # Normal beats of five records, with their recording and RR intervals (the context).
    train = training_beats(records=["100", "101", "103", "112", "115"],
                           data_home=args.data_home, download=True, max_beats=6000,
                           random_state=0)
    det = ContextDetector(SIBeatGANDetector(max_epochs=5, random_state=0), random_state=0)
    det.fit(train.X, groups=train.record, rr=train.rr)
    scored = score_record(get_data_home(args.data_home) / "mitdb" / "119", det)

write_scores_csv(out / "scores.csv", scored)  # anomaly_score: higher = more anomalous
# The figure explains the most anomalous beat with the GAN's per-tick residual.
fig = plot_scored_record(scored, det.detector_, fig=Figure(figsize=(12, 8), layout="constrained"))
fig.savefig(out / "scored_record.png")
worst = int(np.argmax(scored.anomaly_score))
t_worst = scored.beats.sample[worst] / scored.beats.fs
print(f"{int((scored.flags == -1).sum())} of {len(scored.flags)} beats flagged; most "
      f"anomalous at {t_worst:.1f} s (reference {scored.beats.aami[worst]}). "
      f"Wrote {out / 'scores.csv'} and {out / 'scored_record.png'}.")

"""Compare SI-BeatGAN with the baselines under BeatGAN's intra-patient protocol.

    python examples/baselines_comparison.py            # the `quick` preset on MIT-BIH
    python examples/baselines_comparison.py --small    # synthetic beats, seconds

With MIT-BIH the quick preset also runs the inter-patient protocol (DS1 -> DS2); the
synthetic beats have no patients, so ``--small`` runs the intra-patient protocol only.

The benchmark trains every detector on the same normal training beats, scores the same test
fold, and writes results.json / .csv / .md and ROC, PR and score-histogram figures. The
command line runs it too: ``beatdetect benchmark --preset quick``.
"""

import argparse

from beatdetect.benchmark import run_benchmark
from beatdetect.datasets import make_synthetic_beats

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--small", action="store_true", help="synthetic beats, tiny networks")
parser.add_argument("--out", default="baselines-comparison", help="output folder")
parser.add_argument("--data-home", default=None, help="folder holding mitdb/")
args = parser.parse_args()

models = ["sibeatgan", "ae", "pca", "ocsvm", "iforest"]
if args.small:
    tiny = {"base_filters": 8, "latent_dim": 16, "lr": 1e-3, "batch_size": 32}
    result = run_benchmark(
        args.out, "quick", models=models, params={"sibeatgan": tiny, "ae": tiny},
        data=make_synthetic_beats(n_normal=500, n_anomalous=60, random_state=0),
        protocols=("intra",), epochs=3, max_train=400, progress=False,
    )
else:
    result = run_benchmark(args.out, "quick", models=models, data_home=args.data_home)
print(result.markdown)
print(f"Figures: {', '.join(p.name for p in result.figures)}")

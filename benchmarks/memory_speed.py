"""How fast does the memory bank score? Beats per second, side by side in one run.

Usage::

    python benchmarks/memory_speed.py --out results/speed/memory_bank.json

Times, on the same real MIT-BIH beats in one process: the memory bank's part of the score
(fingerprint the beats, project them on the bank's 32 principal axes, then nearest-neighbour
search by one matrix product per chunk) for banks of 5,000, 20,000 (the default
``memory_size``) and 72,000 beats, at 1 and 2 threads; scikit-learn's ``NearestNeighbors`` on
the raw 320-tick beats (the ``knn`` baseline) at the same bank sizes; and SI-BeatGAN's
reconstruction-error pass (the part that needs the networks). The target of issue 12 is at
least 10,000 beats/s for the memory bank on 2 cores; the ratios between rows are what carries
over to another CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from beatdetect.benchmark import cpu_model
from beatdetect.datasets import load_mitbih
from beatdetect.inference import reconstruction_errors
from beatdetect.memory import MemoryBank, PCAProjection, beat_fingerprints
from beatdetect.nn.networks import BeatGANConfig, Generator


def best_rate(func, n_beats: int, repeats: int) -> float:
    """Beats per second of the fastest of ``repeats`` calls (the least disturbed one)."""
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        func()
        times.append(time.perf_counter() - tic)
    return n_beats / min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--out", default="results/speed/memory_bank.json")
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    data = load_mitbih(args.data_home, verbose=False)
    rows = data.X.reshape(len(data.X), -1)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(rows))
    queries = rows[order[:args.queries]]
    pool = rows[order[args.queries:]]
    results = {"cpu": cpu_model(), "torch": torch.__version__, "queries": len(queries),
               "rows": []}
    # The default generator, untrained: the weights do not change the time of a pass.
    generator = Generator(BeatGANConfig()).eval()
    few = data.X[order[:2000]]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rate = best_rate(lambda: reconstruction_errors(generator, few), len(few), args.repeats)
        results["rows"].append({"what": "reconstruction error (default generator, float32)",
                                "bank": None, "threads": threads, "beats_per_s": rate})
        print(f"{threads} thread(s) reconstruction error: {rate:>9,.0f} beats/s", flush=True)
        for size in (5000, 20000, 72000):
            bank_rows = pool[:size]
            projection = PCAProjection.fit(bank_rows, 32)
            bank = MemoryBank(projection.transform(bank_rows),
                              fingerprints=beat_fingerprints(bank_rows))

            def score(b=bank, p=projection):
                return b.distances(p.transform(queries), fingerprints=beat_fingerprints(queries))

            rate = best_rate(score, len(queries), args.repeats)
            results["rows"].append({"what": "memory bank (PCA-32, brute force)",
                                    "bank": size, "threads": threads, "beats_per_s": rate})
            print(f"{threads} thread(s) memory bank {size:>6,}: {rate:>9,.0f} beats/s",
                  flush=True)
            if size <= 20000:
                knn = NearestNeighbors(n_neighbors=1, n_jobs=threads).fit(bank_rows)
                rate = best_rate(lambda knn=knn: knn.kneighbors(queries), len(queries), 1)
                results["rows"].append({"what": "knn baseline (raw beats, scikit-learn)",
                                        "bank": size, "threads": threads,
                                        "beats_per_s": rate})
                print(f"{threads} thread(s) knn baseline {size:>6,}: {rate:>9,.0f} beats/s",
                      flush=True)
    print(f"CPU: {results['cpu']}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

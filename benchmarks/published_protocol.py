"""How far is this project's MIT-BIH protocol from the one BeatGAN's 0.9447 was measured on?

Usage::

    pip install biosppy peakutils   # BeatGAN's QRS detector; only this script needs it
    python benchmarks/published_protocol.py --data-home ../shared/data \\
        [--scores results/ablation] [--out results/published_protocol]

BeatGAN's published preprocessing (its public code, ``experiments/ecg/preprocess.py``) keeps a
beat annotated normal (N, L, R) only when biosppy's QRS detector (``biosppy.signals.ecg.ecg``:
Hamilton's segmenter on the 3-45 Hz filtered MLII lead, peaks corrected within 50 ms) finds an R
peak less than 10 samples (28 ms) from the annotation; every anomalous beat is kept. It also counts
``e`` and ``j`` beats as S, where the AAMI classes (and this project) count them as N. This
project keeps every annotated beat, as de Chazal et al. and the AAMI standard do.

The script marks, for every beat of the loader, whether BeatGAN's preprocessing would have kept it
(``kept_by_published.npz``, with per-record counts in ``published_filter.json``), and rescoring
nothing, recomputes the AUC of finished benchmark jobs whose per-beat scores are on disk
(``--scores``: an output folder of the benchmark, intra-patient fold 0) on the test beats the
published preprocessing keeps, beside the AUC on all of them. The training beats stay as they
were (the models were trained on every normal beat), so this isolates the test side of the
difference. No label is used to choose anything: the filter reads the signal and the annotation
positions, the labels only score.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

#: BeatGAN's tolerance between an annotated normal beat and a detected R peak (samples at 360 Hz).
TOLERANCE = 10
#: Symbols BeatGAN counts as S although the AAMI classes count them as N.
BEATGAN_S_SYMBOLS = ("e", "j")


def detected_r_peaks(data_home, record: str, lead: str = "MLII") -> np.ndarray:
    """R peaks biosppy finds in ``lead`` of a MIT-BIH record, as BeatGAN's preprocessing did."""
    try:
        from biosppy.signals import ecg
    except ImportError as err:  # pragma: no cover - optional, for this script only
        raise SystemExit("This script needs biosppy: pip install biosppy peakutils") from err
    from beatdetect.datasets.wfdb_io import read_record

    rec = read_record(Path(data_home) / "mitdb" / record, leads=lead, annotation=None)
    out = ecg.ecg(signal=rec.signal[:, 0], sampling_rate=rec.fs, show=False,
                  interactive=False)
    return np.asarray(out["rpeaks"], dtype=np.int64)


def nearest_distance(samples: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Distance in samples from each of ``samples`` to the nearest of the sorted ``peaks``."""
    right = np.clip(np.searchsorted(peaks, samples), 0, len(peaks) - 1)
    left = np.clip(right - 1, 0, len(peaks) - 1)
    return np.minimum(np.abs(peaks[right] - samples), np.abs(peaks[left] - samples))


def published_mask(data, data_home) -> tuple[np.ndarray, dict]:
    """Whether BeatGAN's preprocessing keeps each beat, and per-record counts of dropped N."""
    from tqdm.auto import tqdm

    kept = np.ones(len(data.y), dtype=bool)
    per_record = {}
    for record in tqdm(list(dict.fromkeys(data.record)), desc="biosppy", unit="record"):
        index = np.flatnonzero(data.record == record)
        normal = index[data.aami[index] == "N"]
        peaks = detected_r_peaks(data_home, record)
        far = nearest_distance(data.sample[normal], peaks) >= TOLERANCE
        kept[normal[far]] = False
        per_record[record] = {"normal": int(len(normal)), "dropped": int(far.sum()),
                              "detected_peaks": int(len(peaks))}
    return kept, per_record


def rescore(scores_dir: Path, data, kept: np.ndarray) -> list[dict]:
    """AUC of every intra fold-0 job with a scores file, on all test beats and on those kept."""
    from beatdetect.benchmark import ResultsStore, split_indices
    from beatdetect.metrics import anomaly_roc_auc

    _, test = split_indices(data, "intra", 0)
    store = ResultsStore(scores_dir, scores_required=False)
    rows = []
    for key, row in store.rows().items():
        path = store.scores_path(key)
        if row["protocol"] != "intra" or row["fold"] != 0 or not path.is_file():
            continue
        saved = np.load(path)
        labels = saved["labels"]
        if not np.array_equal(labels, data.aami[test].astype(str)):
            raise SystemExit(f"{path}: its test beats are not this loader's fold-0 test beats.")
        scores, keep = saved["scores"], kept[test]
        rows.append({"model": row["model"], "seed": row["seed"],
                     "auc_all": anomaly_roc_auc(labels, scores),
                     "auc_published_test": anomaly_roc_auc(labels[keep], scores[keep]),
                     "n_test": int(len(labels)), "n_test_kept": int(keep.sum())})
    return rows


def published_split(data, kept: np.ndarray, fold: int = 0):
    """Intra-patient fold ``fold`` as BeatGAN's preprocessing would have it.

    This project's fold (same normal beats in the same fold) without the normal beats the
    published filter drops, and with ``e`` / ``j`` beats as S anomalies (all in the test set),
    as BeatGAN counts them. Returns ``(train, test, labels)``: indices into ``data`` and the
    AAMI label of each test beat.
    """
    from beatdetect.benchmark import split_indices

    train, test = split_indices(data, "intra", fold)
    as_s = np.isin(data.symbol, BEATGAN_S_SYMBOLS)
    test = np.sort(np.concatenate([test[kept[test]], train[as_s[train]]]))
    train = train[kept[train] & ~as_s[train]]
    labels = np.where(as_s[test], "S", data.aami[test]).astype(str)
    return train, test, labels


def fit_published(data, kept, model: str, params: dict, seed: int, checkpoint_dir=None) -> dict:
    """Fit ``model`` on the published fold-0 training beats and score its test beats."""
    import time

    from beatdetect.benchmark import cpu_model
    from beatdetect.benchmark.jobs import build_detector
    from beatdetect.metrics import anomaly_average_precision, anomaly_roc_auc

    train, test, labels = published_split(data, kept)
    det = build_detector(model, params, seed, verbose=1, checkpoint_dir=checkpoint_dir)
    start = time.perf_counter()
    det.fit(data.X[train])
    fit_seconds = time.perf_counter() - start
    scores = det.score_samples(data.X[test])
    return {"model": model, "params": params, "seed": seed, "n_train": int(len(train)),
            "n_test": int(len(test)), "n_anomalous": int((labels != "N").sum()),
            "auc": anomaly_roc_auc(labels, scores),
            "ap": anomaly_average_precision(labels, scores),
            "fit_seconds": fit_seconds, "cpu": cpu_model(),
            "precision": getattr(det, "training_precision_", None),
            "n_iter": getattr(det, "n_iter_", None)}


def render_table(summary: dict) -> str:
    """The Markdown table docs/benchmark.md quotes: AUC on all beats, on the test beats the
    published filter keeps, and on the filtered split, per score."""
    def auc(rows, model, field):
        found = sorted((r for r in rows if r["model"] == model), key=lambda r: r["seed"])
        return ", ".join(f"{r[field]:.4f}" for r in found) or "–"

    rescored, fitted = summary.get("rescored", []), summary.get("fitted", [])
    lines = ["| score | all beats (this library) | test beats the published filter keeps | "
             "filtered split: training and test beats, `e` / `j` as S |",
             "| --- | ---: | ---: | ---: |"]
    for label, model, fit_name in (
            ("BeatGAN (plain; by seed)", "plain", "sibeatgan"),
            ("1-NN on raw beats", "knn", "knn"),
            ("knn+context", "knn+context", None)):
        lines.append(f"| {label} | {auc(rescored, model, 'auc_all')} | "
                     f"{auc(rescored, model, 'auc_published_test')} | "
                     f"{auc(fitted, fit_name, 'auc') if fit_name else '–'} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--scores", type=Path, nargs="+", default=[],
                        help="benchmark output folders whose per-beat scores to re-evaluate")
    parser.add_argument("--fit", metavar="MODEL", nargs="+", default=[],
                        help="fit these detectors (knn, sibeatgan) on the published fold-0 "
                        "training beats and score its test beats")
    parser.add_argument("--params", default="{}",
                        help="JSON parameters of the --fit detectors")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--checkpoint-dir", default=None,
                        help="per-epoch checkpoints of a BeatGAN fit (outside git)")
    parser.add_argument("--out", type=Path, default=Path("results/published_protocol"))
    args = parser.parse_args(argv)

    from beatdetect.datasets import load_mitbih

    data = load_mitbih(args.data_home, verbose=False)
    args.out.mkdir(parents=True, exist_ok=True)
    mask_file = args.out / "kept_by_published.npz"
    if mask_file.is_file():
        saved = np.load(mask_file)
        if not np.array_equal(saved["sample"], data.sample):
            raise SystemExit(f"{mask_file} is of other beats: delete it to recompute.")
        kept = saved["kept"]
        per_record = json.loads((args.out / "published_filter.json").read_text())["per_record"]
    else:
        kept, per_record = published_mask(data, args.data_home)
        np.savez_compressed(mask_file, kept=kept, sample=data.sample, record=data.record)
    normal = data.aami == "N"
    summary = {
        "tolerance_samples": TOLERANCE,
        "normal_beats": int(normal.sum()), "normal_dropped": int((normal & ~kept).sum()),
        "beatgan_s_symbols_in_n": int(np.isin(data.symbol, BEATGAN_S_SYMBOLS).sum()),
        "per_record": per_record,
    }
    summary_file = args.out / "published_filter.json"
    previous = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    summary["rescored"] = [row for folder in args.scores
                           for row in rescore(folder, data, kept)] or previous.get("rescored", [])
    fitted = previous.get("fitted", [])
    for model in args.fit:
        params = json.loads(args.params) if model == "sibeatgan" else {}
        for seed in args.seeds:
            done = [r for r in fitted if (r["model"], r["params"], r["seed"])
                    == (model, params, seed)]
            if done:  # resumable: a finished fit is kept, not rerun
                continue
            fitted.append(fit_published(data, kept, model, params, seed, args.checkpoint_dir))
            summary["fitted"] = fitted
            summary_file.write_text(json.dumps(summary, indent=1) + "\n")
    summary["fitted"] = fitted
    summary_file.write_text(json.dumps(summary, indent=1) + "\n")
    print(render_table(summary))


if __name__ == "__main__":
    main()

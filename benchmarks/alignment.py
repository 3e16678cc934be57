"""Where should a beat window be centred: at the annotation or on the R peak? (issue 20)

Usage::

    OMP_NUM_THREADS=1 python benchmarks/alignment.py --data-home ../shared/data \
        --transfer-home DIR_WITH_QTDB --windows marks|peak
    python benchmarks/alignment.py --transfer-home DIR --compare   # the tables below
    python benchmarks/alignment.py --data-home ../shared/data --transfer-home DIR --offsets

The quick budget (seed 0, 3,000 training beats, 4 epochs) for BeatGAN and nearest
neighbours, alone and in context, plus the context alone, in three set-ups that differ only
in where the windows are cut:

- ``results/quick`` and ``results/qtdb_transfer`` (the benchmark's own runs): MIT-BIH at its
  annotations (the published protocol), the QT Database on the R peak (``load_qtdb``'s
  default);
- ``--windows marks`` -> ``results/transfer_unaligned``: the QT Database at its marks too
  (transfer protocol only);
- ``--windows peak`` -> ``results/aligned_quick``: every window on the R peak, MIT-BIH's
  training and test beats included (``load_mitbih(align="peak")``), all three protocols.

Every set-up trains on the same seeded subsample of MIT-BIH beats. Measured
marks-to-R-peak offsets (median, quartiles; ``--offsets``, written to
``results/transfer_unaligned/mark_offsets.json``): MIT-BIH 0 ms (0..3), European ST-T 44 ms
(32..52), ST Change -12 ms (-16..-12), Normal Sinus Rhythm 8 ms (0..8), Long-Term 12 ms
(0..16).
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np

from beatdetect.benchmark import get_preset, load_results, run_benchmark
from beatdetect.benchmark.protocols import combine_databases
from beatdetect.datasets import (
    QTDB_SOURCES,
    QTDB_TRANSFER_RECORDS,
    align_to_r_peaks,
    bandpass_filter,
    choose_leads,
    is_beat,
    load_mitbih,
    load_qtdb,
    read_lead_names,
    read_record,
)
from beatdetect.datasets.detection import ALIGN_RADIUS_SECONDS

MODELS = ["sibeatgan", "knn", "sibeatgan+context", "knn+context", "template", "rhythm"]


def mark_offsets(folder, records) -> dict:
    """Median and quartiles (ms) of the distance from each beat mark to the largest band-
    passed deflection within 75 ms, per source database (positive: the peak comes later)."""
    per_source = {}
    for record in records:
        path = Path(folder) / record
        rec = read_record(path, choose_leads(read_lead_names(path)))
        filtered = bandpass_filter(rec.signal, rec.fs, (3.0, 45.0))
        half = int(round(ALIGN_RADIUS_SECONDS * rec.fs))
        marks = rec.ann_sample[is_beat(np.asarray(rec.ann_symbol))]
        marks = marks[(marks >= half) & (marks < len(filtered) - half)]
        peaks = align_to_r_peaks(filtered, rec.fs, marks, per="beat")
        offsets = ((peaks - marks) / rec.fs * 1000).tolist()
        source = QTDB_SOURCES.get(record, "mitdb")
        per_source.setdefault(source, []).extend(offsets)
    return {source: {"beats": len(o), "median_ms": float(np.median(o)),
                     "quartiles_ms": [float(q) for q in np.percentile(o, [25, 75])]}
            for source, o in per_source.items()}


#: The three set-ups: (MIT-BIH windows, QT Database windows) -> results folders.
SETUPS = {
    ("marks", "marks"): ["results/transfer_unaligned"],
    ("marks", "peak"): ["results/quick", "results/qtdb_transfer"],
    ("peak", "peak"): ["results/aligned_quick"],
}


def compare(root=".") -> str:
    """A Markdown table of the seed-0 AUC of each model, protocol and set-up."""
    aucs = {}
    for setup, folders in SETUPS.items():
        for folder in folders:
            path = Path(root) / folder / "results.json"
            if not path.is_file():
                continue
            for row in load_results(path)["rows"]:
                if row["seed"] == 0 and row["model"] in MODELS:
                    aucs[(row["protocol"], row["model"], setup)] = row["auc"]
    lines = ["| protocol | model | MIT-BIH at marks, QTDB at marks | MIT-BIH at marks, QTDB on "
             "R peak | every window on the R peak |", "| --- | --- | ---: | ---: | ---: |"]
    for protocol in ("intra", "inter", "transfer"):
        for model in MODELS:
            cells = [aucs.get((protocol, model, setup)) for setup in SETUPS]
            if any(cell is not None for cell in cells):
                lines.append(f"| {protocol} | {model} | " + " | ".join(
                    "–" if c is None else f"{c:.4f}" for c in cells) + " |")
    return "\n".join(lines)


def by_source(folder, transfer_home) -> str:
    """A Markdown table of each model's AUC on the beats of each source database of the QT
    Database (its anomalies against its normal beats), from the score files of a transfer
    run, mean over seeds. The NSR excerpts have no anomalous beat, so no AUC of their own."""
    from beatdetect.metrics import anomaly_roc_auc

    rows = [row for row in load_results(Path(folder) / "results.json")["rows"]
            if row["protocol"] == "transfer"]
    with np.load(Path(folder) / "scores" / f"{rows[0]['key']}.npz") as saved:
        n_beats = len(saved["labels"])
    # The run cut its windows at the marks or on the R peak: the one whose beats it scored.
    qtdb = next(data for data in (load_qtdb(transfer_home, align=align, verbose=False)
                                  for align in ("peak", None)) if len(data.y) == n_beats)
    names = [name for name in ("edb", "ltdb", "stdb") if name in set(qtdb.source)]
    per_model = {}
    for row in rows:
        with np.load(Path(folder) / "scores" / f"{row['key']}.npz") as saved:
            scores, classes = saved["scores"], saved["labels"]
        if len(scores) != len(qtdb.y) or not (classes == qtdb.aami).all():
            raise ValueError(f"{folder}: the scores are not of these QT Database beats.")
        labels = np.where(classes == "N", 1, -1)
        aucs = per_model.setdefault(row["model"], {name: [] for name in names})
        for name in names:
            mask = qtdb.source == name
            aucs[name].append(anomaly_roc_auc(labels[mask], scores[mask]))
    header = [f"{name} ({int(((qtdb.source == name) & (qtdb.y == -1)).sum())} anomalous, "
              f"{int(((qtdb.source == name) & (qtdb.y == 1)).sum()):,} normal)"
              for name in names]
    lines = ["| model | " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(names)]
    for model, aucs in per_model.items():
        lines.append(f"| {model} | " + " | ".join(f"{np.mean(aucs[n]):.4f}" for n in names)
                     + " |")
    return "\n".join(lines)


def knn_by_alignment(data_home, transfer_home) -> dict:
    """Nearest neighbours (seed 0's 3,000 DS1 training beats) on the QT Database with the
    windows at the marks, each mark on its own R peak (``per="beat"``), and each
    recording's marks shifted together (``per="recording"``, what ``align="peak"`` does):
    AUC overall and per source database."""
    from beatdetect.baselines import make_detector
    from beatdetect.benchmark.protocols import split_indices, subsample_train
    from beatdetect.datasets import beats_from_signal
    from beatdetect.metrics import anomaly_roc_auc

    mitbih = load_mitbih(data_home, verbose=False)
    train, _ = split_indices(mitbih, "inter")
    detector = make_detector("knn").fit(mitbih.X[subsample_train(train, 3000, seed=0)])
    modes = {"marks": [], "beat": [], "recording": []}
    for record in QTDB_TRANSFER_RECORDS:
        path = Path(transfer_home) / "qtdb" / record
        rec = read_record(path, choose_leads(read_lead_names(path)))
        beat = is_beat(np.asarray(rec.ann_symbol))
        marks, symbols = rec.ann_sample[beat], np.asarray(rec.ann_symbol)[beat]
        filtered = bandpass_filter(rec.signal, rec.fs, (3.0, 45.0))
        for mode in modes:
            positions = marks if mode == "marks" else align_to_r_peaks(filtered, rec.fs, marks,
                                                                       per=mode)
            beats = beats_from_signal(rec.signal, rec.fs, r_peaks=positions, symbols=symbols)
            modes[mode].append((beats.X, beats.y, QTDB_SOURCES[record]))
    out = {}
    for mode, parts in modes.items():
        X = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        source = np.concatenate([np.full(len(p[1]), p[2]) for p in parts])
        scores = detector.score_samples(X)
        out[mode] = {"auc": anomaly_roc_auc(y, scores), **{
            name: anomaly_roc_auc(y[source == name], scores[source == name])
            for name in ("edb", "ltdb", "stdb")}}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None, help="folder holding mitdb/")
    parser.add_argument("--transfer-home", help="folder holding qtdb/ (default: the data home)")
    parser.add_argument("--windows", choices=("marks", "peak"),
                        help="marks: the QT Database cut at its marks (transfer only); peak: "
                             "every window on the R peak, MIT-BIH's too (all protocols)")
    parser.add_argument("--compare", action="store_true",
                        help="print the AUCs of the three set-ups side by side")
    parser.add_argument("--by-source", metavar="DIR",
                        help="AUC per source database of a transfer run's folder")
    parser.add_argument("--knn-modes", action="store_true",
                        help="nearest neighbours with the marks, per-beat and per-recording "
                             "alignment; writes results/transfer_unaligned/knn_alignment.json")
    parser.add_argument("--offsets", action="store_true",
                        help="print the mark-to-R-peak offsets per database and stop")
    args = parser.parse_args(argv)
    args.transfer_home = args.transfer_home or args.data_home
    if args.offsets:
        mitdb = sorted(Path(p).stem for p in glob.glob(f"{args.data_home}/mitdb/*.hea"))
        offsets = mark_offsets(Path(args.data_home) / "mitdb", mitdb)
        offsets.update(mark_offsets(Path(args.transfer_home) / "qtdb", QTDB_TRANSFER_RECORDS))
        print(json.dumps(offsets, indent=1))
        return
    if args.compare:
        print(compare())
        return
    if args.knn_modes:
        result = knn_by_alignment(args.data_home, args.transfer_home)
        Path("results/transfer_unaligned/knn_alignment.json").write_text(
            json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=1))
        return
    if args.by_source:
        print(by_source(args.by_source, args.transfer_home))
        return
    if args.windows is None:
        parser.error("give --windows marks|peak, --compare or --offsets")
    peak = args.windows == "peak"
    data = combine_databases({
        "mitdb": load_mitbih(args.data_home, align="peak" if peak else None),
        "qtdb": load_qtdb(args.transfer_home, align="peak" if peak else None),
    })
    data.name = (f"MIT-BIH Arrhythmia Database + QT Database (transfer), every window "
                 f"{'on the R peak' if peak else 'at the annotation'}")
    protocols = ("intra", "inter", "transfer") if peak else ("transfer",)
    out = "results/aligned_quick" if peak else "results/transfer_unaligned"
    result = run_benchmark(out, get_preset("quick", protocols=protocols), models=MODELS,
                           data=data, plots=False)
    print(result.markdown)


if __name__ == "__main__":
    main()

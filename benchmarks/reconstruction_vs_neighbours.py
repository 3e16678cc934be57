"""Why BeatGAN's score ranks below a nearest-neighbour search within patients, and above it
on new patients: reconstruction error against distance to the nearest training beat.

Usage::

    python benchmarks/reconstruction_vs_neighbours.py --data-home ../shared/data \\
        --protocol intra --max-train 10000 --epochs 8 \\
        --params '{"lr": 2e-4, "early_stopping": true}' --seed 0 --out results/gap/intra_seed0.json
    python benchmarks/reconstruction_vs_neighbours.py --report results/gap \\
        --figure docs/figures/reconstruction_vs_neighbours.png

Plain BeatGAN (``SIBeatGANDetector`` with its defaults and ``--params``) and 1-NN on the raw
beats are fitted on the *same* normal training beats. For every test beat it computes

- ``rec``: BeatGAN's anomaly score, the mean squared residual ``(x - G(x))**2``;
- ``nn``: the mean squared difference to its nearest training beat (1-NN's score, squared
  and divided by the number of ticks, so both are in the same units);

and reports, per AAMI class, the median of each, the median of ``log10(rec / nn)`` (how much
closer the generator's reconstruction lies to the beat than any training beat does), the
same minus the normal beats' (below 0: the generator shrinks the class's residual more than a
normal beat's, and the class loses contrast against normal beats that 1-NN keeps), the
share of beats the generator reconstructs closer than their nearest training beat, and each
score's AUC of the class against the normal test beats. ``--report`` renders the runs of a
folder (mean ± sample sd over seeds; ``--seed`` also draws the training subsample) as one
Markdown table and a figure of each class's per-tick residual over the normal
beats' (the contrast each score has, and where in the beat).

Two levers the table points to can be trained instead of plain BeatGAN, each label-free
and an experiment of this script only: ``--memory SLOTS`` (a MemAE-style memory between
encoder and decoder, :class:`MemoryGenerator`) and ``--mixture WEIGHT`` (a penalty on
reconstructing mixtures of two distant normal beats, :class:`MixtureRepulsion`).
``--report`` puts them in a second table, paired with plain BeatGAN at the same protocol and
seed.

Labels are read only here, after both models are fitted, to describe the scores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from beatdetect import SIBeatGANDetector
from beatdetect.baselines import KNNDetector
from beatdetect.benchmark import cpu_model, load_benchmark_data, split_indices, subsample_train
from beatdetect.gan.persistence import params_from_data
from beatdetect.gan.terms import call_keeping_stats
from beatdetect.gan.training import LossTerm
from beatdetect.metrics import anomaly_roc_auc
from beatdetect.nn.networks import Generator

CLASSES = ("N", "S", "V", "F", "Q")


# --------------------------------------------------------------------------- memory lever
class MemoryGenerator(Generator):
    """BeatGAN's generator whose decoder sees only a sparse mix of learned prototype codes.

    The lever the gap suggests, after MemAE (Gong et al., ICCV 2019): the encoder's code
    addresses ``slots`` memory items by cosine similarity, softmax and hard shrinkage
    (weights below ``shrink / slots`` set to zero, the rest renormalised; a ``temperature``
    below MemAE's 1 sharpens the softmax towards a few items), and the decoder
    reconstructs from the weighted sum of the items. A beat between two prototypes (a
    fusion beat) is then reconstructed as a prototype, not as itself. An experiment of this
    script only, not a parameter of the library.
    """

    def __init__(self, cfg, slots: int = 500, shrink: float = 1.0, temperature: float = 1.0):
        super().__init__(cfg)
        self.temperature = temperature
        self.memory = nn.Parameter(torch.empty(slots, cfg.latent_dim).uniform_(
            -1 / cfg.latent_dim ** 0.5, 1 / cfg.latent_dim ** 0.5))
        self.threshold = shrink / slots
        self.attention = None

    def address(self, z: torch.Tensor) -> torch.Tensor:
        similarity = F.normalize(z.float(), dim=1) @ F.normalize(self.memory.float(), dim=1).T
        weights = torch.softmax(similarity / self.temperature, dim=1)
        # MemAE's continuous hard shrinkage: relu(w - t) * w / (|w - t| + eps).
        shrunk = F.relu(weights - self.threshold) * weights / (
            (weights - self.threshold).abs() + 1e-12)
        return shrunk / shrunk.sum(dim=1, keepdim=True).clamp_min(1e-12)

    def forward(self, x: torch.Tensor):
        z, features = self.encoder(x)
        self.attention = self.address(z)
        return self.decoder((self.attention @ self.memory.float()).to(z.dtype)), z, features


class MemoryEntropy(LossTerm):
    """MemAE's sparsity loss: the mean entropy of the memory addressing weights."""

    side = "generator"

    def __init__(self, weight: float = 2e-4):
        super().__init__()
        self.weight = weight

    def generator_loss(self, ctx):
        w = ctx.generator.attention
        return {"mem_ent": self.weight * (-(w * torch.log(w + 1e-12)).sum(dim=1).mean())}


def memory_detector(slots: int, shrink: float = 1.0, weight: float = 2e-4,
                    temperature: float = 1.0):
    """An ``SIBeatGANDetector`` class that trains :class:`MemoryGenerator` (same API)."""

    class MemoryBeatGAN(SIBeatGANDetector):
        def _build_modules(self, cfg, seed):
            generator, discriminator = super()._build_modules(cfg, seed)
            memory = MemoryGenerator(cfg, slots, shrink, temperature)
            memory.load_state_dict(generator.state_dict(), strict=False)  # same networks
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                memory.memory.data.uniform_(-1 / cfg.latent_dim ** 0.5,
                                            1 / cfg.latent_dim ** 0.5)
            return memory, discriminator

        def _loss_terms(self, cfg, seed, X):
            return super()._loss_terms(cfg, seed, X) + [MemoryEntropy(weight)]

    return MemoryBeatGAN


# --------------------------------------------------------------------------- mixture lever
class MixtureRepulsion(LossTerm):
    """Teach the generator not to reconstruct in-between shapes: the lever the table
    suggests, since fusion beats are mixtures of two beat shapes.

    Each step mixes every beat of the batch with another (weights λ ~ U(0.3, 0.7)), keeps
    the mixtures of the pairs further apart than the batch's median pair (so a mixture is
    not itself a normal beat), and adds ``weight · mean(relu(1 - rec_mix / (margin ·
    rec_real)))``: a mixture reconstructed within ``margin`` times the batch's own
    reconstruction error is penalised. Label-free (built from normal training beats only);
    an experiment of this script, not a parameter of the library.
    """

    side = "generator"

    def __init__(self, weight: float = 0.1, margin: float = 4.0, seed: int = 0):
        super().__init__()
        self.weight, self.margin = weight, margin
        self.rng = torch.Generator().manual_seed(seed)

    def generator_loss(self, ctx):
        x = ctx.x
        n = len(x)
        perm = torch.randperm(n, generator=self.rng).to(x.device)
        lam = (0.3 + 0.4 * torch.rand(n, 1, 1, generator=self.rng)).to(x.device, x.dtype)
        distance = (x - x[perm]).pow(2).flatten(1).mean(1)
        far = distance > distance.median()
        mixed = (lam * x + (1 - lam) * x[perm])[far]
        if len(mixed) < 2:
            return {}
        x_hat = call_keeping_stats(ctx.generator, mixed)[0]
        rec_mix = (mixed - x_hat[..., :mixed.shape[-1]]).float().pow(2).flatten(1).mean(1)
        rec_real = (ctx.x - ctx.x_hat).float().pow(2).mean().detach()
        return {"mix": self.weight * F.relu(1 - rec_mix / (self.margin * rec_real)).mean()}


def mixture_detector(weight: float, margin: float = 4.0):
    """An ``SIBeatGANDetector`` class trained with :class:`MixtureRepulsion` (same API)."""

    class MixtureBeatGAN(SIBeatGANDetector):
        def _loss_terms(self, cfg, seed, X):
            return super()._loss_terms(cfg, seed, X) + [
                MixtureRepulsion(weight, margin, seed=seed + 7)]

    return MixtureBeatGAN


def nearest_training_beats(knn: KNNDetector, X_train, X) -> np.ndarray:
    """The nearest training beat of each beat of ``X``, found by 1-NN's own index."""
    _, index = knn.neighbors_.kneighbors(X.reshape(len(X), -1), n_neighbors=1)
    return X_train.reshape(len(X_train), *X.shape[1:])[index[:, 0]]


def describe(aami, rec, nn, rec_profile, nn_profile, standardised=None) -> dict:
    """Per-class summary of the two per-beat scores and their per-tick residuals (and the
    AUC of the per-tick standardised residual, when given)."""
    normal = aami == "N"
    rows = {}
    # anomaly_roc_auc takes normality scores (higher = more normal): hence the minus signs.
    for cls in CLASSES:
        mask = aami == cls
        if not mask.any():
            continue
        ratio = np.log10(rec[mask] / np.maximum(nn[mask], 1e-12))
        row = {"n": int(mask.sum()),
               "median_rec": float(np.median(rec[mask])),
               "median_nn": float(np.median(nn[mask])),
               "median_log10_ratio": float(np.median(ratio)),
               "closer_than_neighbour": float(np.mean(rec[mask] < nn[mask])),
               "profile_rec": np.median(rec_profile[mask], axis=0).round(7).tolist(),
               "profile_nn": np.median(nn_profile[mask], axis=0).round(7).tolist()}
        if cls != "N":
            both = normal | mask
            y = np.where(mask[both], -1, 1)
            row["auc_rec"] = anomaly_roc_auc(y, -rec[both])
            row["auc_nn"] = anomaly_roc_auc(y, -nn[both])
            if standardised is not None:
                row["auc_std"] = anomaly_roc_auc(y, -standardised[both])
        rows[cls] = row
    return rows


def run(args) -> dict:
    data = load_benchmark_data(args.data_home, verbose=False)
    train, test = split_indices(data, args.protocol, args.fold)
    train = subsample_train(train, args.max_train, seed=args.seed, fold=args.fold)
    X_train, X_test = data.X[train], data.X[test]
    aami = np.asarray(data.aami)[test]
    params = {"max_epochs": args.epochs, **params_from_data(json.loads(args.params))}

    start = time.perf_counter()
    detector = (memory_detector(args.memory, temperature=args.memory_temperature)
                if args.memory else mixture_detector(args.mixture, args.mixture_margin)
                if args.mixture else SIBeatGANDetector)
    gan = detector(random_state=args.seed, verbose=1, **params).fit(X_train)
    fit_seconds = time.perf_counter() - start
    knn = KNNDetector().fit(X_train)

    X3 = X_test.reshape(len(X_test), 1, -1) if X_test.ndim == 2 else X_test
    rec_profile = gan.explain(X3).mean(axis=1)
    nearest = nearest_training_beats(knn, X_train, X3[:, 0])
    nn_profile = (X3[:, 0] - nearest) ** 2
    rec, nn = rec_profile.mean(axis=1), nn_profile.mean(axis=1)
    # A score of the same fit, label-free: each tick's squared residual in units of the
    # training beats' median squared residual at that tick, so that ticks normal beats
    # reconstruct precisely (P wave, baseline) weigh as much as the QRS.
    X_train3 = X_train.reshape(len(X_train), 1, -1) if X_train.ndim == 2 else X_train
    tick_scale = np.median(gan.explain(X_train3).mean(axis=1), axis=0)
    standardised = (rec_profile / np.maximum(tick_scale, 1e-12)).mean(axis=1)
    # The two scores are the detectors' own (``score_samples`` is minus the anomaly score),
    # 1-NN's up to a monotone map (its score is the root of ``nn`` times a constant):
    # checked, so that the table describes the benchmarked scores and not a look-alike.
    np.testing.assert_allclose(rec, -gan.score_samples(X_test), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.sqrt(nn * nn_profile.shape[1]), -knn.score_samples(X_test),
                               rtol=1e-4, atol=1e-6)
    return {"args": vars(args), "params": params, "cpu": cpu_model(),
            "precision": gan.training_precision_, "epochs_run": int(gan.n_iter_),
            "fit_seconds": round(fit_seconds, 1), "train_beats": int(len(train)),
            "test_beats": int(len(test)),
            "auc_rec": anomaly_roc_auc(np.where(aami == "N", 1, -1), -rec),
            "auc_nn": anomaly_roc_auc(np.where(aami == "N", 1, -1), -nn),
            "auc_std": anomaly_roc_auc(np.where(aami == "N", 1, -1), -standardised),
            "classes": describe(aami, rec, nn, rec_profile, nn_profile, standardised)}


def _mean_sd(values, fmt: str) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(values.mean(), fmt)} ± {format(values.std(ddof=1), fmt.lstrip('+'))}"


def lever(run_: dict) -> str:
    """The lever a run trained with, as a label suffix ("" for plain BeatGAN)."""
    args = run_["args"]
    slots, temperature = args.get("memory", 0), args.get("memory_temperature", 1.0)
    mixture = args.get("mixture", 0.0)
    return ((f", memory {slots}" if slots else "")
            + (f" τ {temperature:g}" if slots and temperature != 1.0 else "")
            + (f", mixture {mixture:g}" if mixture else ""))


def by_protocol(runs: list[dict]) -> dict[str, list[dict]]:
    """Runs grouped by protocol and lever: plain BeatGAN first (intra, inter), then each
    lever; each group by seed."""
    def order(run_):
        return lever(run_) != "", run_["args"]["protocol"] != "intra", lever(run_)

    groups: dict[str, list[dict]] = {}
    for run_ in sorted(runs, key=lambda r: (*order(r), r["args"]["seed"])):
        groups.setdefault(run_["args"]["protocol"] + lever(run_), []).append(run_)
    return groups


def load_runs(folder) -> list[dict]:
    """Every run file (``*.json``) of ``folder``, in file-name order."""
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]


def report(folder, figure=None) -> str:
    """Write :func:`table` of the runs in ``folder`` to ``gap.md`` and the residual figure
    (profiles averaged over seeds) to ``gap.png`` (and to ``figure``); return the table."""
    folder = Path(folder)
    runs = load_runs(folder)
    plain = [run_ for run_ in runs if not lever(run_)]
    text = table(plain)
    if len(plain) < len(runs):
        text += "\n" + lever_table(runs)
    if any("auc_std" in run_ for run_ in plain):
        text += "\n" + standardised_table(runs)
    (folder / "gap.md").write_text(text)
    if plain:  # the levers are in their table only
        _figure(by_protocol(plain), [folder / "gap.png"] + ([Path(figure)] if figure else []))
    return text


def table(runs: list[dict]) -> str:
    """One Markdown table of the runs: mean ± sample sd over seeds, per set-up and class."""
    lines = ["| protocol | class | seeds | beats | AUC BeatGAN | AUC 1-NN | median rec "
             "| median nn | median log10(rec/nn) | minus N's | rec < nn |",
             "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for protocol, group in by_protocol(runs).items():
        seeds = len(group)
        lines.append(f"| {protocol} | all | {seeds} | {group[0]['test_beats']:,} "
                     f"| {_mean_sd([r['auc_rec'] for r in group], '.4f')} "
                     f"| {_mean_sd([r['auc_nn'] for r in group], '.4f')} | | | | | |")
        normal_ratio = np.mean([r["classes"]["N"]["median_log10_ratio"] for r in group])
        for cls in CLASSES:
            rows = [r["classes"][cls] for r in group if cls in r["classes"]]
            if not rows:
                continue
            aucs = (f"{_mean_sd([r['auc_rec'] for r in rows], '.4f')} "
                    f"| {_mean_sd([r['auc_nn'] for r in rows], '.4f')}"
                    if "auc_rec" in rows[0] else "– | –")
            mean = {k: np.mean([r[k] for r in rows]) for k in
                    ("median_rec", "median_nn", "median_log10_ratio", "closer_than_neighbour")}
            lines.append(f"| {protocol} | {cls} | {seeds} | {rows[0]['n']:,} | {aucs} "
                         f"| {mean['median_rec']:.5f} | {mean['median_nn']:.5f} "
                         f"| {mean['median_log10_ratio']:+.2f} "
                         f"| {mean['median_log10_ratio'] - normal_ratio:+.2f} "
                         f"| {mean['closer_than_neighbour']:.0%} |")
    return "\n".join(lines) + "\n"


def lever_table(runs: list[dict]) -> str:
    """Each lever against plain BeatGAN at the same protocol and seed (paired): AUC, and
    the "minus N's" contrast of S and F beats (positive: the class keeps more contrast)."""
    plain = {(r["args"]["protocol"], r["args"]["seed"]): r for r in runs if not lever(r)}

    def contrast(run_, cls):
        classes = run_["classes"]
        return classes[cls]["median_log10_ratio"] - classes["N"]["median_log10_ratio"]

    lines = ["| protocol, lever | seeds | AUC | ΔAUC (same seed) | AUC F | ΔAUC F "
             "| minus N's S | minus N's F |",
             "| --- | ---: | --- | --- | --- | --- | --- | --- |"]
    for label, group in by_protocol(runs).items():
        pairs = [(r, plain.get((r["args"]["protocol"], r["args"]["seed"]))) for r in group]
        pairs = [(r, b) for r, b in pairs if b is not None]
        if not lever(group[0]) or not pairs:
            continue
        auc = [r["auc_rec"] for r, _ in pairs]
        delta = [r["auc_rec"] - b["auc_rec"] for r, b in pairs]
        auc_f = [r["classes"]["F"]["auc_rec"] for r, _ in pairs]
        delta_f = [r["classes"]["F"]["auc_rec"] - b["classes"]["F"]["auc_rec"] for r, b in pairs]
        cells = [f"{_mean_sd([contrast(r, c) for r, _ in pairs], '+.2f')} (plain "
                 f"{_mean_sd([contrast(b, c) for _, b in pairs], '+.2f')})" for c in "SF"]
        lines.append(f"| {label} | {len(pairs)} | {_mean_sd(auc, '.4f')} "
                     f"| {_mean_sd(delta, '+.4f')} | {_mean_sd(auc_f, '.4f')} "
                     f"| {_mean_sd(delta_f, '+.4f')} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def standardised_table(runs: list[dict]) -> str:
    """BeatGAN's residual standardised per tick against its plain mean (the same fit: the
    pairs differ in the score only), per protocol over the plain runs that have it."""
    lines = ["| protocol | seeds | AUC BeatGAN | AUC standardised | Δ | Δ S | Δ V | Δ F "
             "| AUC 1-NN |",
             "| --- | ---: | --- | --- | --- | --- | --- | --- | --- |"]
    measured = [r for r in runs if "auc_std" in r and not lever(r)]
    for label, group in by_protocol(measured).items():
        delta = {c: [r["classes"][c]["auc_std"] - r["classes"][c]["auc_rec"] for r in group]
                 for c in "SVF"}
        lines.append(
            f"| {label} | {len(group)} | {_mean_sd([r['auc_rec'] for r in group], '.4f')} "
            f"| {_mean_sd([r['auc_std'] for r in group], '.4f')} "
            f"| {_mean_sd([r['auc_std'] - r['auc_rec'] for r in group], '+.4f')} | "
            + " | ".join(_mean_sd(delta[c], "+.4f") for c in "SVF")
            + f" | {_mean_sd([r['auc_nn'] for r in group], '.4f')} |")
    return "\n".join(lines) + "\n"


def _figure(groups: dict[str, list[dict]], paths) -> None:
    """Per tick, each class's median residual over the normal beats' median residual: the
    contrast each score has to rank the class above normal beats, and where in the beat."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("S", "V", "F")
    fig, axes = plt.subplots(len(groups), len(shown),
                             figsize=(3.6 * len(shown), 2.8 * len(groups)), sharex=True,
                             squeeze=False)
    for r, (protocol, group) in enumerate(groups.items()):
        for c, cls in enumerate(shown):
            ax = axes[r][c]
            rows = [run_["classes"][cls] for run_ in group if cls in run_["classes"]]
            if not rows:
                ax.axis("off")
                continue
            for key, label in (("profile_rec", "BeatGAN: (x - G(x))²"),
                               ("profile_nn", "1-NN: (x - nearest)²")):
                contrast = np.mean([np.asarray(row[key])
                                    / np.maximum(run_["classes"]["N"][key], 1e-12)
                                    for row, run_ in zip(rows, group, strict=True)], axis=0)
                ax.semilogy(contrast, label=label, lw=1)
            ax.axhline(1, color="k", lw=0.6)
            auc_rec = np.mean([row["auc_rec"] for row in rows])
            auc_nn = np.mean([row["auc_nn"] for row in rows])
            ax.set_title(f"{protocol}: {cls} (AUC {auc_rec:.3f} vs {auc_nn:.3f})", fontsize=9)
            if c == 0:
                ax.set_ylabel("median residual, class / N")
            if r == len(groups) - 1:
                ax.set_xlabel("tick (R peak mid-window)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home")
    parser.add_argument("--protocol", choices=("intra", "inter"), default="intra")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-train", type=int, default=10000,
                        help="normal training beats, the same for both models (default 10000)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--params", default="{}", help="JSON of SIBeatGANDetector parameters")
    parser.add_argument("--memory", type=int, default=0, metavar="SLOTS",
                        help="train the MemAE-style generator with this many memory items "
                        "(default 0: plain BeatGAN)")
    parser.add_argument("--memory-temperature", type=float, default=1.0,
                        help="softmax temperature of the memory addressing (default 1, "
                        "MemAE's)")
    parser.add_argument("--mixture", type=float, default=0.0, metavar="WEIGHT",
                        help="train with the mixture-repulsion term at this weight "
                        "(default 0: plain BeatGAN)")
    parser.add_argument("--mixture-margin", type=float, default=4.0)
    parser.add_argument("--out", help="JSON file of the run")
    parser.add_argument("--report", help="render every run in this folder")
    parser.add_argument("--figure", help="with --report: also save the figure here")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report, args.figure))
        return
    result = run(args)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "classes"}, indent=1))


if __name__ == "__main__":
    main()

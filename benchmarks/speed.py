"""Training and scoring throughput of beatdetect vs a naive BeatGAN, side by side in one run.

Usage::

    python benchmarks/speed.py [--train-beats 4096] [--score-beats 20000] [--threads 2]
                               [--long-recording 100000] [--profile] [--out results/speed.json]
    python benchmarks/speed.py --levers [--threads 1] [--repeats 5] [--steps 3]
                               [--out-dir results/speed]

``--levers`` measures the training levers of issue 20 against the naive float32 reference
in one run instead (see :func:`training_levers`): the library in float32 and in bfloat16
autocast, foreach and fused Adam, larger batches, one job with two threads against two
jobs with one thread each, and (with ``--compile``) ``torch.compile``; it writes
``training_levers_<cpu>.json`` and ``.md`` into ``--out-dir``.

Absolute times on shared machines are noisy; the ratios measured in one run are what to
compare. Beside the ratios the script measures what bounds them: the floating-point
operations per beat (PyTorch's FLOP counter), the matrix-multiply throughput of this CPU
(a large GEMM, the best any convolution can do), and so the arithmetic limit in beats per
second; ``--profile`` adds the operators that take the time, ``--long-recording`` the
memory of scoring a day-long recording in chunks.

The naive reference is the published training loop in float32 eager PyTorch: the generator
runs twice per step, ``nn.ConvTranspose1d`` as shipped, sigmoid + BCELoss, discriminator
weight gradients computed in the generator step, and a numpy-to-tensor conversion per batch.
The library path is ``SIBeatGANDetector``'s engine (one generator pass per step, transposed
convolutions as exact regular convolutions, bfloat16 autocast on CPUs with native bfloat16,
scoring in large no-grad chunks).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import statistics
import time

import numpy as np
import torch
from torch import nn

from beatdetect._device import autocast_dtype, cpu_name, cpu_supports_bf16
from beatdetect.gan.inference import reconstruction_errors
from beatdetect.gan.training import GANTrainer, precision_probe
from beatdetect.nn.networks import (
    BeatGANConfig,
    Discriminator,
    Generator,
    Upsample2,
    init_weights,
    pad_beats,
)

#: Side of the square matrices of the GEMM throughput measurement.
GEMM_SIZE = 2048


# --------------------------------------------------------------------------- reference
def naive_modules(cfg: BeatGANConfig):
    """BeatGAN's networks with PyTorch's stock transposed convolutions."""
    generator, discriminator = Generator(cfg), Discriminator(cfg)
    layers = generator.decoder.net
    for i, layer in enumerate(layers):
        if isinstance(layer, Upsample2):
            layers[i] = nn.ConvTranspose1d(layer.in_channels, layer.out_channels, 4, 2, 1,
                                           bias=False)
            init_weights(layers[i])  # a new layer: BeatGAN's initialisation, as the rest
        elif isinstance(layer, nn.ConvTranspose1d):
            layer.__class__ = nn.ConvTranspose1d  # stock forward, same parameters
    return generator, discriminator


def to_library(naive_generator: Generator) -> Generator:
    """The same weights in the library's generator."""
    generator = Generator(naive_generator.cfg)
    for i, (mine, theirs) in enumerate(zip(generator.decoder.net, naive_generator.decoder.net)):
        if isinstance(mine, Upsample2):
            generator.decoder.net[i] = Upsample2.from_conv_transpose(theirs)
    state = {k: v for k, v in naive_generator.state_dict().items()}
    own = generator.state_dict()
    generator.load_state_dict({k: (state[k] if state[k].shape == own[k].shape else own[k])
                               for k in own})
    return generator


def naive_train(X: np.ndarray, epochs: int, batch_size: int = 64) -> float:
    """The published loop in float32 (BeatGAN's lr 1e-4); returns beats per second."""
    step = _naive_stepper(BeatGANConfig(), X, lr=1e-4)
    rng = np.random.default_rng(0)
    tic = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X) - 1, batch_size):
            step(order[start:start + batch_size])
    return epochs * len(X) / (time.perf_counter() - tic)


def library_train(X: np.ndarray, epochs: int, mixed_precision) -> float:
    cfg = BeatGANConfig()
    torch.manual_seed(0)
    generator, discriminator = Generator(cfg), Discriminator(cfg)
    device = torch.device("cpu")
    trainer = GANTrainer(generator, discriminator, batch_size=64, device=device,
                         amp_dtype=autocast_dtype(device, mixed_precision,
                                                  probe=precision_probe(cfg, 64)))
    data = torch.from_numpy(X)
    tic = time.perf_counter()
    trainer.fit(data, max_epochs=epochs)
    return epochs * len(X) / (time.perf_counter() - tic)


def naive_score(generator, X: np.ndarray, batch_size: int = 64) -> float:
    """Batches of 64 with autograd on, as an evaluation loop written like training."""
    generator.eval()
    tic = time.perf_counter()
    for start in range(0, len(X), batch_size):
        x = torch.from_numpy(X[start:start + batch_size])
        ((generator(x)[0] - x) ** 2).mean(dim=(1, 2)).detach().numpy()
    return len(X) / (time.perf_counter() - tic)


def library_score(generator, X: np.ndarray, mixed_precision) -> float:
    device = torch.device("cpu")
    amp = autocast_dtype(device, mixed_precision, probe=precision_probe(generator.cfg, 64))
    reconstruction_errors(generator, X[:256], amp_dtype=amp)  # warm-up
    tic = time.perf_counter()
    reconstruction_errors(generator, X, amp_dtype=amp)
    return len(X) / (time.perf_counter() - tic)


# --------------------------------------------------------------------------- bounds
def flops_per_beat(batch_size: int = 64) -> dict:
    """Floating-point operations per beat: one generator pass, one library training step."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = BeatGANConfig()
    torch.manual_seed(0)
    generator, discriminator = Generator(cfg), Discriminator(cfg)
    x = torch.rand(batch_size, 1, cfg.length) * 2 - 1
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        generator.eval()(x)
    score = counter.get_total_flops() / batch_size
    trainer = GANTrainer(generator.train(), discriminator, batch_size=batch_size)
    with FlopCounterMode(display=False) as counter:
        trainer.train_step(x)
    return {"score": score, "train": counter.get_total_flops() / batch_size}


def gemm_gflops(dtype=torch.float32, size: int = GEMM_SIZE, reps: int = 5) -> float:
    """Best-of-``reps`` throughput of one large matrix product, GFLOP/s."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(reps))
    return 2 * size**3 / best / 1e9


def _timed(fn) -> float:
    tic = time.perf_counter()
    fn()
    return time.perf_counter() - tic


def top_operators(fn, n: int = 8) -> list[dict]:
    """The ``n`` operators with the most self CPU time over one call of ``fn``."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [{"op": e.key, "share": e.self_cpu_time_total / total, "calls": e.count}
            for e in events[:n]]


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _long_recording_child(n_beats: int, threads: int) -> dict:
    from beatdetect import SIBeatGANDetector

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    det = SIBeatGANDetector(max_epochs=1, random_state=0, verbose=2)
    det.fit(rng.uniform(-1, 1, (256, 320)).astype(np.float32))
    model_mb = _rss_mb()
    X = rng.uniform(-1, 1, (n_beats, 1, 320)).astype(np.float32)
    with_input_mb = _rss_mb()
    try:  # reset the peak so that it covers scoring only (Linux; harmless elsewhere)
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    tic = time.perf_counter()
    det.score_samples(X)
    seconds = time.perf_counter() - tic
    peak_mb = _rss_mb("VmHWM")
    return {"n_beats": n_beats, "input_mb": X.nbytes / 2**20, "rss_after_fit_mb": model_mb,
            "rss_with_input_mb": with_input_mb, "peak_rss_mb": peak_mb,
            "peak_above_input_mb": peak_mb - with_input_mb, "seconds": seconds,
            "beats_per_s": n_beats / seconds}


def long_recording_memory(n_beats: int, threads: int) -> dict:
    """Peak memory of ``score_samples`` over ``n_beats`` beats, in a fresh process."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_long_recording_child, (n_beats, threads))


def latency_ms(fn, x, reps: int = 200) -> float:
    for _ in range(10):
        fn(x)
    times = []
    for _ in range(reps):
        tic = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - tic)
    return 1e3 * float(np.median(times))


# --------------------------------------------------------------------------- levers
#: BeatGAN's batch size, the reference of every lever.
LEVER_BATCH = 64
#: Learning rate of the lever runs (the estimator's default peak).
LEVER_LR = 1e-3
#: What was not measured, and why (written into the results).
NOT_MEASURED = {
    "channels_last": "not applicable: the networks are 1-D convolutions on (batch, leads, "
                     "ticks) tensors, and PyTorch's channels-last formats exist for 4-D and "
                     "5-D tensors only",
    "torch_compile": "off by default (--compile): on the AMX Xeon of issue 20 compiling the "
                     "training step took about 2.5 minutes per precision and the compiled "
                     "steps were not faster",
}


def _naive_stepper(cfg: BeatGANConfig, X: np.ndarray, lr: float = LEVER_LR):
    """One step of the published float32 loop (the discriminator, then the generator with
    ``G(x)`` recomputed, as the published code does) on the beats ``X[index]`` per call."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        generator, discriminator = naive_modules(cfg)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    bce, mse = nn.BCELoss(), nn.MSELoss()

    def step(index: np.ndarray) -> None:
        x = torch.from_numpy(X[index])
        fake = generator(x)[0]
        p_real = torch.sigmoid(discriminator(x)[0])
        p_fake = torch.sigmoid(discriminator(fake.detach())[0])
        loss_d = bce(p_real, torch.ones_like(p_real)) + bce(p_fake, torch.zeros_like(p_fake))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        fake = generator(x)[0]
        _, feat_fake = discriminator(fake)
        _, feat_real = discriminator(x)
        loss_g = mse(fake, x) + mse(feat_fake, feat_real)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        loss_g.item()

    return step


def _library_trainer(cfg: BeatGANConfig, batch_size: int, amp, optimizer: str = "default",
                     compile_modules: bool = False, seed: int = 0) -> GANTrainer:
    """The library's trainer, optionally with foreach / fused Adam or compiled modules."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, discriminator = Generator(cfg), Discriminator(cfg)
    trainer = GANTrainer(generator, discriminator, batch_size=batch_size, amp_dtype=amp,
                         lr=LEVER_LR, rng=torch.Generator().manual_seed(seed))
    if optimizer != "default":
        for name in ("optimizer_g_", "optimizer_d_"):
            params = getattr(trainer, name).param_groups[0]["params"]
            setattr(trainer, name, torch.optim.Adam(params, lr=LEVER_LR, betas=(0.5, 0.999),
                                                    **{optimizer: True}))
    if compile_modules:
        trainer.generator = torch.compile(generator)
        trainer.discriminator = torch.compile(discriminator)
    return trainer


def _library_stepper(cfg, data: torch.Tensor, batch_size: int, amp, **kwargs):
    trainer = _library_trainer(cfg, batch_size, amp, **kwargs)

    def step(index: np.ndarray) -> None:
        trainer.train_step(data[torch.from_numpy(index)])

    return step


def lever_variants(cfg: BeatGANConfig, X: np.ndarray, *, compile_modules: bool = False):
    """The in-process variants: name -> (step function, batch size, description)."""
    data = torch.from_numpy(X)
    precisions = {"fp32": None, "bf16": torch.bfloat16}
    variants = {"naive_fp32": (_naive_stepper(cfg, X), LEVER_BATCH,
                               "naive reference: published loop, float32")}
    for tag, amp in precisions.items():
        variants[f"library_{tag}"] = (_library_stepper(cfg, data, LEVER_BATCH, amp),
                                      LEVER_BATCH, f"library, {tag}")
    for tag, amp in precisions.items():
        for optimizer in ("foreach", "fused"):
            variants[f"library_{tag}_{optimizer}_adam"] = (
                _library_stepper(cfg, data, LEVER_BATCH, amp, optimizer=optimizer),
                LEVER_BATCH, f"library, {tag}, {optimizer} Adam")
        for batch in (128, 256):
            variants[f"library_{tag}_batch{batch}"] = (
                _library_stepper(cfg, data, batch, amp), batch,
                f"library, {tag}, batch {batch} (beats/s only; lr not re-tuned)")
        if compile_modules:
            variants[f"library_{tag}_compiled"] = (
                _library_stepper(cfg, data, LEVER_BATCH, amp, compile_modules=True),
                LEVER_BATCH, f"library, {tag}, torch.compile")
    return variants


def time_variants(variants: dict, n_beats: int, *, steps: int, repeats: int,
                  warmup: int) -> dict:
    """Median beats/s of each variant over ``repeats`` windows of ``steps`` steps.

    The variants take turns window by window (round robin), so a change of load on a
    shared machine falls on all of them rather than on whichever ran at the time.
    """
    rng = np.random.default_rng(0)
    out = {name: {"batch_size": batch, "what": what, "beats_per_s": [], "warmup_s": 0.0}
           for name, (_, batch, what) in variants.items()}
    for name, (step, batch, _) in variants.items():
        tic = time.perf_counter()
        for _ in range(warmup):
            step(rng.choice(n_beats, batch, replace=False))
        out[name]["warmup_s"] = time.perf_counter() - tic
    for _ in range(repeats):
        for name, (step, batch, _) in variants.items():
            batches = [rng.choice(n_beats, batch, replace=False) for _ in range(steps)]
            tic = time.perf_counter()
            for index in batches:
                step(index)
            out[name]["beats_per_s"].append(steps * batch / (time.perf_counter() - tic))
    for record in out.values():
        record["median_beats_per_s"] = statistics.median(record["beats_per_s"])
    return out


def _thread_job(threads: int, amp_name: str, steps: int, repeats: int, barrier, queue):
    """A training job in its own process: median beats/s of the library at ``threads``."""
    torch.set_num_threads(threads)
    cfg = BeatGANConfig()
    rng = np.random.default_rng(threads)
    X = rng.uniform(-1, 1, (4096, 1, cfg.padded_length)).astype(np.float32)
    amp = torch.bfloat16 if amp_name == "bf16" else None
    step = _library_stepper(cfg, torch.from_numpy(X), LEVER_BATCH, amp)
    for _ in range(2):
        step(rng.choice(len(X), LEVER_BATCH, replace=False))
    barrier.wait()  # concurrent jobs start their timed windows together
    rates = []
    for _ in range(repeats):
        tic = time.perf_counter()
        for _ in range(steps):
            step(rng.choice(len(X), LEVER_BATCH, replace=False))
        rates.append(steps * LEVER_BATCH / (time.perf_counter() - tic))
    queue.put(statistics.median(rates))


def thread_layouts(amp_name: str, steps: int, repeats: int) -> dict:
    """Total beats/s of 1 job x 1 thread, 1 job x 2 threads and 2 jobs x 1 thread."""
    ctx = multiprocessing.get_context("spawn")
    out = {}
    for name, jobs, threads in [("1 job x 1 thread", 1, 1), ("1 job x 2 threads", 1, 2),
                                ("2 jobs x 1 thread", 2, 1)]:
        queue, barrier = ctx.Queue(), ctx.Barrier(jobs)
        procs = [ctx.Process(target=_thread_job,
                             args=(threads, amp_name, steps, repeats, barrier, queue))
                 for _ in range(jobs)]
        for proc in procs:
            proc.start()
        rates = [queue.get() for _ in procs]
        for proc in procs:
            proc.join()
        out[name] = {"jobs": jobs, "threads_per_job": threads, "per_job_beats_per_s": rates,
                     "total_beats_per_s": sum(rates)}
    return out


def paired_auc_check(optimizer: str, amp, seeds=(0, 1), epochs: int = 3) -> list[dict]:
    """A tiny paired check that ``optimizer`` Adam leaves AUC alone (synthetic beats).

    Same seeds, beats, initial weights and batches with the default and with the lever;
    a small network (``base_filters=8``) so that it takes seconds. Not a measurement of
    AUC on MIT-BIH.
    """
    from sklearn.metrics import roc_auc_score

    from beatdetect.datasets import make_synthetic_beats

    cfg = BeatGANConfig(base_filters=8)
    train = make_synthetic_beats(n_normal=2048, n_anomalous=0, random_state=10)
    test = make_synthetic_beats(n_normal=400, n_anomalous=100, random_state=11)
    rows = []
    for seed in seeds:
        aucs = {}
        for variant in ("default", optimizer):
            trainer = _library_trainer(cfg, LEVER_BATCH, amp, optimizer=variant, seed=seed)
            data = torch.from_numpy(np.ascontiguousarray(train.X, dtype=np.float32))
            trainer.fit(pad_beats(data, cfg.padded_length), max_epochs=epochs)
            errors = reconstruction_errors(trainer.generator.eval(),
                                           np.ascontiguousarray(test.X, dtype=np.float32),
                                           amp_dtype=amp)
            aucs[variant] = float(roc_auc_score(test.y == -1, errors))  # -1: anomalous
        rows.append({"seed": seed, "auc_default": aucs["default"],
                     f"auc_{optimizer}": aucs[optimizer],
                     "difference": aucs[optimizer] - aucs["default"]})
    return rows


def cpu_slug() -> str:
    """The CPU's name as a file-name part, e.g. ``intel-xeon-processor``."""
    name = re.sub(r"\((r|tm)\)", "", cpu_name().lower())
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-")


def training_levers(args) -> dict:
    """Every training lever against the naive float32 reference, in one run."""
    from pathlib import Path

    torch.set_num_threads(args.threads)
    cfg = BeatGANConfig()
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (4096, 1, cfg.padded_length)).astype(np.float32)
    started = time.time()
    cpu_started = time.process_time()
    res = {
        "machine": {"cpu": cpu_name(), "threads": args.threads, "torch": torch.__version__,
                    "native_bf16": cpu_supports_bf16(), "cpu_count": os.cpu_count(),
                    "load_average_at_start": os.getloadavg()},
        "note": "other jobs running: the machine was shared with other sessions' jobs, so "
                "absolute beats/s are noisy; compare the ratios of this one run",
        "protocol": {"steps_per_window": args.steps, "repeats": args.repeats,
                     "warmup_steps": args.warmup, "statistic": "median of the windows",
                     "order": "round robin, window by window", "lr": LEVER_LR,
                     "beats": "uniform random in [-1, 1], 320 ticks (speed only)"},
        "not_measured": dict(NOT_MEASURED),
    }
    if args.compile:
        del res["not_measured"]["torch_compile"]
    # What "auto" measures, with a fresh timing (the cache is neither read nor written).
    float32_s, bfloat16_s = precision_probe(cfg, LEVER_BATCH).measure()
    res["auto_probe"] = {"float32_step_s": float32_s, "bfloat16_step_s": bfloat16_s,
                         "bf16_over_fp32": bfloat16_s / float32_s,
                         "auto_chooses": "bfloat16" if cpu_supports_bf16()
                         and bfloat16_s <= 0.9 * float32_s else "float32"}
    variants = lever_variants(cfg, X, compile_modules=args.compile)
    res["variants"] = time_variants(variants, len(X), steps=args.steps, repeats=args.repeats,
                                    warmup=args.warmup)
    naive = res["variants"]["naive_fp32"]["median_beats_per_s"]
    fp32 = res["variants"]["library_fp32"]["median_beats_per_s"]
    for record in res["variants"].values():
        record["ratio_to_naive"] = record["median_beats_per_s"] / naive
        record["ratio_to_library_fp32"] = record["median_beats_per_s"] / fp32
    best_precision = max(("fp32", "bf16"), key=lambda tag: res["variants"][
        f"library_{tag}"]["median_beats_per_s"])
    del variants  # free the networks before the thread jobs
    if not args.no_thread_layouts:
        res["thread_layouts"] = {"precision": best_precision,
                                 **thread_layouts(best_precision, args.steps, args.repeats)}
        for layout in res["thread_layouts"].values():
            if isinstance(layout, dict):
                layout["ratio_to_naive_1_thread"] = layout["total_beats_per_s"] / naive
    amp = torch.bfloat16 if best_precision == "bf16" else None
    res["paired_auc_check"] = {"lever": "fused Adam", "precision": best_precision,
                               "rows": paired_auc_check("fused", amp)}
    res["machine"]["load_average_at_end"] = os.getloadavg()
    res["wall_s"] = time.time() - started
    res["cpu_s_main_process"] = time.process_time() - cpu_started

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"training_levers_{cpu_slug()}"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    stem.with_suffix(".md").write_text(levers_markdown(res))
    print(levers_markdown(res))
    return res


def levers_markdown(res: dict) -> str:
    """The lever table of a run, ratios first."""
    m = res["machine"]
    lines = [
        f"# Training levers on {m['cpu']}",
        "",
        f"{m['threads']} intra-op thread(s) unless stated, PyTorch {m['torch']}, native "
        f"bfloat16: {m['native_bf16']}, load average {m['load_average_at_start'][0]:.2f} at "
        f"the start and {m['load_average_at_end'][0]:.2f} at the end ({res['note']}). "
        f"Medians of {res['protocol']['repeats']} windows of {res['protocol']['steps_per_window']} "
        "training steps per variant, taken in turns; BeatGAN at the published size.",
        "",
        "| variant | batch | x naive | x library fp32 | beats/s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for record in res["variants"].values():
        lines.append(f"| {record['what']} | {record['batch_size']} | "
                     f"{record['ratio_to_naive']:.2f} | {record['ratio_to_library_fp32']:.2f} | "
                     f"{record['median_beats_per_s']:.0f} |")
    if "thread_layouts" in res:
        layouts = res["thread_layouts"]
        lines += ["", f"Thread layouts (library, {layouts['precision']}, separate processes, "
                  "total beats/s of the jobs):", "",
                  "| layout | x naive (1 thread) | total beats/s |", "| --- | ---: | ---: |"]
        for name, layout in layouts.items():
            if isinstance(layout, dict):
                lines.append(f"| {name} | {layout['ratio_to_naive_1_thread']:.2f} | "
                             f"{layout['total_beats_per_s']:.0f} |")
    probe = res["auto_probe"]
    lines += ["", f"`mixed_precision=\"auto\"` probe: bfloat16 step / float32 step = "
              f"{probe['bf16_over_fp32']:.2f}, so \"auto\" chooses {probe['auto_chooses']} "
              "(bfloat16 needs <= 0.90)."]
    check = res["paired_auc_check"]
    diffs = ", ".join(f"seed {r['seed']}: {r['difference']:+.4f}" for r in check["rows"])
    lines += ["", f"Paired AUC check of {check['lever']} ({check['precision']}, synthetic "
              f"beats, small network, tiny): AUC(lever) - AUC(default) = {diffs}.", ""]
    lines += ["Not measured:", ""] + [f"- {k}: {v}" for k, v in res["not_measured"].items()]
    lines += ["", f"Run took {res['wall_s']:.0f} s wall, {res['cpu_s_main_process']:.0f} s CPU "
              "in the main process (thread jobs not included).", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-beats", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--score-beats", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--long-recording", type=int, default=0, metavar="N",
                        help="also score N beats (a day is about 100,000) in a fresh process "
                             "and report its peak memory")
    parser.add_argument("--profile", action="store_true",
                        help="record the operators that take the time")
    parser.add_argument("--out", default=None)
    levers = parser.add_argument_group("training levers (--levers)")
    levers.add_argument("--levers", action="store_true",
                        help="measure the training levers against the naive reference")
    levers.add_argument("--steps", type=int, default=3, help="training steps per window")
    levers.add_argument("--repeats", type=int, default=5, help="windows per variant")
    levers.add_argument("--warmup", type=int, default=2, help="untimed steps per variant")
    levers.add_argument("--compile", action="store_true",
                        help="also time torch.compile (minutes of compilation)")
    levers.add_argument("--no-thread-layouts", action="store_true",
                        help="skip 1 job x 2 threads against 2 jobs x 1 thread")
    levers.add_argument("--out-dir", default="results/speed")
    args = parser.parse_args(argv)
    if args.levers:
        training_levers(args)
        return
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X_train = rng.uniform(-1, 1, (args.train_beats, 1, 320)).astype(np.float32)
    X_score = rng.uniform(-1, 1, (args.score_beats, 1, 320)).astype(np.float32)

    res: dict = {"machine": {"cpu": cpu_name(),
                             "threads": args.threads, "torch": torch.__version__,
                             "native_bf16": cpu_supports_bf16()}}
    res["train_naive"] = naive_train(X_train, args.epochs)
    res["train_library_fp32"] = library_train(X_train, args.epochs, False)
    res["train_library_auto"] = library_train(X_train, args.epochs, "auto")

    naive_g, _ = naive_modules(BeatGANConfig())
    generator = to_library(naive_g)
    res["max_abs_score_diff"] = float(np.abs(
        reconstruction_errors(generator, X_score[:512])
        - reconstruction_errors(naive_g, X_score[:512])).max())
    res["score_naive"] = naive_score(naive_g, X_score)
    res["score_library_fp32"] = library_score(generator, X_score, False)
    res["score_library_auto"] = library_score(generator, X_score, "auto")

    one = X_score[:1]

    def naive_one(x):
        naive_g(torch.from_numpy(x))

    def library_one(x):
        reconstruction_errors(generator, x, amp_dtype=None)

    res["latency_ms_naive"] = latency_ms(naive_one, one)
    res["latency_ms_library"] = latency_ms(library_one, one)
    # Peak memory of this process (training + scoring above), in MB.
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # What bounds the figures: work per beat against this CPU's matrix-multiply throughput.
    flops = flops_per_beat()
    res["mflop_per_beat"] = {k: v / 1e6 for k, v in flops.items()}
    res["gemm_gflops"] = {"float32": gemm_gflops(torch.float32)}
    if cpu_supports_bf16():
        res["gemm_gflops"]["bfloat16"] = gemm_gflops(torch.bfloat16)
    peak = max(res["gemm_gflops"].values()) * 1e9
    res["bounds"] = {
        "score_beats_per_s": peak / flops["score"],
        "train_beats_per_s": peak / flops["train"],
        "score_share_of_bound": max(res["score_library_fp32"], res["score_library_auto"])
        * flops["score"] / peak,
        "train_share_of_bound": max(res["train_library_fp32"], res["train_library_auto"])
        * flops["train"] / peak,
    }
    if args.profile:
        amp = autocast_dtype(torch.device("cpu"), "auto",
                             probe=precision_probe(BeatGANConfig(), 64))
        res["profile_score"] = top_operators(
            lambda: reconstruction_errors(generator, X_score[:2048], amp_dtype=amp))
        res["profile_train"] = top_operators(
            lambda: library_train(X_train[:512], 1, "auto"))
    if args.long_recording:
        res["long_recording"] = long_recording_memory(args.long_recording, args.threads)

    rows = [
        ("train beats/s", "train_naive", "train_library_fp32", "train_library_auto"),
        ("score beats/s", "score_naive", "score_library_fp32", "score_library_auto"),
    ]
    print(f"{'':16s}{'naive':>10s}{'lib fp32':>10s}{'lib auto':>10s}{'ratio':>8s}")
    for name, a, b, c in rows:
        print(f"{name:16s}{res[a]:10.0f}{res[b]:10.0f}{res[c]:10.0f}"
              f"{max(res[b], res[c]) / res[a]:7.1f}x")
    print(f"{'latency ms':16s}{res['latency_ms_naive']:10.2f}{res['latency_ms_library']:10.2f}")
    print(f"peak RSS {res['peak_rss_mb']:.0f} MB")
    b = res["bounds"]
    gemm = ", ".join(f"{k} {v:.0f}" for k, v in res["gemm_gflops"].items())
    print(f"GEMM GFLOP/s ({args.threads} thread(s)): {gemm}; MFLOP per beat: score "
          f"{res['mflop_per_beat']['score']:.1f}, train step {res['mflop_per_beat']['train']:.1f}")
    print(f"arithmetic limit: score {b['score_beats_per_s']:.0f} beats/s (library at "
          f"{b['score_share_of_bound']:.0%}), train {b['train_beats_per_s']:.0f} beats/s "
          f"(library at {b['train_share_of_bound']:.0%})")
    for key in ("profile_score", "profile_train"):
        if key in res:
            ops = ", ".join(f"{o['op']} {o['share']:.0%}" for o in res[key][:5])
            print(f"{key}: {ops}")
    if "long_recording" in res:
        lr = res["long_recording"]
        print(f"long recording: {lr['n_beats']} beats ({lr['input_mb']:.0f} MB input) scored "
              f"in {lr['seconds']:.0f} s; peak {lr['peak_above_input_mb']:.0f} MB above the "
              "model and input")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()

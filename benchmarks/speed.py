"""Training and scoring throughput of beatdetect vs a naive BeatGAN, side by side in one run.

Usage::

    python benchmarks/speed.py [--train-beats 4096] [--score-beats 20000] [--threads 2]
                               [--long-recording 100000] [--profile] [--out results/speed.json]

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
import platform
import resource
import time

import numpy as np
import torch
from torch import nn

from beatdetect._device import autocast_dtype, cpu_supports_bf16
from beatdetect.gan.inference import reconstruction_errors
from beatdetect.gan.training import GANTrainer
from beatdetect.nn.networks import (
    BeatGANConfig,
    Discriminator,
    Generator,
    Upsample2,
    init_weights,
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
    """The published loop in float32; returns beats per second."""
    generator, discriminator = naive_modules(BeatGANConfig())
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-4, betas=(0.5, 0.999))
    bce, mse = nn.BCELoss(), nn.MSELoss()
    rng = np.random.default_rng(0)
    tic = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X) - 1, batch_size):
            x = torch.from_numpy(X[order[start:start + batch_size]])
            # discriminator
            fake = generator(x)[0]
            p_real = torch.sigmoid(discriminator(x)[0])
            p_fake = torch.sigmoid(discriminator(fake.detach())[0])
            loss_d = bce(p_real, torch.ones_like(p_real)) + bce(p_fake, torch.zeros_like(p_fake))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            # generator (recomputes G(x), as the published code does)
            fake = generator(x)[0]
            _, feat_fake = discriminator(fake)
            _, feat_real = discriminator(x)
            loss_g = mse(fake, x) + mse(feat_fake, feat_real)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
    return epochs * len(X) / (time.perf_counter() - tic)


def library_train(X: np.ndarray, epochs: int, mixed_precision) -> float:
    cfg = BeatGANConfig()
    torch.manual_seed(0)
    generator, discriminator = Generator(cfg), Discriminator(cfg)
    device = torch.device("cpu")
    trainer = GANTrainer(generator, discriminator, batch_size=64, device=device,
                         amp_dtype=autocast_dtype(device, mixed_precision))
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
    amp = autocast_dtype(device, mixed_precision)
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
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    X_train = rng.uniform(-1, 1, (args.train_beats, 1, 320)).astype(np.float32)
    X_score = rng.uniform(-1, 1, (args.score_beats, 1, 320)).astype(np.float32)

    res: dict = {"machine": {"cpu": platform.processor() or platform.machine(),
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
        amp = autocast_dtype(torch.device("cpu"), "auto")
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

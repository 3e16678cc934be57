"""Training and scoring throughput of beatdetect vs a naive BeatGAN, side by side in one run.

Usage::

    python benchmarks/speed.py [--train-beats 4096] [--score-beats 20000] [--threads 2]
                               [--out results/speed.json]

Absolute times on shared machines are noisy; the ratios measured in one run are what to
compare. The naive reference is the published training loop in float32 eager PyTorch: the
generator runs twice per step, ``nn.ConvTranspose1d`` as shipped, sigmoid + BCELoss,
discriminator weight gradients computed in the generator step, and a numpy-to-tensor
conversion per batch. The library path is ``SIBeatGANDetector``'s engine (one generator
pass per step, transposed convolutions as exact regular convolutions, bfloat16 autocast on
CPUs with native bfloat16, scoring in large no-grad chunks).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import numpy as np
import torch
from torch import nn

from beatdetect._device import autocast_dtype, cpu_supports_bf16
from beatdetect.nn.networks import (
    BeatGANConfig,
    Discriminator,
    Generator,
    Upsample2,
    init_weights,
)
from beatdetect.training import GANTrainer, reconstruction_errors


# --------------------------------------------------------------------------- reference
def naive_modules(cfg: BeatGANConfig):
    """BeatGAN's networks with PyTorch's stock transposed convolutions."""
    generator, discriminator = Generator(cfg), Discriminator(cfg)
    layers = generator.decoder.net
    for i, layer in enumerate(layers):
        if isinstance(layer, Upsample2):
            layers[i] = nn.ConvTranspose1d(layer.in_channels, layer.out_channels, 4, 2, 1,
                                           bias=False)
        elif isinstance(layer, nn.ConvTranspose1d):
            layer.__class__ = nn.ConvTranspose1d  # stock forward, same parameters
    generator.apply(init_weights)
    discriminator.apply(init_weights)
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
    generator.apply(init_weights)
    discriminator.apply(init_weights)
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
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()

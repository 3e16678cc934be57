"""Batched inference: per-beat errors over real ticks, chunking, modes, one error function."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from beatdetect.gan.inference import (
    INFERENCE_BATCH_SIZE,
    iter_reconstructions,
    module_on,
    reconstruction_errors,
    reconstructions,
)
from beatdetect.nn.losses import reconstruction_error
from beatdetect.nn.networks import BeatGANConfig, Generator, pad_beats

CFG = BeatGANConfig(length=64, base_filters=4, n_layers=3, latent_dim=8)


@pytest.fixture
def generator():
    torch.manual_seed(0)
    return Generator(CFG).train()


def beats(n=5, length=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, 1, length)).astype(np.float32)


def test_reconstruction_errors_are_per_beat_mse_over_real_ticks(generator):
    x = beats()  # shorter than the network: padded, then cropped
    errors = reconstruction_errors(generator, x, batch_size=2)
    generator.eval()
    with torch.no_grad():
        x_hat = generator(pad_beats(torch.from_numpy(x), CFG.padded_length))[0]
    expected = ((x - x_hat[..., :50].numpy()) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(errors, expected, rtol=1e-5)
    assert errors.dtype == np.float64


def test_scores_use_the_loss_module_s_reconstruction_error(generator):
    # One definition of the error: scoring equals nn.losses.reconstruction_error bit for bit.
    x = beats(7)
    x_hat = torch.from_numpy(reconstructions(generator, x))
    expected = reconstruction_error(torch.from_numpy(x), x_hat).double().numpy()
    np.testing.assert_array_equal(reconstruction_errors(generator, x), expected)


def test_chunk_size_does_not_change_the_results(generator):
    # Up to rounding: convolution kernels may block a batch of 1 differently from one of 9.
    x = beats(9)
    whole = reconstruction_errors(generator, x)
    np.testing.assert_allclose(reconstruction_errors(generator, x, batch_size=4), whole,
                               rtol=1e-5)
    np.testing.assert_allclose(reconstructions(generator, x, batch_size=1),
                               reconstructions(generator, x), rtol=1e-5, atol=1e-6)
    assert len(x) < INFERENCE_BATCH_SIZE  # so `whole` was a single chunk


def test_chunks_cover_the_beats_in_order_and_the_module_mode_is_restored(generator):
    x = beats(5)
    starts = [(start, len(chunk), tuple(x_hat.shape), x_hat.dtype)
              for start, chunk, x_hat in iter_reconstructions(generator, x, batch_size=2)]
    assert starts == [(0, 2, (2, 1, 50), torch.float32), (2, 2, (2, 1, 50), torch.float32),
                      (4, 1, (1, 1, 50), torch.float32)]
    assert generator.training  # eval while scoring, back to training mode after
    generator.eval()
    reconstructions(generator, x)
    assert not generator.training


def test_any_module_returning_a_tensor_works():
    class Halve(torch.nn.Module):
        def forward(self, x):
            return x / 2

    x = beats(3, length=10)
    np.testing.assert_allclose(reconstructions(Halve(), x), x / 2)
    np.testing.assert_allclose(reconstruction_errors(Halve(), x),
                               ((x / 2) ** 2).mean(axis=(1, 2)), rtol=1e-6)


def test_inference_does_not_import_the_training_engine():
    code = ("import sys, beatdetect.gan.inference; "
            "sys.exit('beatdetect.gan.training' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_module_on_the_cpu_is_the_module_and_elsewhere_a_copy():
    module = Generator(BeatGANConfig(base_filters=4, n_layers=2, latent_dim=4)).eval()
    assert module_on(module, torch.device("cpu")) is module
    # "meta" stands for a GPU: any device other than the CPU gets a copy there.
    moved = module_on(module, torch.device("meta"))
    assert moved is not module
    assert {p.device.type for p in moved.parameters()} == {"meta"}
    assert {p.device.type for p in module.parameters()} == {"cpu"}

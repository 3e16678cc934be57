"""BeatGAN networks: published shapes and sizes, any length, the fast transposed conv."""

from __future__ import annotations

import pytest
import torch

from beatdetect.nn.networks import (
    BeatGANConfig,
    ConvTranspose1d,
    Discriminator,
    Generator,
    ProjectionHead,
    Upsample2,
    pad_beats,
)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_published_architecture_shapes():
    cfg = BeatGANConfig()
    assert (cfg.padded_length, cfg.bottom_length, cfg.feature_channels) == (
        320, 10, [32, 64, 128, 256, 512])
    x = torch.randn(3, 1, 320)
    x_hat, z, features = Generator(cfg)(x)
    assert x_hat.shape == x.shape and z.shape == (3, 50)
    assert [tuple(f.shape[1:]) for f in features] == [
        (32, 160), (64, 80), (128, 40), (256, 20), (512, 10)]
    logit, feat = Discriminator(cfg)(x)
    assert logit.shape == (3,) and feat.shape == (3, 512, 10)
    assert x_hat.abs().max() <= 1.0  # tanh output


def test_parameter_counts_match_the_published_layers():
    cfg = BeatGANConfig()
    convs = 1 * 32 * 4 + 32 * 64 * 4 + 64 * 128 * 4 + 128 * 256 * 4 + 256 * 512 * 4
    bn = 2 * (64 + 128 + 256 + 512)
    encoder = convs + bn + 512 * 50 * 10
    decoder = 50 * 512 * 10 + convs + 2 * (512 + 256 + 128 + 64 + 32)
    assert n_params(Generator(cfg)) == encoder + decoder
    assert n_params(Discriminator(cfg)) == convs + bn + 512 * 1 * 10


@pytest.mark.parametrize("length", [1, 3, 32, 50, 250, 320, 333])
def test_any_length_pads_to_a_multiple_of_the_stride(length):
    cfg = BeatGANConfig(length=length, base_filters=4, latent_dim=6)
    assert cfg.padded_length % 32 == 0 and cfg.padded_length >= max(length, 32)
    x = pad_beats(torch.randn(2, 1, length), cfg.padded_length)
    assert Generator(cfg)(x)[0].shape == (2, 1, cfg.padded_length)


def test_pad_beats_repeats_the_last_sample():
    x = torch.arange(6.0).view(1, 2, 3)
    padded = pad_beats(x, 5)
    assert padded.tolist() == [[[0, 1, 2, 2, 2], [3, 4, 5, 5, 5]]]
    assert pad_beats(x, 3) is x


def _assert_same_function(fast, ref, x):
    x_ref = x.detach().clone().requires_grad_()
    y, y_ref = fast(x), ref(x_ref)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-6)
    grad = torch.randn_like(y)
    y.backward(grad)
    y_ref.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("c_in", "c_out", "length"), [(8, 5, 7), (3, 2, 1), (1, 4, 16)])
@pytest.mark.parametrize("bias", [False, True])
def test_upsample2_equals_pytorch_transposed_convolution(c_in, c_out, length, bias):
    torch.manual_seed(0)
    ref = torch.nn.ConvTranspose1d(c_in, c_out, 4, 2, 1, bias=bias)
    fast = Upsample2.from_conv_transpose(ref)
    assert sum(p.numel() for p in fast.parameters()) == sum(p.numel() for p in ref.parameters())
    _assert_same_function(fast, ref, torch.randn(3, c_in, length, requires_grad=True))


def test_upsample2_rejects_other_shapes():
    with pytest.raises(ValueError, match="kernel 4, stride 2, padding 1"):
        Upsample2.from_conv_transpose(torch.nn.ConvTranspose1d(2, 2, 3, 1, 1))


@pytest.mark.parametrize(("args", "length"), [((6, 4, 10, 1, 0), 1), ((4, 3, 3, 1, 1), 6)])
@pytest.mark.parametrize("bias", [False, True])
def test_latent_projection_equals_pytorch(args, length, bias):
    torch.manual_seed(0)
    fast = ConvTranspose1d(*args, bias=bias)
    ref = torch.nn.ConvTranspose1d(*args, bias=bias)
    ref.load_state_dict(fast.state_dict())
    _assert_same_function(fast, ref, torch.randn(3, args[0], length, requires_grad=True))


def test_projection_head_pools_over_time():
    head = ProjectionHead(16, hidden_dim=8, out_dim=4)
    assert head(torch.randn(5, 16, 7)).shape == (5, 4)


def test_config_pickled_before_the_rename_of_n_down_still_loads():
    import pickle

    cfg = BeatGANConfig(length=100, base_filters=4, n_layers=3, latent_dim=6)
    # Protocol 0 spells field names out, so the old name can be written in.
    old = pickle.dumps(cfg, protocol=0).replace(b"n_layers", b"n_down")
    assert b"n_down" in old
    loaded = pickle.loads(old)
    assert loaded == cfg and loaded.padded_length == 104
    assert not hasattr(loaded, "n_down")


@pytest.mark.parametrize("cls", [Generator, Discriminator])
def test_networks_initialise_themselves_as_callers_used_to(cls, monkeypatch):
    from beatdetect.nn import networks

    cfg = BeatGANConfig(length=100, base_filters=8, n_layers=3, latent_dim=6)
    torch.manual_seed(3)
    built = cls(cfg)
    # The former recipe: build with torch's default initialisation, then apply init_weights.
    init_weights = networks.init_weights
    monkeypatch.setattr(networks, "init_weights", lambda module: None)
    torch.manual_seed(3)
    former = cls(cfg)
    monkeypatch.undo()
    former.apply(init_weights)
    for (name, a), b in zip(built.state_dict().items(), former.state_dict().values()):
        assert torch.equal(a, b), name
    convs = torch.cat([m.weight.flatten() for m in built.modules()
                       if isinstance(m, (torch.nn.Conv1d, Upsample2))])
    assert abs(convs.std().item() - 0.02) < 0.002  # BeatGAN's N(0, 0.02), not torch's default

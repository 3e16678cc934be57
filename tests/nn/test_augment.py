"""Augmentations: shape/dtype/device, seeding, what each transform claims, zero strength."""

import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from beatdetect.nn.augment import (
    ECGAugment,
    TimeWarp,
    amplitude_scale,
    baseline_wander,
    gaussian_noise,
    random_resized_crop,
    resample,
    time_mask,
    time_warp,
    warp_positions,
)

# Each transform at a non-trivial strength, and at the strength that must be the identity.
TRANSFORMS = {
    "noise": lambda x, g: gaussian_noise(x, 0.05, g),
    "scale": lambda x, g: amplitude_scale(x, (0.8, 1.2), g),
    "wander": lambda x, g: baseline_wander(x, 0.1, g),
    "warp": lambda x, g: time_warp(x, 0.2, g),
    "warp_anchor": lambda x, g: time_warp(x, 0.2, g, anchor=140 / 319),
    "crop": lambda x, g: random_resized_crop(x, 0.9, g),
    "mask": lambda x, g: time_mask(x, 0.1, g),
    "mask_mean": lambda x, g: time_mask(x, 0.1, g, fill="mean"),
    "pipeline": lambda x, g: ECGAugment()(x, g),
    "train_warp": lambda x, g: TimeWarp(strength=0.2)(x, g),
}
IDENTITIES = {
    "noise": lambda x, g: gaussian_noise(x, 0.0, g),
    "scale": lambda x, g: amplitude_scale(x, (1.0, 1.0), g),
    "wander": lambda x, g: baseline_wander(x, 0.0, g),
    "warp": lambda x, g: time_warp(x, 0.0, g),
    "warp_anchor": lambda x, g: time_warp(x, 0.0, g, anchor=140 / 319),
    "crop": lambda x, g: random_resized_crop(x, 1.0, g),
    "mask": lambda x, g: time_mask(x, 0.0, g),
    "pipeline_off": lambda x, g: ECGAugment(
        noise=0, scale=(1, 1), wander=0, warp=0, crop=1, mask=0
    )(x, g),
    "pipeline_p0": lambda x, g: ECGAugment(p=0.0)(x, g),
    "train_warp": lambda x, g: TimeWarp(strength=0.0)(x, g),
}
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def beats(b=16, c=2, n=320, seed=0, dtype=torch.float32, device="cpu"):
    """Smooth beat-like signals in about [-1, 1], no exact zeros."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, n)
    centre = 0.3 + 0.4 * torch.rand(b, c, 1, generator=g)
    qrs = torch.exp(-(((t - centre) / 0.02) ** 2))
    x = (
        0.8 * qrs
        + 0.1 * torch.sin(2 * math.pi * t)
        + 0.05
        + 0.01 * torch.rand(b, c, n, generator=g)
    )
    return x.to(device=device, dtype=dtype)


def gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- generic contract


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_keeps_shape_dtype_device_and_input(name, dtype, device):
    x = beats(5, 3, 64, dtype=dtype, device=device)
    before = x.clone()
    y = TRANSFORMS[name](x, gen(0))
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
    assert torch.isfinite(y.float()).all()
    assert torch.equal(x, before)  # never modified in place


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_reproducible_with_seed_and_different_across_seeds(name):
    x = beats()
    y1, y2 = TRANSFORMS[name](x, gen(3)), TRANSFORMS[name](x, gen(3))
    y3 = TRANSFORMS[name](x, gen(4))
    assert torch.equal(y1, y2)
    assert not torch.equal(y1, y3)
    assert not torch.equal(y1, x)


@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_identity_at_zero_strength(name):
    x = beats()
    assert torch.equal(IDENTITIES[name](x, gen(0)), x)


def test_without_generator_uses_global_rng():
    x = beats()
    torch.manual_seed(5)
    y1 = ECGAugment()(x)
    torch.manual_seed(5)
    y2 = ECGAugment()(x)
    assert torch.equal(y1, y2)


def test_bfloat16_input_follows_float32_computation():
    # Positions are computed in float32 even for bfloat16 beats (bfloat16 cannot even
    # represent every index of a 320-sample beat).
    x = beats().bfloat16()
    y16 = ECGAugment(noise=0)(x, gen(0))
    y32 = ECGAugment(noise=0)(x.float(), gen(0))
    torch.testing.assert_close(y16.float(), y32, atol=1e-2, rtol=1e-2)


def test_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(B, C, L\)"):
        gaussian_noise(torch.zeros(3, 4), 0.1)
    with pytest.raises(TypeError, match="floating"):
        ECGAugment()(torch.zeros(2, 1, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="fill"):
        time_mask(beats(), 0.1, fill="nan")


# ----------------------------------------------------------------------------- each transform


def test_gaussian_noise_has_requested_std_per_lead():
    x = torch.zeros(256, 2, 320)
    noise = gaussian_noise(x, 0.05, gen(0))
    assert noise.std().item() == pytest.approx(0.05, rel=0.01)
    assert noise.mean().item() == pytest.approx(0.0, abs=1e-3)
    lead0, lead1 = noise[:, 0].flatten(), noise[:, 1].flatten()
    assert torch.corrcoef(torch.stack([lead0, lead1]))[0, 1].abs() < 0.02  # independent


def test_amplitude_scale_multiplies_each_beat_by_one_factor_in_range():
    x = beats(64)
    y = amplitude_scale(x, (0.8, 1.2), gen(0))
    ratio = y / x
    factor = ratio[:, :1, :1]  # (B, 1, 1)
    torch.testing.assert_close(ratio, factor.expand_as(ratio))  # shared by leads and ticks
    assert factor.min() >= 0.8 and factor.max() <= 1.2
    assert factor.max() - factor.min() > 0.2  # really spread over the range


def test_baseline_wander_is_a_slow_bounded_sinusoid():
    x = beats(64)
    drift = baseline_wander(x, 0.1, gen(0)) - x
    assert drift.abs().max() <= 0.1 + 1e-6
    assert drift.abs().amax(dim=-1).max() > 0.05  # amplitudes reach up the range
    # At most 0.5 cycles per window: |second difference| <= A (2 pi 0.5 / L)^2.
    bound = 0.1 * (2 * math.pi * 0.5 / 320) ** 2
    assert drift.diff(n=2, dim=-1).abs().max() <= bound * 1.01 + 1e-6
    # Shared frequency, per-lead phase: the two leads of a beat differ.
    assert not torch.allclose(drift[:, 0], drift[:, 1])


@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 4),
    length=st.integers(2, 400),
    strength=st.floats(0.0, 1.0),
    n_knots=st.integers(1, 8),
    anchor=st.one_of(st.none(), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**31 - 1),
)
def test_warp_positions_monotone_with_fixed_endpoints(
    batch, length, strength, n_knots, anchor, seed
):
    pos = warp_positions(batch, length, strength, gen(seed), n_knots=n_knots, anchor=anchor)
    assert pos.shape == (batch, 1, length)
    assert (pos[..., 0] == 0).all() and (pos[..., -1] == length - 1).all()
    assert (pos.diff(dim=-1) > 0).all()
    if anchor is not None:
        a = round(anchor * (length - 1))
        assert (pos[..., a] == a).all()


def test_time_warp_really_warps_and_keeps_endpoints():
    ramp = torch.linspace(0, 319, 320).expand(32, 1, 320).contiguous()
    y = time_warp(ramp, 0.2, gen(0))
    # On a ramp the output is the warp itself: monotone, endpoints fixed, not the identity.
    assert (y[..., 0] == 0).all() and (y[..., -1] == 319).all()
    assert (y.diff(dim=-1) > 0).all()
    shift = (y - ramp).abs().amax(dim=-1)
    assert shift.median() > 2  # samples move by several ticks...
    assert shift.max() < 60  # ...but a beat stays a beat
    # The local speed stays within a few standard deviations of the log speed.
    speed = y.diff(dim=-1)
    assert speed.min() > math.exp(-4 * 0.2) * 0.9 and speed.max() < math.exp(4 * 0.2) * 1.1


def test_time_warp_anchor_keeps_r_peak_in_place():
    # BeatGAN's windows put the R peak at tick 140 of 320.
    x = beats(32)
    y = time_warp(x, 0.3, gen(0), anchor=140 / 319)
    assert torch.equal(y[..., 140], x[..., 140])
    assert not torch.equal(y, x)
    ramp = torch.arange(320.0).expand(8, 1, 320)
    assert (time_warp(ramp, 0.3, gen(1), anchor=140 / 319)[..., 140] == 140).all()


def test_time_warp_is_shared_across_leads():
    ramp = torch.arange(320.0).expand(4, 3, 320)
    y = time_warp(ramp, 0.3, gen(0))
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 0], y[:, 2])


def test_random_resized_crop_reads_an_affine_window():
    ramp = torch.arange(320.0).expand(64, 2, 320)
    y = random_resized_crop(ramp, 0.9, gen(0))
    # Output tick t reads input position start + step * t, the same for both leads.
    step = (y[..., -1] - y[..., 0]) / 319
    start = y[..., 0]
    expected = start[..., None] + step[..., None] * torch.arange(320.0)
    torch.testing.assert_close(y, expected, atol=1e-3, rtol=0)
    assert torch.equal(y[:, 0], y[:, 1])
    assert step.min() >= 0.9 - 1e-6 and step.max() <= 1.0 + 1e-6
    assert start.min() >= 0 and (start + 319 * step).max() <= 319 + 1e-3
    assert step.max() - step.min() > 0.05


def test_time_mask_zeroes_one_contiguous_segment_shared_by_leads():
    x = beats(128)
    y = time_mask(x, 0.1, gen(0))
    masked = y != x  # x has no exact zeros, so changed == masked
    assert torch.equal(masked[:, 0], masked[:, 1])
    assert (y[masked] == 0).all()
    lengths = masked[:, 0].sum(dim=-1)
    assert lengths.max() <= 32 and lengths.max() >= 25  # up to round(0.1 * 320) = 32
    assert (lengths == 0).any() or lengths.min() < 5  # lengths start at 0
    for row in masked[:, 0]:  # contiguity: at most one rising edge
        edges = torch.diff(row.int(), prepend=torch.zeros(1, dtype=torch.int32))
        assert (edges == 1).sum() <= 1


def test_time_mask_mean_fill_uses_each_lead_mean():
    x = beats(8)
    y = time_mask(x, 0.2, gen(1), fill="mean")
    masked = (y != x)[:, 0]
    for b in range(8):
        for c in range(2):
            expected = x[b, c].mean()
            torch.testing.assert_close(y[b, c, masked[b]], expected.expand(int(masked[b].sum())))


def test_resample_interpolates_linearly_and_exactly_at_integers():
    x = torch.tensor([[[0.0, 10.0, 20.0, 40.0]]])
    pos = torch.tensor([[[0.0, 0.25, 1.0, 2.5, 3.0, 3.7, -1.0]]])
    np.testing.assert_allclose(
        resample(x, pos).numpy()[0, 0], [0.0, 2.5, 10.0, 30.0, 40.0, 40.0, 0.0], atol=1e-6
    )
    assert torch.equal(
        resample(torch.ones(2, 1, 1) * 3, torch.zeros(1, 1, 4)), torch.full((2, 1, 4), 3.0)
    )


# ----------------------------------------------------------------------------- pipeline


def test_pipeline_applies_each_transform_with_probability_p():
    x = beats(2000, 1, 32)
    aug = ECGAugment(noise=0, scale=(2.0, 3.0), wander=0, warp=0, crop=1, mask=0, p=0.3)
    y = aug(x, gen(0))
    changed = (y != x).any(dim=-1).float().mean().item()
    assert changed == pytest.approx(0.3, abs=0.04)


def test_pipeline_random_stream_does_not_depend_on_gating():
    # The same draws happen whatever p is, so p never desynchronises later randomness.
    x = beats(8)
    g_low, g_high = gen(0), gen(0)
    ECGAugment(p=0.1)(x, g_low)
    ECGAugment(p=0.9)(x, g_high)
    assert torch.equal(torch.rand(4, generator=g_low), torch.rand(4, generator=g_high))


def test_pipeline_two_views_differ_and_stay_close_to_the_beat():
    x = beats(64)
    g = gen(0)
    v1, v2 = ECGAugment()(x, g), ECGAugment()(x, g)
    assert not torch.equal(v1, v2)
    # Default strengths perturb but do not destroy a beat: without the time mask (which
    # may blank the QRS on purpose), the QRS peak moves by at most the crop offset
    # (32 ticks) plus the warp, and keeps most of its height.
    v1 = ECGAugment(mask=0)(x, g)
    shift = (v1.argmax(dim=-1) - x.argmax(dim=-1)).abs()
    assert shift.max() <= 60 and shift.float().mean() > 1
    height = v1.amax(dim=-1) / x.amax(dim=-1)
    assert height.min() > 0.6 and height.max() < 1.5


def test_pipeline_crop_and_warp_compose_into_one_resampling():
    ramp = torch.arange(320.0).expand(16, 1, 320).contiguous()
    aug = ECGAugment(noise=0, scale=(1, 1), wander=0, warp=0.3, crop=0.8, mask=0, p=1.0)
    y = aug(ramp, gen(0))
    assert (y.diff(dim=-1) > 0).all()  # still a monotone reading of the input
    assert y.min() >= 0 and y.max() <= 319


def test_pipeline_is_picklable():
    aug = ECGAugment(noise=0.02, anchor=0.5)
    assert pickle.loads(pickle.dumps(aug)) == aug


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(("make", "match"), [
    (lambda: ECGAugment(crop=0.0), "'crop' parameter of ECGAugment"),
    (lambda: ECGAugment(scale=(1.2, 0.8)), "'scale' parameter of ECGAugment must be a pair"),
    (lambda: ECGAugment(scale=(0.0, 1.0)), "'scale'"),
    (lambda: ECGAugment(scale=(0.8, 1.2, 1.5)), "'scale'"),
    (lambda: ECGAugment(scale=(True, 2)), "'scale'"),
    (lambda: ECGAugment(scale=0.2), "'scale'"),
    (lambda: ECGAugment(p=1.5), "'p' parameter"),
    (lambda: ECGAugment(noise=-0.1), "'noise' parameter"),
    (lambda: ECGAugment(noise="0.1"), "'noise' parameter"),
    (lambda: ECGAugment(mask=1.1), "'mask' parameter"),
    (lambda: ECGAugment(anchor=2.0), "'anchor' parameter"),
    (lambda: ECGAugment(fill="nan"), "'fill' parameter"),
    (lambda: TimeWarp(strength=-0.1), "'strength' parameter of TimeWarp"),
    (lambda: TimeWarp(strength=1.5), "'strength' parameter of TimeWarp"),
    (lambda: TimeWarp(n_knots=1), "'n_knots' parameter"),
    (lambda: TimeWarp(anchor=-0.5), "'anchor' parameter"),
])
def test_validate_names_the_bad_field(make, match):
    transform = make()  # the constructor only stores (scikit-learn's convention)
    with pytest.raises(ValueError, match=match):
        transform.validate()


def test_validate_returns_the_object_and_accepts_the_limits():
    aug = ECGAugment(scale=[1, 1], crop=1, mask=0, p=0, anchor=None)
    assert aug.validate() is aug
    assert TimeWarp(strength=0, anchor=1.0).validate().strength == 0


def test_scikit_learn_parameter_protocol():
    aug = ECGAugment(noise=0.1)
    assert aug.get_params() == {"noise": 0.1, "scale": (0.8, 1.2), "wander": 0.1, "warp": 0.2,
                                "crop": 0.9, "mask": 0.1, "p": 0.8, "anchor": None,
                                "fill": "zero"}
    assert aug.set_params(warp=0.0, crop=1.0) is aug and (aug.warp, aug.crop) == (0.0, 1.0)
    with pytest.raises(ValueError, match="Invalid parameter 'strength'"):
        aug.set_params(strength=0.1)
    copy = clone(aug)
    assert copy == aug and copy is not aug
    assert repr(aug) == "ECGAugment(crop=1.0, noise=0.1, warp=0.0)"
    assert repr(ECGAugment()) == "ECGAugment()"
    assert repr(TimeWarp(strength=0.3, anchor=0.5)) == "TimeWarp(anchor=0.5, strength=0.3)"


def test_equality_is_by_type_and_fields():
    assert ECGAugment() == ECGAugment(scale=(0.8, 1.2))
    assert ECGAugment() != ECGAugment(noise=0.0)
    assert ECGAugment(warp=0.2) != TimeWarp(strength=0.2)
    with pytest.raises(TypeError, match="unhashable"):
        hash(ECGAugment())  # mutable through set_params


def test_time_warp_object_is_the_time_warp_function():
    x = beats(8)
    expected = time_warp(x, 0.3, gen(0), n_knots=6, anchor=140 / 319)
    got = TimeWarp(strength=0.3, n_knots=6, anchor=140 / 319)(x, gen(0))
    assert torch.equal(got, expected)


def test_zero_strength_time_warp_draws_nothing():
    # So TimeWarp(strength=0) trains exactly as no warp: the trainer's stream is untouched.
    x, g = beats(4), gen(0)
    assert TimeWarp(strength=0.0)(x, g) is x
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=gen(0)))


def test_generator_on_cpu_gives_same_result_as_data_device():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    x = beats()
    y_cpu = ECGAugment()(x, gen(0))
    y_gpu = ECGAugment()(x.cuda(), gen(0))
    torch.testing.assert_close(y_gpu.cpu(), y_cpu, atol=1e-5, rtol=1e-5)

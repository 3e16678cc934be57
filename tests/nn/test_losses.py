"""Losses against hand-computed values, plus invariances, gradients and autocast."""

import math

import numpy as np
import pytest
import torch

from beatdetect.nn.losses import (
    attention_map,
    attention_transfer,
    distillation_kl,
    nt_xent,
    reconstruction_error,
)

# ----------------------------------------------------------------------------- reconstruction


def test_reconstruction_error_is_per_beat_mean_squared_error():
    x = torch.zeros(3, 2, 4)
    x_hat = torch.zeros(3, 2, 4)
    x_hat[1, 0, 0] = 2.0  # squared error 4 over 8 ticks
    x_hat[2] = 1.0
    np.testing.assert_allclose(reconstruction_error(x, x_hat).numpy(), [0.0, 0.5, 1.0])


def test_reconstruction_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        reconstruction_error(torch.zeros(2, 1, 4), torch.zeros(2, 1, 5))


# ----------------------------------------------------------------------------- NT-Xent


def _nt_xent_reference(z1, z2, temperature):
    """Loop-by-loop NT-Xent in numpy, straight from the SimCLR paper."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    n = n2 // 2
    total = 0.0
    for k in range(n2):
        positive = (k + n) % n2
        logits = {j: z[k] @ z[j] / temperature for j in range(n2) if j != k}
        total += -logits[positive] + np.log(sum(np.exp(v) for v in logits.values()))
    return total / n2


def test_nt_xent_hand_computed_orthogonal_views():
    # Views coincide and the two beats are orthogonal: for each of the 4 anchors the
    # positive has similarity 1 and the 2 negatives 0, so loss = -log(e / (e + 2)).
    z = torch.eye(2)
    expected = math.log(1 + 2 / math.e)  # 0.55144...
    assert nt_xent(z, z, temperature=1.0).item() == pytest.approx(expected, abs=1e-6)


def test_nt_xent_hand_computed_two_by_two():
    # N=2, D=2, tau=0.5. Unit rows: a=(1,0), b=(0,1), a'=(1,1)/sqrt2, b'=(1,-1)/sqrt2.
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    s = 1 / math.sqrt(2)
    # similarity / tau of each anchor to the others (positive first)
    rows = {
        "a": (s, [0.0, s]),  # a.a' = s, a.b = 0, a.b' = s
        "b": (-s, [0.0, s]),  # b.b' = -s, b.a = 0, b.a' = s
        "a'": (s, [s, 0.0]),  # a'.a = s, a'.b = s, a'.b' = 0
        "b'": (-s, [s, 0.0]),  # b'.b = -s, b'.a = s, b'.a' = 0
    }
    expected = 0.0
    for pos, negs in rows.values():
        logits = [pos / 0.5] + [v / 0.5 for v in negs]
        expected += -logits[0] + math.log(sum(math.exp(v) for v in logits))
    expected /= 4
    # a and a' each give -1.414 + log(2 e^1.414 + 1) = 0.808; b and b' give
    # 1.414 + log(e^-1.414 + 1 + e^1.414) = 3.092; the mean is 1.950.
    assert expected == pytest.approx(1.9502, abs=1e-4)
    assert nt_xent(z1, z2, temperature=0.5).item() == pytest.approx(expected, abs=1e-6)


def test_nt_xent_matches_numpy_reference_on_random_input():
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    expected = _nt_xent_reference(z1, z2, 0.2)
    got = nt_xent(torch.tensor(z1, dtype=torch.float32), torch.tensor(z2, dtype=torch.float32), 0.2)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_nt_xent_invariant_to_scaling_each_row():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    scale = torch.rand(6, 1, generator=g) * 10 + 0.1
    base = nt_xent(z1, z2)
    assert nt_xent(z1 * scale, z2 * 3.0).item() == pytest.approx(base.item(), rel=1e-5)


def test_nt_xent_identical_projections_give_log_2n_minus_1():
    z = torch.ones(4, 3)
    assert nt_xent(z, z).item() == pytest.approx(math.log(7), abs=1e-6)


def test_nt_xent_gradient_and_autocast_float32():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(8, 16, generator=g, requires_grad=True)
    z2 = torch.randn(8, 16, generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nt_xent(z1.bfloat16(), z2.bfloat16())
    assert loss.dtype == torch.float32
    # bfloat16 inputs, float32 maths: agrees with the float32 loss of the rounded inputs.
    ref = nt_xent(z1.bfloat16().float(), z2.bfloat16().float())
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    loss.backward()
    assert torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0


def test_nt_xent_rejects_bad_input():
    with pytest.raises(ValueError, match="equal shape"):
        nt_xent(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(torch.ones(3, 2), torch.ones(3, 2), temperature=0.0)


# ----------------------------------------------------------------------------- distillation KL


def test_distillation_kl_hand_computed():
    # Teacher softmax (3/4, 1/4), student (1/2, 1/2):
    # KL = 3/4 log(3/2) + 1/4 log(1/2) = 0.130812...
    student = torch.zeros(1, 2)
    teacher = torch.tensor([[math.log(3.0), 0.0]])
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert expected == pytest.approx(0.130812, abs=1e-6)
    assert distillation_kl(student, teacher, 1.0).item() == pytest.approx(expected, abs=1e-6)
    # At T=2 the same distributions come from doubled logits, and the loss is scaled by T^2.
    got = distillation_kl(student, 2 * teacher, temperature=2.0)
    assert got.item() == pytest.approx(4 * expected, abs=1e-5)


def test_distillation_kl_direction_and_batchmean():
    # KL(p_t || p_s) is not symmetric: swapping the roles changes the value.
    student = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    teacher = torch.tensor([[2.0, 0.0, 0.0], [1.0, 2.0, 3.0]])  # second row: zero KL
    p_t = np.exp([2.0, 0.0, 0.0]) / np.exp([2.0, 0.0, 0.0]).sum()
    kl_ts = float(np.sum(p_t * np.log(p_t / (1 / 3))))
    kl_st = float(np.sum((1 / 3) * np.log((1 / 3) / p_t)))
    got = distillation_kl(student, teacher, temperature=1.0).item()
    assert got == pytest.approx(kl_ts / 2, abs=1e-6)  # mean over the 2 rows
    assert got != pytest.approx(kl_st / 2, abs=1e-3)


def test_distillation_kl_zero_when_equal():
    logits = torch.randn(5, 10, generator=torch.Generator().manual_seed(0))
    assert distillation_kl(logits, logits.clone()).item() == pytest.approx(0.0, abs=1e-6)


def test_distillation_kl_gradient_reaches_student_only():
    g = torch.Generator().manual_seed(0)
    student = torch.randn(4, 6, generator=g, requires_grad=True)
    teacher = torch.randn(4, 6, generator=g, requires_grad=True)
    distillation_kl(student, teacher).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_distillation_kl_float32_under_autocast():
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = distillation_kl(student.bfloat16(), teacher.bfloat16())
    assert loss.dtype == torch.float32


# ----------------------------------------------------------------------------- attention transfer


def test_attention_map_is_unit_norm_channel_mean():
    feat = torch.tensor([[[3.0, 0.0], [-3.0, 4.0]]])  # (1, 2, 2)
    # p=2: channel means of f^2 = (9, 8), normalised by sqrt(145)
    expected = np.array([9.0, 8.0]) / math.sqrt(145.0)
    np.testing.assert_allclose(attention_map(feat).numpy()[0], expected, rtol=1e-6)


def test_attention_map_interpolates_linearly_before_normalising():
    feat = torch.tensor([[[1.0, 3.0]]])  # p=1 map (1, 3) -> length 4: (1, 1.5, 2.5, 3)
    m = np.array([1.0, 1.5, 2.5, 3.0])
    np.testing.assert_allclose(
        attention_map(feat, p=1, length=4).numpy()[0], m / np.linalg.norm(m), rtol=1e-6
    )


def test_attention_transfer_hand_computed():
    # Pair 1: student attention (1, 0) vs teacher (0, 1): squared distance 2.
    s1 = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # (B=1, C=2, L=2)
    t1 = torch.tensor([[[0.0, 2.0]]])  # (B=1, C=1, L=2)
    # Pair 2: teacher of length 1 is stretched to the student's length 2: (1, 1)/sqrt2;
    # distance to (1, 0) is (1 - 1/sqrt2)^2 + 1/2 = 2 - sqrt2.
    s2 = torch.tensor([[[5.0, 0.0]]])
    t2 = torch.tensor([[[7.0], [1.0]]])  # (B=1, C=2, L=1)
    assert attention_transfer([s1], [t1]).item() == pytest.approx(2.0, abs=1e-6)
    assert attention_transfer(s2, t2).item() == pytest.approx(2 - math.sqrt(2), abs=1e-6)
    both = attention_transfer([s1, s2], [t1, t2]).item()
    assert both == pytest.approx((2.0 + 2 - math.sqrt(2)) / 2, abs=1e-6)  # mean over pairs


def test_attention_transfer_mean_over_batch_and_zero_when_equal():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(3, 4, 10, generator=g)
    assert attention_transfer(f, f.clone()).item() == pytest.approx(0.0, abs=1e-7)
    # Same attention, different channel count and overall scale: still zero.
    assert attention_transfer(f, torch.cat([f, f], dim=1) * 2).item() == pytest.approx(
        0.0, abs=1e-6
    )
    # Batch mean: only beat 0 differs, so the loss is a third of its squared distance.
    other = f.clone()
    other[0] = torch.randn(4, 10, generator=g)
    d0 = (attention_map(f[:1]) - attention_map(other[:1])).pow(2).sum().item()
    assert attention_transfer(f, other).item() == pytest.approx(d0 / 3, rel=1e-5)


def test_attention_transfer_gradient_reaches_student_only():
    g = torch.Generator().manual_seed(0)
    students = [torch.randn(2, 8, n, generator=g, requires_grad=True) for n in (16, 8)]
    teachers = [torch.randn(2, 4, n, generator=g, requires_grad=True) for n in (8, 8)]
    attention_transfer(students, teachers).backward()
    assert all(t.grad is None for t in teachers)
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in students)


def test_attention_transfer_rejects_unpaired_lists():
    with pytest.raises(ValueError, match="as many"):
        attention_transfer([torch.ones(1, 1, 2)], [])
    with pytest.raises(ValueError, match="batch sizes"):
        attention_transfer(torch.ones(1, 1, 2), torch.ones(2, 1, 2))

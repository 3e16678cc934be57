"""FRSKD self-teacher: shapes for BeatGAN's and tiny pyramids, gradients, determinism."""

import pytest
import torch

from beatdetect.nn.losses import attention_transfer, distillation_kl
from beatdetect.nn.self_teacher import SelfTeacher

BEATGAN_CHANNELS = [32, 64, 128, 256, 512]
BEATGAN_LENGTHS = [160, 80, 40, 20, 10]


def pyramid(batch, channels, lengths, seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, c, n, generator=g).requires_grad_(requires_grad)
        for c, n in zip(channels, lengths)
    ]


@pytest.mark.parametrize(
    ("channels", "lengths"),
    [
        (BEATGAN_CHANNELS, BEATGAN_LENGTHS),  # BeatGAN's encoder on 320-tick beats
        ([8, 16, 32], [4, 2, 1]),  # tiny, down to length 1
        ([5, 7, 9], [7, 3, 1]),  # lengths that are not powers of two
        ([12], [6]),  # a single level
        ([4, 4], [1, 1]),  # constant length
    ],
)
def test_output_shapes(channels, lengths):
    teacher = SelfTeacher(channels, width=16, out_dim=3)
    refined, out = teacher(pyramid(2, channels, lengths))
    assert [tuple(r.shape) for r in refined] == [(2, 16, n) for n in lengths]
    assert out.shape == (2, 3)
    assert all(torch.isfinite(r).all() for r in refined) and torch.isfinite(out).all()


def test_default_width_and_out_dim_match_beatgan():
    teacher = SelfTeacher(BEATGAN_CHANNELS)
    refined, out = teacher(pyramid(2, BEATGAN_CHANNELS, BEATGAN_LENGTHS))
    assert refined[0].shape == (2, 64, 160) and out.shape == (2, 50)


@pytest.mark.parametrize("lengths", [BEATGAN_LENGTHS, [4, 2, 1, 1, 1]])
def test_gradients_reach_every_parameter_and_input(lengths):
    torch.manual_seed(0)
    teacher = SelfTeacher(BEATGAN_CHANNELS, width=8, out_dim=4)
    feats = pyramid(2, BEATGAN_CHANNELS, lengths, requires_grad=True)
    refined, out = teacher(feats)
    (out.pow(2).sum() + sum(r.pow(2).mean() for r in refined)).backward()
    for name, param in teacher.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)


def test_head_alone_trains_the_whole_refinement_path():
    # FRSKD trains the self-teacher through its output; every level must feed it.
    torch.manual_seed(0)
    teacher = SelfTeacher([4, 8, 16], width=8, out_dim=2)
    _, out = teacher(pyramid(3, [4, 8, 16], [8, 4, 2]))
    out.sum().backward()
    missing = [n for n, p in teacher.named_parameters() if p.grad is None or not p.grad.any()]
    # The finest bottom-up output feeds the coarse ones; nothing is left untrained.
    assert missing == []


def test_deterministic_under_manual_seed():
    feats = pyramid(2, BEATGAN_CHANNELS, BEATGAN_LENGTHS)
    results = []
    for _ in range(2):
        torch.manual_seed(123)
        teacher = SelfTeacher(BEATGAN_CHANNELS, width=16, out_dim=5)
        results.append(teacher(feats))
    (r1, o1), (r2, o2) = results
    assert torch.equal(o1, o2)
    assert all(torch.equal(a, b) for a, b in zip(r1, r2))
    torch.manual_seed(124)
    _, o3 = SelfTeacher(BEATGAN_CHANNELS, width=16, out_dim=5)(feats)
    assert not torch.equal(o1, o3)


def test_eval_mode_is_per_beat():
    # In eval mode BatchNorm uses running statistics: a beat's output does not depend on
    # the rest of the batch, and a batch of one works even with length-1 maps.
    torch.manual_seed(0)
    teacher = SelfTeacher([8, 16, 32], width=8, out_dim=3).eval()
    feats = pyramid(4, [8, 16, 32], [4, 2, 1])
    _, out = teacher(feats)
    _, first = teacher([f[:1] for f in feats])
    torch.testing.assert_close(first, out[:1])


def test_distillation_round_trip_with_frskd_losses():
    # The intended use: the student's maps and output are pulled towards the teacher's.
    torch.manual_seed(0)
    teacher = SelfTeacher(BEATGAN_CHANNELS, width=16, out_dim=50)
    student_feats = pyramid(4, BEATGAN_CHANNELS, BEATGAN_LENGTHS, requires_grad=True)
    student_out = torch.randn(4, 50, requires_grad=True)
    refined, teacher_out = teacher(student_feats)
    loss = attention_transfer(student_feats, refined) + distillation_kl(student_out, teacher_out)
    loss.backward()
    assert loss.item() > 0
    assert student_out.grad is not None and student_out.grad.abs().sum() > 0
    # Distillation losses detach the teacher: no teacher parameter got gradient from them.
    assert all(p.grad is None for p in teacher.parameters())


def test_bfloat16_autocast_forward():
    torch.manual_seed(0)
    teacher = SelfTeacher([8, 16], width=8, out_dim=3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        refined, out = teacher(pyramid(2, [8, 16], [8, 4]))
    assert out.shape == (2, 3) and torch.isfinite(out.float()).all()


def test_rejects_wrong_number_of_maps():
    teacher = SelfTeacher([8, 16], width=8, out_dim=3)
    with pytest.raises(ValueError, match="expected 2 feature maps"):
        teacher(pyramid(2, [8], [4]))
    with pytest.raises(ValueError, match="at least one"):
        SelfTeacher([])

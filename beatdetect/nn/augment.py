"""Batched, seeded augmentations of ECG beats: SimCLR views and BeatGAN's time warping.

Every transform takes a batch of beats ``x`` of shape (B, C, L) and an optional
``torch.Generator`` and returns a new tensor of the same shape, dtype and device. All random
parameters are drawn per beat in one vectorised call (no Python loop over beats). Timing
transforms (warp, crop, mask) are shared across leads so the leads stay synchronous;
wander phase and noise are drawn per lead.

Transforms: :func:`gaussian_noise`, :func:`amplitude_scale`, :func:`baseline_wander`,
:func:`time_warp` (BeatGAN's augmentation, see below), :func:`random_resized_crop`,
:func:`time_mask`. Two configurable objects apply them, as the ``augment`` and
``time_warp`` parameters of :class:`~beatdetect.SIBeatGANDetector` do:
:class:`ECGAugment` composes the six, each applied to a beat with a probability (SimCLR's
views), and :class:`TimeWarp` warps every beat (BeatGAN's training augmentation). Both are
scikit-learn estimators in the parameter sense: ``get_params`` / ``set_params``, ``clone``
and a readable ``repr``, so a grid search can reach their fields (``augment__noise``);
``validate()`` checks their fields.

Randomness and devices. Random numbers are drawn on the generator's device and then moved to
the data's device, so one seeded CPU generator gives the same augmentations of a batch on
CPU and on CUDA (up to floating-point rounding). Each such host-to-device copy waits for
the GPU, though (about ten small copies per :class:`ECGAugment` call, plus the noise); for
sync-free GPU training pass a generator on the data's device, e.g.
``torch.Generator("cuda").manual_seed(seed)``. Without a generator the global torch RNG of
the data's device is used.
Arithmetic runs in at least float32 (bfloat16/float16 inputs are upcast, then cast back).

The library keeps these ~200 lines rather than depend on the PyPI package
``ecg-augmentations``, because its probability gates synchronise with the GPU and its
strengths are in SNR, seconds and Hz rather than the fixed, [-1, 1]-scaled windows used
here; the comparison is on the Self-improvement page of the documentation.

BeatGAN's time warping. Zhou et al. (2019) add augmented copies of each training beat
offline (three per beat in their "time-warping x3" result): in each half of the window
(before and after the R peak at sample 140 of 320) they pick 7 random samples to delete
and 7 after which to insert the mean of the sample and its successor. This locally speeds
up or slows down the beat while keeping its length and, mostly, the R-peak position.
:func:`time_warp` is the smooth, online version of that idea: a random monotone warp of the
time axis with fixed endpoints (and optionally a fixed ``anchor`` such as the R peak),
resampled by linear interpolation.

References
----------
.. [1] Zhou, B., Liu, S., Hooi, B., Cheng, X., Ye, J. (2019). "BeatGAN: Anomalous rhythm
   detection using adversarially generated time series". IJCAI 2019, 4433-4439.
.. [2] Chen, T., Kornblith, S., Norouzi, M., Hinton, G. (2020). "A simple framework for
   contrastive learning of visual representations". ICML 2020.
.. [3] Um, T. T., et al. (2017). "Data augmentation of wearable sensor data for Parkinson's
   disease monitoring using convolutional neural networks". ICMI 2017 (time warping,
   scaling, jittering of physiological signals).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions

__all__ = [
    "ECGAugment",
    "TimeWarp",
    "amplitude_scale",
    "baseline_wander",
    "gaussian_noise",
    "random_resized_crop",
    "resample",
    "time_mask",
    "time_warp",
    "warp_positions",
]


# ----------------------------------------------------------------------------- helpers


def _check(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        raise ValueError(f"expected a (B, C, L) tensor of beats, got {getattr(x, 'shape', x)}")
    if not x.is_floating_point():
        raise TypeError(f"expected a floating-point tensor, got {x.dtype}")


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    # Half-precision positions cannot even index 320 samples exactly; float64 stays float64.
    return torch.promote_types(x.dtype, torch.float32)


def _rand(shape, generator, device, *, normal=False, dtype=torch.float32) -> torch.Tensor:
    """Uniform [0, 1) (or standard normal) draws on the generator's device, moved to ``device``."""
    gen_device = generator.device if generator is not None else device
    sample = torch.randn if normal else torch.rand
    return sample(shape, generator=generator, device=gen_device).to(device, dtype)


def resample(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Linearly interpolate beats at fractional sample positions, shared across leads.

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, L)
        Beats.
    pos : torch.Tensor of shape (B, 1, N) or (1, 1, N)
        Positions in samples; clamped to ``[0, L - 1]``. Integer positions return the
        samples exactly.

    Returns
    -------
    torch.Tensor of shape (B, C, N)
        In the dtype of ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[0.0, 10.0, 20.0]]])
    >>> resample(x, torch.tensor([[[0.0, 0.5, 1.25, 2.0]]]))
    tensor([[[ 0.0000,  5.0000, 12.5000, 20.0000]]])
    """
    b, c, n = x.shape
    if n == 1:
        return x.expand(b, c, pos.shape[-1]).clone()
    work = _work_dtype(x)
    pos = pos.to(work).clamp(0, n - 1).expand(b, 1, -1)
    left = pos.floor().clamp_(max=n - 2)  # left neighbour, so that left + 1 exists
    w = pos - left  # weight of the right neighbour, in [0, 1]
    i0 = left.long().expand(b, c, -1)  # (B, 1, N) -> (B, C, N)
    xw = x.to(work)
    return torch.lerp(xw.gather(-1, i0), xw.gather(-1, i0 + 1), w).to(x.dtype)


def _identity_positions(length: int, device, dtype=torch.float32) -> torch.Tensor:
    return torch.arange(length, device=device, dtype=dtype).view(1, 1, length)  # (1, 1, L)


# The private samplers below take `on`, a (B, 1, 1) float tensor of 0/1 per beat, and fold it
# into the per-beat parameters so that a gated-off beat gets the neutral parameter (scale 1,
# amplitude 0, ...) exactly. Multiplying small (B, 1, 1) tensors is far cheaper than a
# full-size torch.where, and never branches on data.


def _crop_window(batch, length, min_scale, generator, device, on=1.0):
    """Per-beat (start, step) of a window covering a fraction in [min_scale, 1] of the beat;
    output sample t reads input position start + step * t."""
    frac = min_scale + (1 - min_scale) * _rand((batch, 1, 1), generator, device)
    start = _rand((batch, 1, 1), generator, device) * (length - 1) * (1 - frac)
    return start * on, 1 + (frac - 1) * on


def _segment_mask(batch, length, max_fraction, generator, device, on=1.0) -> torch.Tensor:
    """Float 0/1 (B, 1, L) mask of one random segment of 0..round(max_fraction*L) samples."""
    max_len = min(round(max_fraction * length), length)
    seg = (_rand((batch, 1, 1), generator, device) * (max_len + 1)).floor() * on  # 0..max_len
    start = (_rand((batch, 1, 1), generator, device) * (length - seg + 1)).floor()
    offset = _identity_positions(length, device) - start  # (B, 1, L)
    return ((offset >= 0) & (offset < seg)).float()


def _wander(shape, amplitude, cycles, generator, device, on=1.0) -> torch.Tensor:
    """Sinusoids amp * sin(2 pi f t / L + phase): f cycles per window shared across leads,
    amplitude in [0, amplitude] and phase drawn per lead."""
    b, c, n = shape
    lo, hi = cycles
    freq = lo + (hi - lo) * _rand((b, 1, 1), generator, device)
    phase = 2 * math.pi * _rand((b, c, 1), generator, device)
    amp = amplitude * _rand((b, c, 1), generator, device) * on
    t = _identity_positions(n, device) * (2 * math.pi / n)  # (1, 1, L)
    return amp * torch.sin(freq * t + phase)  # (B, C, L)


def _fill(x: torch.Tensor, mask: torch.Tensor, fill: str) -> torch.Tensor:
    """Blend x towards the fill value where the float 0/1 mask is 1 (exact elsewhere)."""
    mask = mask.to(x.dtype)
    if fill == "zero":
        return x * (1 - mask)
    if fill == "mean":
        return x + mask * (x.mean(dim=-1, keepdim=True) - x)  # lead mean, (B, C, 1)
    raise ValueError(f"fill must be 'zero' or 'mean', got {fill!r}")


# ----------------------------------------------------------------------------- transforms


def gaussian_noise(
    x: torch.Tensor, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Add white Gaussian noise of standard deviation ``std``, independent per lead.

    .. math:: y_{bct} = x_{bct} + \sigma \varepsilon_{bct}, \quad \varepsilon \sim N(0, 1)

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, L)
        Beats.
    std : float
        Noise standard deviation :math:`\sigma \ge 0` in signal units (beats scaled to
        about [-1, 1]); 0 returns ``x`` unchanged.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``x``.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> y = gaussian_noise(torch.zeros(8, 1, 320), 0.05, g)
    >>> round(y.std().item(), 2)
    0.05
    """
    _check(x)
    noise = _rand(x.shape, generator, x.device, normal=True, dtype=_work_dtype(x))
    return (x + std * noise).to(x.dtype)


def amplitude_scale(
    x: torch.Tensor,
    scale: tuple[float, float] = (0.8, 1.2),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Multiply each beat by a factor drawn uniformly in ``scale``, shared across leads.

    .. math:: y_{bct} = s_b x_{bct}, \quad s_b \sim U(\mathrm{scale})

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, L)
        Beats.
    scale : (float, float), default=(0.8, 1.2)
        Range of the factor; ``(1, 1)`` returns ``x`` unchanged.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``x``.

    Examples
    --------
    >>> import torch
    >>> amplitude_scale(torch.ones(2, 1, 3), scale=(2.0, 2.0))
    tensor([[[2., 2., 2.]],
    <BLANKLINE>
            [[2., 2., 2.]]])
    """
    _check(x)
    lo, hi = scale
    factor = lo + (hi - lo) * _rand((x.shape[0], 1, 1), generator, x.device, dtype=_work_dtype(x))
    return (x * factor).to(x.dtype)


def baseline_wander(
    x: torch.Tensor,
    amplitude: float,
    generator: torch.Generator | None = None,
    cycles: tuple[float, float] = (0.05, 0.5),
) -> torch.Tensor:
    r"""Add baseline wander: a slow sinusoid of random frequency, phase and amplitude.

    .. math:: y_{bct} = x_{bct} + a_{bc} \sin(2\pi f_b t / L + \varphi_{bc})

    with :math:`a_{bc} \sim U(0, \mathrm{amplitude})`, :math:`\varphi_{bc} \sim U(0, 2\pi)`
    per lead and :math:`f_b \sim U(\mathrm{cycles})` cycles per window, shared across leads
    (respiration moves all leads at the same rate). At 360 Hz a 320-sample window lasts
    0.89 s, so the default (0.05, 0.5) cycles spans roughly 0.06-0.56 Hz, the band of
    respiratory and slow motion drift.

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, L)
        Beats.
    amplitude : float
        Largest peak amplitude in signal units; 0 returns ``x`` unchanged.
    generator : torch.Generator, optional
        Source of randomness.
    cycles : (float, float), default=(0.05, 0.5)
        Range of the frequency in cycles per window.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``x``.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> drift = baseline_wander(torch.zeros(4, 1, 320), 0.1, g)
    >>> bool(drift.abs().max() <= 0.1)
    True
    """
    _check(x)
    drift = _wander(x.shape, amplitude, cycles, generator, x.device)
    return (x + drift.to(_work_dtype(x))).to(x.dtype)


def warp_positions(
    batch: int,
    length: int,
    strength: float,
    generator: torch.Generator | None = None,
    *,
    n_knots: int = 4,
    anchor: float | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""Random smooth, strictly increasing warps of ``0..length-1`` with fixed endpoints.

    The log local speed is a piecewise-linear curve through ``n_knots`` values drawn from
    :math:`N(0, \mathrm{strength}^2)`; positions are its cumulative sum, rescaled so that
    the first and last sample stay in place (and, with ``anchor``, the anchor sample too,
    by rescaling each side separately). Locally the beat plays about
    :math:`e^{\pm\mathrm{strength}}` times faster or slower.

    Parameters
    ----------
    batch, length : int
        Number of warps and their length.
    strength : float
        Standard deviation of the log speed; 0 gives the identity exactly.
    generator : torch.Generator, optional
        Source of randomness.
    n_knots : int, default=4
        Number of random speed values; more knots give a wigglier warp.
    anchor : float in [0, 1], optional
        Relative position of a sample to keep fixed, e.g. the R peak at
        ``140 / 319`` of BeatGAN's 320-sample windows.
    device : torch.device or str, optional
        Device of the result (default CPU).

    Returns
    -------
    torch.Tensor of shape (batch, 1, length)
        Float32 positions ``pos[b, 0, t]`` at which the warped beat reads the original one.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> pos = warp_positions(3, 320, 0.3, g, anchor=140 / 319)
    >>> pos[:, 0, [0, 140, 319]]
    tensor([[  0., 140., 319.],
            [  0., 140., 319.],
            [  0., 140., 319.]])
    >>> bool((pos.diff(dim=-1) > 0).all())
    True
    """
    device = torch.device("cpu") if device is None else torch.device(device)
    if length < 2:
        return torch.zeros(batch, 1, length, device=device)
    knots = strength * _rand((batch, 1, n_knots), generator, device, normal=True)
    # Piecewise-linear interpolation of the knots as a product with hat functions: the same
    # as F.interpolate(..., mode="linear", align_corners=True) but several times faster.
    u = torch.linspace(0, n_knots - 1, length, device=device)  # knot coordinate of each sample
    hats = (1 - (u - torch.arange(n_knots, device=device).view(-1, 1)).abs()).clamp_(min=0)
    speed = (knots @ hats).exp()  # (B, 1, K) @ (K, L) -> (B, 1, L); > 0, so pos increases
    pos = speed.cumsum(-1) - speed[..., :1]  # pos[0] = 0
    last = length - 1
    a = None if anchor is None else round(anchor * last)
    # Ratios are computed first so that a zero-strength warp is the identity to the last bit.
    if a is None or not 0 < a < last:
        pos = pos * (last / pos[..., -1:])
    else:
        # Rescale [0, a] and [a, last] separately so the anchor sample stays put.
        left = pos[..., a : a + 1]
        left_part = pos * (a / left)
        right_part = a + (pos - left) * ((last - a) / (pos[..., -1:] - left))
        pos = torch.where(_identity_positions(length, device) <= a, left_part, right_part)
        pos[..., a] = a
    pos[..., -1] = last  # exact despite rounding of the rescaling
    return pos


def time_warp(
    x: torch.Tensor,
    strength: float,
    generator: torch.Generator | None = None,
    *,
    n_knots: int = 4,
    anchor: float | None = None,
) -> torch.Tensor:
    """Warp the time axis smoothly and monotonically, shared across leads (BeatGAN's aug).

    The beat is resampled with linear interpolation at the positions of
    :func:`warp_positions`: first and last sample (and ``anchor``) stay in place, the rest
    of the beat is locally sped up or slowed down.

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, L)
        Beats.
    strength : float
        Standard deviation of the log local speed; 0 returns ``x`` unchanged.
    generator : torch.Generator, optional
        Source of randomness.
    n_knots : int, default=4
        Number of random speed values along the beat.
    anchor : float in [0, 1], optional
        Relative position kept fixed, e.g. ``140 / 319`` for BeatGAN's R peak.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``x``.

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(0, 1, 320).repeat(2, 1, 1)  # a ramp: (2, 1, 320)
    >>> y = time_warp(x, 0.3, torch.Generator().manual_seed(0))
    >>> y[:, 0, [0, -1]]  # endpoints kept
    tensor([[0., 1.],
            [0., 1.]])
    """
    _check(x)
    b, _, n = x.shape
    pos = warp_positions(b, n, strength, generator, n_knots=n_knots, anchor=anchor, device=x.device)
    return resample(x, pos)


def random_resized_crop(
    x: torch.Tensor, min_scale: float = 0.9, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Crop a random window and stretch it back to the full length, shared across leads.

    The window covers a fraction of the beat drawn uniformly in ``[min_scale, 1]`` and
    starts uniformly at random; it is resampled to ``L`` samples with linear interpolation
    (SimCLR's random resized crop, in one dimension).

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, L)
        Beats.
    min_scale : float in (0, 1], default=0.9
        Smallest fraction of the beat kept; 1 returns ``x`` unchanged.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``x``.

    Examples
    --------
    >>> import torch

    On a ramp the output shows where each sample was read: a window of 7.48 of the
    10 sample spacings, starting at 1.93, stretched over the 11 output samples.

    >>> x = torch.arange(11.0).view(1, 1, 11)
    >>> random_resized_crop(x, 0.5, torch.Generator().manual_seed(0))
    tensor([[[1.9349, 2.6831, 3.4312, 4.1793, 4.9274, 5.6756, 6.4237, 7.1718,
              7.9200, 8.6681, 9.4162]]])
    """
    _check(x)
    b, _, n = x.shape
    start, step = _crop_window(b, n, min_scale, generator, x.device)
    return resample(x, start + step * _identity_positions(n, x.device))


def time_mask(
    x: torch.Tensor,
    max_fraction: float,
    generator: torch.Generator | None = None,
    fill: str = "zero",
) -> torch.Tensor:
    """Blank one random contiguous segment of each beat, shared across leads.

    The segment length is drawn uniformly among ``0, 1, ..., round(max_fraction * L)``
    samples and its start uniformly among the positions where it fits.

    Parameters
    ----------
    x : torch.Tensor of shape (B, C, L)
        Beats.
    max_fraction : float in [0, 1]
        Largest masked fraction of the beat; 0 returns ``x`` unchanged.
    generator : torch.Generator, optional
        Source of randomness.
    fill : {"zero", "mean"}, default="zero"
        Replace the segment by zeros or by the mean of each lead of the beat.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``x``.

    Examples
    --------
    >>> import torch
    >>> time_mask(torch.ones(1, 1, 10), 0.5, torch.Generator().manual_seed(1))
    tensor([[[1., 0., 0., 0., 0., 1., 1., 1., 1., 1.]]])
    """
    _check(x)
    b, _, n = x.shape
    if fill not in ("zero", "mean"):
        raise ValueError(f"fill must be 'zero' or 'mean', got {fill!r}")
    mask = _segment_mask(b, n, max_fraction, generator, x.device)
    return _fill(x, mask, fill)


# ----------------------------------------------------------------------------- composition


class _PositiveRange(Options):
    """Constraint of ``scale``: a pair ``(low, high)`` of finite numbers, ``0 < low <= high``.

    An :class:`~sklearn.utils._param_validation.Options` because scikit-learn accepts no
    other kind of custom constraint (as :class:`beatdetect._device.DeviceOption`).
    """

    def __init__(self):
        super().__init__(tuple, set())

    def is_satisfied_by(self, val) -> bool:
        if not isinstance(val, (tuple, list)) or len(val) != 2:
            return False
        if not all(isinstance(v, Real) and not isinstance(v, bool) for v in val):
            return False
        low, high = val
        return 0 < low <= high < math.inf

    def __str__(self) -> str:
        return "a pair (low, high) of numbers with 0 < low <= high"


class _Transform(BaseEstimator):
    """An augmentation configured by its constructor parameters, scikit-learn style.

    ``get_params`` / ``set_params``, ``clone`` and ``repr`` come from
    :class:`~sklearn.base.BaseEstimator`; ``__init__`` only stores the parameters and
    :meth:`validate` checks them against ``_parameter_constraints`` (the detector calls it
    in ``fit``). Two transforms with the same type and parameters are equal.
    """

    _parameter_constraints: dict = {}

    def validate(self):
        """Check the parameters; return ``self``.

        Raises
        ------
        InvalidParameterError
            A parameter is out of range or of the wrong type (a subclass of ``ValueError``
            and ``TypeError``); the message names it.
        """
        self._validate_params()
        return self

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and \
            self.get_params(deep=False) == other.get_params(deep=False)

    __hash__ = None  # mutable through set_params


class ECGAugment(_Transform):
    """Random ECG augmentation pipeline: SimCLR's views of a beat.

    Each transform is applied to each beat independently with probability ``p``; a
    strength of zero (``scale=(1, 1)``, ``crop=1``) switches a transform off and draws
    nothing for it. Order: crop and warp (composed into a single resampling), amplitude
    scaling, baseline wander, Gaussian noise, time mask. The number of random draws per call
    does not depend on which beats were gated, and gating never synchronises with the GPU.

    The parameters are only stored by the constructor; :meth:`validate` checks them
    (:class:`~beatdetect.SIBeatGANDetector` calls it in ``fit``). ``get_params`` /
    ``set_params`` make them reachable from a grid search through the detector's
    ``augment`` parameter (``augment__noise``).

    Parameters
    ----------
    noise : float >= 0, default=0.05
        Standard deviation of additive Gaussian noise (:func:`gaussian_noise`).
    scale : (float, float), default=(0.8, 1.2)
        Range ``(low, high)``, ``0 < low <= high``, of the amplitude factor
        (:func:`amplitude_scale`).
    wander : float >= 0, default=0.1
        Largest baseline-wander amplitude (:func:`baseline_wander`).
    warp : float >= 0, default=0.2
        Time-warp strength, the std of the log local speed (:func:`time_warp`).
    crop : float in (0, 1], default=0.9
        Smallest fraction of the beat kept by the resized crop (:func:`random_resized_crop`).
    mask : float in [0, 1], default=0.1
        Largest fraction of the beat blanked by the time mask (:func:`time_mask`).
    p : float in [0, 1], default=0.8
        Probability that each transform is applied to a given beat.
    anchor : float in [0, 1] or None, default=None
        Relative position the time warp keeps fixed (e.g. ``140 / 319``, the R peak of
        BeatGAN's windows). Cropping still shifts it.
    fill : {"zero", "mean"}, default="zero"
        How the time mask fills its segment.

    See Also
    --------
    TimeWarp : BeatGAN's training augmentation, the time warp alone on every beat.

    Examples
    --------
    >>> import torch
    >>> aug = ECGAugment(noise=0.1, anchor=0.5).validate()
    >>> aug  # the parameters that differ from the defaults
    ECGAugment(anchor=0.5, noise=0.1)
    >>> x = torch.randn(64, 1, 320)
    >>> v1 = aug(x, torch.Generator().manual_seed(0))
    >>> v2 = aug(x, torch.Generator().manual_seed(0))
    >>> v1.shape, bool(torch.equal(v1, v2))
    (torch.Size([64, 1, 320]), True)

    Two SimCLR views come from two calls with the same generator:

    >>> g = torch.Generator().manual_seed(1)
    >>> view1, view2 = aug(x, g), aug(x, g)
    >>> bool(torch.equal(view1, view2))
    False

    Out-of-range parameters are reported by :meth:`validate`:

    >>> try:
    ...     ECGAugment(crop=0.0).validate()
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    The 'crop' parameter of ECGAugment must be a float in the range (0.0, 1.0].
    Got 0.0 instead.
    """

    _parameter_constraints: dict = {
        "noise": [Interval(Real, 0, None, closed="left")],
        "scale": [_PositiveRange()],
        "wander": [Interval(Real, 0, None, closed="left")],
        "warp": [Interval(Real, 0, None, closed="left")],
        "crop": [Interval(Real, 0, 1, closed="right")],
        "mask": [Interval(Real, 0, 1, closed="both")],
        "p": [Interval(Real, 0, 1, closed="both")],
        "anchor": [Interval(Real, 0, 1, closed="both"), None],
        "fill": [StrOptions({"zero", "mean"})],
    }

    def __init__(self, *, noise=0.05, scale=(0.8, 1.2), wander=0.1, warp=0.2, crop=0.9,
                 mask=0.1, p=0.8, anchor=None, fill="zero"):
        self.noise = noise
        self.scale = scale
        self.wander = wander
        self.warp = warp
        self.crop = crop
        self.mask = mask
        self.p = p
        self.anchor = anchor
        self.fill = fill

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch of beats (B, C, L); returns a new tensor of the same shape,
        dtype and device."""
        _check(x)
        b, c, n = x.shape
        dev = x.device
        out = x.to(_work_dtype(x))

        def gate() -> torch.Tensor:  # (B, 1, 1) float 0/1: apply this transform to this beat?
            return (_rand((b, 1, 1), generator, dev) < self.p).float()

        # Time axis: warp inside the crop window, composed into one resampling of x.
        if self.warp > 0 or self.crop < 1:
            pos = _identity_positions(n, dev)  # (1, 1, L)
            if self.warp > 0:
                warped = warp_positions(b, n, self.warp, generator, anchor=self.anchor, device=dev)
                pos = pos + gate() * (warped - pos)  # (B, 1, L); exactly pos where gated off
            if self.crop < 1:
                start, step = _crop_window(b, n, self.crop, generator, dev, on=gate())
                pos = start + step * pos
            out = resample(out, pos)
        lo, hi = self.scale
        if (lo, hi) != (1, 1):
            factor = lo + (hi - lo) * _rand((b, 1, 1), generator, dev)
            out = out * (1 + (factor - 1) * gate()).to(out.dtype)
        if self.wander > 0:
            out = out + _wander((b, c, n), self.wander, (0.05, 0.5), generator, dev, on=gate())
        if self.noise > 0:
            std = self.noise * gate()  # (B, 1, 1)
            out = out + std * _rand((b, c, n), generator, dev, normal=True)
        if self.mask > 0:
            out = _fill(out, _segment_mask(b, n, self.mask, generator, dev, on=gate()), self.fill)
        return out.to(x.dtype)


class TimeWarp(_Transform):
    """BeatGAN's training augmentation: every beat's time axis warped (:func:`time_warp`).

    The ``time_warp`` parameter of :class:`~beatdetect.SIBeatGANDetector`: each training
    batch is replaced by warped copies of its beats before the step. Unlike
    :class:`ECGAugment` there is no gate: every beat is warped.

    Parameters
    ----------
    strength : float in [0, 1], default=0.2
        Standard deviation of the log local speed. 0 returns the batch itself and draws
        no random numbers, so ``TimeWarp(strength=0)`` trains exactly as no warp at all.
    n_knots : int >= 2, default=4
        Number of random speed values along the beat.
    anchor : float in [0, 1] or None, default=None
        Relative position kept fixed, e.g. ``140 / 319`` for the R peak of BeatGAN's
        windows. None lets it move.

    See Also
    --------
    ECGAugment : the contrastive views, of which a time warp is one transform.

    Examples
    --------
    >>> import torch
    >>> warp = TimeWarp(strength=0.3).validate()
    >>> warp
    TimeWarp(strength=0.3)
    >>> x = torch.linspace(0, 1, 320).repeat(2, 1, 1)  # a ramp: (2, 1, 320)
    >>> y = warp(x, torch.Generator().manual_seed(0))
    >>> bool(torch.equal(y, time_warp(x, 0.3, torch.Generator().manual_seed(0))))
    True
    """

    _parameter_constraints: dict = {
        "strength": [Interval(Real, 0, 1, closed="both")],
        "n_knots": [Interval(Integral, 2, None, closed="left")],
        "anchor": [Interval(Real, 0, 1, closed="both"), None],
    }

    def __init__(self, *, strength=0.2, n_knots=4, anchor=None):
        self.strength = strength
        self.n_knots = n_knots
        self.anchor = anchor

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Warp a batch of beats (B, C, L); ``x`` itself when ``strength`` is 0."""
        if not self.strength:
            return x
        return time_warp(x, self.strength, generator, n_knots=self.n_knots, anchor=self.anchor)

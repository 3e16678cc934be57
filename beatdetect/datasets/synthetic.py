"""Small synthetic ECG beats with injected anomalies, for tests and examples.

Each beat is a sum of Gaussian waves (P, Q, R, S, T), in the spirit of the dynamical ECG
model of McSharry et al. (IEEE TBME 50(3), 2003), with random jitter of every amplitude,
position and width, a little baseline wander and noise. Beats are laid out like MIT-BIH
beats from :func:`~beatdetect.datasets.load_mitbih`: R peak at 140/320 of the window (0.39 s
before, 0.5 s after at 360 Hz), min-max scaled to [-1, 1] per lead. They are synthetic:
realistic enough to exercise detectors, not a stand-in for real recordings.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..exceptions import DataError
from .preprocessing import BEAT_LENGTH, BEAT_WINDOW, REFERENCE_FS, scale_beats_minmax

__all__ = ["ANOMALY_KINDS", "make_synthetic_beats"]

#: Kinds of injected anomalies: an early beat whose P wave merges into the previous T wave,
#: a wide ventricular-like QRS with discordant T, and a normal beat buried in noise.
ANOMALY_KINDS = ("premature", "wide_qrs", "noisy")
#: AAMI-like class of each kind, so per-class metrics can run on synthetic beats.
KIND_TO_AAMI = {"normal": "N", "premature": "S", "wide_qrs": "V", "noisy": "Q"}

#: Waves of a normal beat (P, Q, R, S, T): centre in s from the R peak, width (standard
#: deviation) in s and amplitude in mV; textbook lead-II values (PR 0.16-0.2 s, QRS < 0.12 s).
WAVE_CENTER = np.array([-0.20, -0.030, 0.0, 0.035, 0.28])
WAVE_WIDTH = np.array([0.025, 0.010, 0.012, 0.012, 0.050])
WAVE_AMPLITUDE = np.array([0.15, -0.12, 1.0, -0.30, 0.32])
#: Frontal-plane axis of each wave in degrees; lead k looks along 60 + 30 k degrees, so lead 0
#: is lead II (MLII-like) and further leads see the same heart from other angles.
WAVE_AXIS_DEG = np.array([55.0, 40.0, 60.0, 80.0, 45.0])
LEAD_0_ANGLE_DEG, LEAD_STEP_DEG = 60.0, 30.0
#: Relative jitter of amplitudes and widths, and absolute jitter of centres in s.
AMPLITUDE_JITTER, WIDTH_JITTER, CENTER_JITTER = 0.08, 0.08, 0.006
#: White noise (standard deviation, mV) of normal beats and of "noisy" anomalies.
NOISE_SD, NOISY_SD = 0.01, 0.12
#: Amplitude (mV) of the respiration-like baseline wander (0.2-1 Hz) of normal and "noisy" beats.
WANDER_MV, NOISY_WANDER_MV = 0.03, 0.3


def _jittered_waves(rng, n):
    """Per-beat wave centres, widths and amplitudes, shape (n, 5) each."""
    center = WAVE_CENTER + CENTER_JITTER * rng.standard_normal((n, 5))
    center[:, 2] = 0.0  # the window is centred on the R peak, as annotations are
    width = WAVE_WIDTH * (1.0 + WIDTH_JITTER * rng.standard_normal((n, 5)))
    amplitude = WAVE_AMPLITUDE * (1.0 + AMPLITUDE_JITTER * rng.standard_normal((n, 5)))
    return center, np.abs(width), amplitude


def _inject(kind, rng, center, width, amplitude, extra):
    """Edit the waves of the beats where ``kind`` is True (arrays changed in place)."""
    n = int(kind["premature"].sum())
    if n:
        m = kind["premature"]
        # Early beat: the previous T wave enters the window and the ectopic P wave comes
        # late, small and flattened, close to the QRS.
        extra[m, 0] = -0.33 + 0.03 * rng.standard_normal(n)
        extra[m, 1] = 0.30 * (1.0 + AMPLITUDE_JITTER * rng.standard_normal(n))
        center[m, 0] = -0.12 + 0.01 * rng.standard_normal(n)
        amplitude[m, 0] *= rng.uniform(-0.4, 0.4, n)
    n = int(kind["wide_qrs"].sum())
    if n:
        m = kind["wide_qrs"]
        # Ventricular-like: no P, no Q, a QRS about three times wider, discordant T wave.
        amplitude[m, 0] = amplitude[m, 1] = 0.0
        width[m, 2:4] *= rng.uniform(2.5, 3.5, (n, 1))
        amplitude[m, 2] *= rng.uniform(1.1, 1.5, n)
        amplitude[m, 3] *= rng.uniform(1.5, 2.5, n)
        center[m, 3] += 0.04
        amplitude[m, 4] *= -rng.uniform(0.9, 1.4, n)


def make_synthetic_beats(
    n_normal=900,
    n_anomalous=100,
    *,
    n_leads=1,
    length=BEAT_LENGTH,
    anomaly_kinds=ANOMALY_KINDS,
    random_state=None,
) -> Bunch:
    """Synthetic P-QRS-T beats with injected anomalies, laid out like MIT-BIH beats.

    Normal beats vary in every wave's amplitude, position and width. Anomalies are split
    evenly between ``anomaly_kinds``: ``"premature"`` (early beat: previous T wave inside
    the window, ectopic P wave), ``"wide_qrs"`` (ventricular-like wide QRS, no P, inverted
    T) and ``"noisy"`` (a normal beat under heavy noise and baseline wander). Beats are
    shuffled.

    Parameters
    ----------
    n_normal : int, default=900
        Number of normal beats.
    n_anomalous : int, default=100
        Number of anomalous beats.
    n_leads : int, default=1
        Leads per beat: projections of the same beat at 30 degree steps (lead 0 ~ MLII).
    length : int, default=320
        Samples per beat (a 0.89 s window, 360 Hz at length 320).
    anomaly_kinds : sequence of str, default=("premature", "wide_qrs", "noisy")
        Kinds of anomalies to inject.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same beats.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` float32 (n_beats, n_leads, length) in [-1, 1]; ``y`` +1 normal / -1
        anomalous; ``kind`` (``"normal"`` or the anomaly kind); ``aami`` (N, or S / V / Q
        for premature / wide_qrs / noisy); ``record`` (``"synthetic"``); ``fs``,
        ``lead_names``, ``window``, ``length`` and ``DESCR``.

    Examples
    --------
    >>> data = make_synthetic_beats(n_normal=90, n_anomalous=10, random_state=0)
    >>> data.X.shape, data.X.dtype, int((data.y == -1).sum())
    ((100, 1, 320), dtype('float32'), 10)
    >>> sorted(set(data.kind.tolist()))
    ['noisy', 'normal', 'premature', 'wide_qrs']
    """
    for name, value, low in (
        ("n_normal", n_normal, 0),
        ("n_anomalous", n_anomalous, 0),
        ("n_leads", n_leads, 1),
        ("length", length, 8),
    ):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise DataError(f"{name} must be an integer >= {low}, got {value!r}.")
    if n_normal + n_anomalous == 0:
        raise DataError("Ask for at least one beat (n_normal + n_anomalous > 0).")
    anomaly_kinds = tuple(anomaly_kinds)
    unknown = sorted(set(anomaly_kinds) - set(ANOMALY_KINDS))
    if unknown or (n_anomalous and not anomaly_kinds):
        raise DataError(f"anomaly_kinds must be a non-empty subset of {ANOMALY_KINDS}.")
    rng = check_random_state(random_state)
    n = n_normal + n_anomalous

    kinds = np.array(["normal"] * n_normal + list(np.resize(anomaly_kinds, n_anomalous)))
    kinds = kinds[rng.permutation(n)]
    is_kind = {k: kinds == k for k in ANOMALY_KINDS}

    center, width, amplitude = _jittered_waves(rng, n)
    extra = np.zeros((n, 2))  # centre and amplitude of a previous beat's T wave, if any
    _inject(is_kind, rng, center, width, amplitude, extra)

    # Time of each sample in s from the R peak, the window of BeatGAN at 360 Hz.
    before, after = BEAT_WINDOW
    t = np.linspace(-before, after, length, endpoint=False) / REFERENCE_FS
    waves = np.exp(-0.5 * ((t - center[..., None]) / width[..., None]) ** 2)  # (n, 5, L)
    angles = LEAD_0_ANGLE_DEG + LEAD_STEP_DEG * np.arange(n_leads)
    gain = np.cos(np.deg2rad(WAVE_AXIS_DEG[None, :] - angles[:, None]))  # (leads, 5)
    beats = np.einsum("nw,kw,nwl->nkl", amplitude, gain, waves)  # (n, leads, L)
    previous_t = extra[:, 1, None] * np.exp(
        -0.5 * ((t - extra[:, 0, None]) / WAVE_WIDTH[4]) ** 2
    )  # (n, L)
    beats += previous_t[:, None, :] * gain[None, :, 4, None]

    sd = np.where(is_kind["noisy"], NOISY_SD, NOISE_SD)[:, None, None]
    wander_amp = np.where(is_kind["noisy"], NOISY_WANDER_MV, WANDER_MV)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    freq = rng.uniform(0.2, 1.0, (n, 1, 1))
    beats += wander_amp * np.sin(2 * np.pi * freq * t + phase)
    beats += sd * rng.standard_normal(beats.shape)

    return Bunch(
        X=scale_beats_minmax(beats),
        y=np.where(kinds == "normal", 1, -1).astype(np.int64),
        kind=kinds,
        aami=np.array([KIND_TO_AAMI[k] for k in kinds]),
        record=np.full(n, "synthetic"),
        fs=REFERENCE_FS * length / BEAT_LENGTH,
        lead_names=[f"synthetic_{k}" for k in range(n_leads)],
        window=BEAT_WINDOW,
        length=int(length),
        DESCR="Synthetic P-QRS-T beats (sums of Gaussians) with injected anomalies; "
        "made by beatdetect.datasets.make_synthetic_beats, not recorded from anyone.",
    )

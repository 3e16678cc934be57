"""SIBeatGANDetector: BeatGAN (and its self-improving terms) as a scikit-learn outlier detector."""

from __future__ import annotations

import contextlib
import sys
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._device import DeviceOption, autocast_dtype, resolve_device
from .base import CONTEXT_PARAMETERS, BaseBeatDetector
from .context import ScoreReference
from .inference import iter_reconstructions, module_on, reconstruction_errors, reconstructions
from .memory import MemoryBank, PCAProjection, beat_fingerprints
from .nn.augment import ECGAugment, TimeWarp
from .nn.networks import BeatGANConfig, Discriminator, Generator, pad_beats
from .training import GANTrainer

__all__ = ["SIBeatGANDetector"]


def _derived_seed(seed: int, stream: int) -> int:
    """An independent seed for the ``stream``-th extra module or random stream of a fit."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed torch's global RNG for module initialisation, restoring the caller's state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield

@torch.inference_mode()
def _network_embeddings(generator, discriminator, X, space: str, kwargs) -> np.ndarray:
    """Generator codes (``"latent"``) or time-averaged discriminator features, float32."""
    device, amp = kwargs["device"], kwargs["amp_dtype"]
    padded = generator.cfg.padded_length
    chunks = []
    for start in range(0, len(X), kwargs["batch_size"]):
        x = torch.as_tensor(X[start:start + kwargs["batch_size"]]).to(device, torch.float32)
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            if space == "latent":
                _, code, _ = generator(pad_beats(x, padded))  # (B, latent_dim, 1)
            else:
                _, features = discriminator(pad_beats(x, padded))  # (B, C, L')
                code = features.mean(dim=-1)
        chunks.append(code.float().reshape(len(x), -1).cpu().numpy())
    return np.concatenate(chunks) if chunks else np.empty((0, 0), dtype=np.float32)


#: Spaces a memory bank can hold (see the ``memory`` parameter).
MEMORY_SPACES = ("input", "latent", "discriminator")
#: Principal components kept in the memory bank, whatever its space: 32 keep the shape of a
#: 320-tick beat (over 95% of its variance on MIT-BIH), and neighbour search in 32
#: dimensions is 10x cheaper than on beats (16x than on 512 discriminator features).
MEMORY_DIMS = 32


class SIBeatGANDetector(BaseBeatDetector):
    """BeatGAN heartbeat anomaly detector with scikit-learn's outlier-detector API.

    BeatGAN (Zhou et al., 2019) trains a 1-D convolutional autoencoder (the generator) on
    normal beats, regularised by a discriminator through feature matching. BeatGAN's anomaly
    score is a beat's mean squared reconstruction error: beats unlike the training beats
    are reconstructed poorly. ``score_samples`` returns the negated anomaly score (higher =
    more normal).

    The default score is the one that ranked anomalies best in our measurements (the
    Scoring page of the documentation), every part standardised against held-out normal
    training beats (see :class:`~beatdetect.base.BaseBeatDetector`): the distance to the
    nearest training beats in a memory bank (``memory``); with ``groups``, for recordings
    not seen in fit, the distance to the recording's own median beat; with ``rr``, the
    beat's prematurity. The reconstruction error joins with ``w_reconstruction > 0``; with
    ``memory=None, w_reconstruction=1, w_rhythm=0, recording_template=False`` the score is
    BeatGAN's.

    Parameters
    ----------
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``. ``"auto"`` uses Tukey's fence on the training beats' anomaly
        scores (flag beats above Q3 + 1.5 IQR; no labels, no assumed rate); a float is the
        expected fraction of anomalies and ``offset_`` is that percentile of the training
        ``score_samples``.
    base_filters : int, default=32
        Filters of the first convolution; each of the ``n_layers`` stride-2 layers doubles
        them (32 -> 512, as published).
    n_layers : int, default=5
        Number of stride-2 convolution layers of the encoders.
    latent_dim : int, default=50
        Size of the latent code.
    w_adv : float, default=1.0
        Weight of the generator's feature-matching (adversarial) loss. ``0`` gives the
        plain autoencoder ablation (the discriminator still trains but has no effect).
    lr : float, default=1e-3
        Adam learning rate of both networks, the peak of the cosine schedule (BeatGAN used
        1e-4, constant, for 100 GPU epochs; on a CPU budget of a few epochs 1e-3 annealed
        trains further).
    beta1 : float, default=0.5
        Adam's first-moment decay (BeatGAN: 0.5; beta2 is 0.999).
    max_epochs : int, default=10
        Passes over the training beats.
    lr_schedule : {"constant", "cosine"}, default="cosine"
        ``"cosine"`` anneals the learning rate of both networks from ``lr`` to 0 over
        ``max_epochs``, step by step; ``"constant"`` is BeatGAN's. Annealing keeps the
        discriminator from overpowering the generator late in training (BeatGAN's constant
        rate collapsed after epoch 2 of the full-fold learning curve).
    batch_size : int, default=64
        Training mini-batch size.
    time_warp : TimeWarp or None, default=None
        BeatGAN's time-warping augmentation of the training batches
        (:class:`~beatdetect.nn.augment.TimeWarp`): every beat of every batch is warped
        before the step, e.g. ``TimeWarp(strength=0.2)``. None: no augmentation.
    score_feature_weight : float, default=0.0
        Adds ``score_feature_weight * ||f_D(x) - f_D(G(x))||^2`` (the discriminator-feature
        residual) to the reconstruction error in the anomaly score. 0 is BeatGAN's score.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training beats, stop when their
        reconstruction error has not improved for ``n_iter_no_change`` epochs, and keep the
        generator and discriminator of the best epoch. Label-free.
    validation_fraction : float, default=0.1
        Fraction of the training beats held out (seeded) for early stopping.
    n_iter_no_change : int, default=3
        Epochs without improvement of the validation error before training stops.
    tol : float, default=0.0
        Minimum improvement of the validation error that resets the patience counter.
    d_reset_threshold : float, default=5e-6
        Re-initialise the discriminator when its real-vs-fake loss falls below this
        (paper's code).
    mixed_precision : "auto" or bool, default="auto"
        bfloat16 autocast. ``"auto"`` enables it where the hardware runs bfloat16 natively
        (CPUs with AMX / AVX512-BF16, CUDA GPUs with bf16 support).
    device : {"auto", "cpu", "cuda"}, "cuda:N" or torch.device, default="auto"
        Where to train and score (a CPU or CUDA device; checked in ``fit`` with the other
        parameters). Modules return to the CPU after ``fit``, so a fitted detector pickles
        and unpickles on machines without a GPU; scoring on a GPU uses a copy of them.
    inference_batch_size : int, default=256
        Beats per chunk when scoring; bounds scoring memory.
    distill : False, True, "self" or "teacher", default=False
        Knowledge distillation after FRSKD (Ji et al., 2021): the generator (student) also
        minimises ``w_kd * T**2 * KL(softmax(f_t(x) / T) || softmax(f_s(x) / T))`` plus
        ``w_feat`` times the attention transfer between the teacher's and its own encoder
        feature maps (see :mod:`beatdetect.self_improvement`). ``"self"`` (also ``True``):
        FRSKD's self-teacher, a BiFPN over the encoder's multi-scale feature maps whose code,
        decoded by the shared decoder, must reconstruct the beat, trained jointly (a third
        to a half more training time). ``"teacher"``: a plain BeatGAN with
        ``teacher_filters`` and ``teacher_epochs`` is trained first on the same beats with
        the same seed, then frozen (two stages: about twice the training time, less with a
        smaller student). ``False`` (and zero weights) is BeatGAN. Measured results, and why
        ``True`` is the self-teacher: the Self-improvement page of the documentation.
    kd_target : {"reconstruction", "latent"}, default="reconstruction"
        Output ``f`` softened by the distillation loss. ``"reconstruction"``: the softmax
        runs over the ticks of each lead of the reconstruction, which teacher and student
        share by construction (at ``T >= 1`` it acts as a soft MSE towards the teacher's
        reconstruction, the quantity the anomaly score is made of). ``"latent"``: the
        latent code, meaningful only when the teacher's code lives in the student's latent
        space (``distill="self"``).
    w_kd : float, default=1.0
        Weight of the output distillation (KL) term, history column ``kd``.
    kd_temperature : float, default=4.0
        Softening temperature ``T`` (FRSKD and Hinton et al. use 4).
    w_feat : float, default=0.1
        Weight of the attention-transfer feature distillation, history column ``feat``.
        Small because that loss lies in [0, 2] per level while the reconstruction loss is
        about 0.01 once trained (the measurement behind it: the Self-improvement page).
    self_teacher_width : int or None, default=None
        Channels of the self-teacher's refined maps; None is ``2 * base_filters``.
    teacher_filters : int or None, default=None
        ``base_filters`` of the teacher of ``distill="teacher"``; None is ``base_filters``.
        A teacher wider than the student (e.g. 32 for a student of 16) gives a faster
        deployed detector.
    teacher_epochs : int or None, default=None
        Training epochs of that teacher; None is ``max_epochs``. The teacher is exactly
        ``SIBeatGANDetector(base_filters=teacher_filters, max_epochs=teacher_epochs)`` with
        this detector's other parameters and ``random_state`` (fit that to inspect it); it
        is not kept after ``fit``.
    contrastive : bool, default=False
        SimCLR (Chen et al., 2020): two random augmentations of each real beat are a
        positive pair, the other ``2(N - 1)`` views of the batch negatives, and NT-Xent on
        a projection head over the discriminator's last feature map is added to the
        discriminator's loss (history column ``con_d``).
    contrastive_on : {"discriminator", "both"}, default="discriminator"
        ``"both"`` adds the same loss on the generator encoder's last feature map, with its
        own projection head, to the generator's loss (``con_g``).
    w_con : float, default=0.1
        Weight of the contrastive loss(es).
    con_temperature : float, default=0.5
        NT-Xent temperature ``tau``.
    augment : ECGAugment or None, default=None
        The augmentations that make the contrastive views
        (:class:`~beatdetect.nn.augment.ECGAugment`: noise, amplitude scaling, baseline
        wander, time warp, resized crop and time mask, each with probability ``p``). None is
        ``ECGAugment()``: ``noise=0.05, scale=(0.8, 1.2), wander=0.1, warp=0.2, crop=0.9,
        mask=0.1, p=0.8``. Its fields are nested parameters: pass an ``ECGAugment`` to
        search them, e.g. ``GridSearchCV(SIBeatGANDetector(augment=ECGAugment()),
        {"augment__noise": [0.02, 0.05]})``. Used only with ``contrastive=True``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and augmentation. With an int, ``fit`` is
        deterministic on CPU (same scores bit for bit). The self-improvement modules are
        initialised and draw their augmentations from their own seeds derived from it, so
        the generator and discriminator start from the same weights and see the same
        batches with or without them.
    memory : {"input", "latent", "discriminator"} or None, default="input"
        Space of the memory bank of training beats: ``"input"`` the beats themselves;
        ``"latent"`` the generator's code; ``"discriminator"`` the discriminator's last
        feature map, averaged over time (the representation ``contrastive=True`` trains).
        Each is projected on its 32 principal components. None: no memory bank. A beat
        that is one of the bank's (bit for bit) is scored against the other entries
        (leave-one-out), in ``fit`` and afterwards alike.
    memory_size : int, default=20000
        Most training beats kept in the bank (a seeded subsample); scoring cost grows with
        it.
    n_neighbors : int, default=1
        Nearest bank entries whose distances are averaged.
    w_reconstruction : float, default=0.0
        Weight of the standardised reconstruction error (BeatGAN's score) in the morphology
        score. 0 by default because adding it lowered AUC on both protocols of MIT-BIH at
        every budget measured (see the Scoring page of the documentation); the networks
        still train, for ``explain`` and ``reconstruct``.
    w_memory : float, default=1.0
        Weight of the standardised memory-bank distance in the morphology score.
    w_rhythm : float, default=1.0
        Weight of the standardised prematurity when ``rr`` is passed; 0 ignores ``rr``.
    recording_template : bool, default=True
        When ``groups`` is passed, judge beats of recordings not seen in fit against the
        nearer of the training beats (the morphology score) and their recording's median
        beat.
    verbose : int, default=0
        1: a line per epoch (losses, beats/s, elapsed, ETA); 2: also a progress bar per
        epoch and while scoring.

    Attributes
    ----------
    generator_ : Generator
        Trained autoencoder (on the CPU).
    discriminator_ : Discriminator
        Trained discriminator (on the CPU).
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    history_ : list of dict
        Per-epoch mean losses, validation error (with early stopping) and time in seconds.
    n_iter_ : int
        Epochs run.
    n_discriminator_resets_ : int
        How often the discriminator was re-initialised after its loss collapsed.
    training_precision_ : {"float32", "bfloat16"}
        Arithmetic of the training forward passes (``mixed_precision`` resolved on the
        device that trained).
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.
    memory_bank_ : MemoryBank or None
        Embeddings of training beats (``memory`` is not None).
    memory_projection_ : PCAProjection or None
        Principal axes of the bank's features (``memory`` is not None).
    score_references_ : dict of str to ScoreReference
        Median and interquartile range of each part of the score on normal beats: held-out
        training beats (``validation_fraction`` of them, not trained on) for the model's
        parts, the training beats' context for ``"recording"`` and ``"rhythm"``.
    fit_groups_ : list of str or None
        Recordings of the training beats, when ``fit`` received ``groups``.

    References
    ----------
    .. [1] Zhou, B., Liu, S., Hooi, B., Cheng, X., Ye, J. "BeatGAN: Anomalous Rhythm
       Detection using Adversarially Generated Time Series." IJCAI 2019.
    .. [2] Ji, M., Shin, S., Hwang, S., Park, G., Moon, I.-C. "Refine Myself by Teaching
       Myself: Feature Refinement via Self-Knowledge Distillation." CVPR 2021.
    .. [3] Chen, T., Kornblith, S., Norouzi, M., Hinton, G. "A Simple Framework for
       Contrastive Learning of Visual Representations." ICML 2020.

    Examples
    --------
    >>> from beatdetect import SIBeatGANDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=1024, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = SIBeatGANDetector(base_filters=8, lr=1e-3, batch_size=32, max_epochs=5,
    ...                         random_state=0)  # a small model that trains in seconds
    >>> det = det.fit(train.X)  # normal beats only, no labels
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    True
    >>> sorted(set(det.predict(test.X).tolist()))
    [-1, 1]
    >>> det.explain(test.X[:2]).shape  # per-lead, per-tick squared residual
    (2, 1, 320)
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        "base_filters": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, 10, closed="both")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "w_adv": [Interval(Real, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "beta1": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "time_warp": [TimeWarp, None],
        "score_feature_weight": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "d_reset_threshold": [Interval(Real, 0, None, closed="left")],
        "mixed_precision": [StrOptions({"auto"}), "boolean"],
        "device": [DeviceOption()],
        "inference_batch_size": [Interval(Integral, 1, None, closed="left")],
        "distill": ["boolean", StrOptions({"self", "teacher"})],
        "kd_target": [StrOptions({"reconstruction", "latent"})],
        "w_kd": [Interval(Real, 0, None, closed="left")],
        "kd_temperature": [Interval(Real, 0, None, closed="neither")],
        "w_feat": [Interval(Real, 0, None, closed="left")],
        "self_teacher_width": [Interval(Integral, 1, None, closed="left"), None],
        "teacher_filters": [Interval(Integral, 1, None, closed="left"), None],
        "teacher_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "contrastive": ["boolean"],
        "contrastive_on": [StrOptions({"discriminator", "both"})],
        "w_con": [Interval(Real, 0, None, closed="left")],
        "con_temperature": [Interval(Real, 0, None, closed="neither")],
        "augment": [ECGAugment, None],
        "memory": [StrOptions(set(MEMORY_SPACES)), None],
        "memory_size": [Interval(Integral, 1, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "w_reconstruction": [Interval(Real, 0, None, closed="left")],
        "w_memory": [Interval(Real, 0, None, closed="left")],
        **CONTEXT_PARAMETERS,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        contamination="auto",
        base_filters=32,
        n_layers=5,
        latent_dim=50,
        w_adv=1.0,
        lr=1e-3,
        beta1=0.5,
        max_epochs=10,
        lr_schedule="cosine",
        batch_size=64,
        time_warp=None,
        score_feature_weight=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=3,
        tol=0.0,
        d_reset_threshold=5e-6,
        mixed_precision="auto",
        device="auto",
        inference_batch_size=256,
        distill=False,
        kd_target="reconstruction",
        w_kd=1.0,
        kd_temperature=4.0,
        w_feat=0.1,
        self_teacher_width=None,
        teacher_filters=None,
        teacher_epochs=None,
        contrastive=False,
        contrastive_on="discriminator",
        w_con=0.1,
        con_temperature=0.5,
        augment=None,
        memory="input",
        memory_size=20000,
        n_neighbors=1,
        w_reconstruction=0.0,
        w_memory=1.0,
        w_rhythm=1.0,
        recording_template=True,
        random_state=None,
        verbose=0,
    ):
        self.contamination = contamination
        self.base_filters = base_filters
        self.n_layers = n_layers
        self.latent_dim = latent_dim
        self.w_adv = w_adv
        self.lr = lr
        self.beta1 = beta1
        self.max_epochs = max_epochs
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.time_warp = time_warp
        self.score_feature_weight = score_feature_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.d_reset_threshold = d_reset_threshold
        self.mixed_precision = mixed_precision
        self.device = device
        self.inference_batch_size = inference_batch_size
        self.distill = distill
        self.kd_target = kd_target
        self.w_kd = w_kd
        self.kd_temperature = kd_temperature
        self.w_feat = w_feat
        self.self_teacher_width = self_teacher_width
        self.teacher_filters = teacher_filters
        self.teacher_epochs = teacher_epochs
        self.contrastive = contrastive
        self.contrastive_on = contrastive_on
        self.w_con = w_con
        self.con_temperature = con_temperature
        self.augment = augment
        self.memory = memory
        self.memory_size = memory_size
        self.n_neighbors = n_neighbors
        self.w_reconstruction = w_reconstruction
        self.w_memory = w_memory
        self.w_rhythm = w_rhythm
        self.recording_template = recording_template
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self):
        """scikit-learn's check of the parameters, then of the augmentation objects' fields."""
        super()._validate_params()
        for name in ("augment", "time_warp"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                value.validate()
            except InvalidParameterError as err:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} is invalid: {err}"
                ) from None

    # ------------------------------------------------------------------ training
    def _config(self) -> BeatGANConfig:
        return BeatGANConfig(
            n_leads=self.n_leads_, length=self.beat_length_, base_filters=self.base_filters,
            n_layers=self.n_layers, latent_dim=self.latent_dim,
        )

    def _build_modules(self, cfg: BeatGANConfig, seed: int):
        with _seeded(seed):
            return Generator(cfg), Discriminator(cfg)

    def _loss_terms(self, cfg: BeatGANConfig, seed: int, X) -> list:
        """Extra loss terms of the self-improving variants (none for plain BeatGAN).

        Called after the generator and discriminator are built. Every extra module is
        initialised, and every augmentation drawn, from its own seed derived from ``seed``:
        the generator, discriminator and batch order are the same with or without terms.
        """
        from .self_improvement import (
            ContrastiveTerm,
            SelfDistillation,
            TeacherDistillation,
        )

        terms = []
        kd = {"w_kd": self.w_kd, "w_feat": self.w_feat, "temperature": self.kd_temperature,
              "kd_target": self.kd_target}
        if self.distill == "teacher":
            terms.append(TeacherDistillation(self._fit_teacher(X, seed), **kd))
        elif self.distill in (True, "self"):  # `in` compares with ==: numpy's True too
            width = self.self_teacher_width or 2 * self.base_filters
            with _seeded(_derived_seed(seed, 1)):
                terms.append(SelfDistillation(cfg, width=width, **kd))
        if self.contrastive:
            augment = self.augment if self.augment is not None else ECGAugment()
            sides = ["discriminator"] + (["generator"] if self.contrastive_on == "both" else [])
            for k, side in enumerate(sides, start=2):
                with _seeded(_derived_seed(seed, k)):
                    terms.append(ContrastiveTerm(
                        cfg, side=side, weight=self.w_con, temperature=self.con_temperature,
                        augment=augment,
                        rng=torch.Generator().manual_seed(_derived_seed(seed, 10 + k)),
                    ))
        return terms

    def _fit_teacher(self, X, seed: int) -> Generator:
        """Stage one of ``distill="teacher"``: plain BeatGAN, same beats and seed, frozen."""
        teacher = clone(self).set_params(
            distill=False, contrastive=False,
            base_filters=self.teacher_filters or self.base_filters,
            max_epochs=self.teacher_epochs or self.max_epochs,
        )
        teacher.n_leads_, teacher.beat_length_ = self.n_leads_, self.beat_length_
        if self.verbose:
            print("training the teacher", file=sys.stderr, flush=True)
        return teacher._fit_seeded(X, seed).generator_

    def _holds_out(self) -> bool:
        """Whether ``fit`` keeps ``validation_fraction`` of the beats from the networks."""
        return self.early_stopping or self._standardizes()

    def _fit(self, X, on_epoch_end=None):
        if not any(self._component_weights().values()):
            raise ValueError(
                "The score has no part: set w_reconstruction > 0, or memory and w_memory > 0."
            )
        n_min = 3 if self._holds_out() else 2
        if len(X) < n_min:
            raise ValueError(
                f"{type(self).__name__} needs at least {n_min} beats to fit (batch "
                f"normalisation), got n_samples = {len(X)}."
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self._fit_seeded(X, seed, on_epoch_end)
        self.memory_bank_ = self.memory_projection_ = None
        held_out = np.zeros(len(X), dtype=bool)
        held_out[self._held_out_index] = True
        if self.memory is not None and self.w_memory:
            self._build_memory(X[~held_out], seed)
        if not self._standardizes():
            return self
        # References from beats the networks and the bank never saw: scores of training
        # beats are too good (fitted), and would over-weight the part that fits best.
        self._held_out_references = {
            name: ScoreReference.from_scores(score)
            for name, score in self._score_components(X[held_out]).items()
        }
        return self

    def _build_memory(self, X, seed: int) -> None:
        """Memory bank of at most ``memory_size`` of the beats ``X``."""
        keep = np.arange(len(X))
        if len(X) > self.memory_size:
            rng = np.random.default_rng(_derived_seed(seed, 30))
            keep = np.sort(rng.choice(len(X), self.memory_size, replace=False))
        features = self._memory_features(X[keep])
        self.memory_projection_ = PCAProjection.fit(features, MEMORY_DIMS)
        self.memory_bank_ = MemoryBank(self.memory_projection_.transform(features),
                                       fingerprints=beat_fingerprints(X[keep]))

    def _model_references(self, X, raw: dict) -> dict:
        return dict(self._held_out_references)

    def _fit_seeded(self, X, seed: int, on_epoch_end=None):
        device = resolve_device(self.device)
        amp = autocast_dtype(device, self.mixed_precision)
        cfg = self._config()
        generator, discriminator = self._build_modules(cfg, seed)

        data = pad_beats(torch.from_numpy(X.copy()), cfg.padded_length).to(device)
        rng = torch.Generator().manual_seed(seed)
        validation = None
        self._held_out_index = np.empty(0, dtype=np.int64)
        if self._holds_out():
            order = torch.randperm(len(data), generator=rng)
            n_val = max(1, int(round(self.validation_fraction * len(data))))
            n_val = min(n_val, len(data) - 2)
            self._held_out_index = np.sort(order[:n_val].numpy())
            order = order.to(device)
            validation, data = data[order[:n_val]], data[order[n_val:]]
            if not self.early_stopping:
                validation = None  # held out for the score's references only

        trainer = GANTrainer(
            generator, discriminator, terms=self._loss_terms(cfg, seed, X), lr=self.lr,
            betas=(self.beta1, 0.999), w_adv=self.w_adv,
            d_reset_threshold=self.d_reset_threshold, batch_size=self.batch_size,
            device=device, amp_dtype=amp, augment=self.time_warp, rng=rng,
            lr_schedule=self.lr_schedule,
        )
        self.history_ = trainer.fit(
            data, validation, max_epochs=self.max_epochs,
            n_iter_no_change=self.n_iter_no_change if self.early_stopping else None,
            tol=self.tol, verbose=self.verbose, on_epoch_end=on_epoch_end,
        )
        self.n_iter_ = len(self.history_)
        self.n_discriminator_resets_ = trainer.n_discriminator_resets_
        # Recorded because the arithmetic changes the trained weights and so the scores.
        self.training_precision_ = "float32" if amp is None else str(amp).removeprefix("torch.")
        # Back to CPU: a fitted detector pickles and loads anywhere.
        self.generator_ = generator.cpu().eval()
        self.discriminator_ = discriminator.cpu().eval()
        return self

    # ------------------------------------------------------------------ scoring
    def _inference_kwargs(self) -> dict:
        device = resolve_device(self.device)
        return {"batch_size": self.inference_batch_size, "device": device,
                "amp_dtype": autocast_dtype(device, self.mixed_precision),
                "progress": self.verbose >= 2}

    def _modules_on(self, device: torch.device):
        """The fitted generator and discriminator, ready for inference on ``device``
        (see :func:`~beatdetect.inference.module_on`: never moved, so thread-safe)."""
        return module_on(self.generator_, device), module_on(self.discriminator_, device)

    def _component_weights(self) -> dict:
        return {"reconstruction": self.w_reconstruction,
                "memory": self.w_memory if self.memory is not None else 0.0}

    def _score_components(self, X, groups=None) -> dict:
        weights = self._component_weights()
        parts = {}
        if weights["reconstruction"]:
            parts["reconstruction"] = self._anomaly_score(X)
        if weights["memory"] and self.memory_bank_ is not None:
            # Beats of the bank are scored leave-one-out, in fit and afterwards alike.
            parts["memory"] = self.memory_bank_.distances(
                self._embed(X), k=self.n_neighbors, fingerprints=beat_fingerprints(X))
        return parts

    def _anomaly_score(self, X):
        kwargs = self._inference_kwargs()
        if not self.score_feature_weight:
            generator = module_on(self.generator_, kwargs["device"])
            return reconstruction_errors(generator, X, **kwargs)
        generator, discriminator = self._modules_on(kwargs["device"])
        return self._score_with_features(generator, discriminator, X, kwargs)

    def _embed(self, X) -> np.ndarray:
        """Beats in the memory bank's space: features on their principal axes, (n, 32)."""
        return self.memory_projection_.transform(self._memory_features(X))

    def _memory_features(self, X) -> np.ndarray:
        """Flattened beats, generator codes or pooled discriminator features, (n, d)."""
        if self.memory == "input":
            return X.reshape(len(X), -1)
        kwargs = self._inference_kwargs()
        generator, discriminator = self._modules_on(kwargs["device"])
        return _network_embeddings(generator, discriminator, X, self.memory, kwargs)

    @torch.inference_mode()
    def _score_with_features(self, generator, discriminator, X, kwargs):
        out = np.empty(len(X), dtype=np.float64)
        padded = generator.cfg.padded_length
        device, amp = kwargs["device"], kwargs["amp_dtype"]
        for start, x, x_hat in iter_reconstructions(generator, X, **kwargs):
            with torch.autocast(device.type, dtype=amp or torch.float32,
                                enabled=amp is not None):
                _, f_real = discriminator(pad_beats(x, padded))
                _, f_fake = discriminator(pad_beats(x_hat, padded))
            rec = (x - x_hat).pow(2).mean(dim=(1, 2))
            feat = (f_real.float() - f_fake.float()).pow(2).mean(dim=(1, 2))
            out[start:start + len(x)] = (rec + self.score_feature_weight * feat).double().cpu()
        return out

    def reconstruct(self, X) -> np.ndarray:
        """Reconstructions ``G(x)`` of the beats, float32, same shape as the 3-D input.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)

        Returns
        -------
        X_hat : ndarray of shape (n_beats, n_leads, n_samples)
        """
        check_is_fitted(self)
        X3 = self._validate_beats(X, reset=False)
        kwargs = self._inference_kwargs()
        return reconstructions(module_on(self.generator_, kwargs["device"]), X3,
                               **kwargs)

    def explain(self, X) -> np.ndarray:
        """Per-tick, per-lead squared residual ``(x - G(x))**2``: where a beat is anomalous.

        Its mean over leads and ticks is the reconstruction part of the anomaly score, so
        the explanation adds up to the score. Draw it with
        :func:`beatdetect.plotting.plot_explanation`.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)

        Returns
        -------
        residual : ndarray of shape (n_beats, n_leads, n_samples), float32
        """
        X3 = self._validate_beats(X, reset=False) if hasattr(self, "n_leads_") else None
        check_is_fitted(self)
        return (X3 - self.reconstruct(X3)) ** 2

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Save parameters and weights to a safetensors file (no pickle), atomically.

        The file is written as ``.<name>.<random>.tmp`` beside ``path`` and renamed into
        place once complete; on any error the temporary file is removed and an existing
        ``path`` is left as it was. See :mod:`beatdetect.persistence` for the format.

        Parameters
        ----------
        path : str or Path
            Destination, conventionally ``*.safetensors``; its folder must exist.

        Returns
        -------
        path : Path

        Raises
        ------
        NotFittedError
            The detector is not fitted.
        IsADirectoryError
            ``path`` is a directory.
        """
        from .persistence import save_detector

        return save_detector(self, path)

    @classmethod
    def load(cls, path, *, device=None) -> SIBeatGANDetector:
        """Load a detector written by :meth:`save`. Reads tensors and JSON only: no code runs.

        The whole file is checked before anything large is built: its parameters (with the
        constraints of ``fit``), its fitted attributes (names, types, bounds), and every
        tensor's name, shape and dtype against the networks and memory bank its parameters
        describe (see :mod:`beatdetect.persistence`).

        Parameters
        ----------
        path : str or Path
        device : {"auto", "cpu", "cuda"}, str or torch.device, optional
            The device to score on, in place of the saved ``device`` parameter: e.g.
            ``"cpu"`` for a model trained with ``device="cuda"``, on a machine without CUDA.
            By default the saved parameter is kept.

        Returns
        -------
        detector : SIBeatGANDetector
            Fitted, modules on the CPU in eval mode (moved to ``device`` when it scores).

        Raises
        ------
        ModelFileError
            The file is not a saved detector, or is damaged or inconsistent (the message
            names the file and the problem). A subclass of ``ValueError``.
        FileNotFoundError
            No file at ``path``.
        ValueError
            ``device`` is not a device, or the device to score on (given, or saved) is a
            CUDA device and CUDA is not available here.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from beatdetect import SIBeatGANDetector
        >>> from beatdetect.datasets import make_synthetic_beats
        >>> X = make_synthetic_beats(n_normal=64, n_anomalous=0, random_state=0).X
        >>> det = SIBeatGANDetector(base_filters=4, n_layers=2, latent_dim=4, max_epochs=1,
        ...                         device="cpu", random_state=0).fit(X)
        >>> path = det.save(pathlib.Path(tempfile.mkdtemp()) / "model.safetensors")
        >>> SIBeatGANDetector.load(path, device="cpu").device
        'cpu'
        """
        from .persistence import load_detector

        if device is not None:
            resolve_device(device)  # a bad device fails before the file is read
        detector = load_detector(cls, path)
        if device is not None:
            detector.device = device
        try:
            resolve_device(detector.device)
        except ValueError as err:
            raise ValueError(
                f"{path} was saved with device={detector.device!r}, which this machine "
                f"cannot use ({err}) Load it with device='cpu' (or 'auto')."
            ) from None
        return detector

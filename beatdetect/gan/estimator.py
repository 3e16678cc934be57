"""SIBeatGANDetector: BeatGAN and its self-improving terms as a scikit-learn outlier detector."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._device import DeviceOption, autocast_dtype, resolve_device
from ..base import BaseBeatDetector
from ..nn.augment import TimeWarp
from ..nn.networks import BeatGANConfig, Discriminator, Generator, pad_beats
from .checkpoint import EpochCheckpoint, fit_fingerprint
from .inference import INFERENCE_BATCH_SIZE, module_on, reconstruction_errors, reconstructions
from .options import Contrastive, Distillation
from .training import GANTrainer, precision_probe

__all__ = ["SIBeatGANDetector"]

#: Parameters that change where or how visibly a fit runs, never its result: left out of
#: the checkpoint's fingerprint, so a fit resumed on another device or quietly resumes.
RESULT_NEUTRAL_PARAMS = frozenset({"device", "verbose", "checkpoint_dir"})


def _derived_seed(seed: int, stream: int) -> int:
    """An independent seed for the ``stream``-th extra module or random stream of a fit."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed torch's global RNG for module initialisation, restoring the caller's state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _option(value, kind):
    """The settings object of a ``distill`` / ``contrastive`` value: ``True`` is the default."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return kind() if value else None
    return value


class SIBeatGANDetector(BaseBeatDetector):
    """BeatGAN heartbeat anomaly detector with scikit-learn's outlier-detector API.

    BeatGAN (Zhou et al., 2019) trains a 1-D convolutional autoencoder (the generator) on
    normal beats, regularised by a discriminator through feature matching. The anomaly
    score is BeatGAN's: a beat's mean squared reconstruction error, high for beats unlike
    the training beats. ``score_samples`` returns its negation (higher = more normal).
    Everything that changes the networks changes the score: the architecture, the loss
    weights, ``distill`` and ``contrastive``.

    The score sees each beat alone, as every published result on MIT-BIH does. To add the
    beat's recording and rhythm, wrap the detector in
    :class:`~beatdetect.context.ContextDetector`.

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
        ``max_epochs``, step by step; ``"constant"`` is BeatGAN's.
    batch_size : int, default=64
        Training mini-batch size.
    time_warp : TimeWarp or None, default=None
        BeatGAN's time-warping augmentation of the training batches
        (:class:`~beatdetect.nn.augment.TimeWarp`): every beat of every batch is warped
        before the step, e.g. ``TimeWarp(strength=0.2)``. None: no augmentation.
    distill : bool, Distillation or None, default=None
        Self-knowledge distillation after FRSKD (Ji et al., 2021): the generator also
        minimises the distillation loss of a teacher's softened reconstruction and refined
        features (:class:`~beatdetect.gan.Distillation`, whose fields are nested
        parameters: ``distill__w_kd``). ``True`` is ``Distillation()`` (the self-teacher);
        None or False is BeatGAN.
    contrastive : bool, Contrastive or None, default=None
        SimCLR (Chen et al., 2020) on the discriminator: NT-Xent between two augmented views
        of each beat, on a projection of the discriminator's last feature map, added to its
        loss (:class:`~beatdetect.gan.Contrastive`: ``contrastive__w_con``,
        ``contrastive__temperature``, ``contrastive__augment__noise``). ``True`` is
        ``Contrastive()``; None or False is BeatGAN.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training beats, stop when their
        reconstruction error has not improved for ``n_iter_no_change`` epochs, and keep the
        networks of the best epoch. Label-free.
    validation_fraction : float, default=0.1
        Fraction of the training beats held out (seeded) for early stopping.
    n_iter_no_change : int, default=3
        Epochs without improvement of the validation error before training stops.
    mixed_precision : "auto" or bool, default="auto"
        bfloat16 autocast. ``"auto"`` uses it on CUDA GPUs that support it, and on a CPU
        only when the CPU has native bfloat16 (AVX512-BF16 or AMX) and a short one-time
        measurement of a few training steps found bfloat16 at least 10 % faster than
        float32 there (the choice is remembered per process and in the user's cache
        folder, so it is stable on a machine); float32 otherwise. ``True`` forces
        bfloat16, ``False`` float32; ``training_precision_`` records what was used.
    device : {"auto", "cpu", "cuda"}, "cuda:N" or torch.device, default="auto"
        Where to train and score (checked in ``fit`` with the other parameters). Modules
        return to the CPU after ``fit``, so a fitted detector pickles and unpickles on
        machines without a GPU; scoring on a GPU uses a copy of them.
    checkpoint_dir : str, path-like or None, default=None
        Folder for a per-epoch training checkpoint (:mod:`beatdetect.gan.checkpoint`): after
        every epoch the whole training state is written to one file there, named by the
        fit's parameters, seed and beats, and a ``fit`` that finds it (the same detector on
        the same beats after an interruption) continues after its last epoch, bit for bit
        and in the arithmetic it started in. The file is removed when ``fit`` completes.
        Needs an int ``random_state`` (another seed is another fit). Only where and how
        training runs, like ``device``: it does not change the result.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and augmentation. With an int and the same
        number of torch threads, ``fit`` is deterministic on a CPU (same scores bit for
        bit). The self-improvement modules are initialised and draw their augmentations
        from their own seeds derived from it, so the generator and discriminator start
        from the same weights and see the same batches with or without them.
    verbose : int, default=0
        1: a line per epoch (losses, beats/s, elapsed, ETA) and a progress bar within each
        epoch; 2: also a progress bar while scoring.

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
    resumed_epochs_ : int
        Epochs restored from ``checkpoint_dir`` rather than trained by this ``fit`` (0 when
        it trained from the start).
    resumed_seconds_ : float
        Training time of those restored epochs, in the process that ran them.
    training_precision_ : {"float32", "bfloat16"}
        Arithmetic of the training forward passes (``mixed_precision`` resolved on the
        device that trained).
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    See Also
    --------
    beatdetect.context.ContextDetector : the score with the beat's recording and rhythm.
    beatdetect.baselines.KNNDetector : nearest neighbours on raw beats, the reference.

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
    >>> det = SIBeatGANDetector(base_filters=8, latent_dim=16, w_adv=0.1, batch_size=32,
    ...                         max_epochs=5, random_state=0)  # small: trains in seconds
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
        "distill": [Distillation, "boolean", None],
        "contrastive": [Contrastive, "boolean", None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "mixed_precision": [StrOptions({"auto"}), "boolean"],
        "device": [DeviceOption()],
        "checkpoint_dir": [str, os.PathLike, None],
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
        distill=None,
        contrastive=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=3,
        mixed_precision="auto",
        device="auto",
        checkpoint_dir=None,
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
        self.distill = distill
        self.contrastive = contrastive
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.mixed_precision = mixed_precision
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose

    def set_params(self, **params):
        """Set parameters, nested ones included (``distill__w_kd``, ``contrastive__w_con``).

        ``distill=True`` and ``contrastive=True`` mean the default settings object, so a
        nested field given with them (or set on a detector holding them) sets that field of
        ``Distillation()`` / ``Contrastive()``: a grid search over ``distill__w_kd`` works
        on ``SIBeatGANDetector(distill=True)``.

        Returns
        -------
        self : SIBeatGANDetector
        """
        for name, kind in (("distill", Distillation), ("contrastive", Contrastive)):
            value = params.get(name, getattr(self, name, None))
            if any(key.startswith(f"{name}__") for key in params) \
                    and isinstance(value, (bool, np.bool_)) and value:
                params[name] = kind()
        return super().set_params(**params)

    def _validate_params(self):
        """scikit-learn's check of the parameters, then of the settings objects' fields."""
        super()._validate_params()
        for name in ("time_warp", "distill", "contrastive"):
            value = getattr(self, name)
            if value is None or isinstance(value, (bool, np.bool_)):
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
        from ..nn.augment import ECGAugment
        from .terms import ContrastiveTerm, SelfDistillation, TeacherDistillation

        terms = []
        distill = _option(self.distill, Distillation)
        if distill is not None:
            kd = {"w_kd": distill.w_kd, "w_feat": distill.w_feat,
                  "temperature": distill.temperature}
            if distill.teacher == "beatgan":
                terms.append(TeacherDistillation(self._fit_teacher(X, seed, distill), **kd))
            else:
                width = distill.width or 2 * self.base_filters
                with _seeded(_derived_seed(seed, 1)):
                    terms.append(SelfDistillation(cfg, width=width, **kd))
        contrastive = _option(self.contrastive, Contrastive)
        if contrastive is not None:
            augment = contrastive.augment if contrastive.augment is not None else ECGAugment()
            sides = ["discriminator"] + (["generator"] if contrastive.on == "both" else [])
            for k, side in enumerate(sides, start=2):
                with _seeded(_derived_seed(seed, k)):
                    terms.append(ContrastiveTerm(
                        cfg, side=side, weight=contrastive.w_con,
                        temperature=contrastive.temperature, augment=augment,
                        rng=torch.Generator().manual_seed(_derived_seed(seed, 10 + k)),
                    ))
        return terms

    def _fit_teacher(self, X, seed: int, distill: Distillation) -> Generator:
        """Stage one of ``Distillation(teacher="beatgan")``: plain BeatGAN, same beats and
        seed, frozen."""
        teacher = clone(self).set_params(
            distill=None, contrastive=None,
            base_filters=distill.teacher_filters or self.base_filters,
            max_epochs=distill.teacher_epochs or self.max_epochs,
        )
        teacher.n_leads_, teacher.beat_length_ = self.n_leads_, self.beat_length_
        if self.verbose:
            print("training the teacher", file=sys.stderr, flush=True)
        return teacher._fit_seeded(X, seed).generator_

    def _fit(self, X, on_epoch_end=None):
        n_min = 3 if self.early_stopping else 2
        if len(X) < n_min:
            raise ValueError(
                f"{type(self).__name__} needs at least {n_min} beats to fit (batch "
                f"normalisation), got n_samples = {len(X)}."
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return self._fit_seeded(X, seed, on_epoch_end)

    def _checkpoint(self, X, seed: int) -> EpochCheckpoint | None:
        """The per-epoch checkpoint of this fit, or None without ``checkpoint_dir``."""
        if self.checkpoint_dir is None:
            return None
        if not isinstance(self.random_state, Integral):
            warnings.warn(
                f"checkpoint_dir is set but random_state={self.random_state!r} draws a new "
                "seed at every fit, so an interrupted fit cannot be resumed: its checkpoint "
                "file would be left behind. Pass an int random_state.", UserWarning,
                stacklevel=4)
        from .persistence import _to_data

        params = {name: _to_data(value) for name, value in self.get_params(deep=False).items()
                  if name not in RESULT_NEUTRAL_PARAMS}
        return EpochCheckpoint(self.checkpoint_dir, fit_fingerprint(params, X, seed))

    def _fit_seeded(self, X, seed: int, on_epoch_end=None):
        device = resolve_device(self.device)
        cfg = self._config()
        checkpoint = self._checkpoint(X, seed)
        resume = checkpoint.load(map_location=device) if checkpoint is not None else None
        if resume is not None:  # keep the arithmetic the fit started in
            saved = resume["trainer"]["amp_dtype"]
            amp = None if saved is None else getattr(torch, saved.removeprefix("torch."))
        else:
            amp = autocast_dtype(device, self.mixed_precision,
                                 probe=precision_probe(cfg, self.batch_size))
        generator, discriminator = self._build_modules(cfg, seed)

        data = pad_beats(torch.from_numpy(X.copy()), cfg.padded_length).to(device)
        rng = torch.Generator().manual_seed(seed)
        validation = None
        if self.early_stopping:
            order = torch.randperm(len(data), generator=rng)
            n_val = max(1, int(round(self.validation_fraction * len(data))))
            n_val = min(n_val, len(data) - 2)
            order = order.to(device)
            validation, data = data[order[:n_val]], data[order[n_val:]]

        trainer = GANTrainer(
            generator, discriminator, terms=self._loss_terms(cfg, seed, X), lr=self.lr,
            betas=(self.beta1, 0.999), w_adv=self.w_adv, batch_size=self.batch_size,
            device=device, amp_dtype=amp, augment=self.time_warp, rng=rng,
            lr_schedule=self.lr_schedule,
        )
        self.history_ = trainer.fit(
            data, validation, max_epochs=self.max_epochs,
            n_iter_no_change=self.n_iter_no_change if self.early_stopping else None,
            verbose=self.verbose, on_epoch_end=on_epoch_end, checkpoint=checkpoint,
            resume=resume,
        )
        if checkpoint is not None:
            checkpoint.remove()
        self.resumed_epochs_ = trainer.resumed_epochs_
        self.resumed_seconds_ = trainer.resumed_seconds_
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
        return {"batch_size": INFERENCE_BATCH_SIZE, "device": device,
                "amp_dtype": autocast_dtype(device, self.mixed_precision,
                                            probe=precision_probe(self._config(),
                                                                  self.batch_size)),
                "progress": self.verbose >= 2}

    def _anomaly_score(self, X):
        kwargs = self._inference_kwargs()
        return reconstruction_errors(module_on(self.generator_, kwargs["device"]), X, **kwargs)

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
        return reconstructions(module_on(self.generator_, kwargs["device"]), X3, **kwargs)

    def explain(self, X) -> np.ndarray:
        """Per-tick, per-lead squared residual ``(x - G(x))**2``: where a beat is anomalous.

        Its mean over leads and ticks is the anomaly score, so the explanation adds up to
        the score. Draw it with :func:`beatdetect.plotting.plot_explanation`.

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

        See :func:`beatdetect.gan.persistence.save_model`, which also saves the detector
        inside a fitted :class:`~beatdetect.context.ContextDetector`.

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
        from .persistence import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load a model written by :meth:`save` (or :func:`~beatdetect.gan.persistence.save_model`).

        Reads tensors and JSON only: no code runs. The whole file is checked before anything
        large is built, and its content against the hash written with it (see
        :mod:`beatdetect.gan.persistence`).

        Parameters
        ----------
        path : str or Path
        device : {"auto", "cpu", "cuda"}, str or torch.device, optional
            The device to score on, in place of the saved ``device`` parameter: e.g.
            ``"cpu"`` for a model trained with ``device="cuda"``, on a machine without CUDA.

        Returns
        -------
        model : SIBeatGANDetector, or ContextDetector
            Fitted, modules on the CPU in eval mode; a
            :class:`~beatdetect.context.ContextDetector` around the detector when the file
            was saved from one.

        Raises
        ------
        ModelFileError
            The file is not a saved detector, or is damaged, changed or inconsistent (the
            message names the file and the problem). A subclass of ``ValueError``.
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
        from .persistence import load_model

        return load_model(path, device=device)

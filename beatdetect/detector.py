"""SIBeatGANDetector: BeatGAN (and its self-improving terms) as a scikit-learn outlier detector."""

from __future__ import annotations

import json
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._device import autocast_dtype, resolve_device
from .base import BaseBeatDetector
from .nn.networks import BeatGANConfig, Discriminator, Generator, init_weights, pad_beats
from .training import GANTrainer, iter_reconstructions, reconstruction_errors

__all__ = ["SIBeatGANDetector"]

#: Format tag written into saved files; bump when the layout changes.
_SAVE_FORMAT = "beatdetect.SIBeatGANDetector/1"


class SIBeatGANDetector(BaseBeatDetector):
    """BeatGAN heartbeat anomaly detector with scikit-learn's outlier-detector API.

    BeatGAN (Zhou et al., 2019) trains a 1-D convolutional autoencoder (the generator) on
    normal beats, regularised by a discriminator through feature matching. A beat's anomaly
    score is its mean squared reconstruction error: beats unlike the training beats are
    reconstructed poorly. ``score_samples`` returns the negated error (higher = more normal).

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
    lr : float, default=1e-4
        Adam learning rate of both networks.
    beta1 : float, default=0.5
        Adam's first-moment decay (BeatGAN: 0.5; beta2 is 0.999).
    max_epochs : int, default=10
        Passes over the training beats.
    batch_size : int, default=64
        Training mini-batch size.
    time_warp : float, default=0.0
        Strength of BeatGAN's time-warping augmentation of training batches (0 = off).
    score_feature_weight : float, default=0.0
        Adds ``score_feature_weight * ||f_D(x) - f_D(G(x))||^2`` (the discriminator-feature
        residual) to the reconstruction error in the anomaly score. 0 is BeatGAN's score.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training beats, stop when their
        reconstruction error has not improved for ``n_iter_no_change`` epochs, and keep the
        best generator. Label-free.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=3
    tol : float, default=0.0
        Minimum improvement of the validation error that resets the patience counter.
    d_reset_threshold : float, default=5e-6
        Re-initialise the discriminator when its loss falls below this (paper's code).
    mixed_precision : "auto" or bool, default="auto"
        bfloat16 autocast. ``"auto"`` enables it where the hardware runs bfloat16 natively
        (CPUs with AMX / AVX512-BF16, CUDA GPUs with bf16 support).
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where to train and score. Modules return to the CPU after ``fit``, so a fitted
        detector pickles and unpickles on machines without a GPU.
    inference_batch_size : int, default=4096
        Beats per chunk when scoring; bounds scoring memory.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and augmentation. With an int, ``fit`` is
        deterministic on CPU (same scores bit for bit).
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
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    References
    ----------
    .. [1] Zhou, B., Liu, S., Hooi, B., Cheng, X., Ye, J. "BeatGAN: Anomalous Rhythm
       Detection using Adversarially Generated Time Series." IJCAI 2019.

    Examples
    --------
    >>> from beatdetect import SIBeatGANDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=512, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = SIBeatGANDetector(max_epochs=5, random_state=0).fit(train.X)
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    True
    >>> det.predict(test.X[:3]).tolist()  # doctest: +SKIP
    [1, 1, 1]
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
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "time_warp": [Interval(Real, 0, 1, closed="both")],
        "score_feature_weight": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "d_reset_threshold": [Interval(Real, 0, None, closed="left")],
        "mixed_precision": [StrOptions({"auto"}), "boolean"],
        "device": [str, torch.device],
        "inference_batch_size": [Interval(Integral, 1, None, closed="left")],
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
        lr=1e-4,
        beta1=0.5,
        max_epochs=10,
        batch_size=64,
        time_warp=0.0,
        score_feature_weight=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=3,
        tol=0.0,
        d_reset_threshold=5e-6,
        mixed_precision="auto",
        device="auto",
        inference_batch_size=4096,
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
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ training
    def _config(self) -> BeatGANConfig:
        return BeatGANConfig(
            n_leads=self.n_leads_, length=self.beat_length_, base_filters=self.base_filters,
            n_down=self.n_layers, latent_dim=self.latent_dim,
        )

    def _build_modules(self, cfg: BeatGANConfig, seed: int):
        # fork_rng: seeding the module initialisation must not disturb the caller's RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator = Generator(cfg)
            discriminator = Discriminator(cfg)
            generator.apply(init_weights)
            discriminator.apply(init_weights)
        return generator, discriminator

    def _loss_terms(self, cfg: BeatGANConfig, seed: int) -> list:
        """Extra loss terms of the self-improving variants (none for plain BeatGAN)."""
        return []

    def _augment(self):
        if not self.time_warp:
            return None
        from .nn.augment import time_warp

        strength = self.time_warp
        return lambda x, rng: time_warp(x, strength, generator=rng)

    def _fit(self, X):
        n_min = 2 if not self.early_stopping else 3
        if len(X) < n_min:
            raise ValueError(
                f"{type(self).__name__} needs at least {n_min} beats to fit (batch "
                f"normalisation), got n_samples = {len(X)}."
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        device = resolve_device(self.device)
        amp = autocast_dtype(device, self.mixed_precision)
        cfg = self._config()
        generator, discriminator = self._build_modules(cfg, seed)

        data = pad_beats(torch.from_numpy(X.copy()), cfg.padded_length).to(device)
        rng = torch.Generator().manual_seed(seed)
        validation = None
        if self.early_stopping:
            order = torch.randperm(len(data), generator=rng).to(device)
            n_val = max(1, int(round(self.validation_fraction * len(data))))
            n_val = min(n_val, len(data) - 2)
            validation, data = data[order[:n_val]], data[order[n_val:]]

        trainer = GANTrainer(
            generator, discriminator, terms=self._loss_terms(cfg, seed), lr=self.lr,
            betas=(self.beta1, 0.999), w_adv=self.w_adv,
            d_reset_threshold=self.d_reset_threshold, batch_size=self.batch_size,
            device=device, amp_dtype=amp, augment=self._augment(), rng=rng,
        )
        self.history_ = trainer.fit(
            data, validation, max_epochs=self.max_epochs,
            n_iter_no_change=self.n_iter_no_change if self.early_stopping else None,
            tol=self.tol, verbose=self.verbose,
        )
        self.n_iter_ = len(self.history_)
        self.n_discriminator_resets_ = trainer.n_discriminator_resets_
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
        return self.generator_.to(device), self.discriminator_.to(device)

    def _anomaly_score(self, X):
        kwargs = self._inference_kwargs()
        generator, discriminator = self._modules_on(kwargs["device"])
        try:
            if not self.score_feature_weight:
                return reconstruction_errors(generator, X, **kwargs)
            return self._score_with_features(generator, discriminator, X, kwargs)
        finally:
            self._modules_on(torch.device("cpu"))

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
        generator, _ = self._modules_on(kwargs["device"])
        out = np.empty_like(X3)
        try:
            for start, x, x_hat in iter_reconstructions(generator, X3, **kwargs):
                out[start:start + len(x)] = x_hat.cpu().numpy()
        finally:
            self._modules_on(torch.device("cpu"))
        return out

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
        """Save parameters and weights to a safetensors file (no pickle).

        Parameters
        ----------
        path : str or Path
            Destination, conventionally ``*.safetensors``.

        Returns
        -------
        path : Path
        """
        from safetensors.torch import save_file

        check_is_fitted(self)
        params = {k: (str(v) if isinstance(v, torch.device) else v)
                  for k, v in self.get_params().items()}
        if not isinstance(params["random_state"], (int, type(None))):
            params["random_state"] = None  # a RandomState instance is not reproducible data
        state = {
            "params": params,
            "fitted": {
                "offset_": self.offset_, "n_leads_": self.n_leads_,
                "beat_length_": self.beat_length_, "n_features_in_": self.n_features_in_,
                "n_iter_": self.n_iter_, "history_": self.history_,
                "n_discriminator_resets_": self.n_discriminator_resets_,
            },
        }
        tensors = {f"generator.{k}": v.contiguous() for k, v in
                   self.generator_.state_dict().items()}
        tensors.update({f"discriminator.{k}": v.contiguous() for k, v in
                        self.discriminator_.state_dict().items()})
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp), metadata={"format": _SAVE_FORMAT,
                                               "state": json.dumps(state)})
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> SIBeatGANDetector:
        """Load a detector written by :meth:`save`. Reads tensors and JSON only: no code runs.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        detector : SIBeatGANDetector
            Fitted, modules on the CPU.
        """
        from safetensors import safe_open

        path = Path(path)
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            if metadata.get("format") != _SAVE_FORMAT:
                raise ValueError(
                    f"{path} is not a saved {cls.__name__} (format "
                    f"{metadata.get('format')!r}, expected {_SAVE_FORMAT!r})."
                )
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open is no dict)
        state = json.loads(metadata["state"])
        detector = cls(**state["params"])
        for name, value in state["fitted"].items():
            setattr(detector, name, value)
        cfg = detector._config()
        generator, discriminator = Generator(cfg), Discriminator(cfg)
        for prefix, module in (("generator.", generator), ("discriminator.", discriminator)):
            module.load_state_dict(
                {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            )
        detector.generator_, detector.discriminator_ = generator.eval(), discriminator.eval()
        return detector

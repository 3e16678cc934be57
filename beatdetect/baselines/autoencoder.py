"""Autoencoder baseline on skorch: BeatGAN's generator trained without the adversarial term."""

from __future__ import annotations

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._device import DeviceOption, resolve_device
from ..base import BaseBeatDetector
from ..exceptions import TrainingDivergedError
from ..gan.inference import module_on, reconstruction_errors, reconstructions
from ..nn.networks import BeatGANConfig, Generator, pad_beats

__all__ = ["AutoencoderDetector", "BeatAutoencoder"]


class BeatAutoencoder(nn.Module):
    """BeatGAN's generator as a plain reconstruction module: (B, C, L) -> (B, C, L).

    Beats are right-padded to the network's length (a multiple of ``2**n_layers``) with
    :func:`~beatdetect.nn.networks.pad_beats` and the reconstruction is cropped back, so
    any beat length works. Weights use BeatGAN's (DCGAN) initialisation.

    Parameters
    ----------
    n_leads : int, default=1
    length : int, default=320
        Beat length in samples (before padding).
    base_filters, n_layers, latent_dim : int
        Sizes of :class:`~beatdetect.nn.networks.Generator` (defaults: the published 32, 5,
        50).

    Examples
    --------
    >>> import torch
    >>> ae = BeatAutoencoder(n_leads=2, length=300, base_filters=4, n_layers=3, latent_dim=8)
    >>> ae.cfg.padded_length, ae(torch.zeros(5, 2, 300)).shape
    (304, torch.Size([5, 2, 300]))
    """

    def __init__(self, n_leads=1, length=320, base_filters=32, n_layers=5, latent_dim=50):
        super().__init__()
        self.cfg = BeatGANConfig(n_leads=n_leads, length=length, base_filters=base_filters,
                                 n_layers=n_layers, latent_dim=latent_dim)
        self.generator = Generator(self.cfg)  # BeatGAN's initialisation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_hat, _, _ = self.generator(pad_beats(x, self.cfg.padded_length))  # (B, C, padded)
        return x_hat[..., : x.shape[-1]]  # crop back to (B, C, L)


class AutoencoderDetector(BaseBeatDetector):
    """Reconstruction-error detector with a torch autoencoder trained by skorch.

    The default module is BeatGAN's generator (:class:`BeatAutoencoder`) trained with the
    mean squared reconstruction error alone: BeatGAN without its adversarial term, the
    "AE" row of BeatGAN's table and the cleanest ablation of the GAN. Same architecture,
    same optimiser (Adam, lr 1e-4, betas (0.5, 0.999)), same batch size and the same
    anomaly score (the per-beat mean squared reconstruction error) as
    :class:`~beatdetect.SIBeatGANDetector`, so a difference between the two measures what
    the discriminator adds. (The two draw initial weights and batch order from different
    random streams, so compare them over seeds, not bit for bit; ``SIBeatGANDetector(
    w_adv=0)`` is the ablation inside the GAN's own training loop.) ``score_samples``
    returns the negated error (higher = more normal).

    Any torch module that maps a float32 batch of beats (B, C, L) to a reconstruction of
    the same shape can replace the default through ``module``.

    Parameters
    ----------
    module : torch.nn.Module class, instance or None, default=None
        The autoencoder. ``None``: :class:`BeatAutoencoder` sized by ``base_filters``,
        ``n_layers`` and ``latent_dim`` for the training beats' leads and length. A class
        is instantiated in ``fit`` as ``module(**module_params)`` under the seeded RNG; an
        instance is deep-copied (never modified) and trained from its current weights.
    module_params : dict or None, default=None
        Keyword arguments of a ``module`` class.
    base_filters : int, default=32
        Filters of the default module's first convolution, doubled by each layer.
    n_layers : int, default=5
        Stride-2 convolution layers of the default module's encoder.
    latent_dim : int, default=50
        Size of the default module's latent code.
    lr : float, default=1e-4
        Adam learning rate.
    beta1 : float, default=0.5
        Adam's first-moment decay (beta2 is 0.999), as in BeatGAN.
    max_epochs : int, default=10
        Passes over the training beats.
    batch_size : int, default=64
        Training mini-batch size. A final batch of a single beat is dropped (batch
        normalisation cannot train on one beat); ``fit`` needs at least 2 beats.
    device : {"auto", "cpu", "cuda"}, "cuda:N" or torch.device, default="auto"
        Where to train and score (a CPU or CUDA device; checked in ``fit`` with the other
        parameters); ``"auto"`` picks CUDA when available. The module returns to the CPU
        after ``fit`` so a fitted detector pickles and loads anywhere.
    inference_batch_size : int, default=256
        Beats per chunk when scoring.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and batch order inside ``fit`` (with
        :func:`torch.random.fork_rng`: the global torch RNG is left as it was). With an
        int, ``fit`` is deterministic on CPU.
    verbose : int, default=0
        1: skorch's per-epoch table of the training loss.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``: ``"auto"`` is Tukey's fence on the training scores (see
        :func:`beatdetect.base.tukey_offset`); a float is the expected fraction of anomalies.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained autoencoder, on the CPU, in eval mode.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (mean squared error) and ``dur`` (seconds).
    n_iter_ : int
        Epochs run.
    training_precision_ : str
        ``"float32"``: skorch trains without autocast.
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    See Also
    --------
    beatdetect.SIBeatGANDetector : the same generator with the adversarial term.
    PCADetector : the linear reconstruction baseline.

    References
    ----------
    .. [1] Zhou, B., Liu, S., Hooi, B., Cheng, X., Ye, J. "BeatGAN: Anomalous Rhythm
       Detection using Adversarially Generated Time Series." IJCAI 2019 (Table 2, "AE").
    .. [2] Tietz, M., Fan, T. J., Nouri, D., Bossan, B., skorch Developers. "skorch: A
       scikit-learn compatible neural network library that wraps PyTorch." 2017.

    Examples
    --------
    >>> from beatdetect.baselines import AutoencoderDetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=256, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = AutoencoderDetector(base_filters=8, latent_dim=16, lr=1e-3, batch_size=16,
    ...                           max_epochs=8, device="cpu", random_state=0).fit(train.X)
    >>> det.n_iter_, det.module_.training
    (8, False)
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        "module": [None, callable],
        "module_params": [dict, None],
        "base_filters": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, 10, closed="both")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "beta1": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "device": [DeviceOption()],
        "inference_batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        module=None,
        module_params=None,
        base_filters=32,
        n_layers=5,
        latent_dim=50,
        lr=1e-4,
        beta1=0.5,
        max_epochs=10,
        batch_size=64,
        device="auto",
        inference_batch_size=256,
        random_state=None,
        verbose=0,
        contamination="auto",
    ):
        self.module = module
        self.module_params = module_params
        self.base_filters = base_filters
        self.n_layers = n_layers
        self.latent_dim = latent_dim
        self.lr = lr
        self.beta1 = beta1
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.device = device
        self.inference_batch_size = inference_batch_size
        self.random_state = random_state
        self.verbose = verbose
        self.contamination = contamination

    # ------------------------------------------------------------------ training
    def _module_and_kwargs(self):
        """The module (class or copied instance) and its ``module__`` kwargs for skorch."""
        if self.module is None:
            return BeatAutoencoder, {
                "n_leads": self.n_leads_, "length": self.beat_length_,
                "base_filters": self.base_filters, "n_layers": self.n_layers,
                "latent_dim": self.latent_dim,
            }
        if isinstance(self.module, nn.Module):
            if self.module_params:
                raise ValueError(
                    "module_params configure a module class; got a module instance, which is "
                    "already built. Pass the class, or drop module_params."
                )
            return copy.deepcopy(self.module), {}
        return self.module, dict(self.module_params or {})

    def _build_net(self, n_beats: int, device: torch.device):
        from skorch import NeuralNet

        module, module_kwargs = self._module_and_kwargs()
        return NeuralNet(
            module,
            criterion=nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=self.lr,
            optimizer__betas=(self.beta1, 0.999),
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            # Drop the last batch only when it holds a single beat (batch normalisation).
            iterator_train__drop_last=n_beats % self.batch_size == 1,
            train_split=None,
            device=str(device),
            verbose=self.verbose,
            **{f"module__{key}": value for key, value in module_kwargs.items()},
        )

    def _fit(self, X):
        if len(X) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 beats to fit (batch normalisation), "
                f"got n_samples = {len(X)}."
            )
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        device = resolve_device(self.device)
        fork_devices = []
        if device.type == "cuda":
            fork_devices = [device.index if device.index is not None
                            else torch.cuda.current_device()]
        net = self._build_net(len(X), device)
        # Seed initialisation and shuffling without touching the caller's global RNG.
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(seed)
            net.initialize()
            self._check_module_output(net.module_, X[:2], device)
            net.partial_fit(X, X)
        self.history_ = [{"epoch": int(row["epoch"]), "train_loss": float(row["train_loss"]),
                          "dur": float(row["dur"])} for row in net.history]
        self.n_iter_ = len(self.history_)
        self.training_precision_ = "float32"
        if not all(math.isfinite(row["train_loss"]) for row in self.history_):
            raise TrainingDivergedError(
                "Training diverged: the reconstruction loss became NaN or infinite. Lower lr "
                "or check the input scaling."
            )
        # Back to CPU: a fitted detector pickles and loads anywhere.
        self.module_ = net.module_.cpu().eval()
        return self

    @staticmethod
    @torch.no_grad()
    def _check_module_output(module: nn.Module, x: np.ndarray, device: torch.device) -> None:
        was_training = module.training
        module.eval()
        try:
            out = module(torch.from_numpy(x).to(device))
        finally:
            module.train(was_training)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                "The autoencoder module must return one tensor shaped like its input "
                f"(batch, n_leads, n_samples) = {x.shape}; got {got}."
            )

    # ------------------------------------------------------------------ scoring
    def _on_device(self, fn, X):
        """Run ``fn(module, X, **kwargs)`` on the scoring device. The fitted module is
        never moved (:func:`~beatdetect.gan.inference.module_on`), so threads may share it."""
        device = resolve_device(self.device)
        return fn(module_on(self.module_, device), X, batch_size=self.inference_batch_size,
                  device=device)

    def _anomaly_score(self, X):
        return self._on_device(reconstruction_errors, X)

    def reconstruct(self, X) -> np.ndarray:
        """Reconstructions of the beats, float32, same shape as the 3-D input.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)

        Returns
        -------
        X_hat : ndarray of shape (n_beats, n_leads, n_samples)
        """
        check_is_fitted(self)
        return self._on_device(reconstructions, self._validate_beats(X, reset=False))

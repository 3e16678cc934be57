"""Budget presets of the benchmark: how many folds, seeds, training beats and epochs.

A :class:`Preset` fixes everything that sets the cost of a benchmark run; the command line
and :func:`~beatdetect.benchmark.run_benchmark` start from a named preset and override
single fields (``--folds``, ``--epochs``...). The numbers below are what the README reports
and what was measured on the development machine (a 2-core CPU).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["BEATS_ALONE_MODELS", "CONTEXT_MODELS", "DEFAULT_MODELS", "PRESETS", "Preset",
           "get_preset"]

#: Detectors benchmarked when none are named, each in both settings. *Beats alone* (the
#: published protocol: the beat window only, as BeatGAN, Anobeat and EB-GAME report): the
#: GAN at its defaults and the baselines of BeatGAN's Table 2, with nearest neighbours on raw
#: beats as the label-free reference. *With context* (``groups`` and ``rr``: the beat's
#: recording and RR intervals, :class:`~beatdetect.context.ContextDetector`): the same
#: detectors in context, and the context-only references (the recording's own median beat,
#: RR prematurity).
BEATS_ALONE_MODELS = ("sibeatgan", "knn", "ae", "pca", "iforest")
CONTEXT_MODELS = (*(f"{name}+context" for name in BEATS_ALONE_MODELS), "template", "rhythm")
DEFAULT_MODELS = (*BEATS_ALONE_MODELS, *CONTEXT_MODELS)
#: The evaluation protocols (see :mod:`beatdetect.benchmark.protocols`).
PROTOCOLS = ("intra", "inter", "transfer")


@dataclass(frozen=True)
class Preset:
    """What a benchmark run covers and how much it may spend.

    Parameters
    ----------
    name : str
        Label written into the results.
    protocols : tuple of {"intra", "inter", "transfer"}
        ``"intra"``: BeatGAN's intra-patient 5-fold protocol; ``"inter"``: de Chazal's
        DS1 -> DS2 inter-patient protocol (a single split, reported as fold 0);
        ``"transfer"``: trained as ``"inter"``, tested on every beat of the QT Database's
        excerpts of four other databases (:func:`~beatdetect.datasets.load_qtdb`).
    folds : tuple of int
        Folds of the intra-patient protocol to run (each in ``range(n_folds)``).
    n_folds : int
        Folds the normal beats are split into (BeatGAN: 5).
    seeds : tuple of int
        Seeds; each seeds the detector (``random_state``) and the training subsample.
    max_train : int or None
        Train on a seeded subsample of this many normal beats of the training split (the
        same subsample for every model of a fold and seed); None trains on all of them.
    epochs : int or None
        ``max_epochs`` of the detectors that have one (SI-BeatGAN, AE); None keeps theirs.
    batch_size : int or None
        ``batch_size`` of the detectors that have one; None keeps theirs.
    models : tuple of str
        Detectors run when the caller names none (:func:`beatdetect.baselines.make_detector`).
    model_params : mapping of str to mapping
        Default parameters per model label (or detector name), under the caller's own.
    description : str
        One line for ``--help`` and the results.
    """

    name: str
    protocols: tuple[str, ...] = ("intra",)
    folds: tuple[int, ...] = (0,)
    n_folds: int = 5
    seeds: tuple[int, ...] = (0,)
    max_train: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    models: tuple[str, ...] = DEFAULT_MODELS
    model_params: Mapping[str, Mapping] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        for name in ("protocols", "folds", "seeds", "models"):
            value = getattr(self, name)
            if isinstance(value, (str, int)):
                value = (value,)
            object.__setattr__(self, name, tuple(value))
        unknown = [p for p in self.protocols if p not in PROTOCOLS]
        if unknown or not self.protocols:
            raise ValueError(f"protocols must be among {PROTOCOLS}, got {list(self.protocols)}.")
        if isinstance(self.n_folds, bool) or not isinstance(self.n_folds, int) or self.n_folds < 2:
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}.")
        bad = [f for f in self.folds if isinstance(f, bool) or not isinstance(f, int)
               or not 0 <= f < self.n_folds]
        if bad or not self.folds:
            raise ValueError(f"folds must be integers in [0, {self.n_folds - 1}], got "
                             f"{list(self.folds)}.")
        if not self.seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                     for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {list(self.seeds)}.")
        for name in ("max_train", "epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < (2 if name != "epochs" else 1)):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}.")
        if not self.models:
            raise ValueError("models is empty: name at least one detector.")

    def replace(self, **changes) -> Preset:
        """A copy with some fields changed (a ``None`` value sets the field to None).

        Examples
        --------
        >>> PRESETS["quick"].replace(folds=(0, 1)).folds
        (0, 1)
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-friendly dict of the fields."""
        out = dataclasses.asdict(self)
        out["model_params"] = {k: dict(v) for k, v in self.model_params.items()}
        return out


#: The budget presets. They change only the budget; every detector keeps its own defaults.
PRESETS = {
    "quick": Preset(
        name="quick",
        protocols=("intra", "inter"),
        folds=(0,),
        seeds=(0,),
        max_train=3000,
        epochs=4,
        batch_size=64,
        description="intra-patient fold 0 and inter-patient DS1 -> DS2, seed 0, 3,000 "
        "training beats, 4 epochs, every default model on beats alone and in context: "
        "about 8 minutes on a 2-core CPU; checks the whole pipeline on both protocols, far "
        "below the paper's budget",
    ),
    "cpu": Preset(
        name="cpu",
        protocols=("intra", "inter"),
        folds=(0, 1, 2, 3, 4),
        seeds=(0, 1, 2),
        max_train=5000,
        epochs=4,
        batch_size=64,
        model_params={"ocsvm": {"max_train": 5000}},
        description="both protocols, all 5 folds, seeds 0-2, 5,000 training beats, 4 epochs: "
        "about 4 h on one core of a 2-core CPU for the default models (resumable; "
        "--n-jobs 2 halves it)",
    ),
    "paper": Preset(
        name="paper",
        protocols=("intra",),
        folds=(0, 1, 2, 3, 4),
        seeds=(0,),
        max_train=None,
        epochs=100,
        batch_size=64,
        model_params={"ocsvm": {"max_train": 10000}},
        description="BeatGAN's published budget: intra-patient, all 5 folds, all training "
        "beats, 100 epochs, batch 64 (OCSVM on 10,000 beats); for GPUs",
    ),
}


def get_preset(preset="quick", **changes) -> Preset:
    """A preset by name (or a :class:`Preset`), with some fields overridden.

    Parameters
    ----------
    preset : str or Preset, default="quick"
        ``"quick"``, ``"cpu"`` or ``"paper"``.
    **changes
        Fields of :class:`Preset` to override. ``None`` values are ignored (the preset's
        value stays); to set a field to None, e.g. ``max_train`` (train on every beat),
        use :meth:`Preset.replace`.

    Returns
    -------
    preset : Preset

    Examples
    --------
    >>> get_preset("quick", seeds=[0, 1]).seeds
    (0, 1)
    >>> get_preset("paper").epochs
    100
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"Unknown preset {preset!r}; the presets are {', '.join(PRESETS)}.")
        preset = PRESETS[preset]
    elif not isinstance(preset, Preset):
        raise TypeError(f"preset must be a name or a Preset, got {type(preset).__name__}.")
    fields = {f.name for f in dataclasses.fields(Preset)}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise TypeError(f"Unknown preset field(s) {unknown}; the fields are {sorted(fields)}.")
    changes = {k: v for k, v in changes.items() if v is not None}
    return preset.replace(**changes) if changes else preset

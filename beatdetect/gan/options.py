"""Settings of SI-BeatGAN's two self-improvement terms: ``distill=`` and ``contrastive=``.

:class:`Distillation` and :class:`Contrastive` hold the weights, temperatures and choices of
each term, so the detector's constructor keeps one parameter per term and a grid search
reaches the fields as nested parameters (``distill__w_kd``, ``contrastive__temperature``,
``contrastive__augment__noise``), as it reaches a pipeline step's. ``True`` means the
default object. Both are scikit-learn estimators in the parameter sense (``get_params`` /
``set_params``, ``clone``, ``repr``) and check their fields in :meth:`validate`, which
the detector calls in ``fit``.
"""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..nn.augment import ECGAugment, _Transform

__all__ = ["Contrastive", "Distillation"]


class Distillation(_Transform):
    """Self-knowledge distillation after FRSKD (Ji et al., 2021): the ``distill`` parameter.

    The generator (the student) minimises ``L_G + L_KD`` with ``L_KD = w_kd * T**2 *
    KL(softmax(x_t / T) || softmax(x_s / T)) + w_feat * AT``: the KL divergence between the
    teacher's and the student's reconstructions softened over the ticks of each lead, and
    the attention transfer between the teacher's (refined) and the student's encoder feature
    maps (see :mod:`beatdetect.gan.terms`).

    Parameters
    ----------
    teacher : {"self", "beatgan"}, default="self"
        ``"self"``: FRSKD's self-teacher, a BiFPN over the student encoder's multi-scale
        feature maps whose code, decoded by the shared decoder, must reconstruct the beat,
        trained jointly (a third to a half more training time). ``"beatgan"``: a plain
        BeatGAN with ``teacher_filters`` and ``teacher_epochs`` trained first on the same
        beats with the same seed, then frozen (about twice the training time, less with a
        smaller student).
    w_kd : float >= 0, default=1.0
        Weight of the output (KL) term, history column ``kd``.
    temperature : float > 0, default=4.0
        Softening temperature ``T`` (FRSKD and Hinton et al. use 4).
    w_feat : float >= 0, default=0.1
        Weight of the attention transfer, history column ``feat``. Small because that loss
        lies in [0, 2] per level while the reconstruction loss is about 0.01 once trained.
    width : int or None, default=None
        Channels of the self-teacher's refined maps; None is twice the detector's
        ``base_filters``.
    teacher_filters : int or None, default=None
        ``base_filters`` of the ``"beatgan"`` teacher; None is the detector's.
    teacher_epochs : int or None, default=None
        Training epochs of the ``"beatgan"`` teacher; None is the detector's ``max_epochs``.

    Examples
    --------
    >>> from beatdetect.gan import Distillation
    >>> Distillation(w_kd=2.0).validate()
    Distillation(w_kd=2.0)
    """

    _parameter_constraints: dict = {
        "teacher": [StrOptions({"self", "beatgan"})],
        "w_kd": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "w_feat": [Interval(Real, 0, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left"), None],
        "teacher_filters": [Interval(Integral, 1, None, closed="left"), None],
        "teacher_epochs": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, teacher="self", w_kd=1.0, temperature=4.0, w_feat=0.1, width=None,
                 teacher_filters=None, teacher_epochs=None):
        self.teacher = teacher
        self.w_kd = w_kd
        self.temperature = temperature
        self.w_feat = w_feat
        self.width = width
        self.teacher_filters = teacher_filters
        self.teacher_epochs = teacher_epochs


class Contrastive(_Transform):
    """SimCLR (Chen et al., 2020) on the discriminator's features: the ``contrastive`` parameter.

    Two random augmentations of each real beat are a positive pair, the other ``2(N - 1)``
    views of the batch negatives; NT-Xent with temperature ``tau`` on a projection head
    over the discriminator's last feature map is added to the discriminator's loss
    (history column ``con_d``).

    Parameters
    ----------
    w_con : float >= 0, default=0.1
        Weight of the contrastive loss(es).
    temperature : float > 0, default=0.5
        NT-Xent temperature ``tau``.
    augment : ECGAugment or None, default=None
        The augmentations that make the two views
        (:class:`~beatdetect.nn.augment.ECGAugment`); None is ``ECGAugment()``. Pass an
        object to search its fields (``contrastive__augment__noise``).
    on : {"discriminator", "both"}, default="discriminator"
        ``"both"`` adds the same loss on the generator encoder's last feature map, with its
        own projection head, to the generator's loss (history column ``con_g``).

    Examples
    --------
    >>> from beatdetect.gan import Contrastive
    >>> from beatdetect.nn.augment import ECGAugment
    >>> Contrastive(augment=ECGAugment(noise=0.02)).get_params()["augment__noise"]
    0.02
    """

    _parameter_constraints: dict = {
        "w_con": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "augment": [ECGAugment, None],
        "on": [StrOptions({"discriminator", "both"})],
    }

    def __init__(self, *, w_con=0.1, temperature=0.5, augment=None, on="discriminator"):
        self.w_con = w_con
        self.temperature = temperature
        self.augment = augment
        self.on = on

    def validate(self):
        """Check the fields, and those of ``augment``; return ``self``."""
        super().validate()
        if self.augment is not None:
            self.augment.validate()
        return self

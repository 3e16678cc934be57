"""PCA reconstruction error: the "PCA" baseline of BeatGAN's results table."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from ..base import BaseBeatDetector
from .flatten import flatten_beats

__all__ = ["PCADetector"]

_PCA_PARAMS = ("n_components", "whiten", "svd_solver", "random_state")


class PCADetector(BaseBeatDetector):
    """Anomaly score = squared error of a beat's reconstruction from its principal components.

    Beats are flattened to rows (leads one after the other), a
    :class:`~sklearn.decomposition.PCA` is fitted on the training beats, and a beat's anomaly
    score is the mean squared distance between the beat and its projection onto the
    principal subspace (Shyu et al., 2003): the linear counterpart of BeatGAN's autoencoder
    score. ``score_samples`` returns the negated error (higher = more normal).

    Parameters
    ----------
    n_components : int, float in (0, 1), "mle" or None, default=0.95
        Components kept, as in :class:`~sklearn.decomposition.PCA`. The default keeps the
        fewest components that explain 95% of the training variance, which adapts to any
        beat length. ``None`` keeps every component: training beats are then reconstructed
        exactly and the score only sees directions unseen in training.
    whiten : bool, default=False
        Forwarded to the PCA. Whitening rescales the components, not the subspace, so it
        leaves the reconstruction error (and the score) unchanged; it only matters when
        ``pca_`` is reused as a transformer.
    svd_solver : {"auto", "full", "covariance_eigh", "arpack", "randomized"}, default="auto"
        Forwarded to the PCA.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized and arpack solvers.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``: ``"auto"`` is Tukey's fence on the training scores (see
        :func:`beatdetect.base.tukey_offset`); a float is the expected fraction of anomalies.

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
        The fitted PCA on flattened beats.
    offset_ : float
        Threshold on ``score_samples``: ``decision_function = score_samples - offset_``.
    n_leads_, beat_length_ : int
        Shape of the training beats.
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    See Also
    --------
    AutoencoderDetector : the non-linear reconstruction baseline.

    References
    ----------
    .. [1] Shyu, M.-L., Chen, S.-C., Sarinnapakorn, K., Chang, L. "A novel anomaly detection
       scheme based on principal component classifier." ICDM Foundations and New Directions
       of Data Mining Workshop, 2003.
    .. [2] Zhou, B., Liu, S., Hooi, B., Cheng, X., Ye, J. "BeatGAN: Anomalous Rhythm
       Detection using Adversarially Generated Time Series." IJCAI 2019 (Table 2, "PCA").

    Examples
    --------
    >>> from beatdetect.baselines import PCADetector
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> from beatdetect.metrics import anomaly_roc_auc
    >>> train = make_synthetic_beats(n_normal=500, n_anomalous=0, random_state=0)
    >>> test = make_synthetic_beats(n_normal=200, n_anomalous=50, random_state=1)
    >>> det = PCADetector(n_components=10).fit(train.X)
    >>> det.pca_.n_components_
    10
    >>> anomaly_roc_auc(test.y, det.score_samples(test.X)) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseBeatDetector._parameter_constraints,
        **{name: PCA._parameter_constraints[name] for name in _PCA_PARAMS},
    }

    def __init__(self, *, n_components=0.95, whiten=False, svd_solver="auto",
                 random_state=None, contamination="auto"):
        self.n_components = n_components
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.random_state = random_state
        self.contamination = contamination

    def _fit(self, X):
        params = {name: getattr(self, name) for name in _PCA_PARAMS}
        # float64: residuals of float32 projections depend on the BLAS blocking, so on batch
        # size and order, at about 1e-8.
        self.pca_ = PCA(**params).fit(flatten_beats(X).astype(np.float64))
        return self

    def _reconstruct_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.pca_.inverse_transform(self.pca_.transform(rows))

    def _anomaly_score(self, X):
        rows = flatten_beats(X).astype(np.float64)
        residual = rows - self._reconstruct_rows(rows)
        return np.mean(residual**2, axis=1)

    def reconstruct(self, X) -> np.ndarray:
        """Projections of the beats onto the principal subspace, same shape as 3-D input.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)

        Returns
        -------
        X_hat : ndarray of shape (n_beats, n_leads, n_samples), float32
        """
        check_is_fitted(self)
        X3 = self._validate_beats(X, reset=False)
        rows = flatten_beats(X3).astype(np.float64)
        return self._reconstruct_rows(rows).astype(np.float32).reshape(X3.shape)

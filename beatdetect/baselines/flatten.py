"""Beats as rows: flatten (n, C, L) to (n, C*L) for models that take 2-D input."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

__all__ = ["BeatFlattener", "flatten_beats"]


def flatten_beats(X: np.ndarray) -> np.ndarray:
    """View validated (n, C, L) beats as (n, C*L) rows, leads one after the other."""
    return X.reshape(len(X), -1)  # (n, C, L) -> (n, C*L)


class BeatFlattener(TransformerMixin, BaseEstimator):
    """Flatten beats of shape (n, C, L) to rows of shape (n, C*L).

    Puts scikit-learn's 2-D models (scalers, PCA, any estimator) behind beatdetect's beat
    layout in a :class:`~sklearn.pipeline.Pipeline`. Leads are laid one after the other, so
    row ``i`` is ``X[i, 0, :]`` then ``X[i, 1, :]`` and so on. 2-D input (one lead) passes
    through unchanged. The dtype is kept (float32 or float64; other inputs become float64).

    Attributes
    ----------
    n_leads_, beat_length_ : int
        Shape of the training beats (2-D input is one lead).
    n_features_in_ : int
        ``n_leads_ * beat_length_``.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.neighbors import LocalOutlierFactor
    >>> from beatdetect.baselines import BeatFlattener
    >>> from beatdetect.datasets import make_synthetic_beats
    >>> data = make_synthetic_beats(n_normal=40, n_anomalous=0, n_leads=2, random_state=0)
    >>> BeatFlattener().fit_transform(data.X).shape
    (40, 640)
    >>> lof = make_pipeline(BeatFlattener(), LocalOutlierFactor(novelty=True)).fit(data.X)
    >>> lof.score_samples(data.X[:3]).shape
    (3,)
    """

    def fit(self, X, y=None):
        """Record the beat shape of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
        y : Ignored

        Returns
        -------
        self : object
        """
        self._validate(X, reset=True)
        return self

    def transform(self, X):
        """Flatten beats to rows.

        Parameters
        ----------
        X : array-like of shape (n_beats, n_samples) or (n_beats, n_leads, n_samples)
            Beats of the shape seen in ``fit``.

        Returns
        -------
        X_flat : ndarray of shape (n_beats, n_leads * n_samples)
        """
        check_is_fitted(self)
        return self._validate(X, reset=False)

    def get_feature_names_out(self, input_features=None):
        """Names of the flattened features: ``lead{c}_t{l}``, or the input's own 2-D names.

        Parameters
        ----------
        input_features : array-like of str or None
            Names of 2-D input features; defaults to ``feature_names_in_`` when it exists.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features, generate_names=False)
        if names is not None:
            return names
        return np.asarray([f"lead{c}_t{t}" for c in range(self.n_leads_)
                           for t in range(self.beat_length_)], dtype=object)

    def _validate(self, X, *, reset: bool) -> np.ndarray:
        beat_shape = None
        if _ndim(X) == 3:
            X = np.asarray(X)
            beat_shape = X.shape[1:]
            X = X.reshape(len(X), -1)  # (n, C, L) -> (n, C*L)
        elif _ndim(X) is not None and _ndim(X) > 3:
            raise ValueError(f"Expected beats of 2 or 3 dimensions, got {_ndim(X)}.")
        X = validate_data(self, X, reset=reset, dtype=(np.float64, np.float32))
        beat_shape = tuple(beat_shape) if beat_shape is not None else (1, X.shape[1])
        if reset:
            self.n_leads_, self.beat_length_ = int(beat_shape[0]), int(beat_shape[1])
        elif beat_shape != (self.n_leads_, self.beat_length_):
            raise ValueError(
                f"X has beats of shape (n_leads, n_samples)={beat_shape}, but BeatFlattener "
                f"was fitted on {(self.n_leads_, self.beat_length_)}."
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _ndim(X):
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, (list, tuple)):
        try:
            ndim = np.ndim(X)
        except ValueError:  # ragged nested lists: validate_data explains
            ndim = None
    return ndim

"""Memory banks: nearest-neighbour distances to embeddings of training beats.

A beat far from every normal training beat is unusual, whatever the model's reconstruction
says: the k-nearest-neighbour distance is the strongest label-free reference on beats of
patients seen in training. :class:`MemoryBank` keeps a seeded subsample of training
embeddings as one float32 tensor (saved with the model as a tensor, no pickle) and finds
neighbours by brute force, one matrix product per chunk of queries:
``||q - b||^2 = ||q||^2 - 2 q.b + ||b||^2``, which runs at the speed of the BLAS.
:class:`PCAProjection` maps beats to the bank's space when the bank holds beats themselves.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["MemoryBank", "PCAProjection"]

#: Queries per chunk of the distance computation: a (chunk, bank) float64 block of
#: 1024 x 20,000 is 160 MB, small enough to stay cheap and large enough for a fast GEMM.
QUERY_CHUNK = 1024


class PCAProjection:
    """Centre and project flattened beats on their leading principal components.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)
    components : ndarray of shape (n_components, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 8)).astype(np.float32)
    >>> proj = PCAProjection.fit(X, n_components=3)
    >>> proj.transform(X).shape
    (100, 3)
    """

    def __init__(self, mean: np.ndarray, components: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.components = np.asarray(components, dtype=np.float32)

    @classmethod
    def fit(cls, rows: np.ndarray, n_components: int) -> PCAProjection:
        """Principal axes of ``rows`` (n, n_features), by SVD in float64 (deterministic)."""
        rows = np.asarray(rows, dtype=np.float64)
        mean = rows.mean(axis=0)
        n_components = max(1, min(n_components, rows.shape[0], rows.shape[1]))
        _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
        components = vt[:n_components]
        # A sign convention, so the same beats give the same axes on every BLAS.
        signs = np.sign(components[np.arange(len(components)),
                                   np.abs(components).argmax(axis=1)])
        return cls(mean, components * signs[:, None])

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """``(rows - mean) @ components.T`` in float64, shape (n, n_components).

        float64 so that a beat's projection does not depend on the rows beside it (float32
        GEMM rounding changes with the block sizes the BLAS picks for each batch).
        """
        rows = np.asarray(rows, dtype=np.float64)
        return (rows - self.mean) @ self.components.T.astype(np.float64)

    def to_tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}mean": torch.from_numpy(self.mean.copy()),
                f"{prefix}components": torch.from_numpy(self.components.copy())}

    @classmethod
    def from_tensors(cls, tensors: dict, prefix: str) -> PCAProjection:
        return cls(tensors[f"{prefix}mean"].numpy(), tensors[f"{prefix}components"].numpy())


class MemoryBank:
    """Mean distance of queries to their ``k`` nearest embeddings of a bank.

    Parameters
    ----------
    embeddings : array-like of shape (n_bank, n_dims)
        The bank, stored as a contiguous float32 tensor.

    Examples
    --------
    >>> import numpy as np
    >>> bank = MemoryBank(np.array([[0.0, 0.0], [3.0, 4.0]]))
    >>> bank.distances(np.array([[0.0, 1.0], [3.0, 4.0]])).tolist()
    [1.0, 0.0]
    >>> bank.distances(np.array([[0.0, 0.0]]), k=2).tolist()  # mean of 0 and 5
    [2.5]
    """

    def __init__(self, embeddings):
        bank = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        if bank.ndim != 2 or len(bank) == 0:
            raise ValueError("A memory bank needs a non-empty (n, d) array, got "
                             f"{tuple(bank.shape)}.")
        self.bank = bank.contiguous()
        # Distances in float64: a beat at (nearly) zero distance from a bank entry would
        # otherwise get sqrt(float32 rounding), which changes with the chunking. The bank
        # has few dimensions, so the float64 product stays cheap.
        self._bank64 = self.bank.double()
        self._sq_norms = self._bank64.pow(2).sum(dim=1)  # (n_bank,)

    @classmethod
    def from_sample(cls, embeddings: np.ndarray, size: int, seed: int) -> MemoryBank:
        """A bank of at most ``size`` embeddings drawn without replacement (seeded)."""
        embeddings = np.asarray(embeddings)
        if len(embeddings) > size:
            keep = np.random.default_rng(seed).choice(len(embeddings), size, replace=False)
            embeddings = embeddings[np.sort(keep)]
        return cls(embeddings)

    def __len__(self) -> int:
        return len(self.bank)

    @property
    def n_dims(self) -> int:
        return int(self.bank.shape[1])

    @torch.inference_mode()
    def distances(self, queries, k: int = 1, exclude_nearest=None) -> np.ndarray:
        """Mean Euclidean distance of each query to its ``k`` nearest bank embeddings.

        Parameters
        ----------
        queries : array-like of shape (n, n_dims)
        k : int, default=1
            Neighbours averaged (capped at the bank's size).
        exclude_nearest : array-like of bool of shape (n,), optional
            Queries that are themselves in the bank: their nearest entry (themselves) is
            skipped, giving leave-one-out distances.

        Returns
        -------
        distance : ndarray of shape (n,), float64
        """
        queries = torch.as_tensor(np.asarray(queries, dtype=np.float64))
        if queries.ndim != 2 or queries.shape[1] != self.n_dims:
            raise ValueError(f"Queries must have shape (n, {self.n_dims}), got "
                             f"{tuple(queries.shape)}.")
        k = max(1, min(int(k), len(self.bank)))
        skip = None
        if exclude_nearest is not None:
            skip = torch.as_tensor(np.asarray(exclude_nearest, dtype=bool))
            k_search = min(k + 1, len(self.bank))
        else:
            k_search = k
        out = np.empty(len(queries), dtype=np.float64)
        for start in range(0, len(queries), QUERY_CHUNK):
            q = queries[start:start + QUERY_CHUNK]
            # (chunk, n_bank) squared distances; rounding can make a zero slightly negative
            sq = torch.addmm(self._sq_norms, q, self._bank64.T, beta=1.0, alpha=-2.0)
            sq += q.pow(2).sum(dim=1, keepdim=True)
            nearest = torch.topk(sq, k_search, dim=1, largest=False).values.clamp_min_(0.0)
            nearest = nearest.sqrt()  # (chunk, k_search), ascending
            if skip is None:
                distance = nearest[:, :k].mean(dim=1)
            else:
                own = skip[start:start + len(q)]
                first = nearest[:, :k].mean(dim=1)
                others = nearest[:, 1:k + 1].mean(dim=1) if k_search > 1 else first
                distance = torch.where(own, others, first)
            out[start:start + len(q)] = distance.double().numpy()
        return out

    def to_tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}bank": self.bank.clone()}

    @classmethod
    def from_tensors(cls, tensors: dict, prefix: str) -> MemoryBank:
        return cls(tensors[f"{prefix}bank"].numpy())

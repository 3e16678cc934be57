"""Memory banks: nearest-neighbour distances to embeddings of training beats.

A beat far from every normal training beat is unusual, whatever the model's reconstruction
says: the k-nearest-neighbour distance is the strongest label-free reference on beats of
patients seen in training. :class:`MemoryBank` keeps a seeded subsample of training
embeddings as one float32 tensor (saved with the model as a tensor, no pickle) and finds
neighbours by brute force in two steps per chunk of queries: candidates from one float32
matrix product, ranking by ``||b||^2 - 2 q.b`` (``||q - b||^2`` without the query's own
constant ``||q||^2``), which runs at the speed of the BLAS; then the exact float64
distances to those few candidates, from the differences themselves, so no rounding of the
expansion (which changes with the chunk a query is in) reaches the result.
:class:`PCAProjection` maps beats to the bank's space when the bank holds beats themselves.

A beat that is itself in the bank would find itself at distance 0. The bank keeps a
fingerprint of each of its beats (:func:`beat_fingerprints`), so a query that *is* one of
them is scored leave-one-out, against the other entries: the training beats get the same
score whether ``fit`` computes it (to set the threshold) or ``score_samples`` does later,
and ``predict`` on the training beats flags ``contamination`` of them.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["MemoryBank", "PCAProjection", "beat_fingerprints", "fingerprint_members"]

#: Queries per chunk of the distance computation. The (chunk, bank) float32 block is
#: written by the matrix product and read by the top-k: at 128 x 20,000 (10 MB) it stays
#: near the cache, where 1,024 queries (80 MB) made scoring memory-bound (6,600 against
#: 11,200 queries/s on one Zen 3 core, 20,000-entry bank of 32 dimensions).
QUERY_CHUNK = 128
#: Candidates per query beyond the ``k`` needed, re-ranked by exact distance: float32
#: rounding of the expansion can only swap entries whose distances agree to about 1e-6 of
#: the squared norms, and it would take more than this many such near-ties to lose one.
CANDIDATE_MARGIN = 8

#: Seed of the fingerprints' multipliers: fixed, so saved fingerprints stay valid.
_FINGERPRINT_SEED = 20190810


def beat_fingerprints(beats) -> np.ndarray:
    """A 64-bit fingerprint of each beat's exact float32 values.

    Equal beats (bit for bit, as float32) get equal fingerprints; beats that differ in any
    value get different ones, except with a chance of about 2**-64: the fingerprint is
    ``sum_i w_i * m_i mod 2**64`` over the beat's 32-bit words ``w_i`` and fixed random odd
    multipliers ``m_i``, and a single differing word can never cancel (an odd multiplier of
    a nonzero 32-bit difference is nonzero modulo 2**64).

    Parameters
    ----------
    beats : array-like of shape (n, ...)
        Cast to float32 and flattened per beat.

    Returns
    -------
    fingerprints : ndarray of shape (n,), uint64

    Examples
    --------
    >>> import numpy as np
    >>> beats = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.5]])
    >>> fp = beat_fingerprints(beats)
    >>> bool(fp[0] == fp[1]), bool(fp[0] == fp[2])
    (True, False)
    """
    beats = np.asarray(beats, dtype=np.float32)
    words = np.ascontiguousarray(beats.reshape(len(beats), -1)).view(np.uint32)
    multipliers = np.random.default_rng(_FINGERPRINT_SEED).integers(
        0, 2**63, size=words.shape[1], dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    out = np.empty(len(words), dtype=np.uint64)
    for start in range(0, len(words), QUERY_CHUNK):  # bounded uint64 copies
        # Integer matrix-vector product: wraps modulo 2**64, as intended.
        out[start:start + QUERY_CHUNK] = \
            words[start:start + QUERY_CHUNK].astype(np.uint64) @ multipliers
    return out


def fingerprint_members(known, fingerprints) -> np.ndarray:
    """Which ``fingerprints`` are among the sorted fingerprints ``known``, a bool array.

    Examples
    --------
    >>> import numpy as np
    >>> fingerprint_members(np.array([2, 5], np.uint64), np.array([5, 3], np.uint64)).tolist()
    [True, False]
    """
    fingerprints = np.asarray(fingerprints, dtype=np.uint64)
    if len(known) == 0:
        return np.zeros(fingerprints.shape, dtype=bool)
    at = np.searchsorted(known, fingerprints).clip(max=len(known) - 1)
    return known[at] == fingerprints


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

    def __init__(self, embeddings, fingerprints=None):
        bank = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        if bank.ndim != 2 or len(bank) == 0:
            raise ValueError("A memory bank needs a non-empty (n, d) array, got "
                             f"{tuple(bank.shape)}.")
        self.bank = bank.contiguous()
        self.fingerprints = None
        if fingerprints is not None:
            fingerprints = np.asarray(fingerprints, dtype=np.uint64)
            if fingerprints.shape != (len(bank),):
                raise ValueError(f"{fingerprints.shape} fingerprints for a bank of "
                                 f"{len(bank)} entries.")
            self.fingerprints = np.sort(fingerprints)
        # Exact distances to the candidates in float64, from a float64 copy of the bank.
        self._bank64 = self.bank.double()
        self._sq_norms = self._bank64.pow(2).sum(dim=1).float()  # (n_bank,)

    def __len__(self) -> int:
        return len(self.bank)

    @property
    def n_dims(self) -> int:
        return int(self.bank.shape[1])

    @torch.inference_mode()
    def distances(self, queries, k: int = 1, fingerprints=None) -> np.ndarray:
        """Mean Euclidean distance of each query to its ``k`` nearest bank embeddings.

        Parameters
        ----------
        queries : array-like of shape (n, n_dims)
        k : int, default=1
            Neighbours averaged (capped at the bank's size).
        fingerprints : array-like of shape (n,), optional
            :func:`beat_fingerprints` of the queries' beats. A query whose fingerprint is
            one of the bank's is that bank entry itself: its nearest entry (itself) is
            skipped, giving its leave-one-out distance. Ignored by a bank without
            fingerprints.

        Returns
        -------
        distance : ndarray of shape (n,), float64
        """
        queries = torch.as_tensor(np.asarray(queries, dtype=np.float64))
        if queries.ndim != 2 or queries.shape[1] != self.n_dims:
            raise ValueError(f"Queries must have shape (n, {self.n_dims}), got "
                             f"{tuple(queries.shape)}.")
        k = max(1, min(int(k), len(self.bank)))
        skip = self._members(fingerprints, len(queries))
        k_search = k if skip is None else min(k + 1, len(self.bank))
        n_candidates = min(k_search + CANDIDATE_MARGIN, len(self.bank))
        out = np.empty(len(queries), dtype=np.float64)
        for start in range(0, len(queries), QUERY_CHUNK):
            q = queries[start:start + QUERY_CHUNK]
            # (chunk, n_bank) float32 ||b||^2 - 2 q.b: the ranking of ||q - b||^2 per query
            ranking = torch.addmm(self._sq_norms, q.float(), self.bank.T, beta=1.0, alpha=-2.0)
            candidates = torch.topk(ranking, n_candidates, dim=1, largest=False).indices
            exact = (self._bank64[candidates] - q[:, None, :]).pow(2).sum(dim=2)
            nearest = exact.sort(dim=1).values[:, :k_search].sqrt()  # (chunk, k_search)
            if skip is None:
                distance = nearest[:, :k].mean(dim=1)
            else:
                own = skip[start:start + len(q)]
                first = nearest[:, :k].mean(dim=1)
                others = nearest[:, 1:k + 1].mean(dim=1) if k_search > 1 else first
                distance = torch.where(own, others, first)
            out[start:start + len(q)] = distance.double().numpy()
        return out

    def _members(self, fingerprints, n: int):
        """Which queries are bank entries (a bool tensor), or None if none can be."""
        if fingerprints is None or self.fingerprints is None:
            return None
        fingerprints = np.asarray(fingerprints, dtype=np.uint64)
        if fingerprints.shape != (n,):
            raise ValueError(f"{fingerprints.shape} fingerprints for {n} queries.")
        member = fingerprint_members(self.fingerprints, fingerprints)
        return torch.from_numpy(member) if member.any() else None

    def to_tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        tensors = {f"{prefix}bank": self.bank.clone()}
        if self.fingerprints is not None:
            # safetensors has no unsigned 64-bit type in torch: stored as their int64 bits.
            tensors[f"{prefix}fingerprints"] = torch.from_numpy(
                self.fingerprints.view(np.int64).copy())
        return tensors

    @classmethod
    def from_tensors(cls, tensors: dict, prefix: str) -> MemoryBank:
        fingerprints = tensors.get(f"{prefix}fingerprints")
        if fingerprints is not None:
            fingerprints = fingerprints.numpy().view(np.uint64)
        return cls(tensors[f"{prefix}bank"].numpy(), fingerprints)

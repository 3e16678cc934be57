"""Fingerprints of beats: knowing a training beat when it is scored again.

A detector that stores its training beats (nearest neighbours) would find a training beat
at distance 0 from itself. :func:`beat_fingerprints` gives each beat a 64-bit fingerprint of
its exact float32 values, so such a detector can score a beat that *is* one of its training
beats leave-one-out, against the *other* training beats: the training beats get the same
score whether ``fit`` computes it (to set the threshold) or ``score_samples`` does later,
and ``predict`` on the training beats flags ``contamination`` of them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["beat_fingerprints", "fingerprint_members"]

#: Beats per chunk: bounds the uint64 copies.
CHUNK = 128

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
    for start in range(0, len(words), CHUNK):  # bounded uint64 copies
        # Integer matrix-vector product: wraps modulo 2**64, as intended.
        out[start:start + CHUNK] = \
            words[start:start + CHUNK].astype(np.uint64) @ multipliers
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

"""Memory banks: exact nearest-neighbour distances, leave-one-out, PCA projection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from beatdetect.memory import (
    QUERY_CHUNK,
    MemoryBank,
    PCAProjection,
    beat_fingerprints,
    fingerprint_members,
)


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(600, 8)), rng.normal(size=(2 * QUERY_CHUNK + 5, 8))


@pytest.mark.parametrize("k", [1, 3])
def test_distances_equal_scikit_learns_neighbours(points, k):
    bank, queries = points
    expected = NearestNeighbors(n_neighbors=k).fit(bank).kneighbors(queries)[0].mean(axis=1)
    np.testing.assert_allclose(MemoryBank(bank).distances(queries, k=k), expected, rtol=1e-5)


def test_distances_do_not_depend_on_the_chunk_a_query_is_in(points):
    bank = MemoryBank(points[0])
    queries = points[1]
    whole = bank.distances(queries)
    parts = np.concatenate([bank.distances(queries[i:i + 7]) for i in range(0, len(queries), 7)])
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-9)


def test_bank_members_are_scored_leave_one_out_by_fingerprint(points):
    bank_points = points[0].astype(np.float32)
    assert MemoryBank(bank_points).distances(bank_points).max() < 1e-6  # themselves
    bank = MemoryBank(bank_points, fingerprints=beat_fingerprints(bank_points))
    queries = np.concatenate([bank_points[:50], points[1][:50]])
    distances = bank.distances(queries, fingerprints=beat_fingerprints(queries))
    loo = NearestNeighbors(n_neighbors=1).fit(bank_points).kneighbors()[0][:50, 0]  # not self
    np.testing.assert_allclose(distances[:50], loo, rtol=1e-5)
    # Queries not in the bank: plain nearest-neighbour distances.
    np.testing.assert_allclose(distances[50:], bank.distances(points[1][:50]), rtol=1e-12)
    # A beat differing from a member in one value is not that member.
    nudged = bank_points[:1].copy()
    nudged[0, 3] = np.nextafter(nudged[0, 3], np.float32(np.inf))
    assert bank.distances(nudged, fingerprints=beat_fingerprints(nudged))[0] < 1e-5


def test_fingerprints_tell_apart_near_beats_and_match_equal_ones():
    rng = np.random.default_rng(0)
    beats = rng.normal(size=(2000, 1, 64)).astype(np.float32)
    prints = beat_fingerprints(beats)
    assert prints.dtype == np.uint64 and len(np.unique(prints)) == len(beats)
    np.testing.assert_array_equal(beat_fingerprints(beats.astype(np.float64)), prints)
    flipped = beats.copy()
    flipped.view(np.uint32)[:, 0, 10] ^= 1  # one bit of one value
    assert not np.isin(beat_fingerprints(flipped), prints).any()
    members = fingerprint_members(np.sort(prints[:10]), prints[5:15])
    assert members.tolist() == [True] * 5 + [False] * 5


def test_tensors_round_trip_with_fingerprints(points):
    bank = MemoryBank(points[0][:100], fingerprints=beat_fingerprints(points[0][:100]))
    assert len(bank) == 100 and bank.n_dims == 8
    again = MemoryBank.from_tensors(bank.to_tensors("memory."), "memory.")
    np.testing.assert_array_equal(again.fingerprints, bank.fingerprints)
    queries = np.concatenate([points[0][:20], points[1]])
    fp = beat_fingerprints(queries)
    np.testing.assert_array_equal(again.distances(queries, fingerprints=fp),
                                  bank.distances(queries, fingerprints=fp))
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        bank.distances(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="fingerprints for a bank of 100"):
        MemoryBank(points[0][:100], fingerprints=np.zeros(3, np.uint64))


def test_pca_projection_matches_scikit_learn_up_to_sign(points):
    rows = points[0]
    proj = PCAProjection.fit(rows, n_components=3)
    reference = PCA(n_components=3).fit(rows).transform(rows)
    ours = proj.transform(rows)
    np.testing.assert_allclose(np.abs(ours), np.abs(reference), rtol=1e-4, atol=1e-5)
    again = PCAProjection.from_tensors(proj.to_tensors("m."), "m.")
    np.testing.assert_array_equal(again.transform(rows), ours)

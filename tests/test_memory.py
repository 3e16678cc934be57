"""Memory banks: exact nearest-neighbour distances, leave-one-out, PCA projection."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from beatdetect.memory import QUERY_CHUNK, MemoryBank, PCAProjection


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


def test_exclude_nearest_gives_leave_one_out_distances(points):
    bank_points = points[0].astype(np.float32)
    bank = MemoryBank(bank_points)
    own = bank.distances(bank_points)
    assert own.max() < 1e-6  # each point is its own nearest neighbour
    loo = bank.distances(bank_points, exclude_nearest=np.ones(len(bank_points), bool))
    expected = NearestNeighbors(n_neighbors=2).fit(bank_points).kneighbors()[0][:, 0]
    np.testing.assert_allclose(loo, expected, rtol=1e-5)


def test_sample_caps_the_bank_and_tensors_round_trip(points):
    bank = MemoryBank.from_sample(points[0], size=100, seed=0)
    assert len(bank) == 100 and bank.n_dims == 8
    again = MemoryBank.from_tensors(bank.to_tensors("memory."), "memory.")
    np.testing.assert_array_equal(again.distances(points[1]), bank.distances(points[1]))
    with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
        bank.distances(np.zeros((2, 3)))


def test_pca_projection_matches_scikit_learn_up_to_sign(points):
    rows = points[0]
    proj = PCAProjection.fit(rows, n_components=3)
    reference = PCA(n_components=3).fit(rows).transform(rows)
    ours = proj.transform(rows)
    np.testing.assert_allclose(np.abs(ours), np.abs(reference), rtol=1e-4, atol=1e-5)
    again = PCAProjection.from_tensors(proj.to_tensors("m."), "m.")
    np.testing.assert_array_equal(again.transform(rows), ours)

"""Fingerprints of beats: equal beats match, beats differing in one bit do not."""

from __future__ import annotations

import numpy as np

from beatdetect.fingerprints import CHUNK, beat_fingerprints, fingerprint_members


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


def test_fingerprints_do_not_depend_on_the_chunk_a_beat_is_in():
    beats = np.random.default_rng(1).normal(size=(2 * CHUNK + 5, 2, 16)).astype(np.float32)
    whole = beat_fingerprints(beats)
    parts = np.concatenate([beat_fingerprints(beats[i:i + 7]) for i in range(0, len(beats), 7)])
    np.testing.assert_array_equal(parts, whole)


def test_no_known_fingerprints_means_no_member():
    assert not fingerprint_members(np.empty(0, np.uint64), np.arange(3, dtype=np.uint64)).any()

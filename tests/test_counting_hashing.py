"""The key hashes (NH on 64-bit and on 32-bit halves, read in place through pointers) against a
pure-Python reference, and the exact table's word comparison on long keys whose rows start at
unaligned offsets."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.counting import CountMinSketch, EpisodicCounter, ExactCounter, hash_keys
from rewardshaping.counting.hashing import HASH_VERSION, hash_secret

M32, M64 = 2**32 - 1, 2**64 - 1


def _mix64(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xC2B2AE3D27D4EB4F) & M64
    x ^= x >> 29
    x = (x * 0x165667B19E3779F9) & M64
    return x ^ (x >> 32)


def _reference_hash(row: bytes, secret: np.ndarray, strong: bool) -> int:
    # The documented constructions, word by word in Python integers.
    nbytes = len(row)
    words = np.frombuffer(row + bytes(-nbytes % 8), "<u8").tolist()
    k = [int(v) for v in secret]
    if strong:  # NH on 64-bit halves of 16-byte blocks, summed in 128 bits, then folded
        if nbytes >= 16:  # the last block is the row's last 16 bytes (overlapping)
            words = words[: 2 * (nbytes // 16)]
            if nbytes % 16:
                words += np.frombuffer(row[-16:], "<u8").tolist()
        else:
            words += [0] * (len(words) % 2)
        s = sum(((words[j] + k[j]) & M64) * ((words[j + 1] + k[j + 1]) & M64)
                for j in range(0, len(words), 2)) % 2**128  # fmt: skip
        lo, hi = s & M64, s >> 64
        return _mix64(lo ^ (((hi + nbytes) * 0x9E3779B97F4A7C15) & M64))
    nfull = nbytes // 8

    def nh(w: int, key: int) -> int:
        return ((w + key) & M32) * (((w >> 32) + (key >> 32)) & M32)

    p = sum(nh(w, k[j]) for j, w in enumerate(words)) & M64
    q = sum(nh(w, k[j + 1]) for j, w in enumerate(words[nfull:], start=nfull))  # the tail only
    return _mix64(p ^ _mix64((q + nbytes) & M64))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 41), st.integers(1, 6), st.integers(0, 2**32), st.booleans())
def test_hash_matches_reference_for_every_length_and_tail(nbytes, n, seed, strong):
    rows = np.random.default_rng(seed).integers(0, 256, (n, nbytes), dtype=np.uint8)
    got = hash_keys(rows, seed=seed, strong=strong)
    secret = hash_secret(seed, nbytes)
    assert secret.shape == ((nbytes + 7) // 8 + 1,)
    want = [_reference_hash(r.tobytes(), secret, strong) for r in rows]
    assert got.tolist() == want


@pytest.mark.parametrize("nbytes", [48, 63, 64, 65, 147, 300])
@pytest.mark.parametrize("strong", [True, False])
def test_hash_matches_reference_on_long_rows(nbytes, strong):
    # Long rows take the block loops many times; 147 is a MiniGrid view, whose last 16-byte
    # block of the strong hash overlaps the one before it.
    rows = np.random.default_rng(nbytes).integers(0, 256, (5, nbytes), dtype=np.uint8)
    secret = hash_secret(3, nbytes)
    want = [_reference_hash(r.tobytes(), secret, strong) for r in rows]
    assert hash_keys(rows, seed=3, strong=strong).tolist() == want


def test_the_secret_covers_every_word_either_hash_reads():
    # The kernels read the secret through a raw pointer, unchecked: the strong hash reads two
    # words per 16-byte block, the fast one W + 1 words. For L mod 16 in 1..8 the strong hash
    # uses the secret's last word, so a change that reads one more would read past its end.
    for nbytes in range(1, 401):
        words = hash_secret(0, nbytes).shape[0]
        assert words >= 2 * -(-nbytes // 16), nbytes
        assert words >= (nbytes + 7) // 8 + 1, nbytes


def test_strong_and_fast_hashes_differ_and_the_seed_matters():
    rows = np.arange(40, dtype=np.uint8).reshape(2, 20)
    assert (hash_keys(rows) != hash_keys(rows, strong=False)).all()
    assert (hash_keys(rows, seed=1) != hash_keys(rows)).all()
    assert hash_keys(rows).tolist() == hash_keys(rows.copy()).tolist()


# Long keys: full-word comparison plus a partial last word (13 and 147 bytes), rows at odd byte
# offsets in the batch, and hash_bits=2 so that nearly all keys share a hash and only the key
# comparison keeps them apart.
long_stream = st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=30), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(long_stream, st.sampled_from([8, 13, 147]), st.sampled_from([2, 64]))
def test_long_keys_are_counted_exactly(stream, nbytes, hash_bits):
    # A key id k becomes a row that differs from the others only in its last byte (the partial
    # word) or, for ids >= 2, also in its first word: both comparison paths are needed.
    def row(k: int) -> np.ndarray:
        r = np.full(nbytes, 7, np.uint8)
        r[-1] = k % 2
        r[0] = k // 2
        return r

    counter = ExactCounter(capacity=1, hash_bits=hash_bits)
    ref: Counter = Counter()
    for ids in stream:
        out = counter.update(np.stack([row(k) for k in ids]))
        want = []
        for k in ids:
            ref[k] += 1
            want.append(ref[k])
        assert out.tolist() == want
    assert len(counter) == len(ref)


def test_hash_only_state_from_another_hash_version_is_refused():
    c = ExactCounter(store_keys=False)
    c.update(np.arange(6).reshape(3, 2))
    state = c.state_dict()
    assert state["hash"] == HASH_VERSION
    state["hash"] = "xxh64-4lane"  # what the first release saved (no "hash" entry at all)
    with pytest.raises(ValueError, match="hash-only state was saved with key hash"):
        ExactCounter(store_keys=False).load_state_dict(state)


def test_stored_key_state_restores_across_hash_versions():
    # Tables that keep their keys rehash them on restore, so an older state still counts.
    c = EpisodicCounter(num_envs=2)
    c.update(np.array([[1, 2], [3, 4]]))
    state = c.state_dict()
    state.pop("hash")
    state["hashes"] = np.zeros_like(state["hashes"])  # stale hashes are ignored
    resumed = EpisodicCounter(num_envs=2)
    resumed.load_state_dict(state)
    assert resumed.update(np.array([[1, 2], [3, 4]])).tolist() == [2, 2]


def test_sketch_state_from_another_hash_version_is_refused():
    cms = CountMinSketch(width=100, depth=2)
    cms.update(np.array([[1], [2]]))
    state = cms.state_dict()
    state["hash"] = "old"
    with pytest.raises(ValueError, match="cells belong to other keys"):
        CountMinSketch(width=100, depth=2).load_state_dict(state)

"""EpisodicCounter (per-env counts reset per env), CountMinSketch (never undercounts) and
SimHash (seeded, locality-sensitive, refuses NaN)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.counting import (
    CounterMemoryError,
    CountMinSketch,
    EpisodicCounter,
    SimHash,
    largest_primes,
)

N = 3
step = st.tuples(
    st.lists(st.integers(0, 4), min_size=N, max_size=N),  # one key per env
    st.lists(st.booleans(), min_size=N, max_size=N),  # active
    st.lists(st.booleans(), min_size=N, max_size=N),  # episodes starting after this step
)
PROPS = settings(max_examples=60, deadline=None)


@PROPS
@given(st.lists(step, min_size=1, max_size=40), st.sampled_from([64, 1]))
def test_episodic_counts_reset_only_the_envs_that_restart(steps, hash_bits):
    ep = EpisodicCounter(N, capacity=1, hash_bits=hash_bits)
    refs = [Counter() for _ in range(N)]
    for keys, active, starts in steps:
        out = ep.update(np.array(keys, np.int64).reshape(N, 1), np.array(active))
        for i in range(N):
            if active[i]:
                refs[i][keys[i]] += 1
            assert out[i] == (refs[i][keys[i]] if active[i] else 0)
        ep.reset(np.array(starts))
        for i in range(N):
            if starts[i]:
                refs[i].clear()
    for i in range(N):
        got = {int(np.frombuffer(k, np.int64)[0]): c for k, c in ep.as_dict(i).items()}
        assert got == dict(refs[i])


def test_episodic_save_restore_mid_episode():
    ep = EpisodicCounter(2)
    ep.update(np.array([[1], [2]]))
    ep.update(np.array([[1], [3]]))
    other = EpisodicCounter(2)
    other.load_state_dict(ep.state_dict())
    assert other.update(np.array([[1], [3]])).tolist() == [3, 2]
    with pytest.raises(ValueError, match="reset mask"):
        ep.reset(np.array([True]))
    with pytest.raises(ValueError, match="2 envs"):
        ep.update(np.zeros((3, 1)))


keys_st = st.lists(st.lists(st.integers(0, 200), min_size=1, max_size=30), min_size=1, max_size=10)


active_keys_st = st.lists(
    st.lists(st.tuples(st.integers(0, 200), st.booleans()), min_size=1, max_size=30),
    min_size=1,
    max_size=10,
)


@PROPS
@given(active_keys_st, st.integers(0, 3))
def test_count_min_never_undercounts(batches, seed):
    cms = CountMinSketch(widths=[7, 11, 13], seed=seed)  # tiny: many collisions
    ref: Counter = Counter()
    for b in batches:
        keys = np.array([k for k, _ in b], np.int64).reshape(-1, 1)
        active = np.array([a for _, a in b], bool)
        out = cms.update(keys, active)
        for (k, a), o in zip(b, out, strict=True):
            if a:
                ref[k] += 1
                assert o >= ref[k]
            else:
                assert o == 0  # inactive rows are neither counted nor reported
    probe = np.arange(0, 201).reshape(-1, 1)
    assert (cms.lookup(probe) >= np.array([ref[k] for k in range(201)])).all()
    assert cms.total == sum(ref.values())


@PROPS
@given(keys_st, keys_st)
def test_count_min_merge_and_restore(b1, b2):
    a, b = CountMinSketch(widths=[101, 103]), CountMinSketch(widths=[101, 103])
    ref: Counter = Counter()
    for batches, cms in ((b1, a), (b2, b)):
        for x in batches:
            cms.update(np.array(x).reshape(-1, 1))
            ref.update(x)
    a.merge(b)
    probe = np.array(sorted(ref)).reshape(-1, 1)
    assert (a.lookup(probe) >= np.array([ref[k] for k in sorted(ref)])).all()
    c = CountMinSketch(widths=[101, 103])
    c.load_state_dict(a.state_dict())
    assert (c.lookup(probe) == a.lookup(probe)).all()


def test_count_min_is_exact_without_collisions():
    cms = CountMinSketch(width=100_003, depth=4)
    keys = np.repeat(np.arange(50), np.arange(1, 51)).reshape(-1, 1)
    cms.update(keys)
    assert cms.lookup(np.arange(50).reshape(-1, 1)).tolist() == list(range(1, 51))


def test_count_min_errors_and_defaults():
    assert largest_primes(1_000_000, 6) == [999931, 999953, 999959, 999961, 999979, 999983]
    assert CountMinSketch(width=1000, depth=2).widths == [991, 997]
    assert CountMinSketch(max_bytes=2**26).widths == largest_primes(1_000_000, 6)
    with pytest.raises(CounterMemoryError, match="max_bytes"):
        CountMinSketch(max_bytes=1000)
    with pytest.raises(ValueError, match="distinct"):
        CountMinSketch(widths=[7, 7])
    with pytest.raises(ValueError, match="equal widths"):
        CountMinSketch(widths=[7]).merge(CountMinSketch(widths=[11]))
    with pytest.raises(TypeError):
        CountMinSketch(widths=[7]).update(np.array(["a", "b"], dtype=object))


def test_simhash_codes():
    sh = SimHash(dim=4, bits=12, seed=3)
    x = np.array([[1.0, 2.0, -1.0, 0.5], [1.0, 2.0, -1.0, 0.5001]])
    codes = sh(x)
    assert codes.shape == (2, 2) and (codes[0] == codes[1]).all()
    assert (sh(-x)[0] ^ codes[0]).tolist() == [255, 15]  # sign flip: every bit flips
    assert (SimHash(4, 12, seed=3)(x) == codes).all()
    assert not (SimHash(4, 12, seed=4)(x) == codes).all()
    assert SimHash(4, 100)(x).shape == (2, 13)
    with pytest.raises(ValueError, match="batch indices \\[1\\]"):
        sh(np.array([[1.0, 2, 3, 4], [np.nan, 0, 0, 0]]))
    with pytest.raises(ValueError, match="dim=4"):
        sh(np.zeros((2, 5)))
    with pytest.raises(TypeError):
        sh(np.array([["a"] * 4], dtype=object))
    # Finite rows whose projection overflows (float32 near 1e38) keep their code: the signs
    # of A x are those of A (x / c).
    big = np.array([[3e38, 3e38, -3e38, 3e38], [3e38, -3e38, -3e38, -3e38]], np.float32)
    with np.errstate(over="ignore"):
        assert not np.isfinite(big @ sh.projection.T.astype(np.float32)).all()
    assert (sh(big) == sh(big.astype(np.float64) / 1e38)).all()


@PROPS
@given(
    rows=st.integers(0, 6),
    dim=st.integers(1, 9),
    bits=st.integers(1, 40),
    f32=st.booleans(),
    seed=st.integers(0, 3),
)
def test_simhash_codes_are_packed_signs_of_the_projection(rows, dim, bits, f32, seed):
    # The definition, written out with NumPy: bit b of a row is (x @ A.T)[b] > 0, little-endian.
    x = np.random.default_rng(seed).standard_normal((rows, dim))
    x = x.astype(np.float32) if f32 else x
    sh = SimHash(dim, bits, seed=seed)
    proj = x @ sh.projection.T.astype(x.dtype)
    want = np.packbits(proj > 0, axis=1, bitorder="little")
    codes = sh(x)
    assert codes.shape == (rows, (bits + 7) // 8) and codes.dtype == np.uint8
    assert (codes == want).all()


def test_simhash_refuses_inf_rows_by_index():
    sh = SimHash(dim=3, bits=9)
    x = np.ones((4, 3), np.float32)
    x[2, 1], x[3, 0] = np.inf, -np.inf
    with pytest.raises(ValueError, match="batch indices \\[2, 3\\]"):
        sh(x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_double_hashed_cells_overcount_like_independent_hashes(seed):
    # The sketch derives its d cells from one hash by double hashing. On a Zipf stream far
    # larger than the tables, its overcounts must look like those of d independent hashes
    # (salted BLAKE2b here): the count-min bound e*total/w exceeded for at most exp(-d) of the
    # keys, and the same mean overcount within 10%.
    import hashlib
    import math

    rng = np.random.default_rng(seed)
    keys = rng.zipf(1.3, 20_000) % 5000
    widths = [211, 223, 227]
    cms = CountMinSketch(widths=widths, seed=seed)
    cms.update(keys.reshape(-1, 1))
    ref = Counter(keys.tolist())
    distinct = sorted(ref)
    true = np.array([ref[k] for k in distinct])
    ours = cms.lookup(np.array(distinct).reshape(-1, 1)) - true

    def cell(j: int, k: int) -> int:
        digest = hashlib.blake2b(f"{seed}:{j}:{k}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") % widths[j]

    tables = [np.zeros(w, np.int64) for w in widths]
    for k, c in ref.items():
        for j in range(len(widths)):
            tables[j][cell(j, k)] += c
    independent = np.array([min(t[cell(j, k)] for j, t in enumerate(tables)) for k in distinct])
    independent -= true
    bound = math.e * len(keys) / min(widths)
    assert (ours >= 0).all()
    assert np.mean(ours > bound) <= math.exp(-len(widths))
    assert abs(ours.mean() - independent.mean()) <= 0.1 * independent.mean()


def test_episodic_memory_cap_refuses_the_whole_batch_and_allows_repeats():
    # 2 envs x (4 slots of 24 B + 3 arena rows of one word): at most 2 keys per env.
    ep = EpisodicCounter(num_envs=2, capacity=4, max_bytes=2 * (4 * 24 + 3 * 8))
    ep.update(np.array([[0], [0]]))
    ep.update(np.array([[1], [1]]))
    before = [ep.as_dict(0), ep.as_dict(1)]
    with pytest.raises(CounterMemoryError, match="max_bytes"):
        ep.update(np.array([[2], [0]]))  # env 0 would need a third key
    assert [ep.as_dict(0), ep.as_dict(1)] == before  # env 1's repeat was not counted either
    assert ep.update(np.array([[1], [0]])).tolist() == [2, 2]  # repeats still fit

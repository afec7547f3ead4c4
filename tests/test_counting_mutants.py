"""Tests found by mutation testing of the counters and count bonuses.

Each test pins down a behaviour that the other counting/intrinsic tests left open: a small
change to the code (named in the comment above each test) made none of them fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from rewardshaping.counting import (
    CountMinSketch,
    EpisodicCounter,
    ExactCounter,
    SimHash,
    key_bytes,
)
from rewardshaping.intrinsic import (
    CountBonus,
    GlobalEpisodicCountBonus,
    InfoKey,
    NovelDCount,
    UniformBins,
)
from rewardshaping.transitions import Transitions


def batch(next_obs, obs=None, active=None, infos=None):
    next_obs = np.asarray(next_obs)
    obs = np.zeros_like(next_obs) if obs is None else np.asarray(obs)
    n = next_obs.shape[0]
    return Transitions.from_arrays(obs, np.zeros(n, int), next_obs, np.zeros(n), active=active,
                                   infos=infos)  # fmt: skip


# -- ExactCounter / EpisodicCounter ------------------------------------------------------------


# Catches: growth checked for one key less than the batch can add (`top + new_per_row - 1`).
@pytest.mark.parametrize("make", [lambda: ExactCounter(capacity=2), lambda: EpisodicCounter(1, 2)])
def test_load_factor_never_exceeds_max_load_after_an_update(make):
    table = make()
    for k in range(40):
        table.update(np.array([[k]]))
        assert table.sizes.max() <= table.max_load * table.capacity


# Catches: episodic growth sized by env 0's table only (`top = sizes[0]` for every row count).
def test_episodic_tables_grow_for_the_fullest_env():
    ep = EpisodicCounter(num_envs=2, capacity=2)
    for k in range(40):  # env 0 revisits one key, env 1 sees a new key every step
        assert ep.update(np.array([[0], [k]])).tolist() == [k + 1, 1]
        assert ep.sizes.max() <= ep.max_load * ep.capacity
    assert ep.sizes.tolist() == [1, 40]


# Catches: probing with step 2 in the counting kernel (rehashed keys are then not found). The
# existing tests only hang on this mutant; this one fails.
def test_keys_are_found_again_after_every_growth():
    c = ExactCounter(capacity=2, hash_bits=2)  # 4 hash values: long probe runs
    keys = np.arange(24).reshape(-1, 1)
    for k in keys:  # one new key per update: the table grows and rehashes several times
        assert c.update(k[None]).tolist() == [1]
    assert c.update(keys).tolist() == [2] * 24
    assert len(c) == 24 and c.total == 48


# Catches: merge sizing its growth by the current keys only, not the keys it adds. The existing
# tests only hang on this mutant; this one fails (hash-only, so no key arena is overrun).
def test_merge_grows_for_the_keys_it_adds():
    a = ExactCounter(capacity=64, store_keys=False)
    a.update(np.array([[-1]]))
    b = ExactCounter(store_keys=False)
    b.update(np.arange(40).reshape(-1, 1))
    a.merge(b)
    assert len(a) == 41 and len(a) <= a.max_load * a.capacity
    assert a.lookup(np.arange(-1, 40).reshape(-1, 1)).tolist() == [1] * 41


# Catches: the near-cap new-key count not masked by `active` (inactive new keys need room).
def test_inactive_new_keys_need_no_room_near_the_memory_cap():
    counter = ExactCounter(capacity=8, max_bytes=8 * 24 + 5 * 8)  # at most 4 keys
    counter.update(np.array([[0], [1], [2]]))
    active = np.array([True, True, False, False])
    out = counter.update(np.array([[0], [3], [4], [5]]), active)  # one new active key: fits
    assert out.tolist() == [2, 1, 0, 0]
    assert len(counter) == 4 and counter.lookup(np.array([[4], [5]])).tolist() == [0, 0]


# Catches: state_dict without "capacity" (a restored table is not the saved table's size).
def test_restore_keeps_the_saved_capacity_when_it_fits():
    roomy = ExactCounter(capacity=1024)
    roomy.update(np.array([[1], [2], [3]]))
    resumed = ExactCounter(capacity=2)
    resumed.load_state_dict(roomy.state_dict())
    assert resumed.capacity == roomy.capacity == 1024
    assert resumed.lookup(np.array([[1], [2], [3], [4]])).tolist() == [1, 1, 1, 0]


# Catches: load_state_dict accepting zero counts (`counts < 0` instead of `counts <= 0`).
def test_restore_refuses_zero_counts():
    c = ExactCounter()
    c.update(np.array([[1], [2]]))
    state = c.state_dict()
    state["counts"] = np.array([1, 0])
    with pytest.raises(ValueError, match="non-positive"):
        ExactCounter().load_state_dict(state)
    assert ExactCounter().lookup(np.array([[1]])).tolist() == [0]


# Catches: EpisodicCounter.reset not zeroing `sizes` (the key arena then grows every episode).
def test_episodic_reset_frees_the_rows_it_clears():
    ep = EpisodicCounter(num_envs=2, capacity=8)
    for _ in range(50):  # 50 episodes of 3 distinct keys in env 0
        ep.update(np.array([[1], [9]]))
        ep.update(np.array([[2], [9]]))
        ep.update(np.array([[3], [9]]))
        ep.reset(np.array([True, False]))
    assert ep.sizes.tolist() == [0, 1]
    assert ep.capacity == 8  # 3 keys per episode never need more than the first table
    assert ep.update(np.array([[1], [9]])).tolist() == [1, 151]


# Catches: merge compatibility check ignoring hash_bits (entries hashed differently).
def test_merge_refuses_tables_with_other_hash_bits():
    a, b = ExactCounter(hash_bits=4), ExactCounter()
    a.update(np.array([[1]]))
    b.update(np.array([[1]]))
    with pytest.raises(ValueError, match="hash_bits"):
        a.merge(b)
    assert a.lookup(np.array([[1]])).tolist() == [1]


# Catches: key_bytes without its zero-width check (rows of no bytes all count as one key).
def test_keys_of_zero_bytes_are_refused():
    with pytest.raises(ValueError, match="zero bytes"):
        key_bytes(np.zeros((3, 0), np.uint8))
    with pytest.raises(ValueError, match="zero bytes"):
        ExactCounter().update(np.zeros((2, 0), np.int64))


# -- CountMinSketch ----------------------------------------------------------------------------


# Catches: the sketch not checking the key width of later batches.
def test_sketch_refuses_keys_of_another_width():
    cms = CountMinSketch(widths=[101, 103])
    cms.update(np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="one kind of key"):
        cms.update(np.zeros((2, 4), np.uint8))
    with pytest.raises(ValueError, match="one kind of key"):
        cms.lookup(np.zeros((1, 4), np.uint8))


# Catches: load_state_dict not restoring key_bytes (a restored sketch accepts any width).
def test_sketch_restore_keeps_the_key_width():
    cms = CountMinSketch(widths=[101, 103])
    cms.update(np.array([[1], [2]], np.int16))
    resumed = CountMinSketch(widths=[101, 103])
    resumed.load_state_dict(cms.state_dict())
    assert resumed.key_bytes == 2
    with pytest.raises(ValueError, match="one kind of key"):
        resumed.update(np.zeros((1, 1), np.int64))


# Catches: load_state_dict accepting negative cells.
def test_sketch_restore_refuses_negative_cells():
    cms = CountMinSketch(widths=[5, 7])
    state = cms.state_dict()
    state["table"] = state["table"].copy()
    state["table"][3] = -1
    with pytest.raises(ValueError, match="negative"):
        CountMinSketch(widths=[5, 7]).load_state_dict(state)


# -- SimHash -----------------------------------------------------------------------------------


# Catches: bit set for a projection of exactly 0 (`x >= 0` instead of `x > 0`).
def test_simhash_of_a_zero_row_has_no_bits_set():
    sh = SimHash(dim=5, bits=20, seed=1)
    codes = sh(np.zeros((2, 5)))
    assert codes.tolist() == [[0, 0, 0], [0, 0, 0]]
    assert sh(np.zeros((1, 5), np.float32)).tolist() == [[0, 0, 0]]


# Catches: overflowing float64 rows re-projected without being scaled down first.
def test_simhash_of_huge_float64_rows_equals_that_of_the_scaled_rows():
    sh = SimHash(dim=6, bits=64, seed=0)
    rng = np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=(8, 6))
    big = signs * 1.7e308
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(big @ sh.projection.T).all()
    assert (sh(big) == sh(signs)).all()


# -- count bonuses -----------------------------------------------------------------------------


# Catches: GlobalEpisodicCountBonus counting inactive rows in its lifelong table.
def test_global_episodic_bonus_does_not_count_inactive_rows_lifelong():
    term = GlobalEpisodicCountBonus()
    out = term(batch([[1], [1]], active=[False, True]))
    assert out.tolist() == [0.0, 1.0]
    assert term.counter.total == 1 and term.counter.lookup(np.array([[1]])).tolist() == [1]


# Catches: the "distinct_keys" statistic reporting total visits instead of distinct keys.
def test_update_stats_report_distinct_keys():
    term = CountBonus()
    term(batch([[1], [1], [2], [1]]))
    assert term.update(None) == {"distinct_keys": 2.0}


# Catches: a negative beta accepted (only NaN/inf refused).
def test_negative_beta_is_refused():
    with pytest.raises(ValueError, match="beta"):
        CountBonus(beta=-0.5)
    assert CountBonus(beta=0.0).beta == 0.0


# Catches: NovelD without the clip at 0 (a first visit of a well-known s' paid a negative bonus).
def test_noveld_never_pays_a_negative_bonus():
    term = NovelDCount(alpha=0.5)
    for _ in range(4):
        term(batch([[1]], obs=[[0]]))
    term.reset(np.array([True]))
    # s = 3 (never counted: nov 1), s' = 1 (N = 5, first visit this episode): 1/sqrt(5) - 0.5 < 0
    assert term(batch([[1]], obs=[[3]])).tolist() == [0.0]


# Catches: NovelD's state_dict dropping prev_key or prev_valid (an InfoKey's s is then lost).
def test_noveld_restore_keeps_the_previous_info_key_state():
    def step(term, pos):
        info = {"pos": np.array([[pos]]), "_pos": np.array([True])}
        return round(float(term(batch([[0]], infos=info))[0]), 3)

    a = NovelDCount(InfoKey("pos"), alpha=0.5)
    step(a, 1), step(a, 2), step(a, 1)  # N(1) = 2; s of the next step is 1
    b = NovelDCount(InfoKey("pos"), alpha=0.5)
    b.load_state_dict(a.state_dict())
    want = round(1 - 0.5 / np.sqrt(2), 3)  # nov(s) of the known s = 1, not 1 (unknown)
    assert step(b, 7) == step(a, 7) == want


# -- keys --------------------------------------------------------------------------------------


# Catches: InfoKey.reported keeping only the last name's mask (`=` instead of `&=`).
def test_info_key_reported_needs_every_name():
    key = InfoKey("a", "b")
    b = batch([[0], [0]], active=[True, False], infos={
        "a": np.array([1, 0]), "_a": np.array([True, False]),
        "b": np.array([2, 3]), "_b": np.array([True, True]),
    })  # fmt: skip
    assert key(b).tolist() == [[1, 2], [0, 3]]
    assert key.reported.tolist() == [True, False]


# Catches: UniformBins accepting high == low (a zero-width range divides by zero).
def test_uniform_bins_refuse_an_empty_range():
    with pytest.raises(ValueError, match="high > low"):
        UniformBins(low=1.0, high=1.0)
    with pytest.raises(ValueError, match="high > low"):
        UniformBins(low=[0.0, 1.0], high=[1.0, 1.0])

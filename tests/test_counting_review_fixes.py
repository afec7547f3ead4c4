"""Regression tests for bugs a review found in the counters, count bonuses and the gridworld.

Each test failed on the code before its fix.
"""

import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv

from rewardshaping import RewardPipeline, StepPenalty
from rewardshaping.counting import CountMinSketch, EpisodicCounter, ExactCounter
from rewardshaping.envs.gridworld import KeyDoorEnv, KeyDoorVectorEnv
from rewardshaping.intrinsic import (
    EpisodicCountBonus,
    InfoKey,
    NovelDCount,
    SimHashKey,
    UniformBins,
)
from rewardshaping.transitions import Transitions


def test_reset_masks_must_be_bool_not_env_indices():
    # np.asarray(mask, bool) turned the env indices [0, 1] into [False, True]: env 0 kept its
    # episode counts (and lost its first-visit bonus) with no error.
    ep = EpisodicCounter(num_envs=2)
    ep.update(np.array([[7], [7]]))
    for bad in (np.array([0, 1]), np.array([0.0, 0.3]), [1, 1]):
        with pytest.raises(ValueError, match="bool array of shape"):
            ep.reset(bad)
    assert ep.lookup(np.array([[7], [7]])).tolist() == [1, 1]  # nothing cleared
    ep.reset([True, False])
    assert ep.lookup(np.array([[7], [7]])).tolist() == [0, 1]

    bonus = EpisodicCountBonus(mode="first_visit")
    batch = Transitions.from_arrays(np.zeros((2, 1)), [0, 0], np.array([[7], [7]]), [0, 0])
    bonus(batch)
    with pytest.raises(ValueError, match="bool array"):
        bonus.reset(np.flatnonzero([True, True]))
    nd = NovelDCount()
    nd(batch)
    with pytest.raises(ValueError, match="bool array"):
        nd.reset(np.array([0, 1]))
    pipeline = RewardPipeline(StepPenalty(-1.0), num_envs=2)
    with pytest.raises(ValueError, match="bool array"):
        pipeline.reset(np.array([0, 1]))

    env = KeyDoorVectorEnv(2, 5, "easy", 8)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="bool array"):
        env.reset(options={"reset_mask": np.array([0, 1])})


def _noveld_steps(key):
    nd = NovelDCount(key=key, alpha=0.5)

    def step(pos, active=True, term=False):
        infos = {} if pos is None else {"pos": np.array([[pos]]), "_pos": np.array([True])}
        b = Transitions.from_arrays(np.zeros((1, 1)), [0], np.zeros((1, 1)), [0],
                                    terminated=[term], infos=infos, active=[active])  # fmt: skip
        return round(float(nd(b)[0]), 3)

    out = [step(0.1), step(0.2), step(0.3, term=True)]
    nd.reset(np.array([True]))
    out.append(step(None, active=False))  # the NEXT_STEP dummy step; its info lacks "pos"
    out.append(step(-0.9))  # first real step of the new episode, a state never seen
    return out


@pytest.mark.parametrize(
    "key", [InfoKey("pos"), UniformBins(-1.0, 1.0, bins=2, source=InfoKey("pos"))]
)
def test_noveld_treats_unreported_rows_as_unknown_through_derived_keys(key):
    # Only InfoKey had `reported`; UniformBins over it used the dummy row's zeros as s, whose
    # bin had been counted three times: nov(s) = 1/sqrt(3) instead of 1 (unknown).
    assert _noveld_steps(key)[-1] == 0.5
    simhash = SimHashKey(dim=1, bits=8, source=InfoKey("pos"))
    batch = Transitions.from_arrays(np.zeros((2, 1)), [0, 0], np.zeros((2, 1)), [0, 0],
        infos={"pos": np.array([[0.5], [0.0]]), "_pos": np.array([True, False])},
        active=[True, False])  # fmt: skip
    simhash(batch)
    assert simhash.reported.tolist() == [True, False]


def test_noveld_reset_none_forgets_the_previous_state_of_every_env():
    # reset(None) cleared the episode counts of every env but kept the old s key, whose count
    # (2) then gave nov(s) = 1/sqrt(2) on the next episode's first step instead of 1.
    nd = NovelDCount(key=InfoKey("pos"), alpha=0.5)

    def step(pos):
        b = Transitions.from_arrays(np.zeros((1, 1)), [0], np.zeros((1, 1)), [0],
            infos={"pos": np.array([[pos]]), "_pos": np.array([True])})  # fmt: skip
        return round(float(nd(b)[0]), 3)

    assert [step(1), step(2), step(1)] == [0.5, 0.5, 0.0]
    nd.reset(None)
    assert step(3) == 0.5


def test_a_seeded_partial_reset_reseeds_only_the_envs_it_resets():
    # The streams of every env were replaced: env 1's next layout came from seed 101.
    n, size, horizon = 2, 6, 8
    vec = KeyDoorVectorEnv(n, size, "hard", horizon)
    ref = SyncVectorEnv([lambda: KeyDoorEnv(size, "hard", horizon) for _ in range(n)])
    vec.reset(seed=0)
    ref.reset(seed=0)
    mask = np.array([True, False])
    vec.reset(seed=100, options={"reset_mask": mask})
    ref.reset(seed=100, options={"reset_mask": mask})
    rng = np.random.default_rng(0)
    for _ in range(40):  # past env 1's episode end, so its next layout is drawn
        a = rng.integers(0, 4, n)
        got, want = vec.step(a)[0], ref.step(a)[0]
        np.testing.assert_array_equal(got, want)
    ref.close()


@pytest.mark.parametrize("make", [ExactCounter, lambda: CountMinSketch(widths=[5, 7])])
def test_an_empty_batch_fixes_no_key_width(make):
    # np.array([]) is float64: the first (empty) call fixed 8-byte keys, and real 3-byte keys
    # were refused afterwards.
    table = make()
    assert table.update(np.array([])).tolist() == []
    assert table.lookup(np.zeros((0, 5), np.uint8)).tolist() == []
    assert table.key_bytes is None
    assert table.update(np.zeros((2, 3), np.uint8)).tolist() == [1, 2]
    assert table.update(np.array([])).tolist() == []  # and later empty batches still pass

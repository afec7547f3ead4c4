"""Count-key fixes from a review: Tuple observations as keys, Box bounds for UniformBins, and
an EpisodicCounter refused as a lifelong counter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv

from rewardshaping.counting import EpisodicCounter
from rewardshaping.intrinsic import CountBonus, GlobalEpisodicCountBonus, NovelDCount
from rewardshaping.intrinsic.keys import ObsKey, UniformBins
from rewardshaping.transitions import Transitions
from rewardshaping.wrappers import ShapedVectorEnv


class Still(gym.Env):
    """A Tuple-observation env that stays in its state."""

    observation_space = gym.spaces.Tuple((gym.spaces.Discrete(5), gym.spaces.Discrete(5)))
    action_space = gym.spaces.Discrete(5)

    def __init__(self, state):
        self.state = state

    def reset(self, *, seed=None, options=None):
        return self.state, {}

    def step(self, action):
        return self.state, 0.0, False, False, {}


@pytest.mark.parametrize("states", [[(1, 1), (2, 2)], [(1, 1), (2, 2), (1, 1)], [(3, 4)]])
def test_tuple_observations_are_keyed_per_env(states):
    venv = SyncVectorEnv([lambda s=s: Still(s) for s in states])
    w = ShapedVectorEnv(venv, CountBonus(mode="inverse"))
    w.reset(seed=0)
    bonus = w.step(np.zeros(len(states), int))[4]["reward_terms"]["count_bonus"]
    seen: dict = {}
    want = []
    for s in states:  # within a batch, env i sees the counts of envs < i
        seen[s] = seen.get(s, 0) + 1
        want.append(1.0 / seen[s])
    assert bonus.tolist() == want


def test_tuple_components_of_different_dtypes_are_joined_exactly():
    pos = np.array([[1.5, 2.0], [1.5, 2.0], [1.5, -0.0]])
    door = np.array([0, 1, 0], np.int64)
    obs = (pos, door)
    b = Transitions.from_arrays(obs, [0, 0, 0], obs, [0, 0, 0])
    keys = ObsKey()(b)
    assert keys.shape == (3, 16 + 8)
    assert not np.array_equal(keys[0], keys[1])  # the door differs
    assert np.array_equal(
        ObsKey()(Transitions.from_arrays(obs, [0] * 3, (pos * 1, door), [0] * 3)), keys
    )
    bad = (np.array([[np.nan, 0.0]] * 3), door)
    with pytest.raises(ValueError, match="NaN"):
        ObsKey()(Transitions.from_arrays(bad, [0] * 3, bad, [0] * 3))


def test_uniform_bins_accept_a_box_spaces_own_bounds():
    space = gym.spaces.Box(-1.0, 1.0, (2, 3))
    x = np.stack([np.full((2, 3), v) for v in (-0.99, 0.0, 0.99, 5.0)])
    b = Transitions.from_arrays(x, [0] * 4, x, [0] * 4)
    out = UniformBins(space.low, space.high, 4)(b)
    assert out.shape == (4, 6) and out[:, 0].tolist() == [0, 2, 3, 3]
    flat = UniformBins(space.low.ravel(), space.high.ravel(), 4)(b)
    assert np.array_equal(out, flat)
    with pytest.raises(ValueError, match="match neither"):
        UniformBins(np.zeros(4), np.ones(4), 4)(b)


@pytest.mark.parametrize("term", [CountBonus, GlobalEpisodicCountBonus, NovelDCount])
def test_an_episodic_counter_is_refused_as_the_lifelong_counter(term):
    with pytest.raises(TypeError, match="EpisodicCounter"):
        term(counter=EpisodicCounter(2))

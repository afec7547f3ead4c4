"""Shaping fixes from a review: buffers envs overwrite in place (single env, vector env with
copy=False, cached potentials), schedules refused on potential-based terms, negative rewards
under MultiplicativePenalty, float32 discounts, LinearDecay steps and policy_return's start."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import SyncVectorEnv

from rewardshaping import ShapedEnv
from rewardshaping.composers import MultiplicativePenalty
from rewardshaping.pipeline import RewardPipeline
from rewardshaping.schedules import LinearDecay
from rewardshaping.shaping import PotentialShaping
from rewardshaping.shaping.gamma import check_shaping_gamma
from rewardshaping.tabular import random_mdp
from rewardshaping.tabular.solve import policy_return
from rewardshaping.terms import FunctionTerm
from rewardshaping.transitions import Transitions
from rewardshaping.wrappers import ShapedVectorEnv


class Line(gym.Env):
    """Moves right by 1 each step and returns its own float64 state buffer, mutated in place."""

    observation_space = spaces.Box(-100, 100, (1,), np.float64)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.buf = np.zeros(1)
        return self.buf, {}

    def step(self, action):
        self.buf[0] += 1.0
        return self.buf, 0.0, False, False, {}


def test_a_single_env_that_overwrites_its_observation_is_seen_as_s_and_s_prime():
    progress = FunctionTerm(lambda b: b.next_obs[:, 0] - b.obs[:, 0], name="progress")
    env = ShapedEnv(Line(), [progress, PotentialShaping(lambda o: o[:, 0], gamma=0.9)])
    env.reset(seed=0)
    for x in (1.0, 2.0, 3.0):
        info = env.step(1)[4]
        assert info["reward_terms"]["progress"] == 1.0
        assert info["reward_terms"]["shaping"] == pytest.approx(0.9 * x - (x - 1.0))


def test_a_vector_env_with_copy_false_gets_the_right_potentials():
    venv = SyncVectorEnv([Line, Line], copy=False)
    env = ShapedVectorEnv(venv, PotentialShaping(lambda o: o[:, 0], gamma=0.9))
    env.reset(seed=0)
    for x in (1.0, 2.0, 3.0):
        shaping = env.step(np.ones(2, int))[4]["reward_terms"]["shaping"]
        assert shaping == pytest.approx([0.9 * x - (x - 1.0)] * 2)


def test_the_cached_potential_is_not_a_view_of_the_observation():
    term = PotentialShaping(lambda o: o[:, 0], gamma=0.9)
    buf, s = np.zeros((1, 1)), np.zeros((1, 1))
    paid = []
    for x in (1.0, 2.0, 3.0):
        buf[0, 0] = x
        paid += term(
            Transitions.from_arrays(s, [0], buf, [0.0], episode_step=[int(x) - 1])
        ).tolist()
        s = buf.copy()
    assert paid == pytest.approx([0.9, 0.8, 0.7])


def test_a_schedule_on_potential_based_shaping_is_refused():
    pbrs = PotentialShaping(lambda o: o[:, 0], gamma=1.0)
    with pytest.raises(ValueError, match="potential-based"):
        RewardPipeline(pbrs, 1, weight=LinearDecay(1.0, 0.0, steps=4))
    RewardPipeline(pbrs, 1, weight=0.5)  # a constant weight keeps the invariance


def test_a_penalty_never_raises_the_reward():
    c = MultiplicativePenalty(penalties=["collision"])
    out = c(np.array([-1.0, -1.0, 2.0, 0.0]), {"collision": np.array([0.0, 0.75, 0.75, 0.75])})
    assert out.tolist() == [-1.0, -1.75, 0.5, 0.0]


def test_float32_discounts_are_read_and_compared_with_float32_tolerance():
    env = ShapedEnv(Line(), PotentialShaping(lambda o: o[:, 0], gamma=np.float32(0.99)))
    check_shaping_gamma(env, 0.99)
    check_shaping_gamma(env, np.float32(0.99))
    check_shaping_gamma(env, np.array(0.99))
    with pytest.raises(ValueError, match="gamma"):
        check_shaping_gamma(env, 0.999)


@pytest.mark.parametrize("steps", [0, 0.5, 1.7, -3])
def test_linear_decay_refuses_steps_that_are_not_a_whole_positive_number(steps):
    with pytest.raises(ValueError, match="whole number"):
        LinearDecay(1.0, 0.0, steps=steps)
    assert LinearDecay(1.0, 0.0, steps=2.0)(1) == 0.5


def test_policy_return_checks_its_start_distribution():
    mdp = random_mdp(3, 2, 0.9, seed=0)
    pi = np.zeros(3, int)
    one = policy_return(mdp.transition, mdp.reward, 0.9, pi, initial=[1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="probability distribution"):
        policy_return(mdp.transition, mdp.reward, 0.9, pi, initial=[2.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        policy_return(mdp.transition, mdp.reward, 0.9, pi, initial=[1.0, 0.0])
    assert np.isfinite(one)

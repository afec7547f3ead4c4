import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid envs)
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rewardshaping import FunctionTerm, ShapedEnv, StepPenalty


def test_check_env_minigrid():
    env = ShapedEnv(gym.make("MiniGrid-DoorKey-5x5-v0"), StepPenalty(-0.01))
    with pytest.warns(UserWarning, match="different from the unwrapped"):
        check_env(env, skip_render_check=True)


def test_check_env_mujoco():
    term = FunctionTerm(lambda b: -np.square(b.next_obs).sum(axis=1), name="quad")
    env = ShapedEnv(gym.make("InvertedPendulum-v5"), term, weight=0.01)
    with pytest.warns(UserWarning, match="different from the unwrapped"):
        check_env(env, skip_render_check=True)


def test_infos_and_episode_sums(countdown):
    env = ShapedEnv(countdown(3), StepPenalty(-1.0))
    env.reset(seed=0)
    infos = [env.step(0)[4] for _ in range(3)]
    assert [i["env_reward"] for i in infos] == [1.0, 2.0, 3.0]
    assert all(i["reward_terms"] == {"step_penalty": -1.0} for i in infos)
    assert "episode_reward_terms" not in infos[1]
    assert infos[2]["episode_reward_terms"] == {"env_reward": 6.0, "step_penalty": -3.0}
    assert infos[2]["episode_length"] == 3
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)  # the episode ended: reset first


def test_terms_read_infos(countdown):
    env = ShapedEnv(countdown(3), FunctionTerm(lambda b: b.info("t") * 10.0, name="from_info"))
    env.reset()
    assert env.step(0)[1] == 1.0 + 10.0
    bad = ShapedEnv(countdown(3), FunctionTerm(lambda b: b.info("missing"), name="f"))
    bad.reset()
    with pytest.raises(KeyError, match="'missing'"):
        bad.step(0)


def test_constructor_args_recorded():
    env = ShapedEnv(gym.make("CartPole-v1"), StepPenalty(-0.5), weight=2.0)
    assert env.spec.additional_wrappers[-1].kwargs["weight"] == 2.0

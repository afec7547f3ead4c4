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


def test_tuple_infos_are_one_value_per_env_as_in_vector_envs():
    # MiniGrid's raw agent_pos is a tuple: one value of the env, not a batch of its elements.
    from rewardshaping.intrinsic import CountBonus, InfoKey
    from rewardshaping.transitions import single_info_as_vector

    info = single_info_as_vector({"pos": (3, 4), "dist": 2.0, "xy": np.array([1, 2])})
    assert info["pos"].dtype == object and info["pos"][0] == (3, 4)
    assert info["dist"].tolist() == [2.0] and info["xy"].tolist() == [[1, 2]]

    class TuplePos(gym.Wrapper):
        def step(self, action):
            obs, r, term, trunc, info = self.env.step(action)
            return obs, r, term, trunc, {**info, "pos": (int(obs[0]), 0)}

    env = ShapedEnv(TuplePos(gym.make("CartPole-v1")), CountBonus(InfoKey("pos")))
    env.reset(seed=0)
    assert env.step(0)[4]["reward_terms"]["count_bonus"] == 1.0  # used to raise a shape error


def test_numpy_scalar_weights_are_numbers():
    env = ShapedEnv(gym.make("CartPole-v1"), StepPenalty(-1.0), weight=np.float32(0.5))
    env.reset(seed=0)
    assert env.step(0)[4]["reward_terms"]["step_penalty"] == -0.5

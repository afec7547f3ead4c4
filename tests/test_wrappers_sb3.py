import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from rewardshaping import FunctionTerm, RewardTerm, ShapedVecEnv, StepPenalty


def test_refuses_to_sit_above_vecnormalize():
    venv = VecNormalize(make_vec_env("CartPole-v1", n_envs=1))
    with pytest.raises(ValueError, match=r"VecNormalize\(ShapedVecEnv\(venv, terms\)\)"):
        ShapedVecEnv(venv, StepPenalty())
    VecNormalize(ShapedVecEnv(make_vec_env("CartPole-v1", n_envs=1), StepPenalty()))  # fine


def test_rejects_non_vecenv():
    import gymnasium as gym

    with pytest.raises(TypeError, match="make_vec_env"):
        ShapedVecEnv(gym.make("CartPole-v1"), StepPenalty())


def test_terminal_observation_and_truncation(countdown):
    seen = []

    class Rec(RewardTerm):
        name = "rec"

        def __call__(self, b):
            seen.append(b)
            return b.next_obs[:, 0]

    venv = ShapedVecEnv(DummyVecEnv([lambda: countdown(2, 0, truncate=True)]), Rec())
    venv.reset()
    venv.step(np.array([0]))
    obs, rewards, dones, infos = venv.step(np.array([0]))
    assert dones[0] and obs[0, 0] == 0.0  # SB3 already reset the env ...
    assert seen[-1].next_obs[0, 0] == 2.0  # ... the term saw terminal_observation
    assert seen[-1].truncated[0] and not seen[-1].terminated[0]
    assert rewards[0] == 2.0 + 2.0
    assert infos[0]["episode_reward_terms"] == {"env_reward": 3.0, "rec": 3.0}
    venv.step(np.array([0]))
    assert seen[-1].obs[0, 0] == 0.0 and seen[-1].episode_step[0] == 0


def test_sb3_ppo_learns_through_adapter():
    """A few thousand PPO steps through the adapter, with reward terms in every info.

    Learning is read off the adapter's own episode sums (``episode_reward_terms``), which also
    checks that they agree with SB3's Monitor returns.
    """
    term_infos, returns = [], []

    class Check(BaseCallback):
        def _on_step(self):
            infos = self.locals["infos"]
            term_infos.append(all("reward_terms" in i for i in infos))
            for i in infos:
                if "episode_reward_terms" in i:
                    returns.append(i["episode_reward_terms"]["env_reward"])
                    assert i["episode_reward_terms"]["env_reward"] == i["episode"]["r"]
            return True

    upright = FunctionTerm(lambda b: -np.abs(b.next_obs[:, 2]), name="upright")
    venv = ShapedVecEnv(make_vec_env("CartPole-v1", n_envs=4, seed=0), upright)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=128, seed=0, device="cpu", verbose=0)
    model.learn(10_000, callback=Check())
    assert term_infos and all(term_infos)
    first, last = np.mean(returns[:20]), np.mean(returns[-20:])
    assert last > 2 * first, (first, last)


def test_shaped_vecenv_pickles_with_term_state():
    import cloudpickle

    venv = ShapedVecEnv(make_vec_env("CartPole-v1", n_envs=2, seed=0), StepPenalty(-0.5))
    venv.reset()
    venv.step(np.array([0, 1]))
    copy = cloudpickle.loads(cloudpickle.dumps(venv))
    assert copy.pipeline.global_step == 2
    _, rewards, _, infos = copy.step(np.array([0, 1]))
    assert rewards.tolist() == [0.5, 0.5] and "reward_terms" in infos[0]

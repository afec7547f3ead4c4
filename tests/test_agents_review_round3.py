"""PPO and adapter fixes from a review: NEXT_STEP dummy steps in the intrinsic (non-episodic)
advantages, the rollout's next_obs dtype, a learning rate given to load(), and the lazy info
views' items()/values()/len()."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from rewardshaping import RewardTerm
from rewardshaping.agents import PPO, PPOConfig
from rewardshaping.transitions import single_info_as_vector
from rewardshaping.wrappers.sb3 import _SB3Infos


class TwoStep(gym.Env):
    """Every episode is two steps, then truncated; float64 observations."""

    observation_space = gym.spaces.Box(-1, 1, (1,), np.float64)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1), {}

    def step(self, action):
        self.t += 1
        return np.full(1, 0.5), 0.0, False, self.t == 2, {}


class Const(RewardTerm):
    """Intrinsic reward 1 on every real step."""

    name, intrinsic = "bonus", True

    def __call__(self, batch):
        return np.ones(batch.num_envs, np.float32)


def _intrinsic_advantages(mode):
    envs = SyncVectorEnv([TwoStep], autoreset_mode=mode)
    cfg = PPOConfig(num_envs=1, num_steps=6, device="cpu", gamma=0.5, int_gamma=0.5,
                    gae_lambda=1.0, normalize_intrinsic=False, ext_coef=0.0)  # fmt: skip
    agent = PPO(cfg, envs, terms=Const())
    with torch.no_grad():  # V_ext = V_int = 0 everywhere: advantages are discounted returns
        last = agent.policy.towers.layers[-1]
        last.weight[agent.policy.n_out :] = 0
        last.bias[agent.policy.n_out :] = 0
    agent._reset_envs()
    agent.collect_rollout()
    agent.compute_advantages()
    valid = torch.as_tensor(agent.valid[:, 0])
    return agent, agent.advantages[:, 0][valid].numpy()


def test_dummy_reset_steps_are_transparent_to_the_intrinsic_stream():
    _, next_step = _intrinsic_advantages(AutoresetMode.NEXT_STEP)
    _, same_step = _intrinsic_advantages(AutoresetMode.SAME_STEP)
    # Four real steps under NEXT_STEP (two dummies), six under SAME_STEP; a non-episodic
    # stream of reward 1 with gamma 0.5 gives the same advantage for the same steps-to-go.
    assert next_step == pytest.approx([1.875, 1.75, 1.5, 1.0])
    assert next_step == pytest.approx(same_step[-4:])


def test_the_rollout_next_obs_has_the_dtype_of_obs_for_float64_envs():
    agent, _ = _intrinsic_advantages(AutoresetMode.SAME_STEP)
    rollout = agent.rollout()
    assert rollout.next_obs.dtype == rollout.obs.dtype == torch.float32
    net = torch.nn.Linear(1, 1)
    net(rollout.obs), net(rollout.next_obs)  # one network takes both


def test_a_learning_rate_given_to_load_is_used_without_annealing(tmp_path):
    envs = SyncVectorEnv([TwoStep])
    cfg = PPOConfig(num_envs=1, num_steps=4, device="cpu", anneal_lr=False, learning_rate=2.5e-4)
    path = PPO(cfg, envs).save(tmp_path / "ckpt.pt")
    resumed = PPO.load(path, SyncVectorEnv([TwoStep]), learning_rate=1e-3)
    assert resumed.config.learning_rate == 1e-3
    assert resumed.optimizer.param_groups[0]["lr"] == 1e-3


def test_the_lazy_info_views_iterate_like_dicts():
    single = single_info_as_vector({"dist": 3.0})
    assert [(k, v.tolist()) for k, v in single.items()] == [("dist", [3.0])]
    assert [v.tolist() for v in single.values()] == [[3.0]] and len(single) == 1
    sb3 = _SB3Infos([{"dist": 1.0}, {"dist": 2.0}])
    assert [(k, v.tolist()) for k, v in sb3.items()] == [("dist", [1.0, 2.0])]
    assert len(sb3) == 1 and bool(sb3)
    assert not _SB3Infos([{}, {}])

"""Regression tests for the agents' second review: a PPO checkpoint resumes on another device
(its generator reseeded, with a warning); ``normalize_obs`` leaves Discrete observations (state
indices) alone; ``Discrete(n, start)`` action and observation spaces are honoured by PPO,
BlendedPPO, DQN and TabularQ."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch

from rewardshaping.agents.blended_ppo import BlendConfig, BlendedPPO
from rewardshaping.agents.checkpoint import atomic_save, load_checkpoint
from rewardshaping.agents.dqn import DQN, DQNConfig
from rewardshaping.agents.networks import as_float_input
from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.agents.ppo_checkpoint import RESEED_STRIDE
from rewardshaping.agents.replay import Experiences
from rewardshaping.agents.tabular_q import TabularQ


def ppo_config(**kw) -> PPOConfig:
    base = dict(num_envs=2, num_steps=16, total_timesteps=64, device="cpu", seed=5,
                tensorboard=False)  # fmt: skip
    base.update(kw)
    return PPOConfig(**base)


def heuristics():
    return {"h": lambda b: np.ones(len(b.action), np.float32)}


# -- 1. resuming on another device ----------------------------------------------------------------
def as_if_saved_on_cuda(path, recorded: bool) -> None:
    """Rewrite a CPU checkpoint as a CUDA run would have saved it (no GPU here): a CUDA
    generator's state is 16 bytes (seed, Philox offset), a CPU one's 5056."""
    state = load_checkpoint(path)
    state["config"]["device"] = "cuda"
    state["generator"] = torch.tensor([0, 64], dtype=torch.int64).view(torch.uint8)
    if recorded:
        state["generator_device"] = "cuda"
    else:  # a checkpoint from before the entry was saved
        state.pop("generator_device", None)
    atomic_save(state, path)


@pytest.mark.parametrize(
    "cls,recorded",
    [(PPO, True), (PPO, False), (BlendedPPO, True)],
    ids=["ppo", "ppo-old-checkpoint", "blended-ppo"],
)
def test_a_checkpoint_saved_on_cuda_resumes_on_cpu_reseeded_with_a_warning(tmp_path, cls, recorded):
    kw = {"heuristics": heuristics()} if cls is BlendedPPO else {}
    agent = cls(ppo_config(), **kw).learn(max_iterations=1)
    path = agent.save(tmp_path / "checkpoint.pt")
    as_if_saved_on_cuda(path, recorded)
    with pytest.warns(RuntimeWarning, match="not be bit-identical"):
        back = cls.load(path, device="cpu", **kw)  # what `train --resume --device cpu` does
    expected = torch.Generator().manual_seed(5 + RESEED_STRIDE * back.iteration).get_state()
    assert torch.equal(back.generator.get_state(), expected)  # deterministic reseed
    back.learn()
    assert back.iteration == 2


def test_checkpoint_records_the_generator_device_and_old_cpu_ones_resume_exactly(tmp_path):
    agent = PPO(ppo_config()).learn(max_iterations=1)
    path = agent.save(tmp_path / "checkpoint.pt")
    state = load_checkpoint(path)
    assert state["generator_device"] == "cpu"
    del state["generator_device"]  # as before the entry: inferred from the state's size
    atomic_save(state, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        back = PPO.load(path)
    assert torch.equal(back.generator.get_state(), agent.generator.get_state())


# -- 2. normalize_obs and Discrete observations ---------------------------------------------------
@pytest.mark.parametrize("cls", [PPO, BlendedPPO])
def test_normalize_obs_leaves_discrete_states_distinct(tmp_path, cls):
    kw = {"heuristics": heuristics()} if cls is BlendedPPO else {}
    cfg = ppo_config(env_id="FrozenLake-v1", num_steps=32, normalize_obs=True)
    with pytest.warns(UserWarning, match="ignored for Discrete observations"):
        agent = cls(cfg, **kw)
    agent.learn(max_iterations=1)
    assert agent.obs_rms is None
    states = torch.arange(16)  # z-scored indices used to truncate back to 9 distinct inputs
    assert torch.equal(as_float_input(agent._normalize(states), agent.obs_space).argmax(-1), states)
    # Checkpoints that still hold statistics of Discrete observations load (and drop them).
    path = agent.save(tmp_path / "checkpoint.pt")
    state = load_checkpoint(path)
    state["obs_rms"] = {"mean": torch.tensor(7.5), "var": torch.tensor(20.0), "count": 64.0}
    atomic_save(state, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert cls.load(path, **kw).obs_rms is None


def test_blended_ppo_state_dependent_weights_read_discrete_observations():
    blend = BlendConfig(state_dependent=True, require_primary_reward=False)
    agent = BlendedPPO(ppo_config(env_id="FrozenLake-v1"), heuristics=heuristics(), blend=blend)
    agent.learn()  # the head's width is n = 16: it reads one-hot states, not indices
    assert agent.iteration == 2 and np.isfinite(list(agent.heuristic_weights().values())).all()


# -- 3. Discrete(n, start) spaces ------------------------------------------------------------------
class StartAt1(gym.Env):
    """Actions Discrete(2, start=1) (counts those outside), observations Discrete(4, start=1)
    cycling 1, 2, 3, 4; reward 1 for action 2; episodes of 6 steps."""

    observation_space = gym.spaces.Discrete(4, start=1)
    action_space = gym.spaces.Discrete(2, start=1)

    def __init__(self) -> None:
        self.bad = self.total = self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 1, {}

    def step(self, action):
        self.t += 1
        self.total += 1
        self.bad += not self.action_space.contains(np.int64(action))
        return 1 + self.t % 4, float(action == 2), False, self.t >= 6, {}


class BoxObsStartAt1(StartAt1):
    """StartAt1 with Box observations (for DQN's and the numpy rollout's MLP paths)."""

    observation_space = gym.spaces.Box(0, 4, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed)
        return np.array([obs], np.float32), info

    def step(self, action):
        obs, *rest = super().step(action)
        return (np.array([obs], np.float32), *rest)


def vec(env_cls) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv([env_cls for _ in range(2)])


def outside(envs) -> tuple[int, int]:
    return sum(e.bad for e in envs.envs), sum(e.total for e in envs.envs)


def dqn(envs) -> DQN:
    cfg = DQNConfig(num_envs=2, total_timesteps=64, learning_starts=16, train_frequency=2,
                    batch_size=8, hidden_sizes=(8,), device="cpu", tensorboard=False)  # fmt: skip
    return DQN(cfg, envs)


@pytest.mark.parametrize(
    "make",
    [
        lambda envs: PPO(ppo_config(), envs),  # NumPy rollout (Box observations)
        lambda envs: PPO(ppo_config(numpy_rollout=False), envs),  # torch rollout
        lambda envs: BlendedPPO(ppo_config(), envs, heuristics=heuristics()),
        dqn,
    ],
    ids=["ppo", "ppo-torch-rollout", "blended-ppo", "dqn"],
)
@pytest.mark.parametrize("env_cls", [BoxObsStartAt1, StartAt1], ids=["box-obs", "discrete-obs"])
def test_agents_act_in_discrete_spaces_that_start_at_1(make, env_cls):
    envs = vec(env_cls)
    agent = make(envs).learn()
    bad, total = outside(envs)
    assert total > 0 and bad == 0
    obs = np.array([[1.0], [4.0]], np.float32) if env_cls is BoxObsStartAt1 else np.array([1, 4])
    assert set(agent.predict(obs).tolist()) <= {1, 2}
    if isinstance(agent, DQN):
        assert set(agent.buffer.actions[: len(agent.buffer)].tolist()) == {0, 1}  # indices
        assert set(agent.predict(obs, epsilon=1.0).tolist()) <= {1, 2}
        with pytest.raises(ValueError, match=r"action space \[1, 3\)"):
            agent.add_experiences(  # indices instead of env actions
                Experiences(obs[:1], np.array([0]), np.zeros(1), obs[:1], np.zeros(1, bool))
            )
    else:  # learned terms and hooks see the env's actions, as the terms' batches do
        assert set(agent.rollout().actions.unique().tolist()) <= {1, 2}
    fresh = vec(env_cls)
    agent.evaluate(2, envs=fresh)
    assert outside(fresh)[0] == 0


def test_tabular_q_learns_in_discrete_spaces_that_start_at_1():
    env = StartAt1()
    seen = []

    def experience_fn(batch):
        seen.append(int(batch.action[0]))
        return Experiences(batch.obs, batch.action, batch.reward, batch.next_obs,
                           batch.terminated)  # fmt: skip

    agent = TabularQ(4, 2, learning_rate=0.5, gamma=0.0, epsilon=0.5, seed=0)
    agent.learn(env, 200, seed=0, experience_fn=experience_fn)
    assert env.bad == 0 and env.total == 200 and set(seen) == {1, 2}
    assert (agent.greedy_policy() == 1).all()  # column 1 = action 2, the rewarded one

"""The agents learn: PPO solves CartPole-v1 and the gridworld's easy setting (default suite);
PPO with Gaussian actions learns InvertedPendulum-v5 and DQN solves CartPole-v1 (slow).

The hyperparameters are the config files in experiments/configs/ (the same files
``rewardshaping train --config`` runs). Thresholds (greedy policy, fresh evaluation envs):

* PPO, CartPole-v1: mean return >= 475 over 20 episodes, within 100k steps.
* PPO, rewardshaping/KeyDoor-Easy-v0: every evaluation episode takes a shortest path.
* PPO, InvertedPendulum-v5: mean return >= 950 (max 1000) over 10 episodes, within 100k steps.
* DQN, CartPole-v1: mean return >= 475 over 20 episodes, within 50k steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rewardshaping.agents.config_files import load_config_file
from rewardshaping.agents.dqn import DQN, DQNConfig
from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.envs.gridworld import KeyDoorVectorEnv

CONFIGS = Path(__file__).resolve().parents[1] / "experiments" / "configs"


def config(name: str, cls):
    values = load_config_file(CONFIGS / f"{name}.yaml")
    values.pop("algo")
    return cls.from_dict({**values, "device": "cpu"})


def test_ppo_solves_cartpole():
    def solved(agent, stats):  # stop early once training episodes are near-perfect
        return not stats["episode/return_mean"] >= 495

    agent = PPO(config("ppo_cartpole", PPOConfig)).learn(callback=solved)
    assert agent.evaluate(20).mean_return >= 475


def test_ppo_solves_the_easy_gridworld_optimally():
    agent = PPO(config("ppo_keydoor_easy", PPOConfig)).learn()
    envs = KeyDoorVectorEnv(50, size=6, difficulty="easy")
    obs, _ = envs.reset(seed=123)
    shortest = np.array([len(envs.shortest_plan(i)) for i in range(50)])
    lengths = np.zeros(50, dtype=int)
    running = np.ones(50, bool)
    for _ in range(100):
        obs, _, terminated, truncated, _ = envs.step(agent.predict(obs))
        lengths += running
        running &= ~(terminated | truncated)
        if not running.any():
            break
    np.testing.assert_array_equal(lengths, shortest)


@pytest.mark.slow
def test_ppo_gaussian_learns_inverted_pendulum():
    agent = PPO(config("ppo_inverted_pendulum", PPOConfig)).learn()
    assert agent.evaluate(10).mean_return >= 950


@pytest.mark.slow
def test_dqn_solves_cartpole():
    agent = DQN(config("dqn_cartpole", DQNConfig)).learn(log_every=5000)
    assert agent.evaluate(20).mean_return >= 475

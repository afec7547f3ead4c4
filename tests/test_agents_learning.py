"""The agents learn: PPO solves CartPole-v1 and the gridworld's easy setting (default suite);
PPO with Gaussian actions learns InvertedPendulum-v5 and DQN solves CartPole-v1 (slow).

Thresholds (greedy policy, fresh evaluation envs):
* PPO, CartPole-v1: mean return >= 475 over 20 episodes, within 100k steps.
* PPO, rewardshaping/KeyDoor-Easy-v0: every evaluation episode takes a shortest path.
* PPO, InvertedPendulum-v5: mean return >= 950 (max 1000) over 10 episodes, within 100k steps.
* DQN, CartPole-v1: mean return >= 475 over 20 episodes, within 50k steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rewardshaping.agents.dqn import DQN, DQNConfig
from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.envs.gridworld import KeyDoorVectorEnv


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny networks: one thread is fastest and keeps results identical across machines.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def stop_when(threshold):
    def callback(agent, stats):
        return not stats["episode/return_mean"] >= threshold

    return callback


def test_ppo_solves_cartpole():
    # RL Zoo's tuned CartPole hyperparameters (Raffin 2020), on CartPole's batched version.
    cfg = PPOConfig(
        env_id="CartPole-v1",
        vectorization="vector_entry_point",
        num_envs=8,
        num_steps=32,
        num_minibatches=1,
        update_epochs=20,
        learning_rate=1e-3,
        gamma=0.98,
        gae_lambda=0.8,
        ent_coef=0.0,
        total_timesteps=100_000,
        device="cpu",
        seed=0,
    )
    agent = PPO(cfg).learn(callback=stop_when(495))
    assert agent.evaluate(20).mean_return >= 475


def test_ppo_solves_the_easy_gridworld_optimally():
    cfg = PPOConfig(
        env_id="rewardshaping/KeyDoor-Easy-v0",
        num_envs=64,
        num_steps=64,
        learning_rate=1e-3,
        total_timesteps=120_000,
        device="cpu",
        seed=0,
    )
    agent = PPO(cfg).learn()
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
    cfg = PPOConfig(
        env_id="InvertedPendulum-v5",
        vectorization="sync",
        num_envs=4,
        num_steps=512,
        num_minibatches=32,
        update_epochs=10,
        learning_rate=3e-4,
        ent_coef=0.0,
        normalize_obs=True,
        normalize_reward=True,
        total_timesteps=100_000,
        device="cpu",
        seed=0,
    )
    agent = PPO(cfg).learn()
    assert agent.evaluate(10).mean_return >= 950


@pytest.mark.slow
def test_dqn_solves_cartpole():
    # RL Zoo's tuned CartPole DQN hyperparameters.
    cfg = DQNConfig(
        env_id="CartPole-v1",
        vectorization="vector_entry_point",
        total_timesteps=50_000,
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1000,
        target_network_frequency=10,
        train_frequency=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        end_e=0.04,
        hidden_sizes=(256, 256),
        device="cpu",
        seed=0,
    )
    agent = DQN(cfg).learn(log_every=5000)
    assert agent.evaluate(20).mean_return >= 475

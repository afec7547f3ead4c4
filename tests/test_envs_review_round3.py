"""Env fixes from a review: the registered KeyDoor horizon reaches the env under every
``gym.make``/``make_vec`` mode, and reward-machine envs report labels of one width at reset and
at step (a sync vector env stacks them)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rewardshaping.envs  # noqa: F401  (registers the ids)
from envs.gridworld import KeyDoorEnv, KeyDoorVectorEnv

PLAN = [1, 1, 1, 1, 1, 0, 0, 3, 3, 3, 0, 0, 0, 1, 1, 1]  # KeyDoor-Fixed's shortest plan


@pytest.mark.parametrize("mode", ["sync", "vector_entry_point"])
def test_the_registered_horizon_scales_the_reward_in_every_vector_mode(mode):
    envs = gym.make_vec("rewardshaping/KeyDoor-Fixed-v0", 2, vectorization_mode=mode)
    envs.reset(seed=0)
    for a in PLAN:
        reward = envs.step(np.array([a, a]))[1]
    assert reward.tolist() == pytest.approx([1 - 0.9 * 16 / 60] * 2)


def test_gym_make_uses_the_registered_horizon_and_max_steps_changes_it():
    env = gym.make("rewardshaping/KeyDoor-Fixed-v0")
    env.reset(seed=0)
    assert next(t for t in range(1, 1000) if any(env.step(3)[2:4])) == 60
    env = gym.make("rewardshaping/KeyDoor-Fixed-v0", max_steps=20)
    env.reset(seed=0)
    for a in PLAN:
        reward = env.step(a)[1]
    assert reward == pytest.approx(1 - 0.9 * 16 / 20)


def test_both_horizon_names_are_accepted_only_when_they_agree():
    assert KeyDoorEnv(size=5, max_episode_steps=9)._vec.max_episode_steps == 9
    assert KeyDoorVectorEnv(2, size=5, max_steps=9).max_episode_steps == 9
    with pytest.raises(ValueError, match="disagree"):
        KeyDoorEnv(size=5, max_steps=9, max_episode_steps=10)


@pytest.mark.parametrize("env_id", ["rewardshaping/Office-T1-v0", "rewardshaping/Office-T4-v0"])
def test_machine_labels_have_one_width_at_reset_and_step(env_id):
    env = gym.make(env_id)
    reset_labels = env.reset(seed=0)[1]["labels"]
    step_labels = env.step(0)[4]["labels"]
    assert reset_labels.shape == step_labels.shape and reset_labels.dtype == bool


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_a_sync_vector_of_machine_envs_steps_through_a_machine_ended_episode(mode):
    from gymnasium.vector import AutoresetMode

    envs = gym.make_vec("rewardshaping/Office-T1-v0", 2, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": AutoresetMode(mode)})  # fmt: skip
    envs.reset(seed=0)
    ended = False
    for a in ([1, 0], [1, 0], [0, 0], [0, 0], [0, 0]):  # env 0 walks onto a plant: the sink
        _, _, terminated, truncated, info = envs.step(np.array(a))
        ended |= bool(terminated[0] or truncated[0])
        assert info["labels"].shape[0] == 2
    assert ended

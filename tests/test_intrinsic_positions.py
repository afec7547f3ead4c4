"""MiniGridTaskStateInfo: the count key that notices keys picked up and doors opened."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid envs)
import numpy as np
from minigrid.core.world_object import Key

from rewardshaping import ShapedVectorEnv
from rewardshaping.intrinsic import CountBonus, InfoKey, MiniGridTaskStateInfo


def test_task_state_follows_carrying_and_the_door():
    env = MiniGridTaskStateInfo(gym.make("MiniGrid-DoorKey-5x5-v0"))
    _, info = env.reset(seed=0)
    x, y = env.unwrapped.agent_pos
    assert info["task_state"].tolist() == [x, y, 0, 0]
    env.unwrapped.carrying = Key("yellow")
    _, _, _, _, info = env.step(env.unwrapped.actions.done)  # "done" changes nothing else
    assert info["task_state"].tolist() == [x, y, 1, 0]
    door = next(o for o in env.unwrapped.grid.grid if o is not None and o.type == "door")
    door.is_open = True
    _, _, _, _, info = env.step(env.unwrapped.actions.done)
    assert info["task_state"].tolist() == [x, y, 1, 1]
    assert info["task_state"].dtype == np.int64


def test_task_state_counts_in_a_vector_env():
    """Stacked by Gymnasium into (N, 4) int64 rows, which InfoKey + CountBonus count exactly."""
    envs = gym.make_vec("MiniGrid-DoorKey-5x5-v0", 2, vectorization_mode="sync",
                        wrappers=[MiniGridTaskStateInfo])  # fmt: skip
    bonus = CountBonus(InfoKey("task_state"))
    shaped = ShapedVectorEnv(envs, bonus)
    shaped.reset(seed=0)
    states: Counter = Counter()
    for t in range(6):
        _, _, _, _, info = shaped.step(np.array([t % 3, 2]))  # turns and forward moves
        assert info["task_state"].shape == (2, 4)
        for row in info["task_state"]:
            states[tuple(row)] += 1
    counted = {tuple(np.frombuffer(k, np.int64)): c for k, c in bonus.counter.as_dict().items()}
    assert counted == dict(states)

"""AgentPositionInfo and MiniGridTaskStateInfo: info keys that count bonuses can count (the
latter notices keys picked up and doors opened)."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid envs)
import numpy as np
import pytest
from minigrid.core.world_object import Key

from rewardshaping import ShapedVectorEnv
from rewardshaping.intrinsic import (
    AgentPositionInfo,
    CountBonus,
    InfoKey,
    MiniGridTaskStateInfo,
)


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


@pytest.mark.parametrize(
    ("env_id", "wrapper", "key", "width", "actions"),
    [
        # forward moves only
        ("MiniGrid-Empty-5x5-v0", AgentPositionInfo, "agent_pos", 2, lambda t: [2, 2]),
        # turns and forward moves
        ("MiniGrid-DoorKey-5x5-v0", MiniGridTaskStateInfo, "task_state", 4, lambda t: [t % 3, 2]),
    ],
)
def test_info_keys_count_exactly_through_a_vector_env(env_id, wrapper, key, width, actions):
    """Stacked by Gymnasium into (N, width) int64 rows, which InfoKey + CountBonus count exactly."""
    envs = gym.make_vec(env_id, 2, vectorization_mode="sync", wrappers=[wrapper])
    bonus = CountBonus(InfoKey(key))
    shaped = ShapedVectorEnv(envs, bonus)
    shaped.reset(seed=0)
    seen: Counter = Counter()
    for t in range(6):
        _, _, _, _, info = shaped.step(np.array(actions(t)))
        assert info[key].shape == (2, width)
        for row in info[key]:
            seen[tuple(row)] += 1
    counted = {tuple(np.frombuffer(k, np.int64)): c for k, c in bonus.counter.as_dict().items()}
    assert counted == dict(seen)

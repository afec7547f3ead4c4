"""``AgentPositionInfo``: report an env's agent position in ``info`` so bonuses can count it;
``MiniGridTaskStateInfo``: the position plus what the agent carries and which doors are open.

A reward term sees a batch of observations and infos, never the env object. MiniGrid's
observation is the agent's egocentric view, so the agent position (``env.unwrapped.agent_pos``)
is not in it: this wrapper copies it (and the direction) into ``info`` at every ``reset`` and
``step``, where :class:`~rewardshaping.intrinsic.InfoKey` reads it. MiniGrid's own
``PositionBonus`` wrapper counts the same key, one env at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["AgentPositionInfo", "MiniGridTaskStateInfo"]


class AgentPositionInfo(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Put attributes of ``env.unwrapped`` (default ``agent_pos``, ``agent_dir``) in ``info``.

    Values are stored as NumPy arrays, so that Gymnasium vector envs stack them into arrays of
    shape (N, ...) rather than object arrays. Wrap each sub-env (e.g. through ``make_vec``'s
    ``wrappers=[AgentPositionInfo]``), then count ``InfoKey("agent_pos")``.

    Args:
        env: the env to wrap.
        attrs: the attribute names of ``env.unwrapped`` to report (same names in ``info``).

    Example:
        >>> import gymnasium as gym, minigrid
        >>> env = AgentPositionInfo(gym.make("MiniGrid-Empty-5x5-v0"))
        >>> _, info = env.reset(seed=0)
        >>> info["agent_pos"].tolist(), int(info["agent_dir"])
        ([1, 1], 0)
        >>> _, _, _, _, info = env.step(2)  # forward
        >>> info["agent_pos"].tolist()
        [2, 1]
    """

    def __init__(self, env: gym.Env, attrs: Sequence[str] = ("agent_pos", "agent_dir")) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, attrs=tuple(attrs))
        gym.Wrapper.__init__(self, env)
        self.attrs = tuple(attrs)
        missing = [a for a in self.attrs if not hasattr(env.unwrapped, a)]
        if missing:
            raise AttributeError(
                f"{type(env.unwrapped).__name__} has no attribute(s) {missing}; "
                f"AgentPositionInfo reports attributes of env.unwrapped"
            )

    def _add(self, info: dict[str, Any]) -> dict[str, Any]:
        info = dict(info)
        for a in self.attrs:
            info[a] = np.array(getattr(self.env.unwrapped, a))
        return info

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return obs, self._add(info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._add(info)


class MiniGridTaskStateInfo(gym.Wrapper):
    """Put ``info["task_state"] = [x, y, carrying, door_1_open, ...]`` (int64) in ``info``.

    The agent position alone is a weak count key on MiniGrid tasks with random layouts: its
    counts are shared across layouts and soon pay next to nothing, and it does not change when
    the agent picks up a key or opens a door, the events such tasks hinge on. This key adds
    them: ``carrying`` is 1 while the agent holds an object, and one entry per door (in grid
    order, found at reset) is 1 while that door is open. Count it with
    ``CountBonus(InfoKey("task_state"))``. The number of doors must not change between
    episodes (the key's length is fixed).

    Example:
        >>> import gymnasium as gym, minigrid
        >>> env = MiniGridTaskStateInfo(gym.make("MiniGrid-DoorKey-5x5-v0"))
        >>> _, info = env.reset(seed=0)
        >>> info["task_state"].tolist()   # x, y, carrying, door open
        [1, 3, 0, 0]
    """

    def _doors(self) -> list[Any]:
        grid = self.env.unwrapped.grid.grid
        return [o for o in grid if o is not None and getattr(o, "type", None) == "door"]

    def _add(self, info: dict[str, Any]) -> dict[str, Any]:
        env = self.env.unwrapped
        x, y = env.agent_pos
        state = [int(x), int(y), int(env.carrying is not None)]
        state += [int(d.is_open) for d in self._door_list]
        return {**info, "task_state": np.array(state, np.int64)}

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._door_list = self._doors()
        return obs, self._add(info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._add(info)

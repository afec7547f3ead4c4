"""``AgentPositionInfo``: report an env's agent position in ``info`` so bonuses can count it.

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

__all__ = ["AgentPositionInfo"]


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

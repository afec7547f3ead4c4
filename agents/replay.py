"""Experience replay for off-policy agents, and the batch type of extra (counterfactual)
experiences that agents accept next to the transitions they collect themselves.

:class:`Experiences` is what a reward machine's counterfactual reasoning (Toro Icarte et al.
2018/2022, CRM) or any relabelling produces: K transitions, possibly several per env step.
:class:`ReplayBuffer` stores transitions in preallocated NumPy ring buffers (observations keep
their dtype: uint8 images stay uint8) and samples uniformly with its own seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Experiences", "ReplayBuffer"]


@dataclass
class Experiences:
    """K transitions ``(s, a, r, s', terminated)``, batched on axis 0.

    ``terminated`` means s' is terminal (no bootstrap); a time-limit truncation is *not*
    terminated, so that the target bootstraps from the true last observation.

    Example:
        >>> import numpy as np
        >>> e = Experiences(np.zeros((2, 3)), np.array([0, 1]), np.array([1.0, 0.0]),
        ...                 np.ones((2, 3)), np.array([True, False]))
        >>> len(e)
        2
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray

    def __post_init__(self) -> None:
        k = len(self.rewards)
        for name in ("obs", "actions", "next_obs", "terminated"):
            if len(getattr(self, name)) != k:
                raise ValueError(
                    f"Experiences.{name} has {len(getattr(self, name))} rows, rewards has {k}"
                )

    def __len__(self) -> int:
        return len(self.rewards)


class ReplayBuffer:
    """A ring buffer of transitions with uniform sampling.

    Args:
        capacity: the number of transitions kept (oldest overwritten first).
        obs_shape, obs_dtype: one observation's shape and dtype.
        action_shape, action_dtype: one action's shape and dtype (``()``, int64 for Discrete).
        seed: seeds the sampling generator.

    Example:
        >>> import numpy as np
        >>> buf = ReplayBuffer(4, (2,), np.float32, seed=0)
        >>> buf.add(Experiences(np.zeros((3, 2)), np.array([0, 1, 1]), np.ones(3),
        ...                     np.ones((3, 2)), np.zeros(3, bool)))
        >>> len(buf), buf.sample(2)["obs"].shape
        (3, (2, 2))
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        obs_dtype: Any = np.float32,
        action_shape: tuple[int, ...] = (),
        action_dtype: Any = np.int64,
        seed: int | None = None,
    ) -> None:
        if int(capacity) < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((self.capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=bool)
        self.pos = 0
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, batch: Experiences) -> None:
        """Append K transitions (wrapping around when full)."""
        k = len(batch)
        if k == 0:
            return
        if k > self.capacity:  # only the newest fit
            batch = Experiences(*(np.asarray(x)[-self.capacity :] for x in _fields(batch)))
            k = self.capacity
        idx = (self.pos + np.arange(k)) % self.capacity
        self.obs[idx] = batch.obs
        self.next_obs[idx] = batch.next_obs
        self.actions[idx] = batch.actions
        self.rewards[idx] = batch.rewards
        self.terminated[idx] = batch.terminated
        self.pos = int((self.pos + k) % self.capacity)
        self.size = min(self.size + k, self.capacity)

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = self.rng.integers(0, self.size, batch_size)
        return {
            "obs": self.obs[idx],
            "actions": self.actions[idx],
            "rewards": self.rewards[idx],
            "next_obs": self.next_obs[idx],
            "terminated": self.terminated[idx],
        }

    def state_dict(self) -> dict[str, Any]:
        n = self.size
        return {
            "obs": self.obs[:n].copy(),
            "next_obs": self.next_obs[:n].copy(),
            "actions": self.actions[:n].copy(),
            "rewards": self.rewards[:n].copy(),
            "terminated": self.terminated[:n].copy(),
            "pos": self.pos,
            "size": self.size,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = int(state["size"])
        if n > self.capacity:
            raise ValueError(f"the saved buffer holds {n} transitions, capacity is {self.capacity}")
        for name in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, name)[:n] = state[name]
        self.pos, self.size = int(state["pos"]), n
        self.rng.bit_generator.state = state["rng"]


def _fields(batch: Experiences) -> tuple[np.ndarray, ...]:
    return (batch.obs, batch.actions, batch.rewards, batch.next_obs, batch.terminated)

"""Shared fixtures: tiny deterministic envs whose every observation is known in advance."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest


class Countdown(gym.Env):
    """obs = steps taken so far (float32 [t, env_id]); terminates at t == length, or truncates
    at t == length when ``truncate`` is True. Reward = t. Fully deterministic, so tests know the
    true final observation of every episode."""

    metadata = {"render_modes": []}

    def __init__(self, length: int = 3, env_id: int = 0, truncate: bool = False):
        self.length, self.env_id, self.truncate = length, env_id, truncate
        self.observation_space = gym.spaces.Box(-1e6, 1e6, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def _obs(self):
        return np.array([self.t, self.env_id], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.length
        return (
            self._obs(),
            float(self.t),
            end and not self.truncate,
            end and self.truncate,
            {"t": self.t},
        )


@pytest.fixture
def countdown_vec():
    """make(mode, lengths) -> a SyncVectorEnv of Countdown envs of the given episode lengths."""

    def make(mode, lengths=(2, 3, 5), truncate=False):
        fns = [(lambda k=k, i=i: Countdown(k, i, truncate)) for i, k in enumerate(lengths)]
        return gym.vector.SyncVectorEnv(fns, autoreset_mode=mode)

    return make


@pytest.fixture
def countdown():
    return Countdown

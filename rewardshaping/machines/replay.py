"""Feeding counterfactual experiences (CRM) to replay buffers: a stable-baselines3 path.

An SB3 off-policy algorithm (DQN, SAC, ...) adds the real transition itself; CRM adds one more
experience per other live machine state. :func:`add_to_sb3_replay_buffer` writes a
:class:`~rewardshaping.machines.product.CounterfactualBatch` into an SB3 ``ReplayBuffer``
(e.g. from a callback's ``_on_step``: ``add_to_sb3_replay_buffer(model.replay_buffer,
env.counterfactual_experiences(include_real=False))``, so that the real transition is not
stored twice; the wrapped env's observation mode must match the model's observation space,
e.g. ``obs_mode="onehot"``). The buffer must not use ``optimize_memory_usage``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardshaping.machines.product import CounterfactualBatch

__all__ = ["add_to_sb3_replay_buffer"]


def add_to_sb3_replay_buffer(buffer: Any, batch: CounterfactualBatch) -> int:
    """Add every experience of ``batch`` to an SB3 ``ReplayBuffer``; returns how many.

    Rows are written ``buffer.n_envs`` at a time (the buffer's layout); a last partial group
    is padded by repeating its final row, so a buffer with ``n_envs > 1`` may hold a few
    duplicates.

    Example:
        >>> from stable_baselines3.common.buffers import ReplayBuffer
        >>> from rewardshaping.envs.office import OfficeWorld, office_machine
        >>> from rewardshaping.machines.product import RewardMachineEnv
        >>> env = RewardMachineEnv(OfficeWorld(), office_machine(1), obs_mode="onehot")
        >>> buf = ReplayBuffer(100, env.observation_space, env.action_space, device="cpu")
        >>> _ = env.reset(seed=0); _ = env.step(1)
        >>> add_to_sb3_replay_buffer(buf, env.counterfactual_experiences()), buf.size()
        (2, 2)
    """
    if getattr(buffer, "optimize_memory_usage", False):
        # That buffer keeps next_obs in the next row's obs slot: each added row would overwrite
        # the next observation of the row before it.
        raise ValueError(
            "add_to_sb3_replay_buffer needs a ReplayBuffer with optimize_memory_usage=False: "
            "with it, counterfactual rows would overwrite each other's next observations"
        )
    n = len(batch)
    k = int(getattr(buffer, "n_envs", 1))
    for start in range(0, n, k):
        idx = np.arange(start, start + k).clip(max=n - 1)
        buffer.add(
            _rows(batch.obs, idx),
            _rows(batch.next_obs, idx),
            np.asarray(batch.action)[idx].reshape(k, -1),
            np.asarray(batch.reward, dtype=np.float32)[idx],
            np.asarray(batch.terminated, dtype=np.float32)[idx],
            [{} for _ in range(k)],
        )
    return n


def _rows(obs: Any, idx: np.ndarray) -> Any:
    if isinstance(obs, dict):
        return {key: _rows(v, idx) for key, v in obs.items()}
    return np.asarray(obs)[idx]

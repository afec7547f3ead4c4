"""Evaluating a policy on a vector env: episodic returns, lengths and success."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from rewardshaping.agents.run_log import success_flags
from rewardshaping.wrappers.vector import autoreset_mode_of

__all__ = ["evaluate_policy", "EvalResult"]


@dataclass
class EvalResult:
    """Returns, lengths and success flags (NaN when the env does not report ``is_success``)
    of the evaluated episodes."""

    returns: np.ndarray
    lengths: np.ndarray
    success: np.ndarray

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())


def evaluate_policy(
    act: Callable[[np.ndarray], np.ndarray],
    envs: VectorEnv,
    num_episodes: int = 10,
    seed: int | None = None,
) -> EvalResult:
    """Run ``act(obs) -> actions`` until ``num_episodes`` episodes have finished.

    Episodes are spread evenly over the N envs (env i runs its first ``(num_episodes + i) // N``
    episodes only), so short episodes are not over-represented, as in SB3's ``evaluate_policy``.
    Returns are the env's own rewards (``info["env_reward"]`` on a shaped env).

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> envs = gym.make_vec("CartPole-v1", 2, vectorization_mode="sync")
        >>> res = evaluate_policy(lambda o: np.zeros(len(o), dtype=np.int64), envs, 4, seed=0)
        >>> res.returns.shape, bool(res.mean_return < 20)
        ((4,), True)
    """
    n = envs.num_envs
    targets = np.array([(num_episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=np.int64)
    same_step = autoreset_mode_of(envs) is AutoresetMode.SAME_STEP
    obs, _ = envs.reset(seed=seed)
    ret = np.zeros(n)
    length = np.zeros(n, dtype=np.int64)
    pending = np.zeros(n, dtype=bool)
    returns, lengths, success = [], [], []
    while (counts < targets).any():
        obs, reward, terminated, truncated, info = envs.step(act(obs))
        valid = np.ones(n, bool) if same_step else ~pending
        r = info["env_reward"] if "env_reward" in info else reward
        ret += np.where(valid, r, 0.0)
        length += valid
        ended = (terminated | truncated) & valid
        if ended.any():
            flags = success_flags(info, ended)
            for i in np.flatnonzero(ended & (counts < targets)):
                returns.append(ret[i])
                lengths.append(length[i])
                success.append(float(flags[i]) if flags is not None else np.nan)
            counts += ended
            ret[ended] = 0.0
            length[ended] = 0
        pending = (terminated | truncated) & ~np.asarray(same_step)
    return EvalResult(np.array(returns), np.array(lengths), np.array(success))

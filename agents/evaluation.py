"""Evaluating a policy on a vector env: episodic returns, lengths and success, and fresh
copies of a training env to evaluate on (:func:`fresh_env_copy`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import (
    AsyncVectorEnv,
    AutoresetMode,
    SyncVectorEnv,
    VectorActionWrapper,
    VectorEnv,
    VectorObservationWrapper,
    VectorRewardWrapper,
)

from rewardshaping.agents.checkpoint import vector_layers
from rewardshaping.agents.run_log import success_flags
from rewardshaping.agents.vector_envs import make_vector_env
from rewardshaping.wrappers.vector import ShapedVectorEnv, autoreset_mode_of

__all__ = ["evaluate_policy", "EvalResult", "fresh_env_copy", "evaluate_agent"]


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


def evaluate_agent(
    act: Callable[[np.ndarray], np.ndarray],
    training_envs: VectorEnv,
    num_episodes: int,
    seed: int,
    config: Any = None,
    envs: VectorEnv | None = None,
) -> EvalResult:
    """An agent's ``evaluate``: :func:`evaluate_policy` on ``envs`` if given, else on fresh,
    unshaped envs (closed afterwards), at most ``num_episodes`` of them: made from ``config``
    (its ``env_id``, ``vectorization`` and ``env_kwargs``) when the agent made its training
    envs from it, else :func:`fresh_env_copy` of ``training_envs``."""
    if envs is not None:
        return evaluate_policy(act, envs, num_episodes, seed=seed)
    n = min(training_envs.num_envs, num_episodes)
    if config is not None:
        envs = make_vector_env(
            config.env_id, n, vectorization=config.vectorization, env_kwargs=config.env_kwargs
        )
    else:
        envs = fresh_env_copy(training_envs, n)
    try:
        return evaluate_policy(act, envs, num_episodes, seed=seed)
    finally:
        envs.close()


def fresh_env_copy(envs: VectorEnv, num_envs: int) -> VectorEnv:
    """A new vector env of ``num_envs`` fresh copies of the env ``envs`` trains on, without its
    reward terms (evaluation reports the env's own reward).

    The base env is re-made from what built it: the spec ``gym.make_vec`` records (id, env
    kwargs, vectorization, wrappers, autoreset mode), else a ``SyncVectorEnv``'s or
    ``AsyncVectorEnv``'s ``env_fns``. Vector wrappers above it are dropped when they change only
    rewards or infos (:class:`~rewardshaping.wrappers.ShapedVectorEnv`, ``VectorRewardWrapper``,
    or a wrapper class that says so with a ``reward_only = True`` attribute), and re-made from
    their recorded constructor arguments otherwise (``RecordConstructorArgs``, e.g. a reward
    machine's product env); anything else (observation or action wrappers, whose
    state such as running statistics a copy would lose, or wrappers that cannot be re-made)
    raises a ValueError: pass the envs to evaluate on explicitly then.

    Example:
        >>> import gymnasium as gym
        >>> from rewardshaping import ShapedVectorEnv, StepPenalty
        >>> train = ShapedVectorEnv(gym.make_vec("CartPole-v1", 4, vectorization_mode="sync",
        ...                                      max_episode_steps=10), StepPenalty())
        >>> ev = fresh_env_copy(train, 2)
        >>> type(ev).__name__, ev.num_envs, ev.unwrapped.spec.kwargs["max_episode_steps"]
        ('SyncVectorEnv', 2, 10)
    """
    layers = vector_layers(envs)
    out = _copy_base(layers[-1], num_envs)
    try:
        for layer in reversed(layers[:-1]):
            if isinstance(layer, (ShapedVectorEnv, VectorRewardWrapper)) or getattr(
                type(layer), "reward_only", False
            ):
                continue
            saved = getattr(layer, "_saved_kwargs", None)
            if (
                isinstance(layer, (VectorObservationWrapper, VectorActionWrapper))
                or not isinstance(layer, gym.utils.RecordConstructorArgs)
                or saved is None
            ):
                raise ValueError(
                    f"cannot make a fresh copy of the training env for evaluation: its vector "
                    f"wrapper {type(layer).__name__} cannot be re-made faithfully; pass the "
                    "envs to evaluate on (evaluate(..., envs=...))"
                )
            out = type(layer)(out, **saved)
    except BaseException:
        out.close()
        raise
    return out


def _copy_base(base: VectorEnv, num_envs: int) -> VectorEnv:
    spec = getattr(base, "spec", None)
    if spec is not None and "vectorization_mode" in spec.kwargs:  # recorded by gym.make_vec
        spec = copy.copy(spec)
        spec.kwargs = {**spec.kwargs, "num_envs": num_envs}
        return gym.make_vec(spec)
    fns = getattr(base, "env_fns", None)
    if isinstance(base, (SyncVectorEnv, AsyncVectorEnv)) and fns:
        fns = [fns[i % len(fns)] for i in range(num_envs)]
        out = type(base)(fns, autoreset_mode=autoreset_mode_of(base))
        if isinstance(out, SyncVectorEnv) and any(
            e is b for e in out.envs for b in base.envs
        ):  # the env fns hand out the training env objects themselves: no copy (not closed)
            raise ValueError(
                "cannot make a fresh copy of the training env for evaluation: its env_fns "
                "return the training env objects themselves; pass the envs to evaluate on "
                "(evaluate(..., envs=...))"
            )
        return out
    raise ValueError(
        f"cannot make a fresh copy of the training env for evaluation: "
        f"{type(base).__name__} was not made by gym.make_vec and has no env_fns; pass the "
        "envs to evaluate on (evaluate(..., envs=...))"
    )

"""``ShapedEnv``: reward terms on a single Gymnasium env (a batch of one).

A vector version of this wrapper exists, :class:`rewardshaping.wrappers.ShapedVectorEnv`, and an
SB3 one, :class:`rewardshaping.wrappers.ShapedVecEnv`; all three share
:class:`~rewardshaping.pipeline.RewardPipeline`, so the same terms give the same rewards.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from rewardshaping.composers import Composer
from rewardshaping.pipeline import OnInvalid, RewardPipeline, TermsLike, WeightsLike
from rewardshaping.transitions import batch_obs, copy_obs, single_info_as_vector

__all__ = ["ShapedEnv"]


class ShapedEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Add reward terms to a single Gymnasium environment.

    Every step reports ``info["env_reward"]`` (the untouched env reward) and
    ``info["reward_terms"]`` (term name -> weighted value). When an episode ends,
    ``info["episode_reward_terms"]`` holds the episode sums of the env reward and of each term,
    and ``info["episode_length"]`` its length, so any logger can show what the agent was paid for.

    Args:
        env: a ``gymnasium.Env``.
        terms: a :class:`~rewardshaping.terms.RewardTerm`, a callable ``fn(batch)``, a list, or
            a dict name -> term.
        weight: a number or schedule for all terms, a list, or a dict name -> weight.
        composer: how terms combine with the env reward (default: weighted sum).
        on_invalid: ``"raise"`` (default), ``"clip"`` or ``"zero"`` for non-finite term values.

    Example:
        >>> import gymnasium as gym
        >>> from rewardshaping import ShapedEnv, StepPenalty
        >>> env = ShapedEnv(gym.make("CartPole-v1"), StepPenalty(-0.25))
        >>> _ = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(0)
        >>> reward, info["env_reward"], info["reward_terms"]
        (0.75, 1.0, {'step_penalty': -0.25})
    """

    def __init__(
        self,
        env: gym.Env,
        terms: TermsLike,
        weight: WeightsLike = 1.0,
        composer: Composer | None = None,
        on_invalid: OnInvalid = "raise",
    ) -> None:
        _require_single_env(env)
        gym.utils.RecordConstructorArgs.__init__(
            self, terms=terms, weight=weight, composer=composer, on_invalid=on_invalid
        )
        gym.Wrapper.__init__(self, env)
        self.pipeline = RewardPipeline(terms, 1, weight, composer, on_invalid)
        self._last_obs: Any = None

    @property
    def terms(self):
        """The reward terms, in order."""
        return self.pipeline.terms

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.pipeline.reset(None)
        self._last_obs = batch_obs(copy_obs(obs))  # the env may overwrite this buffer in place
        return obs, info

    def step(self, action):
        if self._last_obs is None:
            raise gym.error.ResetNeeded("call reset() before step() on a ShapedEnv")
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        next_obs = batch_obs(copy_obs(obs))  # kept as the next step's s
        out = self.pipeline.step(
            self._last_obs,
            batch_obs(action),
            next_obs,
            np.array([_float(env_reward)]),
            np.array([terminated]),
            np.array([truncated]),
            single_info_as_vector(info),
        )
        info = dict(info)
        info["env_reward"] = float(env_reward)
        info["reward_terms"] = {k: float(v[0]) for k, v in out.values.items()}
        if self.pipeline.intrinsic_names:
            info["intrinsic_reward"] = float(out.intrinsic[0])
        if out.episode_sums is not None:
            info["episode_reward_terms"] = {k: float(v[0]) for k, v in out.episode_sums.items()}
            info["episode_length"] = int(out.episode_lengths[0])
        # The next transition starts from obs; an ended episode waits for reset().
        self._last_obs = None if (terminated or truncated) else next_obs
        return obs, float(out.reward[0]), terminated, truncated, info


def _float(x: SupportsFloat) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        raise TypeError(f"the env returned a non-numeric reward {x!r}") from None


def _require_single_env(env: Any) -> None:
    if isinstance(env, gym.vector.VectorEnv):
        raise TypeError(
            "ShapedEnv wraps a single gymnasium.Env; for a gymnasium vector env use "
            "rewardshaping.ShapedVectorEnv(envs, terms)"
        )
    if isinstance(env, gym.Env):
        return
    if hasattr(env, "step_async") and hasattr(env, "step_wait"):
        raise TypeError(
            "this looks like a stable-baselines3 VecEnv; use rewardshaping.ShapedVecEnv(venv, terms)"
        )
    raise TypeError(
        f"ShapedEnv wraps a gymnasium.Env (Gymnasium >= 1.0 API), got {type(env).__name__}. "
        "Accepted: gymnasium.Env -> ShapedEnv, gymnasium.vector.VectorEnv -> ShapedVectorEnv, "
        "stable_baselines3 VecEnv -> ShapedVecEnv (PettingZoo envs have no adapter yet). An old "
        "`gym` env can be converted with shimmy's GymV26CompatibilityV0."
    )

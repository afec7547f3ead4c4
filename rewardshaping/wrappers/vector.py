"""``ShapedVectorEnv``: reward terms on a Gymnasium vector env, honouring its autoreset mode.

Gymnasium 1.x vector envs reset finished sub-envs in one of two ways
(``metadata["autoreset_mode"]``):

* ``NEXT_STEP`` (the default): the step *after* a done is a dummy reset step. Its action is
  ignored, its reward is 0 and its observation is the first of the new episode. It is not a
  transition: terms are called with ``active=False`` there, never pay, and must not count.
* ``SAME_STEP``: the step that ends an episode already returns the reset observation; the true
  last observation is ``info["final_obs"][i]``, which is what terms see as ``next_obs``.

``DISABLED`` and unknown modes are refused: without autoreset the wrapper cannot know when an
episode restarts.

A single-env version exists, :class:`rewardshaping.wrappers.ShapedEnv`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from rewardshaping.composers import Composer
from rewardshaping.pipeline import OnInvalid, RewardPipeline, TermsLike, WeightsLike
from rewardshaping.transitions import copy_obs, set_obs_rows

__all__ = ["ShapedVectorEnv", "autoreset_mode_of"]


def autoreset_mode_of(envs: VectorEnv) -> AutoresetMode:
    """The autoreset mode of a Gymnasium vector env; refuses modes the toolkit cannot handle.

    Example:
        >>> import gymnasium as gym
        >>> autoreset_mode_of(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync"))
        <AutoresetMode.NEXT_STEP: 'NextStep'>
    """
    mode = envs.metadata.get("autoreset_mode", None)
    if mode is None:
        raise ValueError(
            f"{type(envs).__name__}.metadata has no 'autoreset_mode'; set it to "
            "gymnasium.vector.AutoresetMode.NEXT_STEP or SAME_STEP so that finished episodes "
            "are handled correctly"
        )
    try:
        mode = AutoresetMode(mode)
    except ValueError:
        raise ValueError(
            f"unknown autoreset_mode {mode!r}; expected NEXT_STEP or SAME_STEP"
        ) from None
    if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        raise ValueError(
            f"autoreset_mode {mode} is not supported: reward terms need to know when episodes "
            "restart. Build the vector env with autoreset_mode=AutoresetMode.NEXT_STEP (default) "
            "or AutoresetMode.SAME_STEP"
        )
    return mode


class ShapedVectorEnv(VectorWrapper, gym.utils.RecordConstructorArgs):
    """Add reward terms to a Gymnasium vector env (N envs, one batched term call per step).

    Infos (Gymnasium's vector layout): ``info["env_reward"]`` (N,), ``info["reward_terms"]``
    (term name -> (N,) weighted values), ``info["intrinsic_reward"]`` (N,) when a term is
    intrinsic; when episodes end, ``info["episode_reward_terms"]`` (name -> (N,) episode sums,
    ``env_reward`` included) with the mask ``info["_episode_reward_terms"]`` and
    ``info["episode_length"]``.

    Args:
        env: a ``gymnasium.vector.VectorEnv`` in ``NEXT_STEP`` or ``SAME_STEP`` autoreset mode.
        terms, weight, composer, on_invalid: as for :class:`~rewardshaping.wrappers.ShapedEnv`.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> from rewardshaping import ShapedVectorEnv, StepPenalty
        >>> envs = ShapedVectorEnv(gym.make_vec("CartPole-v1", 3, vectorization_mode="sync"),
        ...                        StepPenalty(-0.25))
        >>> _ = envs.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = envs.step(np.zeros(3, dtype=int))
        >>> reward.tolist(), info["reward_terms"]["step_penalty"].tolist()
        ([0.75, 0.75, 0.75], [-0.25, -0.25, -0.25])
    """

    def __init__(
        self,
        env: VectorEnv,
        terms: TermsLike,
        weight: WeightsLike = 1.0,
        composer: Composer | None = None,
        on_invalid: OnInvalid = "raise",
    ) -> None:
        if not isinstance(env, VectorEnv):
            raise TypeError(
                f"ShapedVectorEnv wraps a gymnasium.vector.VectorEnv, got {type(env).__name__}; "
                "for a single gymnasium.Env use ShapedEnv, for an SB3 VecEnv use ShapedVecEnv"
            )
        gym.utils.RecordConstructorArgs.__init__(
            self, terms=terms, weight=weight, composer=composer, on_invalid=on_invalid
        )
        VectorWrapper.__init__(self, env)
        self.autoreset_mode = autoreset_mode_of(env)
        self.pipeline = RewardPipeline(terms, env.num_envs, weight, composer, on_invalid)
        # A vector env built with copy=False reuses its observation buffers; keep our own copy.
        self._copy_obs = not getattr(env.unwrapped, "copy", True)
        self._last_obs: Any = None
        self._autoreset = np.zeros(env.num_envs, dtype=bool)
        self._ones = np.ones(env.num_envs, dtype=bool)

    @property
    def terms(self):
        """The reward terms, in order."""
        return self.pipeline.terms

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        # Read the mask first: Gymnasium's vector envs pop "reset_mask" from the options, and a
        # lost mask would clear the episodes (and the pending autoresets) of every env.
        mask = None
        if options is not None and "reset_mask" in options:
            mask = np.array(options["reset_mask"], bool)
        obs, info = self.env.reset(seed=seed, options=options)
        self.pipeline.reset(mask)
        if mask is None:
            self._autoreset[:] = False
        else:
            self._autoreset[mask] = False
        self._last_obs = self._keep(obs)
        return obs, info

    def step(self, actions):
        if self._last_obs is None:
            raise gym.error.ResetNeeded("call reset() before step() on a ShapedVectorEnv")
        obs, env_reward, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)

        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            restarted = self._autoreset
            active = ~restarted if restarted.any() else self._ones
            if restarted.any():
                # These envs were reset by this step: their episodes start now.
                self.pipeline.reset(restarted)
            next_obs = obs
        else:  # SAME_STEP: obs of a done env is already the reset obs
            active = self._ones
            next_obs = obs
            if done.any():
                final = info.get("final_obs")
                if final is None:
                    raise RuntimeError(
                        "a SAME_STEP vector env ended an episode without info['final_obs']"
                    )
                next_obs = set_obs_rows(obs, np.flatnonzero(done), final)

        out = self.pipeline.step(
            self._last_obs, actions, next_obs, env_reward, terminated, truncated, info, active
        )

        info = dict(info)
        info["env_reward"] = out.env_reward
        info["_env_reward"] = self._ones
        info["reward_terms"] = out.values
        info["_reward_terms"] = self._ones
        if self.pipeline.intrinsic_names:
            info["intrinsic_reward"] = out.intrinsic
            info["_intrinsic_reward"] = self._ones
        if out.episode_sums is not None:
            info["episode_reward_terms"] = out.episode_sums
            info["_episode_reward_terms"] = out.ended
            info["episode_length"] = out.episode_lengths
            info["_episode_length"] = out.ended

        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            # Gymnasium resets these envs on the next step (a dummy transition).
            self._autoreset = done
        elif done.any():
            self.pipeline.reset(done)
        self._last_obs = self._keep(obs)
        return obs, out.reward, terminated, truncated, info

    def _keep(self, obs: Any) -> Any:
        if not self._copy_obs:
            return obs
        return copy_obs(obs)

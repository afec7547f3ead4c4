"""``ShapedVecEnv``: reward terms as a stable-baselines3 ``VecEnvWrapper``.

SB3 VecEnvs reset finished envs within the same step: the returned observation is already the
next episode's first one and the true last observation is ``infos[i]["terminal_observation"]``;
``infos[i]["TimeLimit.truncated"]`` separates truncation from termination.

Order matters with ``VecNormalize``: off-policy algorithms store the reward that *enters*
``VecNormalize`` (its ``get_original_reward``), so shaping must happen below it.
This wrapper refuses to sit above a ``VecNormalize`` and says how to fix the order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardshaping.composers import Composer
from rewardshaping.pipeline import OnInvalid, RewardPipeline, TermsLike, WeightsLike
from rewardshaping.transitions import copy_obs, set_obs_rows

try:
    from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize
except ImportError as e:  # pragma: no cover - stable-baselines3 is a core dependency
    raise ImportError("ShapedVecEnv needs stable-baselines3: pip install stable-baselines3") from e

__all__ = ["ShapedVecEnv"]


class ShapedVecEnv(VecEnvWrapper):
    """Add reward terms to a stable-baselines3 VecEnv.

    ``infos[i]`` gains ``"env_reward"``, ``"reward_terms"`` (name -> weighted value) and, at
    episode end, ``"episode_reward_terms"`` and ``"episode_length"``.

    :param venv: the SB3 VecEnv to wrap (below any ``VecNormalize``).
    :param terms: a term, callable, list or dict of terms (as for ``ShapedEnv``).
    :param weight: a number/schedule for all terms, a list, or a dict name -> weight.
    :param composer: how terms combine with the env reward (default: weighted sum).
    :param on_invalid: ``"raise"``, ``"clip"`` or ``"zero"`` for non-finite term values.

    Example:
        >>> from stable_baselines3.common.env_util import make_vec_env
        >>> from rewardshaping import ShapedVecEnv, StepPenalty
        >>> venv = ShapedVecEnv(make_vec_env("CartPole-v1", n_envs=2, seed=0), StepPenalty(-0.25))
        >>> _ = venv.reset()
        >>> _, rewards, dones, infos = venv.step([0, 1])
        >>> rewards.tolist(), infos[0]["env_reward"], infos[0]["reward_terms"]
        ([0.75, 0.75], 1.0, {'step_penalty': -0.25})
    """

    def __init__(
        self,
        venv: VecEnv,
        terms: TermsLike,
        weight: WeightsLike = 1.0,
        composer: Composer | None = None,
        on_invalid: OnInvalid = "raise",
    ) -> None:
        if not isinstance(venv, VecEnv):
            raise TypeError(
                f"ShapedVecEnv wraps a stable-baselines3 VecEnv, got {type(venv).__name__}; "
                "for a gymnasium env use ShapedEnv / ShapedVectorEnv, or build a VecEnv with "
                "stable_baselines3.common.env_util.make_vec_env"
            )
        inner = venv
        while inner is not None:
            if isinstance(inner, VecNormalize):
                raise ValueError(
                    "ShapedVecEnv must sit below VecNormalize: off-policy algorithms store the "
                    "reward that enters VecNormalize, so shaping above it would be lost or "
                    "normalised twice. Fix: VecNormalize(ShapedVecEnv(venv, terms)) instead of "
                    "ShapedVecEnv(VecNormalize(venv), terms)"
                )
            inner = getattr(inner, "venv", None)
        super().__init__(venv)
        self.pipeline = RewardPipeline(terms, venv.num_envs, weight, composer, on_invalid)
        self._last_obs: Any = None

    @property
    def terms(self):
        """The reward terms, in order."""
        return self.pipeline.terms

    # SB3's VecEnvWrapper keeps `inspect.getmembers(type(self))` on the instance, which holds
    # ABC internals that cannot be pickled; drop it and rebuild it, so that a shaped VecEnv
    # (with its terms' state) can be checkpointed.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("class_attributes", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import inspect

        self.__dict__.update(state)
        self.class_attributes = dict(inspect.getmembers(self.__class__))

    def reset(self):
        obs = self.venv.reset()
        self.pipeline.reset(None)
        self._last_obs = copy_obs(obs)  # DummyVecEnv returns views of its buffers
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        dones = np.asarray(dones, bool)
        truncated = np.array(
            [
                bool(d and info.get("TimeLimit.truncated", False))
                for d, info in zip(dones, infos, strict=True)
            ]
        )
        terminated = dones & ~truncated
        next_obs = obs
        if dones.any():
            finals = [info.get("terminal_observation") for info in infos]
            next_obs = set_obs_rows(obs, np.flatnonzero(dones), finals)
        out = self.pipeline.step(
            self._last_obs,
            self._actions,
            next_obs,
            rewards,
            terminated,
            truncated,
            _SB3Infos(infos),
        )
        for i, info in enumerate(infos):
            info["env_reward"] = float(out.env_reward[i])
            info["reward_terms"] = {k: float(v[i]) for k, v in out.values.items()}
            if self.pipeline.intrinsic_names:
                info["intrinsic_reward"] = float(out.intrinsic[i])
            if out.ended[i]:
                info["episode_reward_terms"] = {k: float(v[i]) for k, v in out.episode_sums.items()}
                info["episode_length"] = int(out.episode_lengths[i])
        if dones.any():
            self.pipeline.reset(dones)
        self._last_obs = copy_obs(obs)  # DummyVecEnv returns views of its buffers
        return obs, out.reward, dones, infos


class _SB3Infos(dict):
    """SB3's list of info dicts seen in Gymnasium's vector layout, built per key on demand."""

    def __init__(self, infos: list[dict[str, Any]]) -> None:
        super().__init__()
        self._infos = infos

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key.startswith("_"):
            key = key[1:]
        return any(key in info for info in self._infos)

    def __getitem__(self, key: str) -> Any:
        if key.startswith("_") and key[1:] in self:
            return np.array([key[1:] in info for info in self._infos])
        if key not in self:
            raise KeyError(key)
        values = [info.get(key) for info in self._infos]
        try:
            return np.array(values)
        except ValueError:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            return arr

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __iter__(self):
        seen: dict[str, None] = {}
        for info in self._infos:
            seen.update(dict.fromkeys(info))
        return iter(seen)

    def keys(self):
        return list(iter(self))

    # The dict base class holds nothing (values are built per key on demand): without these,
    # items(), values(), len() and truth would read an empty dict.
    def items(self):
        return [(k, self[k]) for k in self]

    def values(self):
        return [self[k] for k in self]

    def __len__(self) -> int:
        return len(self.keys())

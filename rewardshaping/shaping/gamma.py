"""Refuse shaping discounts that differ from the learner's.

PBRS keeps optimal policies only when the shaping gamma equals the agent's discount
(Ng et al. 1999); a mismatch silently changes what the agent optimises.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

__all__ = ["check_shaping_gamma"]


def _agent_gamma(agent: Any) -> float:
    if isinstance(agent, (int, float)):
        return float(agent)
    for holder in (agent, getattr(agent, "config", None), getattr(agent, "cfg", None)):
        if holder is not None and isinstance(getattr(holder, "gamma", None), (int, float)):
            return float(holder.gamma)
    raise TypeError(
        f"cannot read a discount from {type(agent).__name__}; pass the agent (an SB3 model or the "
        "toolkit's PPO) or its gamma as a number"
    )


def _shaping_terms(env: Any) -> list:
    from rewardshaping.shaping.pbrs import PotentialShaping

    found, seen = [], set()
    while env is not None and id(env) not in seen:
        seen.add(id(env))
        pipeline = getattr(env, "pipeline", None)
        if pipeline is not None:
            found += [t for t in pipeline.terms if isinstance(t, PotentialShaping)]
        env = getattr(env, "env", None) or getattr(env, "venv", None)
    return found


def check_shaping_gamma(env: Any, agent: Any, *, warn: bool = False) -> None:
    """Raise (or warn) when a PotentialShaping term in ``env`` uses another gamma than ``agent``.

    Args:
        env: a shaped env (``ShapedEnv``, ``ShapedVectorEnv``, ``ShapedVecEnv``, possibly wrapped).
        agent: an SB3 model, the toolkit's PPO (``.gamma`` or ``.config.gamma``) or a number.
        warn: warn instead of raising.

    Example:
        >>> import gymnasium as gym
        >>> from rewardshaping import ShapedEnv
        >>> from rewardshaping.shaping import PotentialShaping
        >>> env = ShapedEnv(gym.make("CartPole-v1"), PotentialShaping(lambda o: o[:, 0], gamma=0.9))
        >>> check_shaping_gamma(env, 0.99)
        Traceback (most recent call last):
        ...
        ValueError: term 'shaping' shapes with gamma=0.9 but the agent discounts with gamma=0.99; ...
    """
    gamma = _agent_gamma(agent)
    for term in _shaping_terms(env):
        if not math.isclose(term.gamma, gamma, rel_tol=0, abs_tol=1e-9):
            msg = (
                f"term {term.name!r} shapes with gamma={term.gamma} but the agent discounts with "
                f"gamma={gamma}; potential-based shaping keeps optimal policies only when they "
                f"are equal: use PotentialShaping(..., gamma={gamma})"
            )
            if warn:
                warnings.warn(msg, UserWarning, stacklevel=2)
            else:
                raise ValueError(msg)

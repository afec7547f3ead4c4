"""Refuse shaping discounts that differ from the learner's.

PBRS keeps optimal policies only when the shaping gamma equals the agent's discount
(Ng et al. 1999); a mismatch silently changes what the agent optimises.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

__all__ = ["check_shaping_gamma"]

#: Discounts closer than this are equal (float32 rounding of 0.99 is ~1e-8; real mismatches such
#: as 0.99 vs 0.999 are 1e-3 apart).
GAMMA_ATOL = 1e-6


def _number(x: Any) -> float | None:
    # Python and NumPy reals (np.float32(0.99)) and 0-d arrays or tensors; None otherwise.
    if isinstance(x, bool):
        return None
    if isinstance(x, numbers.Real):
        return float(x)
    if getattr(x, "ndim", None) == 0 or getattr(x, "shape", None) == ():
        try:
            return float(x)
        except (TypeError, ValueError):
            return None
    return None


def _agent_gamma(agent: Any) -> float:
    value = _number(agent)
    if value is not None:
        return value
    for holder in (agent, getattr(agent, "config", None), getattr(agent, "cfg", None)):
        value = None if holder is None else _number(getattr(holder, "gamma", None))
        if value is not None:
            return value
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
        # 1e-6: a gamma stored in float32 (0.99 -> 0.9900000095) is the same discount.
        if not math.isclose(term.gamma, gamma, rel_tol=0, abs_tol=GAMMA_ATOL):
            msg = (
                f"term {term.name!r} shapes with gamma={term.gamma} but the agent discounts with "
                f"gamma={gamma}; potential-based shaping keeps optimal policies only when they "
                f"are equal: use PotentialShaping(..., gamma={gamma})"
            )
            if warn:
                warnings.warn(msg, UserWarning, stacklevel=2)
            else:
                raise ValueError(msg)

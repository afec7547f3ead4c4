"""Reward terms: the unit of reuse of the toolkit.

A term maps a :class:`~rewardshaping.transitions.Transitions` batch of N transitions to N floats.
It may keep state (counts, a network, an automaton state), reset episodic state for the envs whose
episodes start (:meth:`RewardTerm.reset`), and learn from rollouts (:meth:`RewardTerm.update`).

The same term serves every adapter: :class:`~rewardshaping.wrappers.ShapedEnv`,
:class:`~rewardshaping.wrappers.ShapedVectorEnv`, the SB3 wrapper and the toolkit's PPO.

This module holds the interface and two small example terms; the real terms live in the
packages named for them (``intrinsic``, ``shaping``, ``machines``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rewardshaping.transitions import Transitions

__all__ = ["RewardTerm", "FunctionTerm", "StepPenalty"]


class RewardTerm:
    """Base class of every reward term.

    Subclasses implement :meth:`__call__` and, when they keep per-episode state, :meth:`reset`.
    Learned terms implement :meth:`update`; stateful terms implement :meth:`state_dict` /
    :meth:`load_state_dict` so that a resumed run continues with the same state.

    Attributes:
        name: the key under which the term's value is reported in ``info["reward_terms"]``.
        intrinsic: True for exploration bonuses. Agents with two value heads (our PPO) route
            intrinsic terms to the intrinsic head, with non-episodic returns.

    Example:
        >>> import numpy as np
        >>> class Progress(RewardTerm):
        ...     def __call__(self, batch):
        ...         return (batch.next_obs[:, 0] - batch.obs[:, 0]).astype(np.float32)
        >>> term = Progress(name="progress")
        >>> batch = Transitions.from_arrays(np.zeros((2, 1)), [0, 0], np.array([[1.0], [2.0]]), [0, 0])
        >>> term(batch).tolist()
        [1.0, 2.0]
    """

    name: str = "term"
    intrinsic: bool = False
    #: True for gamma Phi(s') - Phi(s) terms: their sum over an episode telescopes only under a
    #: constant weight, so the pipeline refuses a schedule on them.
    potential_based: bool = False

    def __init__(self, name: str | None = None, *, intrinsic: bool | None = None) -> None:
        if name is not None:
            if not isinstance(name, str) or not name:
                raise ValueError(f"a term name must be a non-empty string, got {name!r}")
            self.name = name
        elif type(self).name == RewardTerm.name:
            self.name = _snake_case(type(self).__name__)
        if intrinsic is not None:
            self.intrinsic = bool(intrinsic)

    def __call__(self, batch: Transitions) -> np.ndarray:
        """Return one reward per transition, shape (N,), for ``batch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(batch)")

    def reset(self, mask: np.ndarray) -> None:
        """Episodes start now in the envs where ``mask`` is True: clear their episodic state."""

    def update(self, rollout: Any) -> dict[str, float]:
        """Learn from a rollout (learned terms only); return training statistics."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this term exactly (counts, network weights, ...)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class FunctionTerm(RewardTerm):
    """A reward term from a user function ``fn(batch) -> array of shape (N,)``.

    The function sees the whole batch, so it can be vectorised with NumPy. It is called for
    every step; entries of inactive transitions (dummy autoreset steps) are discarded.

    Args:
        fn: the function of a :class:`Transitions` batch.
        name: the reporting name (default: the function's ``__name__``).
        intrinsic: route this term to an agent's intrinsic value head.

    Example:
        >>> import gymnasium as gym
        >>> from rewardshaping import ShapedEnv
        >>> upright = FunctionTerm(lambda b: 1.0 - abs(b.next_obs[:, 2]) / 0.21, name="upright")
        >>> env = ShapedEnv(gym.make("CartPole-v1"), upright, weight=0.1)
        >>> _ = env.reset(seed=0)
        >>> _, r, *_, info = env.step(0)
        >>> sorted(info["reward_terms"]), info["env_reward"]
        (['upright'], 1.0)
    """

    def __init__(
        self,
        fn: Callable[[Transitions], Any],
        name: str | None = None,
        *,
        intrinsic: bool = False,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionTerm needs a callable fn(batch), got {type(fn).__name__}")
        fname = getattr(fn, "__name__", "function")
        super().__init__(
            name or ("function" if fname == "<lambda>" else fname), intrinsic=intrinsic
        )
        self.fn = fn

    def __call__(self, batch: Transitions) -> np.ndarray:
        return self.fn(batch)


class StepPenalty(RewardTerm):
    """A constant reward ``value`` on every real step (default -0.01): a time penalty.

    Example:
        >>> import numpy as np
        >>> b = Transitions.from_arrays(np.zeros(3), np.zeros(3), np.zeros(3), [0, 0, 0])
        >>> StepPenalty(-0.5)(b).tolist()
        [-0.5, -0.5, -0.5]
    """

    name = "step_penalty"

    def __init__(self, value: float = -0.01, name: str | None = None) -> None:
        super().__init__(name)
        self.value = float(value)
        if not np.isfinite(self.value):
            raise ValueError(f"StepPenalty value must be finite, got {value!r}")

    def __call__(self, batch: Transitions) -> np.ndarray:
        return np.full(batch.num_envs, self.value, dtype=np.float32)


def _snake_case(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)

"""``TabularMDP``: a finite MDP as arrays, and the checks every tabular function shares.

Conventions: ``transition[s, a, s']`` = T(s' | s, a) (rows sum to 1), ``reward[..., s, a, s']``
= R(s, a, s') with optional leading batch axes (many reward functions at once),
``initial[s]`` the start distribution, ``0 <= gamma < 1``. There are no terminal states: an
absorbing state with zero reward plays that part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["TabularMDP", "check_gamma", "check_transition", "check_rewards", "shape_reward"]

# Row sums of T are accepted within this tolerance (float32 softmax output passes).
ROW_SUM_ATOL = 1e-6


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP with exact dynamics: T (S x A x S), R (S x A x S), start distribution, gamma.

    Arrays are validated and stored read-only as float64. ``reward`` is the MDP's own reward (the
    one a Gymnasium env built from it pays); the metrics take the rewards to compare separately
    and use only ``transition``, ``gamma`` and ``initial``.

    Args:
        transition: T[s, a, s'], non-negative, each row T[s, a, :] summing to 1.
        reward: R[s, a, s'] of the same shape (default all zeros).
        gamma: discount in [0, 1).
        initial: start distribution over states (default uniform).

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 1, 2)); T[0, 0, 1] = T[1, 0, 1] = 1.0
        >>> mdp = TabularMDP(T, reward=np.ones((2, 1, 2)), gamma=0.5)
        >>> mdp.n_states, mdp.n_actions, mdp.initial.tolist()
        (2, 1, [0.5, 0.5])
        >>> TabularMDP(T, gamma=1.0)
        Traceback (most recent call last):
        ...
        ValueError: gamma must be in [0, 1), got 1.0
    """

    transition: np.ndarray
    reward: np.ndarray | None = None
    gamma: float = 0.99
    initial: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        T = check_transition(self.transition)
        S, A, _ = T.shape
        gamma = check_gamma(self.gamma)
        R = np.zeros_like(T) if self.reward is None else check_rewards(self.reward, S, A)
        if R.ndim != 3:
            raise ValueError(
                f"a TabularMDP holds one reward of shape {(S, A, S)}, got shape {R.shape}"
            )
        if self.initial is None:
            mu = np.full(S, 1.0 / S)
        else:
            mu = np.asarray(self.initial, dtype=np.float64)
            if mu.shape != (S,):
                raise ValueError(f"initial must have shape ({S},), got {mu.shape}")
            if not np.all(np.isfinite(mu)) or np.any(mu < 0) or abs(mu.sum() - 1) > ROW_SUM_ATOL:
                raise ValueError(
                    f"initial must be a probability distribution (>= 0, sum 1), sums to {mu.sum()}"
                )
            mu = mu / mu.sum()  # accepted within ROW_SUM_ATOL, stored exact (see check_transition)
        for name, arr in (("transition", T), ("reward", R), ("initial", mu)):
            arr = np.array(arr, dtype=np.float64, copy=True)
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "gamma", gamma)

    @property
    def n_states(self) -> int:
        """S, the number of states."""
        return int(self.transition.shape[0])

    @property
    def n_actions(self) -> int:
        """A, the number of actions."""
        return int(self.transition.shape[1])

    def with_reward(self, reward: np.ndarray) -> TabularMDP:
        """The same dynamics with another reward R[s, a, s'].

        Example:
            >>> import numpy as np
            >>> mdp = TabularMDP(np.ones((1, 1, 1)), gamma=0.9)
            >>> float(mdp.with_reward(np.full((1, 1, 1), 2.0)).reward.sum())
            2.0
        """
        return TabularMDP(self.transition, reward, self.gamma, self.initial)


def check_gamma(gamma: float) -> float:
    """``gamma`` as a float, or a ``ValueError`` unless 0 <= gamma < 1.

    Example:
        >>> check_gamma(0.95)
        0.95
    """
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise TypeError(f"gamma must be a number in [0, 1), got {gamma!r}") from None
    if not (0.0 <= g < 1.0):
        raise ValueError(f"gamma must be in [0, 1), got {gamma!r}")
    return g


def check_transition(transition: np.ndarray) -> np.ndarray:
    """T as a float64 array of shape (S, A, S), or an error naming what is wrong.

    Example:
        >>> import numpy as np
        >>> check_transition(np.full((2, 1, 2), 0.4))
        Traceback (most recent call last):
        ...
        ValueError: transition rows T[s, a, :] must sum to 1; T[0, 0, :] sums to 0.8
    """
    T = np.asarray(transition, dtype=np.float64)
    if T.ndim != 3 or T.shape[0] != T.shape[2] or T.shape[0] == 0 or T.shape[1] == 0:
        raise ValueError(
            f"transition must have shape (S, A, S) with S, A >= 1, got shape {T.shape}"
        )
    if not np.all(np.isfinite(T)):
        raise ValueError("transition contains NaN or inf")
    if np.any(T < 0):
        s, a, s2 = np.argwhere(T < 0)[0]
        raise ValueError(
            f"transition probabilities must be >= 0; T[{s}, {a}, {s2}] = {T[s, a, s2]}"
        )
    sums = T.sum(axis=2)
    bad = np.abs(sums - 1.0) > ROW_SUM_ATOL
    if bad.any():
        s, a = np.argwhere(bad)[0]
        raise ValueError(
            f"transition rows T[s, a, :] must sum to 1; T[{s}, {a}, :] sums to {sums[s, a]:.6g}"
        )
    # Rows are accepted within ROW_SUM_ATOL and returned summing to 1: potential shaping cancels
    # (and the STARC canonical forms are exact) only under exact expectations; a row off by 1e-7
    # leaves 1e-7 |Phi| of a potential in rewards that should be equivalent to zero.
    return T / sums[..., None]


def check_rewards(reward: np.ndarray, n_states: int, n_actions: int, name: str = "reward"):
    """Rewards as float64 of shape (..., S, A, S), or an error naming the expected shape.

    Example:
        >>> import numpy as np
        >>> check_rewards(np.zeros((5, 2, 3, 2)), 2, 3).shape
        (5, 2, 3, 2)
        >>> check_rewards(np.zeros((2, 3)), 2, 3)
        Traceback (most recent call last):
        ...
        ValueError: reward must have shape (..., S, A, S) = (..., 2, 3, 2), got (2, 3)
    """
    R = np.asarray(reward, dtype=np.float64)
    if R.ndim < 3 or R.shape[-3:] != (n_states, n_actions, n_states):
        raise ValueError(
            f"{name} must have shape (..., S, A, S) = (..., {n_states}, {n_actions}, "
            f"{n_states}), got {R.shape}"
        )
    # One reduction instead of an elementwise pass: a finite sum means finite entries (NaN and
    # inf propagate); only an overflowing sum needs the elementwise look.
    if not np.isfinite(R.sum()) and not np.all(np.isfinite(R)):
        raise ValueError(f"{name} contains NaN or inf")
    return R


def shape_reward(reward: np.ndarray, potential: np.ndarray, gamma: float) -> np.ndarray:
    """Potential-based shaping on arrays: R(s, a, s') + gamma * Phi(s') - Phi(s) (Ng et al. 1999).

    ``potential`` has shape (..., S) and broadcasts with the leading axes of ``reward``.

    Example:
        >>> import numpy as np
        >>> shape_reward(np.zeros((2, 1, 2)), np.array([1.0, 3.0]), 0.5)[:, 0, :].tolist()
        [[-0.5, 0.5], [-2.5, -1.5]]
    """
    phi = np.asarray(potential, dtype=np.float64)
    R = np.asarray(reward, dtype=np.float64)
    return R + gamma * phi[..., None, None, :] - phi[..., :, None, None]

"""Canonicalisations of tabular reward functions: EPIC, DARD, STARC-VAL and minimal.

A canonicalisation c maps a reward R[s, a, s'] to a representative of its equivalence class, so
that rewards which differ only by potential shaping (and, for STARC canonicalisations, by
S'-redistribution) get equal canonical forms. All functions take rewards with any leading batch
axes, shape (..., S, A, S), and return the same shape.

- :func:`epic_canonical` (Gleave et al. 2021): invariant to potential shaping, not to
  S'-redistribution; uses coverage distributions D_S, D_A, no dynamics.
- :func:`dard_canonical` (Wulfe et al. 2022): the same with next states drawn from T; invariant to
  potential shaping, not to S'-redistribution.
- :func:`val_canonical` (Skalse et al. 2024, "VAL"): c(R)(s, a, s') =
  E_{S'~T(s,a)}[R(s, a, S') - V(s) + gamma V(S')] with V = V^pi_R for a fixed policy pi (uniform
  by default); that is the advantage A^pi(s, a), constant in s'. Invariant to both.
- :func:`minimal_canonical` (Skalse et al. 2024): the member of the class with the smallest
  (weighted) L2 norm, in closed form (a weighted least-squares potential).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rewardshaping.tabular.mdp import TabularMDP, check_gamma, check_rewards, check_transition
from rewardshaping.tabular.solve import (
    as_stochastic_policy,
    expected_reward,
    q_from_expected,
    values_from_expected,
)

__all__ = [
    "CANONICALIZATIONS",
    "Canon",
    "canonicalize",
    "epic_canonical",
    "dard_canonical",
    "val_canonical",
    "val_advantage",
    "advantage_from_expected",
    "minimal_canonical",
    "distribution",
]

Canon = Literal["none", "epic", "dard", "val", "minimal"]
#: The names :func:`canonicalize` accepts.
CANONICALIZATIONS: tuple[str, ...] = ("none", "epic", "dard", "val", "minimal")


def distribution(p: np.ndarray | None, n: int, name: str) -> np.ndarray:
    """A probability vector of length n (uniform when ``p`` is None), checked.

    Example:
        >>> distribution(None, 4, "state_dist").tolist()
        [0.25, 0.25, 0.25, 0.25]
    """
    if p is None:
        return np.full(n, 1.0 / n)
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must be a probability vector (>= 0, sum 1), sums to {p.sum()}")
    # Accepted within 1e-6 (a float32 softmax passes), then made to sum to 1: the canonical
    # forms cancel a potential only under exact expectations, and a leftover of 1e-7 |Phi|
    # would make a reward equivalent to zero read as a nonzero one.
    return p / p.sum()


def epic_canonical(
    reward: np.ndarray,
    gamma: float,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
) -> np.ndarray:
    """EPIC canonical reward (Gleave et al. 2021).

    C(R)(s, a, s') = R(s, a, s') + E[gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S')] with
    S, S' ~ D_S and A ~ D_A independent (uniform by default).

    Example:
        >>> import numpy as np
        >>> R = np.random.default_rng(0).normal(size=(3, 2, 3))
        >>> phi = np.array([1.0, -2.0, 0.5])
        >>> shaped = R + 0.9 * phi[None, None, :] - phi[:, None, None]
        >>> bool(np.allclose(epic_canonical(R, 0.9), epic_canonical(shaped, 0.9)))
        True
    """
    gamma = check_gamma(gamma)
    R = np.asarray(reward, dtype=np.float64)
    if R.ndim < 3 or R.shape[-1] != R.shape[-3]:
        raise ValueError(f"reward must have shape (..., S, A, S), got {R.shape}")
    S, A = R.shape[-3], R.shape[-2]
    ds = distribution(state_dist, S, "state_dist")
    da = distribution(action_dist, A, "action_dist")
    m = np.einsum("...xat,a,t->...x", R, da, ds)  # E_{A, S'} R(x, A, S')
    c = m @ ds  # E_{S, A, S'} R(S, A, S')
    return (
        R + gamma * m[..., None, None, :] - m[..., :, None, None] - gamma * c[..., None, None, None]
    )


def dard_canonical(
    reward: np.ndarray,
    transition: np.ndarray,
    gamma: float,
    action_dist: np.ndarray | None = None,
) -> np.ndarray:
    """DARD canonical reward (Wulfe et al. 2022).

    C(R)(s, a, s') = R(s, a, s') + E[gamma R(s', A, S'') - R(s, A, S') - gamma R(S', A, S'')]
    with A ~ D_A (uniform by default), S' ~ T(s, A), S'' ~ T(s', A).

    Example:
        >>> from rewardshaping.tabular import random_mdp, shape_reward
        >>> mdp = random_mdp(4, 2, 0.9, seed=0)
        >>> shaped = shape_reward(mdp.reward, np.arange(4.0), 0.9)
        >>> a, b = (dard_canonical(r, mdp.transition, 0.9) for r in (mdp.reward, shaped))
        >>> bool(np.allclose(a, b))
        True
    """
    T = check_transition(transition)
    gamma = check_gamma(gamma)
    S, A, _ = T.shape
    R = check_rewards(reward, S, A)
    da = distribution(action_dist, A, "action_dist")
    m = expected_reward(T, R) @ da  # E_{A, S'~T(x,A)} R(x, A, S')
    Ta = T.transpose(1, 0, 2)  # (A, S, S)
    # E_A E_{S'~T(s,A), S''~T(s',A)} R(S', A, S'') = sum_a D_A(a) [T_a R_a T_a^T](s, s')
    inner = Ta @ np.swapaxes(R, -3, -2) @ Ta.transpose(0, 2, 1)  # (..., A, S, S)
    third = np.einsum("a,...ast->...st", da, inner)
    return (
        R + gamma * m[..., None, None, :] - m[..., :, None, None] - gamma * third[..., :, None, :]
    )


def val_canonical(
    reward: np.ndarray,
    transition: np.ndarray,
    gamma: float,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """STARC-VAL canonical reward (Skalse et al. 2024).

    c(R)(s, a, s') = E_{S'~T(s,a)}[R(s, a, S') - V(s) + gamma V(S')] = Q^pi(s, a) - V^pi(s),
    with V = V^pi_R exactly (a linear solve) for ``policy`` (uniform random by default). The
    expectation over S' makes it invariant to S'-redistribution; the result is constant in s'.

    Example:
        >>> from rewardshaping.tabular import random_mdp
        >>> mdp = random_mdp(4, 2, 0.9, seed=0)
        >>> X = np.random.default_rng(1).normal(size=(4, 2, 4))
        >>> X -= np.einsum("sat,sat->sa", mdp.transition, X)[..., None]  # E_T X = 0
        >>> a, b = (val_canonical(r, mdp.transition, 0.9) for r in (mdp.reward, mdp.reward + X))
        >>> bool(np.allclose(a, b))
        True
    """
    R = np.asarray(reward, dtype=np.float64)
    adv = val_advantage(R, transition, gamma, policy)
    return np.broadcast_to(adv[..., None], R.shape).copy()


def val_advantage(
    reward: np.ndarray,
    transition: np.ndarray,
    gamma: float,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """The VAL canonical reward without its constant s' axis: A^pi(s, a), shape (..., S, A).

    :func:`val_canonical` is this, broadcast over s'. The distances use this compact form (S
    times less memory and work) with the norm weights summed over s', which gives the same
    numbers.

    Example:
        >>> from rewardshaping.tabular import random_mdp
        >>> mdp = random_mdp(4, 2, 0.9, seed=0)
        >>> adv = val_advantage(mdp.reward, mdp.transition, 0.9)
        >>> bool(np.allclose(adv, val_canonical(mdp.reward, mdp.transition, 0.9)[..., 0]))
        True
    """
    T = check_transition(transition)
    S, A, _ = T.shape
    R = check_rewards(reward, S, A)
    return advantage_from_expected(T, expected_reward(T, R), check_gamma(gamma), policy)


def advantage_from_expected(
    transition: np.ndarray,
    expected: np.ndarray,
    gamma: float,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """A^pi(s, a) (..., S, A) from expected rewards E_T[R] (..., S, A); inputs unchecked.

    All rewards share one factorisation of (I - gamma P_pi), so canonicalising a batch costs
    about as much as one reward.

    Example:
        >>> from rewardshaping.tabular import expected_reward, random_mdp
        >>> mdp = random_mdp(4, 2, 0.9, seed=0)
        >>> rbar = expected_reward(mdp.transition, mdp.reward)
        >>> adv = advantage_from_expected(mdp.transition, rbar, 0.9)
        >>> bool(np.allclose(adv, val_advantage(mdp.reward, mdp.transition, 0.9)))
        True
    """
    S, A, _ = transition.shape
    pi = np.full((S, A), 1.0 / A) if policy is None else as_stochastic_policy(policy, S, A)
    V = values_from_expected(transition, expected, gamma, pi)
    return q_from_expected(transition, expected, gamma, V) - V[..., None]


def minimal_canonical(
    reward: np.ndarray,
    transition: np.ndarray,
    gamma: float,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The member of R's class (potential shaping + S'-redistribution) of least weighted L2 norm.

    Minimises sum_{s,a,s'} W(s,a,s') (R + gamma Phi(s') - Phi(s) + X)^2 over potentials Phi and
    S'-redistributions X (E_{S'~T(s,a)} X(s, a, S') = 0) in closed form: for a fixed Phi the best
    X leaves e(s,a) u(s,a,s') / k(s,a), with e = E_T[R + gamma Phi(S') - Phi(s)], u = T / W and
    k = sum_s' T^2 / W; Phi then solves a weighted least-squares problem with weights 1/k(s, a)
    (normal equations, one S x S solve shared by all rewards). Skalse et al. (2024) define
    minimal canonicalisation; the closed form is ours.

    Args:
        weights: W(s, a, s') > 0 wherever T > 0; None for the plain L2 norm. With W = T (the
            T-weighted norm) the result is e(s, a) on the support of T and 0 elsewhere.

    Example:
        >>> from rewardshaping.tabular import random_mdp, shape_reward
        >>> mdp = random_mdp(4, 2, 0.9, seed=0)
        >>> c = minimal_canonical(mdp.reward, mdp.transition, 0.9)
        >>> shaped = shape_reward(mdp.reward, np.arange(4.0), 0.9)
        >>> bool(np.allclose(c, minimal_canonical(shaped, mdp.transition, 0.9)))
        True
        >>> bool(np.linalg.norm(c) <= np.linalg.norm(mdp.reward))
        True
    """
    T = check_transition(transition)
    gamma = check_gamma(gamma)
    S, A, _ = T.shape
    R = check_rewards(reward, S, A)
    if weights is None:
        u = T
    else:
        W = np.broadcast_to(np.asarray(weights, dtype=np.float64), T.shape)
        if np.any(W < 0) or not np.all(np.isfinite(W)):
            raise ValueError("weights must be finite and >= 0")
        if np.any((W <= 0) & (T > 0)):
            raise ValueError("weights must be > 0 wherever T > 0 (else the norm ignores them)")
        u = np.divide(T, W, out=np.zeros_like(T), where=T > 0)
    k = np.einsum("sat,sat->sa", T, u)  # > 0: every row of T has mass
    omega = (1.0 / k).reshape(-1)  # least-squares weight of each (s, a)
    # e = rbar + M Phi with M[(s, a), x] = gamma T(s, a, x) - [s == x]
    M = gamma * T.reshape(S * A, S)
    M[np.arange(S * A), np.repeat(np.arange(S), A)] -= 1.0
    rbar = expected_reward(T, R).reshape(*R.shape[:-3], S * A)
    MtW = M.T * omega
    phi = -np.linalg.solve(MtW @ M, (rbar @ MtW.T)[..., None])[..., 0]
    e = (rbar + phi @ M.T).reshape(*R.shape[:-3], S, A)
    return (e / k)[..., None] * u


def canonicalize(
    reward: np.ndarray,
    mdp: TabularMDP,
    canon: Canon = "val",
    *,
    policy: np.ndarray | None = None,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Canonicalise rewards (..., S, A, S) for ``mdp`` (its T and gamma) with ``canon``.

    ``canon`` is one of :data:`CANONICALIZATIONS`: ``"none"`` (identity), ``"epic"``
    (``state_dist``, ``action_dist``), ``"dard"`` (``action_dist``), ``"val"`` (``policy``) or
    ``"minimal"`` (least ``weights``-weighted L2 norm).

    Example:
        >>> from rewardshaping.tabular import random_mdp
        >>> mdp = random_mdp(3, 2, 0.9, seed=0)
        >>> canonicalize(mdp.reward, mdp, "val").shape
        (3, 2, 3)
    """
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    R = check_rewards(reward, mdp.n_states, mdp.n_actions)
    T, g = mdp.transition, mdp.gamma
    if canon == "none":
        return R
    if canon == "epic":
        return epic_canonical(R, g, state_dist, action_dist)
    if canon == "dard":
        return dard_canonical(R, T, g, action_dist)
    if canon == "val":
        return val_canonical(R, T, g, policy)
    if canon == "minimal":
        return minimal_canonical(R, T, g, weights)
    raise ValueError(f"canon must be one of {CANONICALIZATIONS}, got {canon!r}")

"""Exact solvers for tabular MDPs: policy evaluation, value iteration, optimal and worst policies.

Pure NumPy on arrays (``transition`` T[s, a, s'], rewards R[..., s, a, s'] with any leading batch
axes, ``gamma`` in [0, 1)), so many reward functions are solved in one call: policy evaluation
of a shared policy is one LU factorisation with one right-hand side per reward, and policy
iteration (Howard 1960) solves all rewards' linear systems as one batched call. Policies are
either stochastic, shape (..., S, A) with rows summing to 1, or deterministic, an integer array
(..., S) of actions.
"""

from __future__ import annotations

import numpy as np

from rewardshaping.tabular.mdp import check_gamma, check_rewards, check_transition

__all__ = [
    "expected_reward",
    "uniform_policy",
    "as_stochastic_policy",
    "policy_evaluation",
    "q_values",
    "values_from_expected",
    "q_from_expected",
    "policy_return",
    "value_iteration",
    "optimal_policy",
    "worst_policy",
    "policy_iteration",
]


def expected_reward(transition: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """r(s, a) = E_{S' ~ T(s, a)} R(s, a, S'), shape (..., S, A).

    Example:
        >>> import numpy as np
        >>> T = np.array([[[0.25, 0.75]], [[1.0, 0.0]]])
        >>> R = np.array([[[4.0, 0.0]], [[1.0, 9.0]]])
        >>> expected_reward(T, R).tolist()
        [[1.0], [1.0]]
    """
    return np.einsum("sat,...sat->...sa", transition, reward)


def uniform_policy(n_states: int, n_actions: int) -> np.ndarray:
    """The uniformly random policy, shape (S, A).

    Example:
        >>> uniform_policy(2, 4)[0].tolist()
        [0.25, 0.25, 0.25, 0.25]
    """
    return np.full((n_states, n_actions), 1.0 / n_actions)


def as_stochastic_policy(policy: np.ndarray, n_states: int, n_actions: int) -> np.ndarray:
    """A policy as probabilities (..., S, A): integer arrays (..., S) become one-hot rows.

    Raises ValueError on a wrong shape, actions out of range, or probabilities that are not
    finite and >= 0 with rows summing to 1 (NaN included).

    Example:
        >>> as_stochastic_policy(np.array([1, 0]), 2, 2).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    pi = np.asarray(policy)
    if np.issubdtype(pi.dtype, np.integer):
        if pi.shape[-1:] != (n_states,):
            raise ValueError(
                f"a deterministic policy must have shape (..., S) = (..., {n_states}), "
                f"got {pi.shape}"
            )
        if pi.size and (pi.min() < 0 or pi.max() >= n_actions):
            raise ValueError(
                f"policy actions must be in [0, {n_actions}), got {pi.min()}..{pi.max()}"
            )
        return np.eye(n_actions)[pi]
    pi = pi.astype(np.float64)
    if pi.shape[-2:] != (n_states, n_actions):
        raise ValueError(
            f"a stochastic policy must have shape (..., S, A) = (..., {n_states}, {n_actions}), "
            f"got {pi.shape}"
        )
    # Finite first: NaN fails every comparison, so it would slip past the checks below.
    if not np.all(np.isfinite(pi)):
        raise ValueError("a stochastic policy's entries must be finite (no NaN or inf)")
    if np.any(pi < 0) or np.any(np.abs(pi.sum(-1) - 1.0) > 1e-6):
        raise ValueError("a stochastic policy's rows pi[s, :] must be >= 0 and sum to 1")
    return pi / pi.sum(-1, keepdims=True)  # accepted within 1e-6, used exact (check_transition)


def _checked(transition, reward, gamma):
    T = check_transition(transition)
    S, A, _ = T.shape
    return T, check_rewards(reward, S, A), check_gamma(gamma)


def values_from_expected(
    transition: np.ndarray, expected: np.ndarray, gamma: float, policy: np.ndarray
) -> np.ndarray:
    """V^pi (..., S) from expected rewards r(s, a) (..., S, A) and probabilities pi (..., S, A).

    The unchecked core of :func:`policy_evaluation` for callers that already validated their
    arrays and hold E_T[R] (the metrics reuse it).

    Example:
        >>> import numpy as np
        >>> T = np.ones((1, 1, 1))
        >>> values_from_expected(T, np.array([[1.0]]), 0.5, np.array([[1.0]])).tolist()
        [2.0]
    """
    T, rbar, pi = transition, expected, policy
    S = T.shape[0]
    r_pi = np.sum(pi * rbar, axis=-1)  # (..., S)
    P = np.einsum("...sa,sat->...st", pi, T)  # (..., S, S)
    M = np.eye(S) - gamma * P
    if P.ndim == 2:
        # One factorisation, one right-hand side per reward.
        flat = r_pi.reshape(-1, S).T
        return np.linalg.solve(M, flat).T.reshape(r_pi.shape)
    batch = np.broadcast_shapes(M.shape[:-2], r_pi.shape[:-1])
    M = np.broadcast_to(M, (*batch, S, S))
    r_pi = np.broadcast_to(r_pi, (*batch, S))
    return np.linalg.solve(M, r_pi[..., None])[..., 0]


def policy_evaluation(
    transition: np.ndarray, reward: np.ndarray, gamma: float, policy: np.ndarray
) -> np.ndarray:
    """V^pi(s) exactly, by solving (I - gamma P_pi) V = r_pi; shape (..., S).

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1  # action a moves to state a
        >>> R = np.zeros((2, 2, 2)); R[:, :, 1] = 1.0                  # reward 1 for landing in 1
        >>> policy_evaluation(T, R, 0.5, np.array([1, 1])).round(6).tolist()
        [2.0, 2.0]
        >>> policy_evaluation(T, R, 0.5, uniform_policy(2, 2)).round(6).tolist()
        [1.0, 1.0]
    """
    T, R, gamma = _checked(transition, reward, gamma)
    pi = as_stochastic_policy(policy, T.shape[0], T.shape[1])
    return values_from_expected(T, expected_reward(T, R), gamma, pi)


def q_values(
    transition: np.ndarray, reward: np.ndarray, gamma: float, values: np.ndarray
) -> np.ndarray:
    """Q(s, a) = E_{S' ~ T(s, a)}[R(s, a, S') + gamma V(S')] for state values V (..., S).

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1
        >>> R = np.zeros((2, 2, 2)); R[:, :, 1] = 1.0
        >>> q_values(T, R, 0.5, np.array([0.0, 2.0])).tolist()
        [[0.0, 2.0], [0.0, 2.0]]
    """
    T, R, gamma = _checked(transition, reward, gamma)
    return q_from_expected(T, expected_reward(T, R), gamma, np.asarray(values, dtype=np.float64))


def q_from_expected(
    transition: np.ndarray, expected: np.ndarray, gamma: float, values: np.ndarray
) -> np.ndarray:
    """Q(s, a) = r(s, a) + gamma E_{S'~T(s,a)} V(S') from expected rewards (unchecked core).

    Example:
        >>> import numpy as np
        >>> q_from_expected(np.ones((1, 1, 1)), np.array([[1.0]]), 0.5, np.array([2.0])).tolist()
        [[2.0]]
    """
    return expected + gamma * np.einsum("sat,...t->...sa", transition, values)


def policy_return(
    transition: np.ndarray,
    reward: np.ndarray,
    gamma: float,
    policy: np.ndarray,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """J(pi) = E_{S0 ~ initial} V^pi(S0), the expected discounted return (default start uniform).

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1
        >>> R = np.zeros((2, 2, 2)); R[:, :, 1] = 1.0
        >>> float(policy_return(T, R, 0.5, np.array([0, 1]), initial=np.array([0.0, 1.0])))
        2.0
    """
    V = policy_evaluation(transition, reward, gamma, policy)
    S = V.shape[-1]
    if initial is None:
        return V @ np.full(S, 1.0 / S)
    mu = np.asarray(initial, dtype=np.float64)
    if mu.shape != (S,):
        raise ValueError(f"initial must have shape ({S},), got {mu.shape}")
    if not np.all(np.isfinite(mu)) or np.any(mu < 0) or abs(mu.sum() - 1.0) > 1e-6:
        raise ValueError(
            f"initial must be a probability distribution (>= 0, sum 1), sums to {mu.sum()}"
        )
    return V @ (mu / mu.sum())


def value_iteration(
    transition: np.ndarray,
    reward: np.ndarray,
    gamma: float,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values by value iteration: (V*, Q*) with shapes (..., S) and (..., S, A).

    Stops when successive V differ by less than ``tol`` in sup norm (then V is within
    tol * gamma / (1 - gamma) of V*). For exact optimal policies use :func:`optimal_policy`.

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1
        >>> R = np.zeros((2, 2, 2)); R[:, :, 1] = 1.0
        >>> V, Q = value_iteration(T, R, 0.5)
        >>> V.round(6).tolist(), Q.argmax(-1).tolist()
        ([2.0, 2.0], [1, 1])
    """
    T, R, gamma = _checked(transition, reward, gamma)
    rbar = expected_reward(T, R)
    V = rbar.max(-1)
    for _ in range(max_iter):
        Q = q_from_expected(T, rbar, gamma, V)
        V_new = Q.max(-1)
        if np.max(np.abs(V_new - V), initial=0.0) < tol:
            return V_new, q_from_expected(T, rbar, gamma, V_new)
        V = V_new
    raise RuntimeError(f"value iteration did not reach tol={tol} in {max_iter} iterations")


def optimal_policy(
    transition: np.ndarray, reward: np.ndarray, gamma: float, max_iter: int = 1000
) -> np.ndarray:
    """An exactly optimal deterministic policy (..., S) for each reward, by policy iteration.

    Howard's policy iteration ends in finitely many steps with an optimal policy; evaluation is
    exact (a linear solve), so unlike value iteration there is no tolerance to choose. Ties are
    broken towards the current action, then the lowest action index.

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1
        >>> R = np.zeros((2, 2, 2)); R[:, :, 1] = 1.0
        >>> optimal_policy(T, np.stack([R, -R]), 0.9).tolist()
        [[1, 1], [0, 0]]
    """
    T, R, gamma = _checked(transition, reward, gamma)
    return policy_iteration(T, expected_reward(T, R), gamma, max_iter)


def worst_policy(
    transition: np.ndarray, reward: np.ndarray, gamma: float, max_iter: int = 1000
) -> np.ndarray:
    """A deterministic policy minimising the return of each reward (optimal for -R).

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1
        >>> R = np.zeros((2, 2, 2)); R[:, :, 1] = 1.0
        >>> worst_policy(T, R, 0.9).tolist()
        [0, 0]
    """
    T, R, gamma = _checked(transition, reward, gamma)
    return policy_iteration(T, -expected_reward(T, R), gamma, max_iter)


def policy_iteration(
    transition: np.ndarray, expected: np.ndarray, gamma: float, max_iter: int = 1000
) -> np.ndarray:
    """Optimal deterministic policies (..., S) for expected rewards r(s, a) (..., S, A).

    The unchecked core of :func:`optimal_policy` (Howard's policy iteration, batched: each
    iteration is one batched linear solve over the rewards that have not converged yet).

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1
        >>> policy_iteration(T, np.array([[0.0, 1.0], [0.0, 1.0]]), 0.9).tolist()
        [1, 1]
        >>> policy_iteration(T, np.array([[0.0, 1.0], [0.0, 1.0]]), 0.9, max_iter=1).tolist()
        [1, 1]
    """
    T, rbar = transition, expected
    S, A, _ = T.shape
    batch = rbar.shape[:-2]
    rbar = rbar.reshape(-1, S, A)
    pol = rbar.argmax(-1)
    active = np.arange(rbar.shape[0])
    states = np.arange(S)
    eye = np.eye(S)
    if active.size == 0:  # no rewards at all
        return pol.reshape(*batch, S)
    for _ in range(max_iter):
        p, r = pol[active], rbar[active]
        P = T[states, p]  # (k, S, S)
        r_pi = np.take_along_axis(r, p[..., None], -1)
        V = np.linalg.solve(eye - gamma * P, r_pi)[..., 0]
        Q = q_from_expected(T, r, gamma, V)
        best = Q.max(-1, keepdims=True)
        # Keep the current action when it is optimal up to rounding: without this, policy
        # iteration can cycle between tied actions forever.
        tol = 1e-10 * (1.0 + np.abs(best))
        current = np.take_along_axis(Q, p[..., None], -1)
        new = np.where((current >= best - tol)[..., 0], p, Q.argmax(-1))
        changed = np.any(new != p, axis=-1)
        pol[active] = new
        active = active[changed]
        if active.size == 0:  # every policy is stable: converged in this iteration
            return pol.reshape(*batch, S)
    raise RuntimeError(f"policy iteration did not converge in {max_iter} iterations")

"""Regret of optimising one reward when another is the true one (tabular, exact).

normalised regret(R_true, R_proxy) = (J(pi*_true) - J(pi*_proxy)) / (J(pi*_true) - J(pi^-_true)),
returns J under R_true from the MDP's start distribution, pi* optimal and pi^- worst
deterministic policies (exact policy iteration). It lies in [0, 1]; it is 0 when every policy
has the same return under R_true (the denominator vanishes). STARC metrics bound worst-case
regret from above and below (Skalse et al. 2024); :mod:`experiments.starc_regret` measures how
well each distance predicts it.
"""

from __future__ import annotations

import numpy as np

from rewardshaping.tabular.mdp import TabularMDP, check_rewards
from rewardshaping.tabular.solve import (
    as_stochastic_policy,
    expected_reward,
    policy_iteration,
    values_from_expected,
)

__all__ = ["normalized_regret", "policy_regret"]

# Return gaps below this fraction of max |R| / (1 - gamma) count as "all policies equal".
_FLAT_RTOL = 1e-9


def _returns(mdp: TabularMDP, rbar: np.ndarray, policy: np.ndarray) -> np.ndarray:
    pi = as_stochastic_policy(policy, mdp.n_states, mdp.n_actions)
    return values_from_expected(mdp.transition, rbar, mdp.gamma, pi) @ mdp.initial


def policy_regret(true_reward: np.ndarray, policy: np.ndarray, mdp: TabularMDP) -> np.ndarray:
    """Normalised regret of ``policy`` (..., S) or (..., S, A) under ``true_reward``.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.tabular import TabularMDP
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1; T[:, 1, 1] = 1  # action a moves to state a
        >>> R = np.zeros((2, 2, 2)); R[:, :, 1] = 1.0                  # reward for landing in 1
        >>> mdp = TabularMDP(T, gamma=0.9)
        >>> policy_regret(R, np.array([1, 1]), mdp), policy_regret(R, np.array([0, 0]), mdp)
        (0.0, 1.0)
    """
    R = check_rewards(true_reward, mdp.n_states, mdp.n_actions, "true_reward")
    rbar = expected_reward(mdp.transition, R)
    best = policy_iteration(mdp.transition, rbar, mdp.gamma, 1000)
    worst = policy_iteration(mdp.transition, -rbar, mdp.gamma, 1000)
    out = _normalise(
        _returns(mdp, rbar, best),
        _returns(mdp, rbar, policy),
        _returns(mdp, rbar, worst),
        np.max(np.abs(R), axis=(-3, -2, -1)) / (1.0 - mdp.gamma),
    )
    return float(out) if out.ndim == 0 else out


def normalized_regret(
    true_reward: np.ndarray, proxy_reward: np.ndarray, mdp: TabularMDP
) -> np.ndarray | float:
    """Normalised regret of an optimal policy of ``proxy_reward`` under ``true_reward``.

    Both have shape (..., S, A, S) and broadcast; every optimal policy is found exactly (ties
    broken towards the lowest action index, see
    :func:`~rewardshaping.tabular.optimal_policy`).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.tabular import random_mdp
        >>> mdp = random_mdp(16, 4, 0.95, seed=0)
        >>> R = mdp.reward
        >>> normalized_regret(R, 5 * R, mdp), normalized_regret(R, -R, mdp)
        (0.0, 1.0)
    """
    S, A = mdp.n_states, mdp.n_actions
    R1 = check_rewards(true_reward, S, A, "true_reward")
    R2 = check_rewards(proxy_reward, S, A, "proxy_reward")
    T, g = mdp.transition, mdp.gamma
    r1 = expected_reward(T, R1)
    best = policy_iteration(T, r1, g, 1000)
    worst = policy_iteration(T, -r1, g, 1000)
    proxy = policy_iteration(T, expected_reward(T, R2), g, 1000)
    scale = np.max(np.abs(R1), axis=(-3, -2, -1)) / (1.0 - g)
    j_proxy = _returns(mdp, r1, proxy)  # broadcasts R1's and R2's batch axes
    out = _normalise(_returns(mdp, r1, best), j_proxy, _returns(mdp, r1, worst), scale)
    return float(out) if out.ndim == 0 else out


def _normalise(j_best, j_policy, j_worst, scale) -> np.ndarray:
    gap = j_best - j_worst
    flat = gap <= _FLAT_RTOL * scale
    regret = np.where(flat, 0.0, (j_best - j_policy) / np.where(flat, 1.0, gap))
    # Exact solvers still round: keep the result inside [0, 1].
    return np.clip(regret, 0.0, 1.0)

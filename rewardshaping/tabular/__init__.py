"""Finite MDPs as arrays, their random generators and exact solvers (pure NumPy).

- :mod:`~rewardshaping.tabular.mdp`: :class:`TabularMDP` (T, R, start distribution, gamma) and
  the input checks shared by everything tabular; :func:`shape_reward` (potential shaping on arrays).
- :mod:`~rewardshaping.tabular.generate`: random MDPs (STARC-style thresholded softmax, Garnet)
  and random reward functions.
- :mod:`~rewardshaping.tabular.solve`: exact policy evaluation, value iteration, optimal and
  worst policies (policy iteration), returns; batched over many reward functions.

The Gymnasium env of a :class:`TabularMDP` is ``rewardshaping.envs.tabular.TabularEnv``
(registered as ``rewardshaping/RandomMDP-v0``). The reward metrics
(:mod:`rewardshaping.metrics`) and potential-based shaping build on this package.
May import: numpy and ``rewardshaping`` core modules only.
"""

from rewardshaping.tabular.generate import random_mdp, random_reward, random_transition
from rewardshaping.tabular.mdp import (
    TabularMDP,
    check_gamma,
    check_rewards,
    check_transition,
    shape_reward,
)
from rewardshaping.tabular.solve import (
    as_stochastic_policy,
    expected_reward,
    optimal_policy,
    policy_evaluation,
    policy_iteration,
    policy_return,
    q_from_expected,
    q_values,
    uniform_policy,
    value_iteration,
    values_from_expected,
    worst_policy,
)

__all__ = [
    "TabularMDP",
    "check_gamma",
    "check_rewards",
    "check_transition",
    "shape_reward",
    "random_mdp",
    "random_reward",
    "random_transition",
    "as_stochastic_policy",
    "expected_reward",
    "optimal_policy",
    "policy_evaluation",
    "policy_iteration",
    "policy_return",
    "q_values",
    "q_from_expected",
    "values_from_expected",
    "uniform_policy",
    "value_iteration",
    "worst_policy",
]

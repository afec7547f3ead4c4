"""Reward comparison: canonicalisations, norms, STARC / EPIC / DARD distances, regret.

Pure functions over arrays (tabular, exact) or over samples (continuous or large envs); no env
wrapping. Exact: :mod:`~rewardshaping.metrics.canonical`, :mod:`~rewardshaping.metrics.norms`,
:mod:`~rewardshaping.metrics.distance`, :mod:`~rewardshaping.metrics.regret`. Sampled:
:mod:`~rewardshaping.metrics.sampled` (estimators, bootstrap, LSTD values) reading
:mod:`~rewardshaping.metrics.sources` (reward functions, transition models, coverage). The
``rewardshaping compare`` command: :mod:`~rewardshaping.metrics.command`.
May import: numpy, gymnasium, ``rewardshaping`` core modules and ``rewardshaping.tabular``; the
``compare`` command also imports ``rewardshaping.envs`` (to register env ids) when it runs.
"""

from rewardshaping.metrics.canonical import (
    CANONICALIZATIONS,
    canonicalize,
    dard_canonical,
    epic_canonical,
    minimal_canonical,
    val_advantage,
    val_canonical,
)
from rewardshaping.metrics.distance import (
    dard_distance,
    distance_from_canonical,
    epic_distance,
    standardize,
    starc_distance,
)
from rewardshaping.metrics.norms import (
    NORMS,
    coverage_weights,
    metric_bound,
    reward_norm,
    transition_weights,
)
from rewardshaping.metrics.regret import normalized_regret, policy_regret
from rewardshaping.metrics.sampled import (
    FourierFeatures,
    OneHotFeatures,
    SampledDistance,
    bootstrap_distances,
    lstd_values,
    sampled_canonical,
    sampled_distance,
)
from rewardshaping.metrics.sources import (
    MujocoModel,
    RewardFunction,
    TabularModel,
    as_reward_fn,
    env_reward,
    rollout_transitions,
    space_transitions,
)

__all__ = [
    "CANONICALIZATIONS",
    "NORMS",
    "canonicalize",
    "epic_canonical",
    "dard_canonical",
    "val_canonical",
    "minimal_canonical",
    "val_advantage",
    "reward_norm",
    "transition_weights",
    "coverage_weights",
    "metric_bound",
    "standardize",
    "starc_distance",
    "epic_distance",
    "dard_distance",
    "distance_from_canonical",
    "normalized_regret",
    "policy_regret",
    "SampledDistance",
    "sampled_canonical",
    "sampled_distance",
    "bootstrap_distances",
    "lstd_values",
    "OneHotFeatures",
    "FourierFeatures",
    "RewardFunction",
    "as_reward_fn",
    "env_reward",
    "TabularModel",
    "MujocoModel",
    "rollout_transitions",
    "space_transitions",
]

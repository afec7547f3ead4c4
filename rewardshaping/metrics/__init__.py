"""Reward comparison: canonicalisations, norms, STARC / EPIC / DARD distances, regret.

Pure functions over arrays (tabular, exact) or over samples (continuous or large envs); no env
wrapping. Exact: :mod:`~rewardshaping.metrics.canonical`, :mod:`~rewardshaping.metrics.norms`,
:mod:`~rewardshaping.metrics.distance`, :mod:`~rewardshaping.metrics.regret`.
May import: numpy, gymnasium, ``rewardshaping`` core modules and ``rewardshaping.tabular``.
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
]

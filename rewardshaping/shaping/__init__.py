"""Potential-based reward shaping and its building blocks.

- :class:`PotentialShaping`: the term F = gamma * Phi(s', t+1) - Phi(s, t) (Ng, Harada & Russell
  1999; dynamic potentials, Devlin & Kudenko 2012), zero potential at terminal states.
- Potentials (:mod:`~rewardshaping.shaping.potentials`): from a user function, from a value
  function (tabular V or a critic), goal distance on MiniGrid layouts
  (:mod:`~rewardshaping.shaping.grid_distance`).
- :func:`check_shaping_gamma`: refuses a shaping gamma different from the agent's.
- :class:`AdditiveHeuristic`: arbitrary (non-potential) shaping, for contrast: it CAN change
  optimal policies.

May import: the core (``terms``, ``transitions``), numpy, numba, torch.
"""

from rewardshaping.shaping.gamma import check_shaping_gamma
from rewardshaping.shaping.grid_distance import GoalDistancePotential, minigrid_goal_distance
from rewardshaping.shaping.heuristics import AdditiveHeuristic
from rewardshaping.shaping.pbrs import PotentialShaping
from rewardshaping.shaping.potentials import (
    FunctionPotential,
    InfoPotential,
    Potential,
    TabularValuePotential,
    ValueFunctionPotential,
)

__all__ = [
    "PotentialShaping",
    "Potential",
    "FunctionPotential",
    "InfoPotential",
    "TabularValuePotential",
    "ValueFunctionPotential",
    "GoalDistancePotential",
    "minigrid_goal_distance",
    "check_shaping_gamma",
    "AdditiveHeuristic",
]

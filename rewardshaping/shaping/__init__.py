"""Potential-based reward shaping and its building blocks.

- :class:`PotentialShaping`: the term F = gamma * Phi(s', t+1) - Phi(s, t) (Ng, Harada & Russell
  1999; dynamic potentials, Devlin & Kudenko 2012), zero potential at terminal states.
- Potentials (:mod:`~rewardshaping.shaping.potentials`): from a user function, from a value
  function (tabular V or a critic), goal distance on MiniGrid layouts
  (:mod:`~rewardshaping.shaping.grid_distance`).
- :func:`check_shaping_gamma`: refuses a shaping gamma different from the agent's.
- :class:`AdditiveHeuristic`: arbitrary (non-potential) shaping, for contrast: it CAN change
  optimal policies.
- Learned blending of heuristics (:mod:`~rewardshaping.shaping.blending`, Gupta et al. 2023):
  :class:`BlendWeights`, the one-step meta-gradient (:func:`alignment_scores`,
  :func:`blend_surrogate`) and the :class:`Withheld` composer; the agent that uses them is
  ``rewardshaping.agents.BlendedPPO``. Loaded on first use (they import torch).

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
    "BlendWeights",
    "Withheld",
    "alignment_scores",
    "blend_surrogate",
    "gradient_norm",
]

_BLENDING = {"BlendWeights", "Withheld", "alignment_scores", "blend_surrogate", "gradient_norm"}


def __getattr__(name: str):
    # The blending names import torch; load them on first use only.
    if name in _BLENDING:
        from rewardshaping.shaping import blending

        return getattr(blending, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Registry entries for shaping terms, so configs can name them (see ``rewardshaping.registry``).

- ``pbrs_goal_distance``: PBRS with the MiniGrid goal-distance potential; the env must give
  fully observable observations (the ``minigrid_fully_obs`` wrapper, optionally followed by
  ``minigrid_image``) so that the potential can read the layout.
"""

from __future__ import annotations

from rewardshaping.registry import register_term
from rewardshaping.shaping.grid_distance import GoalDistancePotential
from rewardshaping.shaping.pbrs import PotentialShaping


@register_term(
    "pbrs_goal_distance",
    value_arg="gamma",
    help="PBRS with the BFS goal distance (fully observable MiniGrid images)",
)
def pbrs_goal_distance(gamma: float = 0.99, scale: float = 0.1, doors_pass: bool = True):
    """PotentialShaping(GoalDistancePotential(scale, doors_pass), gamma).

    Example:
        >>> pbrs_goal_distance(gamma=0.9)
        PotentialShaping('goal_distance', gamma=0.9)
    """
    return PotentialShaping(GoalDistancePotential(scale=scale, doors_pass=doors_pass), gamma)

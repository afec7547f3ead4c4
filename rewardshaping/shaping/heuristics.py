"""Non-potential shaping: arbitrary additive heuristics, for contrast with PBRS.

An additive heuristic ``r + h(s, a, s')`` CAN change the optimal policy (the classic example: a
bonus for touching a "progress" state that the agent then loops on forever; Randlov & Alstrom
1998, discussed by Ng et al. 1999). Use :class:`~rewardshaping.shaping.PotentialShaping` when
optimal policies must be preserved; use this to study what goes wrong, or knowingly.
"""

from __future__ import annotations

from collections.abc import Callable

from rewardshaping.terms import FunctionTerm
from rewardshaping.transitions import Transitions

__all__ = ["AdditiveHeuristic"]


class AdditiveHeuristic(FunctionTerm):
    """A designer heuristic ``h(batch) -> (N,)`` added to the reward. WARNING: not
    policy-invariant; it can change which policies are optimal.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> h = AdditiveHeuristic(lambda b: (b.next_obs[:, 0] > 0).astype(float), name="right_side")
        >>> h.policy_invariant
        False
        >>> h(Transitions.from_arrays(np.zeros((2, 1)), [0, 0], np.array([[1.0], [-1.0]]), [0, 0])).tolist()
        [1.0, 0.0]
    """

    policy_invariant = False

    def __init__(self, fn: Callable[[Transitions], object], name: str | None = None):
        super().__init__(fn, name=name or "heuristic")

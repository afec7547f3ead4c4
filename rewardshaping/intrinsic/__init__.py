"""Intrinsic (exploration) rewards: reward terms with ``intrinsic = True``.

What it holds (so far, the count-based family):

* :mod:`~rewardshaping.intrinsic.keys`: what is counted: raw observation bytes
  (:class:`ObsKey`), a function of the observation (:class:`FunctionKey`), an info value
  (:class:`InfoKey`), a uniform-bin discretiser (:class:`UniformBins`), SimHash codes
  (:class:`SimHashKey`).
* :mod:`~rewardshaping.intrinsic.count`: :class:`CountBonus` (lifelong beta/sqrt(N) or beta/N),
  :class:`EpisodicCountBonus` (1/sqrt(N_ep) or first visit), :class:`GlobalEpisodicCountBonus`
  (their product, Henaff et al. 2023).
* :mod:`~rewardshaping.intrinsic.noveld`: :class:`NovelDCount` (Zhang et al. 2021, count novelty).
* :mod:`~rewardshaping.intrinsic.positions`: :class:`AgentPositionInfo`, a Gymnasium wrapper that
  reports MiniGrid's agent position in ``info`` so that positions can be counted, and
  :class:`MiniGridTaskStateInfo` (position, carrying, doors open).

Every bonus is computed at the state reached (``next_obs``), never counts or pays on inactive
entries (the dummy autoreset step), clears episodic state in ``reset(mask)`` and keeps its counts
in ``state_dict()``.

What it may import: the core (:mod:`rewardshaping.terms`, :mod:`rewardshaping.transitions`),
:mod:`rewardshaping.counting` (the Numba tables), NumPy, Gymnasium, and torch for learned bonuses.
Nothing in ``counting`` or the core imports this package.
"""

from rewardshaping.intrinsic.count import CountBonus, EpisodicCountBonus, GlobalEpisodicCountBonus
from rewardshaping.intrinsic.keys import (
    FunctionKey,
    InfoKey,
    KeyUnavailableError,
    ObsKey,
    SimHashKey,
    StateKey,
    UniformBins,
    as_state_key,
)
from rewardshaping.intrinsic.noveld import NovelDCount
from rewardshaping.intrinsic.positions import AgentPositionInfo, MiniGridTaskStateInfo

__all__ = [
    "CountBonus",
    "EpisodicCountBonus",
    "GlobalEpisodicCountBonus",
    "NovelDCount",
    "StateKey",
    "ObsKey",
    "FunctionKey",
    "InfoKey",
    "UniformBins",
    "SimHashKey",
    "KeyUnavailableError",
    "as_state_key",
    "AgentPositionInfo",
    "MiniGridTaskStateInfo",
]

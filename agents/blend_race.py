"""An outer loop for learned blends: successive halving on the primary return.

:class:`~rewardshaping.agents.blended_ppo.BlendedPPO` adjusts heuristic weights with a one-step
meta-gradient of the primary return. That gradient needs primary rewards in the rollouts, and a
misleading heuristic can stop the agent from collecting any before the evidence against it
arrives (``experiments/pbrs_blend.md``). The bi-level problem of Gupta et al. (2023) has an outer
objective, the primary return of the *trained* agent, which judges whole runs instead. This
module optimises that outer objective with the cheapest zero-order method that scales: train
several candidate blends side by side, score each by the primary return of its recent training
episodes at a few rungs, and keep the best fraction (successive halving, Jamieson & Talwalkar
2016; Li et al. 2018). The survivors continue where they were; nothing is retrained.

Cost: with ``n`` candidates, rungs at fractions ``r_1 < r_2 < ...`` of the budget ``T`` and a
``keep`` fraction, the race spends ``T * (n r_1 + n_2 (r_2 - r_1) + ... )`` env steps, where
``n_i`` candidates survive to rung ``i``; two candidates and one rung at 0.25 cost ``1.25 T``.
:attr:`RaceResult.env_steps` reports the total.

Example:
    >>> from rewardshaping.agents.ppo import PPO, PPOConfig
    >>> make = lambda lr: PPO(PPOConfig(num_envs=2, num_steps=16, total_timesteps=128,
    ...                                 learning_rate=lr, device="cpu", seed=0))
    >>> result = race([make(1e-3), make(1e-9)], rungs=(0.5,))
    >>> len(result.rounds), result.env_steps, result.agents[result.winner].global_step
    (1, 192, 128)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RaceRound", "RaceResult", "race", "recent_primary_return"]


def recent_primary_return(agent: Any) -> float:
    """Mean primary (env) return of the agent's recent training episodes (the episode tracker's
    window, 100 by default); 0 when none has ended yet, so a candidate that never finished an
    episode cannot win on a NaN."""
    value = agent.episodes.recent()["episode/return_mean"]
    return 0.0 if math.isnan(value) else float(value)


@dataclass
class RaceRound:
    """One rung: the global step reached, every live candidate's score, who goes on."""

    step: int
    scores: dict[int, float]
    survivors: list[int]


@dataclass
class RaceResult:
    """The race's outcome: ``agents[winner]`` has trained for the whole budget."""

    agents: list[Any]
    winner: int
    rounds: list[RaceRound] = field(default_factory=list)
    env_steps: int = 0  # spent by all candidates together


def race(
    agents: Sequence[Any],
    *,
    rungs: Sequence[float] = (0.25,),
    keep: float = 0.5,
    score: Callable[[Any], float] = recent_primary_return,
    tie_break: Sequence[float] | None = None,
    callback: Callable[[int, Any, dict[str, float]], bool | None] | None = None,
) -> RaceResult:
    """Successive halving over candidate agents (e.g. BlendedPPOs with different initial
    weights, plain PPO among them) that share one budget ``config.total_timesteps``.

    Args:
        agents: candidates with ``learn(max_iterations=...)``, ``iteration`` and
            ``config.num_iterations`` (our PPO and BlendedPPO); each trains on its own envs.
        rungs: increasing fractions of the budget at which candidates are scored and cut.
        keep: fraction of the candidates kept at each rung (at least one).
        score: the outer objective of a candidate now; default the recent primary return.
        tie_break: one number per candidate, lower wins among equal scores (e.g. the total
            initial heuristic weight, so that a tie keeps the candidate closest to unshaped).
            Default: the candidate's index.
        callback: passed to each ``learn`` call as ``callback(index, agent, stats)``.

    Raises:
        ValueError: no candidates, rungs not increasing in (0, 1), keep not in (0, 1], a
            tie_break of the wrong length, or candidates with different budgets.
    """
    agents = list(agents)
    if not agents:
        raise ValueError("race needs at least one candidate agent")
    rungs = [float(r) for r in rungs]
    if any(not 0.0 < r < 1.0 for r in rungs) or sorted(set(rungs)) != rungs:
        raise ValueError(f"rungs must be increasing fractions in (0, 1), got {rungs}")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    order = list(range(len(agents))) if tie_break is None else [float(t) for t in tie_break]
    if len(order) != len(agents):
        raise ValueError(f"tie_break has {len(order)} entries for {len(agents)} candidates")
    budgets = {a.config.num_iterations for a in agents}
    if len(budgets) != 1:
        raise ValueError(f"candidates must share one budget, got iterations {sorted(budgets)}")
    total = budgets.pop()

    def advance(i: int, until: int) -> None:
        cb = None if callback is None else (lambda a, stats, i=i: callback(i, a, stats))
        agents[i].learn(max_iterations=max(0, until - agents[i].iteration), callback=cb)

    result = RaceResult(agents=agents, winner=0)
    live = list(range(len(agents)))
    for fraction in rungs:
        until = max(1, round(fraction * total))
        for i in live:
            advance(i, until)
        scores = {i: score(agents[i]) for i in live}
        n_keep = max(1, math.ceil(keep * len(live)))
        ranked = sorted(live, key=lambda i: (-scores[i], order[i]))
        live = sorted(ranked[:n_keep])
        result.rounds.append(RaceRound(agents[live[0]].global_step, scores, list(live)))
    for i in live:
        advance(i, total)
    if len(live) > 1:
        scores = {i: score(agents[i]) for i in live}
        live = [min(live, key=lambda i: (-scores[i], order[i]))]
        result.rounds.append(RaceRound(agents[live[0]].global_step, scores, list(live)))
    result.winner = live[0]
    result.env_steps = sum(int(a.global_step) for a in agents)
    return result

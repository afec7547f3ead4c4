"""Reward shaping from the machine alone (Toro Icarte et al. 2022, "automated reward shaping").

Value iteration over the machine graph treats every edge as an action the agent may pick:
``V(u) = max_edges r(u, u') + gamma_rs * V(u')`` with ``V = 0`` at terminal states (named,
non-constant rewards count as 0, as in the reference). The potential is ``phi(u) = sign * V(u)``
and the shaped reward ``r + gamma * phi(u') - phi(u)`` with ``phi(u') = 0`` when the episode
terminates; it leaves optimal policies unchanged (Ng et al. 1999). The reference implementation
uses ``sign = -1``; ``sign = +1`` is Ng et al.'s "potential = value" heuristic. Which one helps
depends on the learner's value initialisation: ``experiments/rm_office.py`` measures both.
"""

from __future__ import annotations

import numpy as np

from rewardshaping.machines.machine import SINK, RewardMachine

__all__ = ["machine_values", "machine_potential"]


def machine_values(machine: RewardMachine, gamma: float, *, tol: float = 1e-10) -> np.ndarray:
    """Optimal values of the machine states when the agent may take any edge (U,).

    Staying put is an option when ``no_match="stay"``; falling into the sink is one when
    ``no_match="sink"``.

    Example:
        >>> from rewardshaping.envs.office import office_machine
        >>> rm = office_machine(1)
        >>> dict(zip(rm.states, machine_values(rm, 0.9).round(3).tolist()))
        {'start': 0.9, 'has_coffee': 1.0, 'delivered': 0.0, '__sink__': 0.0}
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    n = machine.num_states
    sources = np.array([machine.index[e.source] for e in machine.edges], dtype=np.int64)
    targets = machine.edge_targets
    rewards = machine.edge_rewards
    if machine.no_match == "stay":
        loops = np.flatnonzero(~machine.is_terminal)
        sources = np.concatenate([sources, loops])
        targets = np.concatenate([targets, loops])
        rewards = np.concatenate([rewards, np.zeros(len(loops))])
    elif SINK in machine.index:
        live = np.flatnonzero(~machine.is_terminal)
        sources = np.concatenate([sources, live])
        targets = np.concatenate([targets, np.full(len(live), machine.index[SINK])])
        rewards = np.concatenate([rewards, np.full(len(live), machine.sink_reward)])
    v = np.zeros(n)
    for _ in range(100_000):
        q = rewards + gamma * v[targets]
        new = np.full(n, -np.inf)
        np.maximum.at(new, sources, q)
        new = np.where(machine.is_terminal | ~np.isfinite(new), 0.0, new)
        if np.max(np.abs(new - v)) < tol:
            return new
        v = new
    raise RuntimeError(
        f"value iteration on machine {machine.name!r} did not converge; with gamma = 1 the "
        "machine needs no cycle of positive reward"
    )


def machine_potential(machine: RewardMachine, gamma: float, sign: float = -1.0) -> np.ndarray:
    """``sign * V(u)`` from :func:`machine_values` (``-V``: the reference's choice).

    Example:
        >>> from rewardshaping.envs.office import office_machine
        >>> machine_potential(office_machine(1), 0.9).round(2).tolist()
        [-0.9, -1.0, 0.0, 0.0]
    """
    return float(sign) * machine_values(machine, gamma) + 0.0  # no -0.0

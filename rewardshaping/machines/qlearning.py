"""Tabular Q-learning over the product of an env and a reward machine, with CRM and shaping.

One Q-table per machine state (QRM's layout, Toro Icarte et al. 2018): ``Q[u, s, a]``. Plain
product-MDP Q-learning updates the row of the machine state the agent is in; with
counterfactual experiences (CRM, Toro Icarte et al. 2022) every env transition updates every
non-terminal machine state u with ``(s, u) --a--> (s', delta_u(u, L))`` and reward
``delta_r(u, L)``, read from the product wrapper's ``info["crm_*"]`` entries. Optional
potential-based shaping over machine states (:mod:`rewardshaping.machines.shaping`) is applied
to every (counterfactual) experience.

This learner lives here until the toolkit's shared ``agents.tabular_q`` can consume the same
experiences: each CRM batch is a list of ordinary ((s, u), a, r, (s', u'), done) transitions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rewardshaping.machines.machine import RewardMachine

__all__ = ["MachineQLearning", "QLearningConfig", "env_termination"]


@dataclass
class QLearningConfig:
    """Hyperparameters (defaults: the reference's tabular Office settings)."""

    gamma: float = 0.9
    alpha: float = 1.0  # the Office world is deterministic
    epsilon: float = 0.1
    q_init: float = 0.0
    counterfactual: bool = True
    potential: np.ndarray | None = field(default=None, repr=False)


class MachineQLearning:
    """Epsilon-greedy tabular Q-learning on (env state index, machine state).

    Args:
        num_obs: number of env states (observations are mapped to ``0..num_obs-1`` by
            ``obs_index``).
        num_actions: number of actions.
        machine: the reward machine of the product env.
        config: hyperparameters; ``config.counterfactual`` switches CRM on,
            ``config.potential`` (one value per machine state) switches shaping on. The learner
            trains on what the product env pays (``info["crm_paid"]``: the machine's reward,
            plus the env's with ``reward_mode="add"``, plus the env's own shaping): give a
            potential to the env or to the learner, not to both.
        obs_index: maps an env observation to its index (default: ``int(obs)``).
        seed: seed of the exploration and tie-breaking generator.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.envs.office import OfficeWorld, office_machine
        >>> from rewardshaping.machines.product import RewardMachineEnv
        >>> env = RewardMachineEnv(OfficeWorld(), office_machine(1))
        >>> agent = MachineQLearning(12 * 9, 4, env.machine,
        ...     obs_index=lambda o: int(o[0]) + 12 * int(o[1]), seed=0)
        >>> obs, info = env.reset(seed=0)
        >>> a = agent.act(obs)
        >>> obs2, r, term, trunc, info = env.step(a)
        >>> agent.update(obs, a, obs2, info, term)   # updates Q for both live machine states
        2
    """

    def __init__(
        self,
        num_obs: int,
        num_actions: int,
        machine: RewardMachine,
        config: QLearningConfig | None = None,
        *,
        obs_index: Callable[[Any], int] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.config = config or QLearningConfig()
        self.machine = machine
        self.num_actions = int(num_actions)
        self.q = np.full((machine.num_states, num_obs, num_actions), self.config.q_init, float)
        self.q[machine.is_terminal] = 0.0
        self.obs_index = obs_index or (lambda o: int(o))
        self.rng = np.random.default_rng(seed)
        self.live = np.flatnonzero(~machine.is_terminal)
        pot = self.config.potential
        if pot is not None:
            pot = np.asarray(pot, dtype=float)
            if pot.shape != (machine.num_states,):
                raise ValueError(f"potential needs {machine.num_states} values, got {pot.shape}")
        self.potential = pot

    def _split(self, obs: Any) -> tuple[int, int]:
        return self.obs_index(obs["obs"]), int(obs["machine_state"])

    def act(self, obs: Any, greedy: bool = False) -> int:
        """Epsilon-greedy action (greedy=True: no exploration); ties broken at random."""
        if not greedy and self.rng.random() < self.config.epsilon:
            return int(self.rng.integers(self.num_actions))
        s, u = self._split(obs)
        row = self.q[u, s]
        best = np.flatnonzero(row == row.max())
        return int(best[0] if len(best) == 1 else self.rng.choice(best))

    def greedy_action(self, obs: Any) -> int:
        """The first maximising action (deterministic; for evaluation)."""
        s, u = self._split(obs)
        return int(np.argmax(self.q[u, s]))

    def update(
        self, obs: Any, action: int, next_obs: Any, info: dict[str, Any], terminated: bool
    ) -> int:
        """One Q-learning update (per machine state with CRM); returns how many rows changed.

        ``terminated`` is the product env's flag (the env's or the machine's termination); the
        env's own is read from ``info["env_terminated"]``. It cannot be inferred from
        ``terminated``: when the env ends on the step the machine does, every other machine
        state's counterfactual experience ends too. Infos without the key (older product envs)
        fall back to ``terminated and not is_terminal[u']``, which misses that case.
        """
        cfg = self.config
        s, u = self._split(obs)
        s2 = self.obs_index(next_obs["obs"])
        u_next = int(next_obs["machine_state"])
        env_terminated = env_termination(info, terminated, self.machine.is_terminal[u_next])
        # What the env pays from each machine state (crm_paid): with reward_mode="add" or a
        # potential on the env, the machine's reward alone (crm_reward) is another task. Infos
        # of older product envs lack it and give the machine's reward.
        paid = info.get("crm_paid")
        if cfg.counterfactual:
            us = self.live
            rewards = np.asarray(info["crm_reward"] if paid is None else paid, dtype=float)[us]
            nexts = np.asarray(info["crm_next_state"])[us]
            ends = np.asarray(info["crm_terminal"], dtype=bool)[us] | env_terminated
        else:
            us = np.array([u])
            real = info["machine_reward"] if paid is None else np.asarray(paid)[u]
            rewards = np.array([float(real)])
            nexts = np.array([u_next])
            ends = np.array([bool(terminated)])
        if self.potential is not None:
            phi_next = np.where(ends, 0.0, self.potential[nexts])
            rewards = rewards + cfg.gamma * phi_next - self.potential[us]
        bootstrap = np.where(ends, 0.0, self.q[nexts, s2].max(axis=1))
        target = rewards + cfg.gamma * bootstrap
        self.q[us, s, action] += cfg.alpha * (target - self.q[us, s, action])
        return len(us)


def env_termination(info: dict[str, Any], terminated: bool, machine_ended: bool) -> bool:
    """The env's own termination on a product env step: ``info["env_terminated"]``, else
    (infos of product envs that predate the key) the guess ``terminated and not machine_ended``.

    Example:
        >>> env_termination({"env_terminated": True}, True, True)
        True
        >>> env_termination({}, True, True)   # the guess cannot see the env ending here
        False
    """
    if "env_terminated" in info:
        return bool(info["env_terminated"])
    return bool(terminated) and not bool(machine_ended)

"""Tabular option learning over a hierarchy of reward machines (Furelos-Blanco et al. 2023).

Every machine M of the hierarchy has a policy over its own edges, ``Q_M[u, s, edge]``: taking a
formula edge runs the *leaf option* for that formula; taking a call edge runs the called
machine's policy, from its initial state. Because a machine's policy is shared by every call of
it, what is learned about "make paper" inside "book" serves "map" as well; the flat equivalent
(:meth:`RewardMachineHierarchy.flatten`, learned by the same class) has one policy over many more
states and learns each copy separately. That sharing is what the paper credits for the faster
convergence of handcrafted hierarchies.

* Leaf options (one per distinct formula, contexts conjoined) learn off-policy from every
  transition, like counterfactual experiences: ``Q_phi(s, a) <- 1`` when the labels satisfy
  phi (terminal for the option), 0 when the env terminates, else ``gamma * max Q_phi(s', .)``.
* Machine policies learn by SMDP Q-learning when the machine's state changes:
  ``Q_M(s0, u, k) <- gamma^(tau-1)`` if M accepts (its own reward: 1 when it reaches its goal),
  ``0`` if it rejects or the env terminates, else ``gamma^tau * max Q_M(s', u', .)``.
  An option abandoned because a different call was entered or the caller moved on is dropped
  without an update.

The product env supplies the flat machine state in ``obs["machine_state"]``; the learner maps it
back to the call stack (``hierarchy.flat_stacks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewardshaping.machines.formulas import TRUE, Formula, conjoin
from rewardshaping.machines.hierarchy import Frame, RewardMachineHierarchy
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.machines.qlearning import env_termination

__all__ = ["OptionLearner", "OptionConfig", "flat_hierarchy"]


@dataclass
class OptionConfig:
    """Hyperparameters of :class:`OptionLearner`."""

    gamma: float = 0.9
    alpha: float = 1.0
    epsilon: float = 0.1
    q_init: float = 1.0  # optimistic: the largest return is 1


@dataclass
class _Level:
    machine: str
    u: int
    edge: int
    s0: int
    t0: int
    learn: bool  # False for options we did not choose (a call entered by the env)


def flat_hierarchy(hierarchy: RewardMachineHierarchy) -> RewardMachineHierarchy:
    """The flat equivalent as a one-machine hierarchy (to learn it with :class:`OptionLearner`).

    Example:
        >>> from rewardshaping.envs.craft import craft_task
        >>> flat = flat_hierarchy(craft_task("book"))
        >>> list(flat.machines), flat.levels
        (['flat'], {'flat': 1})
    """
    flat = hierarchy.flatten()
    return RewardMachineHierarchy(
        {"flat": flat}, "flat", name=f"{hierarchy.name} (flat)", on_ambiguous=hierarchy.on_ambiguous
    )


class OptionLearner:
    """Learn a hierarchy's policies (machine policies over edges, leaf options over actions).

    Args:
        hierarchy: the task; use :func:`flat_hierarchy` for the flat baseline.
        num_obs, num_actions: sizes of the tabular env.
        config: hyperparameters.
        obs_index: env observation -> index in ``0..num_obs-1``.
        seed: exploration seed.

    Example:
        >>> from rewardshaping.envs.craft import CraftWorld, craft_task
        >>> from rewardshaping.machines.product import RewardMachineEnv
        >>> h = craft_task("paper")
        >>> env = RewardMachineEnv(CraftWorld(), h)
        >>> agent = OptionLearner(h, 81, 4, obs_index=lambda o: int(o[0]) + 9 * int(o[1]), seed=0)
        >>> obs, info = env.reset(seed=0)
        >>> agent.begin_episode(obs)
        >>> a = agent.act(obs)
        >>> obs2, r, term, trunc, info = env.step(a)
        >>> agent.observe(obs, a, obs2, info, term, trunc)
        >>> agent.describe_plan()
        ['paper:start --cane-->']
    """

    def __init__(
        self,
        hierarchy: RewardMachineHierarchy,
        num_obs: int,
        num_actions: int,
        config: OptionConfig | None = None,
        *,
        obs_index: Callable[[Any], int] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.h = hierarchy
        self.flat: RewardMachine = hierarchy.flatten()
        self.stacks = hierarchy.flat_stacks
        self.config = config or OptionConfig()
        self.num_obs, self.num_actions = int(num_obs), int(num_actions)
        self.obs_index = obs_index or (lambda o: int(o))
        self.rng = np.random.default_rng(seed)
        q0 = self.config.q_init
        self.meta = {
            name: np.full((m.num_states, num_obs, max(len(m.edges), 1)), q0)
            for name, m in hierarchy.machines.items()
        }
        self.choices: dict[tuple[str, int], list[int]] = {}
        for name, m in hierarchy.machines.items():
            for u in range(m.num_states):
                self.choices[(name, u)] = [
                    k
                    for k in m.out_edges[u]
                    if m.edges[k].call is not None or m.edges[k].target != m.edges[k].source
                ]
        self.leaf_formulas: list[Formula] = []
        self.leaf_index: dict[Formula, int] = {}
        self.leaf_q = np.zeros((0, num_obs, num_actions))
        self._collect_leaves()
        self._sat: dict[int, np.ndarray] = {}  # valuation mask -> which leaf formulas hold
        self.plan: list[_Level] = []
        self.leaf = -1
        self.t = 0
        self._depth = 0  # depth of the top frame of the call stack at the last act()

    # ------------------------------------------------------------------ structure

    def _leaf(self, formula: Formula) -> int:
        k = self.leaf_index.get(formula)
        if k is None:
            k = len(self.leaf_formulas)
            self.leaf_formulas.append(formula)
            self.leaf_index[formula] = k
            fresh = np.full((1, self.num_obs, self.num_actions), self.config.q_init)
            self.leaf_q = np.concatenate([self.leaf_q, fresh])
        return k

    def _collect_leaves(self) -> None:
        """Every formula a plan can end on (contexts of calls conjoined)."""

        def walk(name: str, u: int, ctx: Formula, seen: set) -> None:
            if (name, u, ctx) in seen:
                return
            seen.add((name, u, ctx))
            m = self.h.machines[name]
            for k in self.choices[(name, u)]:
                e = m.edges[k]
                guard = conjoin(ctx, e.formula)
                if e.call is None:
                    self._leaf(guard)
                else:
                    walk(e.call, self.h.machines[e.call].initial_index, guard, seen)

        seen: set = set()
        for name, m in self.h.machines.items():
            for u in range(m.num_states):
                walk(name, u, TRUE, seen)

    # ------------------------------------------------------------------ acting

    def begin_episode(self, obs: Any) -> None:
        """Forget the plan (call at every reset)."""
        self.plan, self.leaf, self.t = [], -1, 0

    def _stack(self, obs: Any) -> tuple[Frame, ...]:
        return self.stacks[int(obs["machine_state"])]

    def _choose(self, name: str, u: int, s: int, greedy: bool) -> int:
        options = self.choices[(name, u)]
        if not options:
            raise RuntimeError(f"machine {name!r} has no way out of state {u}")
        if not greedy and self.rng.random() < self.config.epsilon:
            return int(options[self.rng.integers(len(options))])
        values = self.meta[name][u, s, options]
        best = np.flatnonzero(values == values.max())
        pick = best[0] if greedy or len(best) == 1 else self.rng.choice(best)
        return int(options[pick])

    def _extend_plan(self, s: int, stack: tuple[Frame, ...], greedy: bool) -> None:
        """Complete the plan from the call stack down to a leaf option."""
        # Frames under the top are calls in progress: their edges are forced.
        for depth in range(len(self.plan), len(stack) - 1):
            name, u, _ = stack[depth]
            self.plan.append(_Level(name, u, stack[depth + 1][2], s, self.t, False))
        if len(self.plan) < len(stack):
            name, u, _ = stack[-1]
        else:  # the plan already goes below the stack: continue from its last call
            last = self.plan[-1]
            callee = self.h.machines[last.machine].edges[last.edge].call
            if callee is None:
                self.leaf = self._leaf_of_plan()
                return
            name, u = callee, self.h.machines[callee].initial_index
        while True:
            k = self._choose(name, u, s, greedy)
            self.plan.append(_Level(name, u, k, s, self.t, True))
            e = self.h.machines[name].edges[k]
            if e.call is None:
                break
            name, u = e.call, self.h.machines[e.call].initial_index
        self.leaf = self._leaf_of_plan()

    def _leaf_of_plan(self) -> int:
        # The context of every call still being entered (planned below the stack) applies.
        ctx: Formula = TRUE
        for lev in self.plan[self._depth :]:
            ctx = conjoin(ctx, self.h.machines[lev.machine].edges[lev.edge].formula)
        return self.leaf_index[ctx] if ctx in self.leaf_index else self._leaf(ctx)

    def act(self, obs: Any, greedy: bool = False) -> int:
        """Action of the current leaf option (planning first if needed); epsilon-greedy."""
        s = self.obs_index(obs["obs"])
        stack = self._stack(obs)
        self._depth = len(stack) - 1
        if self.leaf < 0:
            self._extend_plan(s, stack, greedy)
        if not greedy and self.rng.random() < self.config.epsilon:
            return int(self.rng.integers(self.num_actions))
        row = self.leaf_q[self.leaf, s]
        best = np.flatnonzero(row == row.max())
        return int(best[0] if greedy or len(best) == 1 else self.rng.choice(best))

    def describe_plan(self) -> list[str]:
        """The current plan, root first (for debugging and examples)."""
        out = []
        for lev in self.plan:
            m = self.h.machines[lev.machine]
            e = m.edges[lev.edge]
            what = f"call {e.call}" if e.call else str(e.formula)
            out.append(f"{lev.machine}:{m.states[lev.u]} --{what}-->")
        return out

    # ------------------------------------------------------------------ learning

    def observe(
        self,
        obs: Any,
        action: int,
        next_obs: Any,
        info: dict[str, Any],
        terminated: bool,
        truncated: bool,
        learn: bool = True,
    ) -> None:
        """Learn from one transition of the product env and update the plan."""
        cfg = self.config
        s, s2 = self.obs_index(obs["obs"]), self.obs_index(next_obs["obs"])
        old_stack, u2 = self._stack(obs), int(next_obs["machine_state"])
        new_stack = self.stacks[u2]
        true = {p for p, on in zip(self.flat.propositions, info["labels"], strict=True) if on}
        # The env's own termination, not the product's: the env may end on the step the machine
        # does, and then no option (leaf or machine) has a future to bootstrap from.
        env_terminated = env_termination(info, terminated, self.flat.is_terminal[u2])
        self.t += 1
        if learn:
            mask = self.flat._mask_of_set(true)
            sat = self._sat.get(mask)
            if sat is None or len(sat) != len(self.leaf_formulas):
                sat = self._sat[mask] = np.array(
                    [f.holds_mask(mask, self.flat.prop_index) for f in self.leaf_formulas], bool
                )
            boot = np.where(sat | env_terminated, 0.0, self.leaf_q[:, s2].max(axis=1))
            target = np.where(sat, 1.0, cfg.gamma * boot)
            self.leaf_q[:, s, action] += cfg.alpha * (target - self.leaf_q[:, s, action])

        # The env ended before the hierarchy did: no level has a future to bootstrap from, but a
        # called machine that accepted on this very step still earns its success (as a leaf
        # option does above), so every level learns what its machine did on this last step.
        ended_early = env_terminated and not self.flat.is_terminal[u2]
        keep: list[_Level] = []
        prefix = True
        moved_to: list[int] = []  # each level's machine state after the step (-1: finished)
        for j, lev in enumerate(self.plan):
            actual = j < len(old_stack)
            sub = (
                ((lev.machine, lev.u, -1), *old_stack[j + 1 :])
                if actual
                else ((lev.machine, lev.u, -1),)
            )
            res = self.h.step(sub, true)
            new_u = -1 if res.terminal else res.stack[0][1]
            moved_to.append(new_u)
            in_new = (
                j < len(new_stack)
                and new_stack[j][0] == lev.machine
                and (j == 0 or new_stack[j][2] == self.plan[j - 1].edge)
            )
            if not actual and not in_new and j > 0:
                # A planned call counts only if the caller took it (entered, or done at once).
                parent = self.plan[j - 1]
                target = self.h.machines[parent.machine].edges[parent.edge].target
                done_at_once = moved_to[j - 1] == self.h.machines[parent.machine].index[target]
                in_new = done_at_once and res.terminal
            changed = res.terminal or new_u != lev.u
            if changed and learn and lev.learn and (actual or in_new):
                tau = self.t - lev.t0
                if res.terminal:
                    self._update(lev, cfg.gamma ** (tau - 1) if res.accepted else 0.0)
                elif ended_early:
                    self._update(lev, 0.0)
                else:
                    opts = self.choices[(lev.machine, new_u)]
                    best = self.meta[lev.machine][new_u, s2, opts].max() if opts else 0.0
                    self._update(lev, cfg.gamma**tau * best)
            elif ended_early and learn and lev.learn:
                self._update(lev, 0.0)  # still running (or never entered) when the env ended
            consistent = not changed and (actual or in_new or j >= len(new_stack))
            if j + 1 < len(new_stack) and new_stack[j + 1][2] != lev.edge:
                consistent = False  # a different call is in progress below this level
            prefix = prefix and consistent
            if prefix:
                keep.append(lev)
        if len(keep) < len(self.plan):
            self.leaf = -1
        self.plan = keep
        if truncated or terminated:
            self.plan, self.leaf = [], -1

    def _update(self, lev: _Level, target: float) -> None:
        q = self.meta[lev.machine]
        q[lev.u, lev.s0, lev.edge] += self.config.alpha * (target - q[lev.u, lev.s0, lev.edge])

"""Hierarchies of reward machines (Furelos-Blanco et al., ICML 2023).

An edge of a machine may *call* another machine, with a context formula. The call is entered at
the step when the context holds and the callee can make its first (non-looping) move on the
same events; from then on the callee steps alone until it reaches an accepting state, and the
caller then follows the call edge. A rejecting state anywhere rejects the whole task. The state of
a hierarchy is its call stack: a tuple of frames ``(machine, state, via)``, root first, where
``via`` is the caller's call edge. Only the root machine's edges pay rewards (in the paper the
reward is 1 when the root accepts); a machine's own rewards count when it is the root.

:meth:`RewardMachineHierarchy.flatten` expands every call inline into one equivalent
:class:`~rewardshaping.machines.machine.RewardMachine` whose states are the reachable call
stacks (the paper's "flat equivalent"); the product wrapper steps that machine, and the
options learner (:mod:`rewardshaping.machines.options`) reads the stacks back from it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rewardshaping.machines.errors import Location, SpecError
from rewardshaping.machines.formulas import TRUE, Formula, Not, Or, conjoin
from rewardshaping.machines.machine import SINK, Edge, RewardMachine
from rewardshaping.machines.valuations import Exclusivity

__all__ = ["RewardMachineHierarchy", "Frame", "HierarchyStep"]

#: A frame of the call stack: (machine name, state index, caller's call-edge index or -1).
Frame = tuple[str, int, int]


@dataclass(frozen=True)
class HierarchyStep:
    """Result of one hierarchy step."""

    stack: tuple[Frame, ...]
    reward: float
    terminal: bool
    accepted: bool


class RewardMachineHierarchy:
    """A root machine and the machines it calls (directly or not).

    Args:
        machines: name -> machine; call edges name other machines of the mapping.
        root: name of the root machine.
        on_ambiguous: ``"error"`` (default) or ``"first"``: the default of :meth:`flatten`, so
            that a hierarchy loaded with ``parse_machine(..., on_ambiguous="first")`` is also
            accepted where it is flattened (by the product wrappers and the options learner).

    Example:
        >>> from rewardshaping.machines import parse_machine
        >>> h = parse_machine('''
        ... root: book
        ... machines:
        ...   paper:
        ...     initial: u0
        ...     terminal: [done]
        ...     edges:
        ...       - {from: u0, to: u1, when: cane}
        ...       - {from: u1, to: done, when: workbench}
        ...   book:
        ...     initial: u0
        ...     terminal: [done]
        ...     edges:
        ...       - {from: u0, to: u1, call: paper}
        ...       - {from: u1, to: done, when: table, reward: 1}
        ... ''')
        >>> s = h.initial_stack
        >>> s = h.step(s, {"cane"}).stack; h.describe(s)
        'book:u0 > paper:u1'
        >>> s = h.step(s, {"workbench"}).stack; h.describe(s)
        'book:u1'
        >>> r = h.step(s, {"table"}); (r.reward, r.terminal, r.accepted)
        (1.0, True, True)
        >>> flat = h.flatten(); len(flat.states), flat.step(0, {"cane"})
        (4, (1, 0.0))
    """

    def __init__(
        self,
        machines: Mapping[str, RewardMachine],
        root: str,
        *,
        name: str | None = None,
        location: Location | None = None,
        exclusive: Exclusivity | None = None,
        on_ambiguous: Literal["error", "first"] = "error",
    ) -> None:
        self.machines = dict(machines)
        if root not in self.machines:
            raise ValueError(f"root {root!r} is not one of the machines {sorted(self.machines)}")
        if on_ambiguous not in ("error", "first"):
            raise ValueError(f"on_ambiguous must be 'error' or 'first', got {on_ambiguous!r}")
        self.on_ambiguous: Literal["error", "first"] = on_ambiguous
        self.root = root
        self.name = name or root
        self.location = location
        for key, m in self.machines.items():
            for e in m.edges:
                if e.call is not None and e.call not in self.machines:
                    raise SpecError(f"call to unknown machine {e.call!r}", e.location)
                if e.reward_fn:
                    raise SpecError(
                        "named reward functions are not supported inside hierarchies",
                        e.location,
                        expected="constant rewards",
                    )
            # The key, not ``m.name``: calls and ``root`` name machines by their key.
            if key != self.root and not m.accepting:
                raise SpecError(
                    f"machine {key!r} is called but has no accepting state",
                    m.location,
                    expected="a terminal state with accepting: true",
                )
        self.levels = self._levels()
        props: dict[str, None] = {}
        for m in self.machines.values():
            props.update(dict.fromkeys(m.propositions))
        self.propositions: tuple[str, ...] = tuple(sorted(props))
        self.exclusive = exclusive or self.machines[root].exclusive
        self.initial_stack: tuple[Frame, ...] = ((root, self.machines[root].initial_index, -1),)
        self._flat: RewardMachine | None = None
        self._step_cache: dict[tuple, HierarchyStep] = {}
        self.flat_stacks: list[tuple[Frame, ...]] = []

    def _levels(self) -> dict[str, int]:
        """Height of each machine (1 = calls no machine); refuses recursive calls."""
        levels: dict[str, int] = {}
        visiting: list[str] = []

        def height(n: str) -> int:
            if n in levels:
                return levels[n]
            if n in visiting:
                cycle = " -> ".join([*visiting[visiting.index(n) :], n])
                raise SpecError(
                    f"recursive calls are not allowed: {cycle}", self.machines[n].location
                )
            visiting.append(n)
            h = 1 + max((height(c) for c in self.machines[n].calls), default=0)
            visiting.pop()
            levels[n] = h
            return h

        height(self.root)
        return levels

    # ---------------------------------------------------------------- stepping

    def _first_move(
        self, name: str, u: int, true: frozenset[str], context: Formula, entering: bool
    ) -> list[tuple[str, int]] | None:
        """The chain of edges ``[(machine, edge), ...]`` taken from state ``u`` of ``name``:
        call edges down to one formula edge; None when nothing fires."""
        m = self.machines[name]
        for k in m.out_edges[u]:
            e = m.edges[k]
            if entering and e.call is None and e.target == e.source:
                continue  # a self-loop cannot enter a call
            guard = conjoin(context, e.formula)
            if not guard.holds(true):
                continue
            if e.call is None:
                return [(name, k)]
            callee = self.machines[e.call]
            sub = self._first_move(e.call, callee.initial_index, true, guard, True)
            if sub is not None:
                return [(name, k), *sub]
        return None

    def _apply(
        self, stack: tuple[Frame, ...], chain: list[tuple[str, int]]
    ) -> tuple[tuple[Frame, ...], float, bool, bool]:
        frames = list(stack)
        reward = 0.0
        for (_, k), (callee, _) in zip(chain, chain[1:], strict=False):
            frames.append((callee, self.machines[callee].initial_index, k))
        name, k = chain[-1]
        m = self.machines[name]
        top = frames[-1]
        frames[-1] = (top[0], m.index[m.edges[k].target], top[2])
        if len(frames) == 1:  # only the root's edges pay
            reward += m.edges[k].reward
        return self._resolve(frames, reward)

    def _resolve(
        self, frames: list[Frame], reward: float
    ) -> tuple[tuple[Frame, ...], float, bool, bool]:
        while True:
            name, u, via = frames[-1]
            m = self.machines[name]
            if not m.is_terminal[u]:
                return tuple(frames), reward, False, False
            if not m.is_accepting[u]:
                return tuple(frames), reward, True, False
            if len(frames) == 1:
                return tuple(frames), reward, True, True
            frames.pop()
            cname, cu, cvia = frames[-1]
            caller = self.machines[cname]
            edge = caller.edges[via]
            frames[-1] = (cname, caller.index[edge.target], cvia)
            if len(frames) == 1:
                reward += edge.reward

    def step(self, stack: tuple[Frame, ...], true_props: Any) -> HierarchyStep:
        """One step from call stack ``stack`` when the events ``true_props`` (a set) hold."""
        true = frozenset(true_props)
        key = (stack, true)
        hit = self._step_cache.get(key)
        if hit is None:
            hit = self._step_cache[key] = self._step(stack, true)
        return hit

    def _step(self, stack: tuple[Frame, ...], true: frozenset[str]) -> HierarchyStep:
        name, u, via = stack[-1]
        m = self.machines[name]
        if m.is_terminal[u]:
            return HierarchyStep(stack, 0.0, True, bool(m.is_accepting[u]))
        chain = self._first_move(name, u, true, TRUE, False)
        if chain is None:
            if m.no_match == "sink":
                frames = list(stack)
                frames[-1] = (name, m.index[SINK], via)
                return HierarchyStep(tuple(frames), m.sink_reward, True, False)
            return HierarchyStep(stack, 0.0, False, False)
        new, reward, terminal, accepted = self._apply(stack, chain)
        return HierarchyStep(new, reward, terminal, accepted)

    def describe(self, stack: tuple[Frame, ...]) -> str:
        """A readable name of a call stack, e.g. ``'book:u0 > paper:u1'``."""
        return " > ".join(f"{n}:{self.machines[n].states[u]}" for n, u, _ in stack)

    def _state_name(self, stack: tuple[Frame, ...]) -> str:
        parts = []
        for i, (n, u, _) in enumerate(stack):
            text = f"{n}:{self.machines[n].states[u]}"
            if i + 1 < len(stack):  # the return target tells frames called by different edges apart
                via = stack[i + 1][2]
                text += f"->{self.machines[n].edges[via].target}"
            parts.append(text)
        return "/".join(parts)

    # ---------------------------------------------------------------- flattening

    def _entries(
        self, name: str, u: int, context: Formula, entering: bool
    ) -> list[tuple[Formula, list[tuple[str, int]]]]:
        """Every (guard, chain) out of state ``u``, in the order :meth:`_first_move` tries them."""
        m = self.machines[name]
        out = []
        for k in m.out_edges[u]:
            e = m.edges[k]
            if entering and e.call is None and e.target == e.source:
                continue
            guard = conjoin(context, e.formula)
            if e.call is None:
                out.append((guard, [(name, k)]))
            else:
                callee = self.machines[e.call]
                for g, chain in self._entries(e.call, callee.initial_index, guard, True):
                    out.append((g, [(name, k), *chain]))
        return out

    def flatten(self, *, on_ambiguous: Literal["error", "first"] | None = None) -> RewardMachine:
        """The equivalent flat machine over reachable call stacks (cached).

        Its edges are the hierarchy's paths of calls with conjoined contexts, in first-match
        order; its determinism check is the hierarchy's (``on_ambiguous="first"`` to accept
        ambiguity with first-match semantics; default: the hierarchy's own ``on_ambiguous``).
        """
        on_ambiguous = on_ambiguous or self.on_ambiguous
        # A cached machine built under "first" may hide an ambiguity that "error" must report.
        if self._flat is not None and (
            on_ambiguous == "first" or self._flat.on_ambiguous == "error"
        ):
            return self._flat
        stacks: dict[tuple[Frame, ...], str] = {}
        order: list[tuple[Frame, ...]] = []
        terminal: dict[str, bool] = {}
        edges: list[Edge] = []
        used: set[str] = set()

        def visit(stack: tuple[Frame, ...]) -> str:
            if stack not in stacks:
                label = self._state_name(stack)
                if label in used:  # two call edges with the same target: keep them apart
                    label += f"#{len(order)}"
                used.add(label)
                stacks[stack] = label
                order.append(stack)
            return stacks[stack]

        visit(self.initial_stack)
        todo = deque([self.initial_stack])
        done: set[tuple[Frame, ...]] = set()
        reject = None
        while todo:
            stack = todo.popleft()
            if stack in done:
                continue
            done.add(stack)
            src = stacks[stack]
            name, u, _ = stack[-1]
            m = self.machines[name]
            if m.is_terminal[u]:
                terminal[src] = bool(m.is_accepting[u]) and len(stack) == 1
                continue
            guards = []
            for guard, chain in self._entries(name, u, TRUE, False):
                new, reward, _, _ = self._apply(stack, chain)
                dst = visit(new)
                leaf_machine, leaf_edge = chain[-1]
                loc = self.machines[leaf_machine].edges[leaf_edge].location
                edges.append(Edge(src, dst, guard, reward, location=loc))
                guards.append(guard)
                if new not in done:
                    todo.append(new)
            if m.no_match == "sink":
                if reject is None:
                    reject = ((self.root, -1, -1),)
                    stacks[reject] = "__reject__"
                    order.append(reject)
                    terminal["__reject__"] = False
                # Taken when no other move fires. Guarded by the negation of all of them, not
                # by `true`: a `true` edge would overlap every earlier one and fail the
                # determinism check below, although first-match order never lets it compete.
                edges.append(Edge(src, "__reject__", _none_of(guards), m.sink_reward))
        flat = RewardMachine(
            [stacks[s] for s in order],
            stacks[self.initial_stack],
            edges,
            terminal,
            propositions=self.propositions,
            no_match="stay",
            exclusive=self.exclusive,
            on_ambiguous="first",
            name=f"{self.name} (flat)",
            location=self.location,
        )
        if flat.ambiguities and on_ambiguous == "error":
            a, b, example = flat.ambiguities[0]
            raise SpecError(
                f"hierarchy {self.name!r} is not deterministic: in {a.source!r} the moves "
                f"'{a.formula}' (-> {a.target}) and '{b.formula}' (-> {b.target}) both fire when "
                f"the true events are {sorted(example)}",
                b.location,
                expected="calls whose first events exclude each other (or an `exclusive` declaration)",
            )
        # Built with "first" so that the error above names the hierarchy's moves; record the
        # choice actually made (a union of flat machines follows it).
        flat.on_ambiguous = on_ambiguous
        self._flat = flat
        self.flat_stacks = order
        return flat

    def __eq__(self, other: object) -> bool:
        """Same root and the same machines (compared as :class:`RewardMachine`)."""
        return (
            isinstance(other, RewardMachineHierarchy)
            and self.root == other.root
            and self.machines == other.machines
        )

    def __hash__(self) -> int:
        return hash((self.root, tuple(sorted(self.machines.items()))))

    def __repr__(self) -> str:
        return (
            f"RewardMachineHierarchy({self.name!r}, root={self.root!r}, "
            f"machines={sorted(self.machines)}, height={self.levels[self.root]})"
        )


def _none_of(guards: list[Formula]) -> Formula:
    """A formula that holds exactly when none of ``guards`` does."""
    if not guards:
        return TRUE
    return Not(guards[0] if len(guards) == 1 else Or(tuple(guards)))

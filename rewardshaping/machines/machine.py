"""The reward machine: states, edges labelled by formulas, rewards per transition.

A reward machine (Toro Icarte et al. 2018, 2022) is a finite-state machine
``(U, u0, F, delta_u, delta_r)``. At each environment step a labelling function reports the set
of true events; the first edge out of the current state whose formula holds is taken, and its
reward is paid. Unlike the reference implementation, several edges may join the same two states
and every terminal state keeps its identity (its issue #50 / PR #51).

When no edge matches, the machine either stays where it is (``no_match="stay"``) or falls into
a terminal sink state ``__sink__`` paying ``sink_reward`` (``no_match="sink"``, the reference's
rule). Ambiguous machines (two edges out of one state whose formulas can hold together, with
different targets or rewards) are refused at load time unless ``on_ambiguous="first"``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rewardshaping.machines.errors import Location, SpecError
from rewardshaping.machines.formulas import And, Formula, Not
from rewardshaping.machines.valuations import Exclusivity, valuations

__all__ = ["Edge", "RewardMachine", "SINK"]

#: Name of the terminal state that ``no_match="sink"`` adds.
SINK = "__sink__"

NoMatch = Literal["stay", "sink"]


@dataclass(frozen=True)
class Edge:
    """One edge ``source -> target`` taken when ``formula`` holds.

    Args:
        source, target: state names.
        formula: when the edge is taken (for a call edge: the context formula).
        reward: constant reward paid when the edge is taken (ignored when ``reward_fn`` is set).
        reward_fn: name of an env-reward function (looked up in a registry, never imported).
        call: name of the machine this edge calls (hierarchies only).
        location: where the edge was written.
    """

    source: str
    target: str
    formula: Formula
    reward: float = 0.0
    reward_fn: str | None = None
    call: str | None = None
    location: Location | None = field(default=None, compare=False, repr=False)

    def reward_text(self) -> str:
        """The reward as written in specs: a number or ``fn()``."""
        return f"{self.reward_fn}()" if self.reward_fn else f"{self.reward:g}"

    def where(self) -> str:
        """``file:line`` of the edge, or ``edge source->target``."""
        if self.location is None:
            return f"edge {self.source}->{self.target}"
        return f"{self.location.file}:{self.location.line}"


class RewardMachine:
    """A reward machine over named propositions.

    Args:
        states: state names (the order fixes the state indices used everywhere).
        initial: the initial state.
        edges: edges in priority order (the first matching edge out of a state wins).
        terminal: terminal states; a mapping name -> accepting flag, or a collection (all
            accepting).
        propositions: proposition names (default: those the formulas mention, sorted).
        no_match: ``"stay"`` or ``"sink"``, what happens when no edge matches.
        sink_reward: reward paid when falling into the sink.
        exclusive: events that never hold together (for the determinism check).
        on_ambiguous: ``"error"`` (default) or ``"first"`` (first matching edge wins; the
            ambiguities are kept in :attr:`ambiguities`). Kept as :attr:`on_ambiguous`, so that
            machines built from this one (a :func:`~rewardshaping.machines.multitask.union_machine`)
            accept the same ambiguities.
        name: a name for messages and exports.

    Example:
        >>> from rewardshaping.machines import parse_machine
        >>> rm = parse_machine('''
        ... initial: start
        ... terminal: [done]
        ... edges:
        ...   - {from: start, to: has_coffee, when: coffee}
        ...   - {from: has_coffee, to: done, when: office, reward: 1}
        ... ''')
        >>> rm.states, rm.num_states
        (('start', 'has_coffee', 'done'), 3)
        >>> u = rm.initial_index
        >>> u, r = rm.step(u, {"coffee"}); rm.states[u], r
        ('has_coffee', 0.0)
        >>> u, r = rm.step(u, {"office"}); rm.states[u], r, bool(rm.is_terminal[u])
        ('done', 1.0, True)
    """

    def __init__(
        self,
        states: Sequence[str],
        initial: str,
        edges: Sequence[Edge],
        terminal: Mapping[str, bool] | Collection[str] = (),
        *,
        propositions: Sequence[str] | None = None,
        no_match: NoMatch = "stay",
        sink_reward: float = 0.0,
        exclusive: Exclusivity | None = None,
        on_ambiguous: Literal["error", "first"] = "error",
        name: str = "machine",
        location: Location | None = None,
    ) -> None:
        if no_match not in ("stay", "sink"):
            raise ValueError(f"no_match must be 'stay' or 'sink', got {no_match!r}")
        if on_ambiguous not in ("error", "first"):
            raise ValueError(f"on_ambiguous must be 'error' or 'first', got {on_ambiguous!r}")
        self.name = name
        self.on_ambiguous: Literal["error", "first"] = on_ambiguous
        self.no_match: NoMatch = no_match
        self.sink_reward = float(sink_reward)
        self.exclusive = exclusive or Exclusivity()
        self.location = location
        if not isinstance(terminal, Mapping):
            terminal = {t: True for t in terminal}
        states = list(dict.fromkeys(states))
        if no_match == "sink" and SINK not in states:
            states.append(SINK)
            terminal = {**terminal, SINK: False}
        self.states: tuple[str, ...] = tuple(states)
        self.index: dict[str, int] = {s: i for i, s in enumerate(self.states)}
        self.initial = initial
        self.terminal: frozenset[str] = frozenset(terminal)
        self.accepting: frozenset[str] = frozenset(t for t, acc in terminal.items() if acc)
        self.edges: tuple[Edge, ...] = tuple(edges)
        mentioned = sorted(frozenset().union(*(e.formula.propositions for e in self.edges)))
        if propositions is None:
            propositions = mentioned
        propositions = list(propositions)
        repeated = sorted({p for p in propositions if propositions.count(p) > 1})
        if repeated:
            # A repeated name would get two label columns, and a set {"a"} would set only one
            # of them: the same event would step the machine differently as a set or a row.
            raise SpecError(
                f"proposition(s) {repeated} declared more than once in machine {name!r}",
                location,
                expected="each proposition named once",
            )
        unknown = [p for p in mentioned if p not in set(propositions)]
        if unknown:
            bad = next(e for e in self.edges if set(unknown) & e.formula.propositions)
            raise SpecError(
                f"unknown proposition(s) {unknown} in machine {name!r}",
                bad.location,
                expected=f"one of the declared propositions {list(propositions)}",
            )
        self.propositions: tuple[str, ...] = tuple(propositions)
        self.prop_index: dict[str, int] = {p: i for i, p in enumerate(self.propositions)}
        self._validate()
        self.out_edges: tuple[tuple[int, ...], ...] = tuple(
            tuple(k for k, e in enumerate(self.edges) if e.source == s) for s in self.states
        )
        self.ambiguities: list[tuple[Edge, Edge, frozenset[str]]] = self._find_ambiguities()
        if self.ambiguities and on_ambiguous == "error":
            a, b, example = self.ambiguities[0]
            raise SpecError(
                f"machine {name!r} is not deterministic: in state {a.source!r} the edges "
                f"'{a.formula}' (-> {a.target}, reward {a.reward_text()}) at {a.where()} and "
                f"'{b.formula}' (-> {b.target}, reward {b.reward_text()}) at {b.where()} both "
                f"hold when the true events are {sorted(example)}",
                b.location,
                expected="mutually exclusive formulas, an `exclusive` declaration of events that "
                "never co-occur, or on_ambiguous='first'",
            )
        self.is_terminal = np.array([s in self.terminal for s in self.states], dtype=bool)
        self.is_accepting = np.array([s in self.accepting for s in self.states], dtype=bool)
        self.edge_targets = np.array([self.index[e.target] for e in self.edges], dtype=np.int64)
        self.edge_rewards = np.array(
            [0.0 if e.reward_fn else e.reward for e in self.edges], dtype=np.float64
        )
        self.reward_functions: tuple[str, ...] = tuple(
            dict.fromkeys(e.reward_fn for e in self.edges if e.reward_fn)
        )
        self._fn_edges = {
            fn: np.array([k for k, e in enumerate(self.edges) if e.reward_fn == fn])
            for fn in self.reward_functions
        }
        self.calls: frozenset[str] = frozenset(e.call for e in self.edges if e.call)
        self._bits = 1 << np.arange(len(self.propositions), dtype=np.int64)
        self._cache: dict[tuple[int, int], int] = {}
        # With few propositions every (state, valuation) pair fits a small table.
        self._table = (
            np.full((len(self.states), 1 << len(self.propositions)), -2, dtype=np.int64)
            if len(self.propositions) <= 12
            and len(self.states) << len(self.propositions) <= 1 << 22
            else None
        )

    # ------------------------------------------------------------------ validation

    def _validate(self) -> None:
        where = self.location
        if self.initial not in self.index:
            raise SpecError(
                f"initial state {self.initial!r} of machine {self.name!r} is not a state",
                where,
                expected=f"one of {list(self.states)}",
            )
        for t in self.terminal:
            if t not in self.index:
                raise SpecError(
                    f"unknown terminal state {t!r} in machine {self.name!r}",
                    where,
                    expected=f"one of {list(self.states)}",
                )
        if self.initial in self.terminal:
            raise SpecError(f"the initial state {self.initial!r} is terminal", where)
        seen: dict[tuple, Edge] = {}
        for e in self.edges:
            for s in (e.source, e.target):
                if s not in self.index:
                    raise SpecError(
                        f"unknown state {s!r} in edge {e.source}->{e.target}",
                        e.location,
                        expected=f"one of the declared states {list(self.states)}",
                    )
            if e.source in self.terminal:
                raise SpecError(
                    f"edge out of terminal state {e.source!r}",
                    e.location,
                    expected="edges only out of non-terminal states",
                )
            if not np.isfinite(e.reward):
                raise SpecError(f"reward {e.reward} is not finite", e.location)
            key = (e.source, e.formula, e.target, e.reward, e.reward_fn, e.call)
            if key in seen:
                raise SpecError(
                    f"duplicate edge {e.source}->{e.target} on '{e.formula}' "
                    f"(first written at {seen[key].where()})",
                    e.location,
                    expected="each edge once",
                )
            seen[key] = e

    def _find_ambiguities(self) -> list[tuple[Edge, Edge, frozenset[str]]]:
        found = []
        for ks in self.out_edges:
            for i, ka in enumerate(ks):
                a = self.edges[ka]
                for kb in ks[i + 1 :]:
                    b = self.edges[kb]
                    if a.call or b.call:
                        continue  # calls are checked by the hierarchy (their callees' first events)
                    if (a.target, a.reward, a.reward_fn) == (b.target, b.reward, b.reward_fn):
                        continue  # overlapping edges that do the same thing are harmless
                    props = sorted(a.formula.propositions | b.formula.propositions)
                    try:
                        vals = valuations(props, self.exclusive)
                        example = next(
                            (v for v in vals if a.formula.holds(v) and b.formula.holds(v)), None
                        )
                    except ValueError as err:
                        raise SpecError(
                            f"cannot check determinism of {a.where()} vs {b.where()}: {err}",
                            b.location,
                        ) from None
                    if example is not None:
                        found.append((a, b, example))
        return found

    # ------------------------------------------------------------------ stepping

    @property
    def num_states(self) -> int:
        """Number of states (the sink included)."""
        return len(self.states)

    @property
    def initial_index(self) -> int:
        """Index of the initial state."""
        return self.index[self.initial]

    def labels_to_mask(self, labels: Any) -> np.ndarray:
        """Bit masks (bit ``i`` = ``propositions[i]`` true) from sets of names or bool arrays.

        Accepts a set of names (-> shape ()), a sequence of sets, a bool array (P,) / (N, P),
        or an integer array of masks (returned as is). A string, a sequence of strings and
        rows that are not sets of names (e.g. nested lists of bools) raise ``TypeError``: read
        as sets, they would silently hold no event the machine knows.

        Example:
            >>> from rewardshaping.machines import parse_machine
            >>> rm = parse_machine("initial: u\\nedges: [{from: u, to: u, when: a | b}]")
            >>> int(rm.labels_to_mask({"b"})), rm.labels_to_mask([set(), {"a", "b"}]).tolist()
            (2, [0, 3])
        """
        if isinstance(labels, (set, frozenset)):
            return np.int64(self._mask_of_set(labels))
        if isinstance(labels, np.ndarray) and np.issubdtype(labels.dtype, np.integer):
            return labels.astype(np.int64, copy=False)  # already bit masks
        if isinstance(labels, np.ndarray) and labels.dtype == bool:
            if labels.shape[-1] != len(self.propositions):
                raise ValueError(
                    f"labels have {labels.shape[-1]} columns, machine {self.name!r} has "
                    f"{len(self.propositions)} propositions {list(self.propositions)}"
                )
            return (labels.astype(np.int64) * self._bits).sum(axis=-1)
        if isinstance(labels, str):
            raise TypeError(
                f"labels are the string {labels!r}, whose characters would be read as events; "
                f"pass a set of event names, e.g. {{{labels!r}}}"
            )
        masks = []
        for row in labels:
            if isinstance(row, str):
                raise TypeError(
                    f"a row of labels is the string {row!r}, whose characters would be read as "
                    f"events; pass a set for one step (e.g. {{{row!r}}}), a sequence of sets for "
                    f"a batch"
                )
            if not isinstance(row, Iterable):
                raise _not_a_name(row)
            masks.append(self._mask_of_set(row))
        return np.array(masks, dtype=np.int64)

    def _mask_of_set(self, true_props: Iterable[str]) -> int:
        mask = 0
        for p in true_props:
            if not isinstance(p, str):
                raise _not_a_name(p)
            i = self.prop_index.get(p)
            if i is not None:  # events the machine does not mention cannot change it
                mask |= 1 << i
        return mask

    def _transition_one(self, u: int, mask: int) -> int:
        """Edge index taken from ``u`` (-1: no edge matches)."""
        key = (u, mask)
        edge = self._cache.get(key)
        if edge is None:
            edge = -1
            if not self.is_terminal[u]:
                for k in self.out_edges[u]:
                    if self.edges[k].formula.holds_mask(mask, self.prop_index):
                        edge = k
                        break
            self._cache[key] = edge
        return edge

    def transition(self, u: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
        """Next states and the edges taken (-1 when none matched), batched.

        ``u`` is an int or int array; ``labels`` as in :meth:`labels_to_mask` with a matching
        batch shape. Terminal states stay where they are.

        Example:
            >>> from rewardshaping.machines import parse_machine
            >>> rm = parse_machine("initial: u\\nterminal: [v]\\nno_match: sink\\n"
            ...                    "edges: [{from: u, to: v, when: a}, {from: u, to: u, when: '!a & !b'}]")
            >>> nxt, edge = rm.transition(np.array([0, 0, 0]), [{"a"}, set(), {"b"}])
            >>> [rm.states[i] for i in nxt], edge.tolist()
            (['v', 'u', '__sink__'], [0, 1, -1])
        """
        if self.calls:
            raise TypeError(
                f"machine {self.name!r} calls {sorted(self.calls)}: step it through a "
                "RewardMachineHierarchy (or its flatten())"
            )
        masks = self.labels_to_mask(labels)
        u_arr = np.asarray(u, dtype=np.int64)
        if u_arr.shape == np.shape(masks):
            u_b, m_b = u_arr, np.asarray(masks)
        else:
            u_b, m_b = np.broadcast_arrays(u_arr, masks)
        flat_u, flat_m = u_b.reshape(-1), m_b.reshape(-1)
        if self._table is not None:
            # Dense lazily-filled table: one gather per batch once warm.
            edges = self._table[flat_u, flat_m]
            missing = np.flatnonzero(edges == -2)
            for i in missing:
                e = self._transition_one(int(flat_u[i]), int(flat_m[i]))
                self._table[flat_u[i], flat_m[i]] = e
                edges[i] = e
        elif flat_u.shape[0] <= 8:
            edges = np.empty(flat_u.shape[0], dtype=np.int64)
            for i in range(flat_u.shape[0]):
                edges[i] = self._transition_one(int(flat_u[i]), int(flat_m[i]))
        else:
            pairs = np.stack([flat_u, flat_m], axis=1)
            uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
            found = np.array([self._transition_one(int(a), int(b)) for a, b in uniq], np.int64)
            edges = found[inverse.reshape(-1)]
        nxt = np.where(edges >= 0, self.edge_targets[np.maximum(edges, 0)], flat_u)
        if self.no_match == "sink":
            fell = (edges < 0) & ~self.is_terminal[flat_u]
            nxt = np.where(fell, self.index[SINK], nxt)
        return nxt.reshape(u_b.shape), edges.reshape(u_b.shape)

    def rewards(
        self,
        u: Any,
        edges: np.ndarray,
        named: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Rewards of the transitions that took ``edges`` from states ``u``.

        ``named`` maps env-reward function names to their values for this batch, broadcastable
        to ``edges``' shape; it is needed only when a named edge was taken.

        Example:
            >>> from rewardshaping.machines import parse_machine
            >>> rm = parse_machine("initial: u\\nedges: [{from: u, to: u, when: a & !b, reward: 2},"
            ...                    " {from: u, to: u, when: b, reward: {function: ctrl}}]")
            >>> nxt, edges = rm.transition(np.zeros(3, int), [{"a"}, {"b"}, set()])
            >>> rm.rewards(0, edges, {"ctrl": np.array([0.0, -0.5, 0.0])}).tolist()
            [2.0, -0.5, 0.0]
        """
        edges = np.asarray(edges)
        out = self.edge_rewards[np.maximum(edges, 0)]
        no_edge = edges < 0
        if self.no_match == "sink":
            u_arr = np.broadcast_to(np.asarray(u), edges.shape)
            fell = no_edge & ~self.is_terminal[u_arr]
            out = np.where(fell, self.sink_reward, np.where(no_edge, 0.0, out))
        else:
            out = np.where(no_edge, 0.0, out)
        if self.reward_functions:
            for fn, fn_edges in self._fn_edges.items():
                taken = np.isin(edges, fn_edges)
                if taken.any():
                    if named is None or fn not in named:
                        raise KeyError(
                            f"machine {self.name!r} took an edge paying {fn}() but no values of "
                            f"{fn!r} were given; pass reward_functions={{'{fn}': ...}}"
                        )
                    out = np.where(taken, np.broadcast_to(named[fn], edges.shape), out)
        return out

    def step(
        self, u: Any, labels: Any, named: Mapping[str, np.ndarray] | None = None
    ) -> tuple[Any, Any]:
        """``(next_state, reward)`` for one transition or a batch (ints/floats for a single one).

        Example:
            >>> from rewardshaping.machines import parse_machine
            >>> rm = parse_machine("initial: u\\nterminal: [v]\\nedges: [{from: u, to: v, when: a, reward: 2}]")
            >>> rm.step(0, {"a"}), rm.step(0, set())
            ((1, 2.0), (0, 0.0))
        """
        nxt, edges = self.transition(u, labels)
        rew = self.rewards(np.asarray(u), edges, named)
        if np.ndim(nxt) == 0:
            return int(nxt), float(rew)
        return nxt, rew

    # ------------------------------------------------------------------ structure

    def reachable_states(self) -> list[str]:
        """States reachable from the initial state along edges (and the sink if any).

        Example:
            >>> from rewardshaping.machines import parse_machine
            >>> parse_machine("initial: u\\nstates: [u, v, w]\\nedges: [{from: u, to: v, when: a}]"
            ...               ).reachable_states()
            ['u', 'v']
        """
        seen = {self.initial}
        todo = deque([self.initial])
        while todo:
            s = todo.popleft()
            nexts = [self.edges[k].target for k in self.out_edges[self.index[s]]]
            if self.no_match == "sink" and s not in self.terminal:
                nexts.append(SINK)
            for t in nexts:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return [s for s in self.states if s in seen]

    def structure(self) -> tuple:
        """A canonical description, with states renamed by order of discovery from the initial
        state. Two machines written differently (legacy vs YAML, other state names) but with
        the same edges in the same order have equal structures.
        """
        order: dict[str, int] = {self.initial: 0}
        todo = deque([self.initial])
        while todo:
            s = todo.popleft()
            for k in self.out_edges[self.index[s]]:
                t = self.edges[k].target
                if t not in order:
                    order[t] = len(order)
                    todo.append(t)
        for s in self.states:
            if s not in order and s != SINK:
                order[s] = len(order)
        if SINK in self.index:
            order[SINK] = -1
        edges = tuple(
            (order[e.source], order[e.target], str(e.formula), e.reward, e.reward_fn, e.call)
            for e in sorted(self.edges, key=lambda e: (order[e.source], self.edges.index(e)))
        )
        terminal = tuple(sorted((order[t], t in self.accepting) for t in self.terminal))
        return (len(order), terminal, edges, self.no_match, self.sink_reward)

    def equivalent(self, other: RewardMachine) -> bool:
        """Whether both machines pay the same rewards and end at the same steps on every
        sequence of allowed valuations (a bisimulation over their product).

        Example:
            >>> from rewardshaping.machines import parse_machine
            >>> a = parse_machine("initial: u\\nterminal: [v]\\nedges: [{from: u, to: v, when: x & y, reward: 1}]")
            >>> b = parse_machine("initial: s\\nterminal: [t]\\nedges: [{from: s, to: t, when: y and x, reward: 1}]")
            >>> a.equivalent(b)
            True
        """
        props = sorted(set(self.propositions) | set(other.propositions))
        excl = self.exclusive if self.exclusive == other.exclusive else Exclusivity()
        vals = list(valuations(props, excl))
        start = (self.initial_index, other.initial_index)
        seen = {start}
        todo = deque([start])
        while todo:
            ua, ub = todo.popleft()
            for v in vals:
                na, ea = self.transition(ua, v)
                nb, eb = other.transition(ub, v)
                ra = self.rewards(np.asarray(ua), ea, _zero_named(self))
                rb = other.rewards(np.asarray(ub), eb, _zero_named(other))
                fa = self.edges[int(ea)].reward_fn if int(ea) >= 0 else None
                fb = other.edges[int(eb)].reward_fn if int(eb) >= 0 else None
                if float(ra) != float(rb) or fa != fb:
                    return False
                if bool(self.is_terminal[na]) != bool(other.is_terminal[nb]):
                    return False
                pair = (int(na), int(nb))
                if pair not in seen and not self.is_terminal[na]:
                    seen.add(pair)
                    todo.append(pair)
        return True

    def to_dict(self) -> dict[str, Any]:
        """The machine as plain data in the YAML/JSON spec format.

        Example:
            >>> from rewardshaping.envs.office import office_machine
            >>> office_machine(2).to_dict()["edges"][-1]
            {'from': 'has_mail', 'to': 'delivered', 'when': 'g & !n', 'reward': 1.0}
        """
        # A machine loaded with on_ambiguous="first" lets the first matching edge win; the spec
        # format has no such rule, so each later edge of an ambiguous pair is written with the
        # earlier one negated. The exported machine is then deterministic and steps the same.
        earlier: dict[int, list[Formula]] = {}
        for a, b, _ in self.ambiguities:
            earlier.setdefault(id(b), []).append(a.formula)
        edges = []
        for e in self.edges:
            item: dict[str, Any] = {"from": e.source, "to": e.target}
            if e.call:
                item["call"] = e.call
            formula = e.formula
            if id(e) in earlier:
                formula = And((formula, *(Not(f) for f in earlier[id(e)])))
            item["when"] = str(formula)
            if e.reward_fn:
                item["reward"] = {"function": e.reward_fn}
            elif e.reward != 0.0:
                item["reward"] = e.reward
            edges.append(item)
        states = [s for s in self.states if s != SINK]
        out: dict[str, Any] = {
            "name": self.name,
            "propositions": list(self.propositions),
            "initial": self.initial,
            "states": states,
            "terminal": {
                t: {"accepting": t in self.accepting} for t in states if t in self.terminal
            },
            "no_match": self.no_match,
        }
        if self.no_match == "sink" and self.sink_reward != 0.0:
            out["sink_reward"] = self.sink_reward
        if self.exclusive.everything or self.exclusive.groups:
            out["exclusive"] = self.exclusive.to_spec()
        out["edges"] = edges
        return out

    def _key(self) -> tuple:
        return (
            self.states,
            self.initial,
            tuple(sorted(self.terminal)),
            tuple(sorted(self.accepting)),
            self.edges,
            self.propositions,
            self.no_match,
            self.sink_reward,
            self.exclusive,
        )

    def __eq__(self, other: object) -> bool:
        """Same states, edges (in order), propositions and rules; names and files may differ."""
        return isinstance(other, RewardMachine) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"RewardMachine({self.name!r}, states={len(self.states)}, edges={len(self.edges)}, "
            f"propositions={list(self.propositions)})"
        )


def _not_a_name(value: Any) -> TypeError:
    return TypeError(
        f"labels hold {value!r}, not an event name; pass sets of event names, or rows of bools "
        f"(one per proposition) as a bool array: np.asarray(rows, dtype=bool)"
    )


def _zero_named(rm: RewardMachine) -> dict[str, np.ndarray]:
    return {fn: np.zeros(()) for fn in rm.reward_functions}

"""The YAML/JSON reward-machine format: named propositions, named states, located errors.

One machine::

    name: office-t1
    propositions: {f: coffee, g: office, n: plant}   # a list, or name -> description
    exclusive: true            # at most one event at a time (or a list of groups)
    initial: start
    terminal: {done: {accepting: true}}              # or a list of names (all accepting);
                                                     # `done:` alone is accepting too
    no_match: sink             # or stay (default)
    edges:
      - {from: start, to: start, when: "!f & !n"}
      - {from: start, to: coffee, when: "f and not n"}
      - {from: coffee, to: done, when: g & !n, reward: 1}
      - {from: coffee, to: done, when: n, reward: {function: env_reward}}

A hierarchy (Furelos-Blanco et al. 2023) has ``root`` and ``machines`` (name -> machine); a call
edge names the called machine and its context formula: ``{from: u0, to: u1, call: paper,
when: "!lava"}``.

The text is read by PyYAML's safe composer (no tags, no objects): JSON files parse the same way
(:func:`~rewardshaping.machines.spec.parse_machine` with ``format="json"`` first turns tabs, which
YAML refuses as indentation, into spaces).
Every value keeps its line and column, so errors read ``file:line:column: ... (expected ...)``.
Unknown keys are errors, so typos never pass silently.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

import yaml

from rewardshaping.machines.errors import Location, SpecError
from rewardshaping.machines.formulas import TRUE, Formula, parse_formula
from rewardshaping.machines.machine import Edge, RewardMachine
from rewardshaping.machines.valuations import Exclusivity

__all__ = ["parse_yaml"]

_MACHINE_KEYS = {
    "name",
    "description",
    "propositions",
    "exclusive",
    "initial",
    "states",
    "terminal",
    "no_match",
    "sink_reward",
    "edges",
}
_HIERARCHY_KEYS = {"name", "description", "propositions", "exclusive", "root", "machines"}
_EDGE_KEYS = {"from", "to", "when", "reward", "call", "description"}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
}


class _V:
    """A YAML node with its location."""

    def __init__(self, node: yaml.Node, file: str, lines: list[str]) -> None:
        self.node, self.file, self.lines = node, file, lines

    @property
    def loc(self) -> Location:
        m = self.node.start_mark
        return Location(self.file, m.line + 1, m.column + 1)

    def line_text(self) -> str | None:
        i = self.node.start_mark.line
        return self.lines[i] if 0 <= i < len(self.lines) else None

    def error(self, message: str, expected: str | None = None) -> SpecError:
        return SpecError(message, self.loc, expected=expected, source_line=self.line_text())

    def child(self, node: yaml.Node) -> _V:
        return _V(node, self.file, self.lines)

    def mapping(
        self, what: str, allowed: set[str], required: tuple[str, ...] = ()
    ) -> dict[str, _V]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping", expected=f"keys among {sorted(allowed)}")
        out: dict[str, _V] = {}
        for knode, vnode in self.node.value:
            key = self.child(knode)
            if not isinstance(knode, yaml.ScalarNode):
                raise key.error(f"a key of {what} is not a name")
            name = str(knode.value)
            if name not in allowed:
                raise key.error(
                    f"unknown key {name!r} in {what}", expected=f"one of {sorted(allowed)}"
                )
            if name in out:
                raise key.error(
                    f"duplicate key {name!r} in {what} (first at line {out[name].loc.line})"
                )
            out[name] = self.child(vnode)
        for r in required:
            if r not in out:
                raise self.error(f"{what} has no {r!r}", expected=f"a {r!r} key")
        return out

    def items(self, what: str) -> list[tuple[_V, _V]]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping")
        seen: dict[str, _V] = {}
        out = []
        for knode, vnode in self.node.value:
            key = self.child(knode)
            name = key.name(f"a key of {what}")
            if name in seen:
                raise key.error(
                    f"duplicate {what} key {name!r} (first at line {seen[name].loc.line})"
                )
            seen[name] = key
            out.append((key, self.child(vnode)))
        return out

    def seq(self, what: str) -> list[_V]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"{what} must be a list")
        return [self.child(n) for n in self.node.value]

    def scalar(self) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            return None
        return yaml.constructor.SafeConstructor().construct_object(self.node)

    def name(self, what: str) -> str:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
            raise self.error(f"{what} must be a name", expected="a non-empty string or integer")
        value = str(value)
        if "\n" in value:
            raise self.error(f"{what} spans several lines", expected="a one-line name")
        return value

    def number(self, what: str) -> float:
        value = self.scalar()
        if isinstance(value, str) and self.node.style is None and _NUMBER.fullmatch(value):
            value = float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string; we do not
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(
                f"{what} must be a number, got {self.describe()}",
                expected="a number, or {function: name} for a named env-reward function",
            )
        if not math.isfinite(value):
            raise self.error(f"{what} {value} is not finite")
        return float(value)

    def formula(self, what: str, propositions: set[str] | None) -> Formula:
        value = self.scalar()
        if isinstance(value, bool) and self.node.value.lower() not in ("true", "false"):
            value = self.node.value  # YAML 1.1 reads on/off/yes/no as booleans; here: events
        if isinstance(value, bool):
            return TRUE if value else parse_formula("false")
        if not isinstance(value, str):
            raise self.error(f"{what} must be a formula string, got {self.describe()}")
        loc = self.loc
        if self.node.style in ("'", '"'):
            loc = loc.shifted(1)
        formula = parse_formula(value, location=loc, source_line=self.line_text())
        if propositions is not None:
            unknown = sorted(formula.propositions - propositions)
            if unknown:
                raise self.error(
                    f"unknown proposition(s) {unknown} in {what} '{value}'",
                    expected=f"one of the declared propositions {sorted(propositions)}",
                )
        return formula

    def describe(self) -> str:
        if isinstance(self.node, yaml.ScalarNode):
            return repr(self.node.value)
        return "a mapping" if isinstance(self.node, yaml.MappingNode) else "a list"


def _compose(text: str, file: str) -> _V:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else None
        raise SpecError(f"not valid YAML/JSON: {err.problem or err}", loc) from None
    except yaml.YAMLError as err:
        raise SpecError(f"not valid YAML/JSON: {err}", Location(file, 1, 1)) from None
    if node is None:
        raise SpecError("empty spec", Location(file, 1, 1), expected="a mapping with 'edges'")
    root = _V(node, file, text.splitlines())
    _refuse_tags(root)
    return root


def _refuse_tags(v: _V) -> None:
    """Only plain YAML types: a ``!!python/...`` (or any custom) tag is an error, not an object."""
    stack = [v.node]
    while stack:
        node = stack.pop()
        if node.tag not in _PLAIN_TAGS:
            raise v.child(node).error(
                f"YAML tag {node.tag!r} is not allowed in a spec",
                expected="plain YAML/JSON values (no tags)",
            )
        if isinstance(node, yaml.MappingNode):
            for k, val in node.value:
                stack.extend((k, val))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _propositions(v: _V | None) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v.node, yaml.MappingNode):
        return [k.name("a proposition") for k, _ in v.items("propositions")]
    return [p.name("a proposition") for p in v.seq("propositions")]


def _exclusive(v: _V | None, props: list[str] | None) -> Exclusivity | None:
    if v is None:
        return None
    value = v.scalar()
    if isinstance(value, bool):
        return Exclusivity.all() if value else Exclusivity()
    groups = [
        [p.name("a proposition") for p in g.seq("an exclusive group")] for g in v.seq("exclusive")
    ]
    if props is not None:
        for g, gv in zip(groups, v.seq("exclusive"), strict=True):
            unknown = sorted(set(g) - set(props))
            if unknown:
                raise gv.error(
                    f"unknown proposition(s) {unknown} in exclusive", expected=f"one of {props}"
                )
    return Exclusivity(groups)


def _machine(
    v: _V,
    name: str,
    props: list[str] | None,
    exclusive: Exclusivity | None,
    on_ambiguous: Literal["error", "first"],
    machine_names: set[str] | None,
    keys: set[str] = _MACHINE_KEYS,
) -> RewardMachine:
    m = v.mapping(f"machine {name!r}", keys, ("initial", "edges"))
    if "propositions" in m:
        props = _propositions(m["propositions"])
    if "exclusive" in m:
        exclusive = _exclusive(m["exclusive"], props)
    if "name" in m:
        name = m["name"].name("name")
    prop_set = set(props) if props is not None else None
    declared = None
    if "states" in m:
        declared = [s.name("a state") for s in m["states"].seq("states")]
    initial = m["initial"].name("initial")
    if declared is not None and initial not in declared:
        raise m["initial"].error(
            f"unknown state {initial!r}", expected=f"one of the declared states {declared}"
        )

    terminal: dict[str, bool] = {}
    if "terminal" in m:
        tv = m["terminal"]
        if isinstance(tv.node, yaml.MappingNode):
            for key, val in tv.items("terminal"):
                t = key.name("a terminal state")
                if isinstance(val.node, yaml.MappingNode):
                    opts = val.mapping(f"terminal state {t!r}", {"accepting"})
                elif isinstance(val.node, yaml.ScalarNode) and val.scalar() is None:
                    opts = {}  # `done:` alone: an accepting terminal state
                else:
                    # Not read as "accepting": `fail: false` must not make `fail` accepting.
                    raise val.error(
                        f"terminal state {t!r} must be a mapping, got {val.describe()}",
                        expected=f"'{t}: {{accepting: false}}', '{t}: {{accepting: true}}' or "
                        f"'{t}:' alone (accepting)",
                    )
                acc = True
                if "accepting" in opts:
                    acc = opts["accepting"].scalar()
                    if not isinstance(acc, bool):
                        raise opts["accepting"].error("accepting must be true or false")
                terminal[t] = acc
                if declared is not None and t not in declared:
                    raise key.error(
                        f"unknown state {t!r}", expected=f"one of the declared states {declared}"
                    )
        else:
            for tnode in tv.seq("terminal"):
                t = tnode.name("a terminal state")
                if declared is not None and t not in declared:
                    raise tnode.error(
                        f"unknown state {t!r}", expected=f"one of the declared states {declared}"
                    )
                terminal[t] = True

    edges: list[Edge] = []
    order: list[str] = [initial] if declared is None else list(declared)
    for ev in m["edges"].seq("edges"):
        e = ev.mapping("an edge", _EDGE_KEYS, ("from", "to"))
        src, dst = e["from"].name("from"), e["to"].name("to")
        for key, s in (("from", src), ("to", dst)):
            if declared is not None and s not in declared:
                raise e[key].error(
                    f"unknown state {s!r}", expected=f"one of the declared states {declared}"
                )
        call = None
        if "call" in e:
            if machine_names is None:
                raise e["call"].error(
                    "call edges need a hierarchy file", expected="top-level 'root' and 'machines'"
                )
            call = e["call"].name("call")
            if call not in machine_names:
                raise e["call"].error(
                    f"call to unknown machine {call!r}", expected=f"one of {sorted(machine_names)}"
                )
        if "when" in e:
            formula = e["when"].formula("the edge formula", prop_set)
        elif call is not None:
            formula = TRUE
        else:
            raise ev.error("an edge without 'when'", expected="a formula, e.g. when: a & !b")
        reward, fn = 0.0, None
        if "reward" in e:
            rv = e["reward"]
            if isinstance(rv.node, yaml.MappingNode):
                fn = rv.mapping("reward", {"function"}, ("function",))["function"].name("function")
            else:
                reward = rv.number("reward")
        edges.append(Edge(src, dst, formula, reward, fn, call, location=ev.loc))
        order.extend(s for s in (src, dst) if s not in order)
    for t in terminal:
        if t not in order:
            raise m["terminal"].error(
                f"unknown state {t!r}: no edge reaches it", expected="a state used by an edge"
            )
    no_match = "stay"
    if "no_match" in m:
        no_match = m["no_match"].name("no_match")
        if no_match not in ("stay", "sink"):
            raise m["no_match"].error(f"no_match is {no_match!r}", expected="'stay' or 'sink'")
    sink_reward = m["sink_reward"].number("sink_reward") if "sink_reward" in m else 0.0
    return RewardMachine(
        order,
        initial,
        edges,
        terminal,
        propositions=props,
        no_match=no_match,  # type: ignore[arg-type]
        sink_reward=sink_reward,
        exclusive=exclusive,
        on_ambiguous=on_ambiguous,
        name=name,
        location=v.loc,
    )


def parse_yaml(
    text: str,
    file: str | None = None,
    *,
    on_ambiguous: Literal["error", "first"] = "error",
    name: str | None = None,
) -> Any:
    """Parse a YAML or JSON spec: a :class:`RewardMachine`, or a
    :class:`~rewardshaping.machines.hierarchy.RewardMachineHierarchy` when the spec has
    ``root`` and ``machines``.

    Example:
        >>> rm = parse_yaml('''
        ... initial: start
        ... terminal: [done]
        ... edges:
        ...   - {from: start, to: done, when: "coffee & !plant", reward: 1}
        ... ''')
        >>> rm.propositions, rm.step(0, {"coffee"})
        (('coffee', 'plant'), (1, 1.0))
        >>> try:
        ...     parse_yaml("initial: a\\nedges:\\n  - {from: a, to: b, when: 'x & (y'}", "m.yaml")
        ... except SpecError as err:
        ...     print(err.file, err.line, err.column, err.message)
        m.yaml 3 33 unbalanced parentheses: this '(' is never closed
    """
    file = file or "<string>"
    root = _compose(text, file)
    if not isinstance(root.node, yaml.MappingNode):
        raise root.error("a spec must be a mapping", expected="keys such as 'initial' and 'edges'")
    keys = {str(k.value) for k, _ in root.node.value if isinstance(k, yaml.ScalarNode)}
    if "machines" in keys or "root" in keys:
        from rewardshaping.machines.hierarchy import RewardMachineHierarchy

        top = root.mapping("a hierarchy", _HIERARCHY_KEYS, ("root", "machines"))
        props = _propositions(top.get("propositions"))
        exclusive = _exclusive(top.get("exclusive"), props)
        entries = top["machines"].items("machines")
        names = {k.name("a machine name") for k, _ in entries}
        machines = {
            k.name("a machine name"): _machine(
                mv,
                k.name("a machine name"),
                props,
                exclusive,
                on_ambiguous,
                names,
                _MACHINE_KEYS - {"propositions", "exclusive"},
            )
            for k, mv in entries
        }
        root_name = top["root"].name("root")
        if root_name not in machines:
            raise top["root"].error(
                f"unknown root machine {root_name!r}", expected=f"one of {sorted(machines)}"
            )
        hname = top["name"].name("name") if "name" in top else (name or root_name)
        return RewardMachineHierarchy(
            machines, root_name, name=hname, location=root.loc, on_ambiguous=on_ambiguous
        )
    default = file if file != "<string>" else "machine"
    return _machine(root, name or default, None, None, on_ambiguous, None)

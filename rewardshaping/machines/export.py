"""Drawing reward machines: Graphviz DOT and Mermaid text.

Terminal states are double circles (DOT) or stadium shapes (Mermaid); rejecting ones are red.
Edge labels read ``formula / reward``; call edges read ``call name [context]``.
"""

from __future__ import annotations

from rewardshaping.machines.machine import Edge, RewardMachine

__all__ = ["to_dot", "to_mermaid"]

_MERMAID_ESCAPES = {"|": "#124;", ":": "#58;", ";": "#59;", "#": "#35;"}


def _label(e: Edge) -> str:
    if e.call:
        ctx = "" if str(e.formula) == "true" else f" [{e.formula}]"
        text = f"call {e.call}{ctx}"
    else:
        text = str(e.formula)
    if e.reward_fn or e.reward != 0.0:
        text += f" / {e.reward_text()}"
    return text


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(machine: RewardMachine) -> str:
    """Graphviz DOT source of the machine (render with ``dot -Tsvg``).

    Example:
        >>> from rewardshaping.machines import parse_machine
        >>> rm = parse_machine("initial: u\\nterminal: [v]\\nedges: [{from: u, to: v, when: a, reward: 1}]")
        >>> print(to_dot(rm))
        digraph "machine" {
          rankdir=LR;
          __start [shape=point];
          __start -> "u";
          "u" [shape=circle];
          "v" [shape=doublecircle];
          "u" -> "v" [label="a / 1"];
        }
    """
    lines = [f"digraph {_dot_quote(machine.name)} {{", "  rankdir=LR;", "  __start [shape=point];"]
    lines.append(f"  __start -> {_dot_quote(machine.initial)};")
    for s in machine.reachable_states() + [
        s for s in machine.states if s not in machine.reachable_states()
    ]:
        shape = "doublecircle" if s in machine.terminal else "circle"
        color = ", color=red" if s in machine.terminal and s not in machine.accepting else ""
        lines.append(f"  {_dot_quote(s)} [shape={shape}{color}];")
    for e in machine.edges:
        lines.append(
            f"  {_dot_quote(e.source)} -> {_dot_quote(e.target)} [label={_dot_quote(_label(e))}];"
        )
    lines.append("}")
    return "\n".join(lines)


def to_mermaid(machine: RewardMachine) -> str:
    """Mermaid ``stateDiagram-v2`` text (renders in GitHub markdown).

    Example:
        >>> from rewardshaping.machines import parse_machine
        >>> rm = parse_machine("initial: u\\nterminal: [v]\\nedges: [{from: u, to: v, when: a | b}]")
        >>> print(to_mermaid(rm))
        stateDiagram-v2
          s0: u
          s1: v
          [*] --> s0
          s0 --> s1: a #124; b
          s1 --> [*]
    """
    ids = {s: f"s{i}" for i, s in enumerate(machine.states)}
    lines = ["stateDiagram-v2"]
    lines += [f"  {ids[s]}: {s}" for s in machine.states]
    lines.append(f"  [*] --> {ids[machine.initial]}")
    for e in machine.edges:
        # Mermaid reserves some characters in labels; write them as entity codes.
        label = "".join(_MERMAID_ESCAPES.get(c, c) for c in _label(e))
        lines.append(f"  {ids[e.source]} --> {ids[e.target]}: {label}")
    for s in machine.states:
        if s in machine.terminal and s in machine.reachable_states():
            lines.append(f"  {ids[s]} --> [*]")
    return "\n".join(lines)

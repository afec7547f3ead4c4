"""Several tasks as one machine: the disjoint union of reward machines.

Toro Icarte et al. (2018, 2022) train one agent on several tasks of a world (the four Office
tasks), choosing a task per episode; counterfactual experiences then flow across tasks, since
every machine state of every task learns from each transition. The union machine holds every
task's states as ``"task:state"``; start an episode of task ``k`` with
``env.reset(options={"machine_state": union.index[f"{k}:{initial}"]})``
(:func:`task_initial_states`).

The tasks share one labelling function, so an ``exclusive`` declaration of one task (events of
the world that never co-occur) holds for every task; where the declarations differ, the union
keeps each as groups over that task's propositions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rewardshaping.machines.machine import SINK, Edge, RewardMachine
from rewardshaping.machines.valuations import Exclusivity

__all__ = ["UnionMachine", "union_machine", "task_initial_states"]


class UnionMachine(RewardMachine):
    """A :class:`RewardMachine` built by :func:`union_machine`; ``task_initials`` maps each task
    to its initial state in the union (task names may contain ``":"``, so state names alone
    cannot tell the tasks apart)."""

    def __init__(self, *args: Any, task_initials: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_initials: dict[str, str] = dict(task_initials)


def union_machine(machines: Mapping[str, RewardMachine], name: str = "union") -> UnionMachine:
    """The disjoint union of ``machines`` (task name -> machine), sharing one sink.

    All machines must use the same no-match rule (and sink reward). The union accepts ambiguous
    edges (first match wins) when any task machine was built with ``on_ambiguous="first"``.

    Example:
        >>> from rewardshaping.envs.office import office_machine
        >>> u = union_machine({f"t{k}": office_machine(k) for k in (1, 2)})
        >>> u.num_states, task_initial_states(u, ["t1", "t2"])
        (7, [0, 3])
    """
    rules = {(m.no_match, m.sink_reward) for m in machines.values()}
    if len(rules) != 1:
        raise ValueError(f"the machines disagree on the no-match rule: {sorted(rules)}")
    no_match, sink_reward = rules.pop()
    states: list[str] = []
    terminal: dict[str, bool] = {}
    edges: list[Edge] = []
    props: dict[str, None] = {}
    owner: dict[str, str] = {}
    for task, m in machines.items():
        if m.calls:
            raise TypeError(f"machine {task!r} has calls; flatten its hierarchy first")
        props.update(dict.fromkeys(m.propositions))
        for s in m.states:
            if s == SINK:
                continue
            full = f"{task}:{s}"
            if full in owner:  # e.g. task "a" with state "b:u" and task "a:b" with state "u"
                raise ValueError(f"tasks {owner[full]!r} and {task!r} both name a state {full!r}")
            owner[full] = task
            states.append(full)
            if s in m.terminal:
                terminal[full] = s in m.accepting
        for e in m.edges:
            edges.append(
                Edge(
                    f"{task}:{e.source}",
                    f"{task}:{e.target}",
                    e.formula,
                    e.reward,
                    e.reward_fn,
                    location=e.location,
                )
            )
    first = next(iter(machines.values()))
    initial = f"{next(iter(machines))}:{first.initial}"
    # A task loaded with on_ambiguous="first" brings its ambiguities into the union; refusing
    # them here would refuse a machine that its loader accepted.
    first_match = any(m.on_ambiguous == "first" for m in machines.values())
    on_ambiguous = "first" if first_match else "error"
    return UnionMachine(
        states,
        initial,
        edges,
        terminal,
        propositions=sorted(props),
        no_match=no_match,
        sink_reward=sink_reward,
        exclusive=_union_exclusive(machines),
        on_ambiguous=on_ambiguous,
        name=name,
        task_initials={task: f"{task}:{m.initial}" for task, m in machines.items()},
    )


def _union_exclusive(machines: Mapping[str, RewardMachine]) -> Exclusivity:
    """Every task's exclusivity, as groups over the task's own propositions where they differ
    (``Exclusivity.all()`` of one task says nothing about another task's other events)."""
    exclusives = {m.exclusive for m in machines.values()}
    if len(exclusives) == 1:
        return exclusives.pop()
    groups: dict[tuple[str, ...], None] = {}
    for m in machines.values():
        own = [m.propositions] if m.exclusive.everything else m.exclusive.groups
        groups.update(dict.fromkeys(tuple(g) for g in own))
    return Exclusivity(list(groups))


def task_initial_states(union: RewardMachine, tasks: list[str]) -> list[int]:
    """Index of each task's initial state in a :func:`union_machine`.

    Example:
        >>> from rewardshaping.machines import parse_machine
        >>> m = parse_machine("initial: start\\nterminal: [done]\\nedges: [{from: start, to: done, when: a}]")
        >>> u = union_machine({"a:b": m, "a": m})
        >>> [u.states[i] for i in task_initial_states(u, ["a", "a:b"])]
        ['a:start', 'a:b:start']
    """
    if not isinstance(union, UnionMachine):
        raise TypeError(
            f"machine {union.name!r} does not record its tasks; build it with union_machine()"
        )
    initials = union.task_initials
    unknown = [t for t in tasks if t not in initials]
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; the union holds {list(initials)}")
    return [union.index[initials[t]] for t in tasks]

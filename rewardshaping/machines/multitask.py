"""Several tasks as one machine: the disjoint union of reward machines.

Toro Icarte et al. (2018, 2022) train one agent on several tasks of a world (the four Office
tasks), choosing a task per episode; counterfactual experiences then flow across tasks, since
every machine state of every task learns from each transition. The union machine holds every
task's states as ``"task:state"``; start an episode of task ``k`` with
``env.reset(options={"machine_state": union.index[f"{k}:{initial}"]})``
(:func:`task_initial_states`).
"""

from __future__ import annotations

from collections.abc import Mapping

from rewardshaping.machines.machine import SINK, Edge, RewardMachine

__all__ = ["union_machine", "task_initial_states"]


def union_machine(machines: Mapping[str, RewardMachine], name: str = "union") -> RewardMachine:
    """The disjoint union of ``machines`` (task name -> machine), sharing one sink.

    All machines must use the same no-match rule (and sink reward).

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
    for task, m in machines.items():
        if m.calls:
            raise TypeError(f"machine {task!r} has calls; flatten its hierarchy first")
        props.update(dict.fromkeys(m.propositions))
        for s in m.states:
            if s == SINK:
                continue
            states.append(f"{task}:{s}")
            if s in m.terminal:
                terminal[f"{task}:{s}"] = s in m.accepting
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
    exclusives = {m.exclusive for m in machines.values()}
    first = next(iter(machines.values()))
    initial = f"{next(iter(machines))}:{first.initial}"
    return RewardMachine(
        states,
        initial,
        edges,
        terminal,
        propositions=sorted(props),
        no_match=no_match,
        sink_reward=sink_reward,
        exclusive=exclusives.pop() if len(exclusives) == 1 else None,
        name=name,
    )


def task_initial_states(union: RewardMachine, tasks: list[str]) -> list[int]:
    """Index of each task's initial state in a :func:`union_machine` (tasks in union order)."""
    out = []
    for task in tasks:
        prefix = f"{task}:"
        first = next(i for i, s in enumerate(union.states) if s.startswith(prefix))
        out.append(first)
    return out

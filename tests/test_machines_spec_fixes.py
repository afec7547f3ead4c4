"""Reward-machine fixes: task unions start each task where it starts and keep every task's
exclusivity, overlapping exclusive groups are enumerated as declared, and a hierarchy's root
may be a continuing task whatever its machine's own name."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewardshaping.envs.office import office_machine, office_spec_path
from rewardshaping.machines import (
    Edge,
    Exclusivity,
    RewardMachine,
    RewardMachineHierarchy,
    SpecError,
    dump_yaml,
    load_machine,
    parse_machine,
    task_initial_states,
    union_machine,
)
from rewardshaping.machines.formulas import TRUE
from rewardshaping.machines.options import flat_hierarchy
from rewardshaping.machines.valuations import valuations

ONE_STEP = """
initial: start
terminal: [done]
edges:
  - {from: start, to: done, when: b, reward: 1}
"""

INITIAL_LISTED_LAST = """
initial: start
states: [done, start]
terminal: [done]
edges:
  - {from: start, to: done, when: a, reward: 1}
"""

CONTINUING = """
initial: u
edges:
  - {from: u, to: v, when: a}
  - {from: v, to: u, when: b, reward: 1}
"""


# ---------------------------------------------------------------- task unions: initial states


def test_task_initial_states_are_the_initial_states_not_the_first_listed():
    u = union_machine({"t1": parse_machine(ONE_STEP), "t2": parse_machine(INITIAL_LISTED_LAST)})
    assert u.states.index("t2:done") < u.states.index("t2:start")
    assert task_initial_states(u, ["t1", "t2"]) == [u.index["t1:start"], u.index["t2:start"]]


def test_task_initial_states_match_task_names_exactly_not_by_prefix():
    m = parse_machine(ONE_STEP)
    u = union_machine({"a:b": m, "a": m})
    starts = task_initial_states(u, ["a", "a:b"])
    assert [u.states[i] for i in starts] == ["a:start", "a:b:start"]


def test_task_initial_states_refuses_an_unknown_task():
    u = union_machine({"t1": parse_machine(ONE_STEP)})
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['t9'\]"):
        task_initial_states(u, ["t9"])


def test_union_refuses_tasks_whose_state_names_collide():
    # task "a" with state "b:start" and task "a:b" with state "start" would share one state
    m = parse_machine(ONE_STEP)
    renamed = RewardMachine(
        ["b:start", "done"], "b:start", [Edge("b:start", "done", TRUE)], ["done"]
    )
    with pytest.raises(ValueError, match="both name a state 'a:b:start'"):
        union_machine({"a:b": m, "a": renamed})


# ---------------------------------------------------------------- task unions: exclusivity


def test_union_of_tasks_with_different_exclusive_declarations_is_deterministic():
    t3 = office_machine(3)  # YAML spec: exclusive: true; deterministic only with it
    t1 = load_machine(office_spec_path(1, "legacy"))  # no declaration, deterministic without
    assert t3.exclusive != t1.exclusive
    u = union_machine({"t1": t1, "t3": t3})
    assert u.num_states == t1.num_states + t3.num_states - 1  # one shared sink
    assert not u.ambiguities
    # t3's declaration is kept, over t3's own events only
    assert not u.exclusive.allows({"e", "f"})
    assert u.exclusive == Exclusivity([list(t3.propositions)])


def test_union_exclusive_does_not_constrain_another_tasks_events():
    all_exclusive = parse_machine(
        """
initial: u
terminal: [v, w]
exclusive: true
edges:
  - {from: u, to: v, when: a}
  - {from: u, to: w, when: b}
"""
    )
    free = parse_machine("initial: u\nterminal: [v]\nedges: [{from: u, to: v, when: c & d}]")
    u = union_machine({"x": all_exclusive, "y": free})
    assert u.exclusive.allows({"c", "d"}) and not u.exclusive.allows({"a", "b"})
    assert u.step(u.index["y:u"], {"c", "d"}) == (u.index["y:v"], 0.0)
    assert parse_machine(dump_yaml(u)).equivalent(u)


# ---------------------------------------------------------------- overlapping exclusive groups


def test_overlapping_exclusive_groups_forbid_every_declared_pair():
    ex = Exclusivity([["a", "b"], ["b", "c"]])
    vals = sorted(sorted(v) for v in valuations(["a", "b", "c"], ex))
    assert vals == [[], ["a"], ["a", "c"], ["b"], ["c"]]


@given(
    st.lists(
        st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4),
        max_size=5,
    ),
    st.sets(st.sampled_from("abcdefg"), max_size=7),
)
def test_valuations_are_exactly_the_sets_exclusivity_allows(groups, props):
    ex = Exclusivity(groups)
    got = list(valuations(sorted(props), ex))
    every = [frozenset(c) for k in range(len(props) + 1) for c in combinations(sorted(props), k)]
    assert len(got) == len(set(got))  # each once
    assert set(got) == {v for v in every if ex.allows(v)}


def test_machine_with_overlapping_exclusive_groups_is_deterministic():
    rm = parse_machine(
        """
initial: u
terminal: [v, w]
exclusive: [[a, b], [b, c]]
edges:
  - {from: u, to: v, when: b}
  - {from: u, to: w, when: c}
"""
    )
    assert not rm.ambiguities


def test_equivalence_ignores_valuations_that_overlapping_groups_forbid():
    spec = """
propositions: [a, b, c]
initial: u
terminal: [v]
exclusive: [[a, b], [b, c]]
edges:
  - {from: u, to: v, when: WHEN, reward: 1}
"""
    plain = parse_machine(spec.replace("WHEN", "b"))
    guarded = parse_machine(spec.replace("WHEN", "b & !c"))  # differs only when b and c hold
    assert plain.equivalent(guarded)


# ---------------------------------------------------------------- hierarchies


def test_continuing_root_is_allowed_whatever_its_machine_name():
    loop = parse_machine(CONTINUING)
    assert loop.name != "task"
    h = RewardMachineHierarchy({"task": loop}, "task")
    assert h.step(h.initial_stack, {"a"}).stack == (("task", loop.index["v"], -1),)


def test_flat_hierarchy_of_a_continuing_task():
    h = RewardMachineHierarchy({"machine": parse_machine(CONTINUING)}, "machine")
    flat = flat_hierarchy(h)
    assert list(flat.machines) == ["flat"] and not flat.machines["flat"].accepting


def test_called_machine_without_accepting_state_is_refused_even_if_named_like_the_root():
    root = RewardMachine(["u", "v"], "u", [Edge("u", "v", TRUE, call="sub")], ["v"], name="top")
    sub = parse_machine(CONTINUING, name="top")  # its own name is the root's key
    with pytest.raises(SpecError, match="machine 'sub' is called but has no accepting state"):
        RewardMachineHierarchy({"top": root, "sub": sub}, "top")


def test_first_match_machine_exports_to_an_equivalent_deterministic_spec():
    # Office T3 has an ambiguous pair; with on_ambiguous="first" the first edge wins. The spec
    # format has no first-match rule, so the export negates the earlier edge in the later one.
    from rewardshaping.machines.spec import dump_yaml, load_machine

    first = load_machine(office_spec_path(3, "legacy"), on_ambiguous="first")
    assert first.ambiguities
    again = parse_machine(dump_yaml(first), "yaml")  # used to raise: "not deterministic"
    assert again.equivalent(first) and first.equivalent(again)

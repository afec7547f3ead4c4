"""Hierarchies of reward machines: stepping, flat equivalence, errors, option learning."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.envs.craft import PROPOSITIONS, CraftWorld, craft_task
from rewardshaping.machines import RewardMachineHierarchy, SpecError, parse_machine
from rewardshaping.machines.options import OptionConfig, OptionLearner, flat_hierarchy
from rewardshaping.machines.product import RewardMachineEnv

CONTEXT_SPEC = """
root: top
propositions: [a, b, c, d]
machines:
  sub:
    initial: s0
    terminal: {ok: {accepting: true}, bad: {accepting: false}}
    edges:
      - {from: s0, to: s1, when: a}
      - {from: s1, to: ok, when: b & !d}
      - {from: s1, to: bad, when: d}
  top:
    initial: t0
    terminal: [win]
    edges:
      - {from: t0, to: t1, call: sub, when: "!c"}
      - {from: t0, to: t2, when: c, reward: 0.5}
      - {from: t1, to: win, when: c, reward: 1}
      - {from: t2, to: t1, call: sub}
"""


@pytest.mark.parametrize("task", ["book", "map", "milk_bucket", "book_and_quill", "cake"])
@settings(max_examples=30, deadline=None)
@given(events=st.lists(st.sampled_from([None, *PROPOSITIONS]), max_size=60))
def test_flat_expansion_is_equivalent_on_random_event_sequences(task, events):
    h = craft_task(task)
    flat = h.flatten()
    stack, u = h.initial_stack, flat.initial_index
    for e in events:
        true = set() if e is None else {e}
        step = h.step(stack, true)
        u, r = flat.step(u, true)
        assert r == step.reward
        assert bool(flat.is_terminal[u]) == step.terminal
        assert h.flat_stacks[u] == step.stack
        if step.terminal:
            break
        stack = step.stack


@settings(max_examples=100, deadline=None)
@given(events=st.lists(st.sets(st.sampled_from("abcd"), max_size=2), max_size=12))
def test_contexts_rejection_and_rewards_match_the_flat_machine(events):
    h = parse_machine(CONTEXT_SPEC)
    flat = h.flatten(on_ambiguous="first")
    stack, u = h.initial_stack, flat.initial_index
    for true in events:
        step = h.step(stack, true)
        u, r = flat.step(u, true)
        assert (r, bool(flat.is_terminal[u])) == (step.reward, step.terminal)
        if step.terminal:
            assert (
                flat.states[u] in flat.accepting
                if step.accepted
                else flat.states[u] not in flat.accepting
            )
            break
        stack = step.stack


def test_context_blocks_the_call_and_rejection_ends_everything():
    h = parse_machine(CONTEXT_SPEC)
    s = h.initial_stack
    assert h.step(s, {"a", "c"}).stack == (("top", 2, -1),)  # context !c fails: the c edge fires
    s = h.step(s, {"a"}).stack
    assert h.describe(s) == "top:t0 > sub:s1"
    r = h.step(s, {"d"})
    assert r.terminal and not r.accepted
    s = h.step(s, {"b"}).stack
    assert h.describe(s) == "top:t1" and h.step(s, {"c"}).reward == 1.0


def test_only_root_edges_pay():
    h = craft_task("book")
    total, s = 0.0, h.initial_stack
    for e in ["cane", "workbench", "rabbit", "workbench", "table"]:
        step = h.step(s, {e})
        total += step.reward
        s = step.stack
    assert step.accepted and total == 1.0  # paper's and leather's own rewards are not paid


def test_hierarchy_errors():
    with pytest.raises(SpecError, match="recursive calls"):
        parse_machine(
            "root: a\nmachines:\n  a: {initial: u, terminal: [v], edges: [{from: u, to: v, call: b}]}\n"
            "  b: {initial: u, terminal: [v], edges: [{from: u, to: v, call: a}]}\n"
        )
    with pytest.raises(SpecError, match="unknown machine 'nope'") as info:
        parse_machine(
            "root: a\nmachines:\n  a: {initial: u, edges: [{from: u, to: v, call: nope}]}\n"
        )
    assert info.value.line == 3
    with pytest.raises(SpecError, match="not deterministic"):
        parse_machine(
            "root: a\nmachines:\n"
            "  x: {initial: u, terminal: [v], edges: [{from: u, to: v, when: p}]}\n"
            "  y: {initial: u, terminal: [v], edges: [{from: u, to: v, when: p | q}]}\n"
            "  a: {initial: u, terminal: [w], edges: [{from: u, to: v, call: x}, {from: u, to: w, call: y}]}\n"
        ).flatten()
    with pytest.raises(SpecError, match="call edges need a hierarchy"):
        parse_machine("initial: u\nedges: [{from: u, to: v, call: x}]")


def test_product_env_steps_the_hierarchy_through_its_flat_machine():
    h = craft_task("paper")
    env = RewardMachineEnv(CraftWorld(), h)
    obs, _ = env.reset(seed=0)
    path = [2, 3, 3, 3, 3]  # down onto the table (ignored), left x4 onto the cane at (0, 3)
    for a in path:
        obs, r, term, trunc, info = env.step(a)
    assert h.describe(h.flat_stacks[int(obs["machine_state"])]) == "paper:has_cane"


@pytest.mark.parametrize("flat", [False, True])
def test_option_learner_learns_a_two_level_task(flat):
    h = craft_task("book")
    target = flat_hierarchy(h) if flat else h
    env = RewardMachineEnv(CraftWorld(), target, counterfactuals=False)
    agent = OptionLearner(
        target, 81, 4, OptionConfig(), obs_index=lambda o: int(o[0]) + 9 * int(o[1]), seed=0
    )
    for episode in range(60):
        obs, _ = env.reset(seed=episode)
        agent.begin_episode(obs)
        for _ in range(300):
            a = agent.act(obs)
            nxt, r, term, trunc, info = env.step(a)
            agent.observe(obs, a, nxt, info, term, trunc)
            obs = nxt
            if term:
                break
    obs, _ = env.reset(seed=0)
    agent.begin_episode(obs)
    steps = 0
    while steps < 100:
        a = agent.act(obs, greedy=True)
        nxt, r, term, trunc, info = env.step(a)
        agent.observe(obs, a, nxt, info, term, trunc, learn=False)
        obs, steps = nxt, steps + 1
        if term:
            break
    assert term and r == 1.0 and steps <= 40  # the optimum is 27 steps


def test_flat_hierarchy_is_one_machine():
    flat = flat_hierarchy(craft_task("cake"))
    assert isinstance(flat, RewardMachineHierarchy) and flat.levels == {"flat": 1}
    assert np.sum(~flat.machines["flat"].is_terminal) == craft_task("cake").flatten().num_states - 1

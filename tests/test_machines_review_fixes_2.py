"""Regression tests for reviewed reward-machine bugs (second round): empty one-hot CRM batches,
the product's world reward vs ``env_reward``, hierarchies with sink machines, terminal-state
values, vector resets into a task, first-match loading, tab-indented JSON, label shapes."""

from __future__ import annotations

import itertools
import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import SyncVectorEnv

import rewardshaping.envs  # noqa: F401  (registers the worlds)
from rewardshaping.agents.evaluation import evaluate_policy
from rewardshaping.envs.office import OfficeWorld, office_machine
from rewardshaping.machines import SpecError, load_machine, parse_machine
from rewardshaping.machines.labelling import InfoLabelling
from rewardshaping.machines.multitask import task_initial_states, union_machine
from rewardshaping.machines.product import RewardMachineEnv, _flatten_batch
from rewardshaping.machines.product_vector import RewardMachineVectorEnv

# ----------------------------------------------------------------- one-hot CRM of dummy steps


@pytest.mark.parametrize(
    "space",
    [
        spaces.Box(0, 1, (2, 3), np.float32),
        spaces.MultiDiscrete([12, 9]),
        spaces.Dict({"pos": spaces.Box(0, 1, (2,)), "key": spaces.Discrete(3)}),
    ],
    ids=["box", "multidiscrete", "dict"],
)
def test_flatten_an_empty_batch(space):
    empty = _rows(gym.vector.utils.batch_space(space, 1).sample(), np.empty(0, int))
    assert _flatten_batch(space, empty).shape == (0, spaces.flatdim(space))


def _rows(batch, rows):
    if isinstance(batch, dict):
        return {k: _rows(v, rows) for k, v in batch.items()}
    return np.asarray(batch)[rows]


def test_onehot_crm_of_an_all_dummy_step_is_empty():
    vec = gym.make_vec("rewardshaping/OfficeWorld-v0", 1, vectorization_mode="sync")
    env = RewardMachineVectorEnv(vec, office_machine(1), obs_mode="onehot")
    env.reset(seed=0)
    for a in [1, 1]:  # right, right: onto the plant at (4, 1), which ends task 1
        _, _, term, _, _ = env.step(np.array([a]))
    assert term.tolist() == [True]
    env.step(np.array([0]))  # NEXT_STEP: the dummy reset step, no real transition
    exp = env.counterfactual_experiences()  # was a ValueError from reshape(0, -1)
    width = env.single_observation_space.shape[0]
    assert len(exp) == 0 and exp.obs.shape == exp.next_obs.shape == (0, width)


# ----------------------------------------------------------------- world reward vs env_reward

# Office task 1 from the start (2, 1): up and round to the coffee at (3, 6), then to the office.
OFFICE_T1_PATH = [0, 3, 0, 1, 0, 0, 3, 0, 0, 1, 1, 2, 1, 2, 2]


def _office_t1_product(kind):
    if kind == "registered":  # a vector of the registered single product envs
        return gym.make_vec("rewardshaping/Office-T1-v0", 2, vectorization_mode="sync")
    vec = gym.make_vec("rewardshaping/OfficeWorld-v0", 2, vectorization_mode="sync")
    return RewardMachineVectorEnv(vec, office_machine(1))


@pytest.mark.parametrize("kind", ["registered", "vector"])
def test_evaluate_policy_on_a_product_env_reports_the_task_return(kind):
    envs = _office_t1_product(kind)
    steps = iter(OFFICE_T1_PATH)

    def act(obs):
        return np.full(envs.num_envs, next(steps))

    res = evaluate_policy(act, envs, num_episodes=2, seed=0)
    # Was [0, 0]: the world's reward (always 0 in Office) reported as info["env_reward"].
    assert res.returns.tolist() == [1.0, 1.0] and res.lengths.tolist() == [15, 15]


def test_product_infos_report_the_world_reward_under_its_own_key():
    env = RewardMachineEnv(OfficeWorld(), office_machine(1), reward_mode="add")
    env.reset(seed=0)
    *_, info = env.step(1)
    assert "env_reward" not in info and info["world_reward"] == 0.0
    vec = RewardMachineVectorEnv(SyncVectorEnv([OfficeWorld]), office_machine(1))
    vec.reset(seed=0)
    *_, info = vec.step(np.array([1]))
    assert "env_reward" not in info and info["world_reward"].tolist() == [0.0]


# ----------------------------------------------------------------- hierarchies with sinks

BOOK_SINK = """
root: book
machines:
  paper:
    initial: u0
    terminal: [done]
    edges:
      - {from: u0, to: u0, when: "!cane"}
      - {from: u0, to: done, when: cane}
  book:
    initial: u0
    terminal: [done]
    no_match: sink
    edges:
      - {from: u0, to: u1, call: paper}
      - {from: u1, to: done, when: table, reward: 1}
      - {from: u1, to: u1, when: "!table"}
"""


def test_hierarchy_with_a_sink_machine_flattens_to_its_own_steps():
    h = parse_machine(BOOK_SINK)
    flat = h.flatten()  # was a SpecError: the reject edge's 'true' overlapped every move
    assert not flat.ambiguities
    valuations = [set(v) for k in range(3) for v in itertools.combinations(h.propositions, k)]
    for u, stack in enumerate(h.flat_stacks):
        if flat.is_terminal[u]:
            continue
        for v in valuations:
            step = h.step(stack, v)
            u2, reward = flat.step(u, v)
            assert (reward, bool(flat.is_terminal[u2])) == (step.reward, step.terminal)
            assert step.terminal or h.flat_stacks[u2] == step.stack
    assert flat.states[flat.step(0, set())[0]] == "__reject__"  # paper cannot start: sink


# ----------------------------------------------------------------- terminal-state values


def test_a_terminal_state_given_a_non_mapping_is_an_error():
    for value in ["false", "5", "rejecting"]:
        text = f"initial: u\nterminal: {{done: {value}}}\nedges: [{{from: u, to: done, when: a}}]"
        with pytest.raises(SpecError, match="terminal state 'done' must be a mapping") as err:
            parse_machine(text)  # was: silently an accepting state
        assert (err.value.line, err.value.column) == (2, 18)
    # Nothing at all is the documented short form of an accepting state.
    rm = parse_machine("initial: u\nterminal:\n  done:\nedges: [{from: u, to: done, when: a}]")
    assert rm.accepting == {"done"}


# ----------------------------------------------------------------- vector resets into a task


class RecordsOptions(OfficeWorld):
    """The Office world, remembering the options of its last reset."""

    def reset(self, *, seed=None, options=None):
        self.options = options
        return super().reset(seed=seed, options=options)


def test_vector_reset_starts_the_machine_where_asked():
    u = union_machine({"t1": office_machine(1), "t2": office_machine(2)})
    t1, t2 = task_initial_states(u, ["t1", "t2"])
    vec = SyncVectorEnv([RecordsOptions, RecordsOptions])
    env = RewardMachineVectorEnv(vec, u)
    obs, _ = env.reset(seed=0, options={"machine_state": t2})  # was ignored: t1 everywhere
    assert obs["machine_state"].tolist() == [t2, t2]
    assert [e.options for e in vec.envs] == [None, None]  # not passed on to the sub-envs
    obs, _ = env.reset(options={"machine_state": ["t2:start", t1]})  # one per env, names too
    assert obs["machine_state"].tolist() == [t2, t1]
    obs, _ = env.reset(options={"machine_state": [t1, t2], "reset_mask": np.array([False, True])})
    assert obs["machine_state"].tolist() == [t2, t2]  # only the reset row moved
    for bad in ["t1:delivered", "nowhere", [t1, t2, t1]]:
        with pytest.raises(ValueError, match="cannot start|one per sub-env"):
            env.reset(options={"machine_state": bad})


# ----------------------------------------------------------------- on_ambiguous="first" kept

AMBIGUOUS_HIERARCHY = """
root: top
machines:
  sub:
    initial: s0
    terminal: [ok]
    edges:
      - {from: s0, to: ok, when: b}
  top:
    initial: u0
    terminal: [done, bad]
    edges:
      - {from: u0, to: done, when: a, reward: 1}
      - {from: u0, to: bad, when: a | c}
      - {from: u0, to: u1, call: sub}
      - {from: u1, to: done, when: c, reward: 1}
"""


class RaisesA(gym.Env):
    """Event ``a`` fires on every step."""

    observation_space = spaces.Discrete(2)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {"labels": np.zeros(3, bool)}

    def step(self, action):
        return 0, 0.0, False, False, {"labels": np.array([True, False, False])}


def test_a_first_match_hierarchy_can_be_wrapped():
    h = parse_machine(AMBIGUOUS_HIERARCHY, on_ambiguous="first")
    env = RewardMachineEnv(RaisesA(), h, InfoLabelling(("a", "b", "c")))  # was a SpecError
    env.reset(seed=0)
    _, r, term, _, _ = env.step(0)
    assert (r, term) == (1.0, True)  # the first edge, 'a' -> done, wins over 'a | c' -> bad
    with pytest.raises(SpecError, match="not deterministic"):
        parse_machine(AMBIGUOUS_HIERARCHY).flatten()  # the default still refuses
    # The flat machine cached under "first" does not hide the ambiguity from "error".
    assert h.flatten().on_ambiguous == "first"
    with pytest.raises(SpecError, match="not deterministic"):
        h.flatten(on_ambiguous="error")


def test_a_union_of_first_match_machines_is_first_match():
    text = (
        "initial: u\nterminal: [v, w]\n"
        "edges: [{from: u, to: v, when: a, reward: 1}, {from: u, to: w, when: b}]"
    )
    m = parse_machine(text, on_ambiguous="first")
    un = union_machine({"t1": m, "t2": m})  # was a SpecError: the union checked with "error"
    assert un.step(un.index["t2:u"], {"a", "b"}) == (un.index["t2:v"], 1.0)


# ----------------------------------------------------------------- JSON with tabs

SPEC = {"initial": "u", "terminal": ["v"], "edges": [{"from": "u", "to": "v", "when": "a"}]}


def test_json_indented_with_tabs_parses(tmp_path):
    text = json.dumps(SPEC, indent="\t")
    assert parse_machine(text, "json") == parse_machine(json.dumps(SPEC), "json")
    path = tmp_path / "t.json"
    path.write_text(text)
    assert load_machine(path).step(0, {"a"}) == (1, 0.0)


def test_json_errors_after_tabs_keep_their_columns():
    spec = {**SPEC, "edges": [{"from": "u", "to": "v", "when": "a", "colour": 1}]}
    text = json.dumps(spec, indent="\t")
    with pytest.raises(SpecError, match="unknown key 'colour'") as err:
        parse_machine(text, "json")
    line = text.splitlines()[err.value.line - 1]
    assert line.startswith("\t\t\t") and line[err.value.column - 1 :].startswith('"colour"')


# ----------------------------------------------------------------- label shapes


@pytest.fixture
def coffee():
    return parse_machine(
        "initial: start\nterminal: [done]\nedges: [{from: start, to: done, when: coffee}]"
    )


@pytest.mark.parametrize(
    "labels", [["coffee"], ("coffee",), "coffee"], ids=["list", "tuple", "str"]
)
def test_strings_as_labels_are_refused(coffee, labels):
    with pytest.raises(TypeError, match="string 'coffee'"):
        coffee.step(0, labels)  # was: no transition, the letters read as events


def test_nested_bool_lists_as_labels_are_refused(coffee):
    with pytest.raises(TypeError, match="bool array"):
        coffee.transition(np.array([0, 0]), [[True], [False]])  # was: no transition
    nxt, _ = coffee.transition(np.array([0, 0]), np.array([[True], [False]]))
    assert nxt.tolist() == [1, 0]  # the bool-array way

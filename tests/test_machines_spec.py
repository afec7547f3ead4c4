"""Reward-machine specs: legacy and YAML formats agree, malformed specs fail precisely and safely."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import numpy as np
import pytest

from rewardshaping.envs.office import office_machine, office_spec_path
from rewardshaping.machines import (
    SINK,
    Exclusivity,
    RewardMachine,
    SpecError,
    dump_yaml,
    load_machine,
    parse_machine,
    to_dot,
    to_mermaid,
)
from rewardshaping.machines.valuations import valuations

MACHINES_DIR = Path(__file__).resolve().parents[1] / "rewardshaping" / "machines"


@pytest.fixture
def no_eval(monkeypatch, tmp_path):  # tmp_path first: its set-up may use exec
    """Make any use of eval/exec/compile during parsing fail loudly."""

    def forbidden(*args, **kwargs):
        raise AssertionError("spec parsing must never evaluate text")

    for name in ("eval", "exec"):
        monkeypatch.setattr(builtins, name, forbidden)


@pytest.mark.parametrize("task", [1, 2, 3, 4])
def test_legacy_office_tasks_equal_their_yaml_twins(task, no_eval):
    legacy = office_machine(task, "legacy")
    twin = office_machine(task, "yaml")
    assert legacy.structure() == twin.structure()
    assert legacy.equivalent(twin) and twin.equivalent(legacy)
    assert legacy.propositions == twin.propositions
    assert legacy.accepting and len(legacy.accepting) == len(twin.accepting)


@pytest.mark.parametrize("task", [1, 2, 3, 4])
def test_yaml_dump_round_trips(task):
    rm = office_machine(task, "legacy")
    again = parse_machine(dump_yaml(rm), "yaml")
    assert again == rm


def test_legacy_semantics_first_match_and_sink():
    rm = office_machine(1, "legacy")
    assert rm.step(0, {"n"}) == (rm.index[SINK], 0.0)  # a plant matches no edge: sink
    assert rm.step(0, {"f"}) == (1, 0.0)
    assert rm.step(1, {"g"}) == (2, 1.0)
    assert rm.step(2, {"f"}) == (2, 0.0)  # terminal states stay


MALFORMED_LEGACY = {
    "unbalanced": ("0\n[1]\n(0,1,'(a&b',ConstantRewardFunction(1))\n", 3, 7, "never closed"),
    "unbalanced close": ("0\n[1]\n(0,1,'a&b)',ConstantRewardFunction(1))\n", 3, 10, "no matching"),
    "unknown terminal": ("0\n[7]\n(0,1,'a',ConstantRewardFunction(1))\n", 2, 1, "unknown state 7"),
    "unknown initial": ("5\n[1]\n(0,1,'a',ConstantRewardFunction(1))\n", 1, 1, "unknown state 5"),
    "code in reward": (
        "0\n[1]\n(0,1,'a',ConstantRewardFunction(__import__('os').system('touch PWNED')))\n",
        3,
        33,
        "inside ConstantRewardFunction",
    ),
    "call in reward": ("0\n[1]\n(0,1,'a',open('x'))\n", 3, 15, "no arguments"),
    "attribute in reward": ("0\n[1]\n(0,1,'a',os.system('x'))\n", 3, 12, "unexpected character"),
    "multi-char prop": (
        "0\n[1]\n(0,1,'ab',ConstantRewardFunction(1))\n",
        3,
        7,
        "single characters",
    ),
    "missing comma": ("0\n[1]\n(0 1,'a',ConstantRewardFunction(1))\n", 3, 4, "','"),
    "conflict": (
        "0\n[1,2]\n(0,1,'a',ConstantRewardFunction(1))\n(0,2,'a&!b',ConstantRewardFunction(0))\n",
        4,
        1,
        "not deterministic",
    ),
    "duplicate": (
        "0\n[1]\n(0,1,'a',ConstantRewardFunction(1))\n(0,1,'a',ConstantRewardFunction(1))\n",
        4,
        1,
        "duplicate edge",
    ),
    "edge out of terminal": (
        "0\n[1]\n(0,1,'a',ConstantRewardFunction(1))\n(1,0,'b',ConstantRewardFunction(0))\n",
        4,
        1,
        "out of terminal",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_LEGACY))
def test_malformed_legacy_specs_fail_with_location(case, no_eval, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text, line, column, words = MALFORMED_LEGACY[case]
    path = tmp_path / "task.txt"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_machine(path)
    err = info.value
    assert err.file == str(path)
    assert (err.line, err.column) == (line, column), str(err)
    assert words in str(err)
    assert not (tmp_path / "PWNED").exists()


MALFORMED_YAML = {
    "unbalanced": (
        "initial: u\nedges:\n  - {from: u, to: v, when: '(a | b'}\n",
        3,
        29,
        "never closed",
    ),
    "unknown state": (
        "initial: u\nstates: [u, v]\nedges:\n  - {from: u, to: w, when: a}\n",
        4,
        19,
        "unknown state 'w'",
    ),
    "unknown key": (
        "initial: u\nedges:\n  - {from: u, too: v, when: a}\n",
        3,
        15,
        "unknown key 'too'",
    ),
    "code in reward": (
        "initial: u\nedges:\n  - {from: u, to: v, when: a, reward: \"__import__('os').system('x')\"}\n",
        3,
        39,
        "must be a number",
    ),
    "python tag": (
        "initial: u\nedges: !!python/object/apply:os.system ['touch PWNED']\n",
        2,
        8,
        "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
    ),
    "conflict": (
        "initial: u\nterminal: [v, w]\nedges:\n  - {from: u, to: v, when: a}\n"
        "  - {from: u, to: w, when: a | b, reward: 1}\n",
        5,
        5,
        "not deterministic",
    ),
    "unknown proposition": (
        "propositions: [a]\ninitial: u\nedges:\n  - {from: u, to: v, when: a & b}\n",
        4,
        28,
        "unknown proposition",
    ),
    "bad no_match": ("initial: u\nno_match: explode\nedges: []\n", 2, 11, "'stay' or 'sink'"),
    "duplicate key": ("initial: u\ninitial: v\nedges: []\n", 2, 1, "duplicate key"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_YAML))
def test_malformed_yaml_specs_fail_with_location(case, no_eval, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text, line, column, words = MALFORMED_YAML[case]
    path = tmp_path / "task.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_machine(path)
    err = info.value
    assert err.file == str(path)
    assert words in str(err), str(err)
    assert (err.line, err.column) == (line, column), str(err)
    assert not (tmp_path / "PWNED").exists()


def test_machines_package_never_evaluates_text():
    builtins_banned = {"eval", "exec", "compile", "__import__"}
    methods_banned = {"literal_eval", "import_module", "eval", "exec"}
    for path in MACHINES_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func
                if isinstance(fn, ast.Name):
                    assert fn.id not in builtins_banned, f"{path.name}:{node.lineno} calls {fn.id}"
                elif isinstance(fn, ast.Attribute):
                    assert fn.attr not in methods_banned, (
                        f"{path.name}:{node.lineno} calls {fn.attr}"
                    )
            if isinstance(node, ast.Attribute) and node.attr in (
                "load",
                "unsafe_load",
                "full_load",
            ):
                assert not (isinstance(node.value, ast.Name) and node.value.id == "yaml"), path.name


def test_named_propositions_parallel_edges_and_several_terminals():
    rm = parse_machine(
        """
        propositions: [coffee_machine, office, plant, mail_room]
        exclusive: [[coffee_machine, office, plant, mail_room]]
        initial: start
        terminal: {won: {accepting: true}, lost: {accepting: false}}
        edges:
          - {from: start, to: start, when: coffee_machine, reward: 0.5}
          - {from: start, to: start, when: mail_room, reward: 0.25}
          - {from: start, to: won, when: office, reward: 10}
          - {from: start, to: lost, when: plant, reward: -5}
        """
    )
    assert rm.step(0, {"coffee_machine"}) == (0, 0.5)
    assert rm.step(0, {"mail_room"}) == (0, 0.25)
    assert rm.step(0, {"office"}) == (rm.index["won"], 10.0)
    assert rm.step(0, {"plant"}) == (rm.index["lost"], -5.0)
    assert rm.accepting == {"won"} and rm.terminal == {"won", "lost"}
    assert rm.step(0, set()) == (0, 0.0)  # no_match: stay (the YAML default)


def test_named_reward_functions():
    rm = parse_machine("0\n[]\n(0,1,'c',RewardControl())\n(1,0,'d',ConstantRewardFunction(1000))\n")
    assert rm.reward_functions == ("RewardControl",)
    nxt, edges = rm.transition(np.array([0, 0]), [{"c"}, set()])
    rewards = rm.rewards(np.array([0, 0]), edges, {"RewardControl": np.array([-0.3, -0.7])})
    assert nxt.tolist() == [1, rm.index[SINK]] and rewards.tolist() == [-0.3, 0.0]
    with pytest.raises(KeyError, match="RewardControl"):
        rm.rewards(np.array([0]), edges[:1])
    y = parse_machine("initial: u\nedges: [{from: u, to: u, when: c, reward: {function: ctrl}}]")
    assert y.reward_functions == ("ctrl",)


def test_ambiguity_policies():
    text = "0\n[1,2]\n(0,1,'a',ConstantRewardFunction(0))\n(0,2,'f',ConstantRewardFunction(0))\n"
    with pytest.raises(SpecError, match=r"both hold when the true events are \['a', 'f'\]"):
        parse_machine(text)
    assert parse_machine(text, exclusive=True).ambiguities == []
    first = parse_machine(text, on_ambiguous="first")
    assert len(first.ambiguities) == 1 and first.step(0, {"a", "f"}) == (1, 0.0)


def test_exports_mention_every_edge():
    rm = office_machine(3)
    dot, mermaid = to_dot(rm), to_mermaid(rm)
    assert dot.count("->") == len(rm.edges) + 1  # + the start arrow
    assert mermaid.count("-->") == len(rm.edges) + 1 + len(rm.accepting) + 1
    assert '"has_both" -> "delivered" [label="g & !n / 1"]' in dot
    assert "s3 --> s4: g & !n / 1" in mermaid


def test_valuations_respect_exclusive_groups():
    vals = list(valuations(["a", "b", "c"], Exclusivity([["a", "b"]])))
    assert len(vals) == 6 and frozenset({"a", "b"}) not in vals


def test_machine_equality_ignores_files_and_names():
    a = load_machine(office_spec_path(1, "yaml"))
    b = parse_machine(office_spec_path(1, "yaml").read_text(), name="other")
    assert a == b and hash(a) == hash(b)
    assert a != office_machine(2)
    assert isinstance(a, RewardMachine)


def test_yaml_words_that_yaml_reads_as_booleans_are_events():
    rm = parse_machine(
        "initial: u\nterminal: [v]\nedges: [{from: u, to: v, when: on}, {from: u, to: u, when: true}]",
        on_ambiguous="first",
    )
    assert rm.propositions == ("on",) and rm.step(0, {"on"}) == (1, 0.0)

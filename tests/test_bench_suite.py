"""Suite files are validated entirely, with file and field in every error, before any run."""

import copy

import pytest

from rewardshaping.bench.suite import load_suite, parse_suite
from rewardshaping.registry import ConfigError

AGENT = {"backend": "sb3", "algo": "PPO", "n_envs": 2, "kwargs": {"n_steps": 32, "batch_size": 32}}
GOOD = {
    "name": "t",
    "budget": 128,
    "eval": {"every": 64, "episodes": 2},
    "seeds": 2,
    "envs": [{"id": "CartPole-v1", "max_score": 500}],
    "methods": [
        {"name": "ppo", "agent": AGENT},
        {"name": "ppo+p", "agent": AGENT, "terms": [{"type": "step_penalty", "value": -0.1}]},
    ],
}


def with_change(path, value):
    d = copy.deepcopy(GOOD)
    target = d
    for k in path[:-1]:
        target = target[k]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


def test_good_suite_expands_runs():
    suite = parse_suite(GOOD)
    runs = suite.runs()
    assert [r.run_id for r in runs] == [
        "CartPole-v1/ppo/seed0",
        "CartPole-v1/ppo/seed1",
        "CartPole-v1/ppo+p/seed0",
        "CartPole-v1/ppo+p/seed1",
    ]
    assert runs[0].to_json() == type(runs[0]).from_json(runs[0].to_json()).to_json()


@pytest.mark.parametrize(
    "path, value, match",
    [
        (["envs", 0, "id"], "NoSuchEnv-v9", r"envs\[0\]: unknown environment id 'NoSuchEnv-v9'"),
        (
            ["methods", 1, "terms"],
            [{"type": "nope"}],
            r"methods\[1\]\.terms\[0\]: unknown term type 'nope'",
        ),
        (
            ["methods", 1, "terms"],
            [{"type": "step_penalty", "valu": 1}],
            r"bad arguments for term 'step_penalty'",
        ),
        (
            ["methods", 0, "agent"],
            {"backend": "jax"},
            r"methods\[0\]\.agent\.backend: unknown backend 'jax'",
        ),
        (["methods", 0, "colour"], "red", r"methods\[0\]: unknown field\(s\) \['colour'\]"),
        (["envs", 0, "wrappers"], ["nope"], r"envs\[0\]\.wrappers\[0\]: unknown wrapper 'nope'"),
        (["budget"], -5, "budget: expected a positive integer"),
        (["seeds"], [1, 1], r"seeds: repeated seeds"),
        (["methods", 1, "name"], "ppo", r"methods\[\]\.name: names must be unique"),
        (["budget"], KeyError, "missing required field 'budget'"),
    ],
)
def test_bad_suites_say_where(path, value, match):
    with pytest.raises(ConfigError, match=match):
        parse_suite(with_change(path, value), source="suite.yaml")


def test_load_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid yaml"):
        load_suite(bad)
    with pytest.raises(ConfigError, match="no such suite file"):
        load_suite(tmp_path / "missing.yaml")
    toml = tmp_path / "s.toml"
    toml.write_text(
        'name = "t"\nbudget = 10\n[[envs]]\nid = "CartPole-v1"\n'
        '[[methods]]\nname = "a"\nagent = {backend = "sb3"}\n'
    )
    assert load_suite(toml).envs[0].id == "CartPole-v1"


def test_shipped_suites_validate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "experiments"
    files = sorted(root.glob("*.yaml")) + sorted((root / "suites").glob("*.yaml"))
    assert any(f.name == "quickstart.yaml" for f in files)
    for f in files:
        assert load_suite(f).runs(), f

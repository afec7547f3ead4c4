"""``rewardshaping train``: term specs, config files, overrides, logs, resume, errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import yaml

from rewardshaping import FunctionTerm
from rewardshaping.agents.ppo import PPO
from rewardshaping.agents.term_registry import build_terms, parse_term_spec, register_term
from rewardshaping.cli import main
from rewardshaping.registry import unregister_term

FAST = ["--no-progress", "--device", "cpu", "--eval-episodes", "2", "--set", "num_steps=32"]


def test_train_ppo_with_terms_writes_logs_and_summary(tmp_path, capsys):
    code = main(
        ["train", "CartPole-v1", "--total-timesteps", "256", "--num-envs", "2", "--term",
         "step_penalty:-0.01,weight=2", "--log-dir", str(tmp_path), *FAST]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "episode/step_penalty_mean" in out and "eval/return_mean" in out
    for name in ("run.yaml", "checkpoint.pt", "episodes.csv", "progress.csv"):
        assert (tmp_path / name).exists(), name
    run = yaml.safe_load((tmp_path / "run.yaml").read_text())
    assert run["terms"] == ["step_penalty:-0.01,weight=2"] and run["num_envs"] == 2
    with open(tmp_path / "episodes.csv") as f:
        row = next(csv.DictReader(f))
    assert float(row["term/step_penalty"]) == pytest.approx(-0.02 * int(row["length"]))


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_config_file_with_command_line_overrides(tmp_path, suffix, capsys):
    path = tmp_path / f"run{suffix}"
    if suffix == ".yaml":
        path.write_text(
            "env_id: CartPole-v1\nalgo: ppo\nnum_envs: 3\nhidden_sizes: [8, 8]\n"
            "terms:\n  - {name: step_penalty, value: -0.5}\n"
        )
    else:
        path.write_text(
            'env_id = "CartPole-v1"\nalgo = "ppo"\nnum_envs = 3\nhidden_sizes = [8, 8]\n'
            'terms = ["step_penalty:-0.5"]\n'
        )
    code = main(
        ["train", "--config", str(path), "--total-timesteps", "192", "--log-dir",
         str(tmp_path / "run"), *FAST]
    )  # fmt: skip
    assert code == 0
    run = yaml.safe_load((tmp_path / "run" / "run.yaml").read_text())
    assert run["num_envs"] == 3 and run["hidden_sizes"] == [8, 8] and run["num_steps"] == 32
    assert run["total_timesteps"] == 192


def test_resume_continues_the_logged_run(tmp_path):
    args = ["train", "CartPole-v1", "--total-timesteps", "128", "--num-envs", "2",
            "--log-dir", str(tmp_path), *FAST]  # fmt: skip
    assert main(args) == 0
    first = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert first["global_step"] == 128
    assert main(["train", "--resume", str(tmp_path), "--total-timesteps", "256", *FAST]) == 0
    agent = PPO.load(tmp_path / "checkpoint.pt")
    assert agent.global_step == 256 and agent.iteration == 4


def test_train_dqn(tmp_path, capsys):
    code = main(
        ["train", "CartPole-v1", "--algo", "dqn", "--total-timesteps", "300", "--set",
         "learning_starts=100", "--no-progress", "--device", "cpu", "--eval-episodes", "1"]
    )  # fmt: skip
    assert code == 0 and "dqn" in capsys.readouterr().out


def test_errors_are_reported_not_raised(capsys):
    assert main(["train", "CartPole-v1", "--term", "nope:1", *FAST]) == 2
    assert "unknown term type 'nope'" in capsys.readouterr().err
    assert main(["train", "--no-progress"]) == 2
    assert "env id" in capsys.readouterr().err
    assert main(["train", "CartPole-v1", "--set", "learning_rat=1", *FAST]) == 2
    assert "unknown PPO config key" in capsys.readouterr().err


def test_term_specs_and_registry_extension():
    assert parse_term_spec("step_penalty") == ("step_penalty", {}, 1.0)
    assert parse_term_spec("step_penalty:value=-1,name=pen") == (
        "step_penalty",
        {"value": -1, "name": "pen"},
        1.0,
    )
    with pytest.raises(ValueError, match="key=value"):
        parse_term_spec("step_penalty:-1,-2")

    def make_bonus(scale=1.0):
        return FunctionTerm(lambda b: np.full(b.num_envs, scale), "bonus", intrinsic=True)

    register_term("test_bonus", make_bonus, value_arg="scale", overwrite=True)
    try:
        terms, weights = build_terms(["test_bonus:0.5", "test_bonus:0.25,weight=3"])
        assert [t.name for t in terms] == ["bonus", "bonus_2"]
        assert weights == {"bonus": 1.0, "bonus_2": 3.0}
        with pytest.raises(ValueError, match="already registered"):
            register_term("test_bonus", lambda scale=1.0: make_bonus(scale))
    finally:
        unregister_term("test_bonus")
    with pytest.raises(ValueError, match="cannot build term"):
        build_terms(["step_penalty:colour=red"])

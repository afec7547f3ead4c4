"""Command-line review fixes: user errors end with one line and a non-zero exit, stdout of
conversions holds only the conversion, ``--set`` takes mappings, bad values are refused before
anything is written, report files get ordinary permissions."""

from __future__ import annotations

import os
import textwrap

import pytest
import yaml

from rewardshaping.cli import main

TINY_TRAIN = ["--no-progress", "--device", "cpu", "--total-timesteps", "64", "--num-envs", "2"]
TINY_TRAIN += ["--set", "num_steps=32", "--eval-episodes", "0"]
COMPARE = [
    "compare",
    "--env",
    "rewardshaping/RandomMDP-v0",
    "--env-kwargs",
    "n_states=6",
    "--reward",
    "env",
    "--reward",
    "pen=rewardshaping.terms:StepPenalty",
    "--outer",
    "50",
    "--inner",
    "2",
    "--bootstrap",
    "10",
]


def _one_line_error(text: str) -> str:
    assert "Traceback" not in text
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1]


# -- A: user errors end with one line --------------------------------------------------------
def test_bench_report_of_a_folder_without_a_sweep_is_one_line(tmp_path, capsys):
    assert main(["bench", "report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "has no suite.json" in _one_line_error(err)
    assert len(err.strip().splitlines()) == 1


def test_bench_run_on_a_folder_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["bench", "run", str(tmp_path), "--out", str(out), "--no-progress"]) == 2
    assert "is a folder" in _one_line_error(capsys.readouterr().err)
    assert not out.exists()


def test_train_unknown_device_is_refused_before_anything_is_written(tmp_path, capsys):
    log_dir = tmp_path / "run"
    argv = ["train", "CartPole-v1", *TINY_TRAIN, "--device", "nosuch", "--log-dir", str(log_dir)]
    assert main(argv) == 2
    assert "unknown device 'nosuch'" in _one_line_error(capsys.readouterr().err)
    assert not log_dir.exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--gamma", "1.5"], "argument --gamma: must be in [0, 1)"),
        (["--gamma", "-0.1"], "argument --gamma: must be in [0, 1)"),
        (["--outer", "0"], "argument --outer: must be >= 1"),
        (["--inner", "0"], "argument --inner: must be >= 1"),
        (["--confidence", "2"], "argument --confidence: must be in (0, 1)"),
        (["--confidence", "0"], "argument --confidence: must be in (0, 1)"),
        (["--bootstrap", "-1"], "argument --bootstrap: must be >= 0"),  # D
    ],
)
def test_compare_refuses_bad_numbers_in_the_parser(option, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*COMPARE, *option])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert message in _one_line_error(captured.err)
    assert captured.out == ""  # nothing computed


def test_compare_checks_the_json_folder_before_computing(tmp_path, capsys):
    target = tmp_path / "missing" / "x.json"
    with pytest.raises(SystemExit) as exit_info:
        main([*COMPARE, "--json", str(target)])
    assert "no folder" in str(exit_info.value.code) and str(target.parent) in str(
        exit_info.value.code
    )
    assert capsys.readouterr().out == ""  # refused before the distances were computed


def test_compare_reward_of_the_wrong_shape_is_one_line(tmp_path, capsys):
    rewards = tmp_path / "bad_rewards.py"
    rewards.write_text(
        textwrap.dedent(
            """
            import numpy as np

            def ctrl(obs, action, next_obs):
                return -np.sum(np.square(action), axis=-1)  # a scalar for discrete actions
            """
        )
    )
    argv = [*COMPARE[:5], "--reward", "env", "--reward", f"{rewards}:ctrl", *COMPARE[9:]]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    message = str(exit_info.value.code)
    assert message.startswith("rewardshaping compare: reward 'ctrl' returned shape ()")


# -- B: machine --to prints only the conversion on stdout -------------------------------------
@pytest.mark.parametrize("fmt", ["dot", "mermaid", "yaml"])
def test_machine_hierarchy_conversion_stdout_holds_only_the_conversion(fmt, capsys):
    from rewardshaping.envs.craft import SPEC_DIR

    assert main(["machine", str(SPEC_DIR / "recipes.yaml"), "--to", fmt]) == 0
    captured = capsys.readouterr()
    assert "hierarchy of" not in captured.out
    assert "hierarchy of 14 machines" in captured.err
    if fmt == "dot":
        assert captured.out.startswith("digraph ")
    elif fmt == "mermaid":
        assert captured.out.startswith("stateDiagram-v2")
    else:
        assert isinstance(yaml.safe_load(captured.out), dict)


def test_machine_help_says_what_to_draws_for_a_hierarchy(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["machine", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "root machine" in text and "flattened machine" in text


# -- C: KeyDoor goal distance hint; --set mappings ---------------------------------------------
def test_goal_distance_hint_names_obs_mode_for_keydoor(capsys):
    argv = ["train", "rewardshaping/KeyDoor-v0", "--term", "pbrs_goal_distance", *TINY_TRAIN]
    assert main(argv) == 2
    err = _one_line_error(capsys.readouterr().err)
    assert "FullyObsWrapper" in err
    assert "rewardshaping/KeyDoor-*" in err and "env_kwargs={obs_mode: image}" in err


def test_set_parses_yaml_flow_mappings_and_lists():
    from rewardshaping.agents.config_files import parse_overrides

    assert parse_overrides(["env_kwargs={obs_mode: image, size: 8}", "hidden_sizes=[32, 32]"]) == {
        "env_kwargs": {"obs_mode": "image", "size": 8},
        "hidden_sizes": [32, 32],
    }
    with pytest.raises(ValueError, match="YAML flow mapping or list"):
        parse_overrides(["env_kwargs={obs_mode: image"])


def test_train_keydoor_goal_distance_with_set_env_kwargs(tmp_path, capsys):
    log_dir = tmp_path / "run"
    argv = ["train", "rewardshaping/KeyDoor-v0", "--term", "pbrs_goal_distance", *TINY_TRAIN]
    argv += ["--set", "env_kwargs={obs_mode: image}", "--log-dir", str(log_dir)]
    assert main(argv) == 0, capsys.readouterr().err
    assert yaml.safe_load((log_dir / "run.yaml").read_text())["env_kwargs"] == {"obs_mode": "image"}


def test_set_help_documents_mappings(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--set 'env_kwargs={obs_mode: image}'" in text


# -- D: bad values refused ---------------------------------------------------------------------
def test_train_negative_eval_episodes_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "CartPole-v1", *TINY_TRAIN, "--eval-episodes", "-3"])
    assert exit_info.value.code == 2
    assert "argument --eval-episodes" in capsys.readouterr().err


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_bench_run_bad_workers_is_refused_before_the_output_folder_exists(
    workers, tmp_path, capsys
):
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "budget": 128,
                "eval": {"every": 64, "episodes": 2},
                "seeds": 1,
                "envs": [{"id": "CartPole-v1", "name": "cartpole", "max_score": 500}],
                "methods": [{"name": "ppo", "agent": {"backend": "sb3", "algo": "PPO"}}],
            }
        )
    )
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "run", str(suite), "--out", str(out), "--workers", workers])
    assert exit_info.value.code == 2
    assert "argument --workers" in capsys.readouterr().err
    assert not out.exists()


def test_term_spec_with_a_bad_value_names_the_spec(capsys):
    assert main(["train", "CartPole-v1", *TINY_TRAIN, "--term", "count_bonus:abc"]) == 2
    assert "term spec 'count_bonus:abc'" in _one_line_error(capsys.readouterr().err)
    assert main(["train", "CartPole-v1", *TINY_TRAIN, "--term", "step_penalty:-1,weight=x"]) == 2
    assert "'step_penalty:-1,weight=x'" in _one_line_error(capsys.readouterr().err)


def test_suite_term_with_a_bad_value_says_where():
    from rewardshaping.registry import ConfigError, make_term

    with pytest.raises(ConfigError, match=r"methods\[0\]\.terms\[0\]: .*count_bonus"):
        make_term({"type": "count_bonus", "beta": "abc"}, where="methods[0].terms[0]")


def test_no_sub_command_exits_2_with_the_usage_on_stderr(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage: rewardshaping" in captured.err and "error:" in captured.err


# -- E: atomic writes get ordinary permissions ---------------------------------------------------
def test_atomic_write_gives_ordinary_permissions_under_the_umask(tmp_path):
    from rewardshaping.bench.store import atomic_write

    for umask, mode in [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)]:
        path = tmp_path / f"umask{umask:03o}" / "report.md"
        old = os.umask(umask)
        try:
            atomic_write(path, "# report\n")
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == mode, f"umask {umask:03o}"
        assert [p.name for p in path.parent.iterdir()] == ["report.md"]  # no temp file left

"""CLI fixes from a review: the suite keeps its own name, TOML is imported only where needed,
``--env-kwargs`` reads Python's booleans, and ``train`` checks the shaping discount, keeps an
explicit ``checkpoint_every=0``, leaves run.yaml alone when it refuses a run, takes a single
term spec string from a config file and compares term specs by meaning on resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from rewardshaping.bench.suite import load_suite
from rewardshaping.cli import main
from rewardshaping.metrics.command import parse_env_kwargs

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--no-progress", "--device", "cpu", "--eval-episodes", "1", "--set", "num_steps=32"]


def test_a_suite_keeps_its_name_after_its_methods_are_read():
    assert load_suite(ROOT / "experiments" / "quickstart.yaml").name == "quickstart"


def test_the_cli_starts_without_tomllib():
    # Python 3.10 has no tomllib: commands that never read TOML must still start. In a fresh
    # interpreter, so that no module imported here is replaced.
    code = (
        "import sys; sys.modules['tomllib'] = None\n"
        "from rewardshaping.cli import build_parser; build_parser()\n"
        "from rewardshaping.bench.suite import load_suite\n"
        "print(load_suite('experiments/quickstart.yaml').name)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "quickstart"


def test_env_kwargs_read_python_booleans():
    assert parse_env_kwargs(["a=False", "b=True", "c=None", "d=false"]) == {
        "a": False, "b": True, "c": None, "d": False,
    }  # fmt: skip


def test_train_refuses_shaping_with_another_discount_than_the_agent(tmp_path, capsys):
    code = main(["train", "rewardshaping/KeyDoor-Fixed-v0", "--set", "env_kwargs={obs_mode: image}",
                 "--term", "pbrs_goal_distance", "--set", "gamma=0.9", "--total-timesteps", "64",
                 "--log-dir", str(tmp_path), *FAST])  # fmt: skip
    assert code == 2
    assert "gamma" in capsys.readouterr().err
    assert not (tmp_path / "run.yaml").exists()


def test_an_explicit_checkpoint_every_of_zero_is_kept(tmp_path):
    args = ["train", "CartPole-v1", "--total-timesteps", "64", "--num-envs", "2",
            "--set", "checkpoint_every=0", "--log-dir", str(tmp_path), *FAST]  # fmt: skip
    assert main(args) == 0
    assert yaml.safe_load((tmp_path / "run.yaml").read_text())["checkpoint_every"] == 0


def test_a_refused_run_leaves_the_earlier_run_resumable(tmp_path):
    base = ["train", "CartPole-v1", "--total-timesteps", "64", "--num-envs", "2",
            "--log-dir", str(tmp_path), *FAST]  # fmt: skip
    assert main(base) == 0
    before = (tmp_path / "run.yaml").read_text()
    assert main([*base, "--set", "learning_rate=-1"]) == 2
    assert (tmp_path / "run.yaml").read_text() == before
    assert main(["train", "--resume", str(tmp_path), "--total-timesteps", "128", *FAST]) == 0


def test_a_config_file_may_give_one_term_spec_as_a_string(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("env_id: CartPole-v1\nterms: step_penalty:-0.1\n")
    out = tmp_path / "out"
    code = main(["train", "--config", str(path), "--total-timesteps", "64", "--log-dir",
                 str(out), *FAST])  # fmt: skip
    assert code == 0
    assert yaml.safe_load((out / "run.yaml").read_text())["terms"] == ["step_penalty:-0.1"]


def test_resume_accepts_the_same_term_spec_written_differently(tmp_path):
    first = ["train", "CartPole-v1", "--total-timesteps", "64", "--num-envs", "2", "--term",
             "step_penalty:-0.05,weight=2", "--log-dir", str(tmp_path), *FAST]  # fmt: skip
    assert main(first) == 0
    again = ["train", "--resume", str(tmp_path), "--term", "step_penalty:-0.05,weight=2.0",
             "--total-timesteps", "128", *FAST]  # fmt: skip
    assert main(again) == 0

"""Smoke tests of the reward-machine experiment scripts (tiny budgets; the figures are in
``experiments/rm_results.md``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_water_crm_recorder_adds_only_the_other_machine_states():
    """The DQN stores the real transition itself; the CRM arm must add exactly the other live
    machine states' experiences (task 2: 4 live states, so 3 extra rows per env)."""
    script = _load("rm_water_vec_dqn")
    envs = script.make_envs("2", num_envs=3)
    windows: list[tuple[int, int]] = []
    recorder = script.Recorder(envs, crm=True, window=10**9, sink=lambda *w: windows.append(w))
    obs, _ = envs.reset(seed=0)
    actions = np.array([1, 2, 3])
    next_obs, reward, term, trunc, info = envs.step(actions)
    from rewardshaping.transitions import Transitions

    batch = Transitions.from_arrays(obs, actions, next_obs, reward, term, trunc, info)
    extra = recorder(batch)
    live = int((~envs.machine.is_terminal).sum())
    assert len(extra) == 3 * (live - 1)
    real = obs[:, -len(envs.machine.states) :].argmax(1)  # every env starts in state 0
    assert (real == 0).all()
    assert (extra.obs[:, -len(envs.machine.states) :].argmax(1) != 0).all()
    assert (
        script.Recorder(envs, crm=False, window=10**9, sink=lambda *w: windows.append(w))(batch)
        is None
    )


def test_water_vec_dqn_script_writes_one_line_per_window(tmp_path, capsys):
    script = _load("rm_water_vec_dqn")
    out = tmp_path / "water.jsonl"
    argv = sys.argv
    sys.argv = [
        "rm_water_vec_dqn.py", "--task", "1", "--arms", "crm", "random", "--steps", "400",
        "--envs", "4", "--window", "200", "--learning-starts", "100", "--batch", "16",
        "--hidden", "16", "--device", "cpu", "--out", str(out),
    ]  # fmt: skip
    try:
        script.main()
        sys.argv = ["rm_water_vec_dqn.py", "--summarise", str(out)]
        script.main()
    finally:
        sys.argv = argv
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["arm"], r["env_steps"]) for r in rows] == [
        ("crm", 200), ("crm", 400), ("random", 200), ("random", 400),
    ]  # fmt: skip
    assert "task 1 crm" in capsys.readouterr().out


def test_craft_ppo_script_trains_and_evaluates(capsys):
    script = _load("rm_craft_ppo")
    argv = sys.argv
    sys.argv = ["rm_craft_ppo.py", "--task", "paper", "--steps", "2048", "--checkpoints", "1",
                "--seeds", "0", "--envs", "2"]  # fmt: skip
    try:
        script.main()
    finally:
        sys.argv = argv
    assert "seed 0: 2048: " in capsys.readouterr().out  # 4 iterations of 2 envs x 256 steps

"""The runner end to end: process pool, local Ray, kill + resume, corrupt folders, failures."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rewardshaping.bench import parse_suite, run_sweep
from rewardshaping.bench.report import write_report
from rewardshaping.bench.store import RunFolder

AGENT = {
    "backend": "sb3",
    "algo": "PPO",
    "n_envs": 2,
    "kwargs": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
}


def suite_dict(budget=128, every=64, seeds=2, methods=None):
    return {
        "name": "tiny",
        "budget": budget,
        "eval": {"every": every, "episodes": 2},
        "seeds": seeds,
        "envs": [{"id": "CartPole-v1", "name": "cartpole", "max_score": 500}],
        "methods": methods
        or [
            {"name": "ppo", "agent": AGENT},
            {"name": "ppo+p", "agent": AGENT, "terms": [{"type": "step_penalty", "value": -0.1}]},
        ],
    }


def metrics(out):
    return {
        p.relative_to(out).as_posix(): p.read_text() for p in sorted(Path(out).rglob("metrics.csv"))
    }


def test_process_pool_sweep_and_report(tmp_path):
    out = tmp_path / "out"
    res = run_sweep(parse_suite(suite_dict()), out, workers=2, progress=False)
    assert not res.failed and len(res) == 4
    index = (out / "index.csv").read_text().splitlines()
    assert len(index) == 5 and all(",done," in line for line in index[1:])
    rows = (out / "cartpole/ppo+p/seed0/metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,eval_return,eval_success,train_return")
    assert "term/step_penalty" in rows[0] and len(rows) == 3  # header + 2 evaluations
    report = write_report(out, reps=200)
    text = report.read_text()
    assert "| ppo+p |" in text and "P(method > ppo)" in text
    for png in ("aggregate.png", "curves.png", "terms.png"):
        assert (report.parent / png).stat().st_size > 1000
    # A finished sweep resumes to a no-op; a new sweep into the same folder is refused.
    assert (
        metrics(out) == metrics(out)
        and not run_sweep(parse_suite(suite_dict()), out, resume=True, progress=False).failed
    )
    with pytest.raises(FileExistsError, match="--resume"):
        run_sweep(parse_suite(suite_dict()), out, progress=False)
    with pytest.raises(ValueError, match="different suite"):
        run_sweep(parse_suite(suite_dict(budget=256)), out, resume=True, progress=False)


def test_local_ray_sweep(tmp_path):
    pytest.importorskip("ray")
    res = run_sweep(
        parse_suite(suite_dict(seeds=1)), tmp_path / "ray", backend="ray", workers=2, progress=False
    )
    assert not res.failed and len(res) == 2
    ref = run_sweep(parse_suite(suite_dict(seeds=1)), tmp_path / "pool", workers=2, progress=False)
    assert not ref.failed
    assert metrics(tmp_path / "ray") == metrics(tmp_path / "pool")  # same numbers either way


def test_corrupt_and_partial_runs_are_rerun(tmp_path):
    out = tmp_path / "out"
    s = parse_suite(suite_dict(seeds=1))
    run_sweep(s, out, workers=2, progress=False)
    good = metrics(out)
    # Corrupt one metrics file (checksum mismatch), truncate the other's status.
    (out / "cartpole/ppo/seed0/metrics.csv").write_text("step,eval_return\n1,2\n")
    (out / "cartpole/ppo+p/seed0/status.json").write_text('{"status": "do')
    assert not RunFolder(out, "cartpole/ppo/seed0").is_done(s.budget)
    assert not RunFolder(out, "cartpole/ppo+p/seed0").is_done(s.budget)
    for ck in out.rglob("checkpoint.pkl"):
        ck.write_bytes(b"garbage")  # unreadable checkpoints mean: start over
    run_sweep(s, out, workers=2, resume=True, progress=False)
    assert metrics(out) == good


def test_failures_are_recorded_and_do_not_stop_the_sweep(tmp_path):
    bad_agent = {
        **AGENT,
        "kwargs": {"n_steps": 32, "batch_size": 32, "policy_kwargs": {"no_such_arg": 1}},
    }
    s = parse_suite(
        suite_dict(
            seeds=1,
            methods=[{"name": "ok", "agent": AGENT}, {"name": "broken", "agent": bad_agent}],
        )
    )
    res = run_sweep(s, tmp_path / "out", workers=2, progress=False)
    assert res.failed == ["cartpole/broken/seed0"]
    status = json.loads((tmp_path / "out/cartpole/broken/seed0/status.json").read_text())
    assert status["status"] == "failed" and "no_such_arg" in status["traceback"]
    assert res["cartpole/ok/seed0"]["status"] == "done"


def test_sigterm_midway_then_resume_equals_uninterrupted(tmp_path):
    suite_file = tmp_path / "suite.yaml"
    suite_file.write_text(yaml.safe_dump(suite_dict(budget=1024, every=128, seeds=2)))
    exe = str(Path(sys.executable).with_name("rewardshaping"))
    cmd = [exe, "bench", "run", str(suite_file), "--workers", "1", "--no-progress"]

    ref = subprocess.run(cmd + ["--out", str(tmp_path / "ref")], capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr

    out = tmp_path / "killed"
    proc = subprocess.Popen(
        cmd + ["--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.time() + 120
    # Kill once the first run is done and the second has written a checkpoint midway.
    while time.time() < deadline:
        done = [p for p in out.rglob("status.json") if '"done"' in p.read_text()]
        partial = [
            p
            for p in out.rglob("metrics.csv")
            if p.parent / "status.json" not in done and len(p.read_text().splitlines()) >= 3
        ]
        if done and partial:
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the sweep never reached a midway point")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    assert len([p for p in out.rglob("status.json") if '"done"' in p.read_text()]) < 4

    resumed = subprocess.run(cmd + ["--out", str(out), "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    statuses = [json.loads(p.read_text()) for p in out.rglob("status.json")]
    assert all(s["status"] == "done" for s in statuses) and len(statuses) == 4
    # At least one run continued from a checkpoint rather than starting over ...
    assert max(s["resumed_from_step"] for s in statuses) > 0
    # ... and the resumed sweep ends with exactly the uninterrupted sweep's numbers.
    assert metrics(out) == metrics(tmp_path / "ref")


def test_toolkit_backend_resumes_exactly_after_a_failure(tmp_path, monkeypatch):
    """A run that dies after its first evaluation resumes from the checkpoint to the same end."""
    from rewardshaping.bench import runner
    from rewardshaping.bench import trainers as tr

    agent = {"backend": "toolkit", "n_envs": 4, "kwargs": {"num_steps": 32}}
    s = parse_suite(
        {
            "name": "tk",
            "budget": 384,
            "eval": {"every": 128, "episodes": 4},
            "seeds": [3],
            "envs": [{"id": "rewardshaping/KeyDoor-Easy-v0", "name": "easy"}],
            "methods": [
                {
                    "name": "ppo+count",
                    "agent": agent,
                    "terms": [{"type": "count_bonus", "beta": 0.05}],
                }
            ],
        }
    )
    (run,) = s.runs()
    ref = runner.run_one(run.to_json(), str(tmp_path / "ref"))
    assert ref["status"] == "done"

    calls = {"n": 0}
    original = tr.ToolkitPPOTrainer.evaluate

    def flaky(self, episodes, seed):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return original(self, episodes, seed)

    monkeypatch.setattr(tr.ToolkitPPOTrainer, "evaluate", flaky)
    out = tmp_path / "crashed"
    assert runner.run_one(run.to_json(), str(out))["status"] == "failed"
    monkeypatch.setattr(tr.ToolkitPPOTrainer, "evaluate", original)
    assert runner.run_one(run.to_json(), str(out))["status"] == "done"
    status = json.loads((out / run.run_id / "status.json").read_text())
    assert status["resumed_from_step"] == 128
    assert metrics(out) == metrics(tmp_path / "ref")


def test_report_plots_methods_with_different_numbers_of_evaluations(tmp_path):
    # A PPO whose rollouts overshoot eval_every logs fewer rows than a finer method.
    suite = {"name": "s", "envs": [{"name": "E", "max_score": 1.0, "min_score": 0.0}],
             "methods": [{"name": "fine"}, {"name": "coarse"}], "seeds": [0, 1, 2],
             "budget": 1000, "eval_episodes": 5}  # fmt: skip
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    for method, steps in (("fine", range(100, 1001, 100)), ("coarse", (512, 1024))):
        for seed in suite["seeds"]:
            folder = RunFolder(tmp_path, f"E/{method}/seed{seed}")
            rows = [{"step": st, "eval_return": 0.1 * seed + st / 2000, "eval_success": 0.5,
                     "train_return": 0.0} for st in steps]  # fmt: skip
            folder.set_status("done", metrics_sha256=folder.write_metrics(rows))
    report = write_report(tmp_path, reps=50, plots=True)
    assert (report.parent / "curves.png").exists()

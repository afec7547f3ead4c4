"""Run a suite: expand (env x method x seed), execute in parallel, resume after a kill.

Local default: a process pool sized to the machine (no service to start). ``backend="ray"``
sends the same runs to a Ray cluster (``RAY_ADDRESS``) or a local Ray; the output folder must
then be on a file system every worker sees.

Each run trains one evaluation interval at a time and writes, atomically, its metrics and a
checkpoint after each; a killed sweep rerun with ``resume=True`` skips completed runs, continues
interrupted ones from their last checkpoint and reruns corrupt ones. A failing run records its
traceback and the sweep goes on.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sys
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rewardshaping.bench.store import RunFolder, atomic_write, write_index
from rewardshaping.bench.suite import RunSpec, Suite

__all__ = ["run_one", "run_sweep", "SweepResult"]


def _eval_seed(run_seed: int, k: int) -> int:
    # Distinct from training seeds and from other evaluations; same on every resume.
    return 1_000_003 * (run_seed + 1) + 1009 * k


def run_one(spec_json: dict, out: str) -> dict[str, Any]:
    """Train and evaluate one run to its budget, continuing from its checkpoint if any.

    Returns a summary ``{"run_id", "status", "eval_return", "eval_success"}``; failures are
    recorded (status.json holds the traceback), not raised.
    """
    from rewardshaping.bench.trainers import make_trainer

    run = RunSpec.from_json(spec_json)
    folder = RunFolder(Path(out), run.run_id)
    try:
        if folder.is_done(run.budget):
            rows = _rows(folder)
            return _summary(run, "done", rows)
        folder.write_spec(run.to_json())
        ckpt = folder.load_checkpoint()
        rows = list(ckpt["rows"]) if ckpt else []
        resumed_from = rows[-1]["step"] if rows else 0
        folder.set_status("running", resumed_from_step=resumed_from)
        trainer = make_trainer(run, ckpt["trainer"] if ckpt else None)
        try:
            while trainer.num_timesteps < run.budget:
                before = trainer.num_timesteps
                stats = trainer.train(min(run.eval_every, run.budget - trainer.num_timesteps))
                if trainer.num_timesteps <= before:
                    raise RuntimeError(
                        f"the {run.method.agent.get('backend')} trainer made no progress at step "
                        f"{before} of {run.budget}; its own step limit may be below the budget"
                    )
                ev = trainer.evaluate(run.eval_episodes, _eval_seed(run.seed, len(rows)))
                rows.append({"step": trainer.num_timesteps, **ev, **stats})
                folder.write_metrics(rows)
                folder.save_checkpoint({"trainer": trainer.state(), "rows": rows})
        finally:
            trainer.close()
        sha = folder.write_metrics(rows)
        folder.set_status("done", metrics_sha256=sha, resumed_from_step=resumed_from)
        return _summary(run, "done", rows)
    except Exception:
        tb = traceback.format_exc()
        folder.set_status("failed", traceback=tb)
        return {"run_id": run.run_id, "status": "failed", "error": tb.strip().splitlines()[-1]}


def _rows(folder: RunFolder) -> list[dict]:
    from rewardshaping.bench.store import read_metrics

    return read_metrics(folder.metrics_path)


def _summary(run: RunSpec, status: str, rows: list[dict]) -> dict[str, Any]:
    last = rows[-1] if rows else {}
    return {
        "run_id": run.run_id,
        "status": status,
        "eval_return": last.get("eval_return"),
        "eval_success": last.get("eval_success"),
    }


class SweepResult(dict):
    """run_id -> summary, with the lists of failed and completed run ids."""

    @property
    def failed(self) -> list[str]:
        return [k for k, v in self.items() if v["status"] != "done"]


def _prepare(suite: Suite, out: Path, resume: bool) -> list[RunSpec]:
    out.mkdir(parents=True, exist_ok=True)
    suite_file = out / "suite.json"
    suite_json = json.dumps(asdict(suite), indent=1, default=list)
    if suite_file.exists():
        if not resume:
            raise FileExistsError(
                f"{out} already holds a sweep; pass resume=True (--resume) to continue it, "
                "or choose another output folder"
            )
        old = json.loads(suite_file.read_text())
        old.pop("source", None)
        new = json.loads(suite_json)
        new.pop("source", None)
        if old != new:
            raise ValueError(f"{out} holds a sweep of a different suite; use another folder")
    atomic_write(suite_file, suite_json)
    return suite.runs()


def run_sweep(
    suite: Suite,
    out: str | Path,
    *,
    backend: str = "process",
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Run every (env, method, seed) of ``suite`` into ``out``; see the module docstring."""
    out = Path(out)
    runs = _prepare(suite, out, resume)
    todo = [r for r in runs if not RunFolder(out, r.run_id).is_done(r.budget)]
    results = SweepResult()
    for r in runs:
        if r not in todo:
            results[r.run_id] = _summary(r, "done", _rows(RunFolder(out, r.run_id)))
    bar = _Progress(len(runs), len(runs) - len(todo), enabled=progress)
    workers = workers or os.cpu_count() or 1
    if backend == "process":
        _run_process_pool(todo, out, workers, results, bar)
    elif backend == "ray":
        _run_ray(todo, out, workers, results, bar)
    else:
        raise ValueError(f"unknown backend {backend!r}; use 'process' or 'ray'")
    bar.close()
    write_index(out)
    return results


def _run_process_pool(todo, out, workers, results, bar) -> None:
    if not todo:
        return
    # spawn: workers start clean (no inherited torch/Numba threads or open files).
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=mp.get_context("spawn")
    )
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        # Stop at once: workers die mid-interval; their last checkpoints are intact (atomic).
        for p in list(getattr(pool, "_processes", {}).values()):
            p.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        futures = {pool.submit(run_one, r.to_json(), str(out)): r for r in todo}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                summary = f.result()
                results[summary["run_id"]] = summary
                bar.update(summary)
    finally:
        signal.signal(signal.SIGTERM, previous)
        pool.shutdown(wait=True, cancel_futures=True)


def _run_ray(todo, out, workers, results, bar) -> None:
    try:
        import ray
    except ImportError:
        raise ImportError("the ray backend needs Ray: pip install 'rewardshaping[ray]'") from None
    if not todo:
        return
    started_here = not ray.is_initialized()
    if started_here:
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(run_one)
        refs = [remote.remote(r.to_json(), str(out)) for r in todo]
        while refs:
            done, refs = ray.wait(refs, num_returns=1)
            summary = ray.get(done[0])
            results[summary["run_id"]] = summary
            bar.update(summary)
    finally:
        if started_here:
            ray.shutdown()


class _Progress:
    """Runs done, ETA and the latest returns (tqdm), or nothing."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="run", desc="sweep", file=sys.stderr)

    def update(self, summary: dict) -> None:
        if self.bar is None:
            return
        ret = summary.get("eval_return")
        self.bar.set_postfix_str(
            f"{summary['run_id']}: {summary['status']}"
            + (f", return {ret:.3f}" if isinstance(ret, float) else "")
        )
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

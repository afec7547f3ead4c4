"""``rewardshaping bench``: run a suite, resume it, report it.

rewardshaping bench run SUITE.yaml --out runs/quickstart [--backend process|ray]
                        [--workers N] [--resume] [--report]
rewardshaping bench report runs/quickstart
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rewardshaping.cli import Command, int_at_least

__all__ = ["COMMAND"]


def _add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run every (env, method, seed) of a suite file")
    run.add_argument("suite", help="suite file (.yaml, .yml, .toml or .json)")
    run.add_argument("--out", required=True, help="output folder (one sub-folder per run)")
    run.add_argument(
        "--backend",
        choices=["process", "ray"],
        default="process",
        help="process pool on this machine (default) or Ray (RAY_ADDRESS or local)",
    )
    run.add_argument(
        "--workers", type=int_at_least(1), default=None, help="parallel runs, >= 1 (default: CPUs)"
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed sweep: skip done runs, resume interrupted ones",
    )
    run.add_argument("--report", action="store_true", help="write the report when done")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    rep = sub.add_parser("report", help="aggregate a sweep folder into report.md and plots")
    rep.add_argument("run_dir")
    rep.add_argument("--reps", type=int_at_least(1), default=2000, help="bootstrap resamples")
    rep.add_argument("--no-plots", action="store_true")


def _run(args: argparse.Namespace) -> int:
    from rewardshaping.bench.report import write_report
    from rewardshaping.bench.runner import run_sweep
    from rewardshaping.bench.suite import load_suite
    from rewardshaping.registry import ConfigError

    # User errors (no such folder, a bad suite) end with one line, not a traceback.
    if args.bench_command == "report":
        try:
            path = write_report(args.run_dir, reps=args.reps, plots=not args.no_plots)
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"report: {path}")
        return 0
    if Path(args.suite).is_dir():
        print(f"error: {args.suite} is a folder; name a suite file", file=sys.stderr)
        return 2
    try:
        suite = load_suite(args.suite)
    except (ConfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        result = run_sweep(
            suite,
            args.out,
            backend=args.backend,
            workers=args.workers,
            resume=args.resume,
            progress=not args.no_progress,
        )
    except (FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    done = len(result) - len(result.failed)
    print(f"{done}/{len(result)} runs done in {args.out}")
    for run_id in result.failed:
        print(
            f"FAILED {run_id}: {result[run_id].get('error')} (see {args.out}/{run_id}/status.json)"
        )
    if args.report and done:
        try:
            print(f"report: {write_report(args.out)}")
        except (OSError, ValueError) as e:
            print(f"error: report: {e}", file=sys.stderr)
            return 2
    return 1 if result.failed else 0


COMMAND = Command("bench", "run benchmark suites and report them", _add_arguments, _run)

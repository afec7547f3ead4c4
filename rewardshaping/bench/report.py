"""The report of a sweep: a Markdown table with confidence intervals and PNG plots.

Scores are the final evaluation returns normalised per env with the suite's
``(return - min_score) / (max_score - min_score)``. Written to ``RUN_DIR/report/``:

* ``report.md``: IQM, mean, median, optimality gap [95% CI] per method; probability of
  improvement over the suite's first method; final success per env and method; the runs that
  have not finished;
* ``aggregate.png``: the interval estimates; ``curves.png``: IQM sample-efficiency curves with
  bands; ``terms.png``: what each method's agent was paid for over training (mean per-episode
  sum of every reward term).

Every finished run counts: an env where fewer seeds have finished enters the statistics with
the runs it has (:class:`~rewardshaping.bench.aggregate.RaggedScores`). A method with no finished
run on some env gets no aggregate (a mean over fewer envs is not comparable); the report lists it
as incomplete, with those envs. The base of "P(method > base)" is always the suite's first
method; if that one is incomplete the report says so rather than compare against another.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rewardshaping.bench.aggregate import (
    METRICS,
    RaggedScores,
    interval_estimates,
    iqm,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)
from rewardshaping.bench.store import RunFolder, atomic_write, read_metrics

__all__ = ["load_results", "write_report"]


def load_results(run_dir: str | Path) -> dict:
    """``{"suite": ..., "runs": {(env, method, seed): rows}}`` of the completed runs."""
    run_dir = Path(run_dir)
    suite_path = run_dir / "suite.json"
    if not suite_path.exists():
        raise FileNotFoundError(f"{run_dir} has no suite.json: is it the output folder of a sweep?")
    suite = json.loads(suite_path.read_text())
    runs = {}
    for env in suite["envs"]:
        for method in suite["methods"]:
            for seed in suite["seeds"]:
                run_id = f"{env['name']}/{method['name']}/seed{seed}"
                folder = RunFolder(run_dir, run_id)
                if folder.is_done(suite["budget"]):
                    runs[(env["name"], method["name"], seed)] = read_metrics(folder.metrics_path)
    return {"suite": suite, "runs": runs}


def _normalise(value: float, env: dict) -> float:
    span = env["max_score"] - env["min_score"]
    return (value - env["min_score"]) / span if span else value


def _env_scores(
    res: dict, column: str, step_index: int, only: str | None
) -> dict[str, list[list[float]]]:
    """``{method: [scores of its finished runs on each env, in suite order]}``."""
    suite, runs = res["suite"], res["runs"]
    out = {}
    for method in suite["methods"]:
        if only is not None and method["name"] != only:
            continue
        cols = []
        for env in suite["envs"]:
            vals = []
            for s in suite["seeds"]:
                rows = runs.get((env["name"], method["name"], s))
                if rows is not None:
                    vals.append(_score(rows, column, step_index, env, f"{method['name']} seed {s}"))
            cols.append(vals)
        out[method["name"]] = cols
    return out


def _score(rows: list[dict], column: str, step_index: int, env: dict, run: str) -> float:
    value = _normalise(rows[step_index].get(column, float("nan")), env)
    if not np.isfinite(value):
        # A finished run without a score is a broken file, not a run to leave out unsaid.
        raise ValueError(f"{env['name']} {run}: {column} is {value} at evaluation {step_index}")
    return value


def _score_matrices(
    res: dict, column: str = "eval_return", step_index: int = -1, only: str | None = None
) -> dict[str, RaggedScores]:
    """``{method: scores}`` of the methods with a finished run on every env, each env with all
    its finished runs (tasks may have different run counts). ``only``: one method's scores (its
    runs may have more evaluation rows than the others')."""
    return {
        m: RaggedScores(cols)
        for m, cols in _env_scores(res, column, step_index, only).items()
        if all(cols)
    }


def _missing_envs(res: dict) -> dict[str, list[str]]:
    """``{method: envs where it has no finished run}`` for the incomplete methods."""
    envs = [e["name"] for e in res["suite"]["envs"]]
    out = {}
    for m in res["suite"]["methods"]:
        missing = [
            e
            for e in envs
            if not any((e, m["name"], s) in res["runs"] for s in res["suite"]["seeds"])
        ]
        if missing:
            out[m["name"]] = missing
    return out


def _unfinished(res: dict) -> list[str]:
    """One line per (method, env) with runs that have not finished, naming their seeds."""
    suite, lines = res["suite"], []
    for m in suite["methods"]:
        for e in suite["envs"]:
            seeds = [s for s in suite["seeds"] if (e["name"], m["name"], s) not in res["runs"]]
            if seeds:
                done = len(suite["seeds"]) - len(seeds)
                lines.append(
                    f"- {m['name']} on {e['name']}: seed(s) {', '.join(map(str, seeds))} "
                    f"({done} of {len(suite['seeds'])} finished)"
                )
    return lines


def _fmt(p: float, lo: float, hi: float) -> str:
    return f"{p:.3f} [{lo:.3f}, {hi:.3f}]"


def write_report(run_dir: str | Path, reps: int = 2000, plots: bool = True) -> Path:
    """Aggregate the sweep in ``run_dir``; returns the path of ``report.md``."""
    run_dir = Path(run_dir)
    res = load_results(run_dir)
    if not res["runs"]:
        raise ValueError(f"{run_dir}: no completed runs to report")
    scores = _score_matrices(res)
    est = interval_estimates(scores, reps=reps)
    lines = _header(res, reps)
    lines += _score_table(res, scores, est, reps)
    lines += _success_table(res)
    unfinished = _unfinished(res)
    if unfinished:
        lines += ["", "Runs not finished (not in any statistic):", "", *unfinished]
    out = run_dir / "report"
    if plots and scores:
        _plots(res, scores, est, out, reps)
        lines += [
            "",
            "![aggregate](aggregate.png)",
            "",
            "![curves](curves.png)",
            "",
            "![terms](terms.png)",
        ]
    elif plots:
        lines += ["", "No plots: no method has a finished run on every env."]
    path = out / "report.md"
    atomic_write(path, "\n".join(lines) + "\n")
    return path


def _header(res: dict, reps: int) -> list[str]:
    suite = res["suite"]
    total = len(suite["envs"]) * len(suite["methods"]) * len(suite["seeds"])
    return [
        f"# {suite['name']}: {len(res['runs'])} completed runs (of {total})",
        "",
        f"Budget {suite['budget']} env steps per run; {len(suite['seeds'])} seeds; "
        f"scores = final evaluation return ({suite['eval_episodes']} episodes), normalised per env. "
        "Intervals: 95% stratified bootstrap (rliable's methodology), "
        f"{reps} resamples. Every finished run counts: an env where fewer runs have finished "
        "enters with the runs it has.",
        "",
    ]


def _score_table(res: dict, scores: dict, est: dict, reps: int) -> list[str]:
    """The aggregate table: every method of the suite, incomplete ones marked as such."""
    methods = [m["name"] for m in res["suite"]["methods"]]
    base = methods[0]  # the suite's first method, whether or not it is complete
    missing = _missing_envs(res)
    lines = [
        "| method | " + " | ".join(METRICS) + f" | P(method > {base}) |",
        "| --- |" + " --- |" * (len(METRICS) + 1),
    ]
    for m in methods:
        if m not in scores:
            lines.append(f"| {m} (incomplete) |" + " - |" * (len(METRICS) + 1))
            continue
        poi = (
            "-"
            if m == base or base not in scores
            else _fmt(*probability_of_improvement_ci(scores[m], scores[base], reps))
        )
        lines.append(f"| {m} | " + " | ".join(_fmt(*est[m][k]) for k in METRICS) + f" | {poi} |")
    notes = [_incomplete_note(res, m, envs) for m, envs in missing.items()]
    if base in missing:
        notes.append(
            f"- {base}, the base method of P(method > {base}), is incomplete: no probability of "
            "improvement is given (no other method is taken as the base in its place)."
        )
    return lines + ([""] + notes if notes else [])


def _incomplete_note(res: dict, method: str, missing: list[str]) -> str:
    finished = sum(1 for (_, m, _) in res["runs"] if m == method)
    left_out = (
        f"; its {finished} finished run(s) appear in the success table only" if finished else ""
    )
    return (
        f"- {method} is incomplete, so it has no aggregate: no finished run on "
        f"{', '.join(missing)}{left_out}."
    )


def _success_table(res: dict) -> list[str]:
    suite = res["suite"]
    methods = [m["name"] for m in suite["methods"]]
    lines = [
        "",
        "Final success rate (mean over finished seeds):",
        "",
        "| env | " + " | ".join(methods) + " |",
        "| --- |" + " --- |" * len(methods),
    ]
    for env in suite["envs"]:
        cells = []
        for m in methods:
            vals = [
                res["runs"][(env["name"], m, s)][-1]["eval_success"]
                for s in suite["seeds"]
                if (env["name"], m, s) in res["runs"]
            ]
            cells.append(f"{np.mean(vals):.2f}" if vals else "-")
        lines.append(f"| {env['name']} | " + " | ".join(cells) + " |")
    return lines


def _plots(res: dict, scores: dict, est: dict, out: Path, reps: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    methods = list(scores)
    fig, axes = plt.subplots(
        1, len(METRICS), figsize=(3.2 * len(METRICS), 0.6 + 0.5 * len(methods))
    )
    for ax, metric in zip(axes, METRICS, strict=True):
        for i, m in enumerate(methods):
            p, lo, hi = est[m][metric]
            ax.barh(i, hi - lo, left=lo, height=0.6, alpha=0.6, color=f"C{i}")
            ax.plot([p, p], [i - 0.3, i + 0.3], color="k")
        ax.set_yticks(range(len(methods)), methods if ax is axes[0] else [""] * len(methods))
        ax.set_title(metric)
    fig.tight_layout()
    fig.savefig(out / "aggregate.png", dpi=110)
    plt.close(fig)

    runs = res["runs"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, m in enumerate(methods):
        n_points = min(len(r) for (e, mm, s), r in runs.items() if mm == m)
        steps, mid, lo, hi = [], [], [], []
        for k in range(n_points):
            mat = _score_matrices(res, step_index=k, only=m)[m]
            steps.append(next(r[k]["step"] for (e, mm, s), r in runs.items() if mm == m))
            a, b = stratified_bootstrap_ci(mat, iqm, reps=max(reps // 4, 200), seed=k)
            mid.append(iqm(mat))
            lo.append(a)
            hi.append(b)
        ax.plot(steps, mid, label=m, color=f"C{i}")
        ax.fill_between(steps, lo, hi, alpha=0.2, color=f"C{i}")
    ax.set_xlabel("env steps")
    ax.set_ylabel("IQM normalised score")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 3.2), squeeze=False)
    for ax, m in zip(axes[0], methods, strict=True):
        rows = [r for (e, mm, s), r in runs.items() if mm == m]
        cols = sorted({k for r in rows for row in r for k in row if k.startswith("term/")})
        cols = cols or ["train_return"]  # unshaped: the env reward is all it was paid
        for j, col in enumerate(cols):
            n = min(len(r) for r in rows)
            steps = [rows[0][k]["step"] for k in range(n)]
            vals = [np.nanmean([r[k].get(col, np.nan) for r in rows]) for k in range(n)]
            label = "env_reward" if col == "train_return" else col.removeprefix("term/")
            ax.plot(steps, vals, label=label, color=f"C{j}")
        ax.set_title(m)
        ax.set_xlabel("env steps")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("mean per-episode sum")
    fig.tight_layout()
    fig.savefig(out / "terms.png", dpi=110)
    plt.close(fig)

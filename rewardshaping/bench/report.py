"""The report of a sweep: a Markdown table with confidence intervals and PNG plots.

Scores are the final evaluation returns normalised per env with the suite's
``(return - min_score) / (max_score - min_score)``. Written to ``RUN_DIR/report/``:

* ``report.md``: IQM, mean, median, optimality gap [95% CI] per method; probability of
  improvement over the first method; final success per env and method;
* ``aggregate.png``: the interval estimates; ``curves.png``: IQM sample-efficiency curves with
  bands; ``terms.png``: what each method's agent was paid for over training (mean per-episode
  sum of every reward term).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rewardshaping.bench.aggregate import (
    METRICS,
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


def _score_matrices(
    res: dict, column: str = "eval_return", step_index: int = -1, only: str | None = None
):
    # `only`: one method's matrix (its runs may have more evaluation rows than the others')
    suite, runs = res["suite"], res["runs"]
    out = {}
    for method in suite["methods"]:
        if only is not None and method["name"] != only:
            continue
        cols = []
        for env in suite["envs"]:
            vals = [
                _normalise(runs[(env["name"], method["name"], s)][step_index][column], env)
                for s in suite["seeds"]
                if (env["name"], method["name"], s) in runs
            ]
            cols.append(vals)
        n = min((len(c) for c in cols), default=0)
        if n:
            out[method["name"]] = np.array([c[:n] for c in cols]).T  # (runs, tasks)
    return out


def _fmt(p: float, lo: float, hi: float) -> str:
    return f"{p:.3f} [{lo:.3f}, {hi:.3f}]"


def write_report(run_dir: str | Path, reps: int = 2000, plots: bool = True) -> Path:
    """Aggregate the sweep in ``run_dir``; returns the path of ``report.md``."""
    run_dir = Path(run_dir)
    res = load_results(run_dir)
    suite = res["suite"]
    scores = _score_matrices(res)
    if not scores:
        raise ValueError(f"{run_dir}: no completed runs to report")
    est = interval_estimates(scores, reps=reps)
    methods = list(scores)
    base = methods[0]
    lines = [
        f"# {suite['name']}: {len(res['runs'])} completed runs",
        "",
        f"Budget {suite['budget']} env steps per run; {len(suite['seeds'])} seeds; "
        f"scores = final evaluation return ({suite['eval_episodes']} episodes), normalised per env. "
        "Intervals: 95% stratified bootstrap (rliable's methodology), "
        f"{reps} resamples.",
        "",
        "| method | " + " | ".join(METRICS) + f" | P(method > {base}) |",
        "| --- |" + " --- |" * (len(METRICS) + 1),
    ]
    for m in methods:
        poi = (
            "-"
            if m == base
            else _fmt(*probability_of_improvement_ci(scores[m], scores[base], reps))
        )
        lines.append(f"| {m} | " + " | ".join(_fmt(*est[m][k]) for k in METRICS) + f" | {poi} |")
    lines += [
        "",
        "Final success rate (mean over seeds):",
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
    out = run_dir / "report"
    if plots:
        _plots(res, scores, est, out, reps)
        lines += [
            "",
            "![aggregate](aggregate.png)",
            "",
            "![curves](curves.png)",
            "",
            "![terms](terms.png)",
        ]
    path = out / "report.md"
    atomic_write(path, "\n".join(lines) + "\n")
    return path


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

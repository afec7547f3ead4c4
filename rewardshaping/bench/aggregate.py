"""Aggregate scores across runs and tasks with stratified bootstrap confidence intervals.

Follows rliable (Agarwal et al. 2021, "Deep RL at the Edge of the Statistical Precipice"):
scores form a (runs x tasks) matrix of normalised scores; point estimates are

* IQM: the mean of the middle 50% of all run-task scores (25% trimmed from each end);
* mean and median: of the per-task mean scores;
* optimality gap: ``gamma - mean(min(score, gamma))`` (default gamma = 1);
* probability of improvement P(X > Y): per task, the Mann-Whitney statistic
  ``P(x > y) + P(x == y) / 2`` over all run pairs, averaged over tasks;

and intervals come from the stratified bootstrap: runs are resampled with replacement within
each task, independently per task (and per method), percentile intervals.
tests/test_bench_aggregate.py checks the point estimates against the rliable package.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "iqm",
    "mean",
    "median",
    "optimality_gap",
    "probability_of_improvement",
    "stratified_bootstrap_ci",
    "interval_estimates",
    "probability_of_improvement_ci",
    "METRICS",
]


def _matrix(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(
            f"scores must be a non-empty (runs, tasks) array, got shape {scores.shape}"
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    return scores


def _trim_mean(values: np.ndarray, cut: float) -> float:
    """Mean after dropping ``int(cut * n)`` values from each end of the sorted values (the rule
    of ``scipy.stats.trim_mean``, which rliable's IQM uses; numpy only, so the core install
    needs no SciPy)."""
    n = len(values)
    low = int(cut * n)
    return float(np.sort(values)[low : n - low].mean())


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all scores.

    Example:
        >>> iqm([[0.0], [1.0], [2.0], [100.0]])
        1.5
    """
    return _trim_mean(_matrix(scores).ravel(), 0.25)


def mean(scores: np.ndarray) -> float:
    """Mean over tasks of the per-task mean score."""
    return float(np.mean(np.mean(_matrix(scores), axis=0)))


def median(scores: np.ndarray) -> float:
    """Median over tasks of the per-task mean score."""
    return float(np.median(np.mean(_matrix(scores), axis=0)))


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> float:
    """How far below ``gamma`` the scores are, with scores above ``gamma`` counting as ``gamma``."""
    return float(gamma - np.mean(np.minimum(_matrix(scores), gamma)))


METRICS: dict[str, Callable[[np.ndarray], float]] = {
    "IQM": iqm,
    "Mean": mean,
    "Median": median,
    "Optimality gap": optimality_gap,
}


def _poi_task(x: np.ndarray, y: np.ndarray) -> float:
    greater = (x[:, None] > y[None, :]).mean()
    ties = (x[:, None] == y[None, :]).mean()
    return float(greater + 0.5 * ties)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y): a random run of X beats a random run of Y on a random task.

    Example:
        >>> probability_of_improvement([[1.0], [2.0]], [[0.0], [2.0]])
        0.625
    """
    x, y = _matrix(x), _matrix(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y need the same tasks, got {x.shape[1]} and {y.shape[1]}")
    return float(np.mean([_poi_task(x[:, t], y[:, t]) for t in range(x.shape[1])]))


def _resample(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    runs, tasks = scores.shape
    idx = rng.integers(0, runs, size=(runs, tasks))
    return np.take_along_axis(scores, idx, axis=0)


def stratified_bootstrap_ci(
    scores: np.ndarray,
    metric: Callable[[np.ndarray], float],
    reps: int = 2000,
    size: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """Percentile confidence interval of ``metric(scores)`` by stratified bootstrap.

    Example:
        >>> lo, hi = stratified_bootstrap_ci([[0.1], [0.2], [0.3], [0.4]], mean, reps=500)
        >>> 0.1 <= lo <= 0.25 <= hi <= 0.4
        True
    """
    scores = _matrix(scores)
    rng = np.random.default_rng(seed)
    values = np.array([metric(_resample(scores, rng)) for _ in range(reps)])
    alpha = (1.0 - size) / 2.0
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha))


def interval_estimates(
    score_dict: dict[str, np.ndarray], reps: int = 2000, size: float = 0.95, seed: int = 0
) -> dict[str, dict[str, tuple[float, float, float]]]:
    """``{method: {metric: (point, low, high)}}`` for every metric in :data:`METRICS`."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for k, (name, scores) in enumerate(score_dict.items()):
        out[name] = {}
        for j, (metric_name, fn) in enumerate(METRICS.items()):
            lo, hi = stratified_bootstrap_ci(scores, fn, reps, size, seed=seed + 1000 * k + j)
            out[name][metric_name] = (fn(scores), lo, hi)
    return out


def probability_of_improvement_ci(
    x: np.ndarray, y: np.ndarray, reps: int = 2000, size: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """P(X > Y) with a stratified bootstrap interval (X and Y resampled independently)."""
    x, y = _matrix(x), _matrix(y)
    rng = np.random.default_rng(seed)
    values = np.array(
        [probability_of_improvement(_resample(x, rng), _resample(y, rng)) for _ in range(reps)]
    )
    alpha = (1.0 - size) / 2.0
    return (
        probability_of_improvement(x, y),
        float(np.quantile(values, alpha)),
        float(np.quantile(values, 1.0 - alpha)),
    )

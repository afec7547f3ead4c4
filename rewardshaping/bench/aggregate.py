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

Tasks with different numbers of runs (a sweep where some runs have not finished) are given as
:class:`RaggedScores`, one array per task, and every function here accepts them in place of the
matrix: cutting every task to the smallest run count would throw finished runs away. The
definitions carry over unchanged: IQM and optimality gap over all run-task scores pooled (a task
with more runs weighs more, as a run does in rliable), mean and median of the per-task means,
P(X > Y) per task over that task's own runs, and the bootstrap resamples each task's own runs.
With equal counts the results are those of the matrix, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "RaggedScores",
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


class RaggedScores:
    """Scores of tasks with different numbers of runs: one 1-D array per task.

    Accepted by every function of this module in place of a (runs x tasks) matrix. Stored as a
    (runs x tasks) matrix padded with NaN below each task's own runs, so that with equal counts
    every statistic is computed by the very operations (and gives the very bits) of the matrix.

    Example:
        >>> s = RaggedScores([[0.1, 0.2, 0.3, 0.9], [0.5, 0.6]])
        >>> s.counts.tolist()
        [4, 2]
        >>> round(mean(s), 4), round(optimality_gap(s), 4)
        (0.4625, 0.5667)
    """

    def __init__(self, per_task) -> None:
        if isinstance(per_task, np.ndarray):
            # Iterating a matrix gives its rows (runs), not its tasks: refuse the mix-up.
            raise ValueError(
                "RaggedScores takes a list with one array of runs per task; pass a (runs, tasks) "
                "matrix to the aggregate functions directly"
            )
        cols = [np.asarray(c, dtype=np.float64) for c in per_task]
        if not cols:
            raise ValueError("RaggedScores needs at least one task")
        for t, c in enumerate(cols):
            if c.ndim != 1 or c.size == 0:
                raise ValueError(f"task {t}: expected a non-empty 1-D array of runs, got {c.shape}")
            if not np.isfinite(c).all():
                raise ValueError(f"task {t}: scores contain NaN or inf")
        counts = np.array([len(c) for c in cols])
        padded = np.full((len(cols), counts.max()), np.nan)
        for t, c in enumerate(cols):
            padded[t, : len(c)] = c
        # Transposed, not copied: the (runs, tasks) layout of np.array(cols).T, so that equal
        # counts reduce in the same order as that matrix.
        self._set(padded.T, counts)

    @classmethod
    def _padded(cls, values: np.ndarray, counts: np.ndarray) -> RaggedScores:
        """From an already checked padded matrix (no copy): matrices and bootstrap resamples."""
        out = cls.__new__(cls)
        out._set(values, counts)
        return out

    def _set(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.values = values
        self.counts = counts
        self.full = bool((counts == values.shape[0]).all())
        self.mask = np.arange(values.shape[0])[:, None] < counts[None, :]

    @property
    def tasks(self) -> int:
        return self.values.shape[1]

    def task(self, t: int) -> np.ndarray:
        """The runs of task ``t``."""
        return self.values[: self.counts[t], t]

    def __repr__(self) -> str:
        return f"RaggedScores(runs per task {self.counts.tolist()})"


def _scores(scores) -> RaggedScores:
    """Any accepted scores as a RaggedScores; a matrix keeps its array (same bits, same order)."""
    if isinstance(scores, RaggedScores):
        return scores
    m = _matrix(scores)
    return RaggedScores._padded(m, np.full(m.shape[1], m.shape[0]))


def _pooled(s: RaggedScores) -> np.ndarray:
    """All run-task scores; the matrix itself when no task lacks a run."""
    return s.values if s.full else s.values[s.mask]


def _task_means(s: RaggedScores) -> np.ndarray:
    if s.full:
        return np.mean(s.values, axis=0)
    return np.where(s.mask, s.values, 0.0).sum(axis=0) / s.counts


def _trim_mean(values: np.ndarray, cut: float) -> float:
    """Mean after dropping ``int(cut * n)`` values from each end of the sorted values (the rule
    of ``scipy.stats.trim_mean``, which rliable's IQM uses; numpy only, so the core install
    needs no SciPy)."""
    n = len(values)
    low = int(cut * n)
    return float(np.sort(values)[low : n - low].mean())


def iqm(scores: np.ndarray | RaggedScores) -> float:
    """Interquartile mean of all scores.

    Example:
        >>> iqm([[0.0], [1.0], [2.0], [100.0]])
        1.5
    """
    return _trim_mean(_pooled(_scores(scores)).ravel(), 0.25)


def mean(scores: np.ndarray | RaggedScores) -> float:
    """Mean over tasks of the per-task mean score."""
    return float(np.mean(_task_means(_scores(scores))))


def median(scores: np.ndarray | RaggedScores) -> float:
    """Median over tasks of the per-task mean score."""
    return float(np.median(_task_means(_scores(scores))))


def optimality_gap(scores: np.ndarray | RaggedScores, gamma: float = 1.0) -> float:
    """How far below ``gamma`` the scores are, with scores above ``gamma`` counting as ``gamma``
    (the mean over all run-task scores, as rliable's)."""
    return float(gamma - np.mean(np.minimum(_pooled(_scores(scores)), gamma)))


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


def probability_of_improvement(x: np.ndarray | RaggedScores, y: np.ndarray | RaggedScores) -> float:
    """P(X > Y): a random run of X beats a random run of Y on a random task.

    Example:
        >>> probability_of_improvement([[1.0], [2.0]], [[0.0], [2.0]])
        0.625
    """
    x, y = _scores(x), _scores(y)
    if x.tasks != y.tasks:
        raise ValueError(f"x and y need the same tasks, got {x.tasks} and {y.tasks}")
    return float(np.mean([_poi_task(x.task(t), y.task(t)) for t in range(x.tasks)]))


def _resample(scores, rng: np.random.Generator):
    """One stratified bootstrap sample: each task's runs drawn with replacement from its own."""
    if isinstance(scores, RaggedScores):
        return _resample_ragged(scores, rng)
    runs, tasks = scores.shape
    idx = rng.integers(0, runs, size=(runs, tasks))
    return np.take_along_axis(scores, idx, axis=0)


def _resample_ragged(s: RaggedScores, rng: np.random.Generator) -> RaggedScores:
    runs, tasks = s.values.shape
    # The matrix's draw when no run is missing, so equal counts resample as the matrix does.
    high = runs if s.full else s.counts
    idx = rng.integers(0, high, size=(runs, tasks))
    values = np.take_along_axis(s.values, idx, axis=0)
    if not s.full:
        values[~s.mask] = np.nan  # keep each task at its own number of runs
    return RaggedScores._padded(values, s.counts)


def _checked(scores):
    """Matrices validated as such; RaggedScores were validated when made."""
    return scores if isinstance(scores, RaggedScores) else _matrix(scores)


def stratified_bootstrap_ci(
    scores: np.ndarray | RaggedScores,
    metric: Callable[[np.ndarray], float],
    reps: int = 2000,
    size: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """Percentile confidence interval of ``metric(scores)`` by stratified bootstrap.

    ``metric`` is given resamples of the type of ``scores``: matrices, or :class:`RaggedScores`
    (which every metric of this module accepts).

    Example:
        >>> lo, hi = stratified_bootstrap_ci([[0.1], [0.2], [0.3], [0.4]], mean, reps=500)
        >>> 0.1 <= lo <= 0.25 <= hi <= 0.4
        True
    """
    scores = _checked(scores)
    rng = np.random.default_rng(seed)
    values = np.array([metric(_resample(scores, rng)) for _ in range(reps)])
    alpha = (1.0 - size) / 2.0
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha))


def interval_estimates(
    score_dict: dict[str, np.ndarray | RaggedScores],
    reps: int = 2000,
    size: float = 0.95,
    seed: int = 0,
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
    x: np.ndarray | RaggedScores,
    y: np.ndarray | RaggedScores,
    reps: int = 2000,
    size: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """P(X > Y) with a stratified bootstrap interval (X and Y resampled independently)."""
    x, y = _checked(x), _checked(y)
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

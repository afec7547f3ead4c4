"""Aggregation matches rliable on fixed score arrays."""

import numpy as np
import pytest
import rliable.metrics as rm

from rewardshaping.bench import aggregate as agg

RNG = np.random.default_rng(0)
SCORES = [
    RNG.uniform(0, 1.2, size=(10, 3)),
    RNG.uniform(0, 1, size=(7, 5)),
    np.round(RNG.uniform(0, 1, size=(5, 2)), 1),
]


@pytest.mark.parametrize("scores", SCORES)
def test_point_estimates_equal_rliable(scores):
    assert agg.iqm(scores) == pytest.approx(rm.aggregate_iqm(scores))
    assert agg.mean(scores) == pytest.approx(rm.aggregate_mean(scores))
    assert agg.median(scores) == pytest.approx(rm.aggregate_median(scores))
    assert agg.optimality_gap(scores) == pytest.approx(rm.aggregate_optimality_gap(scores))


@pytest.mark.parametrize(
    "x, y",
    [(SCORES[0], SCORES[0][::-1] * 0.9), (SCORES[2], np.round(RNG.uniform(0, 1, (6, 2)), 1))],
)
def test_probability_of_improvement_equals_rliable(x, y):
    assert agg.probability_of_improvement(x, y) == pytest.approx(
        rm.probability_of_improvement(x, y)
    )
    assert agg.probability_of_improvement(x, x) == pytest.approx(0.5)


def test_bootstrap_interval_properties():
    scores = SCORES[1]
    lo, hi = agg.stratified_bootstrap_ci(scores, agg.iqm, reps=1000, seed=1)
    assert lo <= agg.iqm(scores) <= hi
    assert (lo, hi) == agg.stratified_bootstrap_ci(scores, agg.iqm, reps=1000, seed=1)
    # More runs per task: a narrower interval.
    many = np.random.default_rng(2).uniform(0, 1, size=(200, 5))
    lo2, hi2 = agg.stratified_bootstrap_ci(many, agg.iqm, reps=500, seed=1)
    assert hi2 - lo2 < hi - lo


def test_stratified_resampling_stays_within_each_task():
    scores = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0]])
    rng = np.random.default_rng(0)
    for _ in range(20):
        r = agg._resample(scores, rng)
        assert set(r[:, 0]) <= {0.0, 1.0, 2.0} and set(r[:, 1]) <= {10.0, 11.0, 12.0}


def test_bootstrap_matches_rliable_library_when_available():
    try:
        from rliable import library as rly
    except Exception as e:  # rliable.library needs `arch`, which breaks with some pandas versions
        pytest.skip(f"rliable.library does not import here: {e}")
    scores = SCORES[0]
    ref = rly.get_interval_estimates(
        {"a": scores}, lambda s: np.array([rm.aggregate_iqm(s)]), reps=4000
    )[1]["a"][:, 0]
    ours = agg.stratified_bootstrap_ci(scores, agg.iqm, reps=4000)
    np.testing.assert_allclose(ours, ref, atol=0.02)


def test_bad_scores():
    with pytest.raises(ValueError, match="NaN"):
        agg.iqm([[np.nan]])
    with pytest.raises(ValueError, match="same tasks"):
        agg.probability_of_improvement(np.zeros((2, 2)), np.zeros((2, 3)))

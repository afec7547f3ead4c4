"""Numerical edge cases of the STARC metrics found in review: near-normalised probabilities,
empty reward batches, rewards whose squares overflow, and NaN in canonical rewards."""

from __future__ import annotations

import numpy as np
import pytest

from rewardshaping.metrics import (
    distance_from_canonical,
    epic_distance,
    reward_norm,
    starc_distance,
)
from rewardshaping.tabular import TabularMDP, random_mdp, shape_reward

S, A, GAMMA = 8, 2, 0.95


def _float32_softmax_mdp() -> TabularMDP:
    # A float32 softmax: rows sum to 1 within ~1e-7, which TabularMDP accepts.
    x = np.random.default_rng(0).normal(size=(S, A, S)).astype(np.float32)
    T = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    assert np.abs(T.astype(np.float64).sum(-1) - 1).max() > 1e-9
    return TabularMDP(T, gamma=GAMMA)


@pytest.mark.parametrize("canon", ["val", "minimal", "dard", "epic"])
def test_rewards_equivalent_to_zero_stay_at_distance_zero_under_float32_transitions(canon):
    mdp = _float32_softmax_mdp()
    rng = np.random.default_rng(1)
    shaped_zero = shape_reward(np.zeros((S, A, S)), rng.normal(size=S), GAMMA)
    R = rng.normal(size=(S, A, S))
    assert starc_distance(np.zeros((S, A, S)), shaped_zero, mdp, canon=canon) == 0.0
    assert starc_distance(shaped_zero, np.ones((S, A, S)), mdp, canon=canon) == 0.0
    shaped = shape_reward(R, rng.normal(size=S), GAMMA)
    assert starc_distance(R, 2.0 * shaped, mdp, canon=canon) < 1e-7
    # The stored transition rows now sum to 1 to float64 precision.
    assert np.abs(mdp.transition.sum(-1) - 1).max() < 1e-15


def test_a_state_distribution_off_by_rounding_still_cancels_shaping():
    mdp = random_mdp(4, 2, 0.9, seed=0)
    shaped_zero = shape_reward(np.zeros((4, 2, 4)), np.array([1.0, -2.0, 3.0, 0.5]), 0.9)
    dist = np.array([0.1, 0.2, 0.3, 0.4]) * (1 + 5e-7)  # sums to 1 + 5e-7: accepted
    assert epic_distance(np.zeros((4, 2, 4)), shaped_zero, mdp, state_dist=dist) == 0.0


@pytest.mark.parametrize("canon", ["val", "epic", "dard", "minimal", "none"])
def test_an_empty_batch_of_rewards_gives_an_empty_result(canon):
    mdp = random_mdp(4, 2, 0.9, seed=0)
    out = starc_distance(np.zeros((0, 4, 2, 4)), np.ones((4, 2, 4)), mdp, canon=canon)
    assert np.shape(out) == (0,)
    assert np.shape(distance_from_canonical(np.zeros((0, 4, 2, 4)), np.ones((4, 2, 4)))) == (0,)


@pytest.mark.parametrize("factor", [1e160, 1e-160])
def test_distances_are_scale_invariant_where_squares_overflow_or_underflow(factor):
    mdp = random_mdp(4, 2, 0.9, seed=0)
    R1, R2 = np.random.default_rng(0).normal(size=(2, 4, 2, 4))
    for fn in (starc_distance, epic_distance):
        want = fn(R1, R2, mdp)
        assert fn(factor * R1, R2, mdp) == pytest.approx(want, rel=1e-12)
        assert fn(factor * R1, factor * R2, mdp) == pytest.approx(want, rel=1e-12)
    assert reward_norm(factor * R1) == pytest.approx(factor * reward_norm(R1), rel=1e-12)


def test_nan_or_inf_in_canonical_rewards_is_refused():
    R1, R2 = np.random.default_rng(0).normal(size=(2, 4, 2, 4))
    bad = R1.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        distance_from_canonical(bad, R2)
    with pytest.raises(ValueError, match="NaN or inf"):
        distance_from_canonical(R2, np.where(R1 > 1, np.inf, R1))
    with pytest.raises(ValueError, match="NaN or inf"):
        reward_norm(bad)

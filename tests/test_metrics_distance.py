"""Exact distances: conventions (scaling, zero canonical rewards, weights), batching, bad input."""

import numpy as np
import pytest

from rewardshaping.metrics import (
    coverage_weights,
    dard_distance,
    epic_canonical,
    epic_distance,
    metric_bound,
    normalized_regret,
    reward_norm,
    starc_distance,
    transition_weights,
)
from rewardshaping.tabular import TabularMDP, random_mdp, shape_reward


@pytest.fixture
def mdp():
    return random_mdp(6, 3, 0.9, seed=0)


def test_epic_is_the_pearson_distance(mdp):
    rng = np.random.default_rng(0)
    R1, R2 = rng.normal(size=(2, 6, 3, 6))
    ds, da = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(3))
    w = coverage_weights(ds, da).reshape(-1)
    c1, c2 = (epic_canonical(R, 0.9, ds, da).reshape(-1) for R in (R1, R2))
    mean = lambda x: np.sum(w * x)  # noqa: E731
    cov = mean((c1 - mean(c1)) * (c2 - mean(c2)))
    rho = cov / np.sqrt(mean((c1 - mean(c1)) ** 2) * mean((c2 - mean(c2)) ** 2))
    want = np.sqrt((1 - rho) / 2)
    got = epic_distance(R1, R2, mdp, state_dist=ds, action_dist=da)
    assert got == pytest.approx(want, abs=1e-12)


def test_zero_canonical_rewards_follow_the_convention(mdp):
    R = mdp.reward
    zero_like = [
        np.zeros_like(R),
        np.full_like(R, 3.0),  # constant: pure shaping with Phi = -3 / (1 - gamma)
        shape_reward(np.zeros_like(R), np.arange(6.0) * 1e3, 0.9),
    ]
    for canon in ("val", "minimal", "epic", "dard"):
        for Z in zero_like:
            d = starc_distance(R, Z, mdp, canon=canon)
            assert d == pytest.approx(0.5, abs=1e-12), canon
            assert starc_distance(Z, zero_like[0], mdp, canon=canon) == 0.0
        assert epic_distance(R, zero_like[1], mdp) == pytest.approx(0.5)
    # "none" only treats the zero reward as zero.
    assert starc_distance(np.zeros_like(R), np.zeros_like(R), mdp, canon="none") == 0.0


def test_weights_scale_does_not_matter_and_transition_weights(mdp):
    rng = np.random.default_rng(1)
    R1, R2 = rng.normal(size=(2, 6, 3, 6))
    W = rng.uniform(0.1, 1.0, size=(6, 3, 6))
    for canon in ("val", "minimal", "epic"):
        a = starc_distance(R1, R2, mdp, canon=canon, weights=W)
        b = starc_distance(R1, R2, mdp, canon=canon, weights=7.0 * W)
        assert a == pytest.approx(b, abs=1e-12)
    Wt = transition_weights(mdp)
    assert starc_distance(R1, R2, mdp, weights="transition") == pytest.approx(
        starc_distance(R1, R2, mdp, weights=Wt), abs=1e-12
    )
    assert Wt.sum() == pytest.approx(1.0)


def test_metric_bound_is_attained():
    w = np.full(8, 1 / 8)
    assert metric_bound("l2", "linf", w) == pytest.approx(2 * 8**0.5)
    assert metric_bound("linf", "l1", w) == 2.0
    x = np.zeros((1, 8))
    x[0, 0] = 1.0
    # x and -x, each of unit weighted-L1 norm (times 8): Linf distance 2 * 8.
    mdp = TabularMDP(np.full((2, 2, 2), 0.5), gamma=0.5)
    R = x.reshape(2, 2, 2)
    assert starc_distance(R, -R, mdp, canon="none", norm="l1", metric="linf") == pytest.approx(1.0)
    assert starc_distance(R, -R, mdp, canon="none", norm="l1", metric="l2") == pytest.approx(1.0)


def test_batching_and_pairwise(mdp):
    rng = np.random.default_rng(2)
    Rs = rng.normal(size=(4, 6, 3, 6))
    D = starc_distance(Rs, None, mdp, pairwise=True)
    assert D.shape == (4, 4)
    elementwise = starc_distance(Rs[:, None], Rs[None, :], mdp)
    np.testing.assert_allclose(D, elementwise, atol=1e-12)
    one_vs_many = starc_distance(Rs[0], Rs, mdp)
    np.testing.assert_allclose(one_vs_many, D[0], atol=1e-12)
    assert isinstance(starc_distance(Rs[0], Rs[1], mdp), float)
    cross = dard_distance(Rs[:2], Rs[2:], mdp, pairwise=True)
    assert cross.shape == (2, 2)


def test_reward_norm_values():
    R = np.array([3.0, -4.0, 0.0, 0.0]).reshape(2, 1, 2)
    assert reward_norm(R, "l1") == 7.0
    assert reward_norm(R, "l2") == 5.0
    assert reward_norm(R, "linf") == 4.0
    W = np.array([1.0, 0.0, 1.0, 1.0]).reshape(2, 1, 2)
    assert reward_norm(R, "linf", W) == 3.0
    assert reward_norm(R, "l2", W) == 3.0


def test_bad_input(mdp):
    R = mdp.reward
    with pytest.raises(ValueError, match=r"R2 must have shape \(\.\.\., S, A, S\)"):
        starc_distance(R, np.zeros((6, 2, 6)), mdp)
    with pytest.raises(ValueError, match="do not broadcast"):
        starc_distance(np.stack([R, R]), np.stack([R, R, R]), mdp)
    with pytest.raises(ValueError, match=r"pairwise=True needs"):
        starc_distance(R, R, mdp, pairwise=True)
    with pytest.raises(ValueError, match="norm must be one of"):
        starc_distance(R, R, mdp, norm="l3")
    with pytest.raises(ValueError, match="metric must be one of"):
        starc_distance(R, R, mdp, metric="cosine")
    with pytest.raises(ValueError, match="weights must be"):
        starc_distance(R, R, mdp, weights="coverage")
    with pytest.raises(ValueError, match="not all zero"):
        starc_distance(R, R, mdp, weights=np.zeros(R.shape))
    with pytest.raises(ValueError, match="do not broadcast"):
        starc_distance(R, R, mdp, weights=np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN or inf"):
        starc_distance(R, np.full(R.shape, np.nan), mdp)
    with pytest.raises(TypeError, match="TabularMDP"):
        starc_distance(R, R, mdp.transition)
    with pytest.raises(ValueError, match="proxy_reward must have shape"):
        normalized_regret(R, R[:, :2], mdp)

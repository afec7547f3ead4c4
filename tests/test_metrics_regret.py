"""Normalised regret against brute force over all deterministic policies."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.metrics import normalized_regret, policy_regret, starc_distance
from rewardshaping.tabular import optimal_policy, policy_return, random_mdp, shape_reward


@given(seed=st.integers(0, 2**32 - 1), S=st.integers(1, 4), A=st.integers(1, 3))
@settings(max_examples=30, deadline=None)
def test_regret_matches_brute_force(seed, S, A):
    mdp = random_mdp(S, A, 0.9, seed=seed)
    rng = np.random.default_rng(seed)
    R1, R2 = rng.normal(size=(2, S, A, S))
    pols = np.array(list(itertools.product(range(A), repeat=S)))
    J = policy_return(mdp.transition, R1, mdp.gamma, pols, mdp.initial)
    pi2 = optimal_policy(mdp.transition, R2, mdp.gamma)
    j2 = policy_return(mdp.transition, R1, mdp.gamma, pi2, mdp.initial)
    gap = J.max() - J.min()
    want = 0.0 if gap < 1e-9 else (J.max() - j2) / gap
    assert normalized_regret(R1, R2, mdp) == pytest.approx(want, abs=1e-9)
    assert policy_regret(R1, pi2, mdp) == pytest.approx(want, abs=1e-9)


def test_equivalent_rewards_have_zero_regret_and_opposite_full_regret():
    mdp = random_mdp(16, 4, 0.95, seed=1)
    R = mdp.reward
    same = [3 * R, shape_reward(R, np.arange(16.0), 0.95), R + 5.0]
    np.testing.assert_allclose(normalized_regret(R, np.stack(same), mdp), 0.0, atol=1e-12)
    assert normalized_regret(R, -R, mdp) == pytest.approx(1.0)


def test_regret_broadcasts_and_flat_true_reward_is_zero():
    mdp = random_mdp(8, 3, 0.9, seed=2)
    Rs = np.random.default_rng(2).normal(size=(5, 8, 3, 8))
    out = normalized_regret(Rs[:, None], Rs[None, :], mdp)
    assert out.shape == (5, 5)
    np.testing.assert_allclose(np.diag(out), 0.0, atol=1e-12)
    assert normalized_regret(Rs[1], Rs[3], mdp) == pytest.approx(out[1, 3])
    # A constant true reward: all policies are equally good, regret 0 by convention (no NaN).
    assert normalized_regret(np.full((8, 3, 8), 2.0), Rs[0], mdp) == 0.0


def test_starc_bounds_regret_on_interpolations():
    # Skalse et al. (2024): regret is bounded above by a multiple of the STARC distance, so
    # rewards at distance ~0 have regret ~0 and regret grows with the distance on a path.
    mdp = random_mdp(32, 4, 0.95, seed=3)
    rng = np.random.default_rng(3)
    R1, R2 = rng.normal(size=(2, 32, 4, 32))
    t = np.linspace(0, 1, 17)[:, None, None, None]
    path = (1 - t) * R1 + t * R2
    d = starc_distance(R1, path, mdp)
    reg = normalized_regret(R1, path, mdp)
    assert d[0] < 1e-9 and reg[0] == 0
    assert np.all(np.diff(d) > 0)
    assert np.corrcoef(d, reg)[0, 1] > 0.8

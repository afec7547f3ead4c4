"""Canonicalisations against their definitions, written as explicit sums over (s, a, s')."""

import itertools

import numpy as np
import pytest

from rewardshaping.metrics import (
    canonicalize,
    dard_canonical,
    epic_canonical,
    minimal_canonical,
    val_canonical,
)
from rewardshaping.tabular import (
    policy_evaluation,
    q_values,
    random_mdp,
    shape_reward,
    uniform_policy,
)

S, A, G = 4, 3, 0.8


@pytest.fixture
def case():
    mdp = random_mdp(S, A, G, kind="garnet", branching=2, seed=11)
    rng = np.random.default_rng(0)
    ds = rng.dirichlet(np.ones(S))
    da = rng.dirichlet(np.ones(A))
    return mdp, rng.normal(size=(S, A, S)), ds, da


def test_epic_matches_definition(case):
    mdp, R, ds, da = case
    C = epic_canonical(R, G, ds, da)
    # E over S, S' ~ D_S and A ~ D_A of gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S')
    for s, a, s2 in itertools.product(range(S), range(A), range(S)):
        e = 0.0
        for x, b, y in itertools.product(range(S), range(A), range(S)):
            p = ds[x] * da[b] * ds[y]
            e += p * (G * R[s2, b, y] - R[s, b, y] - G * R[x, b, y])
        assert C[s, a, s2] == pytest.approx(R[s, a, s2] + e, abs=1e-12)


def test_dard_matches_definition(case):
    mdp, R, _, da = case
    T = mdp.transition
    C = dard_canonical(R, T, G, da)
    # E over A ~ D_A, S' ~ T(s, A), S'' ~ T(s', A) (one A shared by the three terms).
    for s, a, s2 in itertools.product(range(S), range(A), range(S)):
        e = 0.0
        for b, x, y in itertools.product(range(A), range(S), range(S)):
            p = da[b] * T[s, b, x] * T[s2, b, y]
            e += p * (G * R[s2, b, y] - R[s, b, x] - G * R[x, b, y])
        assert C[s, a, s2] == pytest.approx(R[s, a, s2] + e, abs=1e-12)


def test_val_is_the_uniform_policy_advantage(case):
    mdp, R, _, _ = case
    T = mdp.transition
    V = policy_evaluation(T, R, G, uniform_policy(S, A))
    C = val_canonical(R, T, G)
    for s, a, s2 in itertools.product(range(S), range(A), range(S)):
        # c(R)(s, a, s') = E_{S'~T(s,a)}[R(s, a, S') - V(s) + gamma V(S')]
        want = sum(T[s, a, y] * (R[s, a, y] - V[s] + G * V[y]) for y in range(S))
        assert C[s, a, s2] == pytest.approx(want, abs=1e-12)
    np.testing.assert_allclose(C[..., 0], q_values(T, R, G, V) - V[:, None], atol=1e-12)


def test_val_with_another_policy(case):
    mdp, R, _, _ = case
    pi = np.random.default_rng(1).dirichlet(np.ones(A), size=S)
    C = val_canonical(R, mdp.transition, G, pi)
    V = policy_evaluation(mdp.transition, R, G, pi)
    np.testing.assert_allclose((pi * C[..., 0]).sum(-1), 0.0, atol=1e-12)  # E_pi A^pi = 0
    assert not np.allclose(V, policy_evaluation(mdp.transition, R, G, uniform_policy(S, A)))


@pytest.mark.parametrize("weighting", ["plain", "transition", "random"])
def test_minimal_is_the_least_norm_member_of_the_class(case, weighting):
    mdp, R, _, _ = case
    T = mdp.transition
    rng = np.random.default_rng(2)
    W = {"plain": np.ones_like(T), "transition": T, "random": rng.uniform(0.1, 2.0, T.shape)}[
        weighting
    ]
    C = minimal_canonical(R, T, G, None if weighting == "plain" else W)
    # (1) C is in R's class: E_T[C - R] = gamma T Phi - Phi for some Phi (exact least squares).
    d = np.einsum("sat,sat->sa", T, C - R).reshape(-1)
    M = G * T.reshape(S * A, S) - np.repeat(np.eye(S), A, axis=0)
    phi, *_ = np.linalg.lstsq(M, d, rcond=None)
    np.testing.assert_allclose(M @ phi, d, atol=1e-10)
    # Off the support of T, where redistribution is free, a W-weighted C carries no mass.
    if weighting == "transition":
        assert np.all(C[T == 0] == 0)
    # (2) First-order optimality of the convex problem: W C is orthogonal to every shaping
    # direction and to every redistribution direction (W C(s, a, .) proportional to T(s, a, .)).
    WC = W * C
    for x in range(S):
        e = np.zeros(S)
        e[x] = 1.0
        assert abs(np.sum(WC * shape_reward(np.zeros_like(R), e, G))) < 1e-10
    ratio = np.divide(WC, T, out=np.zeros_like(WC), where=T > 0)
    for s, a in itertools.product(range(S), range(A)):
        support = T[s, a] > 0
        np.testing.assert_allclose(ratio[s, a, support], ratio[s, a, support][0], atol=1e-10)
        np.testing.assert_allclose(WC[s, a, ~support], 0.0, atol=1e-12)
    # (3) So no random member of the class is smaller.
    norm = lambda X: np.sqrt(np.sum(W * X * X))  # noqa: E731
    for _ in range(20):
        X = rng.normal(size=R.shape)
        X -= np.einsum("sat,sat->sa", T, X)[..., None]
        other = shape_reward(C, rng.normal(size=S), G) + 0.3 * X
        assert norm(C) <= norm(other) + 1e-12


def test_canonicals_batch_over_rewards():
    mdp = random_mdp(5, 2, 0.9, seed=4)
    Rs = np.random.default_rng(4).normal(size=(3, 2, 5, 2, 5))
    for canon in ("none", "epic", "dard", "val", "minimal"):
        C = canonicalize(Rs, mdp, canon)
        assert C.shape == Rs.shape
        np.testing.assert_allclose(C[2, 1], canonicalize(Rs[2, 1], mdp, canon), atol=1e-12)


def test_canonicalize_errors():
    mdp = random_mdp(3, 2, 0.9, seed=0)
    with pytest.raises(ValueError, match="canon must be one of"):
        canonicalize(mdp.reward, mdp, "gleave")
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 2, 3\), got \(3, 3, 3\)"):
        canonicalize(np.zeros((3, 3, 3)), mdp, "val")
    with pytest.raises(TypeError, match="TabularMDP"):
        canonicalize(mdp.reward, mdp.transition, "val")
    with pytest.raises(ValueError, match="state_dist must be a probability vector"):
        canonicalize(mdp.reward, mdp, "epic", state_dist=np.array([0.5, 0.6, 0.1]))
    with pytest.raises(ValueError, match=r"> 0 wherever T > 0"):
        minimal_canonical(mdp.reward, mdp.transition, 0.9, np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\)"):
        val_canonical(mdp.reward, mdp.transition, 1.0)
    with pytest.raises(ValueError, match="must sum to 1"):
        dard_canonical(mdp.reward, mdp.transition * 0.5, 0.9)

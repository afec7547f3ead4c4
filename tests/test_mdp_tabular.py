"""Tabular MDPs: validation, generators, exact solvers (against brute force) and the Gymnasium env."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardshaping.envs  # noqa: F401  (registers rewardshaping/RandomMDP-v0)
from rewardshaping.envs.tabular import RandomMDPEnv, TabularEnv
from rewardshaping.tabular import (
    TabularMDP,
    optimal_policy,
    policy_evaluation,
    policy_return,
    q_values,
    random_mdp,
    random_reward,
    random_transition,
    shape_reward,
    uniform_policy,
    value_iteration,
    worst_policy,
)


def all_deterministic_returns(mdp: TabularMDP, R: np.ndarray) -> np.ndarray:
    """J(pi) for every deterministic policy, by brute force (A^S policies)."""
    S, A = mdp.n_states, mdp.n_actions
    pols = np.array(list(itertools.product(range(A), repeat=S)))
    return policy_return(mdp.transition, R, mdp.gamma, pols, mdp.initial), pols


# --- validation -------------------------------------------------------------------------------


def test_bad_transition_rows_name_the_row():
    T = np.full((3, 2, 3), 1 / 3)
    T[1, 0] = [0.5, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"T\[1, 0, :\] sums to 0.9"):
        TabularMDP(T, gamma=0.9)


def test_negative_or_nan_transition_rejected():
    T = np.full((2, 1, 2), 0.5)
    T[0, 0] = [1.5, -0.5]
    with pytest.raises(ValueError, match=">= 0"):
        TabularMDP(T, gamma=0.9)
    T[0, 0] = [np.nan, 0.5]
    with pytest.raises(ValueError, match="NaN"):
        TabularMDP(T, gamma=0.9)


@pytest.mark.parametrize("shape", [(2, 2), (2, 1, 3), (0, 1, 0)])
def test_bad_transition_shape(shape):
    with pytest.raises(ValueError, match=r"shape \(S, A, S\)"):
        TabularMDP(np.ones(shape), gamma=0.9)


@pytest.mark.parametrize("gamma", [1.0, -0.1, 1.5, float("nan")])
def test_gamma_outside_unit_interval(gamma):
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\)"):
        TabularMDP(np.ones((1, 1, 1)), gamma=gamma)


def test_reward_shape_and_initial_checked():
    T = np.full((2, 3, 2), 0.5)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, 3, 2\), got \(2, 2, 2\)"):
        TabularMDP(T, np.zeros((2, 2, 2)), gamma=0.9)
    with pytest.raises(ValueError, match="probability distribution"):
        TabularMDP(T, gamma=0.9, initial=np.array([0.7, 0.7]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        TabularMDP(T, gamma=0.9, initial=np.ones(3) / 3)


def test_arrays_are_read_only_copies():
    T = np.full((2, 1, 2), 0.5)
    mdp = TabularMDP(T, gamma=0.5)
    T[0, 0, 0] = 9.0
    assert mdp.transition[0, 0, 0] == 0.5
    with pytest.raises(ValueError):
        mdp.transition[0, 0, 0] = 1.0


# --- generators -------------------------------------------------------------------------------


def test_starc_family_matches_its_definition():
    S, A, seed = 32, 4, 7
    T = random_transition(S, A, kind="starc", seed=seed)
    logits = np.random.default_rng(seed).standard_normal((S, A, S))
    kept = logits > 1.0
    # Where some logit exceeds the threshold, almost all mass sits on exactly those successors.
    has = kept.any(-1)
    mass_on_kept = (T * kept).sum(-1)
    assert np.all(mass_on_kept[has] > 1 - S * np.exp(-21))
    expected = np.exp(np.where(kept, logits, -20.0))
    np.testing.assert_allclose(T, expected / expected.sum(-1, keepdims=True), rtol=1e-12)
    # ... and a row with none kept is uniform (as in the authors' code).
    np.testing.assert_allclose(T[~has], 1.0 / S)


@given(
    seed=st.integers(0, 2**32 - 1), S=st.integers(1, 12), A=st.integers(1, 4), b=st.integers(1, 12)
)
@settings(max_examples=40, deadline=None)
def test_garnet_branching(seed, S, A, b):
    b = min(b, S)
    T = random_transition(S, A, kind="garnet", branching=b, seed=seed)
    assert np.all((T > 0).sum(-1) == b)
    np.testing.assert_allclose(T.sum(-1), 1.0, atol=1e-12)


def test_generators_are_seeded():
    a, b = random_mdp(6, 3, seed=5), random_mdp(6, 3, seed=5)
    assert np.array_equal(a.transition, b.transition) and np.array_equal(a.reward, b.reward)
    assert not np.array_equal(a.transition, random_mdp(6, 3, seed=6).transition)
    r1 = random_reward(6, 3, size=(4,), gamma=0.9, recipe="starc", seed=1)
    assert np.array_equal(r1, random_reward(6, 3, size=(4,), gamma=0.9, recipe="starc", seed=1))


def test_generator_errors():
    with pytest.raises(ValueError, match="kind"):
        random_transition(3, 2, kind="grid")
    with pytest.raises(ValueError, match="branching"):
        random_transition(3, 2, kind="garnet", branching=4)
    with pytest.raises(ValueError, match="pass gamma"):
        random_reward(3, 2, recipe="starc")


# --- solvers ----------------------------------------------------------------------------------


@given(seed=st.integers(0, 2**32 - 1), S=st.integers(1, 4), A=st.integers(1, 3))
@settings(max_examples=30, deadline=None)
def test_optimal_and_worst_policies_match_brute_force(seed, S, A):
    mdp = random_mdp(S, A, 0.9, kind="garnet", branching=min(2, S), seed=seed)
    returns, _ = all_deterministic_returns(mdp, mdp.reward)
    best = optimal_policy(mdp.transition, mdp.reward, mdp.gamma)
    worst = worst_policy(mdp.transition, mdp.reward, mdp.gamma)
    j = lambda pi: policy_return(mdp.transition, mdp.reward, mdp.gamma, pi, mdp.initial)  # noqa: E731
    assert j(best) == pytest.approx(returns.max(), abs=1e-9)
    assert j(worst) == pytest.approx(returns.min(), abs=1e-9)
    # An optimal policy is optimal from every state, not only on average.
    V_best = policy_evaluation(mdp.transition, mdp.reward, mdp.gamma, best)
    V_star, _ = value_iteration(mdp.transition, mdp.reward, mdp.gamma, tol=1e-12)
    np.testing.assert_allclose(V_best, V_star, atol=1e-8)


def test_policy_evaluation_satisfies_bellman_equation():
    mdp = random_mdp(10, 3, 0.95, seed=0)
    pi = np.random.default_rng(0).dirichlet(np.ones(3), size=10)
    V = policy_evaluation(mdp.transition, mdp.reward, mdp.gamma, pi)
    Q = q_values(mdp.transition, mdp.reward, mdp.gamma, V)
    np.testing.assert_allclose((pi * Q).sum(-1), V, atol=1e-10)


def test_solvers_batch_over_rewards():
    mdp = random_mdp(8, 3, 0.9, seed=1)
    Rs = random_reward(8, 3, size=(2, 3), seed=2)
    pi = uniform_policy(8, 3)
    V = policy_evaluation(mdp.transition, Rs, mdp.gamma, pi)
    assert V.shape == (2, 3, 8)
    np.testing.assert_allclose(V[1, 2], policy_evaluation(mdp.transition, Rs[1, 2], 0.9, pi))
    pols = optimal_policy(mdp.transition, Rs, 0.9)
    assert pols.shape == (2, 3, 8)
    assert np.array_equal(pols[0, 1], optimal_policy(mdp.transition, Rs[0, 1], 0.9))
    # A batch of policies against one reward.
    Vb = policy_evaluation(mdp.transition, mdp.reward, 0.9, pols.reshape(6, 8))
    np.testing.assert_allclose(
        Vb[4], policy_evaluation(mdp.transition, mdp.reward, 0.9, pols[1, 1])
    )


def test_shaping_keeps_optimal_policy_and_shifts_q():
    # Ng et al. (1999): Q*_shaped(s, a) = Q*(s, a) - Phi(s).
    mdp = random_mdp(12, 4, 0.9, seed=3)
    phi = np.random.default_rng(3).normal(size=12) * 5
    shaped = shape_reward(mdp.reward, phi, mdp.gamma)
    _, Q = value_iteration(mdp.transition, mdp.reward, mdp.gamma, tol=1e-12)
    _, Qs = value_iteration(mdp.transition, shaped, mdp.gamma, tol=1e-12)
    np.testing.assert_allclose(Qs, Q - phi[:, None], atol=1e-8)
    assert np.array_equal(
        optimal_policy(mdp.transition, mdp.reward, 0.9), optimal_policy(mdp.transition, shaped, 0.9)
    )


def test_policy_errors():
    mdp = random_mdp(3, 2, 0.9, seed=0)
    with pytest.raises(ValueError, match=r"actions must be in \[0, 2\)"):
        policy_evaluation(mdp.transition, mdp.reward, 0.9, np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="sum to 1"):
        policy_evaluation(mdp.transition, mdp.reward, 0.9, np.full((3, 2), 0.7))
    with pytest.raises(ValueError, match=r"\(\.\.\., S\)"):
        policy_evaluation(mdp.transition, mdp.reward, 0.9, np.array([0, 1]))


# --- Gymnasium env ----------------------------------------------------------------------------


def test_env_passes_gymnasium_checker():
    check_env(RandomMDPEnv(n_states=6, n_actions=2), skip_render_check=True)


def test_registered_env_exposes_exact_mdp():
    env = gym.make("rewardshaping/RandomMDP-v0")
    mdp = env.unwrapped.mdp
    assert (mdp.n_states, mdp.n_actions, mdp.gamma) == (32, 4, 0.95)
    assert np.array_equal(mdp.transition, random_mdp(32, 4, 0.95, seed=0).transition)
    assert env.spec.max_episode_steps == 200


def test_env_samples_from_transition_and_pays_reward():
    T = np.array([[[0.2, 0.8], [1.0, 0.0]], [[0.5, 0.5], [0.0, 1.0]]])
    R = np.arange(8.0).reshape(2, 2, 2)
    env = TabularEnv(TabularMDP(T, R, gamma=0.9, initial=np.array([1.0, 0.0])))
    counts = np.zeros(2)
    for i in range(4000):
        s, _ = env.reset(seed=i)
        assert s == 0
        s2, r, term, trunc, info = env.step(0)
        counts[s2] += 1
        assert r == R[0, 0, s2] and not term and not trunc and info["state"] == s2
    # Binomial(4000, 0.8): std 25; 5 std is a safe bound.
    assert abs(counts[1] - 3200) < 130
    with pytest.raises(ValueError, match="action must be in"):
        env.step(2)


def test_env_reset_is_seeded():
    env = RandomMDPEnv(n_states=10, mdp_seed=1)
    a = [env.reset(seed=3)[0]] + [env.step(i % 4)[0] for i in range(20)]
    b = [env.reset(seed=3)[0]] + [env.step(i % 4)[0] for i in range(20)]
    assert a == b

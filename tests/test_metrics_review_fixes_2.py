"""Regression tests for the second metrics review: sampled VAL's LSTD rank cutoff, sampled EPIC's
constant term, one-hot value features (negative labels, ``n_value``), NaN policies, and the
zero convention's scale."""

import numpy as np
import pytest
from gymnasium import spaces

from rewardshaping.metrics import (
    OneHotFeatures,
    TabularModel,
    epic_canonical,
    policy_regret,
    sampled_canonical,
    sampled_distance,
    space_transitions,
    starc_distance,
    val_canonical,
)
from rewardshaping.tabular import TabularMDP, policy_evaluation, random_mdp

# --- sampled VAL: near-singular LSTD directions are null, not noise ------------------------------


class _Drift:
    """Continuing dynamics on [-1, 1]^3 (never terminates): a constant reward is pure shaping."""

    def sample(self, obs, action, rng):
        obs = np.asarray(obs, float)
        a = np.asarray(action, float).reshape(len(obs), -1)
        nxt = np.clip(0.9 * obs + 0.1 * a + 0.05 * rng.normal(size=obs.shape), -1, 1)
        return nxt, np.zeros(len(obs), bool)


@pytest.mark.parametrize("seed", [0, 8])  # seeds where lstsq's cutoff kept noise directions
def test_sampled_val_constant_reward_is_zero_like_with_fourier_features(seed):
    box, g = spaces.Box(-1, 1, (3,)), 0.9

    def R(s, a, s2):
        return np.sin(3 * s[:, 0]) + a[:, 1] * s2[:, 0]

    w = np.array([1.0, 2.0, 3.0])
    rewards = {
        "R": R,
        "const": lambda s, a, s2: np.ones(len(s)),  # shaping with Phi = -1 / (1 - gamma)
        "zero": lambda s, a, s2: np.zeros(len(s)),
        "linear-shaped": lambda s, a, s2: R(s, a, s2) + g * s2 @ w - s @ w,
    }
    cov = space_transitions(box, box, 300, model=_Drift(), seed=seed)
    res = sampled_distance(
        rewards, cov, g, model=_Drift(), n_inner=4, action_sampler=box, n_bootstrap=0, seed=seed
    )
    d = res.distance
    assert d[0, 1] == pytest.approx(0.5, abs=1e-9)  # R vs a zero-like reward
    assert d[1, 2] == pytest.approx(0.0, abs=1e-9)  # two zero-like rewards
    assert d[0, 3] == pytest.approx(0.0, abs=1e-6)  # a linear potential still cancels


# --- sampled EPIC: S and S' of the constant term are independent ---------------------------------


def test_sampled_epic_constant_term_is_unbiased_and_needs_two_inner_samples():
    S, A, g = 4, 2, 0.9
    cov = space_transitions(spaces.Discrete(S), spaces.Discrete(A), 50, seed=0)
    s, a, s2 = cov.obs, cov.action, cov.next_obs
    ds = np.bincount(np.concatenate([s, s2]), minlength=S) / (2 * len(s))  # the pool's D_S

    def self_loop(x, u, y):  # pays exactly when S = S': the pairing's bias shows in full
        return (x == y).astype(float)

    exact = epic_canonical(np.repeat(np.eye(S)[:, None, :], A, 1), g, ds)[s, a, s2]
    kw = dict(n_inner=2, action_sampler=spaces.Discrete(A))
    est = np.mean(
        [sampled_canonical([self_loop], cov, g, "epic", seed=k, **kw)[0] for k in range(400)],
        axis=0,
    )
    # A permutation with a fixed point (S = S') biased this by -gamma/2 (1 - sum D_S^2) = -0.34.
    assert abs(np.mean(est - exact)) < 0.1
    with pytest.raises(ValueError, match="n_inner >= 2"):
        sampled_canonical([self_loop], cov, g, "epic", n_inner=1)


# --- one-hot value features: negative labels, n_value subsamples ---------------------------------


def test_sampled_val_one_hot_features_handle_negative_observations():
    mdp = random_mdp(4, 2, 0.9, seed=0)
    R, phi, off = mdp.reward, np.array([1.0, -2.0, 3.0, 0.5]), -2

    class Shifted:  # the same MDP with states labelled -2..1, as Discrete(4, start=-2)
        def sample(self, obs, act, rng):
            s2, t = TabularModel(mdp).sample(np.asarray(obs) - off, act, rng)
            return s2 + off, t

    cov = space_transitions(
        spaces.Discrete(4, start=off), spaces.Discrete(2), 400, model=Shifted(), seed=0
    )
    rewards = {
        "R": lambda s, a, s2: R[s - off, a, s2 - off],
        "shaped": lambda s, a, s2: R[s - off, a, s2 - off] + 0.9 * phi[s2 - off] - phi[s - off],
    }
    res = sampled_distance(
        rewards,
        cov,
        0.9,
        model=Shifted(),
        n_inner=8,
        action_sampler=spaces.Discrete(2),
        n_bootstrap=0,
    )
    assert res.distance[0, 1] == pytest.approx(0.0, abs=1e-6)
    assert OneHotFeatures(4, start=-2)(np.array([-2, 1])).tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]
    with pytest.raises(ValueError, match="observations must be in"):
        OneHotFeatures(3)(np.array([-1]))  # would silently read state 2's row


def test_sampled_val_n_value_keeps_outer_states_in_the_one_hot():
    # State 3 is an outer state but never a next state: a subsample of LSTD states can miss it.
    T = np.zeros((4, 1, 4))
    T[:, 0, :3] = 1 / 3
    mdp = TabularMDP(T, gamma=0.9)
    model = TabularModel(mdp)
    cov = space_transitions(spaces.Discrete(4), spaces.Discrete(1), 50, model=model, seed=0)
    assert 3 in cov.obs
    r = lambda s, a, s2: (s == 3).astype(float)  # noqa: E731
    kw = dict(model=model, action_sampler=spaces.Discrete(1), seed=1)
    C = sampled_canonical([r], cov, 0.9, "val", n_value=10, **kw)
    assert C.shape == (1, 50) and np.all(np.isfinite(C))


# --- NaN policies are refused --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda m, pi: policy_evaluation(m.transition, m.reward, 0.9, pi),
        lambda m, pi: val_canonical(m.reward, m.transition, 0.9, pi),
        lambda m, pi: starc_distance(m.reward, -m.reward, m, policy=pi),
        lambda m, pi: policy_regret(m.reward, pi, m),
    ],
    ids=["policy_evaluation", "val_canonical", "starc_distance", "policy_regret"],
)
def test_nan_policy_is_refused(call):
    mdp = random_mdp(3, 2, 0.9, seed=0)
    pi = np.full((3, 2), 0.5)
    pi[1, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        call(mdp, pi)


# --- zero convention: the scale ignores entries the canonicalisation never reads ----------------


@pytest.mark.parametrize(
    "canon,weights",
    [("val", None), ("val", "transition"), ("minimal", None), ("minimal", "transition")],
)
def test_impossible_transition_values_do_not_make_a_reward_zero_like(canon, weights):
    mdp = random_mdp(6, 2, 0.9, seed=0, kind="garnet", branching=2)  # T has exact zeros
    R = mdp.reward
    X = np.where(mdp.transition == 0, -1e9, 0.0)  # an S'-redistribution: E_T X = 0
    kw = dict(canon=canon, weights=weights)
    assert starc_distance(R, R + X, mdp, **kw) == pytest.approx(0.0, abs=1e-9)
    assert starc_distance(R + X, -R, mdp, **kw) == pytest.approx(1.0, abs=1e-9)
    pair = starc_distance(np.stack([R + X, -R]), None, mdp, pairwise=True, **kw)
    assert pair[0, 1] == pytest.approx(1.0, abs=1e-9)


def test_weighted_identity_canon_scale_ignores_zero_weight_entries():
    mdp = random_mdp(6, 2, 0.9, seed=0, kind="garnet", branching=2)
    R = mdp.reward
    X = np.where(mdp.transition == 0, -1e9, 0.0)  # invisible to the T-weighted norm
    kw = dict(canon="none", weights="transition")
    assert starc_distance(R + X, -R, mdp, **kw) == pytest.approx(1.0, abs=1e-9)


def test_sampled_val_warns_when_dense_features_outnumber_the_transitions():
    # With ~as many transitions as Fourier features, V's free directions fit the reward itself:
    # `compare --outer 100` printed distance 0 [0, 0] for a Pendulum pair at 0.70, silently.
    import warnings

    import gymnasium as gym

    from rewardshaping.metrics.sources import rollout_transitions

    fwd = lambda s, a, s2: s2[:, 0] - s[:, 0]  # noqa: E731
    ctrl = lambda s, a, s2: -np.sum(np.square(a), axis=-1)  # noqa: E731
    env = gym.make("Pendulum-v1")
    few = rollout_transitions(env, 100, seed=0)
    with pytest.warns(RuntimeWarning, match="100 transitions for .* features"):
        sampled_distance([fwd, ctrl], few, 0.9, canon="val", n_bootstrap=0)
    enough = rollout_transitions(env, 600, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = sampled_distance([fwd, ctrl], enough, 0.9, canon="val", n_bootstrap=0)
    assert res.distance[0, 1] > 0.3

"""Sampled estimators: convergence to the exact distances, common random numbers, equivalent
rewards at distance 0 with a CI containing 0, reward terms and env rewards, a MuJoCo env."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rewardshaping.envs  # noqa: F401  (registers rewardshaping/RandomMDP-v0)
from rewardshaping import FunctionTerm
from rewardshaping.metrics import (
    MujocoModel,
    RewardFunction,
    TabularModel,
    bootstrap_distances,
    dard_distance,
    env_reward,
    epic_distance,
    rollout_transitions,
    sampled_canonical,
    sampled_distance,
    space_transitions,
    starc_distance,
)
from rewardshaping.tabular import random_mdp, shape_reward

S, A, G = 8, 3, 0.9


def lookup(R):
    return lambda s, a, s2: R[s, a, s2]


@pytest.fixture(scope="module")
def tab():
    mdp = random_mdp(S, A, G, seed=0)
    R1, R2 = np.random.default_rng(1).normal(size=(2, S, A, S))
    return mdp, TabularModel(mdp), R1, R2


# canon, sampled norm, the exact distance it estimates, whether its coverage follows T
CASES = [
    ("val", "l2", lambda m, a, b: starc_distance(a, b, m), True),
    ("epic", "pearson", lambda m, a, b: epic_distance(a, b, m), False),
    ("dard", "pearson", lambda m, a, b: dard_distance(a, b, m), True),
    (
        "dard",
        "l2",
        lambda m, a, b: starc_distance(a, b, m, canon="dard", weights="transition"),
        True,
    ),
]


@pytest.mark.parametrize("canon,norm,exact,uses_t", CASES)
def test_sampled_distance_converges_to_exact(tab, canon, norm, exact, uses_t):
    mdp, model, R1, R2 = tab
    want = exact(mdp, R1, R2)
    errors = {}
    # Sampled EPIC needs n_inner >= 2 (its constant term pairs two inner draws).
    for n_outer, n_inner in [(40, 2 if canon == "epic" else 1), (4000, 32)]:
        errs = []
        for seed in range(3):
            cov = space_transitions(
                spaces.Discrete(S),
                spaces.Discrete(A),
                n_outer,
                model=model if uses_t else None,
                seed=seed,
            )
            res = sampled_distance(
                [lookup(R1), lookup(R2)],
                cov,
                G,
                canon=canon,
                norm=norm,
                model=model,
                n_inner=n_inner,
                action_sampler=spaces.Discrete(A),
                n_bootstrap=0,
                seed=seed,
            )
            errs.append(abs(res.distance[0, 1] - want))
        errors[n_outer] = np.mean(errs)
    assert errors[4000] < 0.02, errors
    assert errors[4000] < errors[40], errors


@pytest.mark.parametrize("canon", ["val", "epic", "dard"])
@pytest.mark.parametrize("norm", ["l2", "pearson"])
def test_shaped_equivalent_rewards_have_zero_distance_and_ci(tab, canon, norm):
    mdp, model, R1, _ = tab
    shaped = 2.5 * shape_reward(R1, np.random.default_rng(5).normal(size=S) * 3, G)
    cov = space_transitions(spaces.Discrete(S), spaces.Discrete(A), 500, model=model, seed=0)
    res = sampled_distance(
        {"R": lookup(R1), "shaped": lookup(shaped), "-R": lookup(-R1)},
        cov,
        G,
        canon=canon,
        norm=norm,
        model=model,
        n_inner=8,
        action_sampler=spaces.Discrete(A),
        n_bootstrap=200,
    )
    assert res.names == ("R", "shaped", "-R")
    assert res.distance[0, 1] < 1e-6
    assert res.ci_low[0, 1] <= 1e-6  # the CI contains 0
    assert res.distance[0, 2] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(res.distance, res.distance.T)
    assert "bootstrap CI" in str(res)


def test_sampled_val_ignores_redistribution_as_inner_samples_grow(tab):
    # E_{S'~T} X = 0 holds in expectation only: the inner sample mean of X shrinks like
    # 1 / sqrt(n_inner), and so does the distance (down to the value-fit noise of the coverage).
    mdp, model, R1, _ = tab
    X = np.random.default_rng(6).normal(size=R1.shape)
    X -= np.einsum("sat,sat->sa", mdp.transition, X)[..., None]
    cov = space_transitions(spaces.Discrete(S), spaces.Discrete(A), 3000, model=model, seed=0)
    d = [
        sampled_distance(
            [lookup(R1), lookup(R1 + X)],
            cov,
            G,
            model=model,
            n_inner=m,
            action_sampler=spaces.Discrete(A),
            n_bootstrap=0,
        ).distance[0, 1]
        for m in (2, 16, 128)
    ]
    assert d[0] > d[1] > d[2] and d[2] < 0.1, d
    assert starc_distance(R1, R1 + X, mdp) < 1e-9  # the exact metric: 0


def test_model_free_val_on_rollouts(tab):
    # No model: TD on the coverage transitions and their own s' as the single inner sample.
    # Shaping still cancels exactly; with one inner sample a small upward bias remains.
    mdp, model, R1, R2 = tab
    shaped = 2.0 * shape_reward(R1, np.arange(S, dtype=float), G)
    cov = space_transitions(spaces.Discrete(S), spaces.Discrete(A), 20000, model=model, seed=0)
    res = sampled_distance(
        [lookup(R1), lookup(shaped), lookup(R2)], cov, G, n_inner=32, n_bootstrap=100
    )
    assert res.n_inner == 1
    assert res.distance[0, 1] < 1e-6 and res.ci_low[0, 1] <= 1e-6
    assert abs(res.distance[0, 2] - starc_distance(R1, R2, mdp)) < 0.03
    with pytest.raises(ValueError, match="model-free VAL"):
        sampled_distance([lookup(R1)], cov, G, action_sampler=spaces.Discrete(A))


def test_common_random_numbers_are_what_makes_equivalent_rewards_equal(tab):
    # The pitfall CRN avoids: canonicalising each reward with its own samples leaves a
    # distance well above 0 between a reward and its shaped copy.
    mdp, model, R1, _ = tab
    shaped = shape_reward(R1, np.arange(S, dtype=float), G)
    cov = space_transitions(spaces.Discrete(S), spaces.Discrete(A), 300, model=model, seed=0)
    kw = dict(model=model, n_inner=4, action_sampler=spaces.Discrete(A))
    shared = sampled_canonical([lookup(R1), lookup(shaped)], cov, G, "dard", seed=1, **kw)
    c1 = sampled_canonical([lookup(R1)], cov, G, "dard", seed=1, **kw)
    c2 = sampled_canonical([lookup(shaped)], cov, G, "dard", seed=2, **kw)
    d_shared = bootstrap_distances(shared, n_bootstrap=0)[0][0, 1]
    d_indep = bootstrap_distances(np.vstack([c1, c2]), n_bootstrap=0)[0][0, 1]
    assert d_shared < 1e-9 and d_indep > 0.05


def test_reward_terms_callables_and_env_reward_agree(tab):
    env = gym.make("rewardshaping/RandomMDP-v0", n_states=S, n_actions=A, gamma=G, mdp_seed=0)
    mdp = env.unwrapped.mdp
    R = mdp.reward
    term = FunctionTerm(lambda b: R[b.obs, b.action, b.next_obs], name="as_term")
    cov = rollout_transitions(env, 400, seed=0)
    np.testing.assert_allclose(env_reward(env)(cov.obs, cov.action, cov.next_obs), cov.reward)
    res = sampled_distance(
        [env_reward(env), term, lookup(R)],
        cov,
        G,
        model=TabularModel(mdp),
        n_inner=4,
        action_sampler=env.action_space,
        n_bootstrap=50,
    )
    assert res.names == ("env", "as_term", "<lambda>")
    assert np.all(res.distance < 1e-9)


@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "InvertedPendulum-v5"])
def test_mujoco_env_reward_vs_shaped_and_sign_flipped(env_id):
    env = gym.make(env_id)
    model = MujocoModel(env)
    R = env_reward(env, model)
    gamma = 0.99
    w = np.random.default_rng(0).normal(size=env.observation_space.shape)

    def phi(o):
        # A potential linear in the observation, 0 at terminal states (Ng et al. 1999):
        # InvertedPendulum ends when the pole angle |o[1]| exceeds 0.2.
        alive = np.abs(o[:, 1]) <= 0.2 if env_id == "InvertedPendulum-v5" else True
        return 5.0 * (o @ w) * alive

    rewards = {
        "env": R,
        "shaped": lambda s, a, s2: R(s, a, s2) + gamma * phi(s2) - phi(s),
        "flipped": lambda s, a, s2: -R(s, a, s2),
    }
    cov = rollout_transitions(env, 150, seed=0)
    # MuJoCo is deterministic: one inner sample is exact for VAL.
    val = sampled_distance(
        rewards,
        cov,
        gamma,
        model=model,
        n_inner=1,
        action_sampler=env.action_space,
        n_bootstrap=100,
    )
    epic = sampled_distance(
        rewards,
        cov,
        gamma,
        canon="epic",
        norm="pearson",
        n_inner=4,
        action_sampler=env.action_space,
        n_bootstrap=0,
    )
    for res in (val, epic):
        assert res.distance[0, 1] < 0.01, res
        assert res.distance[0, 2] > 0.99, res
    assert val.ci_low[0, 1] <= 1e-6


def test_bad_input(tab):
    mdp, model, R1, _ = tab
    cov = space_transitions(spaces.Discrete(S), spaces.Discrete(A), 20, model=model, seed=0)
    with pytest.raises(ValueError, match=r"reward 'short' returned shape \(3,\)"):
        sampled_distance({"short": lambda s, a, s2: np.zeros(3)}, cov, G, model=model)
    with pytest.raises(ValueError, match="reward 'nan' returned nan"):
        sampled_distance({"nan": lambda s, a, s2: np.full(len(s), np.nan)}, cov, G, model=model)
    with pytest.raises(ValueError, match="canon='dard' draws next states from T"):
        sampled_distance([lookup(R1)], cov, G, canon="dard")
    with pytest.raises(ValueError, match="sampled canon must be"):
        sampled_distance([lookup(R1)], cov, G, canon="minimal", model=model)
    with pytest.raises(ValueError, match=r"n_outer must be in \[1, 20\]"):
        sampled_distance([lookup(R1)], cov, G, model=model, n_outer=50)
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\)"):
        sampled_distance([lookup(R1)], cov, 1.0, model=model)
    with pytest.raises(TypeError, match="callable r\\(obs, action, next_obs\\) or a RewardTerm"):
        RewardFunction(3.0)
    with pytest.raises(ValueError, match="unbounded Box"):
        space_transitions(spaces.Box(-np.inf, np.inf, (2,)), spaces.Discrete(2), 5)
    with pytest.raises(ValueError, match="do not determine the simulator state"):
        MujocoModel(gym.make("Reacher-v5"))
    with pytest.raises(TypeError, match="MuJoCo env"):
        MujocoModel(gym.make("CartPole-v1"))

"""Regression tests for the metrics review: the Pearson metric after other norms, sampled VAL on
states outside the coverage, and ``compare``'s exact table (gamma, coverage) and refusals."""

import json
import textwrap

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rewardshaping.envs  # noqa: F401  (registers rewardshaping/RandomMDP-v0)
from rewardshaping.cli import main
from rewardshaping.metrics import (
    TabularModel,
    distance_from_canonical,
    metric_bound,
    reward_norm,
    rollout_transitions,
    sampled_distance,
    space_transitions,
    starc_distance,
)
from rewardshaping.tabular import TabularMDP, random_mdp

# --- metric="pearson" with norm l1 / l2 / linf --------------------------------------------------


def _pearson_reference(R1, R2, norm, w):
    """reward_norm(s1 - s2, "pearson", w) / bound, straight from the definition."""
    s1, s2 = R1 / reward_norm(R1, norm, w), R2 / reward_norm(R2, norm, w)
    return reward_norm(s1 - s2, "pearson", w) / metric_bound(norm, "pearson", w.reshape(-1))


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_pearson_metric_centres_the_difference_whatever_the_norm(norm):
    S, A = 3, 2
    mdp = TabularMDP(np.full((S, A, S), 1.0 / S), gamma=0.9)
    uniform = np.full((S, A, S), 1.0 / (S * A * S))
    rng = np.random.default_rng(0)
    # s(R) - s(-R) = 2 s(R) is constant for a constant R: at Pearson distance 0.
    const = np.ones((S, A, S))
    got = starc_distance(const, -const, mdp, canon="none", norm=norm, metric="pearson")
    assert got == pytest.approx(0.0, abs=1e-12)
    R1, R2 = rng.normal(size=(2, S, A, S))
    W = rng.uniform(0.1, 1.0, size=(S, A, S))
    W /= W.sum()
    for w_arg, w in [(None, uniform), (W, W)]:
        want = _pearson_reference(R1, R2, norm, w)
        kw = dict(canon="none", norm=norm, metric="pearson", weights=w_arg)
        assert starc_distance(R1, R2, mdp, **kw) == pytest.approx(want, rel=1e-9)
        pair = starc_distance(np.stack([R1, R2]), None, mdp, pairwise=True, **kw)
        assert pair[0, 1] == pytest.approx(want, rel=1e-9)
        fc = distance_from_canonical(R1, R2, norm=norm, metric="pearson", weights=w_arg)
        assert fc == pytest.approx(want, rel=1e-9)


# --- sampled VAL: potential shaping cancels when states lie outside the coverage ----------------


def _shaped_pair(mdp, seed=1):
    R, g = mdp.reward, mdp.gamma
    phi = np.random.default_rng(seed).normal(size=mdp.n_states)
    return {
        "R": lambda s, a, s2: R[s, a, s2],
        "shaped": lambda s, a, s2: R[s, a, s2] + g * phi[s2] - phi[s],
    }


def test_sampled_val_cancels_shaping_at_states_reached_only_by_inner_samples():
    S, A = 30, 2
    mdp = random_mdp(S, A, 0.9, seed=0)
    model = TabularModel(mdp)
    cov = space_transitions(spaces.Discrete(S), spaces.Discrete(A), 20, model=model, seed=0)
    assert np.union1d(cov.obs, cov.next_obs).size < S  # states the coverage never reaches
    res = sampled_distance(
        _shaped_pair(mdp),
        cov,
        mdp.gamma,
        model=model,
        n_inner=32,
        action_sampler=spaces.Discrete(A),
        n_bootstrap=0,
    )
    assert res.distance[0, 1] == pytest.approx(0.0, abs=1e-9)


def test_model_free_val_cancels_shaping_at_next_states_never_seen_as_states():
    S, A = 30, 2
    mdp = random_mdp(S, A, 0.9, seed=0)
    cov = space_transitions(
        spaces.Discrete(S), spaces.Discrete(A), 40, model=TabularModel(mdp), seed=0
    )
    assert np.setdiff1d(cov.next_obs, cov.obs).size > 0  # V there has no TD equation
    res = sampled_distance(_shaped_pair(mdp), cov, mdp.gamma, canon="val", n_bootstrap=0)
    assert res.distance[0, 1] == pytest.approx(0.0, abs=1e-9)
    # ... while a different reward stays at a positive distance.
    R2 = np.random.default_rng(5).normal(size=mdp.reward.shape)
    rewards = {**_shaped_pair(mdp), "other": lambda s, a, s2: R2[s, a, s2]}
    res = sampled_distance(rewards, cov, mdp.gamma, canon="val", n_bootstrap=0)
    assert res.distance[0, 2] > 0.1


# --- compare: the exact table measures what the estimate measures ------------------------------

REWARDS = textwrap.dedent(
    """
    import numpy as np

    from rewardshaping.tabular import random_mdp

    R2 = np.random.default_rng(123).normal(size=(8, 2, 8))
    R_HIDDEN = random_mdp(8, 2, 0.95, seed=0, kind="garnet", branching=2).reward

    def other(s, a, s2):
        return R2[np.asarray(s), np.asarray(a), np.asarray(s2)]

    def hidden(s, a, s2):  # the HiddenTabular env's reward
        return R_HIDDEN[np.asarray(s), np.asarray(a), np.asarray(s2)]
    """
)
ENV = ["--env", "rewardshaping/RandomMDP-v0", "--env-kwargs", "n_states=8", "n_actions=2"]


@pytest.fixture
def reward_file(tmp_path):
    path = tmp_path / "review_rewards.py"
    path.write_text(REWARDS)
    return path


def _compare(tmp_path, reward_file, *extra):
    out = tmp_path / "res.json"
    args = ["compare", *ENV, "--reward", "env", "--reward", f"o={reward_file}:other"]
    assert main([*args, "--bootstrap", "0", "--json", str(out), *extra]) == 0
    return json.loads(out.read_text())


def _exact(mdp, gamma, cov, canon, norm):
    """The exact distance on the coverage's empirical distribution, built independently."""
    R2 = np.random.default_rng(123).normal(size=(8, 2, 8))
    W = np.zeros(mdp.transition.shape)
    np.add.at(W, (cov.obs, cov.action, cov.next_obs), 1.0)
    kw = {}
    if canon == "epic":
        pool = np.concatenate([cov.obs, cov.next_obs])
        kw["state_dist"] = np.bincount(pool, minlength=mdp.n_states) / len(pool)
    m = TabularMDP(mdp.transition, gamma=gamma)
    return starc_distance(mdp.reward, R2, m, canon=canon, norm=norm, weights=W, **kw)


def test_compare_exact_table_uses_the_gamma_option(tmp_path, reward_file, capsys):
    rec = _compare(
        tmp_path, reward_file, "--gamma", "0.0", "--coverage", "space", "--outer", "3000"
    )
    env = gym.make("rewardshaping/RandomMDP-v0", n_states=8, n_actions=2)
    mdp = env.unwrapped.mdp
    cov = space_transitions(
        env.observation_space, env.action_space, 3000, model=TabularModel(mdp), seed=0
    )
    assert rec["gamma"] == 0.0
    assert rec["exact"][0][1] == pytest.approx(_exact(mdp, 0.0, cov, "val", "l2"), rel=1e-9)
    assert abs(rec["exact"][0][1] - _exact(mdp, mdp.gamma, cov, "val", "l2")) > 0.01
    assert "gamma 0.0, on the same 3000 outer samples" in capsys.readouterr().out


@pytest.mark.parametrize("canon,norm", [("val", "l2"), ("epic", "pearson"), ("dard", "l2")])
def test_compare_exact_table_uses_the_estimates_rollout_coverage(
    tmp_path, reward_file, canon, norm
):
    rec = _compare(
        tmp_path, reward_file, "--canon", canon, "--norm", norm, "--outer", "3000",
        "--inner", "256",
    )  # fmt: skip
    env = gym.make("rewardshaping/RandomMDP-v0", n_states=8, n_actions=2)
    mdp = env.unwrapped.mdp
    cov = rollout_transitions(env, 3000, seed=0)  # the command's own coverage (same seed)
    want = _exact(mdp, mdp.gamma, cov, canon, norm)
    assert rec["exact"][0][1] == pytest.approx(want, rel=1e-9)
    # Like with like: the estimate differs only by its inner-sample / value-fit error.
    assert rec["distance"][0][1] == pytest.approx(rec["exact"][0][1], abs=0.01)


# --- compare: space coverage without a model is refused for VAL --------------------------------

_MDP = random_mdp(8, 2, 0.95, seed=0, kind="garnet", branching=2)


class HiddenTabular(gym.Env):
    """A tabular env that does not expose its MDP: ``compare`` finds no transition model."""

    observation_space = spaces.Discrete(8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = int(self.np_random.integers(8))
        return self.s, {}

    def step(self, a):
        s2 = int(self.np_random.choice(8, p=_MDP.transition[self.s, a]))
        r = float(_MDP.reward[self.s, a, s2])
        self.s = s2
        return s2, r, False, False, {}


HIDDEN = "rewardshaping_review_tests/HiddenTabular-v0"
if HIDDEN not in gym.registry:
    gym.register(HIDDEN, entry_point=HiddenTabular, max_episode_steps=50)


def test_compare_refuses_space_coverage_for_val_without_a_model(reward_file):
    args = ["compare", "--env", HIDDEN, "--reward", f"{reward_file}:hidden"]
    args += ["--reward", f"o={reward_file}:other"]
    args += ["--outer", "200", "--bootstrap", "0"]
    with pytest.raises(SystemExit, match="--coverage space with --canon val needs a transition"):
        main([*args, "--coverage", "space"])
    # The same rewards on real transitions (rollouts), or with EPIC, are fine.
    assert main([*args, "--coverage", "rollouts"]) == 0
    assert main([*args, "--coverage", "space", "--canon", "epic"]) == 0

"""PBRS theory on random tabular MDPs (Ng, Harada & Russell 1999), through the toolkit's term.

The shaping reward F[s, a, s'] is produced by calling ``PotentialShaping`` on a batch of every
(s, a, s') triple, exactly as an adapter would; value iteration then checks the guarantees.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.shaping import AdditiveHeuristic, PotentialShaping, TabularValuePotential
from rewardshaping.tabular import optimal_policy, random_mdp, value_iteration
from rewardshaping.transitions import Transitions


def term_as_array(term, n_states, n_actions):
    """The term's value for every (s, a, s') of a continuing (non-terminal) transition."""
    s, a, s2 = np.meshgrid(
        np.arange(n_states), np.arange(n_actions), np.arange(n_states), indexing="ij"
    )
    batch = Transitions.from_arrays(s.ravel(), a.ravel(), s2.ravel(), np.zeros(s.size))
    term.reset(np.ones(s.size, bool))
    return np.asarray(term(batch), dtype=np.float64).reshape(n_states, n_actions, n_states)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_states=st.integers(2, 12),
    n_actions=st.integers(2, 4),
    gamma=st.floats(0.5, 0.95),
    scale=st.floats(0.1, 10.0),
)
def test_pbrs_keeps_optimal_policy_and_shifts_q_by_phi(seed, n_states, n_actions, gamma, scale):
    mdp = random_mdp(n_states, n_actions, gamma, seed=seed)
    rng = np.random.default_rng(seed)
    phi = scale * rng.normal(size=n_states)
    F = term_as_array(PotentialShaping(TabularValuePotential(phi), gamma), n_states, n_actions)
    expected = np.broadcast_to(gamma * phi[None, None, :] - phi[:, None, None], F.shape)
    np.testing.assert_allclose(F, expected, atol=1e-4 * scale)

    _, q = value_iteration(mdp.transition, mdp.reward, gamma)
    _, q_shaped = value_iteration(mdp.transition, mdp.reward + F, gamma)
    # Q*_shaped(s, a) = Q*(s, a) - Phi(s)  (float32 rewards: tolerance scales with |Phi|/(1-gamma))
    tol = 1e-5 * (1 + np.abs(phi).max()) / (1 - gamma)
    np.testing.assert_allclose(q_shaped, q - phi[:, None], atol=tol)
    # ... hence the same greedy (optimal) actions, wherever the optimum is unique.
    gap = np.sort(q, axis=1)[:, -1] - np.sort(q, axis=1)[:, -2]
    clear = gap > 10 * tol
    assert (q_shaped.argmax(1)[clear] == q.argmax(1)[clear]).all()
    pi = optimal_policy(mdp.transition, mdp.reward, gamma)
    pi_shaped = optimal_policy(mdp.transition, mdp.reward + F, gamma)
    assert (pi[clear] == pi_shaped[clear]).all()


def test_an_additive_heuristic_changes_the_optimal_policy():
    """A non-potential bonus h(s') can make another policy optimal: search until found."""
    for seed in range(200):
        mdp = random_mdp(6, 3, 0.9, seed=seed)
        bonus = np.random.default_rng(seed).uniform(0, 2, size=6)
        h = AdditiveHeuristic(lambda b, bonus=bonus: bonus[b.next_obs], name="visit_bonus")
        H = term_as_array(h, 6, 3)
        pi = optimal_policy(mdp.transition, mdp.reward, 0.9)
        pi_h = optimal_policy(mdp.transition, mdp.reward + H, 0.9)
        if (pi != pi_h).any():
            # and it is worse under the true reward
            v, _ = value_iteration(mdp.transition, mdp.reward, 0.9)
            from rewardshaping.tabular import policy_evaluation

            v_h = policy_evaluation(mdp.transition, mdp.reward, 0.9, pi_h)
            assert (v_h <= v + 1e-9).all() and (v_h < v - 1e-6).any()
            return
    raise AssertionError("no policy-changing heuristic found in 200 random MDPs")

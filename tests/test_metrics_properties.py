"""Property tests of the exact reward metrics (Hypothesis over MDPs, rewards and transformations).

The invariances the theory promises (Gleave et al. 2021; Wulfe et al. 2022; Skalse et al. 2024):
every canonicalisation gives distance 0 between R and a potential-shaped, positively scaled copy;
only STARC canonicalisations (VAL, minimal) also ignore S'-redistribution; every distance is a
pseudometric with values in [0, 1].
"""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rewardshaping.metrics import (
    CANONICALIZATIONS,
    canonicalize,
    dard_distance,
    epic_distance,
    starc_distance,
)
from rewardshaping.tabular import random_mdp, shape_reward

NORMS3 = ("l1", "l2", "linf")
WEIGHTS = (None, "transition")


@st.composite
def cases(draw, min_states=1, min_actions=1, kinds=("starc", "garnet"), min_branching=1):
    """An MDP, a reward, a potential, a scale and an S'-redistribution of that MDP."""
    S = draw(st.integers(max(min_states, min_branching), 7))
    A = draw(st.integers(min_actions, 4))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    kind = draw(st.sampled_from(list(kinds)))
    branching = draw(st.integers(min_branching, S))
    seed = draw(st.integers(0, 2**32 - 1))
    mdp = random_mdp(S, A, gamma, kind=kind, branching=branching, seed=seed)
    rng = np.random.default_rng(seed + 1)
    R = rng.normal(size=(S, A, S)) * draw(st.sampled_from([0.01, 1.0, 100.0]))
    phi = rng.normal(size=S) * draw(st.sampled_from([0.1, 1.0, 10.0]))
    scale = draw(st.floats(1e-3, 1e3))
    X = rng.normal(size=(S, A, S)) * 3.0
    X -= np.einsum("sat,sat->sa", mdp.transition, X)[..., None]  # E_{S'~T(s,a)} X = 0
    return mdp, R, phi, scale, X


SETTINGS = settings(max_examples=60, deadline=None)


@given(cases())
@SETTINGS
def test_every_canonicalisation_ignores_shaping_and_scaling(case):
    mdp, R, phi, scale, _ = case
    R2 = scale * shape_reward(R, phi, mdp.gamma)
    for canon in CANONICALIZATIONS[1:]:
        for norm in NORMS3:
            for w in WEIGHTS:
                d = starc_distance(R, R2, mdp, canon=canon, norm=norm, weights=w)
                assert d < 1e-6, (canon, norm, w, d)
    assert epic_distance(R, R2, mdp) < 1e-6
    assert dard_distance(R, R2, mdp) < 1e-6


@given(cases())
@SETTINGS
def test_starc_canonicalisations_ignore_redistribution(case):
    mdp, R, phi, scale, X = case
    R2 = scale * shape_reward(R, phi, mdp.gamma) + X
    for canon in ("val", "minimal"):
        c1 = canonicalize(R, mdp, canon)
        c2 = canonicalize(R2 / scale, mdp, canon)
        np.testing.assert_allclose(c1, c2, atol=1e-8 * (1 + np.abs(R2).max() / scale))
        for norm in NORMS3:
            for w in WEIGHTS:
                d = starc_distance(R, R2, mdp, canon=canon, norm=norm, weights=w)
                assert d < 1e-6, (canon, norm, w, d)


# Redistribution is invisible only where T(s, a, .) is deterministic, so this test draws garnet
# MDPs with branching >= 2 (about 3 in 4 of them have spread in every (s, a); the "starc" kind
# almost never has, and drawing it made Hypothesis's filter health check fail now and then).
@given(cases(min_states=3, min_actions=2, kinds=("garnet",), min_branching=2))
@SETTINGS
def test_epic_and_dard_are_not_invariant_to_redistribution(case):
    mdp, R, _, _, X = case
    assume((mdp.transition > 0.05).sum(-1).min() >= 2)
    R2 = R + X * (np.abs(R).max() / np.abs(X).max())
    assert starc_distance(R, R2, mdp, canon="val") < 1e-6
    assert epic_distance(R, R2, mdp) > 1e-3
    assert starc_distance(R, R2, mdp, canon="epic") > 1e-3
    # DARD reads R(s, a, s') at the sampled transition itself: with T-weighted coverage it sees X.
    assert dard_distance(R, R2, mdp) > 1e-3
    assert starc_distance(R, R2, mdp, canon="dard", weights="transition") > 1e-3


@given(cases(), st.integers(0, 2**32 - 1))
@SETTINGS
def test_distances_are_pseudometrics_in_unit_interval(case, seed):
    mdp, R, *_ = case
    rng = np.random.default_rng(seed)
    S, A = mdp.n_states, mdp.n_actions
    # Random rewards plus degenerate ones: zero, constant, pure shaping (canonical form 0).
    Rs = np.stack(
        [
            R,
            rng.normal(size=R.shape),
            -R,
            np.zeros(R.shape),
            np.full(R.shape, 2.0),
            shape_reward(np.zeros(R.shape), rng.normal(size=S), mdp.gamma),
            R + rng.normal(size=R.shape) * 0.1,
        ]
    )
    fns = [
        lambda a, b, c=c, n=n: starc_distance(a, b, mdp, canon=c, norm=n, pairwise=True)
        for c in CANONICALIZATIONS
        for n in NORMS3
    ]
    fns += [
        lambda a, b: starc_distance(a, b, mdp, norm="l1", metric="linf", pairwise=True),
        lambda a, b: epic_distance(a, b, mdp, pairwise=True),
        lambda a, b: dard_distance(a, b, mdp, pairwise=True),
    ]
    for fn in fns:
        D = fn(Rs, None)
        assert np.all(np.isfinite(D))
        assert np.all(D >= 0) and np.all(D <= 1 + 1e-12)
        np.testing.assert_allclose(np.diag(D), 0.0, atol=1e-12)
        np.testing.assert_allclose(D, D.T, atol=1e-12)
        # Triangle inequality d(i, k) <= d(i, j) + d(j, k) for all triples.
        assert np.all(D[:, None, :] <= D[:, :, None] + D[None, :, :] + 1e-9)
        # Elementwise calls agree with the matrix.
        np.testing.assert_allclose(fn(Rs[:3], None)[0, 2], D[0, 2], atol=1e-12)
    if A >= 2:
        # Opposite rewards are at the maximum distance, 1 (when metric = norm).
        assume(np.abs(canonicalize(R, mdp, "val")).max() > 1e-6 * np.abs(R).max())
        for n in NORMS3:
            assert abs(starc_distance(R, -R, mdp, norm=n) - 1.0) < 1e-9

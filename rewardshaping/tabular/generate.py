"""Random tabular MDPs and random reward functions, seeded.

Two families of dynamics:

- ``kind="starc"``: the random MDPs of the STARC experiments (Skalse et al. 2024, the authors'
  code): transition logits drawn i.i.d. N(0, 1), logits at or below ``threshold`` replaced by
  ``masked_logit`` (-20), then a softmax over s'. A few successors per (s, a) carry almost all the
  mass; the others keep a tiny (about e^-21) probability, and a row with no logit above the
  threshold becomes uniform, exactly as in the authors' code.
- ``kind="garnet"``: Garnet MDPs (Archibald, McKinnon & Thomas 1995; Bhatnagar et al. 2009):
  each (s, a) has ``branching`` distinct successors drawn uniformly, with probabilities given by
  a uniform random partition of [0, 1]; all other successors have probability exactly 0.

Rewards (:func:`random_reward`): i.i.d. Gaussian R(s, a, s'), or the STARC experiments' recipe
(Gaussian, sometimes sparsified, scaled, shifted and potential-shaped).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rewardshaping.tabular.mdp import TabularMDP, check_gamma, shape_reward

__all__ = ["random_mdp", "random_transition", "random_reward"]

Seed = int | np.random.Generator | None


def random_transition(
    n_states: int,
    n_actions: int,
    *,
    kind: Literal["starc", "garnet"] = "starc",
    seed: Seed = None,
    threshold: float = 1.0,
    masked_logit: float = -20.0,
    branching: int | None = None,
) -> np.ndarray:
    """A random transition array T[s, a, s'] (rows sum to 1) of the ``kind`` family.

    Args:
        n_states, n_actions: S and A.
        kind: ``"starc"`` (thresholded Gaussian logits, softmax) or ``"garnet"``.
        seed: an int, a ``numpy.random.Generator`` or None.
        threshold: ``"starc"`` only: logits kept where above it (1.0 for 32 states in the paper).
        masked_logit: ``"starc"`` only: the value other logits are set to.
        branching: ``"garnet"`` only: successors per (s, a) (default max(1, S // 10)).

    Example:
        >>> T = random_transition(5, 2, kind="garnet", branching=2, seed=0)
        >>> T.shape, bool(((T > 0).sum(-1) == 2).all()), bool(abs(T.sum(-1) - 1).max() < 1e-12)
        ((5, 2, 5), True, True)
    """
    _check_sizes(n_states, n_actions)
    rng = np.random.default_rng(seed)
    S, A = n_states, n_actions
    if kind == "starc":
        logits = rng.standard_normal((S, A, S))
        logits = np.where(logits > threshold, logits, masked_logit)
        logits -= logits.max(-1, keepdims=True)
        T = np.exp(logits)
        return T / T.sum(-1, keepdims=True)
    if kind == "garnet":
        b = max(1, S // 10) if branching is None else int(branching)
        if not 1 <= b <= S:
            raise ValueError(f"branching must be in [1, n_states={S}], got {branching}")
        # b distinct successors per row: the first b of a random permutation.
        succ = np.argsort(rng.random((S, A, S)), axis=-1)[..., :b]
        cuts = np.sort(rng.random((S, A, b - 1)), axis=-1)
        edges = np.concatenate([np.zeros((S, A, 1)), cuts, np.ones((S, A, 1))], axis=-1)
        T = np.zeros((S, A, S))
        np.put_along_axis(T, succ, np.diff(edges, axis=-1), axis=-1)
        return T / T.sum(-1, keepdims=True)
    raise ValueError(f"kind must be 'starc' or 'garnet', got {kind!r}")


def random_mdp(
    n_states: int,
    n_actions: int,
    gamma: float = 0.95,
    *,
    kind: Literal["starc", "garnet"] = "starc",
    seed: Seed = None,
    threshold: float = 1.0,
    branching: int | None = None,
    reward_recipe: Literal["gaussian", "starc"] = "gaussian",
) -> TabularMDP:
    """A random MDP: dynamics from :func:`random_transition`, reward from :func:`random_reward`.

    The start distribution is uniform. The same seed gives the same MDP.

    Example:
        >>> mdp = random_mdp(32, 4, 0.95, seed=0)
        >>> mdp.transition.shape, mdp.reward.shape, mdp.gamma
        ((32, 4, 32), (32, 4, 32), 0.95)
        >>> bool((random_mdp(32, 4, seed=0).transition == mdp.transition).all())
        True
    """
    gamma = check_gamma(gamma)
    rng = np.random.default_rng(seed)
    T = random_transition(
        n_states, n_actions, kind=kind, seed=rng, threshold=threshold, branching=branching
    )
    R = random_reward(n_states, n_actions, gamma=gamma, recipe=reward_recipe, seed=rng)
    return TabularMDP(T, R, gamma)


def random_reward(
    n_states: int,
    n_actions: int,
    *,
    size: int | tuple[int, ...] = (),
    gamma: float | None = None,
    recipe: Literal["gaussian", "starc"] = "gaussian",
    seed: Seed = None,
) -> np.ndarray:
    """Random reward functions of shape (*size, S, A, S).

    ``recipe="gaussian"``: i.i.d. N(0, 1). ``recipe="starc"`` follows the STARC experiments
    (Skalse et al. 2024, authors' code), each choice made independently per reward: i.i.d.
    N(0, 1); with probability 0.2 sparsified (entries below 3, 3.5 or 3.8 for S < 50, < 100,
    larger, set to 0); with probability 0.7 scaled by 10 U; with probability 0.3 shifted by 10 U;
    with probability 0.5 potential-shaped with Phi = N(0, 1) * 10 U + U (needs ``gamma``);
    U ~ Uniform(0, 1).

    Example:
        >>> R = random_reward(4, 2, size=3, gamma=0.9, recipe="starc", seed=0)
        >>> R.shape
        (3, 4, 2, 4)
    """
    _check_sizes(n_states, n_actions)
    rng = np.random.default_rng(seed)
    size = (size,) if isinstance(size, int) else tuple(size)
    S, A = n_states, n_actions
    R = rng.standard_normal((*size, S, A, S))
    if recipe == "gaussian":
        return R
    if recipe != "starc":
        raise ValueError(f"recipe must be 'gaussian' or 'starc', got {recipe!r}")
    if gamma is None:
        raise ValueError("recipe='starc' potential-shapes some rewards: pass gamma")
    gamma = check_gamma(gamma)

    def per_reward(p: float) -> np.ndarray:
        # One draw per reward, broadcast over (S, A, S).
        return (rng.random(size) < p)[..., None, None, None]

    def uniform() -> np.ndarray:
        return rng.random(size)[..., None, None, None]

    thresh = 3.0 if S < 50 else (3.5 if S < 100 else 3.8)
    R = np.where(per_reward(0.2) & (R <= thresh), 0.0, R)
    R = np.where(per_reward(0.7), R * 10 * uniform(), R)
    R = np.where(per_reward(0.3), R + 10 * uniform(), R)
    phi = rng.standard_normal((*size, S)) * 10 * rng.random((*size, 1)) + rng.random((*size, 1))
    return np.where(per_reward(0.5), shape_reward(R, phi, gamma), R)


def _check_sizes(n_states: int, n_actions: int) -> None:
    if int(n_states) < 1 or int(n_actions) < 1:
        raise ValueError(f"need n_states >= 1 and n_actions >= 1, got {n_states}, {n_actions}")

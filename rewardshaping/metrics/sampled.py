"""Sampled (Monte Carlo) EPIC, DARD and STARC-VAL distances for continuous or large envs.

Rewards are batched callables r(obs, action, next_obs), toolkit reward terms or an env's own
reward (:mod:`~rewardshaping.metrics.sources`). The estimate has two sample counts, reported
separately:

- **outer** samples: transitions (s, a, s') of the coverage distribution (rollouts or spaces),
  on which the canonical rewards are compared (the norm is taken under their empirical
  distribution, uniform weight each);
- **inner** samples per outer transition, which estimate the expectations inside the
  canonicalisation: EPIC (Gleave et al. 2021) draws A ~ D_A and S, S' from the coverage states;
  DARD (Wulfe et al. 2022) and VAL (Skalse et al. 2024) draw next states from a transition model.

Common random numbers: every reward is evaluated on the very same samples, so rewards that are
equivalent get the same canonical values and distance 0 (with independent samples per reward
they would not). The bias of the distance falls as the inner count grows.

VAL needs V^pi per reward (pi: uniform over the action space, or the coverage's actions). It is
fitted by LSTD(0) (Bradtke & Barto 1996) on transitions (x, u ~ pi, x' ~ T(x, u)) from the
coverage states, with one factorisation for all rewards. Where the LSTD equations leave V
undetermined (one-hot features of states with no transition of their own: next states, inner or
LSTD's, outside the coverage states; fewer transitions than features) or fix it only up to
rounding noise (near-singular directions, common with Fourier features), the free part is chosen
to minimise the L2 norm of the canonical rewards over the outer samples, as the minimal
canonicalisation does, rather than left to the solver. LSTD is linear in the reward and that
choice is made over the set of all LSTD solutions, so a potential that the value features can
represent cancels exactly, as in the tabular case, however small the coverage. Without a
transition model, VAL is model-free: TD on the coverage rollouts themselves (pi = the policy
that collected them) and the observed s' as the single inner sample.

The confidence interval is a percentile bootstrap over the outer samples (canonical values kept
fixed): it covers the coverage-sampling error, not the inner-sample or value-fit error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from rewardshaping.metrics.distance import ZERO_RTOL, distance_between, standardize
from rewardshaping.metrics.norms import Norm, metric_bound
from rewardshaping.metrics.sources import (
    RewardFunction,
    TransitionModel,
    as_reward_fn,
    sample_space,
)
from rewardshaping.tabular.mdp import check_gamma
from rewardshaping.transitions import Transitions

__all__ = [
    "SampledDistance",
    "sampled_canonical",
    "sampled_distance",
    "bootstrap_distances",
    "lstd_values",
    "OneHotFeatures",
    "FourierFeatures",
]

SampledCanon = Literal["epic", "dard", "val"]
Features = Callable[[np.ndarray], np.ndarray]
# Rows per reward call: keeps the stacked inner-sample arrays small.
_EVAL_ROWS = 1 << 16


@dataclass(frozen=True)
class SampledDistance:
    """Result of :func:`sampled_distance`: the distance matrix and its bootstrap interval.

    Attributes:
        names: the rewards' names, in matrix order.
        distance: (K, K) distances in [0, 1] on all outer samples.
        ci_low, ci_high: (K, K) percentile-bootstrap bounds (``confidence`` level).
        canonical: (K, n_outer) sampled canonical rewards at the outer samples.
    """

    names: tuple[str, ...]
    distance: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    canonical: np.ndarray = field(repr=False)
    canon: str = "val"
    norm: str = "l2"
    n_outer: int = 0
    n_inner: int = 0
    n_bootstrap: int = 0
    confidence: float = 0.95

    def __str__(self) -> str:
        cell = lambda i, j: (  # noqa: E731
            f"{self.distance[i, j]:.3f} [{self.ci_low[i, j]:.3f}, {self.ci_high[i, j]:.3f}]"
        )
        width = max(len(cell(0, 0)), *(len(n) for n in self.names))
        rows = [" " * width + "".join(f"  {n:>{width}}" for n in self.names)]
        for i, a in enumerate(self.names):
            rows.append(
                f"{a:>{width}}"
                + "".join(f"  {cell(i, j):>{width}}" for j in range(len(self.names)))
            )
        rows.append(
            f"({self.canon}, {self.norm}; {self.n_outer} outer x {self.n_inner} inner samples; "
            f"{self.confidence:.0%} bootstrap CI over {self.n_bootstrap} resamples)"
        )
        return "\n".join(rows)


class OneHotFeatures:
    """Tabular value features: one-hot of integer observations in [start, start + n), as
    Gymnasium's ``Discrete(n, start)``; observations outside are an error.

    Example:
        >>> OneHotFeatures(3)(np.array([2, 0])).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
        >>> OneHotFeatures(2, start=-1)(np.array([-1])).tolist()
        [[1.0, 0.0]]
    """

    def __init__(self, n: int, start: int = 0) -> None:
        self.n, self.start = int(n), int(start)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        idx = np.asarray(obs, dtype=np.int64).reshape(-1) - self.start
        # Checked: NumPy would read a negative index as a row from the end, another state's.
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(
                f"observations must be in [{self.start}, {self.start + self.n}), got "
                f"{idx.min() + self.start}..{idx.max() + self.start}"
            )
        return np.eye(self.n)[idx]


class FourierFeatures:
    """Value features for vector observations: [1, z, cos(z W + b)] with z the standardised
    observation and random Fourier features (Rahimi & Recht 2007), seeded.

    The affine part means any potential linear in the observation is represented exactly.

    Example:
        >>> import numpy as np
        >>> f = FourierFeatures(np.random.default_rng(0).normal(size=(100, 3)), n_fourier=8, seed=0)
        >>> f(np.zeros((2, 3))).shape
        (2, 12)
    """

    def __init__(
        self, sample: np.ndarray, n_fourier: int = 128, bandwidth: float = 1.0, seed: int = 0
    ) -> None:
        x = np.asarray(sample, dtype=np.float64).reshape(len(sample), -1)
        self.mean = x.mean(0)
        self.std = np.where(x.std(0) > 1e-8, x.std(0), 1.0)
        rng = np.random.default_rng(seed)
        self.W = rng.normal(size=(x.shape[1], n_fourier)) / bandwidth
        self.b = rng.uniform(0, 2 * np.pi, n_fourier)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        z = (np.asarray(obs, dtype=np.float64).reshape(len(obs), -1) - self.mean) / self.std
        return np.hstack(
            [np.ones((len(z), 1)), z, np.sqrt(2.0 / self.W.shape[1]) * np.cos(z @ self.W + self.b)]
        )


def lstd_values(
    phi: np.ndarray,
    phi_next: np.ndarray,
    terminated: np.ndarray,
    rewards: np.ndarray,
    gamma: float,
    ridge: float = 0.0,
) -> np.ndarray:
    """LSTD(0) weights (F, K) for K rewards (K, N) on N transitions with features (N, F).

    Solves A w = b with A = mean phi (phi - gamma (1 - term) phi')^T (+ ``ridge`` * trace(A) / F
    on the diagonal) and b = mean phi r, in the least-squares sense (minimum norm where A is
    singular, e.g. features never visited). One factorisation serves all rewards. Without a
    ridge the solution is exactly linear in the reward, so a potential in the span of the
    features shifts V by exactly -Phi.

    Example:
        >>> import numpy as np
        >>> phi = np.eye(2)[[0, 1]]; nxt = np.eye(2)[[1, 1]]  # 0 -> 1 -> 1 (absorbing)
        >>> w = lstd_values(phi, nxt, np.zeros(2, bool), np.array([[1.0, 0.0]]), 0.5)
        >>> w[:, 0].round(6).tolist()
        [1.0, 0.0]
    """
    A, b = _lstd_system(phi, phi_next, terminated, rewards, gamma)
    if ridge > 0:
        f = A.shape[0]
        A = A + ridge * max(np.trace(A), 1e-12) / f * np.eye(f)
    return np.linalg.lstsq(A, b, rcond=None)[0]


def _lstd_system(phi, phi_next, terminated, rewards, gamma) -> tuple[np.ndarray, np.ndarray]:
    """LSTD(0)'s A (F, F) and b (F, K), as in :func:`lstd_values`."""
    n = phi.shape[0]
    cont = (1.0 - np.asarray(terminated, dtype=np.float64))[:, None]
    A = phi.T @ (phi - gamma * cont * phi_next) / n
    b = phi.T @ np.asarray(rewards, dtype=np.float64).T / n
    return A, b


def _solve_with_null_space(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(minimum-norm least-squares solution (F, K), orthonormal basis (F, d) of null(A)).

    Every least-squares solution is the first plus a combination of the basis. Directions of
    singular value below ``eps / ZERO_RTOL`` (about 2e-8) times the largest count as null:
    A is numerically singular along them.
    """
    U, sv, Vt = np.linalg.svd(A)
    # A and b carry rounding errors of about eps * sv[0]; the solution along a direction of
    # singular value sv multiplies them by sv[0] / sv. Past ZERO_RTOL / eps that noise reaches
    # the size below which the distances treat a canonical reward as zero, so V there is noise,
    # not data. lstsq's cutoff (eps * F * sv[0]) keeps such directions: with FourierFeatures
    # (condition numbers 1e11 to 1e13) a constant reward, pure shaping in a continuing task,
    # came out as a unit-norm noise vector. Along the null space V is then chosen by the least
    # canonical norm rule (see _canonical), which is linear in the reward: a potential in the
    # features' span still cancels exactly.
    tol = (sv[0] if sv.size else 0.0) * np.finfo(np.float64).eps / ZERO_RTOL
    r = int(np.sum(sv > tol))
    w = Vt[:r].T @ ((U[:, :r].T @ b) / sv[:r, None])
    return w, Vt[r:].T


def _project(features: Features, obs: Any, mat: np.ndarray) -> np.ndarray:
    """features(obs) @ mat (n, ...), in row blocks (one-hot rows of many samples are large)."""
    n = len(obs)
    out = np.empty((n, *mat.shape[1:]))
    for i in range(0, n, _EVAL_ROWS):
        out[i : i + _EVAL_ROWS] = features(_take(obs, slice(i, i + _EVAL_ROWS))) @ mat
    return out


def _take(x: Any, idx: np.ndarray) -> Any:
    return np.asarray(x)[idx]


def _evaluate(rewards: Sequence[RewardFunction], obs, action, nxt) -> np.ndarray:
    """(K, N) reward values, in row blocks."""
    n = len(action)
    out = np.empty((len(rewards), n))
    for i in range(0, n, _EVAL_ROWS):
        sl = slice(i, i + _EVAL_ROWS)
        for k, r in enumerate(rewards):
            out[k, sl] = r(obs[sl], action[sl], nxt[sl])
    return out


def _actions(action_sampler, coverage: Transitions, n: int, rng) -> np.ndarray:
    if action_sampler is None:  # the coverage's own action distribution
        return _take(coverage.action, rng.integers(0, coverage.num_envs, n))
    if isinstance(action_sampler, spaces.Space):
        return sample_space(action_sampler, n, rng)
    return np.asarray(action_sampler(n, rng))


def sampled_canonical(
    rewards: Sequence[Any],
    coverage: Transitions,
    gamma: float,
    canon: SampledCanon = "val",
    *,
    model: TransitionModel | None = None,
    n_inner: int = 32,
    action_sampler: spaces.Space | Callable[[int, np.random.Generator], Any] | None = None,
    features: Features | None = None,
    n_value: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Canonical rewards (K, N) at the N coverage transitions, by Monte Carlo (see module doc).

    Args:
        rewards: K rewards (callables, terms or :class:`RewardFunction`).
        coverage: the outer samples (obs, action, next_obs), e.g. :func:`rollout_transitions`.
        gamma: the discount.
        canon: ``"epic"``, ``"dard"`` or ``"val"``.
        model: a transition model; needed by DARD. VAL without a model uses the coverage's
            own next state as its one inner sample and fits V by TD on the coverage
            transitions (they must come from the env's dynamics, e.g. rollouts; pi is then the
            policy that collected them).
        n_inner: inner samples per outer transition (EPIC's, or drawn from the model); EPIC
            needs at least 2: its constant term pairs each inner S' with another draw as S.
        action_sampler: D_A (and VAL's policy): a Gymnasium space (uniform), a callable
            ``(n, rng) -> actions``, or None for the coverage's own actions.
        features: value features for VAL (default: one-hot for integer observations,
            :class:`FourierFeatures` otherwise).
        n_value: VAL's LSTD transitions (default: one from each outer s and non-terminal s').
        seed: seeds every draw; the same seed gives the same numbers.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.metrics.sources import TabularModel, space_transitions
        >>> from rewardshaping.tabular import random_mdp
        >>> from gymnasium import spaces
        >>> mdp = random_mdp(5, 2, 0.9, seed=0)
        >>> model = TabularModel(mdp)
        >>> cov = space_transitions(spaces.Discrete(5), spaces.Discrete(2), 50, model=model)
        >>> r = lambda s, a, s2: mdp.reward[s, a, s2]
        >>> sampled_canonical([r], cov, 0.9, "dard", model=model, action_sampler=spaces.Discrete(2)).shape
        (1, 50)
    """
    fns = [as_reward_fn(r) for r in rewards]
    return _canonical(
        fns, coverage, gamma, canon, model, n_inner, action_sampler, features, n_value, seed
    )[0]


def _canonical(
    fns, coverage, gamma, canon, model, n_inner, action_sampler, features, n_value, seed
):
    """(canonical (K, N), R at the outer samples (K, N))."""
    if not fns:
        raise ValueError("need at least one reward")
    gamma = check_gamma(gamma)
    if canon not in ("epic", "dard", "val"):
        raise ValueError(f"sampled canon must be 'epic', 'dard' or 'val', got {canon!r}")
    if canon == "dard" and model is None:
        raise ValueError("canon='dard' draws next states from T: pass a transition model")
    if canon == "val" and model is None and action_sampler is not None:
        raise ValueError(
            "model-free VAL fits V by TD on the coverage, so its policy is the one that "
            "collected the coverage: pass a transition model to use action_sampler's policy"
        )
    if int(n_inner) < 1:
        raise ValueError(f"n_inner must be >= 1, got {n_inner}")
    if canon == "epic" and int(n_inner) < 2:
        # The constant term pairs each inner S' with another inner draw as S (see below).
        raise ValueError(
            f"sampled EPIC needs n_inner >= 2 (independent S and S' for its constant term), "
            f"got {n_inner}"
        )
    rng = np.random.default_rng(seed)
    obs, act, nxt = (
        np.asarray(coverage.obs),
        np.asarray(coverage.action),
        np.asarray(coverage.next_obs),
    )
    N, M = len(act), int(n_inner)
    rep = np.repeat(np.arange(N), M)  # outer index of each (outer, inner) row
    R = _evaluate(fns, obs, act, nxt)  # R(s, a, s'), (K, N)

    if canon == "epic":
        pool = np.concatenate([obs, nxt])  # D_S: the coverage's states
        A = _actions(action_sampler, coverage, M, rng)
        S2_in = _take(pool, rng.integers(0, len(pool), M))
        # S of the constant term: the same states as S', paired in another order, so that a
        # potential's sample means cancel exactly (independent draws would leave an offset).
        # A shift by one pairs every S with another draw, so S and S' are independent; a random
        # permutation keeps one draw in place (S = S') on average: a bias of order 1/M.
        S_in = np.roll(S2_in, 1, axis=0)
        A_rep, S2_rep = _take(A, np.tile(np.arange(M), N)), _take(S2_in, np.tile(np.arange(M), N))
        from_next = _evaluate(fns, _take(nxt, rep), A_rep, S2_rep).reshape(-1, N, M).mean(-1)
        from_s = _evaluate(fns, _take(obs, rep), A_rep, S2_rep).reshape(-1, N, M).mean(-1)
        const = _evaluate(fns, S_in, A, S2_in).mean(-1, keepdims=True)
        return R + gamma * from_next - from_s - gamma * const, R

    if canon == "dard":
        A = _actions(action_sampler, coverage, N * M, rng)
        X, _ = model.sample(_take(obs, rep), A, rng)  # S' ~ T(s, A)
        Y, _ = model.sample(_take(nxt, rep), A, rng)  # S'' ~ T(s', A)
        term1 = _evaluate(fns, _take(nxt, rep), A, Y).reshape(-1, N, M).mean(-1)
        term2 = _evaluate(fns, _take(obs, rep), A, X).reshape(-1, N, M).mean(-1)
        term3 = _evaluate(fns, X, A, Y).reshape(-1, N, M).mean(-1)
        return R + gamma * term1 - term2 - gamma * term3, R

    # VAL: c(s, a) = E_{S'~T(s,a)}[R(s, a, S') + gamma V(S')] - V(s)
    if model is None:  # model-free: the rollout's own s' is the one inner sample
        X, x_term, M = nxt, np.asarray(coverage.terminated, bool), 1
        rep = np.arange(N)
    else:
        X, x_term = model.sample(_take(obs, rep), _take(act, rep), rng)
    live = ~np.asarray(x_term, bool)
    w, null, feats = _fit_values(
        fns, coverage, model, gamma, action_sampler, features, n_value, rng, X
    )
    # c = E[R + gamma V(X)] - V(s) is linear in the value weights, and every w + null @ z
    # solves LSTD: take the z of least L2 canonical norm. Left to the solver (z = 0), the
    # values at states without an equation would not shift with a potential, which would then
    # not cancel. When LSTD determines V, null is empty.
    both = np.concatenate([w, null], axis=1)  # (F, K + d)
    at_s, at_x = _project(feats, obs, both), _project(feats, X, both) * live[:, None]
    lin = gamma * at_x.reshape(N, M, -1).mean(1) - at_s  # (N, K + d)
    inner = _evaluate(fns, _take(obs, rep), _take(act, rep), X).reshape(-1, N, M).mean(-1)
    C = inner + lin[:, : len(fns)].T
    if null.shape[1]:
        G = lin[:, len(fns) :]  # (N, d): how the free part moves c
        C = C + (G @ np.linalg.lstsq(G, -C.T, rcond=None)[0]).T
    return C, R


def _fit_values(fns, coverage, model, gamma, action_sampler, features, n_value, rng, extra):
    """V^pi of every reward by LSTD: (weights (F, K), null-space basis (F, d), features).

    With a model: on transitions (x, u ~ pi, x' ~ T(x, u)) from the coverage states. Without:
    TD on the coverage transitions themselves (pi is the policy that collected them). Any
    weights w + null @ z are LSTD solutions too: V is undetermined along null, e.g. at states
    with no transition of their own (one-hot features). ``extra``: other states the features
    are evaluated at (besides the coverage's and LSTD's states).
    """
    if model is None:
        states, u = np.asarray(coverage.obs), np.asarray(coverage.action)
        x2, term = np.asarray(coverage.next_obs), np.asarray(coverage.terminated, bool)
    else:
        # States the policy acts in: the outer s and the non-terminal s' (V = 0 at terminals).
        live = ~np.asarray(coverage.terminated, bool)
        states = np.concatenate([np.asarray(coverage.obs), np.asarray(coverage.next_obs)[live]])
        if n_value is not None:
            states = _take(states, rng.integers(0, len(states), int(n_value)))
        u = _actions(action_sampler, coverage, len(states), rng)
        x2, term = model.sample(states, u, rng)
    r = _evaluate(fns, states, u, x2)
    if features is None:
        if np.issubdtype(states.dtype, np.integer) and states.ndim == 1:
            # One column per integer from the least to the largest state the features are
            # evaluated at: the outer s too, which n_value's subsample may leave out, and
            # negative labels (Discrete(n, start=-k)).
            seen = [states, x2, np.asarray(coverage.obs), np.asarray(extra)]
            low = min(int(x.min()) for x in seen if x.size)
            high = max(int(x.max()) for x in seen if x.size)
            features = OneHotFeatures(high - low + 1, start=low)
        else:
            features = FourierFeatures(states, seed=int(rng.integers(2**31)))
    phi = features(states)
    if not isinstance(features, OneHotFeatures) and len(states) < _MIN_FIT_RATIO * phi.shape[1]:
        # One-hot features leave V free only at states without a transition, by design. Dense
        # features with few transitions leave it free everywhere, and the least-canonical-norm
        # choice then fits the reward itself: distances shrink towards 0 (a Pendulum pair at
        # 0.70 with 1000 outer samples gave 0.44 with 200 and 0 with 100).
        warnings.warn(
            f"VAL's value fit has {len(states)} transitions for {phi.shape[1]} features; with "
            f"fewer than {_MIN_FIT_RATIO}x as many it absorbs part of the rewards and "
            "understates the distances: use more outer samples (or n_value), or fewer features",
            RuntimeWarning,
            stacklevel=4,
        )
    A, b = _lstd_system(phi, features(x2), term, r, gamma)
    w, null = _solve_with_null_space(A, b)
    return w, null, features


#: Transitions per dense value feature below which :func:`_fit_values` warns (see there).
_MIN_FIT_RATIO = 3


def bootstrap_distances(
    canonical: np.ndarray,
    norm: Norm = "l2",
    *,
    scale: np.ndarray | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise distances (K, K) between sampled canonical rewards (K, N), with a percentile
    bootstrap interval over the N outer samples: (distance, low, high).

    Example:
        >>> import numpy as np
        >>> C = np.random.default_rng(0).normal(size=(2, 200))
        >>> d, lo, hi = bootstrap_distances(np.stack([C[0], 3 * C[0], -C[0]]), n_bootstrap=50)
        >>> d.round(6).tolist()[0], bool(lo[0, 1] <= d[0, 1] <= hi[0, 1])
        ([0.0, 0.0, 1.0], True)
    """
    C = np.asarray(canonical, dtype=np.float64)
    K, N = C.shape
    bound = metric_bound(norm, norm, size=N)

    def matrix(w: np.ndarray) -> np.ndarray:
        s = standardize(C, norm, w, scale)
        return distance_between(s, s, norm, w, bound, pairwise=True)

    d = matrix(np.full(N, 1.0 / N))
    if n_bootstrap <= 0:
        return d, d.copy(), d.copy()
    rng = np.random.default_rng(seed)
    boots = np.empty((int(n_bootstrap), K, K))
    for b in range(int(n_bootstrap)):
        boots[b] = matrix(rng.multinomial(N, np.full(N, 1.0 / N)) / N)
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha], axis=0)
    return d, np.minimum(lo, d), np.maximum(hi, d)


def sampled_distance(
    rewards: Sequence[Any] | Mapping[str, Any],
    coverage: Transitions,
    gamma: float,
    *,
    canon: SampledCanon = "val",
    norm: Norm = "l2",
    model: TransitionModel | None = None,
    n_outer: int | None = None,
    n_inner: int = 32,
    action_sampler: spaces.Space | Callable[[int, np.random.Generator], Any] | None = None,
    features: Features | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> SampledDistance:
    """Sampled STARC-VAL / EPIC / DARD distance matrix between rewards, with a bootstrap CI.

    Args:
        rewards: a list, or a dict name -> reward (callables r(obs, action, next_obs),
            reward terms, :func:`~rewardshaping.metrics.sources.env_reward`).
        coverage: the outer samples; ``n_outer`` of them are used (drawn without replacement;
            default all).
        norm: ``"l2"`` (default), ``"l1"``, ``"linf"`` or ``"pearson"`` (EPIC's and DARD's
            own Pearson distance) over the empirical coverage distribution; metric = norm.
        Others: see :func:`sampled_canonical`.

    Example:
        >>> import numpy as np
        >>> from gymnasium import spaces
        >>> from rewardshaping.metrics.sources import TabularModel, space_transitions
        >>> from rewardshaping.tabular import random_mdp
        >>> mdp = random_mdp(6, 2, 0.9, seed=0)
        >>> model, R = TabularModel(mdp), mdp.reward
        >>> cov = space_transitions(spaces.Discrete(6), spaces.Discrete(2), 300, model=model)
        >>> phi = np.arange(6.0)
        >>> rewards = {"R": lambda s, a, s2: R[s, a, s2],
        ...            "shaped": lambda s, a, s2: 2 * (R[s, a, s2] + 0.9 * phi[s2] - phi[s]),
        ...            "-R": lambda s, a, s2: -R[s, a, s2]}
        >>> res = sampled_distance(rewards, cov, 0.9, model=model, n_inner=8,
        ...                        action_sampler=spaces.Discrete(2), n_bootstrap=100)
        >>> res.distance.round(6)[0].tolist(), bool(res.ci_low[0, 1] <= 1e-6)
        ([0.0, 0.0, 1.0], True)
    """
    if isinstance(rewards, Mapping):
        fns = [as_reward_fn(r, name=str(k)) for k, r in rewards.items()]
    else:
        fns = [as_reward_fn(r) for r in rewards]
    names = [f.name for f in fns]
    if len(set(names)) != len(names):
        names = [f"{n}#{i}" for i, n in enumerate(names)]
    rng = np.random.default_rng(seed)
    if n_outer is not None:
        if not 1 <= n_outer <= coverage.num_envs:
            raise ValueError(f"n_outer must be in [1, {coverage.num_envs}], got {n_outer}")
        idx = np.sort(rng.choice(coverage.num_envs, size=int(n_outer), replace=False))
        coverage = Transitions.from_arrays(
            _take(coverage.obs, idx),
            _take(coverage.action, idx),
            _take(coverage.next_obs, idx),
            coverage.reward[idx],
            coverage.terminated[idx],
        )
    C, outer = _canonical(
        fns,
        coverage,
        gamma,
        canon,
        model,
        n_inner,
        action_sampler,
        features,
        None,
        int(rng.integers(2**31)),
    )
    scale = np.abs(outer).max(-1)  # max |R| on the outer samples (zero convention)
    d, lo, hi = bootstrap_distances(
        C,
        norm,
        scale=scale,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        seed=int(rng.integers(2**31)),
    )
    return SampledDistance(
        names=tuple(names),
        distance=d,
        ci_low=lo,
        ci_high=hi,
        canonical=C,
        canon=canon,
        norm=norm,
        n_outer=coverage.num_envs,
        n_inner=1 if canon == "val" and model is None else int(n_inner),
        n_bootstrap=int(n_bootstrap),
        confidence=confidence,
    )

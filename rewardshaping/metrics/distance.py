"""Exact distances between tabular reward functions: STARC, EPIC and DARD.

A STARC metric (Skalse et al. 2024) is d(R1, R2) = m(s(R1) - s(R2)) / B with the standardised
reward s(R) = c(R) / n(c(R)): c a canonicalisation (:mod:`~rewardshaping.metrics.canonical`), n a
norm and m a metric (:mod:`~rewardshaping.metrics.norms`).

Conventions (the same for every function here):

- **Scaling to [0, 1]**: B = :func:`~rewardshaping.metrics.norms.metric_bound`, the largest value
  m can take between two unit-norm rewards (B = 2 when m is the norm n). So d = 1 for R2 = -R1
  (when m = n), d = 0 for equivalent rewards. EPIC's Pearson distance sqrt((1 - rho) / 2)
  (Gleave et al. 2021) is exactly this recipe with n = m = ``"pearson"``.
- **Zero canonical reward** (R equivalent to 0, e.g. a constant or pure shaping reward, for
  which rho is undefined): s(R) = 0, never NaN. A canonical reward counts as zero when its
  entries are all below 1e-8 times the largest |R| (unweighted norms) or its weighted norm is
  (probability weights), so that rounding noise is not blown up to a unit vector. The largest
  |R| is taken over the entries the canonical values are computed from: where T > 0 for VAL
  and minimal (they read R only through E_T R), where W > 0 for ``canon="none"`` under
  weights, everywhere otherwise (EPIC's and DARD's expectations read R off T's support). So
  for VAL and minimal a large value where T = 0 (an "impossible transition" marker) cannot
  make R zero-like. Then d(R, 0-like) = 1/2 (m = n) and d = 0
  between two zero-like rewards; d stays a pseudometric.
- **Weights**: norms and metrics use the same weights W(s, a, s'), rescaled to sum to 1 (the
  scale of W does not change distances). ``None``/``"uniform"``: all (s, a, s') alike;
  ``"transition"``: D_S(s) D_A(a) T(s, a, s'); or an array.
- **Batching**: R1 and R2 have shape (..., S, A, S) and broadcast against each other
  (elementwise distances), or with ``pairwise=True`` give the (K1, K2) matrix between all of R1
  (K1, S, A, S) and all of R2 (R1 itself when R2 is None). One reward pair gives a float.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rewardshaping.metrics.canonical import (
    Canon,
    advantage_from_expected,
    canonicalize,
    distribution,
)
from rewardshaping.metrics.norms import (
    CHUNK,
    Norm,
    check_weights,
    coverage_weights,
    metric_bound,
    transition_weights,
    uniform_factor,
    vector_norm,
)
from rewardshaping.tabular.mdp import TabularMDP, check_rewards
from rewardshaping.tabular.solve import expected_reward

__all__ = [
    "starc_distance",
    "epic_distance",
    "dard_distance",
    "standardize",
    "distance_between",
    "distance_from_canonical",
    "ZERO_RTOL",
]

#: Canonical rewards with all entries below ZERO_RTOL * max |R| (over the entries they are
#: computed from) are treated as exactly zero.
ZERO_RTOL = 1e-8

Weights = np.ndarray | Literal["uniform", "transition"] | None


def _check_mdp(mdp: TabularMDP) -> None:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")


def _resolve_weights(
    weights: Weights,
    mdp: TabularMDP,
    state_dist: np.ndarray | None,
    action_dist: np.ndarray | None,
) -> np.ndarray | None:
    """Probability weights over the S*A*S entries (flattened); None for uniform weights."""
    _check_mdp(mdp)
    if weights is None or (isinstance(weights, str) and weights == "uniform"):
        return None  # no S*A*S array to build: unweighted sums, rescaled in _finish
    if isinstance(weights, str) and weights == "transition":
        w = transition_weights(mdp, state_dist, action_dist)
    elif isinstance(weights, str):
        raise ValueError(
            f"weights must be None, 'uniform', 'transition' or an array, got {weights!r}"
        )
    else:
        w = check_weights(weights, mdp.transition.shape)
    w = w.reshape(-1)
    return w / w.sum()


def standardize(
    canonical: np.ndarray,
    norm: Norm,
    weights: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """s = c / n(c) along the last axis, with s = 0 where c is zero-like (the zero convention).

    ``scale`` (...,) is max |R| of the rewards the canonical vectors came from; c is zero-like
    when its weighted norm (probability ``weights``) or, unweighted, all its entries are below
    ``ZERO_RTOL * scale``. ``weights`` are probabilities (summing to 1), or None.

    Example:
        >>> import numpy as np
        >>> standardize(np.array([[3.0, 4.0], [0.0, 0.0]]), "l2", np.array([0.5, 0.5])).round(4)
        array([[0.8485, 1.1314],
               [0.    , 0.    ]])
    """
    c = np.asarray(canonical, dtype=np.float64)
    mean, factor = _standard_form(c, norm, weights, scale)
    return (c - mean[..., None]) * factor[..., None]


def _standard_form(
    c: np.ndarray, norm: Norm, weights: np.ndarray | None, scale: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, factor), shapes c.shape[:-1], with standardize(c) = (c - mean) * factor.

    Kept apart so that paired distances can standardise block by block without materialising
    the standardised arrays.
    """
    shape = c.shape
    flat = c.reshape(-1, shape[-1])
    if norm == "pearson":
        mean = flat.mean(-1) if weights is None else flat @ weights
    else:
        mean = np.zeros(flat.shape[0])
    n = vector_norm(flat, norm, weights)  # "pearson" centres inside, block by block
    zero = n <= 0
    if scale is not None:
        thresh = ZERO_RTOL * np.broadcast_to(scale, shape[:-1]).reshape(-1)
        # A norm is at most the largest covered entry (probability weights) or N^(1/p) times
        # it (unweighted sums over N entries): only rows of small norm can be zero-like.
        p = {"l1": 1.0, "l2": 2.0, "pearson": 2.0}.get(norm)
        limit = thresh if weights is not None or p is None else thresh * shape[-1] ** (1 / p)
        maybe = n <= limit
        if weights is not None:
            # Distances use the same probability weights: a weighted norm this small is zero
            # for them, even if entries of near-zero weight (T ~ 1e-10) are large.
            zero |= maybe
        elif maybe.any():
            # The largest (centred) entry.
            big = vector_norm(flat[maybe] - mean[maybe, None], "linf", weights)
            zero[maybe] |= big <= thresh[maybe]
    factor = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, n))
    return mean.reshape(shape[:-1]), factor.reshape(shape[:-1])


def _paired_distances(c1, c2, norm, metric, w, scale1, scale2) -> np.ndarray:
    """metric(s(c1) - s(c2)) for broadcast pairs, standardising block by block."""
    m1, f1 = _standard_form(c1, norm, w, scale1)
    m2, f2 = _standard_form(c2, norm, w, scale2)
    m = metric  # "pearson" centres the difference: s1 - s2 is centred only when norm is too
    shape = np.broadcast_shapes(c1.shape, c2.shape)
    lead = shape[:-1]
    parts = [np.broadcast_to(x, shape) for x in (c1, c2)]
    parts += [np.broadcast_to(x, lead)[..., None] for x in (m1, f1, m2, f2)]
    if not lead:
        b1, b2, a1, g1, a2, g2 = parts
        return vector_norm((b1 - a1) * g1 - (b2 - a2) * g2, m, w)
    out = np.empty(lead)
    step = max(1, CHUNK // int(np.prod(shape[1:])))  # blocks along the first axis
    for i in range(0, shape[0], step):
        b1, b2, a1, g1, a2, g2 = (x[i : i + step] for x in parts)
        out[i : i + step] = vector_norm((b1 - a1) * g1 - (b2 - a2) * g2, m, w)
    return out


def distance_between(
    s1: np.ndarray,
    s2: np.ndarray,
    metric: Norm,
    weights: np.ndarray | None,
    bound: float,
    pairwise: bool,
) -> np.ndarray:
    """metric(s1 - s2) / bound along the last axis; (K1, K2) matrix when ``pairwise``.

    Example:
        >>> import numpy as np
        >>> s = np.array([[1.0, 0.0], [-1.0, 0.0]])
        >>> distance_between(s, s, "l2", None, 2.0, pairwise=True).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    # metric "pearson" centres s1 - s2 (a no-op when norm is "pearson", whose standardised
    # vectors are centred; not otherwise).
    m = metric
    if not pairwise:
        shape = np.broadcast_shapes(s1.shape, s2.shape)
        if len(shape) == 1:
            return vector_norm(s1 - s2, m, weights) / bound
        b1, b2 = np.broadcast_to(s1, shape), np.broadcast_to(s2, shape)
        out = np.empty(shape[:-1])
        # Blocks along the first axis keep the difference array small (see norms.CHUNK).
        step = max(1, CHUNK // int(np.prod(shape[1:])))
        for i in range(0, shape[0], step):
            out[i : i + step] = vector_norm(b1[i : i + step] - b2[i : i + step], m, weights)
        return out / bound
    out = np.empty((s1.shape[0], s2.shape[0]))
    for i in range(s1.shape[0]):  # one row at a time keeps memory at K2 * N
        out[i] = vector_norm(s1[i] - s2, m, weights) / bound
    return out


def _compare(
    R1: np.ndarray,
    R2: np.ndarray | None,
    mdp: TabularMDP,
    canon: Canon,
    norm: Norm,
    metric: Norm | None,
    w: np.ndarray,
    pairwise: bool,
    **canon_options,
) -> np.ndarray | float:
    S, A = mdp.n_states, mdp.n_actions
    R1 = check_rewards(R1, S, A, "R1")
    R2 = R1 if R2 is None else check_rewards(R2, S, A, "R2")
    if pairwise and (R1.ndim != 4 or R2.ndim != 4):
        raise ValueError(
            f"pairwise=True needs R1 and R2 of shape (K, S, A, S), got {R1.shape} and {R2.shape}"
        )
    if not pairwise:
        try:
            np.broadcast_shapes(R1.shape, R2.shape)
        except ValueError:
            raise ValueError(
                f"R1 {R1.shape} and R2 {R2.shape} do not broadcast; pass pairwise=True for a "
                "distance matrix"
            ) from None
    metric = norm if metric is None else metric
    bound = metric_bound(norm, metric, w, size=S * A * S)
    read = _read_entries(mdp, canon, w)
    if canon == "val" and w is not None:
        # VAL is constant in s': work on (S, A) with the weights summed over s' (same numbers).
        w = w.reshape(S, A, S).sum(-1).reshape(-1)

    if canon == "val":
        # One linear solve for both sides: stack the (small) expected rewards of R1 and R2.
        T = mdp.transition
        r1, r2 = expected_reward(T, R1), expected_reward(T, R2)
        flat = np.concatenate([r1.reshape(-1, S, A), r2.reshape(-1, S, A)])
        adv = advantage_from_expected(T, flat, mdp.gamma, canon_options.get("policy"))
        adv = adv.reshape(len(flat), S * A)
        n1 = int(np.prod(r1.shape[:-2]))
        c1 = adv[:n1].reshape(*r1.shape[:-2], S * A)
        c2 = adv[n1:].reshape(*r2.shape[:-2], S * A)
    else:
        c1 = canonicalize(R1, mdp, canon, **canon_options)
        c1 = _flat(c1)
        if R2 is R1:
            c2 = c1
        else:
            c2 = canonicalize(R2, mdp, canon, **canon_options)
            c2 = _flat(c2)
    scale1 = _max_abs(R1, read)
    scale2 = scale1 if R2 is R1 else _max_abs(R2, read)
    return _finish(c1, c2, scale1, scale2, norm, metric, w, bound, pairwise, same=R2 is R1)


def _flat(c: np.ndarray) -> np.ndarray:
    """Rewards (..., S, A, S) as vectors (..., S*A*S); an explicit size, as -1 fails on 0 rows."""
    return c.reshape(*c.shape[:-3], int(np.prod(c.shape[-3:])))


def _read_entries(mdp: TabularMDP, canon: Canon, w: np.ndarray | None) -> np.ndarray | None:
    """The entries (S, A, S) of R that the compared canonical values are computed from; None
    for all. The zero convention's scale is max |R| over them.

    Entries outside make no difference to the canonical values, so they must not set the
    scale either: a large value there (an "impossible transition" marker, an
    S'-redistribution) would make R count as zero. VAL and minimal read R only through E_T R,
    so where T > 0; ``"none"`` under weights is compared only where W > 0. EPIC's and DARD's
    expectations read R beyond both (DARD's R(S', A, S'') with S'' ~ T(s', A) need not be a
    possible transition): all entries.
    """
    if canon in ("val", "minimal"):
        return mdp.transition > 0
    if canon == "none" and w is not None:
        return (w > 0).reshape(mdp.transition.shape)
    return None


def _max_abs(R: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """max |R| over the last three axes, only at the entries (S, A, S) where ``where`` is True
    (all when None), without an |R| temporary."""
    if where is None:
        return np.maximum(R.max(axis=(-3, -2, -1)), -R.min(axis=(-3, -2, -1)))
    # Gather the selected entries in blocks along the first axis (see norms.CHUNK): several
    # times faster than a masked reduction (``where=``), and the gathered copy stays small.
    sel = (Ellipsis, *np.nonzero(where))
    if R.ndim == 3:
        part = R[sel]
        return np.maximum(part.max(), -part.min())
    out = np.empty(R.shape[:-3])
    step = max(1, CHUNK // (int(where.sum()) * int(np.prod(R.shape[1:-3]))))
    for i in range(0, R.shape[0], step):
        part = R[i : i + step][sel]
        out[i : i + step] = np.maximum(part.max(-1), -part.min(-1))
    return out


def _finish(c1, c2, scale1, scale2, norm, metric, w, bound, pairwise, same=False):
    if pairwise:
        s1 = standardize(c1, norm, w, scale1)
        s2 = s1 if same else standardize(c2, norm, w, scale2)
        d = distance_between(s1, s2, metric, w, bound, pairwise)
    else:
        d = _paired_distances(c1, c2, norm, metric, w, scale1, scale2) / bound
    if w is None:  # unweighted sums stand for uniform probability weights
        d = d * uniform_factor(norm, metric, c1.shape[-1])
    return float(d) if d.ndim == 0 else d


def distance_from_canonical(
    C1: np.ndarray,
    C2: np.ndarray,
    *,
    norm: Norm = "l2",
    metric: Norm | None = None,
    weights: np.ndarray | None = None,
    scale1: np.ndarray | None = None,
    scale2: np.ndarray | None = None,
    pairwise: bool = False,
) -> np.ndarray | float:
    """The distance step of a STARC metric, for rewards already canonicalised.

    For callers that reuse canonical rewards across norms, or build them cheaply (every
    canonicalisation here is linear, so c(R1 + t (R2 - R1)) = c(R1) + t (c(R2) - c(R1))).
    Same conventions as :func:`starc_distance`.

    Args:
        C1, C2: canonical rewards (..., S, A, S), e.g. from
            :func:`~rewardshaping.metrics.canonicalize`.
        norm, metric: as in :func:`starc_distance`.
        weights: W (S, A, S) (rescaled to sum to 1) or None for uniform.
        scale1, scale2: max |R| of the rewards C1 and C2 came from (the zero convention); None
            treats only exactly-zero canonical rewards as zero.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.metrics import canonicalize
        >>> from rewardshaping.tabular import random_mdp
        >>> mdp = random_mdp(8, 2, 0.9, seed=0)
        >>> R1, R2 = np.random.default_rng(0).normal(size=(2, 8, 2, 8))
        >>> C1, C2 = canonicalize(np.stack([R1, R2]), mdp, "val")
        >>> d = distance_from_canonical(C1, C2)
        >>> bool(np.isclose(d, starc_distance(R1, R2, mdp)))
        True
    """
    C1, C2 = np.asarray(C1, dtype=np.float64), np.asarray(C2, dtype=np.float64)
    if C1.ndim < 3 or C1.shape[-3:] != C2.shape[-3:]:
        raise ValueError(
            f"C1 and C2 must have shapes (..., S, A, S) with the same S, A; got {C1.shape} and "
            f"{C2.shape}"
        )
    shape = C1.shape[-3:]
    w = None if weights is None else check_weights(weights, shape).reshape(-1)
    w = None if w is None else w / w.sum()
    metric = norm if metric is None else metric
    bound = metric_bound(norm, metric, w, size=int(np.prod(shape)))
    for name, C in (("C1", C1), ("C2", C2)):
        if not np.all(np.isfinite(C)):
            raise ValueError(f"{name} contains NaN or inf: a canonical reward must be finite")
    return _finish(_flat(C1), _flat(C2), scale1, scale2, norm, metric, w, bound, pairwise)


def starc_distance(
    R1: np.ndarray,
    R2: np.ndarray | None,
    mdp: TabularMDP,
    *,
    canon: Canon = "val",
    norm: Norm = "l2",
    metric: Norm | None = None,
    weights: Weights = None,
    pairwise: bool = False,
    policy: np.ndarray | None = None,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
) -> np.ndarray | float:
    """STARC distance (Skalse et al. 2024) between rewards R1 and R2 on ``mdp``'s dynamics.

    Args:
        R1, R2: rewards (..., S, A, S); see the module docstring for batching and ``pairwise``.
        mdp: gives T and gamma (its own reward is not used).
        canon: ``"val"`` (default; ``policy``, uniform by default), ``"minimal"`` (least
            ``weights``-weighted L2 norm), ``"epic"``, ``"dard"`` or ``"none"``. Only ``"val"``
            and ``"minimal"`` are STARC canonicalisations (S'-redistribution invariant).
        norm: ``"l1"``, ``"l2"`` (default), ``"linf"`` or ``"pearson"``, weighted by ``weights``.
        metric: the norm of the difference (default: ``norm``); ``"pearson"`` centres the
            difference first, whatever ``norm``.
        weights: None (uniform), ``"transition"`` (D_S D_A T) or an array (S, A, S).
        state_dist, action_dist: D_S and D_A of the EPIC/DARD canonicalisations and of
            ``weights="transition"`` (uniform by default).

    Returns:
        Distances in [0, 1]: a float for one pair, else an array.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.tabular import random_mdp, shape_reward
        >>> mdp = random_mdp(8, 2, 0.9, seed=0)
        >>> R = mdp.reward
        >>> shaped = 3.0 * shape_reward(R, np.arange(8.0), 0.9)
        >>> round(starc_distance(R, shaped, mdp), 9), round(starc_distance(R, -R, mdp), 9)
        (0.0, 1.0)
        >>> starc_distance(np.stack([R, shaped, -R]), None, mdp, pairwise=True).round(3)
        array([[0., 0., 1.],
               [0., 0., 1.],
               [1., 1., 0.]])
    """
    w = _resolve_weights(weights, mdp, state_dist, action_dist)
    options: dict = {}
    if canon == "val":
        options["policy"] = policy
    elif canon == "minimal":
        options["weights"] = None if w is None else w.reshape(mdp.transition.shape)
    elif canon in ("epic", "dard"):
        options["action_dist"] = action_dist
        if canon == "epic":
            options["state_dist"] = state_dist
    return _compare(R1, R2, mdp, canon, norm, metric, w, pairwise, **options)


def epic_distance(
    R1: np.ndarray,
    R2: np.ndarray | None,
    mdp: TabularMDP,
    *,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
    weights: Weights = None,
    norm: Norm = "pearson",
    pairwise: bool = False,
) -> np.ndarray | float:
    """EPIC distance (Gleave et al. 2021): Pearson distance sqrt((1 - rho) / 2) of EPIC
    canonical rewards, rho taken under the coverage W (default D_S(s) D_A(a) D_S(s')).

    Only ``mdp.gamma`` (and the sizes) are used: EPIC ignores the dynamics. Another ``norm``
    gives the STARC-style variant (c / n(c), no centring).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.tabular import random_mdp, shape_reward
        >>> mdp = random_mdp(8, 2, 0.9, seed=0)
        >>> R = mdp.reward
        >>> round(epic_distance(R, 2 * shape_reward(R, np.ones(8), 0.9), mdp), 9)
        0.0
        >>> X = np.random.default_rng(0).normal(size=R.shape)
        >>> X -= np.einsum("sat,sat->sa", mdp.transition, X)[..., None]  # E_T X = 0
        >>> epic_distance(R, R + X, mdp) > 0.1  # not invariant to S'-redistribution
        True
    """
    _check_mdp(mdp)
    ds = distribution(state_dist, mdp.n_states, "state_dist")
    da = distribution(action_dist, mdp.n_actions, "action_dist")
    if weights is None and (state_dist is not None or action_dist is not None):
        weights = coverage_weights(ds, da)
    w = _resolve_weights(weights, mdp, ds, da)
    return _compare(R1, R2, mdp, "epic", norm, None, w, pairwise, state_dist=ds, action_dist=da)


def dard_distance(
    R1: np.ndarray,
    R2: np.ndarray | None,
    mdp: TabularMDP,
    *,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
    weights: Weights = "transition",
    norm: Norm = "pearson",
    pairwise: bool = False,
) -> np.ndarray | float:
    """DARD distance (Wulfe et al. 2022): Pearson distance of DARD canonical rewards under the
    coverage W (default D_S(s) D_A(a) T(s, a, s'): only transitions the dynamics allow).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.tabular import random_mdp, shape_reward
        >>> mdp = random_mdp(8, 2, 0.9, seed=0)
        >>> R = mdp.reward
        >>> round(dard_distance(R, shape_reward(R, np.arange(8.0), 0.9), mdp), 9)
        0.0
    """
    w = _resolve_weights(weights, mdp, state_dist, action_dist)
    return _compare(R1, R2, mdp, "dard", norm, None, w, pairwise, action_dist=action_dist)

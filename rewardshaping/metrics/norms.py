"""Norms of reward functions and the weightings that STARC metrics normalise with.

Norms act on the last three axes (S, A, S') of reward arrays, optionally weighted by
W(s, a, s') >= 0: L1 = sum W |x|, L2 = sqrt(sum W x^2), Linf = max over W > 0 of |x|, and
``"pearson"``: the L2 norm after subtracting the W-weighted mean (with it, the STARC recipe gives
EPIC's Pearson distance). ``weights=None`` means the plain (unweighted) norm.

Weightings: :func:`transition_weights` (D_S(s) D_A(a) T(s, a, s'), the "T-weighted" norm) and
:func:`coverage_weights` (D_S(s) D_A(a) D_S(s'), EPIC's coverage of all transitions).
:func:`metric_bound` gives the largest value a metric takes between two unit-norm rewards, the
constant that scales distances to [0, 1].
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rewardshaping.metrics.canonical import distribution
from rewardshaping.tabular.mdp import TabularMDP

__all__ = [
    "NORMS",
    "Norm",
    "reward_norm",
    "transition_weights",
    "coverage_weights",
    "metric_bound",
    "vector_norm",
    "uniform_factor",
    "CHUNK",
]

Norm = Literal["l1", "l2", "linf", "pearson"]
#: The names :func:`reward_norm` accepts.
NORMS: tuple[str, ...] = ("l1", "l2", "linf", "pearson")
# Hoelder exponent of each norm; "pearson" is an L2 norm (of the centred reward).
_EXPONENT = {"l1": 1.0, "l2": 2.0, "linf": np.inf, "pearson": 2.0}


def _check_norm(norm: str, name: str = "norm") -> None:
    if norm not in _EXPONENT:
        raise ValueError(f"{name} must be one of {NORMS}, got {norm!r}")


def vector_norm(x: np.ndarray, norm: Norm, weights: np.ndarray | None = None) -> np.ndarray:
    """The (weighted) norm of vectors along the last axis; ``weights`` has that axis's length.

    Example:
        >>> import numpy as np
        >>> x = np.array([3.0, -4.0])
        >>> [float(vector_norm(x, n)) for n in ("l1", "l2", "linf")]
        [7.0, 5.0, 4.0]
        >>> float(vector_norm(x, "l2", np.array([0.5, 0.5])))  # the root mean square
        3.5355339059327378
    """
    _check_norm(norm)
    x = np.asarray(x, dtype=np.float64)
    if weights is not None and norm == "linf":
        if not np.all(weights > 0):
            x = x[..., weights > 0]
        weights = None  # Linf ignores the size of positive weights
    scale = 1.0
    if weights is not None and np.all(weights == weights.flat[0]):
        # Uniform weights: an unweighted sum times a constant, computed with faster kernels.
        scale, weights = float(weights.flat[0]), None
    n = x.shape[-1]
    flat = x.reshape(-1, n)
    out = np.empty(flat.shape[0])
    step = max(1, CHUNK // max(n, 1))
    for i in range(0, flat.shape[0], step):
        out[i : i + step] = _sum_rows(flat[i : i + step], norm, weights)
    if norm == "l1":
        out *= scale
    elif norm != "linf":
        # Squares overflow for entries past ~1e154 and underflow below ~1e-154: such rows are
        # summed again divided by their largest entry (as LAPACK's norms do), so that a reward
        # scaled by 1e160 keeps its norm instead of reading as inf (and later as zero).
        redo = ~np.isfinite(out) | (out < _TINY_SQUARES)
        out = np.sqrt(out * scale)
        if redo.any():
            rows = flat[redo]
            big = np.abs(rows).max(-1)
            big = np.where(big > 0, big, 1.0)
            out[redo] = np.sqrt(_sum_rows(rows / big[:, None], norm, weights) * scale) * big
    return out.reshape(x.shape[:-1])


#: Sums of squares below this may have lost entries to underflow (squares of ~1e-154 and less).
_TINY_SQUARES = 1e-280


#: Elements per block in row-wise loops: temporaries of this size stay in cache, where whole-array
#: temporaries of large reward batches cost more in allocation than in arithmetic.
CHUNK = 1 << 16


def _sum_rows(x: np.ndarray, norm: str, w: np.ndarray | None) -> np.ndarray:
    """sum w |x| (l1), sum w x^2 (l2, pearson after centring) or max |x| (linf), per row."""
    if norm == "linf":
        return np.maximum(x.max(-1, initial=-np.inf), -x.min(-1, initial=np.inf)).clip(0)
    if norm == "l1":
        return np.abs(x).sum(-1) if w is None else np.abs(x) @ w
    if norm == "pearson":
        x = x - (x.mean(-1) if w is None else (x @ w) / w.sum())[:, None]
    if w is not None:
        x = x * np.sqrt(w)
    return np.einsum("ij,ij->i", x, x)  # a dot-product kernel, no x * x temporary


def reward_norm(x: np.ndarray, norm: Norm = "l2", weights: np.ndarray | None = None) -> np.ndarray:
    """Norm of rewards (..., S, A, S) over (S, A, S), weighted by W (S, A, S) when given.

    Example:
        >>> import numpy as np
        >>> R = np.ones((2, 1, 2))
        >>> float(reward_norm(R, "l2")), float(reward_norm(R, "pearson"))
        (2.0, 0.0)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 3:
        raise ValueError(f"rewards must have shape (..., S, A, S), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("rewards contain NaN or inf: their norm is not defined")
    w = None
    if weights is not None:
        w = check_weights(weights, x.shape[-3:]).reshape(-1)
    return vector_norm(x.reshape(*x.shape[:-3], int(np.prod(x.shape[-3:]))), norm, w)


def check_weights(weights: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Weights broadcast to ``shape``, finite, >= 0 and not all zero, or a ``ValueError``."""
    w = np.asarray(weights, dtype=np.float64)
    try:
        w = np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"weights of shape {w.shape} do not broadcast to {shape}") from None
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be finite, >= 0 and not all zero")
    return w


def transition_weights(
    mdp: TabularMDP,
    state_dist: np.ndarray | None = None,
    action_dist: np.ndarray | None = None,
) -> np.ndarray:
    """W(s, a, s') = D_S(s) D_A(a) T(s, a, s'): the T-weighted norm (uniform D by default).

    Example:
        >>> import numpy as np
        >>> mdp = TabularMDP(np.full((2, 1, 2), 0.5), gamma=0.9)
        >>> transition_weights(mdp).sum()
        np.float64(1.0)
    """
    ds = distribution(state_dist, mdp.n_states, "state_dist")
    da = distribution(action_dist, mdp.n_actions, "action_dist")
    return ds[:, None, None] * da[None, :, None] * mdp.transition


def coverage_weights(
    state_dist: np.ndarray,
    action_dist: np.ndarray,
    next_state_dist: np.ndarray | None = None,
) -> np.ndarray:
    """W(s, a, s') = D_S(s) D_A(a) D_S'(s'): EPIC's coverage (S' ~ D_S by default).

    Example:
        >>> import numpy as np
        >>> coverage_weights(np.array([0.5, 0.5]), np.array([1.0])).shape
        (2, 1, 2)
    """
    ds = np.asarray(state_dist, dtype=np.float64)
    da = np.asarray(action_dist, dtype=np.float64)
    dn = ds if next_state_dist is None else np.asarray(next_state_dist, dtype=np.float64)
    return ds[:, None, None] * da[None, :, None] * dn[None, None, :]


def metric_bound(
    norm: Norm, metric: Norm, weights: np.ndarray | None = None, size: int | None = None
) -> float:
    """sup of metric(x - y) over x, y with norm(x) = norm(y) = 1, for probability ``weights``.

    It is 2 when the metric's exponent q is at most the norm's p (weighted Lp norms with weights
    summing to 1 grow with p), and 2 w_min^(1/q - 1/p) otherwise (attained at x = -y = a unit
    vector on the entry of least positive weight). STARC distances divide by it, so they lie
    in [0, 1], with 1 reached by opposite rewards when metric == norm. ``weights=None`` means
    uniform weights over ``size`` entries.

    Example:
        >>> import numpy as np
        >>> metric_bound("l2", "l2", np.full(4, 0.25)), metric_bound("l1", "l2", size=4)
        (2.0, 4.0)
    """
    _check_norm(norm)
    _check_norm(metric, "metric")
    p, q = _EXPONENT[norm], _EXPONENT[metric]
    if q <= p:
        return 2.0
    if weights is None:
        if size is None:
            raise ValueError("metric_bound needs weights or the size of uniform weights")
        w_min = 1.0 / size
    else:
        w_min = float(np.min(weights[weights > 0]))
    return 2.0 * w_min ** (1.0 / q - 1.0 / p)


def uniform_factor(norm: Norm, metric: Norm, size: int) -> float:
    """n^(1/p - 1/q): turns metric(s1 - s2) computed with unweighted norms (sums over ``size``
    entries) into the value with uniform probability weights (means), which the bound assumes.

    Example:
        >>> uniform_factor("l2", "l2", 100), uniform_factor("l1", "linf", 100)
        (1.0, 100.0)
    """
    p, q = _EXPONENT[norm], _EXPONENT[metric]
    return float(size) ** (1.0 / p - 1.0 / q)

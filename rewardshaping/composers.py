"""Composers: how weighted term values and the env reward become the reward the agent sees.

The composer is explicit because "add everything up" is not always right: PPO fails to optimise
a sum of many shaped terms as the minibatch grows, where a single completion reward reduced
multiplicatively by infractions scales (CaRL, Jaeger et al. 2025); gated accumulation pays step
rewards only while a long-term signal passes a threshold (G-RA).

Every composer receives ``env_reward`` (N,) and ``values``: term name -> weighted value (N,),
and returns the composed reward (N,). ``info["reward_terms"]`` always reports the weighted values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["Composer", "WeightedSum", "Replace", "MultiplicativePenalty", "Gate"]


class Composer:
    """Base class: subclasses implement :meth:`__call__`."""

    def bind(self, term_names: Sequence[str]) -> None:
        """Check the term names this composer refers to exist (called once by the pipeline)."""

    def __call__(self, env_reward: np.ndarray, values: Mapping[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class WeightedSum(Composer):
    """``r = env_reward + sum_i w_i * term_i`` (the default).

    Example:
        >>> import numpy as np
        >>> WeightedSum()(np.array([1.0]), {"a": np.array([0.5]), "b": np.array([-0.25])}).tolist()
        [1.25]
    """

    def __call__(self, env_reward, values):
        out = env_reward.copy()
        for v in values.values():
            out += v
        return out


class Replace(Composer):
    """``r = sum_i w_i * term_i``: the env reward is reported but not paid.

    Example:
        >>> import numpy as np
        >>> Replace()(np.array([1.0]), {"a": np.array([0.5])}).tolist()
        [0.5]
    """

    def __call__(self, env_reward, values):
        out = np.zeros_like(env_reward)
        for v in values.values():
            out += v
        return out


class MultiplicativePenalty(Composer):
    """Penalty terms scale the reward down instead of being added (CaRL, Jaeger et al. 2025).

    ``r = (env_reward + sum of additive terms) * prod_j clip(1 - p_j, 0, 1)``, where ``p_j`` are
    the weighted values of the terms named in ``penalties`` (the fraction of reward lost, e.g.
    0.5 for "half the reward for running a red light"). A negative base reward loses the same
    fraction of its size, ``r = base - |base| (1 - prod)``: scaling it towards 0 would make an
    infraction pay more than none.

    Example:
        >>> import numpy as np
        >>> c = MultiplicativePenalty(penalties=["collision"])
        >>> c(np.array([1.0, 1.0]), {"collision": np.array([0.0, 0.75])}).tolist()
        [1.0, 0.25]
    """

    def __init__(self, penalties: Iterable[str]) -> None:
        self.penalties = _names(penalties, "MultiplicativePenalty penalties")

    def bind(self, term_names):
        _check_known(self.penalties, term_names, "MultiplicativePenalty")

    def __call__(self, env_reward, values):
        out = env_reward.copy()
        factor = np.ones_like(env_reward)
        for name, v in values.items():
            if name in self.penalties:
                factor *= np.clip(1.0 - v, 0.0, 1.0)
            else:
                out += v
        return out - np.abs(out) * (1.0 - factor)  # out * factor where out >= 0


class Gate(Composer):
    """Terms pay only where a gate term passes a threshold (gated reward accumulation).

    ``r = env_reward + 1[gate >= threshold] * sum of the other terms``; the gate term itself is
    reported but not paid.

    Example:
        >>> import numpy as np
        >>> c = Gate(gate="on_track", threshold=0.5)
        >>> c(np.zeros(2), {"on_track": np.array([1.0, 0.0]), "speed": np.array([0.5, 0.5])}).tolist()
        [0.5, 0.0]
    """

    def __init__(self, gate: str, threshold: float = 0.5) -> None:
        if not isinstance(gate, str):
            raise TypeError(f"Gate(gate=...) takes a term name, got {type(gate).__name__}")
        self.gate = gate
        self.threshold = float(threshold)

    def bind(self, term_names):
        _check_known([self.gate], term_names, "Gate")

    def __call__(self, env_reward, values):
        open_ = values[self.gate] >= self.threshold
        shaped = np.zeros_like(env_reward)
        for name, v in values.items():
            if name != self.gate:
                shaped += v
        return env_reward + np.where(open_, shaped, np.float32(0.0)).astype(env_reward.dtype)


def _names(names: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(names, str):
        names = [names]
    out = frozenset(names)
    if not out:
        raise ValueError(f"{what} must name at least one term")
    return out


def _check_known(names: Iterable[str], term_names: Sequence[str], who: str) -> None:
    unknown = sorted(set(names) - set(term_names))
    if unknown:
        raise ValueError(
            f"{who} refers to unknown term(s) {unknown}; the terms are {list(term_names)}"
        )

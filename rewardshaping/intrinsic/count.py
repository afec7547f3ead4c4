"""Count-based exploration bonuses, paid at the state reached s' and counted on real steps only.

* :class:`CountBonus`: lifelong ``beta / sqrt(N(s'))`` (MBIE-EB style; Strehl & Littman 2008,
  Bellemare et al. 2016, Tang et al. 2017) or ``beta / N(s')``.
* :class:`EpisodicCountBonus`: ``beta / sqrt(N_ep(s'))`` or the first-visit indicator
  ``beta * 1[N_ep(s') == 1]``, with N_ep cleared at each episode start.
* :class:`GlobalEpisodicCountBonus`: the product of a lifelong and an episodic bonus, which
  Henaff et al. (2023, "A Study of Global and Episodic Bonuses for Exploration in Contextual
  MDPs") found robust both when episodes share structure and when they do not.

Counts include the current visit (N >= 1 on real steps), in the batch's index order. Entries
with ``active=False`` (the dummy autoreset step of a ``NEXT_STEP`` vector env) are neither
counted nor paid. Counts live in :mod:`rewardshaping.counting` tables and are saved by
``state_dict()``, so a resumed run continues with the same counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numba import njit

from rewardshaping.counting import CountMinSketch, EpisodicCounter, ExactCounter
from rewardshaping.counting.table import DEFAULT_MAX_BYTES
from rewardshaping.intrinsic.keys import StateKey, as_state_key
from rewardshaping.terms import RewardTerm
from rewardshaping.transitions import Transitions

__all__ = ["CountBonus", "EpisodicCountBonus", "GlobalEpisodicCountBonus"]

KeyLike = StateKey | Callable[[Any], Any] | str | None
Counter = ExactCounter | CountMinSketch


_DECAYS = {"sqrt": 0, "inverse": 1, "first_visit": 2}


@njit(cache=True)
def _decay(counts, mode, scale):
    # One pass instead of the half dozen NumPy calls of the formula: these terms run once per
    # env step, where NumPy's per-call cost (a few microseconds each) adds up.
    out = np.empty(counts.shape[0], np.float32)
    for i in range(counts.shape[0]):
        c = counts[i]
        if c <= 0:
            v = 0.0
        elif mode == 0:
            v = 1.0 / np.sqrt(c)
        elif mode == 1:
            v = 1.0 / c
        else:
            v = 1.0 if c == 1 else 0.0
        out[i] = v * scale
    return out


def _count_decay(counts: np.ndarray, mode: str, scale: float = 1.0) -> np.ndarray:
    """``scale`` times ``1/sqrt(N)``, ``1/N`` or ``1[N == 1]`` of counts (float32; 0 for N = 0)."""
    if mode not in _DECAYS:
        raise ValueError(f"unknown count mode {mode!r}")
    return _decay(np.asarray(counts, np.int64), _DECAYS[mode], float(scale))


def _check_mode(mode: str, allowed: tuple[str, ...], what: str) -> str:
    if mode not in allowed:
        raise ValueError(f"{what} must be one of {allowed}, got {mode!r}")
    return mode


class _CountTerm(RewardTerm):
    """Key, scale, lazily sized episodic counter and checkpoints shared by the count bonuses."""

    intrinsic = True

    def __init__(
        self,
        key: KeyLike,
        beta: float,
        name: str | None,
        counter: Counter | None = None,
        episodic_capacity: int | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__(name)
        self.key = as_state_key(key)
        self.beta = float(beta)
        if not np.isfinite(self.beta) or self.beta < 0:
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        if isinstance(counter, EpisodicCounter):
            # It has the same methods, but counts per env and resets with episodes: a lifelong
            # bonus on it would silently pay episodic counts.
            raise TypeError(
                "counter must be a lifelong ExactCounter or CountMinSketch, got an "
                "EpisodicCounter; episodic counts are the episodic terms' own (e.g. "
                "EpisodicCountBonus)"
            )
        if counter is not None and not all(
            hasattr(counter, m) for m in ("update", "lookup", "state_dict", "load_state_dict")
        ):
            raise TypeError(
                f"counter must be an ExactCounter or CountMinSketch (update/lookup/state_dict), "
                f"got {type(counter).__name__}"
            )
        self.counter = counter
        self.episodic: EpisodicCounter | None = None
        self._episodic_capacity = episodic_capacity
        self._max_bytes = int(max_bytes)

    def _episodic(self, n: int) -> EpisodicCounter:
        if self.episodic is None:
            self.episodic = self._new_episodic(n)
        self._check_envs(n)
        return self.episodic

    def _new_episodic(self, n: int) -> EpisodicCounter:
        return EpisodicCounter(n, self._episodic_capacity or 256, max_bytes=self._max_bytes)

    def _check_envs(self, n: int) -> None:
        if self.episodic is not None and self.episodic.num_envs != n:
            raise ValueError(
                f"{self.name!r} counts episodes of {self.episodic.num_envs} envs but got a batch "
                f"of {n}; use one term per vector env"
            )

    def _count_both(self, keys: np.ndarray, batch: Transitions) -> tuple[np.ndarray, np.ndarray]:
        """Lifelong and episodic counts of the batch's keys, counted in both tables or neither.

        The episodic tables make room first (or raise: a wrong number of envs, their memory
        cap); the lifelong table then counts or refuses the batch as a whole; the episodic
        tables count last, which cannot fail.
        """
        count_episodic = self._episodic(batch.num_envs).reserve(keys, batch.active)
        lifelong = self.counter.update(keys, batch.active)
        return lifelong, count_episodic()

    def reset(self, mask: np.ndarray) -> None:
        if self.episodic is not None:
            self.episodic.reset(mask)

    def update(self, rollout: Any) -> dict[str, float]:
        stats = {}
        if isinstance(self.counter, ExactCounter):
            stats["distinct_keys"] = float(len(self.counter))
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {
            "counter": None if self.counter is None else self.counter.state_dict(),
            "episodic": None if self.episodic is None else self.episodic.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # All or nothing: the episodic state is loaded into a new table and the counters'
        # own load_state_dict leave them as they were when they refuse a state, so a state
        # refused halfway does not leave new lifelong counts next to old episodic ones.
        if (state.get("counter") is None) != (self.counter is None):
            raise ValueError(f"state of {self.name!r} does not match this term's counters")
        ep = state.get("episodic")
        episodic = None
        if ep is not None:
            self._check_envs(int(ep["rows"]))
            episodic = self._new_episodic(int(ep["rows"]))
            episodic.load_state_dict(ep)
        if self.counter is not None:
            self.counter.load_state_dict(state["counter"])
        self.episodic = episodic

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, key={self.key!r}, beta={self.beta})"


class CountBonus(_CountTerm):
    """Lifelong count bonus ``beta / sqrt(N(phi(s')))`` (or ``beta / N`` with mode="inverse").

    Args:
        key: what is counted: a :class:`~rewardshaping.intrinsic.StateKey`, a function of the
            batched observation, a dict-observation field name, or None for the raw observation.
        beta: bonus scale.
        mode: ``"sqrt"`` (1/sqrt(N), default) or ``"inverse"`` (1/N).
        counter: the table (default a new :class:`~rewardshaping.counting.ExactCounter`); pass
            a :class:`~rewardshaping.counting.CountMinSketch` for fixed memory.
        name: reporting name (default ``"count_bonus"``).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> bonus = CountBonus(beta=1.0)
        >>> s2 = np.array([[0, 1], [0, 1], [5, 5]])
        >>> b = Transitions.from_arrays(np.zeros((3, 2)), [0] * 3, s2, [0] * 3)
        >>> bonus(b).astype(float).round(3).tolist()  # the 2nd row is the 2nd visit of [0, 1]
        [1.0, 0.707, 1.0]
        >>> b = Transitions.from_arrays(np.zeros((3, 2)), [0] * 3, s2, [0] * 3,
        ...                             active=[True, False, True])
        >>> bonus(b).astype(float).round(3).tolist()  # inactive rows: not counted, not paid
        [0.577, 0.0, 0.707]
    """

    name = "count_bonus"

    def __init__(
        self,
        key: KeyLike = None,
        beta: float = 1.0,
        mode: Literal["sqrt", "inverse"] = "sqrt",
        counter: Counter | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(key, beta, name, counter if counter is not None else ExactCounter())
        self.mode = _check_mode(mode, ("sqrt", "inverse"), "mode")

    def __call__(self, batch: Transitions) -> np.ndarray:
        counts = self.counter.update(self.key(batch), batch.active)
        return _count_decay(counts, self.mode, self.beta)


class EpisodicCountBonus(_CountTerm):
    """Episodic count bonus ``beta / sqrt(N_ep(phi(s')))`` or first-visit ``beta * 1[N_ep == 1]``.

    N_ep counts visits within the current episode of each env and is cleared by
    :meth:`reset` for the envs whose episodes start (the wrappers call it).

    Args:
        key, beta, name: as for :class:`CountBonus`.
        mode: ``"sqrt"`` (default) or ``"first_visit"``.
        capacity: initial slots per env (the tables grow as needed).
        max_bytes: memory cap of the episodic tables (all envs together).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> bonus = EpisodicCountBonus(mode="first_visit")
        >>> b = Transitions.from_arrays(np.zeros((2, 1)), [0, 0], np.array([[7], [7]]), [0, 0])
        >>> bonus(b).tolist(), bonus(b).tolist()  # each env counts its own episode
        ([1.0, 1.0], [0.0, 0.0])
        >>> bonus.reset(np.array([True, False]))  # env 0 starts a new episode
        >>> bonus(b).tolist()
        [1.0, 0.0]
    """

    name = "episodic_count_bonus"

    def __init__(
        self,
        key: KeyLike = None,
        beta: float = 1.0,
        mode: Literal["sqrt", "first_visit"] = "sqrt",
        name: str | None = None,
        capacity: int = 256,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        super().__init__(key, beta, name, None, capacity, max_bytes)
        self.mode = _check_mode(mode, ("sqrt", "first_visit"), "mode")

    def __call__(self, batch: Transitions) -> np.ndarray:
        counts = self._episodic(batch.num_envs).update(self.key(batch), batch.active)
        return _count_decay(counts, self.mode, self.beta)


class GlobalEpisodicCountBonus(_CountTerm):
    """``beta * g(N(s')) * e(N_ep(s'))``: a lifelong times an episodic count bonus.

    Henaff et al. (2023) compare global, episodic and combined bonuses in contextual MDPs
    (MiniHack, Habitat, Montezuma's Revenge): global bonuses fail when every episode is a new
    layout, episodic ones when episodes share structure, and the product works in both.

    Args:
        key, beta, counter, name: as for :class:`CountBonus`.
        mode: the global factor g, ``"sqrt"`` (1/sqrt(N), default) or ``"inverse"``.
        episodic: the episodic factor e, ``"sqrt"`` (1/sqrt(N_ep), default) or
            ``"first_visit"`` (1[N_ep == 1]).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> bonus = GlobalEpisodicCountBonus()
        >>> b = Transitions.from_arrays(np.zeros((2, 1)), [0, 0], np.array([[7], [7]]), [0, 0])
        >>> bonus(b).astype(float).round(3).tolist()  # N = 1, 2 (one table); N_ep = 1, 1 (one per env)
        [1.0, 0.707]
        >>> bonus(b).astype(float).round(3).tolist()  # N = 3, 4; N_ep = 2, 2
        [0.408, 0.354]
    """

    name = "global_episodic_count_bonus"

    def __init__(
        self,
        key: KeyLike = None,
        beta: float = 1.0,
        mode: Literal["sqrt", "inverse"] = "sqrt",
        episodic: Literal["sqrt", "first_visit"] = "sqrt",
        counter: Counter | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(key, beta, name, counter if counter is not None else ExactCounter())
        self.mode = _check_mode(mode, ("sqrt", "inverse"), "mode")
        self.episodic_mode = _check_mode(episodic, ("sqrt", "first_visit"), "episodic")

    def __call__(self, batch: Transitions) -> np.ndarray:
        glob, ep = self._count_both(self.key(batch), batch)
        return _count_decay(glob, self.mode, self.beta) * _count_decay(ep, self.episodic_mode)

"""NovelD with visit counts as the novelty measure (Zhang et al. 2021).

NovelD pays for crossing the boundary between explored and unexplored states:
``b = beta * max(nov(s') - alpha * nov(s), 0) * 1[N_ep(s') == 1]`` with ``alpha = 0.5``. The
paper measures novelty with RND; here ``nov(x) = 1 / sqrt(N(x))`` with lifelong counts, the
count-based variant REFERENCES.md section 2 lists. The episodic indicator pays each state at most
once per episode, which stops the agent from going back and forth across the boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardshaping.counting import ExactCounter
from rewardshaping.counting.table import reset_mask
from rewardshaping.intrinsic.count import Counter, KeyLike, _CountTerm
from rewardshaping.intrinsic.keys import KeyUnavailableError
from rewardshaping.transitions import Transitions

__all__ = ["NovelDCount"]


class NovelDCount(_CountTerm):
    """NovelD (Zhang et al. 2021) with count-based novelty ``1/sqrt(N)``.

    s' is counted first (lifelong and episodic), then ``nov(s') = 1/sqrt(N(s'))`` and
    ``nov(s) = 1/sqrt(max(N(s), 1))``: a state never counted (an episode's first state) has
    novelty 1, as if seen once. Keys that exist only for reached states (:class:`InfoKey`) use
    the key that the same env reached on the previous step (also kept on the dummy autoreset
    step, whose info describes the new episode's first state); when none is known, nov(s) = 1.
    So with an :class:`InfoKey`, the first step of an episode sees the true count of s only
    under a ``NEXT_STEP`` vector env whose reset info reports the key. Under ``SAME_STEP``,
    SB3 VecEnvs and single envs the reset info does not reach the term, and nov(s) = 1 there
    (the bonus of that one step is smaller). Keys of the observation have no such gap.

    Args:
        key, beta, counter, name: as for :class:`~rewardshaping.intrinsic.CountBonus`.
        alpha: the scale of the novelty of s (0.5 in the paper).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> noveld = NovelDCount(alpha=0.5)
        >>> def step(s, s2):
        ...     b = Transitions.from_arrays(np.array([[s]]), [0], np.array([[s2]]), [0])
        ...     return round(float(noveld(b)[0]), 3)
        >>> step(0, 1), step(1, 2), step(2, 1)  # a new state: 1 - 0.5 * nov(s); a revisit: 0
        (0.5, 0.5, 0.0)
    """

    name = "noveld"

    def __init__(
        self,
        key: KeyLike = None,
        beta: float = 1.0,
        alpha: float = 0.5,
        counter: Counter | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(key, beta, name, counter if counter is not None else ExactCounter())
        self.alpha = float(alpha)
        if not np.isfinite(self.alpha) or self.alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
        self._prev_key: np.ndarray | None = None
        self._prev_valid: np.ndarray | None = None

    def __call__(self, batch: Transitions) -> np.ndarray:
        active = batch.active
        keys = self.key(batch)
        try:  # both keys before counting: a bad s (NaN) must not leave s' counted
            prev_keys = self.key(batch, "obs")
        except KeyUnavailableError:
            prev_keys = None
        n_next, n_ep = self._count_both(keys, batch)
        first = n_ep == 1
        if prev_keys is not None:
            n_prev = self.counter.lookup(prev_keys)
        else:
            n_prev = self._previous_counts(keys.shape[0])
        self._prev_key = np.array(keys, copy=True)
        # An InfoKey row the env did not report (a dummy row whose reset info lacks the key)
        # holds zeros, not the state: do not use it as the next step's s.
        reported = getattr(self.key, "reported", None)
        self._prev_valid = np.ones(batch.num_envs, bool) if reported is None else reported.copy()
        nov_next = 1.0 / np.sqrt(np.maximum(n_next, 1))
        nov_prev = 1.0 / np.sqrt(np.maximum(n_prev, 1))
        out = np.maximum(nov_next - self.alpha * nov_prev, 0.0) * (first & active)
        return (out * self.beta).astype(np.float32)

    def _previous_counts(self, n: int) -> np.ndarray:
        if self._prev_key is None:
            return np.zeros(n, np.int64)
        counts = self.counter.lookup(self._prev_key)
        return np.where(self._prev_valid, counts, 0)

    def reset(self, mask: np.ndarray | None) -> None:
        if self.episodic is not None:
            mask = reset_mask(mask, self.episodic.num_envs)  # checked before anything changes
        super().reset(mask)
        if self._prev_valid is not None:
            self._prev_valid[reset_mask(mask, len(self._prev_valid))] = False

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["prev_key"] = None if self._prev_key is None else self._prev_key.copy()
        state["prev_valid"] = None if self._prev_valid is None else self._prev_valid.copy()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._prev_key = None if state.get("prev_key") is None else np.array(state["prev_key"])
        pv = state.get("prev_valid")
        self._prev_valid = None if pv is None else np.array(pv, bool)

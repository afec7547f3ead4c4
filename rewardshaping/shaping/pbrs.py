"""The potential-based shaping term F = gamma * Phi(s', t+1) - Phi(s, t).

Added to any reward, F leaves the optimal policies unchanged (Ng, Harada & Russell 1999), also
with time-dependent potentials (Devlin & Kudenko 2012), provided that:

* Phi is 0 at terminal states: on ``terminated`` the term pays ``-Phi(s, t)``;
* a time-limit cut (``truncated``) is not terminal: it pays ``gamma * Phi(s') - Phi(s)`` with the
  true last observation (the adapters pass it, never the reset observation);
* the shaping gamma equals the learner's (see :func:`~rewardshaping.shaping.check_shaping_gamma`);
* nothing is paid across an autoreset (the dummy ``NEXT_STEP`` step is inactive, and episodic
  state restarts on ``reset(mask)``), so ``gamma * Phi(reset obs) - Phi(final obs)`` never occurs.
"""

from __future__ import annotations

import numpy as np

from rewardshaping.shaping.potentials import FunctionPotential, Potential
from rewardshaping.terms import RewardTerm
from rewardshaping.transitions import Transitions

__all__ = ["PotentialShaping"]


class PotentialShaping(RewardTerm):
    """Potential-based reward shaping as a reward term.

    Phi(s) of a continuing episode is the value computed as Phi(s') one step earlier (cached per
    env), so each state's potential is evaluated once.

    Args:
        potential: a :class:`~rewardshaping.shaping.potentials.Potential` or a callable
            ``fn(obs) -> (N,)`` (wrapped in :class:`FunctionPotential`).
        gamma: the shaping discount; must equal the learner's discount.
        name: reporting name (default ``"shaping"``).

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> from rewardshaping import ShapedEnv
        >>> centre = lambda obs: -np.abs(obs[:, 0])  # Phi: closer to the track centre is better
        >>> env = ShapedEnv(gym.make("CartPole-v1"), PotentialShaping(centre, gamma=0.99))
        >>> obs0, _ = env.reset(seed=0)
        >>> obs1, r, terminated, truncated, info = env.step(1)
        >>> expected = 0.99 * -abs(obs1[0]) - -abs(obs0[0])
        >>> bool(np.isclose(info["reward_terms"]["shaping"], expected, atol=1e-6))
        True
    """

    name = "shaping"
    potential_based = True

    def __init__(self, potential: Potential | callable, gamma: float, name: str | None = None):
        super().__init__(name)
        if not isinstance(potential, Potential):
            if not callable(potential):
                raise TypeError(
                    f"potential must be a Potential or a callable fn(obs), got {type(potential).__name__}"
                )
            potential = FunctionPotential(potential)
        gamma = float(gamma)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.potential = potential
        self.gamma = gamma
        self.last_invalid: str | None = None  # why the last call returned NaN/inf, if it did
        self._cache: np.ndarray | None = None  # Phi(s) of each env's current state
        self._valid: np.ndarray | None = None  # whether the cache holds that env's current state

    def _check(self, values, n: int, where: str) -> np.ndarray:
        if hasattr(values, "detach"):
            values = values.detach().cpu().numpy()
        arr = np.asarray(values)
        if arr.dtype.kind not in "fiub":
            raise TypeError(
                f"potential {self.potential.name!r} returned dtype {arr.dtype} for {where}; "
                f"expected floats of shape ({n},)"
            )
        if arr.shape != (n,):
            raise ValueError(
                f"potential {self.potential.name!r} returned shape {arr.shape} for {where}; "
                f"expected ({n},), one value per env"
            )
        # A copy: a potential like ``lambda o: o[:, 0]`` returns a view of the observation, and
        # this value is cached as next step's Phi(s) while the env may overwrite that buffer.
        return np.array(arr, dtype=np.float64)

    def __call__(self, batch: Transitions) -> np.ndarray:
        n = batch.num_envs
        if self._cache is None or self._cache.shape != (n,):
            self._cache = np.zeros(n)
            self._valid = np.zeros(n, bool)
        t = batch.episode_step
        # Phi(s): cached where the episode continues, computed at episode starts.
        phi_s = self._cache.copy()
        fresh = ~self._valid
        if fresh.any():
            phi_s[fresh] = self._check(
                self.potential.start_values(batch.obs, t, n), n, "the episode-start states"
            )[fresh]
        phi_next = self._check(self.potential.next_values(batch, t + 1), n, "next states")
        # Terminal states have potential 0; truncated ones keep theirs (not terminal).
        phi_next_paid = np.where(batch.terminated, 0.0, phi_next)
        out = self.gamma * phi_next_paid - phi_s
        out[~batch.active] = 0.0  # the dummy reset step: next_obs starts a new episode
        # A non-finite potential is returned, not raised: the pipeline's on_invalid decides
        # (raise by default, or clip/zero), and its error quotes this description.
        bad = ~np.isfinite(out) & batch.active
        self.last_invalid = None
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            self.last_invalid = (
                f"potential {self.potential.name!r} is not finite at env index {i} "
                f"(Phi(s)={phi_s[i]}, Phi(s')={phi_next[i]})"
            )
        # s' is the current state of the next step, unless the env resets in between
        # (SAME_STEP/SB3 adapters call reset(mask) right after this step, clearing validity).
        # After a NEXT_STEP dummy step, next_obs is a reset obs: recompute it as a start state.
        self._cache = phi_next
        self._valid = batch.active.copy()
        return out.astype(np.float32)

    def reset(self, mask: np.ndarray) -> None:
        if self._valid is not None and self._valid.shape == np.shape(mask):
            self._valid[np.asarray(mask, bool)] = False

    def state_dict(self):
        return {
            "cache": None if self._cache is None else self._cache.copy(),
            "valid": None if self._valid is None else self._valid.copy(),
        }

    def load_state_dict(self, state):
        self._cache = None if state["cache"] is None else np.array(state["cache"])
        self._valid = None if state["valid"] is None else np.array(state["valid"])

    def __repr__(self) -> str:
        return f"PotentialShaping({self.potential.name!r}, gamma={self.gamma})"

"""What PPO collects and how it turns it into advantages.

* :func:`gae` -- generalised advantage estimation (Schulman et al. 2016) with the two flags
  that correct bootstrapping needs: ``terminated`` (the next state's value is 0) and ``ends``
  (the episode boundary, where the advantage trace is cut; a truncated step ends the trace but
  still bootstraps from the value of its true final observation).
* :class:`Rollout` -- one rollout on the agent's device, as learned reward terms'
  ``update(rollout)`` receives it.
* :class:`Episode` and :class:`EpisodeAssembler` -- finished (and ongoing) episodes cut out of
  rollouts for relabelling hooks (credit redistribution: IRCR, RUDDER, RRD ...), and the
  write-back of the rewards they rewrite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import torch

__all__ = ["gae", "gae_torch", "Rollout", "Episode", "EpisodeAssembler", "RolloutHook"]


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    ends: torch.Tensor,
    gamma: float,
    lam: float,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Advantages A_t (T, N) by GAE(gamma, lambda).

    ``delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)`` and
    ``A_t = delta_t + gamma * lam * (1 - ends_t) * A_{t+1}``, where ``next_values[t]`` is the
    value of the *true* next observation of step t (for a truncated step, its final
    observation, not the reset observation of the next episode). For non-episodic returns
    (RND's intrinsic stream) pass all-False ``terminated`` and ``ends``.

    ``valid`` (T, N) bool, optional: False at NEXT_STEP's dummy reset steps, which are then
    transparent (``A_t = A_{t+1}``, no delta, no extra ``gamma * lam``). A stream that runs
    across episode ends (the intrinsic one) then matches SAME_STEP autoreset, which has no dummy
    steps, when the step before each dummy bootstraps from the dummy's next value (PPO does
    this). Episodic streams cut at ``ends`` before the dummy anyway.

    Example:
        >>> r = torch.tensor([[1.0], [1.0], [1.0]])
        >>> v = torch.zeros(3, 1)
        >>> nv = torch.tensor([[0.0], [0.0], [10.0]])   # step 2 truncated, V(final obs) = 10
        >>> f = torch.zeros(3, 1, dtype=torch.bool)
        >>> gae(r, v, nv, f, torch.tensor([[False], [False], [True]]), 0.5, 1.0).flatten().tolist()
        [3.0, 4.0, 6.0]
    """
    if rewards.device.type == "cpu":  # one compiled loop instead of ~6 tensor ops per step
        # Contiguous: the kernel writes through out's NumPy view, and .contiguous() of a
        # non-contiguous out (empty_like keeps a transposed input's strides) would be a copy.
        out = torch.empty(rewards.shape, dtype=rewards.dtype)
        if valid is None:
            valid = torch.ones(rewards.shape, dtype=torch.bool)
        arrays = (rewards, values, next_values, terminated, ends, valid, out)
        _gae_kernel(*(x.detach().contiguous().numpy() for x in arrays), float(gamma), float(lam))
        return out
    return gae_torch(rewards, values, next_values, terminated, ends, gamma, lam, valid)


def gae_torch(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    ends: torch.Tensor,
    gamma: float,
    lam: float,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """:func:`gae` as a loop of tensor operations on the tensors' own device (GPU rollouts)."""
    t_max = rewards.shape[0]
    advantages = torch.empty_like(rewards)
    not_term = (~terminated).to(rewards.dtype)
    carry = (~ends).to(rewards.dtype) * (gamma * lam)
    last = torch.zeros_like(rewards[0])
    for t in reversed(range(t_max)):
        delta = rewards[t] + gamma * next_values[t] * not_term[t] - values[t]
        step = delta + carry[t] * last
        last = step if valid is None else torch.where(valid[t], step, last)
        advantages[t] = last
    return advantages


@numba.njit(cache=True)
def _gae_kernel(rewards, values, next_values, terminated, ends, valid, out, gamma, lam):
    last = np.zeros(rewards.shape[1:], dtype=rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        for i in range(rewards.shape[1]):
            if valid[t, i]:  # a dummy reset step passes A_{t+1} through unchanged
                not_term = 0.0 if terminated[t, i] else 1.0
                delta = rewards[t, i] + gamma * next_values[t, i] * not_term - values[t, i]
                last[i] = delta + (0.0 if ends[t, i] else gamma * lam) * last[i]
            out[t, i] = last[i]


@dataclass
class Rollout:
    """One rollout of T steps of N envs, on the agent's device (what ``term.update`` gets).

    Attributes:
        obs: (T, N, ...) the raw observations s_t the actions were taken in.
        actions: (T, N, ...) the actions, as the env took them (for a ``Discrete(n, start)``
            action space: in ``[start, start + n)``, as the terms' batches have them).
        next_obs: (T, N, ...) the true next observations s_{t+1} (the final observation when
            an episode ended, never the reset observation).
        rewards: (T, N) extrinsic rewards (env reward plus non-intrinsic terms).
        intrinsic_rewards: (T, N) the summed intrinsic terms, or None.
        terminated, truncated: (T, N) bool.
        valid: (T, N) bool; False at the dummy reset steps of ``NEXT_STEP`` autoreset, which
            are not transitions and must be ignored.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    next_obs: torch.Tensor
    rewards: torch.Tensor
    intrinsic_rewards: torch.Tensor | None
    terminated: torch.Tensor
    truncated: torch.Tensor
    valid: torch.Tensor

    @property
    def device(self) -> torch.device:
        return self.obs.device


@dataclass
class Episode:
    """One episode as a relabelling hook sees it (CPU NumPy arrays).

    A hook may rewrite ``rewards`` (in place, or by assigning a new array of the same length);
    PPO writes the rewritten values of the steps that are still in the current rollout back
    into it before computing advantages. Steps from earlier rollouts were already trained on:
    their rewrites are kept only for later calls on the same (ongoing) episode.

    Attributes:
        env_index: which of the N envs ran it.
        obs: (L, ...) observations s_0 .. s_{L-1} (so far, for an ongoing episode).
        actions: (L, ...) actions, as the env took them (see :class:`Rollout`).
        rewards: (L,) float32 extrinsic rewards (before any reward normalisation).
        final_obs: s_L, the last observation, for finished episodes; None for ongoing ones.
        terminated, truncated: how a finished episode ended (both False when ongoing).
        finished: whether the episode ended within this rollout.
        in_rollout: its last ``in_rollout`` steps lie in the current rollout.
    """

    env_index: int
    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    final_obs: np.ndarray | None
    terminated: bool
    truncated: bool
    finished: bool
    in_rollout: int

    def __len__(self) -> int:
        return int(self.rewards.shape[0])


#: A relabelling hook: called once per rollout with the finished and the ongoing episodes.
RolloutHook = Callable[[list[Episode]], Any]


class EpisodeAssembler:
    """Cuts rollouts into episodes for hooks, carrying ongoing episodes across rollouts.

    Example:
        >>> import numpy as np
        >>> asm = EpisodeAssembler(num_envs=1)
        >>> obs = np.arange(4.0).reshape(4, 1, 1)        # T=4, N=1, obs dim 1
        >>> rew = np.ones((4, 1), np.float32)
        >>> term = np.array([[False], [True], [False], [False]])
        >>> valid = np.array([[True], [True], [False], [True]])   # step 2: dummy reset step
        >>> eps = asm.cut(obs, np.zeros((4, 1)), rew, term, np.zeros_like(term), valid,
        ...               final_obs=lambda t, i: obs[t + 1, i])
        >>> [(e.finished, len(e), e.in_rollout) for e in eps]
        [(True, 2, 2), (False, 1, 1)]
        >>> eps[0].rewards[:] = 5.0
        >>> asm.write_back(eps, rew)
        >>> rew.flatten().tolist()
        [5.0, 5.0, 1.0, 1.0]
    """

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self._carry: list[Episode | None] = [None] * num_envs
        self._where: list[tuple[Episode, int, np.ndarray]] = []

    def cut(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        valid: np.ndarray,
        final_obs: Callable[[int, int], np.ndarray],
    ) -> list[Episode]:
        """The episodes touching this rollout (arrays (T, N, ...)); ``final_obs(t, i)`` gives
        the true last observation of an episode that ended at step t in env i."""
        episodes: list[Episode] = []
        self._where = []
        done = (terminated | truncated) & valid
        for i in range(self.num_envs):
            steps = np.flatnonzero(valid[:, i])
            cuts = np.searchsorted(steps, np.flatnonzero(done[:, i]), side="right")
            last = None
            for k, seg in enumerate(np.split(steps, cuts)):
                finished = k < len(cuts)
                if len(seg) == 0 and not finished:
                    continue
                prev = self._carry[i] if k == 0 else None
                ep = Episode(
                    env_index=i,
                    obs=_joined(prev, "obs", obs[seg, i]),
                    actions=_joined(prev, "actions", actions[seg, i]),
                    rewards=_joined(prev, "rewards", rewards[seg, i]).astype(np.float32),
                    final_obs=final_obs(int(seg[-1]), i) if finished else None,
                    terminated=bool(finished and terminated[seg[-1], i]),
                    truncated=bool(finished and truncated[seg[-1], i]),
                    finished=finished,
                    in_rollout=len(seg),
                )
                episodes.append(ep)
                self._where.append((ep, i, seg))
                last = ep
            if last is not None:  # else: no real step of env i in this rollout
                self._carry[i] = None if last.finished else last
        return episodes

    def write_back(self, episodes: list[Episode], rewards: np.ndarray) -> None:
        """Copy the (possibly rewritten) rewards of this rollout's steps into ``rewards``."""
        for ep, i, seg in self._where:
            new = np.asarray(ep.rewards, dtype=np.float32)
            if new.shape != (len(ep.obs),):
                raise ValueError(
                    f"a rollout hook set rewards of shape {new.shape} for an episode of "
                    f"length {len(ep.obs)} (env {i}); keep one reward per step"
                )
            ep.rewards = new
            if len(seg):
                rewards[seg, i] = new[len(new) - len(seg) :]

    def state_dict(self) -> dict[str, Any]:
        return {"carry": self._carry}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._carry = list(state["carry"])


def _joined(prev: Episode | None, field: str, new: np.ndarray) -> np.ndarray:
    if prev is None:
        return np.array(new, copy=True)
    return np.concatenate([getattr(prev, field), new], axis=0)

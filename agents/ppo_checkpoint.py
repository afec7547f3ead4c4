"""Saving and resuming :class:`~rewardshaping.agents.ppo.PPO` runs exactly.

:class:`PPOCheckpoints` is the part of ``PPO`` that turns a run into a checkpoint and back:
policy, optimiser, RNG and normaliser states, counters, the reward terms' states (through the
pipeline's ``state_dict``), hook states, and -- when
:func:`~rewardshaping.agents.checkpoint.snapshot_envs` can capture it -- the envs' exact state,
so that a stopped and resumed run on CPU produces the same parameters as an uninterrupted one.

A run may resume on another device (``device`` is one of the settings a resume may change).
Tensors load on the CPU and move to the agent's device as they are restored; the sampling
generator's state cannot move (each device type has its own generator), so such a resume
reseeds it and warns that the run is no longer bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from gymnasium.vector import VectorEnv

from rewardshaping.agents.checkpoint import (
    RESEED_STRIDE,
    atomic_save,
    load_checkpoint,
    restart_episodes,
    restore_envs,
    snapshot_or_warn,
)
from rewardshaping.agents.rollout import RolloutHook
from rewardshaping.terms import RewardTerm

if TYPE_CHECKING:
    from rewardshaping.agents.ppo import PPO

__all__ = ["PPOCheckpoints"]


class PPOCheckpoints:
    """Checkpoint methods of :class:`~rewardshaping.agents.ppo.PPO` (a mixin; see there)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (see :meth:`save`)."""
        env_snapshot = snapshot_or_warn(self.envs, started=self._next_obs is not None)
        return {
            "format": 1,
            "config": dataclasses.asdict(self.config),
            "iteration": self.iteration,
            "global_step": self.global_step,
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "generator_device": self.generator.device.type,  # its state is only valid there
            "obs_rms": self.obs_rms.state_dict() if self.obs_rms else None,
            "ext_rms": self.ext_rms.state_dict() if self.ext_rms else None,
            "int_rms": self.int_rms.state_dict() if self.int_rms else None,
            "ext_return": self._ext_return.clone(),
            "int_return": self._int_return.clone(),
            "episodes": self.episodes.state_dict(),
            "assembler": self.assembler.state_dict() if self.assembler else None,
            "hooks": [h.state_dict() if hasattr(h, "state_dict") else None for h in self.hooks],
            "pipeline": self.pipeline.state_dict() if self.pipeline is not None else None,
            "envs": env_snapshot,
            "next_obs": self._next_obs,
            "pending": self._pending.copy(),
        }

    def save(self, path: str | os.PathLike) -> str:
        """Write a checkpoint atomically: policy, optimiser, RNG and normaliser states,
        counters, reward-term states and the envs' exact state (when it can be captured)."""
        return str(atomic_save(self.state_dict(), path))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` into this agent (built with the same config and envs)."""
        self.iteration = int(state["iteration"])
        self.global_step = int(state["global_step"])
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        if not self.config.anneal_lr:
            # The optimiser's state carries the saved learning rate; without annealing nothing
            # resets it, so a learning_rate given to load() would be silently ignored.
            self.optimizer.param_groups[0]["lr"] = self.config.learning_rate
        self._restore_generator(state)
        for name in ("obs_rms", "ext_rms", "int_rms"):
            # Older checkpoints may hold statistics of Discrete observations, which are no
            # longer normalised (obs_rms None): they are dropped.
            if state[name] is not None and getattr(self, name) is not None:
                getattr(self, name).load_state_dict(state[name])
        if self.obs_rms is not None and self.iteration:
            self._freeze_obs_stats()
        self._ext_return.copy_(state["ext_return"])
        self._int_return.copy_(state["int_return"])
        self.episodes.load_state_dict(state["episodes"])
        if self.assembler is not None and state["assembler"] is not None:
            self.assembler.load_state_dict(state["assembler"])
        for hook, hs in zip(self.hooks, state["hooks"], strict=False):
            if hs is not None and hasattr(hook, "load_state_dict"):
                hook.load_state_dict(hs)
        if state["pipeline"] is not None:
            if self.pipeline is None:
                raise ValueError("the checkpoint has reward-term states but these envs have none")
            self.pipeline.load_state_dict(state["pipeline"])
        if state["envs"] is not None:
            restore_envs(self.envs, state["envs"])
            self._next_obs = state["next_obs"]
            self._pending[:] = state["pending"]
        elif state["next_obs"] is not None:
            # Not capturable: new episodes.
            self._next_obs = restart_episodes(
                self.envs, self.config.seed, self.iteration, self.episodes
            )
            self._pending[:] = False

    def _restore_generator(self, state: dict[str, Any]) -> None:
        """Continue the saved generator's stream when it was saved on this device type; else
        (a run resumed on another device) seed it from the seed and the iteration reached,
        with a ``RuntimeWarning``: the resumed run is then not bit-identical to an
        uninterrupted one. Call after ``iteration`` is restored."""
        saved = state["generator"]
        here = self.generator.device.type
        there = state.get("generator_device") or _state_device_type(saved, self.generator)
        # The size too: set_state fails on another layout, whatever the entry says.
        if there == here and saved.numel() == self.generator.get_state().numel():
            self.generator.set_state(saved)
            return
        self.generator.manual_seed(self.config.seed + RESEED_STRIDE * self.iteration)
        warnings.warn(
            f"the checkpoint's random generator state (saved on {there}, {saved.numel()} bytes) "
            f"cannot be restored into this run's {here} generator: sampling continues from a "
            "generator seeded by the seed and the iteration reached, so this resumed run will "
            "not be bit-identical to an uninterrupted one",
            RuntimeWarning,
            stacklevel=3,  # the caller of load_state_dict / load
        )

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        envs: VectorEnv | None = None,
        *,
        terms: RewardTerm | Sequence[RewardTerm] | None = None,
        weight: Any = 1.0,
        hooks: Sequence[RolloutHook] = (),
        **overrides: Any,
    ) -> PPO:
        """Rebuild an agent from :meth:`save`'s file and continue where it stopped.

        Pass the same ``terms`` (and ``envs``, when the run was given envs) as the saved run;
        ``overrides`` may change e.g. ``log_dir`` or ``total_timesteps``.
        """
        state = load_checkpoint(path)
        values = dict(state["config"])
        values.update(overrides)
        from rewardshaping.agents.ppo import PPOConfig

        config = PPOConfig.from_dict(values)
        agent = cls(config, envs, terms=terms, weight=weight, hooks=hooks)
        agent.load_state_dict(state)
        return agent


def _state_device_type(saved: torch.Tensor, generator: torch.Generator) -> str:
    """The device type of a generator ``saved`` state from a checkpoint that did not record it.

    Each device type lays its generator state out differently (CPU: a Mersenne Twister of
    5056 bytes; CUDA: seed and offset, 16 bytes), so the size tells whether it is
    ``generator``'s kind.
    """
    if saved.numel() == generator.get_state().numel():
        return generator.device.type
    return "cpu" if saved.numel() == torch.Generator().get_state().numel() else "another device"

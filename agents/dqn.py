"""Deep Q-Networks (Mnih et al. 2015) on N vectorised envs, with extra experiences.

Config in :class:`DQNConfig` (CleanRL's ``dqn.py`` defaults); the loop in :meth:`DQN.learn`:
epsilon-greedy actions in N envs, every real transition into the replay buffer (the dummy
reset steps of ``NEXT_STEP`` autoreset are skipped; time-limit truncations bootstrap from the
true last observation), TD updates against a periodically synchronised target network,
optionally Double DQN targets (van Hasselt et al. 2016).

Extra experiences: reward machines produce *counterfactual* experiences, one transition per
machine state for every env step (Toro Icarte et al. 2018, CRM). Two ways in:

* ``experience_fn(batch) -> Experiences | None``, called after every env step with the
  :class:`~rewardshaping.transitions.Transitions` of that step (true next observations,
  ``active`` False at dummy steps, infos); whatever it returns goes into the buffer too.
* :meth:`DQN.add_experiences` adds any :class:`~rewardshaping.agents.replay.Experiences` now.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from rewardshaping.agents.checkpoint import (
    atomic_save,
    load_checkpoint,
    restart_episodes,
    restore_envs,
    snapshot_or_warn,
)
from rewardshaping.agents.config_files import config_from_dict
from rewardshaping.agents.evaluation import EvalResult, evaluate_agent
from rewardshaping.agents.networks import QNetwork, flat_parameters
from rewardshaping.agents.replay import Experiences, ReplayBuffer
from rewardshaping.agents.run_log import EpisodeTracker, RunLogger
from rewardshaping.agents.vector_envs import agent_envs, find_shaped, resolve_device
from rewardshaping.transitions import Transitions, set_obs_rows
from rewardshaping.wrappers.vector import autoreset_mode_of

__all__ = ["DQN", "DQNConfig"]


@dataclass
class DQNConfig:
    """Every hyperparameter of :class:`DQN`; frequencies count env steps (all N envs).

    Example:
        >>> DQNConfig(exploration_fraction=0.5, total_timesteps=1000).epsilon(250)
        0.525
    """

    env_id: str = "CartPole-v1"
    num_envs: int = 1
    vectorization: str = "auto"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    autoreset_mode: str = "NextStep"
    total_timesteps: int = 500_000
    learning_rate: float = 2.5e-4
    buffer_size: int = 10_000
    gamma: float = 0.99
    tau: float = 1.0  # 1.0: hard target updates
    target_network_frequency: int = 500
    batch_size: int = 128
    start_e: float = 1.0
    end_e: float = 0.05
    exploration_fraction: float = 0.5
    learning_starts: int = 10_000
    train_frequency: int = 10
    gradient_steps: int = 1
    double_q: bool = False
    max_grad_norm: float | None = None
    hidden_sizes: tuple[int, ...] = (120, 84)
    encoder: str = "auto"
    seed: int = 0
    device: str = "auto"
    torch_threads: int | None = 1  # small networks: one thread (see PPOConfig.torch_threads)
    log_dir: str | None = None
    tensorboard: bool = True

    def epsilon(self, step: int) -> float:
        """Linearly annealed exploration rate at env step ``step``."""
        duration = max(1.0, self.exploration_fraction * self.total_timesteps)
        slope = (self.end_e - self.start_e) / duration
        return max(slope * step + self.start_e, self.end_e)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DQNConfig:
        """A config from a plain dict, refusing unknown keys."""
        return config_from_dict(cls, values)


class DQN:
    """DQN on a Gymnasium vector env with Discrete actions.

    Args:
        config: hyperparameters; keyword ``overrides`` replace single fields.
        envs: a vector env; made from ``config.env_id`` when None.
        terms, weight: reward terms for a ``ShapedVectorEnv`` around the envs.
        experience_fn: called with each step's :class:`~rewardshaping.transitions.Transitions`;
            may return extra :class:`~rewardshaping.agents.replay.Experiences` to store.

    Example:
        >>> agent = DQN(DQNConfig(num_envs=2, total_timesteps=200, learning_starts=100,
        ...                       train_frequency=4, device="cpu"))
        >>> _ = agent.learn()
        >>> agent.global_step, len(agent.buffer) > 150
        (200, True)
    """

    def __init__(
        self,
        config: DQNConfig | None = None,
        envs: VectorEnv | None = None,
        *,
        terms: Any = None,
        weight: Any = 1.0,
        experience_fn: Callable[[Transitions], Experiences | None] | None = None,
        **overrides: Any,
    ) -> None:
        self.config = c = dataclasses.replace(config or DQNConfig(), **overrides)
        if c.torch_threads is not None:
            torch.set_num_threads(int(c.torch_threads))
        self.device = resolve_device(c.device)
        self._envs_from_config = envs is None  # evaluate() re-makes them from the config
        envs = agent_envs(c, envs, terms, weight)
        if not isinstance(envs.single_action_space, spaces.Discrete):
            raise TypeError(
                f"DQN needs a Discrete action space, got {envs.single_action_space}; use PPO "
                "for continuous actions"
            )
        self.envs = envs
        self.config = c = dataclasses.replace(c, num_envs=envs.num_envs)
        self.autoreset_mode = autoreset_mode_of(envs)
        self.shaped = find_shaped(envs)
        self.experience_fn = experience_fn
        obs_space = envs.single_observation_space
        self.n_actions = int(envs.single_action_space.n)
        # Q-values and the replay buffer index actions 0..n-1; a Discrete(n, start=s) env takes
        # s..s+n-1: predict adds s, whatever comes back in (_store, add_experiences) loses it.
        self.action_start = int(envs.single_action_space.start)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self.q_network = QNetwork(obs_space, self.n_actions, c.hidden_sizes, c.encoder)
            self.target_network = QNetwork(obs_space, self.n_actions, c.hidden_sizes, c.encoder)
        self.q_network.to(self.device)
        self.target_network.to(self.device)
        self.target_network.load_state_dict(self.q_network.state_dict())
        self.flat_params = flat_parameters(self.q_network)
        self.optimizer = torch.optim.Adam([self.flat_params], lr=c.learning_rate)
        self.buffer = ReplayBuffer(
            c.buffer_size, obs_space.shape, obs_space.dtype, (), np.int64, seed=c.seed
        )
        self.rng = np.random.default_rng(c.seed)  # exploration
        self.episodes = EpisodeTracker(c.num_envs)
        self.global_step = 0
        self.updates = 0
        self._last_log = 0  # global_step of the last log line (kept across save/load)
        self._obs: Any = None
        self._pending = np.zeros(c.num_envs, dtype=bool)
        self.logger: RunLogger | None = None
        self.last_stats: dict[str, float] = {}

    # -- acting --------------------------------------------------------------------------------
    def q_values(self, obs: Any) -> torch.Tensor:
        """Q(s, .) for a batch of observations, on the agent's device."""
        with torch.inference_mode():
            return self.q_network(torch.as_tensor(np.asarray(obs), device=self.device))

    def predict(self, obs: Any, epsilon: float = 0.0) -> np.ndarray:
        """Epsilon-greedy actions (greedy by default) for a batch of observations, as the env
        takes them (``start`` added for a ``Discrete(n, start)`` action space)."""
        greedy = self.q_values(obs).argmax(-1).cpu().numpy()
        if epsilon > 0:
            explore = self.rng.random(len(greedy)) < epsilon
            greedy = np.where(explore, self.rng.integers(0, self.n_actions, len(greedy)), greedy)
        return greedy + self.action_start if self.action_start else greedy

    # -- experiences ---------------------------------------------------------------------------
    def add_experiences(self, batch: Experiences) -> None:
        """Store extra transitions (counterfactual or relabelled) in the replay buffer.

        Actions are the env's, as :meth:`predict` returns them and as ``experience_fn`` sees
        them: in ``[start, start + n)`` for a ``Discrete(n, start)`` action space.
        """
        actions = np.asarray(batch.actions)
        index = actions - self.action_start if self.action_start else actions
        if index.size and (index.min() < 0 or index.max() >= self.n_actions):
            lo = self.action_start
            raise ValueError(
                f"actions must lie in the env's action space [{lo}, {lo + self.n_actions}), "
                f"got {sorted(set(actions.reshape(-1).tolist()))}"
            )
        if self.action_start:
            batch = dataclasses.replace(batch, actions=index)
        self.buffer.add(batch)

    def _store(self, obs, actions, next_obs, reward, terminated, truncated, info, valid) -> None:
        """The real transitions of one env step, and whatever ``experience_fn`` adds."""
        if self.autoreset_mode is AutoresetMode.SAME_STEP and (terminated | truncated).any():
            done = np.flatnonzero(terminated | truncated)
            next_obs = set_obs_rows(next_obs, done, info["final_obs"])
        rows = np.flatnonzero(valid)
        self.add_experiences(  # env actions: add_experiences turns them into indices
            Experiences(obs[rows], actions[rows], reward[rows], next_obs[rows], terminated[rows])
        )
        if self.experience_fn is not None:
            batch = Transitions.from_arrays(
                obs, actions, next_obs, reward, terminated, truncated, info, valid,
                global_step=self.global_step,
            )  # fmt: skip
            extra = self.experience_fn(batch)
            if extra is not None:
                self.add_experiences(extra)

    # -- learning ------------------------------------------------------------------------------
    def train_step(self) -> float:
        """One TD update on a sampled minibatch; returns the loss."""
        c, dev = self.config, self.device
        data = self.buffer.sample(c.batch_size)
        obs = torch.as_tensor(data["obs"], device=dev)
        next_obs = torch.as_tensor(data["next_obs"], device=dev)
        actions = torch.as_tensor(data["actions"], device=dev)
        rewards = torch.as_tensor(data["rewards"], device=dev)
        not_done = 1.0 - torch.as_tensor(data["terminated"], device=dev).float()
        with torch.no_grad():
            next_q = self.target_network(next_obs)
            if c.double_q:  # the online net picks, the target net values
                best = self.q_network(next_obs).argmax(-1, keepdim=True)
                next_v = next_q.gather(-1, best).squeeze(-1)
            else:
                next_v = next_q.max(-1).values
            target = rewards + c.gamma * not_done * next_v
        q = self.q_network(obs).gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        loss = torch.nn.functional.mse_loss(q, target)
        self.flat_params.grad.zero_()
        loss.backward()
        if c.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_([self.flat_params], c.max_grad_norm)
        self.optimizer.step()
        self.updates += 1
        return float(loss.detach())

    def _sync_target(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            for t, p in zip(
                self.target_network.parameters(), self.q_network.parameters(), strict=True
            ):
                t.mul_(1.0 - tau).add_(p, alpha=tau)

    def learn(
        self,
        total_timesteps: int | None = None,
        *,
        callback: Callable[[DQN, dict[str, float]], bool | None] | None = None,
        log_every: int = 1000,
        progress_bar: bool = False,
    ) -> DQN:
        """Train until ``total_timesteps`` env steps (default ``config.total_timesteps``).

        ``callback(agent, stats)`` runs every ``log_every`` env steps; return False to stop.
        """
        c = self.config
        if total_timesteps is not None:
            self.config = c = dataclasses.replace(c, total_timesteps=int(total_timesteps))
        if c.log_dir is not None and self.logger is None:
            names = self.shaped.pipeline.names if self.shaped is not None else []
            self.logger = RunLogger(
                c.log_dir, [f"term/{n}" for n in names], c.tensorboard,
                resume_step=self.global_step or None,
            )  # fmt: skip
        if self._obs is None:
            self._obs, _ = self.envs.reset(seed=c.seed)
        n = c.num_envs
        same_step = self.autoreset_mode is AutoresetMode.SAME_STEP
        bar = None
        if progress_bar:
            from tqdm.auto import tqdm

            bar = tqdm(total=c.total_timesteps, initial=self.global_step, unit="step")
        losses: list[float] = []
        start, sps_from = time.perf_counter(), self.global_step
        try:
            while self.global_step < c.total_timesteps:
                actions = self.predict(self._obs, c.epsilon(self.global_step))
                next_obs, reward, terminated, truncated, info = self.envs.step(actions)
                valid = ~self._pending
                self._store(
                    self._obs, actions, next_obs, reward, terminated, truncated, info, valid
                )
                done = terminated | truncated
                env_reward = info["env_reward"] if self.shaped is not None else reward
                prev_step = self.global_step
                self.global_step += n
                self.episodes.step(env_reward, done, valid, info, self.global_step)
                self._pending = done if not same_step else self._pending
                self._obs = next_obs

                if self.global_step > c.learning_starts:
                    due = self.global_step // c.train_frequency - prev_step // c.train_frequency
                    for _ in range(due * c.gradient_steps):
                        losses.append(self.train_step())
                    if self.global_step // c.target_network_frequency > (
                        prev_step // c.target_network_frequency
                    ):
                        self._sync_target()
                if bar is not None:
                    bar.update(n)
                if (
                    self.global_step - self._last_log >= log_every
                    or self.global_step >= c.total_timesteps
                ):
                    stats = {
                        "loss/td": float(np.mean(losses)) if losses else float("nan"),
                        "explore/epsilon": c.epsilon(self.global_step),
                        "time/sps": (self.global_step - sps_from) / (time.perf_counter() - start),
                        **self.episodes.recent(),
                    }
                    losses, start = [], time.perf_counter()
                    sps_from = self._last_log = self.global_step
                    self.last_stats = stats
                    if self.logger is not None:
                        self.logger.log_episodes(self.episodes.pop_finished())
                        self.logger.log_iteration(self.global_step, stats)
                    else:
                        self.episodes.pop_finished()
                    if bar is not None:
                        bar.set_postfix(ret=f"{stats['episode/return_mean']:.3g}")
                    if callback is not None and callback(self, stats) is False:
                        break
        finally:
            if bar is not None:
                bar.close()
            if self.logger is not None:
                self.logger.flush()
        return self

    def evaluate(
        self, num_episodes: int = 10, seed: int = 10_000, envs: VectorEnv | None = None
    ) -> EvalResult:
        """Greedy-policy episodes on ``envs``, or on fresh, unshaped copies of the training env
        (as :meth:`PPO.evaluate <rewardshaping.agents.ppo.PPO.evaluate>`)."""
        from_config = self.config if self._envs_from_config else None
        return evaluate_agent(self.predict, self.envs, num_episodes, seed, from_config, envs)

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (see :meth:`save`)."""
        env_snapshot = snapshot_or_warn(self.envs, started=self._obs is not None)
        return {
            "format": 1,
            "config": dataclasses.asdict(self.config),
            "q_network": self.q_network.state_dict(),
            "target_network": self.target_network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "global_step": self.global_step,
            "updates": self.updates,
            "last_log": self._last_log,
            "episodes": self.episodes.state_dict(),
            "pipeline": self.shaped.pipeline.state_dict() if self.shaped is not None else None,
            "envs": env_snapshot,
            "next_obs": self._obs,
            "pending": self._pending.copy(),
        }

    def save(self, path: str | os.PathLike) -> str:
        """Write a checkpoint atomically: networks, optimiser, replay buffer, RNG states,
        counters, the episode tracker, reward-term states (counts, the weight schedules' step)
        and the envs' exact state when it can be captured.

        A run resumed with :meth:`load` on CPU then continues as if never stopped, except:
        envs whose state cannot be captured (``AsyncVectorEnv``, ``EzPickle`` envs such as
        MuJoCo; :meth:`save` warns) start new episodes, seeded by the step reached so that they
        do not replay the first ones; ``experience_fn`` keeps no state here (save its own); a
        new ``total_timesteps`` changes the exploration schedule, as it would have from the
        start.
        """
        return str(atomic_save(self.state_dict(), path))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` into this agent (built with the same config and envs)."""
        pipeline = self.shaped.pipeline if self.shaped is not None else None
        saved_pipeline = state.get("pipeline")
        if saved_pipeline is not None and pipeline is None:
            raise ValueError("the checkpoint has reward-term states but these envs have none")
        if saved_pipeline is not None:  # first: it refuses other terms before anything changes
            pipeline.load_state_dict(saved_pipeline)
        self.q_network.load_state_dict(state["q_network"])
        self.target_network.load_state_dict(state["target_network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer.load_state_dict(state["buffer"])
        self.rng.bit_generator.state = state["rng"]
        self.global_step = int(state["global_step"])
        self.updates = int(state["updates"])
        self._last_log = int(state.get("last_log", self.global_step))
        if state.get("episodes") is not None:
            self.episodes.load_state_dict(state["episodes"])
        if state.get("envs") is not None:
            restore_envs(self.envs, state["envs"])
            self._obs = state["next_obs"]
            self._pending[:] = state["pending"]
        elif self.global_step:
            # Not capturable (or an old checkpoint): new episodes.
            step = self.global_step // self.config.num_envs
            self._obs = restart_episodes(self.envs, self.config.seed, step, self.episodes)
            self._pending[:] = False

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        envs: VectorEnv | None = None,
        *,
        terms: Any = None,
        weight: Any = 1.0,
        experience_fn: Callable[[Transitions], Experiences | None] | None = None,
        **overrides: Any,
    ) -> DQN:
        """Rebuild an agent saved by :meth:`save` and continue where it stopped (see there).

        Pass the same ``terms`` (and ``envs``, when the run was given envs) as the saved run;
        ``overrides`` may change e.g. ``log_dir`` or ``total_timesteps``.
        """
        state = load_checkpoint(path)
        values = dict(state["config"])
        values.update(overrides)
        agent = cls(
            DQNConfig.from_dict(values), envs, terms=terms, weight=weight,
            experience_fn=experience_fn,
        )  # fmt: skip
        agent.load_state_dict(state)
        return agent

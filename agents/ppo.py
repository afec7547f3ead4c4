"""Proximal Policy Optimisation (Schulman et al. 2017) for N vectorised envs, on any torch device.

The whole algorithm reads top to bottom in :class:`PPO`: :meth:`PPO.collect_rollout` (act in N
envs for ``num_steps`` steps), :meth:`PPO.compute_advantages` (GAE, Schulman et al. 2016),
:meth:`PPO.update` (clipped surrogate objective over minibatches and epochs). Hyperparameters
live in one dataclass, :class:`PPOConfig`, with CleanRL's defaults (Huang et al. 2022).

What this PPO adds for reward design:

* **Two value heads** when the env is a :class:`~rewardshaping.wrappers.ShapedVectorEnv` with
  intrinsic terms (RND, Burda et al. 2019): the intrinsic reward (``info["intrinsic_reward"]``)
  gets its own value head, discount ``int_gamma`` and *non-episodic* returns (the trace runs on
  through episode ends); extrinsic reward = composed reward - intrinsic reward. Advantages are
  ``ext_coef * A_ext + int_coef * A_int``; intrinsic rewards are divided by the running std of
  their discounted return, as RND does.
* **Learned terms** get ``update(rollout)`` once per iteration through the pipeline
  (:class:`~rewardshaping.agents.rollout.Rollout`, tensors on the agent's device).
* **Relabelling hooks**: callables receiving the rollout's finished and ongoing
  :class:`~rewardshaping.agents.rollout.Episode` s; they may rewrite rewards, and advantages are
  computed after them (credit redistribution).
* **Correct episode boundaries**: truncated steps bootstrap from the value of the true final
  observation; in ``NEXT_STEP`` autoreset mode the dummy reset step is masked out of GAE and of
  every loss; in ``SAME_STEP`` mode the final observation comes from ``info["final_obs"]``.
* **Exact resume** on CPU: :meth:`PPO.save` stores policy, optimiser, RNG, normalisers,
  counters, term states and (when possible) the envs' exact state; :meth:`PPO.load` continues
  the run as if never stopped.

Devices: storage, GAE and updates run on ``config.device``; inside the rollout loop the only
transfers are the env's observations in and the actions out, once per step (and, in
``SAME_STEP`` mode, the final observations of truncated episodes). On CPU, small MLP policies
act through :class:`~rewardshaping.agents.networks.NumpyActorCritic`, NumPy views of the same
weights, because PyTorch's per-call overhead dominates a tiny forward pass; the update always
runs in torch. ``experiments/PERFORMANCE.md`` has the measured effect of each such choice.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from torch.nn import functional as F

from rewardshaping.agents.config_files import config_from_dict
from rewardshaping.agents.evaluation import EvalResult, evaluate_agent
from rewardshaping.agents.networks import ActorCritic, NumpyActorCritic, flat_parameters
from rewardshaping.agents.normalization import RunningMeanStd, discounted_return_scale
from rewardshaping.agents.ppo_checkpoint import PPOCheckpoints
from rewardshaping.agents.rollout import EpisodeAssembler, Rollout, RolloutHook, gae
from rewardshaping.agents.run_log import EpisodeTracker, RunLogger
from rewardshaping.agents.vector_envs import agent_envs, find_shaped, resolve_device
from rewardshaping.terms import RewardTerm
from rewardshaping.wrappers.vector import autoreset_mode_of

__all__ = ["PPO", "PPOConfig"]


@dataclass
class PPOConfig:
    """Every hyperparameter of :class:`PPO` (defaults: CleanRL's ``ppo.py``).

    Example:
        >>> PPOConfig(env_id="CartPole-v1", num_envs=4).batch_size
        512
    """

    # -- environment --
    env_id: str = "CartPole-v1"
    num_envs: int = 4
    #: "sync", "async", "vector_entry_point" (the env's own batched version) or "auto".
    vectorization: str = "auto"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    autoreset_mode: str = "NextStep"
    # -- rollouts and optimisation --
    total_timesteps: int = 500_000
    num_steps: int = 128  # per env and rollout
    learning_rate: float = 2.5e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 4
    norm_adv: bool = True
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: float | None = None
    # -- intrinsic rewards (used when a reward term is intrinsic) --
    int_gamma: float = 0.99
    ext_coef: float = 1.0
    int_coef: float = 1.0
    normalize_intrinsic: bool = True
    # -- networks and normalisation --
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    encoder: str = "auto"  # "mlp", "cnn" (MiniGrid-style images) or "auto"
    #: Running mean/std normalisation of Box observations. Discrete observations (state
    #: indices, one-hot encoded) are never normalised: PPO warns and ignores it for them.
    normalize_obs: bool = False
    normalize_reward: bool = False
    clip_obs: float = 10.0
    # -- system --
    seed: int = 0
    device: str = "auto"  # "cpu", "cuda", "mps" or "auto"
    #: torch.set_num_threads. Small networks run fastest on one thread; more threads
    #: oversubscribe a busy CPU (10x slower on a shared 2-core machine). None: leave as is.
    torch_threads: int | None = 1
    #: On CPU, act in the rollout with NumPy views of the MLP policy (same actions, a fraction
    #: of PyTorch's per-call overhead) when the batch is small (see NumpyActorCritic.MAX_GEMM);
    #: the update always runs in torch.
    numpy_rollout: bool = True
    # -- logging and checkpoints --
    log_dir: str | None = None
    tensorboard: bool = True
    checkpoint_every: int = 0  # iterations between checkpoints in log_dir (0: only at the end)

    @property
    def batch_size(self) -> int:
        """Transitions per rollout, ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def num_iterations(self) -> int:
        """Rollout-update iterations in ``total_timesteps``."""
        return max(1, self.total_timesteps // self.batch_size)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        positive = ("num_envs", "num_steps", "num_minibatches", "update_epochs", "total_timesteps")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"PPOConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda", "int_gamma"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"PPOConfig.{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"PPOConfig.learning_rate must be > 0, got {self.learning_rate}")
        if self.batch_size < self.num_minibatches:
            raise ValueError(
                f"num_envs * num_steps = {self.batch_size} < num_minibatches = "
                f"{self.num_minibatches}"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PPOConfig:
        """A config from a plain dict (e.g. a YAML/TOML file), refusing unknown keys.

        Example:
            >>> PPOConfig.from_dict({"num_envs": 2, "hidden_sizes": [32, 32]}).hidden_sizes
            (32, 32)
        """
        return config_from_dict(cls, values)


class PPO(PPOCheckpoints):
    """PPO on a Gymnasium vector env (sync, async or natively batched), on any torch device.

    Args:
        config: the hyperparameters (default :class:`PPOConfig()`); keyword ``overrides``
            replace single fields.
        envs: a vector env to train on; made from ``config.env_id`` when None.
        terms: reward terms; the env is wrapped in a ``ShapedVectorEnv`` with them.
        weight: the terms' weights (as for ``ShapedVectorEnv``).
        hooks: relabelling hooks, each called per rollout with a list of
            :class:`~rewardshaping.agents.rollout.Episode` (finished and ongoing).

    Example:
        >>> agent = PPO(PPOConfig(env_id="CartPole-v1", num_envs=2, num_steps=16,
        ...                       total_timesteps=64, device="cpu", seed=1))
        >>> _ = agent.learn()
        >>> agent.global_step, agent.iteration
        (64, 2)
        >>> agent.predict(np.zeros((3, 4), np.float32)).shape
        (3,)
    """

    def __init__(
        self,
        config: PPOConfig | None = None,
        envs: VectorEnv | None = None,
        *,
        terms: RewardTerm | Sequence[RewardTerm] | None = None,
        weight: Any = 1.0,
        hooks: Sequence[RolloutHook] = (),
        **overrides: Any,
    ) -> None:
        config = dataclasses.replace(config or PPOConfig(), **overrides)
        config.validate()
        self.config = c = config
        if c.torch_threads is not None:
            torch.set_num_threads(int(c.torch_threads))
        self.device = resolve_device(c.device)
        self._envs_from_config = envs is None  # evaluate() re-makes them from the config
        envs = agent_envs(c, envs, terms, weight)
        if envs.num_envs != c.num_envs:
            self.config = c = dataclasses.replace(c, num_envs=envs.num_envs)
        self.envs = envs
        self.autoreset_mode = autoreset_mode_of(envs)
        self.shaped = find_shaped(envs)
        self.pipeline = self.shaped.pipeline if self.shaped is not None else None
        self.intrinsic = bool(self.pipeline is not None and self.pipeline.intrinsic_names)
        self.learned_terms = bool(
            self.pipeline is not None
            and any(type(t).update is not RewardTerm.update for t in self.pipeline.terms)
        )
        self.hooks = list(hooks)

        obs_space, act_space = envs.single_observation_space, envs.single_action_space
        self.obs_space, self.action_space = obs_space, act_space
        self.continuous = isinstance(act_space, spaces.Box)
        # The policy's Discrete actions are indices 0..n-1; a Discrete(n, start=s) env takes
        # s..s+n-1: storage and log-probabilities use indices, the env gets index + s.
        self._act_start = int(act_space.start) if isinstance(act_space, spaces.Discrete) else 0
        if self.continuous:
            self._act_low = np.asarray(act_space.low, np.float32)
            self._act_high = np.asarray(act_space.high, np.float32)

        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG untouched
            torch.manual_seed(c.seed)
            self.policy = ActorCritic(
                obs_space, act_space, c.hidden_sizes, c.encoder, 2 if self.intrinsic else 1,
                c.activation,
            ).to(self.device)  # fmt: skip
        # All weights as views of one tensor: one fused Adam step, one norm to clip.
        self.flat_params = flat_parameters(self.policy)
        self._grad_mask = self.policy.flat_grad_mask()  # keeps actor and critic separate
        self.optimizer = torch.optim.Adam(
            [self.flat_params], lr=c.learning_rate, eps=1e-5, **_fast_adam(self.device)
        )
        self._np_policy = (
            NumpyActorCritic(self.policy)
            if c.numpy_rollout and NumpyActorCritic.supports(self.policy, c.num_envs)
            else None
        )
        # One generator drives action sampling and minibatch shuffling, on the device itself.
        self.generator = torch.Generator(device=self.device).manual_seed(c.seed)

        self.obs_rms = (
            RunningMeanStd(tuple(obs_space.shape), self.device)
            if _normalizable_obs(obs_space, c.normalize_obs)
            else None
        )
        self._obs_mean_std: tuple[torch.Tensor, torch.Tensor] | None = None
        self.ext_rms = RunningMeanStd((), "cpu") if c.normalize_reward else None
        self.int_rms = RunningMeanStd((), "cpu") if self.intrinsic else None
        self._ext_return = torch.zeros(c.num_envs)
        self._int_return = torch.zeros(c.num_envs)

        self._allocate_storage()
        self.assembler = EpisodeAssembler(c.num_envs) if self.hooks else None
        self.episodes = EpisodeTracker(c.num_envs)
        self.iteration = 0
        self.global_step = 0
        self._next_obs: Any = None  # numpy, the observation the next action is taken in
        self._pending = np.zeros(c.num_envs, dtype=bool)  # NEXT_STEP: next step is a dummy
        self.logger: RunLogger | None = None
        self.last_stats: dict[str, float] = {}

    # ------------------------------------------------------------------------------------------
    def _allocate_storage(self) -> None:
        c, dev = self.config, self.device
        t, n = c.num_steps, c.num_envs
        obs_dtype = _torch_dtype(self.obs_space)
        act_shape = self.action_space.shape
        heads = 2 if self.intrinsic else 1
        # On the device: what the policy produced and what the update reads.
        self.obs = torch.zeros((t, n, *self.obs_space.shape), dtype=obs_dtype, device=dev)
        self.actions = torch.zeros(
            (t, n, *act_shape), dtype=torch.float32 if self.continuous else torch.long, device=dev
        )
        self.logprobs = torch.zeros((t, n), device=dev)
        self.values = torch.zeros((t, n, heads), device=dev)
        # On the host: what the envs returned; moved to the device once per rollout.
        self.ext_rewards = np.zeros((t, n), dtype=np.float32)
        self.int_rewards = np.zeros((t, n), dtype=np.float32)
        self.terminated = np.zeros((t, n), dtype=bool)
        self.truncated = np.zeros((t, n), dtype=bool)
        self.valid = np.ones((t, n), dtype=bool)
        # SAME_STEP only: V(final obs) of truncated steps, and the final obs themselves.
        self._final_values: dict[int, tuple[np.ndarray, torch.Tensor]] = {}
        self._final_obs: dict[int, tuple[np.ndarray, Any]] = {}
        self._host_obs = (
            np.zeros((t, n, *self.obs_space.shape), dtype=self.obs_space.dtype)
            if self.hooks
            else None
        )

    def _normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """Observation normalisation with statistics frozen for the current iteration (the
        identity without ``normalize_obs``, and for Discrete observations)."""
        if self._obs_mean_std is None:
            return obs
        mean, std = self._obs_mean_std
        return ((obs.float() - mean) / std).clamp(-self.config.clip_obs, self.config.clip_obs)

    def _reset_envs(self) -> None:
        self._next_obs, _ = self.envs.reset(seed=self.config.seed)
        self._pending[:] = False

    # -- 1. rollout ----------------------------------------------------------------------------
    def collect_rollout(self) -> None:
        """Act ``num_steps`` times in the N envs, storing everything the update needs."""
        c, dev = self.config, self.device
        same_step = self.autoreset_mode is AutoresetMode.SAME_STEP
        self._final_values.clear()
        self._final_obs.clear()
        noise = self.policy.sample_noise((c.num_steps, c.num_envs), self.generator)
        fast = self._np_policy is not None
        if fast:  # NumPy views of the noise and of the (CPU) storage
            noise_np, obs_np = noise.numpy(), self.obs.numpy()
            act_np, logp_np, val_np = (
                self.actions.numpy(),
                self.logprobs.numpy(),
                self.values.numpy(),
            )
            norm = None if self._obs_mean_std is None else [x.numpy() for x in self._obs_mean_std]
        for t in range(c.num_steps):
            if self._host_obs is not None:
                self._host_obs[t] = self._next_obs
            if fast:
                obs_np[t] = self._next_obs
                x = obs_np[t] if norm is None else _np_normalize(obs_np[t], *norm, c.clip_obs)
                action, logp_np[t], val_np[t] = self._np_policy.act(x, noise_np[t])
                act_np[t] = action
                env_action = action
            else:
                obs = torch.as_tensor(self._next_obs, device=dev)  # host -> device, once per step
                self.obs[t] = obs
                with torch.inference_mode():
                    action, logprob, value = self.policy.act(self._normalize(obs), noise[t])
                self.actions[t] = action
                self.logprobs[t] = logprob
                self.values[t] = value
                env_action = action.cpu().numpy()  # device -> host, once per step
            if self.continuous:
                env_action = np.clip(env_action, self._act_low, self._act_high)
            elif self._act_start:  # Discrete(n, start=s): the env takes index + s
                env_action = env_action + self._act_start

            next_obs, reward, terminated, truncated, info = self.envs.step(env_action)
            self.global_step += c.num_envs
            # A NEXT_STEP env that ended last step was just reset: this step is not a transition.
            valid = ~self._pending
            intrinsic = info["intrinsic_reward"] if self.intrinsic else 0.0
            self.ext_rewards[t] = np.asarray(reward, np.float32) - intrinsic
            if self.intrinsic:
                self.int_rewards[t] = intrinsic
            self.terminated[t] = terminated
            self.truncated[t] = truncated
            self.valid[t] = valid
            done = terminated | truncated
            if same_step and done.any():
                self._store_final_obs(t, done, truncated, info)
            env_reward = info["env_reward"] if self.shaped is not None else reward
            self.episodes.step(env_reward, done, valid, info, self.global_step)
            self._pending = done if not same_step else self._pending
            self._next_obs = next_obs

    def _store_final_obs(self, t: int, done: np.ndarray, truncated: np.ndarray, info) -> None:
        """SAME_STEP: keep the true final observations; value them where truncated."""
        rows = np.flatnonzero(done)
        final = np.stack([np.asarray(info["final_obs"][i]) for i in rows])
        self._final_obs[t] = (rows, final)
        trunc_rows = np.flatnonzero(truncated[rows])
        if len(trunc_rows):
            x = torch.as_tensor(final[trunc_rows], device=self.device)
            with torch.inference_mode():
                self._final_values[t] = (rows[trunc_rows], self.policy.value(self._normalize(x)))

    def _true_final_obs(self, t: int, i: int) -> np.ndarray:
        """s_{t+1} of env i after step t ended its episode (for hooks)."""
        if t in self._final_obs:
            rows, final = self._final_obs[t]
            return final[int(np.flatnonzero(rows == i)[0])]
        nxt = self._host_obs[t + 1, i] if t + 1 < self.config.num_steps else self._next_obs[i]
        return np.array(nxt, copy=True)

    # -- 2. relabelling, reward scaling, advantages ----------------------------------------------
    def relabel(self) -> None:
        """Hand the rollout's episodes to the hooks; copy rewritten rewards back."""
        if not self.hooks:
            return
        episodes = self.assembler.cut(
            self._host_obs,
            self._env_actions(self.actions).cpu().numpy(),
            self.ext_rewards,
            self.terminated,
            self.truncated,
            self.valid,
            self._true_final_obs,
        )
        for hook in self.hooks:
            hook(episodes)
        self.assembler.write_back(episodes, self.ext_rewards)

    def compute_advantages(self) -> None:
        """GAE for the extrinsic (and intrinsic) value heads; sets advantages and returns."""
        c, dev = self.config, self.device
        valid = torch.as_tensor(self.valid)
        terminated = torch.as_tensor(self.terminated)
        ends = terminated | torch.as_tensor(self.truncated)
        ext = torch.from_numpy(self.ext_rewards.copy())
        if self.ext_rms is not None:
            ext = discounted_return_scale(ext, self._ext_return, self.ext_rms, c.gamma, ends, valid)
        with torch.inference_mode():
            last_value = self.policy.value(
                self._normalize(torch.as_tensor(self._next_obs, device=dev))
            )
        next_values = torch.cat([self.values[1:], last_value[None]])
        for t, (rows, v) in self._final_values.items():  # SAME_STEP truncations
            next_values[t, torch.as_tensor(rows, device=dev), 0] = v[:, 0]

        valid_d, terminated_d, ends_d = valid.to(dev), terminated.to(dev), ends.to(dev)
        adv = gae(
            ext.to(dev), self.values[..., 0], next_values[..., 0], terminated_d, ends_d,
            c.gamma, c.gae_lambda,
        )  # fmt: skip
        returns = [adv + self.values[..., 0]]
        advantages = c.ext_coef * adv if self.intrinsic else adv
        if self.intrinsic:
            intr = torch.from_numpy(self.int_rewards.copy())
            if c.normalize_intrinsic:
                intr = discounted_return_scale(
                    intr, self._int_return, self.int_rms, c.int_gamma, None, valid
                )
            never = torch.zeros_like(terminated_d)  # non-episodic: no terminal, no cut
            # The stream runs across episode ends into the next episode's first observation, as
            # under SAME_STEP (where next_values[..., 1] is V_int of the reset observation).
            # NEXT_STEP puts a dummy step in between: it is transparent (valid_d), and the real
            # step before it bootstraps from the dummy's next observation, the reset one. (A
            # dummy that falls into the next rollout leaves V_int of the final observation.)
            nv_int = next_values[..., 1]
            if not bool(valid_d.all()):
                nv_int = nv_int.clone()
                nv_int[:-1] = torch.where(valid_d[1:], nv_int[:-1], next_values[1:, ..., 1])
            adv_int = gae(
                intr.to(dev), self.values[..., 1], nv_int, never, never,
                c.int_gamma, c.gae_lambda, valid_d,
            )  # fmt: skip
            returns.append(adv_int + self.values[..., 1])
            advantages = advantages + c.int_coef * adv_int
        self.advantages = advantages
        self.returns = torch.stack(returns, dim=-1)
        self.valid_device = valid_d

    # -- 3. update -----------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        """Clipped-surrogate PPO epochs over minibatches of the rollout's real transitions."""
        c = self.config
        flat = self.valid_device.flatten()
        # Dummy reset steps are not transitions: they never enter a minibatch.
        idx = None if bool(flat.all()) else flat.nonzero().squeeze(-1)
        data = [
            self.obs.flatten(0, 1),
            self.actions.flatten(0, 1),
            self.logprobs.flatten(),
            self.advantages.flatten(),
            self.returns.flatten(0, 1),
            self.values.flatten(0, 1),
        ]
        if idx is not None:
            data = [x[idx] for x in data]
        n = data[0].shape[0]
        m = min(c.num_minibatches, n)
        stats = torch.zeros(5, device=self.device)
        epochs = 0
        heads = self.values.shape[-1]
        use_entropy = c.ent_coef != 0.0
        for _epoch in range(c.update_epochs):
            # One gather per epoch; minibatches are then contiguous slices.
            perm = torch.randperm(n, generator=self.generator, device=self.device)
            obs, actions, old_logp, advantages, returns, old_values = (x[perm] for x in data)
            if c.norm_adv:
                advantages = _normalize_per_minibatch(advantages, m)
            neg_adv = -advantages
            for mb in _minibatch_slices(n, m):
                logp, entropy, value = self.policy.evaluate(
                    self._normalize(obs[mb]), actions[mb], with_entropy=use_entropy
                )
                logratio = logp - old_logp[mb]
                ratio = logratio.exp()
                # Clipped surrogate objective (Schulman et al. 2017, eq. 7).
                low, high = 1 - c.clip_coef, 1 + c.clip_coef
                pg_loss = torch.max(
                    neg_adv[mb] * ratio, neg_adv[mb] * ratio.clamp(low, high)
                ).mean()
                # Value loss: 0.5 * squared error, summed over the value heads, optionally
                # clipped around the values the rollout saw.
                if c.clip_vloss:
                    v_old = old_values[mb]
                    v_clip = v_old + (value - v_old).clamp(-c.clip_coef, c.clip_coef)
                    v_err = torch.max((value - returns[mb]).pow(2), (v_clip - returns[mb]).pow(2))
                    v_mse = v_err.mean()
                else:
                    v_mse = F.mse_loss(value, returns[mb])
                # loss = pg_loss + vf_coef * v_loss, with v_loss = 0.5 * heads * v_mse
                loss = torch.add(pg_loss, v_mse, alpha=c.vf_coef * 0.5 * heads)
                if use_entropy:  # an entropy bonus; skipped from the graph when its weight is 0
                    loss = loss - c.ent_coef * entropy.mean()

                self.flat_params.grad.zero_()
                loss.backward()
                self.flat_params.grad.mul_(self._grad_mask)
                _clip_grad_norm(self.flat_params.grad, c.max_grad_norm)
                _adam_step(self.optimizer, self.flat_params)
            # Diagnostics of the epoch's last minibatch (as CleanRL logs them).
            with torch.no_grad():
                if not use_entropy:
                    entropy = self.policy.evaluate(self._normalize(obs[mb]), actions[mb])[1]
                approx_kl = ((ratio - 1) - logratio).mean()  # Schulman's k3 estimator
                clipfrac = ((ratio - 1).abs() > c.clip_coef).float().mean()
                v_loss = v_mse * (0.5 * heads)
                stats += torch.stack([pg_loss, v_loss, entropy.mean(), approx_kl, clipfrac])
                epochs += 1
            if c.target_kl is not None and float(approx_kl) > c.target_kl:
                break
        s = (stats / max(epochs, 1)).tolist()
        y, v = data[4][:, 0], data[5][:, 0]
        var_y = float(y.var()) if n > 1 else 0.0
        explained = 1.0 - float((y - v).var()) / var_y if var_y > 0 else float("nan")
        return {
            "loss/policy": s[0],
            "loss/value": s[1],
            "loss/entropy": s[2],
            "loss/approx_kl": s[3],
            "loss/clipfrac": s[4],
            "loss/explained_variance": explained,
        }

    # -- the loop ------------------------------------------------------------------------------
    def learn(
        self,
        total_timesteps: int | None = None,
        *,
        max_iterations: int | None = None,
        callback: Callable[[PPO, dict[str, float]], bool | None] | None = None,
        progress_bar: bool = False,
    ) -> PPO:
        """Train until ``total_timesteps`` env steps (default ``config.total_timesteps``).

        Args:
            total_timesteps: overrides the config's budget (the learning-rate schedule too).
            max_iterations: stop after this many more iterations (to checkpoint mid-run).
            callback: called after each iteration with (agent, stats); return False to stop.
            progress_bar: show a tqdm bar.
        """
        c = self.config
        if total_timesteps is not None:
            self.config = c = dataclasses.replace(c, total_timesteps=int(total_timesteps))
        if self._next_obs is None:
            self._reset_envs()
        if c.log_dir is not None and self.logger is None:
            self.logger = RunLogger(
                c.log_dir,
                [f"term/{n}" for n in (self.pipeline.names if self.pipeline else [])],
                tensorboard=c.tensorboard,
                resume_step=self.global_step if self.iteration else None,
            )
        bar = _progress(progress_bar, c.num_iterations * c.batch_size, self.global_step)
        stop_at = c.num_iterations
        if max_iterations is not None:
            stop_at = min(stop_at, self.iteration + int(max_iterations))
        try:
            while self.iteration < stop_at:
                start = time.perf_counter()
                if c.anneal_lr:
                    frac = 1.0 - self.iteration / c.num_iterations
                    self.optimizer.param_groups[0]["lr"] = frac * c.learning_rate
                self.collect_rollout()
                self.relabel()
                self.compute_advantages()
                stats = self.update()
                stats.update(self._update_terms())
                self._update_obs_stats()
                self.iteration += 1
                stats["time/sps"] = c.batch_size / (time.perf_counter() - start)
                stats.update(self.episodes.recent())
                self.last_stats = stats
                self._log(stats)
                if bar is not None:
                    bar.update(c.batch_size)
                    bar.set_postfix(
                        ret=f"{stats['episode/return_mean']:.3g}", sps=f"{stats['time/sps']:.0f}"
                    )
                if (
                    c.log_dir is not None
                    and c.checkpoint_every
                    and self.iteration % c.checkpoint_every == 0
                ):
                    self.save(os.path.join(c.log_dir, "checkpoint.pt"))
                if callback is not None and callback(self, stats) is False:
                    break
        finally:
            if bar is not None:
                bar.close()
            if self.logger is not None:
                self.logger.flush()
        return self

    def _update_terms(self) -> dict[str, float]:
        """Learned reward terms learn from this rollout (on the agent's device)."""
        if not self.learned_terms:
            return {}
        return {f"term/{k}": float(v) for k, v in self.pipeline.update(self.rollout()).items()}

    def rollout(self) -> Rollout:
        """The current rollout as learned terms receive it (true next observations included)."""
        dev = self.device
        # In the storage dtype of obs: float64 envs (MuJoCo) would otherwise promote next_obs to
        # float64 while obs stays float32, and a network fed both would fail on one of them.
        dt = self.obs.dtype
        next_obs = torch.cat(
            [self.obs[1:], torch.as_tensor(self._next_obs, device=dev, dtype=dt)[None]]
        ).clone()
        for t, (rows, final) in self._final_obs.items():  # SAME_STEP: the true final obs
            next_obs[t, torch.as_tensor(rows, device=dev)] = torch.as_tensor(
                final, device=dev, dtype=dt
            )
        return Rollout(
            obs=self.obs,
            actions=self._env_actions(self.actions),
            next_obs=next_obs,
            rewards=torch.as_tensor(self.ext_rewards, device=dev),
            intrinsic_rewards=torch.as_tensor(self.int_rewards, device=dev)
            if self.intrinsic
            else None,
            terminated=torch.as_tensor(self.terminated, device=dev),
            truncated=torch.as_tensor(self.truncated, device=dev),
            valid=self.valid_device,
        )

    def _env_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Stored actions as the env takes them (what reward terms and hooks see): Discrete
        indices plus the action space's ``start``."""
        return actions + self._act_start if self._act_start else actions

    def _update_obs_stats(self) -> None:
        # After the update, so that rollout and update saw the same normalisation.
        if self.obs_rms is None:
            return
        self.obs_rms.update(self.obs[self.valid_device])
        self._freeze_obs_stats()

    def _freeze_obs_stats(self) -> None:
        """The float32 mean and std that normalise observations until the next update."""
        self._obs_mean_std = (
            self.obs_rms.mean.float(),
            torch.sqrt(self.obs_rms.var + 1e-8).float(),
        )

    def _log(self, stats: dict[str, float]) -> None:
        if self.logger is None:
            self.episodes.pop_finished()
            return
        self.logger.log_episodes(self.episodes.pop_finished())
        self.logger.log_iteration(self.global_step, stats)

    # -- using the policy ----------------------------------------------------------------------
    def predict(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """Actions (NumPy) for a batch of observations, as the env takes them (``start`` added
        for a ``Discrete(n, start)`` action space); greedy unless ``deterministic=False``."""
        x = self._normalize(torch.as_tensor(np.asarray(obs), device=self.device))
        with torch.inference_mode():
            if deterministic:
                a = self.policy.greedy(x)
            else:
                a = self.policy.act(x, self.policy.sample_noise(x.shape[:1], self.generator))[0]
        a = a.cpu().numpy()
        if self.continuous:
            return np.clip(a, self._act_low, self._act_high)
        return a + self._act_start  # as the env takes them (Discrete(n, start=s))

    def evaluate(
        self, num_episodes: int = 10, seed: int = 10_000, envs: VectorEnv | None = None
    ) -> EvalResult:
        """Greedy-policy episodes on ``envs``, or on fresh, unshaped copies of the training env:
        made from the config when the agent made its envs, else copied from the envs it was
        given (:func:`~rewardshaping.agents.evaluation.fresh_env_copy`; a ValueError when they
        cannot be copied faithfully: pass ``envs`` then)."""
        from_config = self.config if self._envs_from_config else None
        return evaluate_agent(self.predict, self.envs, num_episodes, seed, from_config, envs)


def _np_normalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray, clip: float) -> np.ndarray:
    """NumPy twin of :meth:`PPO._normalize`."""
    return np.clip((x - mean) / std, -clip, clip).astype(np.float32, copy=False)


def _clip_grad_norm(grad: torch.Tensor, max_norm: float) -> None:
    """Scale the (flat) gradient to norm <= max_norm, as ``clip_grad_norm_`` does, in 4 ops."""
    # torch.linalg.vector_norm, not Tensor.norm: the latter goes through a Python wrapper.
    grad.mul_((max_norm / (torch.linalg.vector_norm(grad) + 1e-6)).clamp_(max=1.0))


def _adam_step(optimizer: torch.optim.Optimizer, flat: torch.Tensor) -> None:
    """``optimizer.step()`` for the fused Adam over PPO's one flat parameter, minus the
    Python around the kernel.

    With a network this small, ``Optimizer.step``'s wrapper (profiler hooks, grouping of
    tensors by device and dtype, argument checks) costs about three times the fused kernel
    itself: 0.17 ms of a 0.9 ms minibatch step on CartPole. Once the state exists this makes
    the same two calls ``torch.optim.adam._fused_adam`` makes, with the same arguments, so the
    results are bit-identical (tested); anything else (first step, non-fused, AMSGrad, a
    restarted state) goes through ``optimizer.step()``.
    """
    group = optimizer.param_groups[0]
    state = optimizer.state.get(flat)
    simple = (
        len(optimizer.param_groups) == 1
        and group.get("fused")
        and not group["amsgrad"]
        and not group["maximize"]
        and not group.get("decoupled_weight_decay", False)
        and not isinstance(group["lr"], torch.Tensor)
        and state
    )
    if not simple:
        optimizer.step()
        return
    beta1, beta2 = group["betas"]
    step = state["step"]
    torch._foreach_add_([step], 1)
    torch._fused_adam_(
        [flat], [flat.grad], [state["exp_avg"]], [state["exp_avg_sq"]], [], [step],
        amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2,
        weight_decay=group["weight_decay"], eps=group["eps"], maximize=False,
        grad_scale=None, found_inf=None,
    )  # fmt: skip


def _minibatch_slices(n: int, m: int) -> list[slice]:
    """``m`` contiguous slices covering ``range(n)``, sizes differing by at most one."""
    bounds = [round(k * n / m) for k in range(m + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _normalize_per_minibatch(adv: torch.Tensor, m: int) -> torch.Tensor:
    """Advantages standardised within each of the ``m`` minibatch slices (all at once when the
    slices have equal sizes)."""
    n = adv.shape[0]
    if n % m == 0:
        rows = adv.view(m, n // m)
        if rows.shape[1] < 2:
            return adv
        return ((rows - rows.mean(1, keepdim=True)) / (rows.std(1, keepdim=True) + 1e-8)).view(-1)
    out = adv.clone()
    for sl in _minibatch_slices(n, m):
        a = adv[sl]
        if a.numel() > 1:
            out[sl] = (a - a.mean()) / (a.std() + 1e-8)
    return out


def _normalizable_obs(space: spaces.Space, normalize_obs: bool) -> bool:
    """Whether ``normalize_obs`` applies to observations of ``space``.

    Not to Discrete ones: the policy one-hot encodes the state index, and z-scored indices
    would be truncated back to (fewer, possibly negative) indices, merging states.
    """
    if not normalize_obs:
        return False
    if isinstance(space, spaces.Discrete):
        warnings.warn(
            f"normalize_obs=True is ignored for Discrete observations ({space}): they are "
            "one-hot encoded state indices, which have no scale to normalise",
            UserWarning,
            stacklevel=3,  # the code that built the agent
        )
        return False
    return True


def _torch_dtype(space: spaces.Space) -> torch.dtype:
    if isinstance(space, spaces.Discrete):
        return torch.long
    return {
        np.dtype(np.uint8): torch.uint8,
        np.dtype(np.float64): torch.float32,
        np.dtype(np.int64): torch.long,
        np.dtype(np.int32): torch.int32,
    }.get(np.dtype(space.dtype), torch.float32)


def _fast_adam(device: torch.device) -> dict[str, Any]:
    # The fused kernel saves most of Adam's per-parameter overhead on small networks.
    if device.type in ("cpu", "cuda"):
        return {"fused": True}
    return {}


def _progress(enabled: bool, total: int, initial: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True)

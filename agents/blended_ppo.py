"""PPO that learns how to blend designer heuristics with the primary reward (Gupta et al. 2023,
"Behavior Alignment via Reward Function Optimization"), by a one-step meta-gradient.

:class:`BlendedPPO` is :class:`~rewardshaping.agents.ppo.PPO` plus four steps per iteration:

1. **Heuristics are reported, not paid.** They run as ordinary reward terms in the same
   :class:`~rewardshaping.wrappers.ShapedVectorEnv` as any other terms (so their outputs are
   validated, zeroed on dummy autoreset steps and summed per episode), under a
   :class:`~rewardshaping.shaping.blending.Withheld` composer: PPO's reward, its extrinsic value
   head and ``A_p`` see the primary reward only; a thin recorder keeps each step's heuristic
   values ``h_k`` (T, N, K).
2. **One advantage stream per heuristic**: a separate critic with K outputs (the policy's
   encoder and hidden sizes) values each ``h_k``; GAE with the agent's gamma and lambda and
   the same episode boundaries gives ``A_k``.
3. **Meta step** on the rollout policy (before PPO's update): the alignments
   ``c_i = <g_p, grad log pi(a_i|s_i)>`` (one backward + one forward-mode pass per half of the
   envs, cross-fitted), the norms ``||g_k||`` (one backward per heuristic), then one SGD step on
   the weights' parameters along ``sum_i sum_k c_i A_k,i grad w_k(s_i) / ||g_k||``: for scalar
   weights, ``meta_lr * <g_p, g_k / ||g_k||>`` times the sigmoid's slope. Rollouts without any
   primary reward skip this step (no evidence). See
   :mod:`rewardshaping.shaping.blending` for the derivation and what the approximation ignores.
4. **PPO's update** with ``A = A_p + sum_k w_k(s) A_k`` (the intrinsic stream, if any, is added
   as in PPO), then the heuristic critic regresses its GAE returns (same epochs, minibatches and
   learning rate as PPO).

Measured cost on KeyDoor (``experiments/pbrs_blend.md``): see the wall times there (blend arms
vs plain PPO arms in the same run).

With ``BlendConfig(learn_weights=False)`` the weights stay at ``w_init``: the naive blend with
separate critics, an ablation.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium.vector import VectorEnv, VectorWrapper
from torch import nn
from torch.nn import functional as F

from rewardshaping.agents.checkpoint import load_checkpoint
from rewardshaping.agents.networks import ActorCritic, QNetwork, as_float_input, flat_obs_dim
from rewardshaping.agents.ppo import PPO, PPOConfig, _minibatch_slices
from rewardshaping.agents.rollout import RolloutHook, gae
from rewardshaping.agents.vector_envs import find_shaped, make_vector_env
from rewardshaping.shaping.blending import (
    BlendWeights,
    Withheld,
    alignment_scores,
    blend_surrogate,
    gradient_norm,
)
from rewardshaping.terms import FunctionTerm, RewardTerm
from rewardshaping.wrappers import ShapedVectorEnv

__all__ = ["BlendedPPO", "BlendConfig", "HeuristicRecorder"]


#: Seed offset of the fresh weights a policy restart draws (see BlendedPPO._reset_policy).
RESTART_SEED_OFFSET = 7919


@dataclass
class BlendConfig:
    """Hyperparameters of the learned blend (see :class:`BlendedPPO`).

    Attributes:
        w_init: initial weight of each heuristic (a number or one per heuristic).
        w_max: upper bound of the weights (sigmoid parametrisation, ``w in (0, w_max)``).
        state_dependent: learn ``w_k(s)`` with a head on the (normalised, flattened)
            observation instead of one scalar per heuristic.
        head_hidden: hidden sizes of that head (``()``: linear).
        meta_lr: SGD step size of the meta-gradient (in units of the primary return; see
            :mod:`rewardshaping.shaping.blending`).
        cross_fit: score each half of the envs with the primary gradient of the other half
            (removes the same-sample bias; needs ``num_envs >= 2``).
        learn_weights: False keeps the weights at ``w_init`` (ablation).
        require_primary_reward: skip the meta step on rollouts whose primary reward is zero
            everywhere (no evidence; see :meth:`BlendedPPO.compute_advantages`).
        no_evidence_decay: after such a rollout, lower every heuristic's weight logit by this
            much (0: off). Heuristics must then earn their weight: a heuristic that stops the
            agent from ever collecting primary reward fades until the agent explores unshaped
            and the meta-gradient, fed again, can judge it. It also costs a good heuristic
            weight while the primary reward is still unseen. Without a ``fade_floor`` the
            fading has no bound: the meta-gradient of a logit scales with ``w (1 - w/w_max)``,
            so a weight faded far (about 1e-6 of ``w_max`` after 70 such rollouts at decay
            0.2) is in effect off for good, and in float32 it reaches exactly 0.
        fade_floor: the decay stops at this weight, as a fraction of ``w_max`` (0: no floor,
            the default, which the recorded runs of ``experiments/pbrs_blend.md`` used). At
            0.01 a faded heuristic keeps 1% of its range and a meta step can still raise it.
        relative_scale: with PPO's advantage normalisation (``norm_adv``), rescale each
            heuristic's advantages to the spread of PPO's own advantages before weighting
            (see :meth:`BlendedPPO._relative`); False weighs raw advantages.
        reset_policy_below: when every heuristic's weight has faded below this (0: off) after
            a rollout without primary reward, restart the policy network from its initial
            parameters, once (see :meth:`BlendedPPO._reset_policy`). Fading a misleading heuristic's weight
            does not undo what it taught; a policy that learned to avoid the goal collects no
            primary reward and PPO has nothing to move it with (resets against such primacy
            effects: Nikishin et al. 2022).

    Example:
        >>> BlendConfig(w_init=0.5, w_max=1.0).meta_lr
        100.0
    """

    w_init: float | tuple[float, ...] = 0.5
    w_max: float = 2.0
    state_dependent: bool = False
    head_hidden: tuple[int, ...] = ()
    meta_lr: float = 100.0
    cross_fit: bool = True
    learn_weights: bool = True
    require_primary_reward: bool = True
    no_evidence_decay: float = 0.0
    fade_floor: float = 0.0
    reset_policy_below: float = 0.0
    relative_scale: bool = True

    def __post_init__(self) -> None:
        if not self.meta_lr >= 0:
            raise ValueError(f"BlendConfig.meta_lr must be >= 0, got {self.meta_lr}")
        if not self.no_evidence_decay >= 0:
            raise ValueError(
                f"BlendConfig.no_evidence_decay must be >= 0, got {self.no_evidence_decay}"
            )
        if not 0.0 <= self.fade_floor < 1.0:
            raise ValueError(f"BlendConfig.fade_floor must be in [0, 1), got {self.fade_floor}")
        if isinstance(self.w_init, list):
            self.w_init = tuple(self.w_init)
        self.head_hidden = tuple(int(h) for h in self.head_hidden)


class HeuristicRecorder(VectorWrapper):
    """Keeps each step's ``info["reward_terms"]`` values of the named terms, for the agent.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> from rewardshaping import ShapedVectorEnv, StepPenalty
        >>> envs = ShapedVectorEnv(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync"),
        ...                        StepPenalty(-0.5))
        >>> rec = HeuristicRecorder(envs, ["step_penalty"])
        >>> _ = rec.reset(seed=0)
        >>> _ = rec.step(np.zeros(2, int)); _ = rec.step(np.zeros(2, int))
        >>> rec.take().shape   # (steps, envs, heuristics)
        (2, 2, 1)
    """

    # It only records rewards: evaluation on a fresh copy of the envs may leave it out
    # (agents.evaluation.fresh_env_copy).
    reward_only = True

    def __init__(self, env: VectorEnv, names: Sequence[str]) -> None:
        super().__init__(env)
        self.names = list(names)
        self._steps: list[np.ndarray] = []

    def reset(self, **kwargs: Any):
        self._steps = []
        return self.env.reset(**kwargs)

    def step(self, actions: Any):
        out = self.env.step(actions)
        terms = out[4].get("reward_terms")
        if terms is None:
            raise RuntimeError("HeuristicRecorder must wrap a ShapedVectorEnv (no reward_terms)")
        self._steps.append(np.stack([terms[n] for n in self.names], axis=-1))
        return out

    def take(self) -> np.ndarray:
        """The recorded values (steps, N, K) since the last call, float32."""
        n, k = self.num_envs, len(self.names)
        out = np.stack(self._steps) if self._steps else np.zeros((0, n, k), np.float32)
        self._steps = []
        return out.astype(np.float32, copy=False)


class _LogProb(nn.Module):
    """log pi(a|s) of a policy as a module's forward, for torch.func.functional_call."""

    def __init__(self, policy: nn.Module) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        # with_entropy=True takes the log_softmax + gather path, which has forward-mode AD.
        return self.policy.evaluate(obs, actions, with_entropy=True)[0]


def _as_heuristics(heuristics: Any) -> list[RewardTerm]:
    if isinstance(heuristics, (RewardTerm,)) or callable(heuristics):
        heuristics = [heuristics]
    if isinstance(heuristics, Mapping):
        out = []
        for name, h in heuristics.items():
            h = h if isinstance(h, RewardTerm) else FunctionTerm(h)
            h.name = str(name)
            out.append(h)
    else:
        out = [h if isinstance(h, RewardTerm) else FunctionTerm(h) for h in heuristics]
    if not out:
        raise ValueError("BlendedPPO needs at least one heuristic")
    for h in out:
        if h.intrinsic:
            raise ValueError(
                f"heuristic {h.name!r} is intrinsic; BlendedPPO weighs heuristics as part of the "
                "extrinsic reward: pass intrinsic bonuses as terms=..., not heuristics=..."
            )
    return out


def _merged_weights(weight: Any, user: list[str], heuristics: list[str]) -> dict[str, Any]:
    if isinstance(weight, Mapping):
        out = dict(weight)
    elif isinstance(weight, (list, tuple)):
        if len(weight) != len(user):
            raise ValueError(f"{len(weight)} weights for {len(user)} terms {user}")
        out = dict(zip(user, weight, strict=True))
    else:
        out = {n: weight for n in user}
    clash = sorted(set(out) & set(heuristics))
    if clash:
        raise ValueError(f"heuristics {clash} are weighted by the blend; give them no weight")
    out.update({n: 1.0 for n in heuristics})  # raw values; the agent applies w_k(s)
    return out


class BlendedPPO(PPO):
    """PPO with designer heuristics blended in by learned weights (see the module docstring).

    Args:
        config: PPO's hyperparameters (keyword ``overrides`` replace single fields).
        envs: a vector env (not already shaped); made from ``config.env_id`` when None.
        heuristics: the heuristic terms ``h_k`` (RewardTerms or functions of a batch; a dict
            name -> term names them); not intrinsic.
        blend: the blend's hyperparameters (:class:`BlendConfig`).
        terms, weight: other reward terms, paid as in PPO (e.g. an intrinsic bonus).
        hooks: relabelling hooks, as in PPO.

    Example:
        >>> import numpy as np
        >>> right = lambda b: (b.action == 0).astype(np.float32)   # "moving right is good"
        >>> agent = BlendedPPO(PPOConfig(env_id="rewardshaping/KeyDoor-Easy-v0", num_envs=4,
        ...                              num_steps=16, total_timesteps=128, device="cpu"),
        ...                    heuristics={"right": right}, blend=BlendConfig(w_init=0.5, w_max=1.0))
        >>> _ = agent.learn()
        >>> sorted(agent.heuristic_weights()), agent.iteration
        (['right'], 2)
    """

    def __init__(
        self,
        config: PPOConfig | None = None,
        envs: VectorEnv | None = None,
        *,
        heuristics: Any,
        blend: BlendConfig | None = None,
        terms: RewardTerm | Sequence[RewardTerm] | None = None,
        weight: Any = 1.0,
        hooks: Sequence[RolloutHook] = (),
        **overrides: Any,
    ) -> None:
        c = dataclasses.replace(config or PPOConfig(), **overrides)
        c.validate()
        self.blend_config = b = blend or BlendConfig()
        heur = _as_heuristics(heuristics)
        self.heuristic_names = names = [h.name for h in heur]
        user = [] if terms is None else ([terms] if isinstance(terms, RewardTerm) else list(terms))
        if envs is None:
            envs = make_vector_env(
                c.env_id, c.num_envs, vectorization=c.vectorization, env_kwargs=c.env_kwargs,
                autoreset_mode=c.autoreset_mode,
            )  # fmt: skip
        elif find_shaped(envs) is not None:
            raise ValueError(
                "BlendedPPO shapes the env itself: pass an unshaped vector env and give the "
                "reward terms as terms=... (paid) and heuristics=... (blended)"
            )
        shaped = ShapedVectorEnv(
            envs,
            [*user, *heur],
            weight=_merged_weights(weight, [t.name for t in user], names),
            composer=Withheld(names),
        )
        self.recorder = HeuristicRecorder(shaped, names)
        super().__init__(c, self.recorder, hooks=hooks)
        c, dev = self.config, self.device
        with torch.random.fork_rng(devices=[]):  # seeded, global RNG untouched
            torch.manual_seed(c.seed + 1)
            self.heuristic_critic = QNetwork(  # K outputs: one value per heuristic
                self.obs_space, len(names), c.hidden_sizes, c.encoder, c.activation
            ).to(dev)
            # Values start at 0: an untrained critic's TD errors would otherwise enter the
            # blended advantage (a zero heuristic must leave PPO's update unchanged).
            last = self.heuristic_critic.head.layers[-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.blend_weights = BlendWeights(
                names, b.w_init, b.w_max,
                obs_dim=flat_obs_dim(self.obs_space) if b.state_dependent else None,
                hidden=b.head_hidden, device=dev,
            )  # fmt: skip
        self.critic_optimizer = torch.optim.Adam(
            self.heuristic_critic.parameters(), lr=c.learning_rate, eps=1e-5
        )
        self.meta_optimizer = torch.optim.SGD(self.blend_weights.parameters(), lr=b.meta_lr)
        self._logp_module = _LogProb(self.policy)
        masks = {id(w): m for w, m in self.policy.towers.grad_masks}
        self._policy_params = [p for p in self.policy.parameters()]
        self._param_names = [f"policy.{n}" for n, _ in self.policy.named_parameters()]
        self._param_masks = [masks.get(id(p)) for p in self._policy_params]
        self._blend_stats: dict[str, float] = {}
        self.policy_was_reset = False

    def _reset_policy(self) -> None:
        """Restart the policy network (actor and critic) from a fresh initialisation, with a
        fresh optimiser state; observation statistics, heuristic critic and blend are kept.

        Restoring the actor alone is not enough: PPO's critic, fit to the rollouts the
        heuristic steered, still differs from zero elsewhere, and normalised advantages turn
        its residual into a consistent push (measured: the restored actor collapsed again
        without a single primary reward). Adam restarts too, so old momentum cannot steer.
        The new weights are drawn with another seed (``seed + RESTART_SEED_OFFSET``) than the
        first ones: a seed whose initial critic steered the agent away from the goal would
        otherwise replay that start (measured on KeyDoor: 3 of 5 seeds recovered with fresh
        weights, 2 of 5 with the initial ones).
        """
        c = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed + RESTART_SEED_OFFSET)
            fresh = ActorCritic(
                self.obs_space, self.action_space, c.hidden_sizes, c.encoder,
                self.policy.num_value_heads, c.activation,
            )  # fmt: skip
        flat = torch.cat([p.detach().flatten() for p in fresh.parameters()])
        with torch.no_grad():
            self.flat_params.copy_(flat.to(self.flat_params.device))
        self.optimizer.state.pop(self.flat_params, None)  # re-initialised on the next step
        self.policy_was_reset = True

    # -- what the agent learns -----------------------------------------------------------------
    def heuristic_weights(self) -> dict[str, float]:
        """name -> current weight (for state-dependent weights: the scalar part, w at head 0)."""
        return self.blend_weights.scalar_weights()

    # -- rollout and advantages ----------------------------------------------------------------
    def collect_rollout(self) -> None:
        """PPO's rollout; also takes the recorded heuristic values (T, N, K)."""
        self.recorder.take()  # drop anything recorded outside a rollout (e.g. user steps)
        super().collect_rollout()
        h = self.recorder.take()
        expected = (self.config.num_steps, self.config.num_envs, len(self.heuristic_names))
        if h.shape != expected:
            raise RuntimeError(f"recorded heuristic values {h.shape}, expected {expected}")
        self.heuristic_rewards = torch.as_tensor(h, device=self.device)

    def compute_advantages(self) -> None:
        """PPO's advantages, then ``A_k`` per heuristic, the meta step, and the blend."""
        super().compute_advantages()
        c = self.config
        t_max, n, k = self.heuristic_rewards.shape
        ro = self.rollout()
        with torch.no_grad():
            v = self.heuristic_critic(self._normalize(self.obs.flatten(0, 1))).view(t_max, n, k)
            nv = self.heuristic_critic(self._normalize(ro.next_obs.flatten(0, 1))).view(t_max, n, k)
        ends = ro.terminated | ro.truncated
        adv_h = torch.stack(
            [
                gae(
                    self.heuristic_rewards[..., j],
                    v[..., j],
                    nv[..., j],
                    ro.terminated,
                    ends,
                    c.gamma,
                    c.gae_lambda,
                )  # fmt: skip
                for j in range(k)
            ],
            dim=-1,
        )
        self.heuristic_adv = adv_h
        self.heuristic_returns = adv_h + v
        primary_adv = self.returns[..., 0] - self.values[..., 0]
        # A rollout without any primary reward carries no evidence about the blend: its A_p is
        # the TD error of a critic that has never seen a reward (sparse tasks), whose chance
        # correlation with a heuristic would otherwise move the weights.
        evidence = not self.blend_config.require_primary_reward or bool(
            (torch.as_tensor(self.ext_rewards)[torch.as_tensor(self.valid)] != 0).any()
        )
        self._blend_stats = {"blend/meta_step": float(evidence)}
        bc = self.blend_config
        if bc.learn_weights and bc.meta_lr > 0 and evidence:
            self._blend_stats.update(self.meta_step(primary_adv, adv_h))
        elif bc.learn_weights and bc.no_evidence_decay > 0 and not evidence:
            with torch.no_grad():
                logit = self.blend_weights.logit
                decayed = logit - bc.no_evidence_decay
                if bc.fade_floor > 0:  # w = w_max * sigmoid(logit) >= fade_floor * w_max
                    # The decay stops at the floor; a weight already below it stays where it
                    # is (clamping would raise it).
                    floor = torch.full_like(logit, math.log(bc.fade_floor / (1 - bc.fade_floor)))
                    decayed = torch.maximum(decayed, torch.minimum(logit, floor))
                logit.copy_(decayed)
            faded = max(self.heuristic_weights().values()) < bc.reset_policy_below
            if faded and not self.policy_was_reset:
                self._reset_policy()
        self._blend_stats["blend/policy_reset"] = float(self.policy_was_reset)
        with torch.no_grad():
            w = self._weights(self._normalize(self.obs.flatten(0, 1))).view(t_max, n, k)
        valid = self.valid_device
        self.advantages = self.advantages + (w * self._relative(adv_h, valid)).sum(-1)
        for j, name in enumerate(self.heuristic_names):
            self._blend_stats[f"blend/w_{name}"] = float(w[..., j][valid].mean())

    def _weights(self, obs: torch.Tensor) -> torch.Tensor:
        """``w(s)`` (B, K) of normalised observations; state-dependent heads read them as the
        policy does (Discrete observations one-hot: the head's width is ``n``)."""
        return self.blend_weights(as_float_input(obs, self.obs_space))

    def _relative(self, adv_h: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The heuristics' advantages as PPO will weigh them against its own.

        PPO normalises the blended advantage per minibatch. On raw scales a heuristic whose
        advantages dwarf the primary ones (every rollout before the first success) would then
        be paid at full strength whatever its weight. With ``relative_scale`` each ``A_k`` is
        rescaled to the spread of PPO's own advantage first, so ``w_k`` is the heuristic's
        strength in units of the primary signal and a faded weight means a faded influence.
        """
        if not (self.blend_config.relative_scale and self.config.norm_adv) or valid.sum() < 2:
            return adv_h
        own, spread = self.advantages[valid].std(), adv_h[valid].std(dim=0)
        factor = torch.where(spread > 0, own / spread.clamp_min(1e-12), torch.zeros_like(spread))
        return adv_h * factor

    def meta_step(self, primary_adv: torch.Tensor, heuristic_adv: torch.Tensor) -> dict[str, float]:
        """One normalised meta-gradient step on the blend weights from this rollout.

        Args:
            primary_adv: (T, N) advantages of the primary (extrinsic) reward.
            heuristic_adv: (T, N, K) advantages of the heuristics.

        Returns:
            ``blend/proj_<name>``: ``<g_p, g_k / ||g_k||>`` (the step direction before the
            sigmoid's slope) and ``blend/cos_<name>``: that divided by ``||g_p||``, the cosine of
            the primary and heuristic policy gradients (exact without cross-fitting).
        """
        n = self.config.num_envs
        idx = self.valid_device.flatten().nonzero().squeeze(-1)
        obs = self._normalize(self.obs.flatten(0, 1)[idx])
        actions = self.actions.flatten(0, 1)[idx]
        a_p = primary_adv.flatten()[idx]
        a_h = heuristic_adv.flatten(0, 1)[idx]
        groups = None
        if self.blend_config.cross_fit and n >= 2:
            groups = (idx % n >= n // 2).long()  # flat index = t * N + env
            if not (bool((groups == 0).any()) and bool((groups == 1).any())):
                groups = None
        names, module = self._param_names, self._logp_module

        def logp_fn(ps: tuple[torch.Tensor, ...]) -> torch.Tensor:
            return torch.func.functional_call(
                module, dict(zip(names, ps, strict=True)), (obs, actions)
            )

        params = self._policy_params
        c, norm_p = alignment_scores(logp_fn, params, a_p, groups, self._param_masks)
        norm_h = gradient_norm(logp_fn(tuple(params)), params, a_h, self._param_masks)
        # Divide by ||g_k|| (the heuristic's scale is the designer's arbitrary choice), not by
        # ||g_p||: the primary gradient's size is the evidence. Without primary reward in the
        # rollout (sparse tasks) g_p is critic noise, and a cosine would turn it into full steps.
        scale = norm_h[None, :] + 1e-12
        w = self._weights(obs)
        objective = blend_surrogate(w, c, a_h, scale)
        self.meta_optimizer.zero_grad()
        (-objective).backward()
        self.meta_optimizer.step()
        proj = ((c[:, None] * a_h.detach()) / scale).mean(0)  # <g_p, g_k / ||g_k||>
        cos = proj / (norm_p.mean() + 1e-12)
        stats = {}
        for m, p, q in zip(self.heuristic_names, proj.tolist(), cos.tolist(), strict=True):
            stats[f"blend/proj_{m}"] = p
            stats[f"blend/cos_{m}"] = q
        return stats

    # -- update --------------------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        """PPO's update with the blended advantages, then the heuristic critic's regression."""
        stats = super().update()
        stats["loss/heuristic_value"] = self._update_heuristic_critic()
        stats.update(self._blend_stats)
        return stats

    def _update_heuristic_critic(self) -> float:
        c = self.config
        idx = self.valid_device.flatten().nonzero().squeeze(-1)
        obs = self.obs.flatten(0, 1)[idx]
        targets = self.heuristic_returns.flatten(0, 1)[idx]
        self.critic_optimizer.param_groups[0]["lr"] = self.optimizer.param_groups[0]["lr"]
        params = list(self.heuristic_critic.parameters())
        total, count = 0.0, 0
        m = min(c.num_minibatches, len(idx))
        for _ in range(c.update_epochs):
            perm = torch.randperm(len(idx), generator=self.generator, device=self.device)
            for mb in _minibatch_slices(len(idx), m):
                rows = perm[mb]
                loss = 0.5 * F.mse_loss(
                    self.heuristic_critic(self._normalize(obs[rows])), targets[rows]
                )
                self.critic_optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, c.max_grad_norm)
                self.critic_optimizer.step()
                total += float(loss.detach())
                count += 1
        return total / max(count, 1)

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """PPO's checkpoint plus the blend: weights, critic and both optimisers."""
        state = super().state_dict()
        state["blend"] = {
            "names": list(self.heuristic_names),
            "config": dataclasses.asdict(self.blend_config),
            "weights": self.blend_weights.state_dict(),
            "meta_optimizer": self.meta_optimizer.state_dict(),
            "critic": self.heuristic_critic.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "policy_was_reset": self.policy_was_reset,
        }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the heuristics must have the same names, in order)."""
        blend = state.get("blend")
        if blend is None:
            raise ValueError("the checkpoint has no blend state: it was not saved by BlendedPPO")
        if list(blend["names"]) != self.heuristic_names:
            raise ValueError(
                f"the checkpoint blends heuristics {blend['names']}, this agent "
                f"{self.heuristic_names}; pass the same heuristics in the same order"
            )
        super().load_state_dict(state)
        self.blend_weights.load_state_dict(blend["weights"])
        self.meta_optimizer.load_state_dict(blend["meta_optimizer"])
        self.heuristic_critic.load_state_dict(blend["critic"])
        self.critic_optimizer.load_state_dict(blend["critic_optimizer"])
        if "policy_was_reset" in blend:
            self.policy_was_reset = bool(blend["policy_was_reset"])

    @classmethod
    def load(  # type: ignore[override]
        cls,
        path: str | os.PathLike,
        envs: VectorEnv | None = None,
        *,
        heuristics: Any,
        terms: RewardTerm | Sequence[RewardTerm] | None = None,
        weight: Any = 1.0,
        hooks: Sequence[RolloutHook] = (),
        **overrides: Any,
    ) -> BlendedPPO:
        """Rebuild an agent from :meth:`save`'s file (pass the same heuristics and terms)."""
        state = load_checkpoint(path)
        values = dict(state["config"])
        values.update(overrides)
        blend = BlendConfig(**state["blend"]["config"])
        agent = cls(
            PPOConfig.from_dict(values), envs, heuristics=heuristics, blend=blend, terms=terms,
            weight=weight, hooks=hooks,
        )  # fmt: skip
        agent.load_state_dict(state)
        return agent

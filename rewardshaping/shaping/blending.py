"""Learned blending of designer heuristics with the primary reward: the weights and their
meta-gradient (Behavior Alignment via Reward Function Optimization, Gupta et al. 2023).

The blended reward is ``r = r_primary + sum_k w_k(s) h_k`` with designer heuristics ``h_k``
(auxiliary rewards: potential-based or not) and weights learned so that the *primary* return
improves. Gupta et al. solve the bi-level problem with implicit gradients through the inner
learner; this module holds the cheap approximation used by
:class:`~rewardshaping.agents.blended_ppo.BlendedPPO`, a **one-step meta-gradient**:

* Advantages are linear in the reward when each reward stream has its own critic, so the
  policy-gradient step of the blend is ``g_w = g_p + sum_k w_k g_k`` with
  ``g_p = grad_theta E[log pi(a|s) A_p]`` and ``g_k = grad_theta E[log pi(a|s) A_k]``.
* After one inner step ``theta' = theta + alpha g_w``, to first order in ``alpha``,
  ``dJ_p(theta') / dw_k = alpha <g_p, g_k>``. For state-dependent weights ``w_k(s; psi)``,
  ``g_w = E[grad log pi(a|s) (A_p + sum_k w_k(s) A_k)]`` and the chain rule gives
  ``dJ_p / dpsi = alpha E[c(s, a) sum_k A_k grad_psi w_k(s)]`` with the per-sample *alignment*
  ``c_i = <g_p, grad_theta log pi(a_i|s_i)>`` -- the gradient of the surrogate
  ``E[sg(c A_k) w_k(s)]`` (:func:`blend_surrogate`). The same ``c_i`` give every scalar
  ``<g_p, g_k> = mean_i c_i A_k,i``, so the cost does not grow with K.
* ``c`` is a Jacobian-vector product, computed in forward mode (:func:`torch.func.jvp`):
  per update one backward pass for ``g_p`` and one forward-mode pass over the batch, per half
  when cross-fitted (below), plus one backward per heuristic for the norms ``||g_k||``
  that normalise the step. On the gridworld of ``experiments/pbrs_blend.py`` this is a few
  percent of a PPO update (4 epochs x 4 minibatches of backward passes).
* **Cross-fitting** (``split``): ``g_p`` estimated on the same samples as ``g_k`` correlates
  with it through each sample's own score (the ``i == j`` terms of ``sum_ij``), which rewards a
  heuristic merely for being large where ``A_p`` is. With two groups (halves of the envs) each
  sample's ``c_i`` uses ``g_p`` of the *other* group, which removes that bias.
* **Normalisation**: each heuristic's step is divided by ``||g_k||`` (a heuristic's scale is
  the designer's arbitrary choice), but not by ``||g_p||``: the size of the primary gradient is
  the evidence. Before the primary reward is ever seen (sparse tasks) ``g_p`` is critic noise,
  and a cosine would turn that noise into full-size steps (we measured exactly that drift on
  KeyDoor). The step size therefore has the units of the primary return (``meta_lr`` is
  task-dependent, as the outer learning rate of Gupta et al.).

What this approximation ignores (and costs): the effect of ``w`` beyond one inner step, the
PPO clipping and advantage normalisation of the actual inner update, and, for state-dependent
weights, the fact that ``w_k(s_t) A_k,t`` weights heuristic k's whole advantage from ``s_t`` on
by the weight at ``s_t`` (the exact advantage of ``sum_k w_k(s) h_k`` would weight each future
heuristic reward by the weight at the state where it is paid); it is exact for scalar weights.

This module holds :class:`BlendWeights` (the weights, scalar or a head ``phi(s) -> w``),
:func:`alignment_scores` (the ``c_i``), :func:`gradient_norm`, :func:`blend_surrogate` and
:class:`Withheld` (a composer that reports heuristics without paying them, so an agent can
weigh them itself).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from rewardshaping.composers import Composer, WeightedSum

__all__ = ["BlendWeights", "alignment_scores", "gradient_norm", "blend_surrogate", "Withheld"]


class BlendWeights(nn.Module):
    """Weights ``w_k(s) = w_max * sigmoid(b_k + head(s)_k)`` of K heuristics, in ``(0, w_max)``.

    Without ``obs_dim`` (scalar weights) the head is absent and ``w_k`` is the same for every
    state. With ``obs_dim`` a linear map (or an MLP with ``hidden`` layers) of the flattened
    observation is added to the logits; its output layer starts at zero, so every state starts
    at ``w_init``.

    Args:
        names: the heuristics' names (for reports and errors).
        w_init: initial weight of every heuristic (a number or one per heuristic), in
            ``(0, w_max)``.
        w_max: upper bound of the weights.
        obs_dim: flattened observation width for state-dependent weights; None for scalars.
        hidden: hidden sizes of the state-dependent head (``()``: linear).
        device: torch device of the parameters.

    Example:
        >>> w = BlendWeights(["aligned", "misleading"], w_init=0.5, w_max=1.0)
        >>> w(torch.zeros(3, 4)).tolist()
        [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
        >>> w.scalar_weights()
        {'aligned': 0.5, 'misleading': 0.5}
        >>> ws = BlendWeights(["h"], w_init=1.0, w_max=2.0, obs_dim=4)
        >>> ws(torch.ones(2, 4)).shape, ws.state_dependent
        (torch.Size([2, 1]), True)
    """

    def __init__(
        self,
        names: Sequence[str],
        w_init: float | Sequence[float] = 1.0,
        w_max: float = 2.0,
        obs_dim: int | None = None,
        hidden: Sequence[int] = (),
        device: str | torch.device = "cpu",
    ) -> None:
        super().__init__()
        self.names = [str(n) for n in names]
        if not self.names:
            raise ValueError("BlendWeights needs at least one heuristic name")
        k = len(self.names)
        self.w_max = float(w_max)
        if not self.w_max > 0:
            raise ValueError(f"w_max must be > 0, got {w_max}")
        init = np.broadcast_to(np.asarray(w_init, dtype=np.float64), (k,))
        if not ((init > 0) & (init < self.w_max)).all():
            raise ValueError(
                f"w_init must lie strictly inside (0, w_max={self.w_max}) (a sigmoid "
                f"parametrisation), got {np.asarray(w_init).tolist()}"
            )
        frac = init / self.w_max
        self.logit = nn.Parameter(torch.tensor(np.log(frac / (1 - frac)), dtype=torch.float32))
        self.head: nn.Module | None = None
        if obs_dim is not None:
            dims = [int(obs_dim), *[int(h) for h in hidden]]
            layers: list[nn.Module] = []
            for a, b in zip(dims[:-1], dims[1:], strict=True):
                layers += [nn.Linear(a, b), nn.Tanh()]
            out = nn.Linear(dims[-1], k)
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.head = nn.Sequential(*layers, out)
        self.to(device)

    @property
    def state_dependent(self) -> bool:
        """Whether the weights depend on the observation."""
        return self.head is not None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Weights (B, K) for a batch of observations (only its length is used when scalar)."""
        logits = self.logit.expand(obs.shape[0], -1)
        if self.head is not None:
            logits = logits + self.head(obs.flatten(1).to(self.logit.dtype))
        return self.w_max * torch.sigmoid(logits)

    def scalar_weights(self) -> dict[str, float]:
        """name -> weight of the scalar part (the weights themselves when not state-dependent)."""
        w = (self.w_max * torch.sigmoid(self.logit.detach())).cpu().tolist()
        return dict(zip(self.names, w, strict=True))


def _masked(grads: Sequence[torch.Tensor], masks: Sequence[torch.Tensor | None]):
    return tuple(g if m is None else g * m for g, m in zip(grads, masks, strict=True))


def alignment_scores(
    logp_fn: Callable[[tuple[torch.Tensor, ...]], torch.Tensor],
    params: Sequence[torch.Tensor],
    primary_adv: torch.Tensor,
    groups: torch.Tensor | None = None,
    grad_masks: Sequence[torch.Tensor | None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample alignments ``c_i = <g_p, grad_theta log pi(a_i|s_i)>`` and ``||g_p||``.

    ``g_p = grad_theta mean_i(log pi(a_i|s_i) A_p,i)`` is the primary policy gradient. With
    ``groups`` (0/1 per sample) sample i uses ``g_p`` of the *other* group (cross-fitting; see
    the module docstring); ``||g_p||`` is then returned per sample too.

    Args:
        logp_fn: ``logp_fn(params) -> (B,)`` log-probabilities of the batch's actions under
            the policy with parameters ``params`` (e.g. via :func:`torch.func.functional_call`).
        params: the policy parameters (tensors requiring grad).
        primary_adv: (B,) advantages of the primary reward.
        groups: optional (B,) 0/1 group of each sample; both groups must be non-empty.
        grad_masks: per parameter, a mask that zeroes gradient entries that are not trained
            (e.g. :class:`~rewardshaping.agents.networks.TwoTowerMLP`'s off-diagonal blocks).

    Returns:
        (c, norm): both (B,); ``norm[i]`` is ``||g_p||`` of the gradient sample i was scored with.

    Example:
        >>> theta = torch.tensor([0.3, -0.2], requires_grad=True)
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])   # logp_i = x_i . theta (a toy "policy")
        >>> c, norm = alignment_scores(lambda p: x @ p[0], [theta], torch.tensor([1.0, 0.0]))
        >>> c.tolist(), norm.tolist()   # g_p = (0.5, 0): aligned with sample 0's score only
        ([0.5, 0.0], [0.5, 0.5])
    """
    params = tuple(params)
    masks = tuple(grad_masks) if grad_masks is not None else (None,) * len(params)
    adv = primary_adv.detach()
    logp = logp_fn(params)
    if logp.shape != adv.shape:
        raise ValueError(f"logp_fn returned shape {tuple(logp.shape)}, advantages {adv.shape}")
    group_list = [None] if groups is None else [groups == 0, groups == 1]
    if groups is not None and not all(bool(g.any()) for g in group_list):
        raise ValueError("alignment_scores: both groups need at least one sample")
    grads = []
    for sel in group_list:
        obj = (logp * adv).mean() if sel is None else (logp[sel] * adv[sel]).mean()
        grads.append(_masked(torch.autograd.grad(obj, params, retain_graph=True), masks))
    detached = tuple(p.detach() for p in params)
    c = torch.empty_like(adv)
    norm = torch.empty_like(adv)
    for k, g in enumerate(grads):
        # c = J g: the directional derivative of every log-probability along g (forward mode).
        _, jv = torch.func.jvp(logp_fn, (detached,), (g,))
        g_norm = torch.sqrt(sum((x.double() ** 2).sum() for x in g)).to(adv.dtype)
        if groups is None:
            c.copy_(jv.detach())
            norm.fill_(g_norm)
        else:
            other = group_list[1 - k]  # the samples that g (estimated on group k) scores
            c[other] = jv.detach()[other]
            norm[other] = g_norm
    return c, norm


def gradient_norm(
    logp: torch.Tensor,
    params: Sequence[torch.Tensor],
    advantages: torch.Tensor,
    grad_masks: Sequence[torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """``||grad_theta mean_i(log pi_i A_i)||`` for each column of ``advantages`` (B, K) -> (K,).

    Example:
        >>> theta = torch.tensor([0.3, -0.2], requires_grad=True)
        >>> logp = torch.tensor([[1.0, 0.0], [0.0, 1.0]]) @ theta
        >>> gradient_norm(logp, [theta], torch.tensor([[2.0, 0.0], [0.0, 1.0]])).tolist()
        [1.0, 0.5]
    """
    params = tuple(params)
    masks = tuple(grad_masks) if grad_masks is not None else (None,) * len(params)
    out = []
    for k in range(advantages.shape[1]):
        obj = (logp * advantages[:, k].detach()).mean()
        g = _masked(torch.autograd.grad(obj, params, retain_graph=True), masks)
        out.append(torch.sqrt(sum((x.double() ** 2).sum() for x in g)))
    return torch.stack(out).to(advantages.dtype)


def blend_surrogate(
    weights: torch.Tensor,
    alignment: torch.Tensor,
    heuristic_adv: torch.Tensor,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """The meta-objective whose gradient in the weights' parameters is the one-step
    meta-gradient (up to the inner learning rate): ``mean_i sum_k sg(c_i A_k,i / s_k) w_k(s_i)``.

    Ascend it (minimise its negative). ``scale`` (K,) or (B, K) divides each heuristic's term
    (the normalisation ``||g_p|| ||g_k||``).

    Example:
        >>> w = torch.tensor([[0.5, 0.5], [0.5, 0.5]], requires_grad=True)
        >>> s = blend_surrogate(w, torch.tensor([1.0, -1.0]), torch.tensor([[1.0, 2.0], [0.0, 2.0]]))
        >>> s.backward()
        >>> w.grad.tolist()   # d/dw_k(s_i) = c_i A_k,i / B
        [[0.5, 1.0], [-0.0, -1.0]]
    """
    if weights.shape != heuristic_adv.shape:
        raise ValueError(
            f"weights {tuple(weights.shape)} and heuristic advantages "
            f"{tuple(heuristic_adv.shape)} must have the same shape (B, K)"
        )
    coef = alignment.detach()[:, None] * heuristic_adv.detach()
    if scale is not None:
        coef = coef / scale.detach()
    return (coef * weights).sum(1).mean()


class Withheld(Composer):
    """Report some terms without paying them: the reward is the ``inner`` composer applied to
    every other term. For agents that weigh the withheld terms themselves
    (:class:`~rewardshaping.agents.blended_ppo.BlendedPPO`).

    Example:
        >>> import numpy as np
        >>> c = Withheld(["hint"])
        >>> c.bind(["hint", "penalty"])
        >>> c(np.array([1.0]), {"hint": np.array([5.0]), "penalty": np.array([-0.25])}).tolist()
        [0.75]
    """

    def __init__(self, names: Sequence[str], inner: Composer | None = None) -> None:
        self.names = [str(n) for n in names]
        self.inner = inner if inner is not None else WeightedSum()

    def bind(self, term_names: Sequence[str]) -> None:
        missing = sorted(set(self.names) - set(term_names))
        if missing:
            raise ValueError(
                f"Withheld names unknown term(s) {missing}; the terms are {term_names}"
            )
        self.inner.bind([n for n in term_names if n not in self.names])

    def __call__(self, env_reward: np.ndarray, values: Mapping[str, np.ndarray]) -> np.ndarray:
        paid = {k: v for k, v in values.items() if k not in self.names}
        return self.inner(env_reward, paid)

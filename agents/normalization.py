"""Running statistics for observation and reward normalisation.

:class:`RunningMeanStd` merges batch moments with the parallel algorithm of Chan, Golub & LeVeque
(1979), as OpenAI baselines does. :func:`discounted_return_scale` implements the reward scaling
of PPO implementations (rewards divided by the running std of the discounted return; Engstrom
et al. 2020, "Implementation Matters in Deep RL"), and RND's intrinsic reward normalisation
(Burda et al. 2019), which is the same filter run over non-episodic returns.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["RunningMeanStd", "discounted_return_scale"]


class RunningMeanStd:
    """Mean and variance of a stream of batches, per feature, on a torch device (float64).

    Args:
        shape: the feature shape (``()`` for scalars).
        device: where the statistics live (normalising on the device avoids transfers).

    Example:
        >>> rms = RunningMeanStd(())
        >>> rms.update(torch.tensor([1.0, 2.0, 3.0])); rms.update(torch.tensor([4.0]))
        >>> round(float(rms.mean), 3), round(float(rms.var), 3)
        (2.5, 1.25)
    """

    def __init__(self, shape: tuple[int, ...] = (), device: str | torch.device = "cpu") -> None:
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.var = torch.ones(shape, dtype=torch.float64, device=device)
        self.count = 1e-4  # as baselines: a tiny prior keeps the first update well defined

    def update(self, x: torch.Tensor) -> None:
        """Fold in a batch ``x`` of shape ``(B, *shape)``."""
        if x.shape[0] == 0:
            return
        x = x.to(torch.float64)
        batch_mean = x.mean(0)
        batch_var = x.var(0, unbiased=False)
        n = x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * (n / total)
        m2 = self.var * self.count + batch_var * n + delta.pow(2) * (self.count * n / total)
        self.var = m2 / total
        self.count = total

    def normalize(self, x: torch.Tensor, clip: float = 10.0, eps: float = 1e-8) -> torch.Tensor:
        """``clip((x - mean) / sqrt(var + eps))`` as float32."""
        mean, std = self.mean.float(), torch.sqrt(self.var + eps).float()
        return ((x.float() - mean) / std).clamp(-clip, clip)

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.clone(), "var": self.var.clone(), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean = state["mean"].to(self.mean.device)
        self.var = state["var"].to(self.var.device)
        self.count = float(state["count"])


def discounted_return_scale(
    rewards: torch.Tensor,
    running_return: torch.Tensor,
    rms: RunningMeanStd,
    gamma: float,
    ends: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scale rewards (T, N) by the running std of their discounted returns; update the filter.

    ``running_return`` (N,) carries the discounted return across rollouts and is updated in
    place; ``ends`` (T, N) marks the last step of an episode, after which the return restarts
    (None for non-episodic returns, as RND's intrinsic rewards); entries where ``valid`` is
    False neither count nor change the return.

    Example:
        >>> rms, ret = RunningMeanStd(()), torch.zeros(2)
        >>> rewards = torch.tensor([[1.0, 0.0], [1.0, 2.0]])
        >>> out = discounted_return_scale(rewards, ret, rms, gamma=0.5)
        >>> ret.tolist(), round(float(rms.var), 3)
        ([1.5, 2.0], 0.547)
    """
    returns = torch.empty_like(rewards)
    for t in range(rewards.shape[0]):
        r = running_return * gamma + rewards[t]
        if valid is not None:
            r = torch.where(valid[t], r, running_return)
        returns[t] = r
        if ends is not None:
            r = torch.where(ends[t], torch.zeros_like(r), r)
        running_return.copy_(r)
    rms.update(returns.flatten() if valid is None else returns[valid])
    return rewards / torch.sqrt(rms.var.float() + 1e-8)

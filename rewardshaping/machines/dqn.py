"""A small double DQN with counterfactual experiences (DQN + CRM; Toro Icarte et al. 2022).

Each env step stores the real transition or, with CRM, one experience per live machine state
(``RewardMachineEnv.counterfactual_experiences()``), so the network learns about every machine
state from each step. Kept here, next to the machines, until the toolkit's shared
``agents.dqn`` accepts the same :class:`~rewardshaping.machines.product.CounterfactualBatch`.
Observations must be flat (``obs_mode="onehot"``); actions discrete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rewardshaping.machines.product import CounterfactualBatch

__all__ = ["DQNConfig", "CounterfactualDQN"]


@dataclass
class DQNConfig:
    """Hyperparameters (close to the reference's Water-world settings, scaled down)."""

    gamma: float = 0.9
    lr: float = 1e-3
    batch_size: int = 32
    buffer_size: int = 50_000
    learning_starts: int = 1_000
    train_every: int = 1
    target_every: int = 100
    hidden: tuple[int, ...] = (128, 128)
    epsilon: float = 0.1


class _Replay:
    def __init__(self, size: int, obs_dim: int, rng: np.random.Generator) -> None:
        self.obs = np.zeros((size, obs_dim), np.float32)
        self.next_obs = np.zeros((size, obs_dim), np.float32)
        self.action = np.zeros(size, np.int64)
        self.reward = np.zeros(size, np.float32)
        self.done = np.zeros(size, np.float32)
        self.size, self.pos, self.full, self.rng = size, 0, False, rng

    def add(self, obs, action, reward, next_obs, done) -> None:
        n = len(reward)
        idx = (self.pos + np.arange(n)) % self.size
        self.obs[idx], self.next_obs[idx] = obs, next_obs
        self.action[idx], self.reward[idx], self.done[idx] = action, reward, done
        self.full = self.full or self.pos + n >= self.size
        self.pos = (self.pos + n) % self.size

    def __len__(self) -> int:
        return self.size if self.full else self.pos

    def sample(self, k: int):
        idx = self.rng.integers(len(self), size=k)
        return self.obs[idx], self.action[idx], self.reward[idx], self.next_obs[idx], self.done[idx]


class CounterfactualDQN:
    """Double DQN whose replay buffer takes real or counterfactual experiences.

    Args:
        obs_dim: size of the flat product observation.
        num_actions: number of discrete actions.
        config: hyperparameters.
        seed: seeds numpy and torch generators (same seed, same numbers on CPU).
        device: torch device (``"cpu"`` works everywhere).

    Example:
        >>> from rewardshaping.envs.water import WaterWorld, water_machine
        >>> from rewardshaping.machines.product import RewardMachineEnv
        >>> env = RewardMachineEnv(WaterWorld(), water_machine(1), obs_mode="onehot")
        >>> agent = CounterfactualDQN(env.observation_space.shape[0], 5,
        ...                           DQNConfig(learning_starts=4, batch_size=4), seed=0)
        >>> obs, _ = env.reset(seed=0)
        >>> for _ in range(8):
        ...     a = agent.act(obs)
        ...     obs, r, term, trunc, info = env.step(a)
        ...     agent.observe(env.counterfactual_experiences())
        >>> agent.updates, len(agent.replay)   # 2 live machine states: 2 experiences per step
        (7, 16)
    """

    def __init__(
        self,
        obs_dim: int,
        num_actions: int,
        config: DQNConfig | None = None,
        *,
        seed: int | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = cfg = config or DQNConfig()
        self.device = torch.device(device)
        self.rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(int(self.rng.integers(2**31)))
        self.num_actions = int(num_actions)
        self.q = self._net(obs_dim, num_actions, cfg.hidden, gen).to(self.device)
        self.target = self._net(obs_dim, num_actions, cfg.hidden, gen).to(self.device)
        self.target.load_state_dict(self.q.state_dict())
        self.optim = torch.optim.Adam(self.q.parameters(), lr=cfg.lr)
        self.replay = _Replay(cfg.buffer_size, obs_dim, self.rng)
        self.steps = 0
        self.updates = 0

    @staticmethod
    def _net(
        obs_dim: int, num_actions: int, hidden: tuple[int, ...], gen: torch.Generator
    ) -> nn.Module:
        layers: list[nn.Module] = []
        size = obs_dim
        for h in hidden:
            layers += [nn.Linear(size, h), nn.ReLU()]
            size = h
        layers.append(nn.Linear(size, num_actions))
        net = nn.Sequential(*layers)
        with torch.no_grad():
            for p in net.parameters():  # seeded init, independent of the global torch RNG
                if p.dim() > 1:
                    bound = (6.0 / (p.shape[0] + p.shape[1])) ** 0.5
                    p.copy_(torch.rand(p.shape, generator=gen) * 2 * bound - bound)
                else:
                    p.zero_()
        return net

    def act(self, obs: Any, greedy: bool = False) -> int:
        """Epsilon-greedy action for one flat observation."""
        if not greedy and self.rng.random() < self.config.epsilon:
            return int(self.rng.integers(self.num_actions))
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, np.float32)[None], device=self.device)
            return int(self.q(x).argmax(dim=1).item())

    def observe(self, batch: CounterfactualBatch) -> None:
        """Store the step's experiences and train (one gradient step per ``train_every``)."""
        self.replay.add(batch.obs, batch.action, batch.reward, batch.next_obs, batch.terminated)
        self.steps += 1
        cfg = self.config
        if len(self.replay) >= cfg.learning_starts and self.steps % cfg.train_every == 0:
            self._train()
        if self.steps % cfg.target_every == 0:
            self.target.load_state_dict(self.q.state_dict())

    def _train(self) -> None:
        cfg = self.config
        obs, action, reward, next_obs, done = (
            torch.as_tensor(x, device=self.device) for x in self.replay.sample(cfg.batch_size)
        )
        with torch.no_grad():
            best = self.q(next_obs).argmax(dim=1, keepdim=True)  # double DQN
            boot = self.target(next_obs).gather(1, best).squeeze(1)
            target = reward + cfg.gamma * (1.0 - done) * boot
        q = self.q(obs).gather(1, action[:, None]).squeeze(1)
        loss = nn.functional.smooth_l1_loss(q, target)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        self.updates += 1

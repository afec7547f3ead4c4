"""Potentials Phi: batched functions of observations (and optionally of the time step).

A potential maps a batch of observations (the env's batched layout) and the episode step ``t``
of each to an array of N floats. Potentials are building blocks of
:class:`~rewardshaping.shaping.PotentialShaping`; they keep no per-episode state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "Potential",
    "FunctionPotential",
    "InfoPotential",
    "TabularValuePotential",
    "ValueFunctionPotential",
]


class Potential:
    """Base class: ``potential(obs, t) -> float array (N,)``.

    Attributes:
        name: used in error messages and as the default name of the shaping term.
        time_dependent: True when the value depends on ``t`` (a dynamic potential).
    """

    name: str = "potential"
    time_dependent: bool = False

    def __call__(self, obs: Any, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def next_values(self, batch: Any, t_next: np.ndarray) -> np.ndarray:
        """Phi of the states reached by ``batch`` (``next_obs``)."""
        return self(batch.next_obs, t_next)

    def start_values(self, obs: Any, t: np.ndarray, n: int) -> np.ndarray:
        """Phi of episode-start states (no cached value from a previous step)."""
        return self(obs, t)


class FunctionPotential(Potential):
    """A potential from a user function ``fn(obs)`` or, with ``time_dependent=True``, ``fn(obs, t)``.

    Example:
        >>> import numpy as np
        >>> phi = FunctionPotential(lambda obs: -np.abs(obs[:, 0]), name="centre")
        >>> phi(np.array([[2.0], [-1.0]]), np.zeros(2, int)).tolist()
        [-2.0, -1.0]
        >>> late = FunctionPotential(lambda obs, t: 0.1 * t, time_dependent=True)
        >>> late(np.zeros((2, 1)), np.array([0, 3])).tolist()
        [0.0, 0.30000000000000004]
    """

    def __init__(self, fn: Callable, name: str | None = None, time_dependent: bool = False):
        if not callable(fn):
            raise TypeError(f"FunctionPotential needs a callable, got {type(fn).__name__}")
        self.fn = fn
        fname = getattr(fn, "__name__", "potential")
        self.name = name or ("potential" if fname == "<lambda>" else fname)
        self.time_dependent = bool(time_dependent)

    def __call__(self, obs, t):
        return self.fn(obs, t) if self.time_dependent else self.fn(obs)


class TabularValuePotential(Potential):
    """Phi(s) = scale * V[s] for integer (Discrete) observations, e.g. a value-iteration V.

    With ``V = V*`` of the task, shaping makes the optimal action greedy-obvious (Ng et al. 1999).

    Example:
        >>> import numpy as np
        >>> TabularValuePotential(np.array([0.0, 0.5, 1.0]))(np.array([2, 0]), None).tolist()
        [1.0, 0.0]
    """

    def __init__(self, values: Any, scale: float = 1.0, name: str = "tabular_value"):
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 1 or not np.isfinite(self.values).all():
            raise ValueError("TabularValuePotential needs a finite 1-d array V[s]")
        self.scale = float(scale)
        self.name = name

    def __call__(self, obs, t):
        s = np.asarray(obs)
        if s.dtype.kind not in "iu":
            raise TypeError(f"{self.name!r} needs integer state observations, got dtype {s.dtype}")
        if s.ndim != 1:
            raise ValueError(f"{self.name!r} needs observations of shape (N,), got {s.shape}")
        if ((s < 0) | (s >= len(self.values))).any():
            raise IndexError(f"{self.name!r}: state index out of range [0, {len(self.values)})")
        return self.scale * self.values[s]


class ValueFunctionPotential(Potential):
    """Phi(s) = scale * V(s) from a critic: a callable (e.g. a torch module) of a batch of obs.

    The critic is evaluated without gradients; torch outputs are moved to the CPU as NumPy.
    Observations are converted with ``preprocess`` (default: ``torch.as_tensor(obs, float32)``
    on the critic's device when it is a torch module).

    Example:
        >>> import numpy as np, torch
        >>> critic = torch.nn.Linear(2, 1)
        >>> with torch.no_grad():
        ...     _ = critic.weight.fill_(1.0), critic.bias.fill_(0.0)
        >>> ValueFunctionPotential(critic)(np.array([[1.0, 2.0]]), None).tolist()
        [3.0]
    """

    def __init__(
        self,
        critic: Callable,
        scale: float = 1.0,
        preprocess: Callable | None = None,
        name: str = "critic_value",
    ):
        if not callable(critic):
            raise TypeError("ValueFunctionPotential needs a callable critic")
        self.critic, self.scale, self.preprocess, self.name = critic, float(scale), preprocess, name

    def __call__(self, obs, t):
        import torch

        x = obs
        if self.preprocess is not None:
            x = self.preprocess(obs)
        elif isinstance(self.critic, torch.nn.Module):
            param = next(self.critic.parameters(), None)
            device = param.device if param is not None else "cpu"
            x = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=device)
        with torch.no_grad():
            v = self.critic(x)
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        return self.scale * np.asarray(v, dtype=np.float64).reshape(len(v))


class InfoPotential(Potential):
    """Phi(s') = scale * info[key] of the step that reached s' (e.g. MuJoCo's ``x_position``).

    A reset's info is not part of any transition, so the first state of an episode gets the
    constant ``initial``; a constant start potential shifts every policy's return equally and
    keeps the PBRS guarantee. Mid-episode, Phi(s) is the value cached from the previous step.

    Example:
        >>> import gymnasium as gym
        >>> from rewardshaping import ShapedEnv
        >>> from rewardshaping.shaping import PotentialShaping
        >>> env = ShapedEnv(gym.make("HalfCheetah-v5"),
        ...                 PotentialShaping(InfoPotential("x_position", scale=10.0), gamma=1.0))
        >>> _ = env.reset(seed=0)
        >>> _, _, _, _, info = env.step(env.action_space.sample())
        >>> bool(abs(info["reward_terms"]["shaping"] - 10.0 * info["x_position"]) < 1e-5)
        True
    """

    reads_info = True

    def __init__(self, key: str, scale: float = 1.0, initial: float = 0.0, name: str | None = None):
        self.key, self.scale, self.initial = key, float(scale), float(initial)
        self.name = name or f"info:{key}"

    def __call__(self, obs, t):
        raise TypeError(
            f"potential {self.name!r} reads infos; it is evaluated by PotentialShaping on batches"
        )

    def next_values(self, batch, t_next):
        # Phi(s') is needed only where it is paid: active, non-terminal steps. A SAME_STEP env's
        # finished envs are read from info["final_info"] (Transitions.next_info), not from
        # the next episode's reset info; an all-dummy NEXT_STEP step needs nothing.
        need = batch.active & ~batch.terminated
        values = batch.next_info(self.key, term=f"potential {self.name}", rows=need)
        if values is None:
            return np.zeros(batch.num_envs)
        values = np.asarray(values)
        if values.dtype == object:  # None where an env that needs nothing did not report
            values = np.array([0.0 if v is None else v for v in values], np.float64)
        return self.scale * values.astype(np.float64)

    def start_values(self, obs, t, n):
        return np.full(n, self.initial)

"""Gymnasium environments of finite MDPs with exact, inspectable T and R.

- :class:`TabularEnv`: any :class:`rewardshaping.tabular.TabularMDP` as a Gymnasium env.
- :class:`RandomMDPEnv`: a seeded random MDP (STARC-style or Garnet), registered as
  ``rewardshaping/RandomMDP-v0`` (32 states, 4 actions, gamma 0.95, 200 steps per episode).

The exact arrays stay available as ``env.unwrapped.mdp`` for exact solvers and reward metrics.
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardshaping.tabular import TabularMDP, random_mdp

__all__ = ["TabularEnv", "RandomMDPEnv"]


class TabularEnv(gym.Env):
    """A finite MDP as a Gymnasium environment.

    ## Description
    The state is an integer in [0, S). ``reset`` draws S0 from ``mdp.initial``; ``step(a)`` draws
    S' ~ T(s, a) and pays R(s, a, S'). The MDP's arrays are ``env.unwrapped.mdp``.

    ## Action Space
    ``Discrete(A)``.

    ## Observation Space
    ``Discrete(S)``: the state index.

    ## Rewards
    ``mdp.reward[s, a, s']``, undiscounted (the discount the MDP was built for is
    ``mdp.gamma``; give it to the learner).

    ## Termination
    Never terminates (the MDP is continuing); bound episodes with ``max_episode_steps``.
    ``info["state"]`` repeats the state index.

    Args:
        mdp: the :class:`~rewardshaping.tabular.TabularMDP`.
        render_mode: unused (no rendering); accepted for Gymnasium compatibility.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.tabular import TabularMDP
        >>> T = np.zeros((2, 1, 2)); T[:, 0, 1] = 1.0
        >>> R = np.zeros((2, 1, 2)); R[0, 0, 1] = 5.0
        >>> env = TabularEnv(TabularMDP(T, R, gamma=0.9, initial=np.array([1.0, 0.0])))
        >>> env.reset(seed=0)
        (0, {'state': 0})
        >>> env.step(0)
        (1, 5.0, False, False, {'state': 1})
    """

    metadata = {"render_modes": []}

    def __init__(self, mdp: TabularMDP, render_mode: str | None = None) -> None:
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"TabularEnv needs a TabularMDP, got {type(mdp).__name__}")
        self.mdp = mdp
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(mdp.n_states)
        self.action_space = spaces.Discrete(mdp.n_actions)
        # Cumulative rows for inverse-CDF sampling; the last entry is forced to 1 so rounding
        # never lets a uniform draw fall past the end.
        self._cdf = np.cumsum(mdp.transition, axis=-1)
        self._cdf[..., -1] = 1.0
        self._init_cdf = np.cumsum(mdp.initial)
        self._init_cdf[-1] = 1.0
        self._state: int | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._state = int(np.searchsorted(self._init_cdf, self.np_random.random(), side="right"))
        return self._state, {"state": self._state}

    def step(self, action):
        if self._state is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        a = int(action)
        if not 0 <= a < self.mdp.n_actions:
            raise ValueError(f"action must be in [0, {self.mdp.n_actions}), got {action!r}")
        s = self._state
        s2 = int(np.searchsorted(self._cdf[s, a], self.np_random.random(), side="right"))
        self._state = s2
        return s2, float(self.mdp.reward[s, a, s2]), False, False, {"state": s2}


class RandomMDPEnv(TabularEnv):
    """A seeded random finite MDP (see :func:`rewardshaping.tabular.random_mdp`).

    ``mdp_seed`` fixes the MDP (T and R); the ``seed`` of ``reset`` only drives the sampling of
    states, so two envs with the same ``mdp_seed`` are the same MDP.

    Registered Configurations: ``rewardshaping/RandomMDP-v0`` (n_states=32, n_actions=4,
    gamma=0.95, kind="starc", mdp_seed=0, max_episode_steps=200).

    Example:
        >>> import gymnasium as gym
        >>> import rewardshaping.envs
        >>> env = gym.make("rewardshaping/RandomMDP-v0", n_states=8, mdp_seed=3)
        >>> env.unwrapped.mdp.transition.shape, env.observation_space
        ((8, 4, 8), Discrete(8))
    """

    def __init__(
        self,
        n_states: int = 32,
        n_actions: int = 4,
        gamma: float = 0.95,
        kind: Literal["starc", "garnet"] = "starc",
        mdp_seed: int = 0,
        branching: int | None = None,
        reward_recipe: Literal["gaussian", "starc"] = "gaussian",
        render_mode: str | None = None,
    ) -> None:
        mdp = random_mdp(
            n_states,
            n_actions,
            gamma,
            kind=kind,
            seed=mdp_seed,
            branching=branching,
            reward_recipe=reward_recipe,
        )
        super().__init__(mdp, render_mode=render_mode)

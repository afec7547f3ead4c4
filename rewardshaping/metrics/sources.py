"""What the sampled estimators read: reward functions, transition models and coverage samples.

- :class:`RewardFunction` / :func:`as_reward_fn`: any batched callable ``r(obs, action,
  next_obs) -> (N,)``, any toolkit :class:`~rewardshaping.terms.RewardTerm` (called on a
  :class:`~rewardshaping.transitions.Transitions` batch), or a Gymnasium env's own reward
  (:func:`env_reward`), behind one checked interface.
- Transition models ``sample(obs, action, rng) -> (next_obs, terminated)``: :class:`TabularModel`
  (exact T of a :class:`~rewardshaping.tabular.TabularMDP`) and :class:`MujocoModel` (sets a
  Gymnasium MuJoCo env's simulator state to ``obs`` and steps it).
- Coverage: :func:`rollout_transitions` (from rollouts) and :func:`space_transitions` (uniform
  over bounded spaces), both returning a :class:`~rewardshaping.transitions.Transitions` batch.

Observations are arrays batched on axis 0 (Box or Discrete spaces); Dict observations are not
supported by the estimators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardshaping.tabular.mdp import TabularMDP
from rewardshaping.terms import RewardTerm
from rewardshaping.transitions import Transitions

__all__ = [
    "RewardFunction",
    "as_reward_fn",
    "env_reward",
    "TransitionModel",
    "TabularModel",
    "MujocoModel",
    "sample_space",
    "rollout_transitions",
    "space_transitions",
]


class RewardFunction:
    """A named, batched reward r(obs, action, next_obs) -> float64 (N,), with checked output.

    Args:
        fn: ``fn(obs, action, next_obs)`` returning N rewards, or a
            :class:`~rewardshaping.terms.RewardTerm` (called on a ``Transitions`` batch whose env
            reward is 0 and whose transitions are non-terminal; the term must be Markov, i.e.
            depend only on (s, a, s'), and is never ``reset``).
        name: how results name it (default: the term's or function's name).

    Example:
        >>> import numpy as np
        >>> from rewardshaping import StepPenalty
        >>> r = RewardFunction(StepPenalty(-0.5))
        >>> r.name, r(np.zeros((2, 3)), np.zeros(2), np.zeros((2, 3))).tolist()
        ('step_penalty', [-0.5, -0.5])
    """

    def __init__(self, fn: Callable[..., Any] | RewardTerm, name: str | None = None) -> None:
        if isinstance(fn, RewardTerm):
            default = fn.name
        elif callable(fn):
            default = getattr(fn, "__name__", type(fn).__name__)
        else:
            raise TypeError(
                f"a reward must be a callable r(obs, action, next_obs) or a RewardTerm, got "
                f"{type(fn).__name__}"
            )
        self.fn = fn
        self.name = name or default

    def __call__(self, obs: Any, action: Any, next_obs: Any) -> np.ndarray:
        n = len(action)
        if isinstance(self.fn, RewardTerm):
            batch = Transitions.from_arrays(obs, action, next_obs, reward=np.zeros(n))
            out = self.fn(batch)
        else:
            out = self.fn(obs, action, next_obs)
        out = np.asarray(out, dtype=np.float64)
        if out.shape != (n,):
            raise ValueError(
                f"reward {self.name!r} returned shape {out.shape} for a batch of {n}; expected ({n},)"
            )
        if not np.all(np.isfinite(out)):
            i = int(np.flatnonzero(~np.isfinite(out))[0])
            raise ValueError(f"reward {self.name!r} returned {out[i]} at batch index {i}")
        return out

    def __repr__(self) -> str:
        return f"RewardFunction({self.name!r})"


def as_reward_fn(reward: Any, name: str | None = None) -> RewardFunction:
    """A :class:`RewardFunction` from a callable, a term, or a RewardFunction (returned as is).

    Example:
        >>> as_reward_fn(lambda s, a, s2: s2[:, 0], name="x").name
        'x'
    """
    if isinstance(reward, RewardFunction):
        return reward if name is None else RewardFunction(reward.fn, name)
    return RewardFunction(reward, name)


class TransitionModel(Protocol):
    """Draws next observations: ``sample(obs, action, rng) -> (next_obs, terminated)``."""

    def sample(self, obs: Any, action: Any, rng: np.random.Generator) -> tuple[Any, np.ndarray]:
        """Next observations and terminated flags for a batch of (obs, action)."""


class TabularModel:
    """Samples S' ~ T(s, a) exactly from a :class:`~rewardshaping.tabular.TabularMDP`.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.tabular import TabularMDP
        >>> T = np.zeros((2, 1, 2)); T[:, 0, 1] = 1.0
        >>> s2, term = TabularModel(TabularMDP(T, gamma=0.9)).sample(
        ...     np.array([0, 1]), np.array([0, 0]), np.random.default_rng(0))
        >>> s2.tolist(), term.tolist()
        ([1, 1], [False, False])
    """

    def __init__(self, mdp: TabularMDP) -> None:
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"TabularModel needs a TabularMDP, got {type(mdp).__name__}")
        self.mdp = mdp
        self._cdf = np.cumsum(mdp.transition, axis=-1)
        self._cdf[..., -1] = 1.0

    def sample(self, obs, action, rng: np.random.Generator):
        s = np.asarray(obs, dtype=np.int64).reshape(-1)
        a = np.asarray(action, dtype=np.int64).reshape(-1)
        u = rng.random(s.shape[0])
        nxt = (self._cdf[s, a] <= u[:, None]).sum(-1)  # inverse CDF, vectorised
        return np.minimum(nxt, self.mdp.n_states - 1), np.zeros(s.shape[0], bool)


class MujocoModel:
    """The transition model of a Gymnasium MuJoCo env: set the state to ``obs``, step, read.

    Needs observations of the form (qpos[k:], qvel) with the first k positions left out (the
    torso's x (and y) in HalfCheetah, Hopper, Walker2d, Swimmer; k = 0 in InvertedPendulum).
    Those k positions are held at the env's reset values; the locomotion envs are translation
    invariant, so dynamics and rewards do not depend on them. MuJoCo dynamics are deterministic:
    ``rng`` is unused. Every call also records the env's rewards in :attr:`last_reward`.

    Args:
        env: a Gymnasium MuJoCo env (wrappers allowed; the unwrapped env is stepped).

    Example:
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> model = MujocoModel(gym.make("InvertedPendulum-v5"))
        >>> s2, term = model.sample(np.zeros((2, 4)), np.array([[0.0], [1.0]]), None)
        >>> s2.shape, term.tolist(), model.last_reward.tolist()
        ((2, 4), [False, False], [1.0, 1.0])
    """

    def __init__(self, env: gym.Env) -> None:
        u = env.unwrapped
        if not (hasattr(u, "set_state") and hasattr(u, "model") and hasattr(u, "data")):
            raise TypeError(
                f"MujocoModel needs a Gymnasium MuJoCo env (with set_state), got {type(u).__name__}"
            )
        obs, _ = u.reset(seed=0)
        nq, nv = u.model.nq, u.model.nv
        k = nq + nv - np.asarray(obs).shape[-1]
        layout = None
        if 0 <= k <= nq:
            layout = np.concatenate([u.data.qpos[k:], u.data.qvel])
        if layout is None or not np.allclose(layout, obs):
            raise ValueError(
                f"{u.spec.id if u.spec else type(u).__name__}: observations are not "
                "(qpos[k:], qvel), so they do not determine the simulator state; use an env "
                "whose observation is the state (e.g. HalfCheetah-v5, Hopper-v5, "
                "InvertedPendulum-v5) or write a model with your own set_state"
            )
        self.env, self.k, self.nq = u, k, nq
        self._prefix = u.data.qpos[:k].copy()
        self.last_reward = np.zeros(0)

    def sample(self, obs, action, rng=None):
        obs = np.asarray(obs, dtype=np.float64)
        action = np.asarray(action)
        nxt = np.empty_like(obs)
        term = np.zeros(obs.shape[0], bool)
        rew = np.empty(obs.shape[0])
        cut = self.nq - self.k
        for i in range(obs.shape[0]):
            qpos = np.concatenate([self._prefix, obs[i, :cut]])
            self.env.set_state(qpos, obs[i, cut:])
            o, r, terminated, _, _ = self.env.step(action[i])
            nxt[i], rew[i], term[i] = o, r, terminated
        self.last_reward = rew
        return nxt, term


def env_reward(env: gym.Env, model: MujocoModel | None = None) -> RewardFunction:
    """The env's own reward as a :class:`RewardFunction` r(obs, action, next_obs).

    - A :class:`~rewardshaping.envs.tabular.TabularEnv` (``env.unwrapped.mdp``): the exact
      R[s, a, s'].
    - A MuJoCo env: the reward the env pays for stepping ``action`` from the state ``obs``
      (through a :class:`MujocoModel`). MuJoCo dynamics are deterministic, so this reward is a
      function of (s, a); ``next_obs`` is ignored, which is what the canonicalisations need
      when they evaluate R at (s, a, S') for S' that the dynamics would not produce.

    Example:
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> import rewardshaping.envs
        >>> env = gym.make("rewardshaping/RandomMDP-v0", n_states=4, n_actions=2)
        >>> r = env_reward(env)
        >>> bool(r(np.array([1]), np.array([0]), np.array([3]))[0] == env.unwrapped.mdp.reward[1, 0, 3])
        True
    """
    u = env.unwrapped
    mdp = getattr(u, "mdp", None)
    if isinstance(mdp, TabularMDP):
        R = mdp.reward

        def tabular_reward(obs, action, next_obs):
            return R[np.asarray(obs, int), np.asarray(action, int), np.asarray(next_obs, int)]

        return RewardFunction(tabular_reward, name="env")
    if model is None:
        try:
            model = MujocoModel(env)
        except (TypeError, ValueError) as e:
            raise TypeError(
                "the env's own reward can be evaluated at arbitrary (s, a) only for tabular "
                f"envs and MuJoCo envs whose observation is the state: {e}"
            ) from None

    def stepped_reward(obs, action, next_obs):
        model.sample(obs, action)
        return model.last_reward.copy()

    return RewardFunction(stepped_reward, name="env")


def sample_space(space: spaces.Space, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform samples from a Discrete, MultiDiscrete or bounded Box space, using ``rng``.

    Example:
        >>> import numpy as np
        >>> from gymnasium import spaces
        >>> sample_space(spaces.Box(-1, 1, (2,)), 3, np.random.default_rng(0)).shape
        (3, 2)
    """
    if isinstance(space, spaces.Discrete):
        return space.start + rng.integers(0, space.n, size=n)
    if isinstance(space, spaces.MultiDiscrete):
        return rng.integers(0, space.nvec, size=(n, *space.nvec.shape)) + space.start
    if isinstance(space, spaces.Box):
        if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
            raise ValueError(
                f"cannot sample uniformly from an unbounded Box {space}; use rollout "
                "coverage (rollout_transitions) or pass samples"
            )
        return rng.uniform(space.low, space.high, size=(n, *space.shape)).astype(space.dtype)
    raise TypeError(f"cannot sample from a {type(space).__name__} space")


def rollout_transitions(
    env: gym.Env,
    n: int,
    *,
    policy: Callable[[Any, np.random.Generator], Any] | None = None,
    seed: int = 0,
) -> Transitions:
    """n transitions collected by running ``policy`` (default: uniform random) in ``env``.

    Episodes restart on termination or truncation; ``reward``, ``terminated`` and
    ``truncated`` are the env's. ``policy(obs, rng) -> action``.

    Example:
        >>> import gymnasium as gym
        >>> batch = rollout_transitions(gym.make("CartPole-v1"), 50, seed=0)
        >>> batch.obs.shape, batch.next_obs.shape, batch.num_envs
        ((50, 4), (50, 4), 50)
    """
    rng = np.random.default_rng(seed)
    act = policy or (lambda o, r: sample_space(env.action_space, 1, r)[0])
    obs_l, act_l, nxt_l, rew_l, term_l, trunc_l = [], [], [], [], [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(n):
        a = act(obs, rng)
        nxt, r, term, trunc, _ = env.step(a)
        for lst, v in zip(
            (obs_l, act_l, nxt_l, rew_l, term_l, trunc_l),
            (obs, a, nxt, r, term, trunc),
            strict=True,
        ):
            lst.append(v)
        obs = env.reset()[0] if term or trunc else nxt
    return Transitions.from_arrays(
        np.asarray(obs_l),
        np.asarray(act_l),
        np.asarray(nxt_l),
        np.asarray(rew_l),
        np.asarray(term_l),
        np.asarray(trunc_l),
    )


def space_transitions(
    observation_space: spaces.Space,
    action_space: spaces.Space,
    n: int,
    *,
    model: TransitionModel | None = None,
    seed: int = 0,
) -> Transitions:
    """n transitions with s and a uniform over their spaces; s' from ``model`` (T-coverage, as
    DARD and VAL want) or, without a model, uniform too (EPIC's coverage of all triples).

    Example:
        >>> from gymnasium import spaces
        >>> b = space_transitions(spaces.Discrete(5), spaces.Discrete(2), 4, seed=0)
        >>> b.obs.shape, b.action.shape, b.next_obs.shape
        ((4,), (4,), (4,))
    """
    rng = np.random.default_rng(seed)
    obs = sample_space(observation_space, n, rng)
    action = sample_space(action_space, n, rng)
    if model is None:
        nxt, term = sample_space(observation_space, n, rng), np.zeros(n, bool)
    else:
        nxt, term = model.sample(obs, action, rng)
    return Transitions.from_arrays(obs, action, nxt, np.zeros(n), term)

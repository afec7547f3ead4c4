"""Tabular Q-learning (Watkins & Dayan 1992) for small discrete envs, and value iteration.

:class:`TabularQ` keeps Q as a ``(num_states, num_actions)`` array and learns from batches of
transitions with one Numba call (:meth:`TabularQ.update`, applied in order, so repeated
state-action pairs in a batch update sequentially). The same method takes *extra* experiences,
which is how reward-machine methods reuse it: QRM/CRM (Toro Icarte et al. 2018) add one
counterfactual transition per machine state for every real step, through ``experience_fn`` in
:meth:`TabularQ.learn` or by calling :meth:`TabularQ.add_experiences`.

:func:`value_iteration` solves an MDP given as dense arrays; :func:`toytext_model` turns
Gymnasium's toy-text ``env.unwrapped.P`` (FrozenLake, CliffWalking, Taxi) into them, so a learned
Q-table can be checked against the optimum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numba
import numpy as np

from rewardshaping.agents.replay import Experiences
from rewardshaping.transitions import Transitions, batch_obs

__all__ = ["TabularQ", "value_iteration", "toytext_model"]


@numba.njit(cache=True)
def _q_update(q, visits, s, a, r, s2, terminated, alpha, gamma, td):
    for k in range(s.shape[0]):
        visits[s[k], a[k]] += 1
        target = r[k]
        if not terminated[k]:
            target += gamma * q[s2[k]].max()
        td[k] = target - q[s[k], a[k]]
        q[s[k], a[k]] += alpha * td[k]


class TabularQ:
    """Epsilon-greedy tabular Q-learning.

    Args:
        num_states, num_actions: table size.
        learning_rate: the step size alpha.
        gamma: the discount.
        epsilon: exploration rate of :meth:`act` (ties between greedy actions are broken at
            random, so an all-zero table explores uniformly).
        initial_value: initial Q (optimistic values encourage exploration).
        seed: seeds the exploration generator.

    Example:
        >>> import numpy as np
        >>> agent = TabularQ(3, 2, learning_rate=0.5, gamma=0.9, seed=0)
        >>> td = agent.update([0, 0], [1, 1], [1.0, 1.0], [1, 1], [True, True])
        >>> td.tolist(), float(agent.q[0, 1])
        ([1.0, 0.5], 0.75)
    """

    def __init__(
        self,
        num_states: int,
        num_actions: int,
        *,
        learning_rate: float = 0.1,
        gamma: float = 0.99,
        epsilon: float = 0.1,
        initial_value: float = 0.0,
        seed: int | None = None,
    ) -> None:
        if num_states < 1 or num_actions < 1:
            raise ValueError(f"need >= 1 state and action, got {num_states}, {num_actions}")
        if not 0 < learning_rate <= 1:
            raise ValueError(f"learning_rate must lie in (0, 1], got {learning_rate}")
        self.q = np.full((int(num_states), int(num_actions)), float(initial_value))
        #: How often each (state, action) pair was updated.
        self.visits = np.zeros(self.q.shape, dtype=np.int64)
        self.learning_rate = float(learning_rate)
        self.gamma = float(gamma)
        self.epsilon = float(epsilon)
        self.rng = np.random.default_rng(seed)
        self.steps = 0

    @property
    def num_states(self) -> int:
        return self.q.shape[0]

    def act(self, state: int, greedy: bool = False) -> int:
        """An epsilon-greedy action (greedy when ``greedy``), ties broken at random.

        It is a column of the table, in ``[0, num_actions)``: an env whose action space is
        ``Discrete(n, start=s)`` takes it plus ``s`` (as :meth:`learn` does).
        """
        if not greedy and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.q.shape[1]))
        row = self.q[int(state)]
        best = np.flatnonzero(row == row.max())
        return int(best[0] if len(best) == 1 else self.rng.choice(best))

    def update(self, states, actions, rewards, next_states, terminated) -> np.ndarray:
        """Q-learning updates for a batch of transitions, in order; returns the TD errors.

        ``terminated`` True means no bootstrap (a time-limit truncation is not terminated).
        """
        s = np.asarray(states, dtype=np.int64).reshape(-1)
        a = np.asarray(actions, dtype=np.int64).reshape(-1)
        r = np.asarray(rewards, dtype=np.float64).reshape(-1)
        s2 = np.asarray(next_states, dtype=np.int64).reshape(-1)
        done = np.asarray(terminated, dtype=np.bool_).reshape(-1)
        if not (len(s) == len(a) == len(r) == len(s2) == len(done)):
            raise ValueError("states, actions, rewards, next_states, terminated differ in length")
        for name, x, hi in (("state", s, self.q.shape[0]), ("next state", s2, self.q.shape[0])):
            if len(x) and (x.min() < 0 or x.max() >= hi):
                raise ValueError(f"{name} indices must lie in [0, {hi}), got {x.tolist()}")
        if len(a) and (a.min() < 0 or a.max() >= self.q.shape[1]):
            raise ValueError(f"actions must lie in [0, {self.q.shape[1]}), got {a.tolist()}")
        td = np.empty(len(s))
        _q_update(self.q, self.visits, s, a, r, s2, done, self.learning_rate, self.gamma, td)
        return td

    def add_experiences(
        self,
        batch: Experiences,
        state_fn: Callable[[Any], int] | None = None,
        action_start: int = 0,
    ) -> np.ndarray:
        """Learn from extra (e.g. counterfactual) transitions; ``state_fn`` maps observations
        to state indices (identity for integer observations); ``action_start`` is the start of
        the env's ``Discrete`` action space, which the batch's (env) actions lose to become
        table columns."""
        to_state = _state_mapper(state_fn)
        return self.update(
            [to_state(o) for o in batch.obs],
            np.asarray(batch.actions) - int(action_start),
            batch.rewards,
            [to_state(o) for o in batch.next_obs],
            batch.terminated,
        )

    def greedy_policy(self) -> np.ndarray:
        """The greedy action of every state (lowest index among ties)."""
        return self.q.argmax(axis=1)

    def learn(
        self,
        env: gym.Env,
        total_steps: int,
        *,
        state_fn: Callable[[Any], int] | None = None,
        experience_fn: Callable[[Transitions], Experiences | None] | None = None,
        seed: int | None = None,
        callback: Callable[[TabularQ, dict[str, float]], bool | None] | None = None,
    ) -> TabularQ:
        """Run Q-learning on a single Gymnasium env for ``total_steps`` steps.

        Args:
            env: a ``gymnasium.Env`` with Discrete actions. For ``Discrete(n, start=s)`` the
                env takes table column ``a`` as action ``a + s``.
            total_steps: env steps to take.
            state_fn: observation -> state index (default: the observation itself, minus the
                start of a ``Discrete`` observation space).
            experience_fn: called with every step's one-transition
                :class:`~rewardshaping.transitions.Transitions` (env actions); extra
                experiences it returns (observations mapped by ``state_fn``, env actions) are
                learned from as well.
            seed: the first reset's seed.
            callback: called after each episode with ``{"return", "length"}``; False stops.
        """
        to_state = _state_mapper(state_fn, env.observation_space)
        a_start = _start(env.action_space)
        obs, _ = env.reset(seed=seed)
        ep_return, ep_length = 0.0, 0
        for _ in range(int(total_steps)):
            s = to_state(obs)
            a = self.act(s)
            next_obs, r, terminated, truncated, info = env.step(a + a_start)
            self.update([s], [a], [r], [to_state(next_obs)], [terminated])
            if experience_fn is not None:
                batch = Transitions.from_arrays(
                    _batched(obs), np.array([a + a_start]), _batched(next_obs), [r], [terminated],
                    [truncated], {k: np.array([v]) for k, v in info.items()},
                )  # fmt: skip
                extra = experience_fn(batch)
                if extra is not None:
                    self.add_experiences(extra, to_state, a_start)
            self.steps += 1
            ep_return += float(r)
            ep_length += 1
            obs = next_obs
            if terminated or truncated:
                stop = callback is not None and (
                    callback(self, {"return": ep_return, "length": ep_length}) is False
                )
                ep_return, ep_length = 0.0, 0
                obs, _ = env.reset()
                if stop:
                    break
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "q": self.q.copy(),
            "visits": self.visits.copy(),
            "rng": self.rng.bit_generator.state,
            "steps": self.steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q[:] = state["q"]
        self.visits[:] = state["visits"]
        self.rng.bit_generator.state = state["rng"]
        self.steps = int(state["steps"])


def _state_mapper(
    state_fn: Callable[[Any], int] | None, space: gym.Space | None = None
) -> Callable[[Any], int]:
    """``state_fn``, else the observation as an index (minus a Discrete ``space``'s start)."""
    if state_fn is not None:
        return state_fn
    start = _start(space)
    return lambda o: int(o) - start


def _start(space: gym.Space | None) -> int:
    """The first value of a ``Discrete`` space (0 for any other)."""
    return int(space.start) if isinstance(space, gym.spaces.Discrete) else 0


def _batched(obs: Any) -> Any:
    # Dict and Tuple observations (a product env's {"obs", "machine_state"}) batched per field,
    # as a vector env gives them: np.asarray would make a 1-element object array.
    return batch_obs(obs)


def value_iteration(
    transitions: np.ndarray,
    rewards: np.ndarray,
    gamma: float,
    done: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iterations: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimal ``(V, Q)`` of a finite MDP.

    Args:
        transitions: ``T[s, a, s']`` probabilities, shape (S, A, S).
        rewards: ``R[s, a, s']`` (or ``R[s, a]``), the expected reward of the transition.
        gamma: discount in [0, 1) (or 1 when every policy terminates).
        done: ``D[s, a, s']`` True where the transition ends the episode (no bootstrap).
        tol: stop when the largest change of Q is below this.

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 1, 2)); T[0, 0, 1] = 1; T[1, 0, 1] = 1   # 0 -> 1 -> 1 ...
        >>> R = np.zeros((2, 1, 2)); R[0, 0, 1] = 1.0
        >>> V, Q = value_iteration(T, R, 0.5)
        >>> V.tolist()
        [1.0, 0.0]
    """
    t = np.asarray(transitions, dtype=np.float64)
    if t.ndim != 3 or t.shape[0] != t.shape[2]:
        raise ValueError(f"transitions must have shape (S, A, S), got {t.shape}")
    if not np.allclose(t.sum(-1), 1.0):
        raise ValueError("every transitions[s, a] must sum to 1")
    r = np.asarray(rewards, dtype=np.float64)
    if r.shape == t.shape[:2]:
        r = np.broadcast_to(r[..., None], t.shape)
    elif r.shape != t.shape:
        raise ValueError(f"rewards must have shape {t.shape[:2]} or {t.shape}, got {r.shape}")
    cont = np.ones_like(t) if done is None else 1.0 - np.asarray(done, dtype=np.float64)
    expected_r = (t * r).sum(-1)
    tc = t * cont
    q = np.zeros(t.shape[:2])
    for _ in range(max_iterations):
        new = expected_r + gamma * tc @ q.max(1)
        if np.abs(new - q).max() < tol:
            q = new
            break
        q = new
    return q.max(1), q


def toytext_model(env: gym.Env) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense ``(T, R, done)`` arrays from a toy-text env's ``unwrapped.P`` table.

    Example:
        >>> import gymnasium as gym
        >>> T, R, D = toytext_model(gym.make("FrozenLake-v1", is_slippery=False))
        >>> T.shape, float(R[14, 2, 15]), bool(D[14, 2, 15])
        ((16, 4, 16), 1.0, True)
    """
    p = getattr(env.unwrapped, "P", None)
    if not isinstance(p, dict):
        raise TypeError(f"{env} has no toy-text transition table (env.unwrapped.P)")
    s_n = env.observation_space.n
    a_n = env.action_space.n
    t = np.zeros((s_n, a_n, s_n))
    r = np.zeros((s_n, a_n, s_n))
    d = np.zeros((s_n, a_n, s_n), dtype=bool)
    for s, per_action in p.items():
        for a, outcomes in per_action.items():
            for prob, s2, rew, term in outcomes:
                if prob <= 0:
                    continue
                # Outcomes may repeat (slippery moves into a wall); merge them.
                r[s, a, s2] = (r[s, a, s2] * t[s, a, s2] + rew * prob) / (t[s, a, s2] + prob)
                t[s, a, s2] += prob
                d[s, a, s2] |= bool(term)
    return t, r, d

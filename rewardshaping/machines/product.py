"""The product of an environment and a reward machine, as Gymnasium wrappers.

The product MDP's state is (s, u): the env observation plus the machine state, which makes
non-Markovian tasks Markov (Toro Icarte et al. 2018). The observation is either a ``Dict``
(``{"obs": env obs, "machine_state": u}``) or a flat ``Box`` (flattened env obs + one-hot u).
The reward comes from the machine (``reward_mode="machine"``, as in the reference) or is added
to the env's (``"add"``). An episode terminates when the machine reaches a terminal state.

Every step also reports the counterfactual experiences of CRM: for every machine state u, where
the machine would have gone and what it would have paid on the same env transition
(``info["crm_next_state"]``, ``info["crm_reward"]``, ``info["crm_terminal"]``, one entry per
machine state, and ``info["crm_shaping"]`` with a potential), so that an off-policy learner can
learn about all machine states at once. ``info["env_terminated"]`` is the env's own termination
flag: the product's ``terminated`` also covers the machine's, and a learner must tell the two
apart (an env that ended leaves no future to bootstrap from in *any* machine state).

:class:`RewardMachineEnv` wraps a single env; its vector twin is
:class:`~rewardshaping.machines.product_vector.RewardMachineVectorEnv`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardshaping.machines.hierarchy import RewardMachineHierarchy
from rewardshaping.machines.labelling import InfoLabelling, Labelling
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.transitions import (
    Transitions,
    _is_leaf_tuple,
    batch_obs,
    copy_obs,
    single_info_as_vector,
)

__all__ = ["RewardMachineEnv", "ProductCore", "CounterfactualBatch"]

# The per-machine-state entries of a step's info (crm_shaping only with a potential; crm_paid:
# what the env pays from each machine state, its reward and shaping included).
CRM_INFO_KEYS = ("crm_next_state", "crm_reward", "crm_terminal", "crm_shaping", "crm_paid")

ObsMode = Literal["dict", "onehot"]
RewardMode = Literal["machine", "add"]
RewardFunctions = Mapping[str, Callable[[Transitions], np.ndarray]]


def _env_reward(batch: Transitions) -> np.ndarray:
    return batch.reward


class ProductCore:
    """What both wrappers share: labels -> machine step -> rewards, counterfactuals, observations.

    Args:
        machine: a :class:`RewardMachine` or a hierarchy (stepped through its flat equivalent).
        labelling: the labelling function; its propositions must include the machine's.
        obs_space: the env's single observation space.
        obs_mode, reward_mode, reward_functions, counterfactuals, potential, gamma: see
            :class:`RewardMachineEnv`.
    """

    def __init__(
        self,
        machine: RewardMachine | RewardMachineHierarchy,
        labelling: Labelling,
        obs_space: spaces.Space,
        *,
        obs_mode: ObsMode = "dict",
        reward_mode: RewardMode = "machine",
        reward_functions: RewardFunctions | None = None,
        counterfactuals: bool = True,
        potential: np.ndarray | None = None,
        gamma: float | None = None,
    ) -> None:
        if isinstance(machine, RewardMachineHierarchy):
            self.hierarchy: RewardMachineHierarchy | None = machine
            machine = machine.flatten()
        else:
            self.hierarchy = None
        if not isinstance(machine, RewardMachine):
            raise TypeError(f"expected a RewardMachine or hierarchy, got {type(machine).__name__}")
        if machine.calls:
            raise TypeError(
                f"machine {machine.name!r} has call edges; wrap its RewardMachineHierarchy instead"
            )
        if obs_mode not in ("dict", "onehot"):
            raise ValueError(f"obs_mode must be 'dict' or 'onehot', got {obs_mode!r}")
        if reward_mode not in ("machine", "add"):
            raise ValueError(f"reward_mode must be 'machine' or 'add', got {reward_mode!r}")
        self.machine = machine
        self.labelling = labelling
        missing = [p for p in machine.propositions if p not in labelling.propositions]
        if missing:
            raise ValueError(
                f"the labelling reports {list(labelling.propositions)} but machine "
                f"{machine.name!r} needs {missing} too"
            )
        self.columns = np.array(
            [labelling.propositions.index(p) for p in machine.propositions], int
        )
        self.obs_mode = obs_mode
        self.reward_mode = reward_mode
        self.counterfactuals = counterfactuals
        functions: dict[str, Callable[[Transitions], np.ndarray]] = {"env_reward": _env_reward}
        functions.update(reward_functions or {})
        unknown = [f for f in machine.reward_functions if f not in functions]
        if unknown:
            raise KeyError(
                f"machine {machine.name!r} pays {[f + '()' for f in unknown]} but no such reward "
                f"functions were given; known: {sorted(functions)} (pass reward_functions=...)"
            )
        self.functions = {f: functions[f] for f in machine.reward_functions}
        if potential is not None:
            potential = np.asarray(potential, dtype=np.float64)
            if potential.shape != (machine.num_states,):
                raise ValueError(
                    f"potential must have one value per machine state ({machine.num_states}), "
                    f"got shape {potential.shape}"
                )
            if gamma is None:
                raise ValueError("a potential needs the learner's discount: pass gamma=")
        self.potential = potential
        self.gamma = gamma
        self.env_space = obs_space
        u_space = spaces.Discrete(machine.num_states)
        if obs_mode == "dict":
            self.observation_space: spaces.Space = spaces.Dict(
                {"obs": obs_space, "machine_state": u_space}
            )
        else:
            flat = spaces.flatten_space(obs_space)
            if not isinstance(flat, spaces.Box):
                raise TypeError(f"obs_mode='onehot' cannot flatten {obs_space}")
            n = machine.num_states
            self.observation_space = spaces.Box(
                np.concatenate([flat.low.astype(np.float32), np.zeros(n, np.float32)]),
                np.concatenate([flat.high.astype(np.float32), np.ones(n, np.float32)]),
                dtype=np.float32,
            )
        self._eye = np.eye(machine.num_states, dtype=np.float32)
        self._all_states = np.arange(machine.num_states)

    def reset_labels(self, world: Any, num_envs: int | None) -> np.ndarray:
        """``info["labels"]`` at a reset, in the machine's propositions like those of a step.

        The world's reset labels (in the labelling's columns) are projected when it reports
        them, else all False: a vector env stacks each step's infos from its sub-envs, so a
        reset and a step must report arrays of one width.
        """
        width = len(self.machine.propositions)
        shape = (width,) if num_envs is None else (num_envs, width)
        if world is not None:
            arr = np.asarray(world)
            if arr.dtype != object and arr.shape[-1:] == (len(self.labelling.propositions),):
                out = arr.astype(bool)[..., self.columns]
                if out.shape == shape:
                    return out
        return np.zeros(shape, bool)

    def observation(self, obs: Any, u: np.ndarray) -> Any:
        """Batched product observation from batched env obs and machine states (N,)."""
        if self.obs_mode == "dict":
            return {"obs": obs, "machine_state": np.asarray(u, dtype=np.int64)}
        return np.concatenate([_flatten_batch(self.env_space, obs), self._eye[u]], axis=1)

    def step(self, u: np.ndarray, batch: Transitions) -> dict[str, np.ndarray]:
        """Advance the machine on a batch; returns next states, rewards and counterfactuals."""
        labels = np.asarray(self.labelling(batch), dtype=bool)[:, self.columns]
        m = self.machine
        masks = m.labels_to_mask(labels)
        nxt, edges = m.transition(u, masks)
        named = {f: np.asarray(fn(batch), dtype=np.float64) for f, fn in self.functions.items()}
        reward = m.rewards(u, edges, named)
        out = {"labels": labels, "next_state": nxt, "machine_reward": reward}
        if self.potential is not None:
            out["machine_shaping"] = self._shaping(u, nxt, batch.terminated)
        if self.counterfactuals:
            n, k = labels.shape[0], m.num_states
            all_u = np.broadcast_to(self._all_states, (n, k))
            c_next, c_edges = m.transition(all_u, np.broadcast_to(masks[:, None], (n, k)))
            c_named = {f: v[:, None] for f, v in named.items()}
            out["crm_next_state"] = c_next
            out["crm_reward"] = m.rewards(all_u, c_edges, c_named).astype(np.float32)
            out["crm_terminal"] = m.is_terminal[c_next]
            # What the product env would have paid from each u: the experiences must carry the
            # same reward as the real transition, or a CRM learner trains on another task.
            paid = out["crm_reward"].astype(np.float64)
            if self.reward_mode == "add":
                paid = paid + batch.reward[:, None]
            if self.potential is not None:
                out["crm_shaping"] = self._shaping(all_u, c_next, batch.terminated[:, None])
                paid = paid + out["crm_shaping"]
            out["crm_paid"] = paid.astype(np.float32)
        return out

    def _shaping(self, u: np.ndarray, nxt: np.ndarray, env_terminated: np.ndarray) -> np.ndarray:
        """``gamma * phi(u') - phi(u)``, with phi = 0 once the machine or the env has ended."""
        ended = self.machine.is_terminal[nxt] | env_terminated
        phi_next = np.where(ended, 0.0, self.potential[nxt])
        return self.gamma * phi_next - self.potential[u]

    def experiences(
        self,
        obs: Any,
        action: Any,
        next_obs: Any,
        out: Mapping[str, np.ndarray],
        env_terminated: np.ndarray,
        active: np.ndarray | None = None,
    ) -> CounterfactualBatch:
        """Counterfactual experiences of one batched step (CRM): for every env row and every
        live machine state u, ``((s, u), a, r_u, (s', u'_u), done_u)``.

        ``obs``/``next_obs`` are the env's batched observations (next_obs = the true final
        observation when an episode ended); ``out`` is :meth:`step`'s result.
        """
        m = self.machine
        live = np.flatnonzero(~m.is_terminal)
        rows = np.arange(out["crm_next_state"].shape[0])
        if active is not None:
            rows = rows[np.asarray(active, bool)]
        env_idx = np.repeat(rows, len(live))
        us = np.tile(live, len(rows))
        u_next = out["crm_next_state"][env_idx, us]
        ended = out["crm_terminal"][env_idx, us] | np.asarray(env_terminated, bool)[env_idx]
        take = _take_rows
        return CounterfactualBatch(
            obs=self.observation(take(obs, env_idx), us),
            action=np.asarray(action)[env_idx],
            reward=out["crm_paid"][env_idx, us],
            next_obs=self.observation(take(next_obs, env_idx), u_next),
            terminated=ended,
            env_index=env_idx,
            machine_state=us,
        )


@dataclass(frozen=True)
class CounterfactualBatch:
    """Experiences for an off-policy learner, one row per (env, live machine state).

    ``reward`` is what the product env would have paid from that machine state: the machine's
    reward, plus the env's with ``reward_mode="add"``, plus the shaping with a potential.
    """

    obs: Any
    action: np.ndarray
    reward: np.ndarray
    next_obs: Any
    terminated: np.ndarray
    env_index: np.ndarray
    machine_state: np.ndarray

    def __len__(self) -> int:
        return int(self.reward.shape[0])


def _take_rows(obs: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a batched observation (dicts and tuples of batches, at any depth)."""
    if isinstance(obs, Mapping):
        return {k: _take_rows(v, idx) for k, v in obs.items()}
    if isinstance(obs, tuple) and not _is_leaf_tuple(obs):
        return tuple(_take_rows(v, idx) for v in obs)
    if isinstance(obs, tuple):  # one str per env (a batched Text space)
        return tuple(obs[i] for i in idx)
    return np.asarray(obs)[idx]


def _batch_len(obs: Any) -> int:
    """The number of rows of a batched observation: the length of its first leaf."""
    while isinstance(obs, Mapping) or (isinstance(obs, tuple) and not _is_leaf_tuple(obs)):
        obs = next(iter(obs.values())) if isinstance(obs, Mapping) else obs[0]
    return len(obs)


def _flatten_batch(space: spaces.Space, obs: Any) -> np.ndarray:
    """Flattened rows (N, flatdim) of a batch of observations of ``space``.

    The row width comes from the space, never from the data: a batch may be empty (a step of
    only dummy reset rows leaves no counterfactual experiences), and an empty array has no
    width to infer.
    """
    if isinstance(space, spaces.Box):
        return np.asarray(obs, dtype=np.float32).reshape(np.shape(obs)[0], spaces.flatdim(space))
    if isinstance(space, spaces.Discrete):
        idx = np.asarray(obs, dtype=np.int64) - space.start
        return np.eye(space.n, dtype=np.float32)[idx]
    if isinstance(space, spaces.MultiDiscrete):
        nvec = space.nvec.reshape(-1)
        obs = np.asarray(obs, dtype=np.int64).reshape(np.shape(obs)[0], len(nvec))
        obs = obs - space.start.reshape(1, -1)
        parts = [np.eye(k, dtype=np.float32)[obs[:, i]] for i, k in enumerate(nvec)]
        return np.concatenate(parts, axis=1)
    n = _batch_len(obs)
    if n == 0:
        return np.zeros((0, spaces.flatdim(space)), dtype=np.float32)
    from rewardshaping.transitions import index_obs

    return np.stack([spaces.flatten(space, index_obs(obs, i)) for i in range(n)]).astype(np.float32)


def _propositions(machine: Any) -> tuple[str, ...]:
    flat = machine.flatten() if isinstance(machine, RewardMachineHierarchy) else machine
    return flat.propositions


def _default_labelling(env: Any, machine: Any) -> Labelling:
    try:  # the env, or any wrapper in its chain, may define its labelling
        lab = env.get_wrapper_attr("labelling")
    except AttributeError:
        lab = None
    if isinstance(lab, Labelling):
        return lab
    return InfoLabelling(_propositions(machine))


class RewardMachineEnv(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A single env times a reward machine.

    Args:
        env: a ``gymnasium.Env``.
        machine: a :class:`RewardMachine` or :class:`RewardMachineHierarchy`.
        labelling: L(s, a, s'); default: the env's own ``labelling`` attribute, else
            ``info["labels"]``.
        obs_mode: ``"dict"`` or ``"onehot"`` (a flat Box: flattened obs + one-hot u).
        reward_mode: ``"machine"`` (the machine's reward only) or ``"add"`` (env + machine).
        reward_functions: name -> ``fn(batch) -> (N,)`` for edges with named rewards;
            ``env_reward`` (the env's own reward) is built in.
        counterfactuals: report CRM experiences in the infos.
        potential: optional potential per machine state (see
            :func:`~rewardshaping.machines.shaping.machine_potential`); adds
            ``gamma * phi(u') - phi(u)`` (0 for terminal u') to the reward.
        gamma: the learner's discount, required with ``potential``.

    ``reset(options={"machine_state": u})`` starts the machine in state ``u`` (a name or index)
    instead of its initial state (one task of a
    :func:`~rewardshaping.machines.multitask.union_machine`).

    Infos: ``machine_state``, ``labels`` (bool per machine proposition), ``machine_reward``,
    ``world_reward`` (the wrapped env's own reward), ``env_terminated`` (the env's own
    termination, without the machine's), ``machine_shaping`` (with a potential) and
    ``crm_next_state``, ``crm_reward`` (the machine's reward), ``crm_terminal`` and
    ``crm_shaping`` (with a potential), one entry per machine state.
    :meth:`counterfactual_experiences` carries the full reward the product pays. The world's
    reward is not reported as ``env_reward``: that key is reserved for the untouched reward of a
    *shaped* env, which evaluation takes for the true return, and a product's true return is
    the reward it pays (the task's).

    A vector version exists,
    :class:`~rewardshaping.machines.product_vector.RewardMachineVectorEnv`.

    Example:
        >>> import gymnasium as gym
        >>> import rewardshaping.envs
        >>> from rewardshaping.envs.office import office_machine
        >>> env = RewardMachineEnv(gym.make("rewardshaping/OfficeWorld-v0"), office_machine(1))
        >>> obs, info = env.reset(seed=0)
        >>> obs["obs"].tolist(), int(obs["machine_state"])
        ([2, 1], 0)
        >>> for a in [1, 0, 1, 1, 2, 1, 0, 1, 1]:   # walk to the coffee at (8, 2)
        ...     obs, r, term, trunc, info = env.step(a)
        >>> obs["obs"].tolist(), int(obs["machine_state"]), info["labels"].tolist()
        ([8, 2], 1, [True, False, False])
        >>> info["crm_next_state"].tolist()  # from every machine state, on the same step
        [1, 1, 2, 3]
    """

    def __init__(
        self,
        env: gym.Env,
        machine: RewardMachine | RewardMachineHierarchy,
        labelling: Labelling | None = None,
        *,
        obs_mode: ObsMode = "dict",
        reward_mode: RewardMode = "machine",
        reward_functions: RewardFunctions | None = None,
        counterfactuals: bool = True,
        potential: np.ndarray | None = None,
        gamma: float | None = None,
    ) -> None:
        options = dict(
            obs_mode=obs_mode,
            reward_mode=reward_mode,
            reward_functions=reward_functions,
            counterfactuals=counterfactuals,
            potential=potential,
            gamma=gamma,
        )
        gym.utils.RecordConstructorArgs.__init__(
            self, machine=machine, labelling=labelling, **options
        )
        gym.Wrapper.__init__(self, env)
        labelling = labelling or _default_labelling(env, machine)
        self.core = ProductCore(machine, labelling, env.observation_space, **options)
        self.machine = self.core.machine
        self.observation_space = self.core.observation_space
        self.machine_state = self.machine.initial_index
        self._last_obs: Any = None
        # (batch, core output, machine state before the step) of the last step
        self._last_step: tuple[Transitions, dict[str, np.ndarray], int] | None = None

    def counterfactual_experiences(self, include_real: bool = True) -> CounterfactualBatch:
        """CRM experiences of the last step: one per live machine state (product observations
        in this wrapper's ``obs_mode``), for a DQN-style replay buffer.

        ``include_real=False`` leaves out the experience of the machine state the env was in,
        the real transition, which an SB3 algorithm already stores itself. The last step's
        experiences stay available after the ``reset()`` that follows its episode's end (SB3's
        vector envs reset inside ``step()``, and the final step is the one that pays); a reset
        in mid-episode, or the next step, replaces them.

        Example:
            >>> from rewardshaping.envs.office import OfficeWorld, office_machine
            >>> env = RewardMachineEnv(OfficeWorld(), office_machine(3), obs_mode="onehot")
            >>> _ = env.reset(seed=0)
            >>> _ = env.step(3)
            >>> exp = env.counterfactual_experiences()
            >>> len(exp), exp.obs.shape, exp.machine_state.tolist()
            (4, (4, 27), [0, 1, 2, 3])
        """
        if self._last_step is None or not self.core.counterfactuals:
            raise RuntimeError("no step with counterfactuals=True taken yet")
        batch, out, u = self._last_step
        env_terminated = batch.terminated
        exp = self.core.experiences(batch.obs, batch.action, batch.next_obs, out, env_terminated)
        if include_real:
            return exp
        keep = np.flatnonzero(exp.machine_state != u)
        return CounterfactualBatch(
            obs=_take_rows(exp.obs, keep), action=exp.action[keep], reward=exp.reward[keep],
            next_obs=_take_rows(exp.next_obs, keep), terminated=exp.terminated[keep],
            env_index=exp.env_index[keep], machine_state=exp.machine_state[keep],
        )  # fmt: skip

    def _obs(self, obs: Any, u: int) -> Any:
        out = self.core.observation(batch_obs(obs), np.array([u]))
        if isinstance(out, dict):
            return {"obs": obs, "machine_state": np.int64(u)}
        return out[0]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        start = self.machine.initial_index
        if options is not None and "machine_state" in options:
            # Start elsewhere in the machine, e.g. another task of a union machine.
            options = dict(options)
            start = _start_state(self.machine, options.pop("machine_state"))
            options = options or None
        obs, info = self.env.reset(seed=seed, options=options)
        if self._last_obs is not None:
            # A reset in mid-episode: that episode's last experiences are not "the last step"
            # any more. After an episode's end they are (see counterfactual_experiences).
            self._last_step = None
        self.machine_state = start
        self._last_obs = copy_obs(obs)  # the env may mutate and return this buffer next step
        info = dict(info)
        info["machine_state"] = self.machine_state
        info["labels"] = self.core.reset_labels(info.get("labels"), None)
        return self._obs(obs, self.machine_state), info

    def step(self, action: Any):
        if self._last_obs is None:
            raise gym.error.ResetNeeded("call reset() before step() on a RewardMachineEnv")
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        obs = copy_obs(obs)  # kept as next step's s and in the last step's experiences
        batch = Transitions.from_arrays(
            batch_obs(self._last_obs),
            batch_obs(action),
            batch_obs(obs),
            [float(env_reward)],
            [terminated],
            [truncated],
            infos=single_info_as_vector(info),
        )
        u = np.array([self.machine_state])
        out = self.core.step(u, batch)
        nxt = int(out["next_state"][0])
        machine_reward = float(out["machine_reward"][0])
        reward = machine_reward + (float(env_reward) if self.core.reward_mode == "add" else 0.0)
        info = dict(info)
        if "machine_shaping" in out:
            info["machine_shaping"] = float(out["machine_shaping"][0])
            reward += info["machine_shaping"]
        info["machine_state"] = nxt
        info["labels"] = out["labels"][0]
        info["machine_reward"] = machine_reward
        info["world_reward"] = float(env_reward)
        info["env_terminated"] = bool(terminated)
        if self.core.counterfactuals:
            for key in CRM_INFO_KEYS:
                if key in out:
                    info[key] = out[key][0]
        self._last_step = (batch, out, self.machine_state)
        self.machine_state = nxt
        terminated = bool(terminated) or bool(self.machine.is_terminal[nxt])
        self._last_obs = None if (terminated or truncated) else obs
        return self._obs(obs, nxt), reward, terminated, bool(truncated), info


def _start_state(machine: RewardMachine, state: Any) -> int:
    """The index of a start state given by name or index; refuses unknown and terminal states."""
    u = machine.index.get(state, -1) if isinstance(state, str) else int(state)
    if not 0 <= u < machine.num_states or machine.is_terminal[u]:
        raise ValueError(
            f"cannot start machine {machine.name!r} in state {state!r}: not one of its "
            f"non-terminal states"
        )
    return u

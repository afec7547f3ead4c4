"""The product of an environment and a reward machine, as Gymnasium wrappers.

The product MDP's state is (s, u): the env observation plus the machine state, which makes
non-Markovian tasks Markov (Toro Icarte et al. 2018). The observation is either a ``Dict``
(``{"obs": env obs, "machine_state": u}``) or a flat ``Box`` (flattened env obs + one-hot u).
The reward comes from the machine (``reward_mode="machine"``, as in the reference) or is added
to the env's (``"add"``). An episode terminates when the machine reaches a terminal state.

Every step also reports the counterfactual experiences of CRM: for every machine state u, where
the machine would have gone and what it would have paid on the same env transition
(``info["crm_next_state"]``, ``info["crm_reward"]``, ``info["crm_terminal"]``, one entry per
machine state), so that an off-policy learner can learn about all machine states at once.

:class:`RewardMachineEnv` wraps a single env; :class:`RewardMachineVectorEnv` wraps a Gymnasium
vector env with one batched labelling and machine call per step, honouring ``NEXT_STEP`` and
``SAME_STEP`` autoreset. When the machine (not the env) ends an episode the wrapper resets that
sub-env itself through ``reset(options={"reset_mask": ...})``; under ``NEXT_STEP`` this happens
on the following (dummy) step, after the sub-env has ignored-by-us executed that step's action.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from rewardshaping.machines.hierarchy import RewardMachineHierarchy
from rewardshaping.machines.labelling import InfoLabelling, Labelling
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.transitions import Transitions, batch_obs, set_obs_rows
from rewardshaping.wrappers.single import _vector_info
from rewardshaping.wrappers.vector import autoreset_mode_of

__all__ = ["RewardMachineEnv", "RewardMachineVectorEnv", "ProductCore", "CounterfactualBatch"]

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

    def observation(self, obs: Any, u: np.ndarray) -> Any:
        """Batched product observation from batched env obs and machine states (N,)."""
        if self.obs_mode == "dict":
            return {"obs": obs, "machine_state": np.asarray(u, dtype=np.int64)}
        return np.concatenate([_flatten_batch(self.env_space, obs), self._eye[u]], axis=1)

    def step(self, u: np.ndarray, batch: Transitions) -> dict[str, np.ndarray]:
        """Advance the machine on a batch; returns next states, rewards and counterfactuals."""
        labels = np.asarray(self.labelling(batch), dtype=bool)[:, self.columns]
        m = self.machine
        nxt, edges = m.transition(u, labels)
        named = {f: np.asarray(fn(batch), dtype=np.float64) for f, fn in self.functions.items()}
        reward = m.rewards(u, edges, named)
        out = {"labels": labels, "next_state": nxt, "machine_reward": reward}
        if self.potential is not None:
            phi_next = np.where(m.is_terminal[nxt] | batch.terminated, 0.0, self.potential[nxt])
            out["machine_shaping"] = self.gamma * phi_next - self.potential[u]
        if self.counterfactuals:
            n, k = labels.shape[0], m.num_states
            all_u = np.broadcast_to(self._all_states, (n, k))
            masks = m.labels_to_mask(labels)[:, None]
            c_next, c_edges = m.transition(all_u, np.broadcast_to(masks, (n, k)))
            c_named = {f: v[:, None] for f, v in named.items()}
            out["crm_next_state"] = c_next
            out["crm_reward"] = m.rewards(all_u, c_edges, c_named).astype(np.float32)
            out["crm_terminal"] = m.is_terminal[c_next]
        return out

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
            reward=out["crm_reward"][env_idx, us],
            next_obs=self.observation(take(next_obs, env_idx), u_next),
            terminated=ended,
            env_index=env_idx,
            machine_state=us,
        )


@dataclass(frozen=True)
class CounterfactualBatch:
    """Experiences for an off-policy learner, one row per (env, live machine state)."""

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
    if isinstance(obs, dict):
        return {k: _take_rows(v, idx) for k, v in obs.items()}
    return np.asarray(obs)[idx]


def _flatten_batch(space: spaces.Space, obs: Any) -> np.ndarray:
    if isinstance(space, spaces.Box):
        return np.asarray(obs, dtype=np.float32).reshape(np.shape(obs)[0], -1)
    if isinstance(space, spaces.Discrete):
        idx = np.asarray(obs, dtype=np.int64) - space.start
        return np.eye(space.n, dtype=np.float32)[idx]
    if isinstance(space, spaces.MultiDiscrete):
        obs = np.asarray(obs, dtype=np.int64).reshape(np.shape(obs)[0], -1) - space.start.reshape(
            1, -1
        )
        parts = [
            np.eye(k, dtype=np.float32)[obs[:, i]] for i, k in enumerate(space.nvec.reshape(-1))
        ]
        return np.concatenate(parts, axis=1)
    n = len(obs[next(iter(obs))]) if isinstance(obs, dict) else len(obs)
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
    ``env_reward``, ``machine_shaping`` (with a potential) and ``crm_next_state``,
    ``crm_reward``, ``crm_terminal`` (one entry per machine state).

    A vector version exists, :class:`RewardMachineVectorEnv`.

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

    def counterfactual_experiences(self) -> CounterfactualBatch:
        """CRM experiences of the last step: one per live machine state (product observations
        in this wrapper's ``obs_mode``), for a DQN-style replay buffer.

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
        batch, out = self._last_step
        env_terminated = batch.terminated
        return self.core.experiences(batch.obs, batch.action, batch.next_obs, out, env_terminated)

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
        self.machine_state = start
        self._last_obs = obs
        info = dict(info)
        info["machine_state"] = self.machine_state
        return self._obs(obs, self.machine_state), info

    def step(self, action: Any):
        if self._last_obs is None:
            raise gym.error.ResetNeeded("call reset() before step() on a RewardMachineEnv")
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        batch = Transitions.from_arrays(
            batch_obs(self._last_obs),
            batch_obs(action),
            batch_obs(obs),
            [float(env_reward)],
            [terminated],
            [truncated],
            infos=_vector_info(info),
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
        info["env_reward"] = float(env_reward)
        if self.core.counterfactuals:
            for key in ("crm_next_state", "crm_reward", "crm_terminal"):
                info[key] = out[key][0]
        self.machine_state = nxt
        self._last_step = (batch, out)
        terminated = bool(terminated) or bool(self.machine.is_terminal[nxt])
        self._last_obs = None if (terminated or truncated) else obs
        return self._obs(obs, nxt), reward, terminated, bool(truncated), info


class RewardMachineVectorEnv(VectorWrapper, gym.utils.RecordConstructorArgs):
    """A Gymnasium vector env times a reward machine (one batched labelling call per step).

    Arguments as for :class:`RewardMachineEnv`; ``env`` is a ``gymnasium.vector.VectorEnv`` in
    ``NEXT_STEP`` or ``SAME_STEP`` autoreset mode. Infos follow Gymnasium's vector layout
    (``info["crm_reward"]`` has shape (N, U), masked by ``info["_crm_reward"]``, False on the
    dummy reset steps of ``NEXT_STEP``). Under ``SAME_STEP``, ``info["final_obs"]`` holds the
    true final product observations of every episode that ended, by the env or the machine.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> import rewardshaping.envs
        >>> from rewardshaping.envs.office import office_machine
        >>> envs = RewardMachineVectorEnv(
        ...     gym.make_vec("rewardshaping/OfficeWorld-v0", 2, vectorization_mode="sync"),
        ...     office_machine(4))
        >>> obs, info = envs.reset(seed=0)
        >>> obs, r, term, trunc, info = envs.step(np.array([3, 1]))   # (1, 1) is room a
        >>> obs["machine_state"].tolist(), info["labels"].astype(int).tolist()
        ([1, 0], [[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    """

    def __init__(
        self,
        env: VectorEnv,
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
        if not isinstance(env, VectorEnv):
            raise TypeError(
                f"RewardMachineVectorEnv wraps a gymnasium.vector.VectorEnv, got "
                f"{type(env).__name__}; use RewardMachineEnv for a single env"
            )
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
        VectorWrapper.__init__(self, env)
        self.autoreset_mode = autoreset_mode_of(env)
        if labelling is None:
            # get_attr would *call* a callable attribute; read a sync env's first copy directly.
            subs = getattr(env.unwrapped, "envs", None)
            probe = _default_labelling(subs[0], machine) if subs else None
            labelling = probe if probe is not None else InfoLabelling(_propositions(machine))
        self.core = ProductCore(machine, labelling, env.single_observation_space, **options)
        self.machine = self.core.machine
        n = env.num_envs
        self.single_observation_space = self.core.observation_space
        self.observation_space = gym.vector.utils.batch_space(self.core.observation_space, n)
        self.machine_state = np.full(n, self.machine.initial_index, dtype=np.int64)
        self._last_obs: Any = None
        self._last_step: Any = None
        self._dummy = np.zeros(n, dtype=bool)  # NEXT_STEP: this step is a reset step
        self._machine_ended = np.zeros(n, dtype=bool)  # ...that we must perform ourselves

    def counterfactual_experiences(self) -> CounterfactualBatch:
        """CRM experiences of the last step for every real (non-reset) transition and every live
        machine state; ``env_index`` tells the sub-env of each row."""
        if self._last_step is None or not self.core.counterfactuals:
            raise RuntimeError("no step with counterfactuals=True taken yet")
        obs, actions, next_obs, out, env_terminated, active = self._last_step
        return self.core.experiences(obs, actions, next_obs, out, env_terminated, active)

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        mask = None if options is None else options.get("reset_mask")
        mask = np.ones(self.num_envs, bool) if mask is None else np.asarray(mask, bool)
        self.machine_state[mask] = self.machine.initial_index
        self._dummy[mask] = False
        self._machine_ended[mask] = False
        self._last_obs = _copy(obs)
        return self.core.observation(obs, self.machine_state), info

    def step(self, actions: Any):
        if self._last_obs is None:
            raise gym.error.ResetNeeded("call reset() before step() on a RewardMachineVectorEnv")
        n = self.num_envs
        obs, env_reward, terminated, truncated, info = self.env.step(actions)
        env_reward = np.asarray(env_reward, dtype=np.float64)
        terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
        info = dict(info)
        env_done = terminated | truncated
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            active = ~self._dummy
            if self._machine_ended.any():
                # The machine ended these episodes last step: the sub-env stepped on from its
                # old state just now; discard that and reset it, making this a reset step.
                obs, _ = self.env.reset(options={"reset_mask": self._machine_ended.copy()})
                terminated = np.where(self._machine_ended, False, terminated)
                truncated = np.where(self._machine_ended, False, truncated)
                env_done = terminated | truncated
            next_obs = obs
        else:
            active = np.ones(n, bool)
            next_obs = obs
            if env_done.any():
                next_obs = set_obs_rows(obs, np.flatnonzero(env_done), info["final_obs"])
        u = self.machine_state
        batch = Transitions.from_arrays(
            self._last_obs, actions, next_obs, env_reward, terminated, truncated, info, active
        )
        out = self.core.step(u, batch)
        nxt = np.where(active, out["next_state"], self.machine.initial_index)
        machine_reward = np.where(active, out["machine_reward"], 0.0)
        reward = machine_reward + (env_reward if self.core.reward_mode == "add" else 0.0)
        reward = np.where(active, reward, 0.0)
        if "machine_shaping" in out:
            shaping = np.where(active, out["machine_shaping"], 0.0)
            reward = reward + shaping
            info["machine_shaping"], info["_machine_shaping"] = shaping, active
        machine_done = active & self.machine.is_terminal[nxt]
        terminated = terminated | machine_done
        done = terminated | truncated
        info["env_reward"], info["_env_reward"] = env_reward, np.ones(n, bool)
        info["machine_reward"], info["_machine_reward"] = machine_reward, active
        info["labels"], info["_labels"] = out["labels"] & active[:, None], active
        if self.core.counterfactuals:
            for key in ("crm_next_state", "crm_reward", "crm_terminal"):
                info[key], info["_" + key] = out[key], active.copy()
        product_obs = self.core.observation(next_obs, nxt)
        self._last_step = (self._last_obs, actions, next_obs, out, batch.terminated, active)
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            info["machine_state"], info["_machine_state"] = nxt.copy(), np.ones(n, bool)
            self._machine_ended = machine_done & ~env_done
            self._dummy = done.copy()
            self.machine_state = nxt
            self._last_obs = _copy(obs)
            return product_obs, reward, terminated, truncated, info
        # SAME_STEP: finished sub-envs must already show their next episode's first obs.
        final_obs = product_obs
        reset_rows = machine_done & ~env_done
        if reset_rows.any():
            obs, _ = self.env.reset(options={"reset_mask": reset_rows.copy()})
        info["machine_state"], info["_machine_state"] = nxt.copy(), np.ones(n, bool)
        self.machine_state = np.where(done, self.machine.initial_index, nxt)
        if done.any():
            finals = np.empty(n, dtype=object)
            for i in np.flatnonzero(done):
                finals[i] = _row(final_obs, i)
            info["final_obs"], info["_final_obs"] = finals, done.copy()
        self._last_obs = _copy(obs)
        return self.core.observation(obs, self.machine_state), reward, terminated, truncated, info


def _start_state(machine: RewardMachine, state: Any) -> int:
    u = machine.index[state] if isinstance(state, str) else int(state)
    if not 0 <= u < machine.num_states or machine.is_terminal[u]:
        raise ValueError(f"cannot start machine {machine.name!r} in state {state!r}")
    return u


def _row(obs: Any, i: int) -> Any:
    if isinstance(obs, dict):
        return {k: _row(v, i) for k, v in obs.items()}
    return np.array(obs[i], copy=True)


def _copy(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: _copy(v) for k, v in obs.items()}
    return np.array(obs, copy=True)

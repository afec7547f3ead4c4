"""The product of a Gymnasium vector env and a reward machine: :class:`RewardMachineVectorEnv`.

One batched labelling and machine call per step for N sub-envs, honouring ``NEXT_STEP`` and
``SAME_STEP`` autoreset. When the machine (not the env) ends an episode the wrapper resets that
sub-env itself through ``reset(options={"reset_mask": ...})``; under ``NEXT_STEP`` this happens on
the following (dummy) step, after the sub-env has executed that step's action, which is
discarded. The single-env version is :class:`~rewardshaping.machines.product.RewardMachineEnv`;
both share :class:`~rewardshaping.machines.product.ProductCore`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from rewardshaping.machines.hierarchy import RewardMachineHierarchy
from rewardshaping.machines.labelling import InfoLabelling, Labelling
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.machines.product import (
    CRM_INFO_KEYS,
    CounterfactualBatch,
    ObsMode,
    ProductCore,
    RewardFunctions,
    RewardMode,
    _default_labelling,
    _propositions,
    _start_state,
)
from rewardshaping.transitions import Transitions, copy_obs, index_obs, set_obs_rows
from rewardshaping.wrappers.vector import autoreset_mode_of

__all__ = ["RewardMachineVectorEnv"]


class RewardMachineVectorEnv(VectorWrapper, gym.utils.RecordConstructorArgs):
    """A Gymnasium vector env times a reward machine (one batched labelling call per step).

    Arguments as for :class:`RewardMachineEnv`; ``env`` is a ``gymnasium.vector.VectorEnv`` in
    ``NEXT_STEP`` or ``SAME_STEP`` autoreset mode. Infos follow Gymnasium's vector layout
    (``info["crm_reward"]`` has shape (N, U), masked by ``info["_crm_reward"]``, False on the
    dummy reset steps of ``NEXT_STEP``). Under ``SAME_STEP``, ``info["final_obs"]`` holds the
    true final product observations of every episode that ended, by the env or the machine, and
    the labelling and named reward functions read a finished env's last info from
    ``info["final_info"]`` (the top-level info is already the next episode's reset info).
    ``info["world_reward"]`` is the env's own reward and ``info["env_terminated"]`` its own
    termination flag (see :class:`RewardMachineEnv`).

    Without a ``labelling``, the sub-envs' own ``labelling`` attribute is used (fetched through
    ``call`` from an ``AsyncVectorEnv``), else ``info["labels"]`` read in the machine's
    proposition order; a vector env that cannot be asked needs an explicit ``labelling``.

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
            labelling = _vector_default_labelling(env, machine)
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
        """Reset the sub-envs (those of ``options["reset_mask"]``, else all).

        ``options={"machine_state": u}`` starts the machine of the reset sub-envs in state ``u``
        (a name or index, or one per sub-env) instead of its initial state, as in
        :class:`RewardMachineEnv`; the episodes that autoreset later start in the initial state.
        """
        start = np.full(self.num_envs, self.machine.initial_index, dtype=np.int64)
        if options is not None and "machine_state" in options:
            # Ours, not the sub-envs': they would ignore it, or refuse it.
            options = dict(options)
            start = self._start_states(options.pop("machine_state"))
            options = options or None
        # Read the mask first: Gymnasium's vector envs pop it from the options.
        mask = None if options is None else options.get("reset_mask")
        mask = np.ones(self.num_envs, bool) if mask is None else np.array(mask, bool)
        obs, info = self.env.reset(seed=seed, options=options)
        self._last_step = None  # the last step's experiences belong to episodes now reset
        self.machine_state[mask] = start[mask]
        self._dummy[mask] = False
        self._machine_ended[mask] = False
        self._last_obs = copy_obs(obs)
        info = dict(info)
        info["labels"] = self.core.reset_labels(info.get("labels"), self.num_envs)
        info["_labels"] = np.asarray(info.get("_labels", mask), bool) | mask
        return self.core.observation(obs, self.machine_state), info

    def _start_states(self, states: Any) -> np.ndarray:
        """One start state per sub-env from ``options["machine_state"]``: one for all, or a
        sequence of one per sub-env."""
        n = self.num_envs
        if isinstance(states, str) or np.ndim(states) == 0:
            states = [states] * n
        elif len(states) != n:
            raise ValueError(
                f"options['machine_state'] holds {len(states)} states for {n} sub-envs; "
                f"give one state, or one per sub-env"
            )
        return np.array([_start_state(self.machine, s) for s in states], dtype=np.int64)

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
                # As on Gymnasium's own reset steps: the discarded step pays and reports nothing.
                env_reward = np.where(self._machine_ended, 0.0, env_reward)
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
        if batch.final_rows.any():
            # SAME_STEP: a finished env's top-level info is its reset info; the labelling and
            # the reward functions must see the info of the transition that ended the episode.
            batch = replace(batch, infos=_next_infos(batch))
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
        info["world_reward"], info["_world_reward"] = env_reward, np.ones(n, bool)
        info["env_terminated"], info["_env_terminated"] = batch.terminated.copy(), np.ones(n, bool)
        info["machine_reward"], info["_machine_reward"] = machine_reward, active
        info["labels"], info["_labels"] = out["labels"] & active[:, None], active
        if self.core.counterfactuals:
            for key in CRM_INFO_KEYS:
                if key in out:
                    info[key], info["_" + key] = out[key], active.copy()
        product_obs = self.core.observation(next_obs, nxt)
        self._last_step = (self._last_obs, actions, next_obs, out, batch.terminated, active)
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            info["machine_state"], info["_machine_state"] = nxt.copy(), np.ones(n, bool)
            self._machine_ended = machine_done & ~env_done
            self._dummy = done.copy()
            self.machine_state = nxt
            self._last_obs = copy_obs(obs)
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
        self._last_obs = copy_obs(obs)
        return self.core.observation(obs, self.machine_state), reward, terminated, truncated, info


def _vector_default_labelling(env: VectorEnv, machine: Any) -> Labelling:
    """The sub-envs' own labelling, as :func:`_default_labelling` finds it for a single env.

    Falling back to ``InfoLabelling(machine propositions)`` without asking would read a world's
    ``info["labels"]`` (world propositions, world order) as the machine's: wrong columns.
    """
    base = env.unwrapped
    subs = getattr(base, "envs", None)
    if subs:  # a sync env: read its first copy directly
        return _default_labelling(subs[0], machine)
    call = getattr(base, "call", None)
    if call is None:
        raise TypeError(
            f"cannot ask the sub-envs of {type(base).__name__} for their labelling; pass "
            f"labelling= explicitly (e.g. InfoLabelling(<the env's propositions, in its order>))"
        )
    # get_attr would *call* a Labelling (it is callable), so ask through get_wrapper_attr, and
    # first whether it exists: an error inside an AsyncVectorEnv worker ends that worker.
    if all(call("has_wrapper_attr", "labelling")):
        try:
            found = call("get_wrapper_attr", "labelling")[0]
        except Exception as err:  # e.g. a labelling that does not pickle
            raise TypeError(
                f"could not fetch the sub-envs' labelling from {type(base).__name__} ({err}); "
                f"pass labelling= explicitly"
            ) from err
        if isinstance(found, Labelling):
            return found
    return InfoLabelling(_propositions(machine))


def _next_infos(batch: Transitions) -> dict[str, Any]:
    """The step's infos with every finished env's row taken from ``info["final_info"]``.

    Rows and masks follow :meth:`Transitions.next_info`; nested info dicts (e.g. ``episode``)
    are merged the same way, one level down.
    """
    infos, final = batch.infos, batch.infos["final_info"]
    nobody = np.zeros(batch.num_envs, bool)  # merge only: the labelling reports what is missing
    merged = dict(infos)
    for key in set(infos) | set(final):
        if str(key).startswith("_") or key in ("final_info", "final_obs"):
            continue
        reported = batch.next_info_reported(key)
        if isinstance(final.get(key), dict):
            sub = {**infos.get(key, {}), "final_info": final[key]}
            sub["_final_info"] = batch.final_rows & reported
            merged[key] = _next_infos(replace(batch, infos=sub))
        else:
            merged[key] = batch.next_info(key, rows=nobody)
        merged["_" + key] = reported
    return merged


def _row(obs: Any, i: int) -> Any:
    """A copy of row ``i`` of a batched observation (dicts and tuples at any depth)."""
    return copy_obs(index_obs(obs, i))

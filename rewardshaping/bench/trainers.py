"""Agent backends for benchmark runs: train in chunks, evaluate, checkpoint, resume exactly.

A trainer is built for one :class:`~rewardshaping.bench.suite.RunSpec`. The runner calls
:meth:`Trainer.train` for one evaluation interval at a time, then :meth:`Trainer.evaluate`, then
saves :meth:`Trainer.state`. A resumed run builds the trainer from the saved state and continues
the same sequence of calls, so on CPU it ends with the same numbers as an uninterrupted run.
For ``sb3`` the state holds the VecEnv given to SB3 (SB3 adds its own ``VecTransposeImage`` for
image observations again when the model is rebuilt), the parameters and optimiser states, the
step, update and callback counters (``_n_calls`` drives DQN's target updates), the filled part of
an off-policy replay buffer, and the torch, NumPy, ``random`` and action-space RNG states.
Evaluation draws from its own seeded streams and puts every generator back, so evaluating never
changes training.

Backends: ``sb3`` (stable-baselines3 PPO/A2C/DQN through :class:`ShapedVecEnv`) and
``toolkit`` (the toolkit's vectorised PPO, :class:`rewardshaping.agents.ppo.PPO`, which also runs
natively batched envs such as ``rewardshaping/KeyDoor-v0``).
"""

from __future__ import annotations

import random
from typing import Any

import cloudpickle
import numpy as np
import torch

from rewardshaping.bench.suite import RunSpec
from rewardshaping.registry import ConfigError, make_term, make_wrapped_env

__all__ = ["Trainer", "SB3Trainer", "ToolkitPPOTrainer", "make_trainer"]


class Trainer:
    """Interface of an agent backend."""

    num_timesteps: int

    def train(self, steps: int) -> dict[str, float]:
        """Train for at least ``steps`` more env steps; return training statistics."""
        raise NotImplementedError

    def evaluate(self, episodes: int, seed: int) -> dict[str, float]:
        """Mean unshaped return and success rate over ``episodes`` seeded episodes."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly (picklable)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def _env_factory(run: RunSpec):
    def make():
        return make_wrapped_env(run.env.id, list(run.env.wrappers), **run.env.kwargs)

    return make


_SB3_ALGOS = ("PPO", "A2C", "DQN")


def _over_budget(algo: type, budget: int) -> type:
    """``algo`` with its schedules (DQN's epsilon, learning-rate or clip schedules) run over
    ``budget`` env steps.

    The runner calls ``learn`` once per evaluation interval, with ``reset_num_timesteps=False``,
    and SB3 measures progress against that call's end (``num_timesteps + steps``), so every
    schedule would run its whole course within each interval: DQN's epsilon would reach its
    floor at the first evaluation. Progress is measured against the run's budget instead.
    """

    class OverBudget(algo):
        def _update_current_progress_remaining(self, num_timesteps: int, total: int) -> None:
            super()._update_current_progress_remaining(num_timesteps, budget)

    OverBudget.__name__ = OverBudget.__qualname__ = algo.__name__
    return OverBudget


class SB3Trainer(Trainer):
    """stable-baselines3 algorithm on ``n_envs`` DummyVecEnv copies, shaped by the method's terms."""

    def __init__(self, run: RunSpec, state: dict[str, Any] | None = None) -> None:
        import stable_baselines3 as sb3
        from stable_baselines3.common.env_util import make_vec_env

        from rewardshaping.shaping.gamma import check_shaping_gamma
        from rewardshaping.wrappers.sb3 import ShapedVecEnv

        agent = run.method.agent
        algo = agent.get("algo", "PPO")
        if algo not in _SB3_ALGOS:
            raise ConfigError(f"{run.run_id}: agent.algo {algo!r} not in {list(_SB3_ALGOS)}")
        self.run = run
        torch.set_num_threads(1)  # runs are parallel processes; one thread each
        if state is None:
            venv = make_vec_env(
                _env_factory(run), n_envs=int(agent.get("n_envs", 8)), seed=run.seed
            )
            terms = [make_term(t, where=f"{run.run_id}.terms") for t in run.method.terms]
            if terms:
                venv = ShapedVecEnv(venv, terms, weight=run.method.weight)
        else:
            venv = cloudpickle.loads(state["venv"])
        # The VecEnv we built, before SB3 wraps it (VecTransposeImage for image observations,
        # whose cached class attributes cannot be pickled): this is what checkpoints save.
        self._venv = venv
        self.model = _over_budget(getattr(sb3, algo), run.budget)(
            agent.get("policy", "MlpPolicy"),
            venv,
            seed=run.seed,
            verbose=0,
            device=agent.get("device", "cpu"),
            **dict(agent.get("kwargs", {})),
        )
        check_shaping_gamma(venv, self.model)
        self.term_sums: dict[str, list[float]] = {}
        self.train_returns: list[float] = []
        if state is not None:
            self._restore(state)

    # -- training -----------------------------------------------------------------------------
    @property
    def num_timesteps(self) -> int:
        return int(self.model.num_timesteps)

    def train(self, steps: int) -> dict[str, float]:
        from stable_baselines3.common.callbacks import BaseCallback

        sums: dict[str, list[float]] = {}
        returns: list[float] = []

        class Collect(BaseCallback):
            def _on_step(self) -> bool:
                for info in self.locals["infos"]:
                    ep = info.get("episode_reward_terms")
                    if ep is not None:
                        for k, v in ep.items():
                            sums.setdefault(k, []).append(v)
                    if "episode" in info:
                        returns.append(float(info["episode"]["r"]))
                return True

        self.model.learn(steps, reset_num_timesteps=False, callback=Collect(), progress_bar=False)
        stats = {
            "train_return": float(np.mean(returns)) if returns else float("nan"),
            "train_episodes": float(len(returns)),
        }
        for k, v in sums.items():
            stats[f"term/{k}"] = float(np.mean(v))
        return stats

    def evaluate(self, episodes: int, seed: int) -> dict[str, float]:
        env = _env_factory(self.run)()
        returns = []
        # Evaluation samples from its own seeded streams (torch for PPO/A2C; the global NumPy
        # RNG and the action space's for DQN's epsilon-greedy predict), and puts every generator
        # back afterwards: training draws from the same ones, so it never sees an evaluation.
        space = self.model.action_space
        saved = (np.random.get_state(), random.getstate(), _space_rng_state(space))
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                np.random.seed(seed % 2**32)
                space.seed(seed)
                for j in range(episodes):
                    obs, _ = env.reset(seed=seed + j)
                    done, total = False, 0.0
                    while not done:
                        action, _ = self.model.predict(obs, deterministic=False)
                        obs, r, term, trunc, _ = env.step(action)
                        total += float(r)
                        done = term or trunc
                    returns.append(total)
        finally:
            np.random.set_state(saved[0])
            random.setstate(saved[1])
            _set_space_rng_state(space, saved[2])
            env.close()
        returns = np.array(returns)
        return {"eval_return": float(returns.mean()), "eval_success": float((returns > 0).mean())}

    # -- checkpoints --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        m = self.model
        return {
            "venv": cloudpickle.dumps(self._venv),
            "params": m.get_parameters(),
            "num_timesteps": m.num_timesteps,
            "n_updates": getattr(m, "_n_updates", 0),
            "last_obs": m._last_obs,
            "last_episode_starts": m._last_episode_starts,
            "ep_info_buffer": list(m.ep_info_buffer or []),
            "ep_success_buffer": list(m.ep_success_buffer or []),
            "counters": {k: getattr(m, k) for k in _SB3_COUNTERS if hasattr(m, k)},
            "replay_buffer": _replay_state(getattr(m, "replay_buffer", None)),
            "rng": (torch.get_rng_state(), np.random.get_state(), random.getstate()),
            "action_space_rng": _space_rng_state(m.action_space),
        }

    def _restore(self, s: dict[str, Any]) -> None:
        from collections import deque

        m = self.model
        m.set_parameters(s["params"], exact_match=True)
        m.num_timesteps = s["num_timesteps"]
        if hasattr(m, "_n_updates"):
            m._n_updates = s["n_updates"]
        # Checkpoints written before these entries existed restore as they did then.
        for k, v in s.get("counters", {}).items():
            setattr(m, k, v)
        if s.get("replay_buffer") is not None:
            _restore_replay(m.replay_buffer, s["replay_buffer"])
        m._last_obs = s["last_obs"]
        m._last_episode_starts = s["last_episode_starts"]
        m.ep_info_buffer = deque(s["ep_info_buffer"], maxlen=m._stats_window_size)
        m.ep_success_buffer = deque(s.get("ep_success_buffer", []), maxlen=m._stats_window_size)
        torch.set_rng_state(s["rng"][0])
        np.random.set_state(s["rng"][1])
        random.setstate(s["rng"][2])
        if s.get("action_space_rng") is not None:
            _set_space_rng_state(m.action_space, s["action_space_rng"])

    def close(self) -> None:
        self.model.env.close()


#: SB3 model attributes a resumed run needs besides parameters and timesteps: DQN's
#: ``_n_calls`` (target-update period), the episode count (``train_freq`` in episodes), the
#: current exploration rate and schedule progress, the off-policy last unnormalised observation.
_SB3_COUNTERS = (
    "_n_calls",
    "_episode_num",
    "exploration_rate",
    "_current_progress_remaining",
    "_last_original_obs",
)


def _space_rng_state(space: Any) -> dict[str, Any]:
    return space.np_random.bit_generator.state


def _set_space_rng_state(space: Any, state: dict[str, Any]) -> None:
    space.np_random.bit_generator.state = state


def _replay_state(buffer: Any) -> dict[str, Any] | None:
    """The filled part of an SB3 replay buffer (arrays of ``buffer_size`` rows, or dicts of
    them for dict observations), its position and whether it has wrapped around."""
    if buffer is None:
        return None
    # With optimize_memory_usage the next observation is written one row ahead of ``pos``.
    filled = buffer.buffer_size if buffer.full else min(buffer.pos + 1, buffer.buffer_size)

    def rows(v: Any) -> Any:
        if isinstance(v, np.ndarray) and v.ndim and v.shape[0] == buffer.buffer_size:
            return v[:filled].copy()
        if isinstance(v, dict) and v and all(isinstance(a, np.ndarray) for a in v.values()):
            return {k: r for k, a in v.items() if (r := rows(a)) is not None}
        return None

    arrays = {k: r for k, v in vars(buffer).items() if (r := rows(v)) is not None}
    return {"type": type(buffer).__name__, "pos": buffer.pos, "full": buffer.full, **arrays}


def _restore_replay(buffer: Any, state: dict[str, Any]) -> None:
    if state["type"] != type(buffer).__name__:
        raise ValueError(f"checkpoint holds a {state['type']}, the model a {type(buffer).__name__}")
    buffer.pos, buffer.full = state["pos"], state["full"]
    for k, v in state.items():
        if k in ("type", "pos", "full"):
            continue
        target = getattr(buffer, k)
        if isinstance(v, dict):
            for key, rows in v.items():
                target[key][: len(rows)] = rows
        else:
            target[: len(v)] = v


class ToolkitPPOTrainer(Trainer):
    """The toolkit's PPO; ``agent.kwargs`` are :class:`PPOConfig` fields (``n_envs`` sets
    ``num_envs``). Env wrappers are applied to each sub-env of a sync vector env; ids with a
    native batched implementation (``rewardshaping/...``) and no wrappers run natively.

    The config's ``vectorization`` (``auto``, ``sync`` or ``vector_entry_point``) and
    ``autoreset_mode`` (``NextStep`` or ``SameStep``) build the training and evaluation envs;
    the suite refuses ``async`` (sub-processes whose state a checkpoint cannot hold) and fields
    the suite sets itself (see :data:`rewardshaping.bench.suite.TOOLKIT_RESERVED`)."""

    def __init__(self, run: RunSpec, state: dict[str, Any] | None = None) -> None:
        from rewardshaping.agents.ppo import PPO, PPOConfig
        from rewardshaping.shaping.gamma import check_shaping_gamma

        agent = run.method.agent
        if agent.get("algo", "PPO") != "PPO":
            raise ConfigError(f"{run.run_id}: the toolkit backend runs algo PPO")
        self.run = run
        n = int(agent.get("n_envs", 8))
        values = {
            **dict(agent.get("kwargs", {})),
            "env_id": run.env.id,
            "num_envs": n,
            "seed": run.seed,
            "total_timesteps": run.budget,
            "torch_threads": 1,
            "device": agent.get("device", "cpu"),
            "env_kwargs": dict(run.env.kwargs),
            "log_dir": None,
        }
        try:
            config = PPOConfig.from_dict(values)
            # PPO trains whole rollouts: round the budget up so that it is reached.
            batch = config.batch_size
            config = PPOConfig.from_dict(
                {**values, "total_timesteps": -(-run.budget // batch) * batch}
            )
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{run.run_id}: bad toolkit PPO settings: {e}") from None
        envs = self._make_envs(n, config)
        terms = [make_term(t, where=f"{run.run_id}.terms") for t in run.method.terms]
        self.agent = PPO(config, envs, terms=terms or None, weight=run.method.weight)
        check_shaping_gamma(self.agent.envs, self.agent)
        self._eval_envs = None
        if state is not None:
            self.agent.load_state_dict(state)

    def _make_envs(self, n: int, config: Any) -> Any:
        import gymnasium as gym
        from gymnasium.vector import AutoresetMode

        from rewardshaping.agents.vector_envs import make_vector_env

        run = self.run
        if config.vectorization not in ("auto", "sync", "vector_entry_point"):
            raise ConfigError(
                f"{run.run_id}: the bench runs the toolkit on vectorization 'auto', 'sync' or "
                f"'vector_entry_point', not {config.vectorization!r}"
            )
        mode = AutoresetMode(config.autoreset_mode)
        if run.env.wrappers:
            if config.vectorization == "vector_entry_point":
                raise ConfigError(
                    f"{run.run_id}: env wrappers apply to single envs; vectorization "
                    "'vector_entry_point' cannot take them"
                )
            return gym.vector.SyncVectorEnv([_env_factory(run)] * n, autoreset_mode=mode)
        return make_vector_env(
            run.env.id,
            n,
            env_kwargs=run.env.kwargs,
            vectorization=config.vectorization,
            autoreset_mode=mode,
        )

    @property
    def num_timesteps(self) -> int:
        return int(self.agent.global_step)

    def train(self, steps: int) -> dict[str, float]:
        import math

        batch = self.agent.config.batch_size
        stats: list[dict[str, float]] = []
        self.agent.learn(
            max_iterations=max(1, math.ceil(steps / batch)),
            callback=lambda agent, s: stats.append(s),
        )
        out: dict[str, float] = {}
        returns = [s["episode/return_mean"] for s in stats if "episode/return_mean" in s]
        out["train_return"] = float(np.nanmean(returns)) if returns else float("nan")
        terms = self.agent.episodes.recent_term_means()
        if terms:
            out["term/env_reward"] = out["train_return"]
            out.update({f"term/{k}": float(v) for k, v in terms.items()})
        return out

    def evaluate(self, episodes: int, seed: int) -> dict[str, float]:
        from rewardshaping.agents.evaluation import evaluate_policy

        envs = self._make_envs(min(episodes, 8), self.agent.config)
        # The stochastic policy (a greedy one loops in gridworlds), sampled from a reseeded
        # generator that is put back afterwards, so that evaluation never perturbs training.
        gen = self.agent.generator
        saved = gen.get_state()
        gen.manual_seed(seed)
        try:
            res = evaluate_policy(
                lambda obs: self.agent.predict(obs, deterministic=False), envs, episodes, seed=seed
            )
        finally:
            gen.set_state(saved)
            envs.close()
        return {
            "eval_return": float(res.returns.mean()),
            "eval_success": float((res.returns > 0).mean()),
        }

    def state(self) -> dict[str, Any]:
        return self.agent.state_dict()

    def close(self) -> None:
        self.agent.envs.close()


def make_trainer(run: RunSpec, state: dict[str, Any] | None = None) -> Trainer:
    """The trainer of the run's backend, fresh or from a checkpoint state."""
    backend = run.method.agent.get("backend")
    if backend == "sb3":
        return SB3Trainer(run, state)
    if backend == "toolkit":
        return ToolkitPPOTrainer(run, state)
    raise ConfigError(f"{run.run_id}: unknown agent backend {backend!r}")

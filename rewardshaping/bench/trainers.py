"""Agent backends for benchmark runs: train in chunks, evaluate, checkpoint, resume exactly.

A trainer is built for one :class:`~rewardshaping.bench.suite.RunSpec`. The runner calls
:meth:`Trainer.train` for one evaluation interval at a time, then :meth:`Trainer.evaluate`, then
saves :meth:`Trainer.state`. A resumed run builds the trainer from the saved state and continues
the same sequence of calls, so on CPU it ends with the same numbers as an uninterrupted run.

Backends: ``sb3`` (stable-baselines3 PPO/A2C/DQN through :class:`ShapedVecEnv`).
"""

from __future__ import annotations

import random
from typing import Any

import cloudpickle
import numpy as np
import torch

from rewardshaping.bench.suite import RunSpec
from rewardshaping.registry import ConfigError, make_term, make_wrapped_env

__all__ = ["Trainer", "SB3Trainer", "make_trainer"]


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
        self.model = getattr(sb3, algo)(
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
        # Evaluation samples from its own RNG stream so that it never perturbs training.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for j in range(episodes):
                obs, _ = env.reset(seed=seed + j)
                done, total = False, 0.0
                while not done:
                    action, _ = self.model.predict(obs, deterministic=False)
                    obs, r, term, trunc, _ = env.step(action)
                    total += float(r)
                    done = term or trunc
                returns.append(total)
        env.close()
        returns = np.array(returns)
        return {"eval_return": float(returns.mean()), "eval_success": float((returns > 0).mean())}

    # -- checkpoints --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        m = self.model
        return {
            "venv": cloudpickle.dumps(m.env),
            "params": m.get_parameters(),
            "num_timesteps": m.num_timesteps,
            "n_updates": getattr(m, "_n_updates", 0),
            "last_obs": m._last_obs,
            "last_episode_starts": m._last_episode_starts,
            "ep_info_buffer": list(m.ep_info_buffer or []),
            "rng": (torch.get_rng_state(), np.random.get_state(), random.getstate()),
        }

    def _restore(self, s: dict[str, Any]) -> None:
        from collections import deque

        m = self.model
        m.set_parameters(s["params"], exact_match=True)
        m.num_timesteps = s["num_timesteps"]
        if hasattr(m, "_n_updates"):
            m._n_updates = s["n_updates"]
        m._last_obs = s["last_obs"]
        m._last_episode_starts = s["last_episode_starts"]
        m.ep_info_buffer = deque(s["ep_info_buffer"], maxlen=m._stats_window_size)
        m.ep_success_buffer = deque(maxlen=m._stats_window_size)
        torch.set_rng_state(s["rng"][0])
        np.random.set_state(s["rng"][1])
        random.setstate(s["rng"][2])

    def close(self) -> None:
        self.model.env.close()


def make_trainer(run: RunSpec, state: dict[str, Any] | None = None) -> Trainer:
    """The trainer of the run's backend, fresh or from a checkpoint state."""
    backend = run.method.agent.get("backend")
    if backend == "sb3":
        return SB3Trainer(run, state)
    raise ConfigError(f"{run.run_id}: unknown agent backend {backend!r}")

"""Craft world: stable-baselines3 PPO through the reward-machine product wrapper.

This checks the product wrapper with SB3's PPO (`rm_craft_ppo.py` runs the toolkit's own PPO):
a flat observation (the cell, one-hot, plus the one-hot machine state of the task's flat
machine), the machine's reward (1 when the task is done), 500-step episodes from random start
cells. Reported: the success rate and mean length of 10 deterministic evaluation episodes (start
cells drawn with seeds 0-9) at checkpoints.

Run (CPU, a few minutes):
    python experiments/rm_craft_ppo_sb3.py --task book --steps 200000 --seeds 2
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch
from rm_craft_ppo import evaluate  # the same evaluation episodes (experiments/ is on sys.path)
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import rewardshaping.envs  # noqa: F401  (registers the worlds)


def make(task: str, random_start: bool):
    def thunk():
        from rewardshaping.envs.craft import CraftWorld, craft_task
        from rewardshaping.machines.product import RewardMachineEnv

        env = RewardMachineEnv(
            CraftWorld(random_start=random_start), craft_task(task), obs_mode="onehot"
        )
        return gym.wrappers.TimeLimit(env, 500)

    return thunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="book")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"Craft task {args.task!r}, SB3 PPO, 8 envs, checkpoints every {args.steps // args.checkpoints} steps"
    )
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        venv = make_vec_env(make(args.task, random_start=True), n_envs=8, seed=seed)
        model = PPO(
            "MlpPolicy",
            venv,
            n_steps=256,
            batch_size=256,
            gamma=0.99,
            ent_coef=0.01,
            seed=seed,
            device="cpu",
            verbose=0,
        )
        row = []
        for c in range(args.checkpoints):
            model.learn(args.steps // args.checkpoints, reset_num_timesteps=(c == 0))
            success, length = evaluate(
                lambda o, m=model: m.predict(o, deterministic=True)[0], args.task
            )
            row.append(f"{model.num_timesteps}: {success:.0%} in {length:.0f} steps")
        print(
            f"seed {seed}: " + "; ".join(row) + f" ({time.perf_counter() - t0:.0f} s)", flush=True
        )


if __name__ == "__main__":
    main()

"""Craft world: the toolkit's PPO through the vector reward-machine product wrapper.

The counterpart of ``rm_craft_ppo_sb3.py`` with :class:`rewardshaping.agents.ppo.PPO`:
:class:`~rewardshaping.machines.product_vector.RewardMachineVectorEnv` over 8 Craft worlds
(random start cells, 500-step episodes), a flat observation (the cell, one-hot, plus the
one-hot state of the task's flat machine) and the machine's reward (1 when the task is done).
Reported: success rate and mean length of 10 greedy evaluation episodes (start cells drawn
with seeds 0-9) at checkpoints.

Run (CPU, about a minute per 100k steps):
    python experiments/rm_craft_ppo.py --task book --steps 400000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.envs.craft import CraftWorld, craft_task
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.product_vector import RewardMachineVectorEnv

HORIZON = 500


def make_envs(task: str, num_envs: int) -> RewardMachineVectorEnv:
    base = gym.vector.SyncVectorEnv(
        [lambda: gym.wrappers.TimeLimit(CraftWorld(random_start=True), HORIZON)] * num_envs
    )
    return RewardMachineVectorEnv(base, craft_task(task), obs_mode="onehot")


def evaluate(act, task: str, episodes: int = 10) -> tuple[float, float]:
    """Success rate and mean length of episodes from the start cells of seeds
    0..episodes-1; ``act(obs) -> action`` is the (greedy) policy."""
    env = gym.wrappers.TimeLimit(
        RewardMachineEnv(CraftWorld(random_start=True), craft_task(task), obs_mode="onehot"),
        HORIZON,
    )
    wins, lengths = 0, []
    for k in range(episodes):
        obs, _ = env.reset(seed=k)
        steps, term, trunc, r = 0, False, False, 0.0
        while not (term or trunc):
            obs, r, term, trunc, _ = env.step(act(obs))
            steps += 1
        wins += int(term and r > 0)
        lengths.append(steps)
    return wins / episodes, float(np.mean(lengths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="book")
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--envs", type=int, default=8)
    args = parser.parse_args()
    per_checkpoint = args.steps // args.checkpoints
    print(f"Craft task {args.task!r}, rewardshaping PPO, {args.envs} envs")
    for seed in args.seeds:
        t0 = time.perf_counter()
        config = PPOConfig(
            num_envs=args.envs,
            num_steps=256,
            total_timesteps=args.steps,
            gamma=0.99,
            ent_coef=0.01,
            learning_rate=3e-4,
            seed=seed,
            device="cpu",
        )
        agent = PPO(config, make_envs(args.task, args.envs))
        row = []
        for _ in range(args.checkpoints):
            agent.learn(max_iterations=per_checkpoint // config.batch_size)
            success, length = evaluate(lambda o, a=agent: int(a.predict(o[None])[0]), args.task)
            row.append(f"{agent.global_step}: {success:.0%} in {length:.0f} steps")
        print(f"seed {seed}: " + "; ".join(row) + f" ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

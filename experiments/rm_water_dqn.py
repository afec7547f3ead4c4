"""Water world: double DQN with and without counterfactual experiences (CRM).

Both learners are :class:`rewardshaping.machines.dqn.CounterfactualDQN`; the baseline stores
only the real transition of the machine state the agent is in, DQN + CRM stores one experience
per live machine state. Reported: task completions per --window training steps (epsilon-greedy
behaviour, epsilon = 0.1; a completed task ends the episode), per seed, and the mean.

Run (CPU; about 2 minutes per 100k steps and run on a shared core):
    python experiments/rm_water_dqn.py --task 1 --steps 100000 --seeds 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from gymnasium.wrappers import TimeLimit

from rewardshaping.envs.water import WaterWorld, water_machine
from rewardshaping.machines.dqn import CounterfactualDQN, DQNConfig
from rewardshaping.machines.product import CounterfactualBatch, RewardMachineEnv


def only_real(batch: CounterfactualBatch, u: int) -> CounterfactualBatch:
    keep = batch.machine_state == u
    return CounterfactualBatch(
        batch.obs[keep],
        batch.action[keep],
        batch.reward[keep],
        batch.next_obs[keep],
        batch.terminated[keep],
        batch.env_index[keep],
        batch.machine_state[keep],
    )


def run(task: int, crm: bool, seed: int, steps: int, window: int, config: DQNConfig) -> list[int]:
    env = TimeLimit(RewardMachineEnv(WaterWorld(), water_machine(task), obs_mode="onehot"), 600)
    agent = CounterfactualDQN(env.observation_space.shape[0], 5, config, seed=seed)
    obs, info = env.reset(seed=seed)
    u = 0
    completions, per_window = 0, []
    for step in range(1, steps + 1):
        a = agent.act(obs)
        obs, r, term, trunc, info = env.step(a)
        exp = env.env.counterfactual_experiences()  # the RewardMachineEnv under TimeLimit
        agent.observe(exp if crm else only_real(exp, u))
        u = info["machine_state"]
        completions += int(r > 0)
        if term or trunc:
            obs, info = env.reset()
            u = 0
        if step % window == 0:
            per_window.append(completions)
            completions = 0
    return per_window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only", choices=["dqn", "crm"], help="run one of the two learners")
    parser.add_argument("--gamma", type=float, default=DQNConfig.gamma)
    parser.add_argument("--lr", type=float, default=DQNConfig.lr)
    parser.add_argument("--target-every", type=int, default=DQNConfig.target_every)
    args = parser.parse_args()
    config = DQNConfig(gamma=args.gamma, lr=args.lr, target_every=args.target_every)
    torch.set_num_threads(1)
    print(
        f"Water task {args.task}: completions per {args.window} steps (epsilon 0.1), "
        f"{args.steps} steps, {config}"
    )
    for crm in [
        v for v in (False, True) if args.only is None or args.only == ("crm" if v else "dqn")
    ]:
        t0 = time.perf_counter()
        runs = [run(args.task, crm, s, args.steps, args.window, config) for s in range(args.seeds)]
        name = "DQN + CRM" if crm else "DQN"
        for s, r in enumerate(runs):
            print(f"{name:10s} seed {s}: {r}")
        print(
            f"{name:10s} mean  : {np.mean(runs, axis=0).round(1).tolist()} ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()

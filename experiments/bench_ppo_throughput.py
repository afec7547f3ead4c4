"""Throughput of the toolkit's PPO (env steps per second, updates included).

Three measurements, each printed as a table (and written as JSON with ``--out``):

* ``cartpole``: our PPO vs Stable-Baselines3's PPO on CartPole-v1 with identical
  hyperparameters (envs, steps per rollout, epochs, minibatches, 64-64 tanh actor and critic,
  learning rate, no value clipping, no learning-rate annealing). Both use one Python process
  with a Python-loop vector env (ours: Gymnasium's SyncVectorEnv; SB3: its DummyVecEnv); ours is
  also timed on CartPole's own batched implementation (``vector_entry_point``). The two sides
  alternate ``--repeats`` times; medians are reported.
* ``minigrid``: MiniGrid-DoorKey-5x5-v0 (image observations, the small MiniGrid CNN), N envs in
  one process: the env's raw stepping rate (random actions, same SyncVectorEnv) and our PPO's
  training rate; their ratio is the share of the env's speed that training keeps.
* ``gridworld``: our PPO on the Numba-batched rewardshaping/KeyDoor-v0 with 256 and 1024 envs,
  with 1 and 2 torch threads.

Each timing runs ``--iterations`` rollout+update iterations after one untimed warm-up
iteration. Measure on an idle machine if you can: wall-clock figures from a shared one are noisy,
which is why the two sides of every comparison alternate within one run.

Usage::

    python experiments/bench_ppo_throughput.py                    # everything
    python experiments/bench_ppo_throughput.py --part cartpole --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

from rewardshaping.agents.ppo import PPO, PPOConfig

CARTPOLE_SETTINGS = {
    # CleanRL's ppo.py defaults.
    "cleanrl (4 envs x 128 steps, 4 mb, 4 epochs)": dict(
        num_envs=4, num_steps=128, num_minibatches=4, update_epochs=4
    ),
    # SB3's defaults (2048 steps per rollout, minibatch 64, 10 epochs) spread over 8 envs.
    "sb3 (8 envs x 256 steps, 32 mb of 64, 10 epochs)": dict(
        num_envs=8, num_steps=256, num_minibatches=32, update_epochs=10
    ),
}
COMMON = dict(
    learning_rate=3e-4,
    gamma=0.99,
    gae_lambda=0.95,
    clip_coef=0.2,
    ent_coef=0.0,
    vf_coef=0.5,
    max_grad_norm=0.5,
    clip_vloss=False,  # SB3's default clip_range_vf=None
    anneal_lr=False,  # SB3's default constant learning rate
    hidden_sizes=(64, 64),
    device="cpu",
    seed=0,
    total_timesteps=10**9,
)


def time_ours(cfg: PPOConfig, iterations: int) -> tuple[float, float]:
    """(wall steps/s, process-CPU steps/s) over ``iterations`` after a warm-up iteration."""
    agent = PPO(cfg)
    agent.learn(max_iterations=1)
    wall, cpu = time.perf_counter(), time.process_time()
    agent.learn(max_iterations=iterations)
    steps = iterations * cfg.batch_size
    out = steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)
    agent.envs.close()
    return out


def time_sb3(setting: dict, iterations: int) -> tuple[float, float]:
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.env_util import make_vec_env

    n, t = setting["num_envs"], setting["num_steps"]
    env = make_vec_env("CartPole-v1", n_envs=n, seed=0)
    model = SB3PPO(
        "MlpPolicy",
        env,
        n_steps=t,
        batch_size=n * t // setting["num_minibatches"],
        n_epochs=setting["update_epochs"],
        learning_rate=COMMON["learning_rate"],
        gamma=COMMON["gamma"],
        gae_lambda=COMMON["gae_lambda"],
        clip_range=COMMON["clip_coef"],
        ent_coef=COMMON["ent_coef"],
        vf_coef=COMMON["vf_coef"],
        max_grad_norm=COMMON["max_grad_norm"],
        policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64])),  # tanh is SB3's default
        device="cpu",
        seed=0,
        verbose=0,
    )
    model.learn(n * t)
    wall, cpu = time.perf_counter(), time.process_time()
    model.learn(iterations * n * t, reset_num_timesteps=False)
    steps = iterations * n * t
    env.close()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def bench_cartpole(repeats: int, iterations: int) -> list[dict]:
    rows = []
    for name, setting in CARTPOLE_SETTINGS.items():
        res: dict[str, list[tuple[float, float]]] = {"ours": [], "ours_native": [], "sb3": []}
        for _ in range(repeats):
            cfg = PPOConfig(env_id="CartPole-v1", vectorization="sync", **setting, **COMMON)
            res["ours"].append(time_ours(cfg, iterations))
            res["sb3"].append(time_sb3(setting, iterations))
            native = PPOConfig(
                env_id="CartPole-v1", vectorization="vector_entry_point", **setting, **COMMON
            )
            res["ours_native"].append(time_ours(native, iterations))
        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
               for k, v in res.items()}  # fmt: skip
        rows.append(
            {
                "setting": name,
                "ours_sps": med["ours"][0],
                "sb3_sps": med["sb3"][0],
                "ratio_wall": med["ours"][0] / med["sb3"][0],
                "ratio_cpu": med["ours"][1] / med["sb3"][1],
                "ours_native_sps": med["ours_native"][0],
                "ratio_native_wall": med["ours_native"][0] / med["sb3"][0],
                "runs": {k: v for k, v in res.items()},
            }
        )
    return rows


def raw_env_rate(env_id: str, num_envs: int, steps: int) -> float:
    from rewardshaping.agents.vector_envs import make_vector_env

    envs = make_vector_env(env_id, num_envs, vectorization="sync")
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    n_act = envs.single_action_space.n
    actions = rng.integers(0, n_act, (steps, num_envs))
    envs.step(actions[0])
    start = time.perf_counter()
    for a in actions[1:]:
        envs.step(a)
    rate = (steps - 1) * num_envs / (time.perf_counter() - start)
    envs.close()
    return rate


def bench_minigrid(repeats: int, iterations: int, env_id: str, num_envs: int) -> list[dict]:
    cfg = PPOConfig(
        env_id=env_id,
        vectorization="sync",
        num_envs=num_envs,
        num_steps=128,
        num_minibatches=4,
        update_epochs=4,
        learning_rate=2.5e-4,
        hidden_sizes=(64, 64),
        device="cpu",
        seed=0,
        total_timesteps=10**9,
    )
    raw, train = [], []
    for _ in range(repeats):
        raw.append(raw_env_rate(env_id, num_envs, cfg.num_steps * iterations))
        train.append(time_ours(cfg, iterations)[0])
    r, t = statistics.median(raw), statistics.median(train)
    return [
        {
            "env": env_id,
            "num_envs": num_envs,
            "raw_env_sps": r,
            "train_sps": t,
            "fraction": t / r,
            "runs": {"raw": raw, "train": train},
        }
    ]


def bench_gridworld(repeats: int, iterations: int) -> list[dict]:
    rows = []
    for num_envs in (256, 1024):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            cfg = PPOConfig(
                env_id="rewardshaping/KeyDoor-v0",
                num_envs=num_envs,
                num_steps=128,
                num_minibatches=4,
                update_epochs=4,
                learning_rate=1e-3,
                hidden_sizes=(64, 64),
                device="cpu",
                seed=0,
                total_timesteps=10**9,
            )
            runs = [time_ours(cfg, iterations)[0] for _ in range(repeats)]
            rows.append(
                {
                    "num_envs": num_envs,
                    "threads": threads,
                    "train_sps": statistics.median(runs),
                    "runs": runs,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--part", choices=("all", "cartpole", "minigrid", "gridworld"), default="all"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (cartpole, minigrid)")
    parser.add_argument("--minigrid-env", default="MiniGrid-DoorKey-5x5-v0")
    parser.add_argument("--minigrid-envs", type=int, default=16)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    results: dict[str, list[dict]] = {}
    if args.part in ("all", "cartpole"):
        results["cartpole"] = bench_cartpole(args.repeats, args.iterations)
        print(
            "\n| CartPole-v1 setting | ours (sync) steps/s | SB3 steps/s | ratio (wall) | ratio (CPU time) | ours, batched CartPole | ratio |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in results["cartpole"]:
            print(
                f"| {r['setting']} | {r['ours_sps']:,.0f} | {r['sb3_sps']:,.0f} | "
                f"{r['ratio_wall']:.2f}x | {r['ratio_cpu']:.2f}x | {r['ours_native_sps']:,.0f} | "
                f"{r['ratio_native_wall']:.2f}x |"
            )
    if args.part in ("all", "minigrid"):
        import minigrid  # noqa: F401

        torch.set_num_threads(args.threads)
        results["minigrid"] = bench_minigrid(
            args.repeats, args.iterations, args.minigrid_env, args.minigrid_envs
        )
        print("\n| env | envs (1 process) | raw env steps/s | PPO training steps/s | fraction |")
        print("|---|---|---|---|---|")
        for r in results["minigrid"]:
            print(
                f"| {r['env']} | {r['num_envs']} | {r['raw_env_sps']:,.0f} | "
                f"{r['train_sps']:,.0f} | {r['fraction']:.0%} |"
            )
    if args.part in ("all", "gridworld"):
        results["gridworld"] = bench_gridworld(args.repeats, args.iterations)
        print(
            "\n| rewardshaping/KeyDoor-v0 envs | torch threads | PPO steps/s (updates included) |"
        )
        print("|---|---|---|")
        for r in results["gridworld"]:
            print(f"| {r['num_envs']} | {r['threads']} | {r['train_sps']:,.0f} |")
    print(f"\n# load after: {os.getloadavg()}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

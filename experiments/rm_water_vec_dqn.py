"""Water world at the reference's scale: the toolkit's vectorised DQN, with and without CRM.

``experiments/rm_water_dqn.py`` runs the small per-step :class:`CounterfactualDQN` and could
afford 300k steps on a shared CPU, where neither learner left the random policy's level. The
reference (Toro Icarte et al. 2022, ``scripts/run_water.sh``) trains for 2M steps with a
3 x 1024 MLP. This script gets there by running N Water worlds side by side under
:class:`~rewardshaping.machines.product_vector.RewardMachineVectorEnv` and training
:class:`rewardshaping.agents.dqn.DQN` (on a GPU when there is one):

* ``dqn``: only the real transition of each env step enters the replay buffer;
* ``crm``: ``experience_fn`` adds the counterfactual experience of every *other* live machine
  state (the real one is already stored), as in CRM;
* ``random``: uniformly random actions (epsilon 1, no updates), the reference level.

Epsilon anneals linearly from 1 to ``--end-e`` over the first ``--explore-fraction`` of
``--steps``: compare arms at equal env steps, and with the random arm only after the annealing.

Reported: task completions per ``--window`` env steps during training (epsilon-greedy), one
JSON line per window and run, flushed as it goes (``--out``), so an interrupted run keeps
what it measured. ``--task probe`` is the one-edge task "touch a green ball" (CRM adds nothing
there; it tests the learner alone).

    python experiments/rm_water_vec_dqn.py --task 1 --arms dqn crm --seeds 0 \
        --steps 2000000 --envs 16 --out runs/water_vec.jsonl
    python experiments/rm_water_vec_dqn.py --summarise runs/water_vec.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import TimeLimit

from rewardshaping.agents.dqn import DQN, DQNConfig
from rewardshaping.agents.replay import Experiences
from rewardshaping.envs.water import COLOURS, WaterWorld, water_machine
from rewardshaping.machines.product_vector import RewardMachineVectorEnv
from rewardshaping.machines.spec import parse_machine
from rewardshaping.transitions import Transitions

PROBE_SPEC = f"""
name: touch-green
propositions: [{", ".join(COLOURS)}]
initial: start
terminal: [done]
edges:
  - {{from: start, to: done, when: green, reward: 1}}
"""


def make_envs(task: str, num_envs: int) -> RewardMachineVectorEnv:
    """The Water product envs (unreset: ``DQN.learn`` resets them with the run's seed)."""
    machine = parse_machine(PROBE_SPEC, "yaml") if task == "probe" else water_machine(int(task))
    base = gym.vector.SyncVectorEnv([lambda: TimeLimit(WaterWorld(), 600)] * num_envs)
    envs = RewardMachineVectorEnv(base, machine, obs_mode="onehot")
    return envs


class Recorder:
    """``experience_fn``: counts completions per window, passing ``(env steps at the window's
    end, completions)`` to ``sink``, and, for CRM, returns the other machine states'
    experiences of the step."""

    def __init__(self, envs: RewardMachineVectorEnv, crm: bool, window: int, sink) -> None:
        self.envs, self.crm, self.window, self.sink = envs, crm, window, sink
        self.num_states = len(envs.machine.states)
        self.completions, self.next_report = 0, window

    def __call__(self, batch: Transitions) -> Experiences | None:
        self.completions += int((batch.reward[batch.active] > 0).sum())
        if batch.global_step + self.envs.num_envs >= self.next_report:
            self.sink(self.next_report, self.completions)
            self.completions, self.next_report = 0, self.next_report + self.window
        if not self.crm:
            return None
        exp = self.envs.counterfactual_experiences()
        # The real machine state of each row is the one-hot tail of the product observation.
        real = np.asarray(batch.obs)[exp.env_index, -self.num_states :].argmax(1)
        other = exp.machine_state != real
        return Experiences(
            exp.obs[other],
            exp.action[other],
            exp.reward[other],
            exp.next_obs[other],
            exp.terminated[other],
        )


def run(args: argparse.Namespace, arm: str, seed: int, out) -> None:
    envs = make_envs(args.task, args.envs)
    random_arm = arm == "random"
    config = DQNConfig(
        num_envs=args.envs,
        total_timesteps=args.steps,
        learning_rate=args.lr,
        buffer_size=args.buffer,
        gamma=args.gamma,
        target_network_frequency=args.target_every,
        batch_size=args.batch,
        start_e=1.0,
        end_e=1.0 if random_arm else args.end_e,
        exploration_fraction=args.explore_fraction,
        learning_starts=args.steps + 1 if random_arm else args.learning_starts,
        train_frequency=args.train_every,
        gradient_steps=1,
        double_q=True,
        hidden_sizes=tuple(args.hidden),
        seed=seed,
        device=args.device,
    )
    t0 = time.perf_counter()

    def sink(env_steps: int, completions: int) -> None:
        row = {
            "task": args.task,
            "arm": arm,
            "seed": seed,
            "env_steps": env_steps,
            "completions": completions,
            "seconds": round(time.perf_counter() - t0, 1),
        }
        out.write(json.dumps(row) + "\n")
        out.flush()
        print(json.dumps(row), flush=True)

    recorder = Recorder(envs, arm == "crm", args.window, sink)
    agent = DQN(config, envs, experience_fn=recorder)
    agent.learn()


def summarise(path: Path) -> None:
    """Print mean completions per window and arm (a task's runs cut to their common length)."""
    runs: dict[tuple[str, str, int], dict[int, int]] = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        runs.setdefault((r["task"], r["arm"], r["seed"]), {})[r["env_steps"]] = r["completions"]
    for task in sorted({k[0] for k in runs}):
        n = min(len(v) for k, v in runs.items() if k[0] == task)  # equal budgets across arms
        for arm in ("random", "dqn", "crm"):
            keys = sorted(k for k in runs if k[:2] == (task, arm))
            if not keys:
                continue
            table = np.array([[runs[k][s] for s in sorted(runs[k])[:n]] for k in keys])
            print(
                f"task {task} {arm:6s} ({len(keys)} seeds, {n} windows): "
                f"mean {table.mean(0).round(1).tolist()}; last two windows per seed "
                f"{table[:, -2:].mean(1).round(1).tolist()}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="1", choices=["probe", "1", "2", "3"])
    parser.add_argument(
        "--arms", nargs="+", default=["dqn", "crm"], choices=["dqn", "crm", "random"]
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=2_000_000)
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--window", type=int, default=50_000)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--gamma", type=float, default=0.9)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--buffer", type=int, default=200_000)
    parser.add_argument("--train-every", type=int, default=4, help="env steps per update")
    parser.add_argument("--target-every", type=int, default=1_000, help="env steps")
    parser.add_argument("--learning-starts", type=int, default=10_000)
    parser.add_argument("--explore-fraction", type=float, default=0.1)
    parser.add_argument("--end-e", type=float, default=0.1)
    parser.add_argument("--hidden", nargs="+", type=int, default=[256, 256, 256])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("runs/water_vec.jsonl"))
    parser.add_argument("--summarise", type=Path, help="print the table of a results file")
    args = parser.parse_args()
    if args.summarise is not None:
        summarise(args.summarise)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as out:
        for seed in args.seeds:
            for arm in args.arms:
                run(args, arm, seed, out)


if __name__ == "__main__":
    main()

"""Office world: steps until tabular Q-learning's greedy policy is optimal, on tasks 1-4.

Compares plain product-MDP Q-learning with counterfactual experiences (CRM; Toro Icarte et al.
2022) and with reward-machine shaping (value iteration over the machine, potential -V or +V).
A run's "steps to optimal" is the first evaluation point (every --eval-every training steps)
from which the greedy policy (first-argmax, deterministic) reaches the task's terminal reward
in the minimal number of steps at the next --stable evaluations too (training stops there); the
minimum comes from breadth-first search over the product of the grid and the machine. All
learners use optimistic initial values (q_init = 1, the largest return) so that epsilon-greedy
exploration is systematic; with q_init = 0 a random walk rarely gets past the plants at the doors.

With --multitask one agent learns the four tasks together, as in the reference experiments
(a union machine; episodes cycle through the tasks; counterfactual experiences update every
state of every task); a run is optimal when the greedy policy is optimal on all four tasks.

Run (tens of minutes on a shared core):
    python experiments/rm_office.py --seeds 5
    python experiments/rm_office.py --seeds 5 --multitask
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import numpy as np
from gymnasium.wrappers import TimeLimit

from rewardshaping.envs.office import LABEL, NEXT, PROPOSITIONS, START, OfficeWorld, office_machine
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.machines.multitask import task_initial_states, union_machine
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.qlearning import MachineQLearning, QLearningConfig
from rewardshaping.machines.shaping import machine_potential

METHODS = {
    "q-learning": dict(counterfactual=False, sign=None),
    "q-learning + RS(-V)": dict(counterfactual=False, sign=-1.0),
    "q-learning + RS(+V)": dict(counterfactual=False, sign=+1.0),
    "CRM": dict(counterfactual=True, sign=None),
    "CRM + RS(-V)": dict(counterfactual=True, sign=-1.0),
    "CRM + RS(+V)": dict(counterfactual=True, sign=+1.0),
}


def obs_index(o) -> int:
    return int(o[0]) + 12 * int(o[1])


def optimal_steps(rm: RewardMachine) -> int:
    """Fewest steps from the start to an accepting terminal state (BFS over grid x machine)."""
    start = (START, rm.initial_index)
    seen = {start}
    todo = deque([(start, 0)])
    while todo:
        ((x, y), u), d = todo.popleft()
        for a in range(4):
            x2, y2 = (int(v) for v in NEXT[x, y, a])
            k = LABEL[x2, y2]
            labels = {PROPOSITIONS[k]} if k >= 0 else set()
            u2, r = rm.step(u, labels)
            if rm.is_terminal[u2]:
                if rm.states[u2] in rm.accepting and r > 0:
                    return d + 1
                continue
            if ((x2, y2), u2) not in seen:
                seen.add(((x2, y2), u2))
                todo.append((((x2, y2), u2), d + 1))
    raise RuntimeError("task cannot be completed")


def greedy_is_optimal(agent: MachineQLearning, env, optimum: int, start: int | None = None) -> bool:
    obs, _ = env.reset(options=None if start is None else {"machine_state": start})
    for t in range(optimum):
        obs, r, term, trunc, info = env.step(agent.greedy_action(obs))
        if term or trunc:
            return term and r > 0 and t + 1 == optimum
    return False


def run(
    tasks: list[int],
    method: str,
    seed: int,
    budget: int,
    eval_every: int,
    stable: int,
    q_init: float,
) -> int | None:
    """Steps until the greedy policy is optimal on every task (None: not within the budget).
    Several tasks share one agent through their union machine; episodes cycle through them."""
    machines = {f"t{k}": office_machine(k) for k in tasks}
    rm = machines[f"t{tasks[0]}"] if len(tasks) == 1 else union_machine(machines, name="office")
    starts = [rm.initial_index] if len(tasks) == 1 else task_initial_states(rm, list(machines))
    optima = [optimal_steps(m) for m in machines.values()]
    spec = METHODS[method]
    gamma = 0.9
    potential = None if spec["sign"] is None else machine_potential(rm, gamma, spec["sign"])
    cfg = QLearningConfig(
        gamma=gamma, counterfactual=spec["counterfactual"], potential=potential, q_init=q_init
    )
    env = TimeLimit(
        RewardMachineEnv(OfficeWorld(), rm, counterfactuals=spec["counterfactual"]), 1000
    )
    eval_env = RewardMachineEnv(OfficeWorld(), rm, counterfactuals=False)
    agent = MachineQLearning(12 * 9, 4, rm, cfg, obs_index=obs_index, seed=seed)
    episode = 0
    obs, _ = env.reset(seed=seed, options={"machine_state": starts[0]})
    first_optimal, streak = None, 0
    for step in range(1, budget + 1):
        a = agent.act(obs)
        nxt, r, term, trunc, info = env.step(a)
        agent.update(obs, a, nxt, info, term)
        obs = nxt
        if term or trunc:
            episode += 1
            obs, _ = env.reset(options={"machine_state": starts[episode % len(starts)]})
        if step % eval_every == 0:
            if all(
                greedy_is_optimal(agent, eval_env, o, u)
                for o, u in zip(optima, starts, strict=True)
            ):
                first_optimal = step if first_optimal is None else first_optimal
                streak += 1
                if streak > stable:
                    return first_optimal
            else:
                first_optimal, streak = None, 0
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 2, 3, 4])  # type: ignore
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=300_000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--stable", type=int, default=10)
    parser.add_argument("--q-init", type=float, default=1.0)
    parser.add_argument("--multitask", action="store_true", help="one agent, all four tasks")
    args = parser.parse_args()
    if args.multitask:
        args.tasks = ["all"]
    print(f"optimal steps: { {t: optimal_steps(office_machine(t)) for t in (1, 2, 3, 4)} }")
    print(
        f"budget {args.budget} steps, evaluation every {args.eval_every} (stable for "
        f"{args.stable} more), q_init {args.q_init}, seeds 0..{args.seeds - 1}"
    )
    print("| task | method | steps to optimal: median (min-max) | runs optimal | seconds |")
    print("|---|---|---|---|---|")
    for task in args.tasks:
        medians = {}
        for method in args.methods:
            t0 = time.perf_counter()
            common = (args.budget, args.eval_every, args.stable, args.q_init)
            task_list = [1, 2, 3, 4] if task == "all" else [task]
            steps = [run(task_list, method, s, *common) for s in range(args.seeds)]
            solved = [s for s in steps if s is not None]
            # Unsolved runs count as the budget (a lower bound) in the median.
            filled = [s if s is not None else args.budget for s in steps]
            medians[method] = float(np.median(filled))
            rng = f"{min(filled)}-{max(filled)}"
            print(
                f"| {'all four' if task == 'all' else f't{task}'} | {method} | {medians[method]:.0f} ({rng}) | {len(solved)}/{len(steps)} "
                f"| {time.perf_counter() - t0:.0f} |",
                flush=True,
            )
        if "q-learning" in medians and "CRM" in medians:
            print(
                f"| {'all four' if task == 'all' else f't{task}'} | ratio q-learning / CRM | {medians['q-learning'] / medians['CRM']:.1f}x | | |"
            )


if __name__ == "__main__":
    main()

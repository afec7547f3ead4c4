"""Craft world: a handcrafted hierarchy of reward machines vs its flat equivalent.

Furelos-Blanco et al. (2023) report that exploiting a handcrafted hierarchy converges faster
than exploiting its flat equivalent. Here both are learned by the same tabular option learner
(``rewardshaping.machines.options``): leaf options per formula learned off-policy from every
step, SMDP Q-learning of each machine's policy over its edges. The hierarchy shares each
machine's policy across all its calls; the flat machine learns every copy on its own. Flat
product Q-learning with counterfactual experiences (CRM) is shown for reference.

"Steps to success" is the first evaluation (every --eval-every training steps) from which the
greedy policy completes the task within --cap steps at the next --stable evaluations too.

Run (several minutes on one core):
    python experiments/rm_craft_hierarchy.py --seeds 5
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import numpy as np
from gymnasium.wrappers import TimeLimit

from rewardshaping.envs.craft import (
    LABEL,
    LAVA,
    MOVES,
    PROPOSITIONS,
    SIZE,
    START,
    CraftWorld,
    craft_task,
)
from rewardshaping.machines.options import OptionConfig, OptionLearner, flat_hierarchy
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.qlearning import MachineQLearning, QLearningConfig


def obs_index(o) -> int:
    return int(o[0]) + SIZE * int(o[1])


def optimal_steps(machine) -> int:
    start = (START, machine.initial_index)
    seen, todo = {start}, deque([(start, 0)])
    while todo:
        ((x, y), u), d = todo.popleft()
        for dx, dy in MOVES:
            x2, y2 = min(max(x + dx, 0), SIZE - 1), min(max(y + dy, 0), SIZE - 1)
            k = LABEL[x2, y2]
            if k == LAVA:
                continue
            u2, r = machine.step(u, {PROPOSITIONS[k]} if k >= 0 else set())
            if machine.is_terminal[u2]:
                if r > 0:
                    return d + 1
                continue
            if ((x2, y2), u2) not in seen:
                seen.add(((x2, y2), u2))
                todo.append((((x2, y2), u2), d + 1))
    raise RuntimeError("unsolvable")


def evaluate(agent, env, cap: int, starts: int) -> float | None:
    """Mean greedy episode length over ``starts`` episodes (seeds 0..starts-1) when every one
    completes the task within ``cap`` steps, else None."""
    lengths = []
    for k in range(starts):
        n = evaluate_one(agent, env, cap, k)
        if n is None:
            return None
        lengths.append(n)
    return float(np.mean(lengths))


def evaluate_one(agent, env, cap: int, seed: int) -> int | None:
    obs, _ = env.reset(seed=seed)
    options = isinstance(agent, OptionLearner)
    if options:
        saved = (agent.plan, agent.leaf, agent.t)
        agent.begin_episode(obs)
    result = None
    for t in range(cap):
        a = agent.act(obs, greedy=True) if options else agent.greedy_action(obs)
        nxt, r, term, trunc, info = env.step(a)
        if options:
            agent.observe(obs, a, nxt, info, term, trunc, learn=False)
        obs = nxt
        if term:
            result = t + 1 if r > 0 else None
            break
    if options:
        agent.plan, agent.leaf, agent.t = saved
    return result


def world(args) -> CraftWorld:
    return CraftWorld(random_start=args.random_start)


def run(task: str, variant: str, seed: int, args) -> tuple[int | None, int | None]:
    h = craft_task(task)
    if variant == "flat CRM Q-learning":
        rm = h.flatten()
        agent = MachineQLearning(
            SIZE * SIZE, 4, rm, QLearningConfig(q_init=1.0), obs_index=obs_index, seed=seed
        )
        env = TimeLimit(RewardMachineEnv(world(args), rm), args.episode)
        eval_env = RewardMachineEnv(world(args), rm, counterfactuals=False)
    else:
        target = h if variant == "hierarchy (options)" else flat_hierarchy(h)
        agent = OptionLearner(
            target, SIZE * SIZE, 4, OptionConfig(), obs_index=obs_index, seed=seed
        )
        env = TimeLimit(RewardMachineEnv(world(args), target, counterfactuals=False), args.episode)
        eval_env = RewardMachineEnv(world(args), target, counterfactuals=False)
    options = isinstance(agent, OptionLearner)
    obs, _ = env.reset(seed=seed)
    if options:
        agent.begin_episode(obs)
    first, streak, length = None, 0, None
    for step in range(1, args.budget + 1):
        a = agent.act(obs)
        nxt, r, term, trunc, info = env.step(a)
        if options:
            agent.observe(obs, a, nxt, info, term, trunc)
        else:
            agent.update(obs, a, nxt, info, term)
        obs = nxt
        if term or trunc:
            obs, _ = env.reset()
            if options:
                agent.begin_episode(obs)
        if step % args.eval_every == 0:
            length = evaluate(agent, eval_env, args.cap, args.eval_starts)
            if length is not None:
                first = step if first is None else first
                streak += 1
                if streak > args.stable:
                    return first, length
            else:
                first, streak = None, 0
    return None, length


VARIANTS = ["hierarchy (options)", "flat (options)", "flat CRM Q-learning"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["book", "map", "book_and_quill", "cake"])
    parser.add_argument("--variants", nargs="+", default=VARIANTS)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=200_000)
    parser.add_argument("--episode", type=int, default=500)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--stable", type=int, default=5)
    parser.add_argument("--cap", type=int, default=200)
    parser.add_argument(
        "--random-start", action="store_true", help="start each episode on a random empty cell"
    )
    parser.add_argument("--eval-starts", type=int, default=1, help="evaluation episodes (seeds)")
    args = parser.parse_args()
    print(
        f"budget {args.budget}, episodes of {args.episode} steps, evaluation every "
        f"{args.eval_every} (greedy, success within {args.cap} steps, stable for {args.stable} "
        f"more), seeds 0..{args.seeds - 1}, random start {args.random_start}, "
        f"{args.eval_starts} evaluation episode(s)"
    )
    print(
        "| task (height, flat states) | variant | steps to success: median (min-max) | solved | greedy length (optimal from the centre) | seconds |"
    )
    print("|---|---|---|---|---|---|")
    for task in args.tasks:
        h = craft_task(task)
        opt = optimal_steps(h.flatten())
        for variant in args.variants:
            t0 = time.perf_counter()
            results = [run(task, variant, s, args) for s in range(args.seeds)]
            steps = [r[0] if r[0] is not None else args.budget for r in results]
            solved = sum(r[0] is not None for r in results)
            lengths = [r[1] for r in results if r[1] is not None]
            mean_len = f"{np.mean(lengths):.1f}" if lengths else "-"
            print(
                f"| {task} ({h.levels[task]}, {h.flatten().num_states}) | {variant} | "
                f"{np.median(steps):.0f} ({min(steps)}-{max(steps)}) | {solved}/{len(results)} | "
                f"{mean_len} ({opt}) | {time.perf_counter() - t0:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

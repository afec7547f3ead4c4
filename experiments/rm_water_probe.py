"""Water world probe: can our DQN learn even a one-event task ("touch a green ball")?

Why this exists: DQN with and without counterfactual experiences stayed at the random
policy's completion rate on Water task 1 for 300k steps (``experiments/rm_results.md``). This
probe removes the machine's structure from the question: the task is a single edge (touch
``--colour``, reward 1, episode ends), so CRM adds nothing and any failure is the learner's.
It prints completions per 5k steps for a uniformly random policy, a hand-written greedy policy
(accelerate towards the nearest ball of the colour, along the larger axis of the offset) and
:class:`rewardshaping.machines.dqn.CounterfactualDQN` with the given hyperparameters.

    python experiments/rm_water_probe.py --steps 40000 --lr 1e-3 --gamma 0.9
"""

from __future__ import annotations

import argparse
import dataclasses

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers import TimeLimit

from rewardshaping.agents.config_files import parse_overrides
from rewardshaping.envs.water import COLOURS, MAX_SPEED, WaterWorld
from rewardshaping.machines.dqn import CounterfactualDQN, DQNConfig
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.spec import parse_machine

WINDOW = 5000


class ScaledVelocities(gym.ObservationWrapper):
    """Multiply every velocity in a Water-world product observation by ``1 / MAX_SPEED``.

    Velocities are at most 0.03 while positions span 1: on raw inputs a network has to learn
    30x larger weights for the features that say where the agent is heading.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        n = env.observation_space.shape[0]
        self.scale = np.ones(n, np.float32)
        self.scale[2:4] = 1 / MAX_SPEED  # the agent's velocity
        balls = len(COLOURS) * 2
        for b in range(balls):
            self.scale[4 + 4 * b + 2 : 4 + 4 * b + 4] = 1 / MAX_SPEED
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return (observation * self.scale).astype(np.float32)


def one_event_env(colour: str) -> TimeLimit:
    spec = f"""
name: touch-{colour}
propositions: [{", ".join(COLOURS)}]
initial: start
terminal: [done]
edges:
  - {{from: start, to: done, when: {colour}, reward: 1}}
"""
    machine = parse_machine(spec, "yaml")
    return TimeLimit(RewardMachineEnv(WaterWorld(), machine, obs_mode="onehot"), 600)


def greedy_action(obs: np.ndarray, colour: str) -> int:
    """Accelerate towards the nearest ball of ``colour`` (obs layout: see WaterWorld)."""
    c = COLOURS.index(colour)
    offsets = np.stack([obs[4 + 4 * b : 6 + 4 * b] for b in (2 * c, 2 * c + 1)])
    d = offsets[np.argmin(np.linalg.norm(offsets, axis=1))]
    if abs(d[0]) > abs(d[1]):
        return 4 if d[0] > 0 else 3  # right / left
    return 1 if d[1] > 0 else 2  # up / down


def run(policy: str, args: argparse.Namespace) -> list[int]:
    env = one_event_env(args.colour)
    if args.scale_velocities and policy == "dqn":
        env = ScaledVelocities(env)
    rng = np.random.default_rng(args.seed)
    agent = None
    if policy == "dqn":
        extra = parse_overrides(args.set)
        if "hidden" in extra:  # one layer ("hidden=256") parses as a bare number
            extra["hidden"] = tuple(np.atleast_1d(extra["hidden"]).astype(int).tolist())
        config = DQNConfig(lr=args.lr, gamma=args.gamma, **extra)
        agent = CounterfactualDQN(env.observation_space.shape[0], 5, config, seed=args.seed)
    obs, _ = env.reset(seed=args.seed)
    done_in_window, out = 0, []
    for t in range(1, args.steps + 1):
        if policy == "random":
            a = int(rng.integers(5))
        elif policy == "greedy":
            a = greedy_action(obs, args.colour)
        else:
            a = agent.act(obs)
        obs, r, terminated, truncated, _ = env.step(a)
        if agent is not None:
            exp = env.get_wrapper_attr("counterfactual_experiences")()
            if args.scale_velocities:
                exp = dataclasses.replace(
                    exp, obs=exp.obs * env.scale, next_obs=exp.next_obs * env.scale
                )
            agent.observe(exp)
        done_in_window += int(r > 0)
        if terminated or truncated:
            obs, _ = env.reset()
        if t % WINDOW == 0:
            out.append(done_in_window)
            done_in_window = 0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--colour", default="green", choices=COLOURS)
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--lr", type=float, default=DQNConfig.lr)
    parser.add_argument("--gamma", type=float, default=DQNConfig.gamma)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="other DQNConfig fields, e.g. target_every=1000 hidden=256,256",
    )
    parser.add_argument("--scale-velocities", action="store_true", help="DQN sees v / 0.03")
    parser.add_argument("--policies", nargs="+", default=["random", "greedy", "dqn"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"touch {args.colour}: completions per {WINDOW} steps, {args.steps} steps, seed "
        f"{args.seed}, lr {args.lr}, gamma {args.gamma} {' '.join(args.set)}"
    )
    for policy in args.policies:
        counts = run(policy, args)
        print(f"{policy:7s} {counts} mean {np.mean(counts):.1f}", flush=True)


if __name__ == "__main__":
    main()

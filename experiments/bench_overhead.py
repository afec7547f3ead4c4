"""Overhead of the vector adapter: ShapedVectorEnv with one constant term vs the bare vector env.

Both sides step the same 16-env MiniGrid vector env (same seed, same actions) in interleaved
blocks, so that load from other processes hits both alike; the figure is the median over blocks
of the per-step time ratio. The adapter's own cost is also measured on a vector env whose step
is almost free, to show the absolute microseconds it adds per step.

    python experiments/bench_overhead.py [--env MiniGrid-DoorKey-8x8-v0] [--envs 16] [--blocks 30]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import gymnasium as gym
import minigrid  # noqa: F401  (registers MiniGrid envs)
import numpy as np

from rewardshaping import ShapedVectorEnv, StepPenalty


def time_block(envs, actions) -> float:
    t0 = time.perf_counter()
    for a in actions:
        envs.step(a)
    return (time.perf_counter() - t0) / len(actions)


def interleaved(make, n_envs, blocks, steps, seed=0):
    plain = make()
    shaped = ShapedVectorEnv(make(), StepPenalty(-0.01))
    rng = np.random.default_rng(seed)
    plain.reset(seed=seed)
    shaped.reset(seed=seed)
    n_actions = plain.single_action_space.n
    t_plain, t_shaped = [], []
    for b in range(blocks + 2):
        actions = rng.integers(0, n_actions, size=(steps, n_envs))
        first, second = ((plain, t_plain), (shaped, t_shaped))[:: 1 if b % 2 else -1]
        for envs, out in (first, second):
            out.append(time_block(envs, actions))
    t_plain, t_shaped = t_plain[2:], t_shaped[2:]  # warm-up blocks dropped
    ratios = [s / p for s, p in zip(t_shaped, t_plain, strict=True)]
    return statistics.median(t_plain), statistics.median(t_shaped), statistics.median(ratios)


class FreeVecEnv(gym.vector.VectorEnv):
    """A vector env whose step costs next to nothing: isolates the adapter's own cost."""

    def __init__(self, n):
        self.num_envs = n
        self.single_observation_space = gym.spaces.Box(0, 1, (7, 7, 3), np.uint8)
        self.single_action_space = gym.spaces.Discrete(7)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, n)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, n)
        self.metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}
        self._obs = np.zeros((n, 7, 7, 3), np.uint8)
        self._r = np.zeros(n)
        self._f = np.zeros(n, bool)

    def reset(self, *, seed=None, options=None):
        return self._obs, {}

    def step(self, actions):
        return self._obs, self._r, self._f, self._f, {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="MiniGrid-DoorKey-8x8-v0")
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--blocks", type=int, default=30)
    ap.add_argument("--steps", type=int, default=200, help="vector steps per block")
    args = ap.parse_args()

    free_plain, free_shaped, _ = interleaved(
        lambda: FreeVecEnv(args.envs), args.envs, args.blocks, 2000
    )
    adapter_us = (free_shaped - free_plain) * 1e6

    def make():
        return gym.make_vec(args.env, args.envs, vectorization_mode="sync")

    plain, shaped, ratio = interleaved(make, args.envs, args.blocks, args.steps)
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(f"adapter cost on a free env ({args.envs} envs): {adapter_us:.1f} us per vector step")
    print(
        f"{args.env} x{args.envs} (sync): bare {plain * 1e6:.0f} us/step, "
        f"shaped {shaped * 1e6:.0f} us/step"
    )
    print(f"overhead (median of {args.blocks} interleaved block ratios): {100 * (ratio - 1):+.2f}%")


if __name__ == "__main__":
    main()

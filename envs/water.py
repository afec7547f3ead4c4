"""Water world (after Toro Icarte et al. 2018): a continuous 2-D pool of coloured balls.

The agent is a ball steered by accelerations; twelve balls (two of each of six colours) drift
at constant speed and bounce off the walls. Touching a ball reports its colour as an event and
respawns that ball elsewhere. Tasks are reward machines over the colours, shipped as YAML specs
in ``machines/water/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardshaping.machines.labelling import InfoLabelling
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.machines.spec import load_machine

__all__ = ["WaterWorld", "water_machine", "water_task_env", "COLOURS", "WATER_TASKS"]

COLOURS = ("blue", "cyan", "green", "magenta", "red", "yellow")
BALLS_PER_COLOUR = 2
RADIUS = 0.03  # agent and balls, in a unit square
BALL_SPEED = 0.01
ACCEL = 0.004
MAX_SPEED = 0.03
#: Action -> acceleration: none, up, down, left, right.
ACCELERATIONS = np.array([[0, 0], [0, 1], [0, -1], [-1, 0], [1, 0]], dtype=np.float64) * ACCEL
SPEC_DIR = Path(__file__).resolve().parent / "machines" / "water"
WATER_TASKS = (1, 2, 3)


class WaterWorld(gym.Env):
    """Water world: steer through drifting coloured balls; colours touched are the events.

    ## Description
    A unit square. The agent (radius 0.03) starts at rest in the centre; 12 balls (two per
    colour: blue, cyan, green, magenta, red, yellow) start at random positions and move at
    speed 0.01 per step in random directions, bouncing off the walls. When the agent touches a
    ball, the ball's colour is an event of this step and the ball respawns at a random position
    at least 0.2 away from the agent, with a new random direction.

    ## Action Space
    ``Discrete(5)``: 0 none, 1 up, 2 down, 3 left, 4 right: adds 0.004 to the agent's velocity
    in that direction (speed capped at 0.03); the agent bounces off the walls.

    ## Observation Encoding
    ``Box(-2, 2, (52,), float32)``: agent position (2) and velocity (2), then for each ball in
    colour order its position relative to the agent (2) and its velocity (2).

    ## Events and labelling function
    ``info["labels"]``: a bool vector over ``COLOURS``, true for each colour touched during the
    step (several at once are possible). The events are not a function of ``next_obs`` (the
    ball has respawned), so the labelling is ``InfoLabelling(COLOURS)``, the env's
    ``labelling`` attribute.

    ## Rewards
    Always 0: rewards come from a reward machine.

    ## Termination
    Never terminates; registered versions truncate after 600 steps.

    ## Registered Configurations
    ``rewardshaping/WaterWorld-v0`` and ``rewardshaping/Water-T1-v0`` .. ``T3`` (products with a
    flat ``Box`` observation: env obs + one-hot machine state): T1 red then green; T2 red and
    green in any order, then blue; T3 red, green, blue, cyan in order, never touching yellow.

    Example:
        >>> env = WaterWorld()
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, obs[:4].tolist()
        ((52,), [0.5, 0.5, 0.0, 0.0])
        >>> obs, r, term, trunc, info = env.step(4)
        >>> round(float(obs[2]), 3), info["labels"].shape
        (0.004, (6,))
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        n = len(COLOURS) * BALLS_PER_COLOUR
        self.action_space = spaces.Discrete(len(ACCELERATIONS))
        self.observation_space = spaces.Box(-2.0, 2.0, (4 + 4 * n,), dtype=np.float32)
        self.render_mode = render_mode
        self.labelling = InfoLabelling(COLOURS)
        self.colour_of = np.repeat(np.arange(len(COLOURS)), BALLS_PER_COLOUR)
        self._agent = np.full(2, 0.5)
        self._agent_vel = np.zeros(2)
        self._balls = np.zeros((n, 2))
        self._ball_vel = np.zeros((n, 2))

    def _spawn(self, idx: np.ndarray) -> None:
        for i in idx:
            while True:
                p = self.np_random.uniform(RADIUS, 1 - RADIUS, size=2)
                if np.linalg.norm(p - self._agent) > 0.2:
                    break
            angle = self.np_random.uniform(0, 2 * np.pi)
            self._balls[i] = p
            self._ball_vel[i] = BALL_SPEED * np.array([np.cos(angle), np.sin(angle)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._agent = np.full(2, 0.5)
        self._agent_vel = np.zeros(2)
        self._spawn(np.arange(len(self._balls)))
        return self._obs(), {"labels": np.zeros(len(COLOURS), bool), "events": []}

    @staticmethod
    def _move(pos: np.ndarray, vel: np.ndarray) -> None:
        pos += vel
        low, high = pos < RADIUS, pos > 1 - RADIUS
        vel[low | high] *= -1
        np.clip(pos, RADIUS, 1 - RADIUS, out=pos)

    def step(self, action: Any):
        a = int(action)
        if not 0 <= a < len(ACCELERATIONS):
            raise ValueError(f"action must be 0..4 (none, up, down, left, right), got {action!r}")
        self._agent_vel += ACCELERATIONS[a]
        speed = np.linalg.norm(self._agent_vel)
        if speed > MAX_SPEED:
            self._agent_vel *= MAX_SPEED / speed
        self._move(self._agent, self._agent_vel)
        self._move(self._balls, self._ball_vel)
        touched = np.flatnonzero(np.linalg.norm(self._balls - self._agent, axis=1) < 2 * RADIUS)
        labels = np.zeros(len(COLOURS), dtype=bool)
        labels[self.colour_of[touched]] = True
        self._spawn(touched)
        info = {"labels": labels, "events": self.labelling.names(labels)}
        return self._obs(), 0.0, False, False, info

    def _obs(self) -> np.ndarray:
        rel = self._balls - self._agent
        parts = [
            self._agent,
            self._agent_vel,
            np.concatenate([rel, self._ball_vel], axis=1).ravel(),
        ]
        return np.concatenate(parts).astype(np.float32)

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        grid = [["." for _ in range(20)] for _ in range(20)]
        for (x, y), c in zip(self._balls, self.colour_of, strict=True):
            grid[19 - min(int(y * 20), 19)][min(int(x * 20), 19)] = COLOURS[c][0]
        x, y = self._agent
        grid[19 - min(int(y * 20), 19)][min(int(x * 20), 19)] = "A"
        return "\n".join("".join(r) for r in grid)


def water_machine(task: int) -> RewardMachine:
    """The reward machine of Water task 1-3.

    Example:
        >>> water_machine(2).states
        ('start', 'got_a', 'got_b', 'got_both', 'done')
    """
    if task not in WATER_TASKS:
        raise ValueError(f"Water world tasks are {WATER_TASKS}, got {task!r}")
    return load_machine(SPEC_DIR / f"t{task}.yaml")


def water_task_env(task: int = 1, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """The product of the Water world and task ``task`` (flat Box observations by default).

    Example:
        >>> water_task_env(3).observation_space.shape   # 52 features + 6 machine states
        (58,)
    """
    from rewardshaping.machines.product import RewardMachineEnv

    kwargs.setdefault("obs_mode", "onehot")
    return RewardMachineEnv(WaterWorld(render_mode), water_machine(task), **kwargs)

"""Half-Cheetah with x-position events (Toro Icarte et al. 2022's MuJoCo reward-machine tasks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rewardshaping.machines.labelling import Labelling
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.machines.spec import load_machine
from rewardshaping.transitions import Transitions

__all__ = [
    "HalfCheetahEvents",
    "CheetahLabelling",
    "cheetah_machine",
    "cheetah_task_env",
    "reward_control",
    "CHEETAH_TASKS",
]

PROPOSITIONS = ("a", "b", "c", "d", "e", "f", "g")
#: Event -> (sign, threshold): the event holds when sign * x > threshold.
THRESHOLDS = {
    "a": (1, 10.0),
    "b": (-1, 10.0),
    "c": (1, 2.0),
    "d": (-1, 2.0),
    "e": (1, 4.0),
    "f": (1, 6.0),
    "g": (1, 8.0),
}
SPEC_DIR = Path(__file__).resolve().parent / "machines" / "cheetah"
CHEETAH_TASKS = {"back_and_forth": "back_and_forth.txt", "far_forward": "far_forward.yaml"}


def x_events(x: np.ndarray) -> np.ndarray:
    """(N,) x positions -> (N, 7) bool events over ``PROPOSITIONS``.

    Example:
        >>> x_events(np.array([3.0, -11.0])).astype(int).tolist()
        [[0, 0, 1, 0, 0, 0, 0], [0, 1, 0, 1, 0, 0, 0]]
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    sign = np.array([THRESHOLDS[p][0] for p in PROPOSITIONS])
    bound = np.array([THRESHOLDS[p][1] for p in PROPOSITIONS])
    return sign * x > bound


class CheetahLabelling(Labelling):
    """L(s, a, s') from the x position in ``next_obs[:, 0]`` (kept in the observation).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> nxt = np.zeros((2, 18)); nxt[:, 0] = [5.0, -3.0]
        >>> labels = CheetahLabelling().sets(Transitions.from_arrays(nxt, np.zeros((2, 6)), nxt, [0, 0]))
        >>> [sorted(s) for s in labels]
        [['c', 'e'], ['d']]
    """

    propositions = PROPOSITIONS

    def __call__(self, batch: Transitions) -> np.ndarray:
        return x_events(np.asarray(batch.next_obs)[:, 0])


def reward_control(batch: Transitions) -> np.ndarray:
    """The reference's ``RewardControl()``: the env's control cost ``info["reward_ctrl"]``.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros(2), np.zeros(2), np.zeros(2), [0, 0],
        ...     infos={"reward_ctrl": np.array([-0.1, -0.2]), "_reward_ctrl": np.ones(2, bool)})
        >>> reward_control(b).tolist()
        [-0.1, -0.2]
    """
    return np.asarray(batch.info("reward_ctrl", term="RewardControl"), dtype=np.float64)


class HalfCheetahEvents(gym.Wrapper):
    """Half-Cheetah (Gymnasium ``HalfCheetah-v5``, x position kept in the observation) with events.

    ## Description
    The MuJoCo Half-Cheetah; its x position is ``obs[0]`` and ``info["x_position"]``.

    ## Action Space
    ``Box(-1, 1, (6,), float32)``: torques of the six joints (as ``HalfCheetah-v5``).

    ## Observation Encoding
    ``Box(-inf, inf, (18,), float64)``: ``HalfCheetah-v5`` with
    ``exclude_current_positions_from_observation=False`` (x position first).

    ## Events and labelling function
    Thresholds on the x position after the step (``info["labels"]``, :class:`CheetahLabelling`):

    | Event | Holds when |
    |-------|------------|
    | a | x > 10 |
    | b | x < -10 |
    | c | x > 2 |
    | d | x < -2 |
    | e | x > 4 |
    | f | x > 6 |
    | g | x > 8 |

    ## Rewards
    ``HalfCheetah-v5``'s own reward; the task machines replace it (``reward_mode="machine"``),
    paying ``RewardControl()`` = ``info["reward_ctrl"]`` (:func:`reward_control`) on most edges.

    ## Termination
    Never terminates. The registered ids truncate after 1000 steps (their ``TimeLimit``); the
    class itself, like Gymnasium's own env classes, never truncates.

    ## Registered Configurations
    ``rewardshaping/HalfCheetahRM-v0`` (this env) and ``rewardshaping/HalfCheetahRM-BackForth-v0``
    (the reference's task: past x > 2, then back past x < -2 for 1000, repeatedly),
    ``rewardshaping/HalfCheetahRM-FarForward-v0`` (checkpoints at x = 2, 4, 6, 8, then x > 10).

    Example:
        >>> env = HalfCheetahEvents()
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, info["labels"].tolist()
        ((18,), [False, False, False, False, False, False, False])
    """

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("exclude_current_positions_from_observation", False)
        if kwargs["exclude_current_positions_from_observation"]:
            raise ValueError("the events need the x position in the observation")
        super().__init__(gym.make("HalfCheetah-v5", render_mode=render_mode, **kwargs).unwrapped)
        self.labelling = CheetahLabelling()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info, labels=x_events(obs[:1])[0])
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info, labels=x_events(obs[:1])[0])
        return obs, reward, terminated, truncated, info


def cheetah_machine(task: str) -> RewardMachine:
    """The reward machine of a Half-Cheetah task (:data:`CHEETAH_TASKS`).

    Example:
        >>> cheetah_machine("back_and_forth").reward_functions
        ('RewardControl',)
    """
    if task not in CHEETAH_TASKS:
        raise ValueError(f"unknown Half-Cheetah task {task!r}; known: {sorted(CHEETAH_TASKS)}")
    path = SPEC_DIR / CHEETAH_TASKS[task]
    # Legacy specs end in the sink when no edge matches; every valuation matches here.
    return load_machine(path, on_ambiguous="first") if path.suffix == ".txt" else load_machine(path)


def cheetah_task_env(
    task: str = "back_and_forth", render_mode: str | None = None, **kwargs: Any
) -> gym.Env:
    """The product of :class:`HalfCheetahEvents` and a task (flat Box observations).

    Example:
        >>> env = cheetah_task_env("back_and_forth")
        >>> env.observation_space.shape   # 18 features + 3 machine states (the sink included)
        (21,)
    """
    from rewardshaping.machines.product import RewardMachineEnv

    kwargs.setdefault("obs_mode", "onehot")
    kwargs.setdefault("reward_functions", {"RewardControl": reward_control})
    return RewardMachineEnv(HalfCheetahEvents(render_mode), cheetah_machine(task), **kwargs)

"""The Office world of Toro Icarte et al. (2018): a 12x9 grid of nine rooms with events.

Layout (x to the right, y up; ``A`` the start; ``|`` and ``-`` are walls, gaps are doors)::

    y=8  . . .|. . .|. . .|. . .
    y=7  . b . . n . . n . . c .
    y=6  . . .|f . .|. . .|. . .
         -   -+-   -+-   -+-   -
    y=5  . . .|. . .|. . .|. . .
    y=4  . n .|. g .|. e .|. n .
    y=3  . . .|. . .|. . .|. . .
         -   -+- - -+- - -+-   -
    y=2  . . .|. . .|. . f|. . .
    y=1  . a A . n . . n . . d .
    y=0  . . .|. . .|. . .|. . .
         0 1 2 3 4 5 6 7 8 9 0 1   (x)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardshaping.machines.labelling import GridLabelling
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.machines.spec import load_machine

__all__ = [
    "OfficeWorld",
    "OfficeLabelling",
    "office_machine",
    "office_spec_path",
    "office_task_env",
]

WIDTH, HEIGHT = 12, 9
PROPOSITIONS = ("a", "b", "c", "d", "e", "f", "g", "n")
OBJECTS = {
    (1, 1): "a",
    (1, 7): "b",
    (10, 7): "c",
    (10, 1): "d",
    (7, 4): "e",  # mail
    (8, 2): "f",  # coffee
    (3, 6): "f",  # coffee
    (4, 4): "g",  # office
    (4, 1): "n",  # plants
    (7, 1): "n",
    (4, 7): "n",
    (7, 7): "n",
    (1, 4): "n",
    (10, 4): "n",
}
START = (2, 1)
#: Action -> (dx, dy): up, right, down, left.
MOVES = ((0, 1), (1, 0), (0, -1), (-1, 0))
SPEC_DIR = Path(__file__).resolve().parent / "machines" / "office"


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    """NEXT[x, y, a] -> (x', y') and LABEL[x, y] -> proposition index (-1: none)."""
    # A move crosses a room boundary only through a door: rooms are 3x3 blocks.
    horizontal_doors = {(x, y) for y in (1, 7) for x in (2, 5, 8)}  # x -> x+1 at these cells
    vertical_doors = {(x, 5) for x in (1, 4, 7, 10)} | {(x, 2) for x in (1, 10)}  # y -> y+1
    nxt = np.zeros((WIDTH, HEIGHT, 4, 2), dtype=np.int64)
    for x in range(WIDTH):
        for y in range(HEIGHT):
            for a, (dx, dy) in enumerate(MOVES):
                x2, y2 = x + dx, y + dy
                ok = 0 <= x2 < WIDTH and 0 <= y2 < HEIGHT
                if ok and dx != 0 and x // 3 != x2 // 3:
                    ok = (min(x, x2), y) in horizontal_doors
                if ok and dy != 0 and y // 3 != y2 // 3:
                    ok = (x, min(y, y2)) in vertical_doors
                nxt[x, y, a] = (x2, y2) if ok else (x, y)
    label = np.full((WIDTH, HEIGHT), -1, dtype=np.int64)
    for (x, y), p in OBJECTS.items():
        label[x, y] = PROPOSITIONS.index(p)
    return nxt, label


NEXT, LABEL = _build_tables()


class OfficeLabelling(GridLabelling):
    """L(s, a, s') of the Office world: the object on the cell the agent moved to.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros((3, 2), int), [0, 0, 0],
        ...     np.array([[1, 1], [8, 2], [5, 5]]), [0, 0, 0])
        >>> OfficeLabelling().sets(b)
        [{'a'}, {'f'}, set()]
    """

    def __init__(self) -> None:
        super().__init__(LABEL, PROPOSITIONS)


class OfficeWorld(gym.Env):
    """Office world (Toro Icarte et al. 2018), the bare grid: events, no reward of its own.

    ## Description
    A 12x9 grid of nine 3x3 rooms joined by doors. The agent starts at (2, 1) and moves in four
    directions; walls block moves. Objects: rooms ``a``, ``b``, ``c``, ``d`` (corners), mail
    ``e``, coffee ``f`` (two machines), the office ``g`` and six plants ``n``. Tasks are reward
    machines over these events (:func:`office_machine`, registered as ``Office-T1..T4``).

    ## Action Space
    ``Discrete(4)``:

    | Num | Action |
    |-----|--------|
    | 0   | up (y + 1) |
    | 1   | right (x + 1) |
    | 2   | down (y - 1) |
    | 3   | left (x - 1) |

    ## Observation Encoding
    ``MultiDiscrete([12, 9])``: the agent's cell ``(x, y)``.

    ## Events and labelling function
    L(s, a, s') = the object on the cell s' (at most one event per step; ``exclusive``).
    ``info["labels"]`` is a bool vector over ``("a", "b", "c", "d", "e", "f", "g", "n")``;
    :class:`OfficeLabelling` computes it from ``next_obs`` for N envs at once.

    | Event | Meaning | Cells |
    |-------|---------|-------|
    | a, b, c, d | rooms | (1,1), (1,7), (10,7), (10,1) |
    | e | mail | (7,4) |
    | f | coffee | (8,2), (3,6) |
    | g | office | (4,4) |
    | n | plant | (4,1), (7,1), (4,7), (7,7), (1,4), (10,4) |

    ## Rewards
    Always 0: rewards come from a reward machine.

    ## Termination
    Never terminates; the registered versions truncate after 1000 steps (as the reference).

    ## Registered Configurations
    ``rewardshaping/OfficeWorld-v0`` (this env), ``rewardshaping/Office-T1-v0`` .. ``T4``
    (product with tasks 1-4, Dict observations ``{"obs", "machine_state"}``): T1 coffee then
    office, T2 mail then office, T3 coffee and mail in any order then office, T4 patrol a, b,
    c, d. (The reference repository numbers the last two the other way round.)

    Example:
        >>> env = OfficeWorld()
        >>> obs, info = env.reset(seed=0)
        >>> obs.tolist()
        [2, 1]
        >>> obs, r, term, trunc, info = env.step(3)   # left, onto room a
        >>> obs.tolist(), info["events"]
        ([1, 1], ['a'])
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None) -> None:
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.MultiDiscrete([WIDTH, HEIGHT])
        self.render_mode = render_mode
        self.labelling = OfficeLabelling()
        self._pos = np.array(START, dtype=np.int64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._pos = np.array(START, dtype=np.int64)
        return self._pos.copy(), self._info()

    def step(self, action: Any):
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"action must be 0..3 (up, right, down, left), got {action!r}")
        self._pos = NEXT[self._pos[0], self._pos[1], a].copy()
        return self._pos.copy(), 0.0, False, False, self._info()

    def _info(self) -> dict[str, Any]:
        labels = self.labelling.cell(int(self._pos[0]), int(self._pos[1]))
        return {
            "labels": labels,
            "events": self.labelling.names(labels),
        }

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        rows = []
        for y in range(HEIGHT - 1, -1, -1):
            cells = []
            for x in range(WIDTH):
                ch = OBJECTS.get((x, y), ".")
                cells.append("A" if (x, y) == tuple(self._pos) else ch)
            rows.append(" ".join(cells))
        return "\n".join(rows)


def office_spec_path(task: int, format: Literal["legacy", "yaml"] = "yaml") -> Path:
    """Path of the shipped spec of Office task 1-4 (``.txt`` legacy or ``.yaml``).

    Example:
        >>> office_spec_path(2, "legacy").name
        't2.txt'
    """
    if task not in (1, 2, 3, 4):
        raise ValueError(f"Office world tasks are 1, 2, 3, 4; got {task!r}")
    return SPEC_DIR / f"t{task}.{'txt' if format == 'legacy' else 'yaml'}"


def office_machine(task: int, format: Literal["legacy", "yaml"] = "yaml") -> RewardMachine:
    """The reward machine of Office task 1-4, from its YAML spec or its legacy twin.

    Example:
        >>> office_machine(1).states
        ('start', 'has_coffee', 'delivered', '__sink__')
    """
    path = office_spec_path(task, format)
    if format == "legacy":
        return load_machine(path, exclusive=True, name=f"office-t{task}")
    return load_machine(path)


def office_task_env(
    task: int = 1, render_mode: str | None = None, **wrapper_kwargs: Any
) -> gym.Env:
    """The product of the Office world and task ``task`` (a ``RewardMachineEnv``).

    Example:
        >>> env = office_task_env(4, obs_mode="onehot")
        >>> env.observation_space.shape   # 12 + 9 one-hot cell, 6 machine states
        (27,)
    """
    from rewardshaping.machines.product import RewardMachineEnv

    return RewardMachineEnv(OfficeWorld(render_mode), office_machine(task), **wrapper_kwargs)

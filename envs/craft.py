"""A Craft world (after Andreas et al. 2017; Toro Icarte et al. 2018; Furelos-Blanco et al. 2023):
a grid of resources and work stations, with multi-step crafting tasks written as (hierarchies
of) reward machines.

Layout (y up; ``A`` the start, ``~`` lava)::

    y=8  B . . . Q . . . D        B rabbit    Q squid      D redstone
    y=7  . . ~ . . . ~ . .        K chicken   W workbench  I iron
    y=6  . . . . . . . . .        N cane      T table      C cow
    y=5  K . . . W . . . I        H wheat     ~ lava
    y=4  . . ~ . A . ~ . .
    y=3  N . . . T . . . C
    y=2  . . . . . . . . .
    y=1  . . ~ . . . ~ . .
    y=0  H . . . . . . . .
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardshaping.machines.labelling import GridLabelling
from rewardshaping.machines.spec import load_machine

__all__ = ["CraftWorld", "CraftLabelling", "craft_task", "craft_task_env", "CRAFT_TASKS"]

MAP = (
    "B...Q...D",
    "..~...~..",
    ".........",
    "K...W...I",
    "..~.A.~..",
    "N...T...C",
    ".........",
    "..~...~..",
    "H........",
)
SIZE = 9
SYMBOLS = {
    "B": "rabbit",
    "Q": "squid",
    "D": "redstone",
    "K": "chicken",
    "W": "workbench",
    "I": "iron",
    "N": "cane",
    "T": "table",
    "C": "cow",
    "H": "wheat",
    "~": "lava",
}
PROPOSITIONS = tuple(sorted(set(SYMBOLS.values())))
MOVES = ((0, 1), (1, 0), (0, -1), (-1, 0))
SPEC_DIR = Path(__file__).resolve().parent / "machines" / "craft"

#: Task name -> height of its hierarchy (all in ``machines/craft/recipes.yaml``).
CRAFT_TASKS = {
    "paper": 1,
    "leather": 1,
    "bucket": 1,
    "sugar": 1,
    "batter": 1,
    "compass": 1,
    "quill": 1,
    "book": 2,
    "map": 2,
    "milk_bucket": 2,
    "book_and_quill": 3,
    "library": 3,
    "milk_bucket_and_sugar": 3,
    "cake": 4,
}


def _tables() -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    label = np.full((SIZE, SIZE), -1, dtype=np.int64)
    start = (0, 0)
    for row, line in enumerate(MAP):
        y = SIZE - 1 - row
        for x, ch in enumerate(line):
            if ch in SYMBOLS:
                label[x, y] = PROPOSITIONS.index(SYMBOLS[ch])
            elif ch == "A":
                start = (x, y)
    return label, np.array(start), start


LABEL, _START_ARR, START = _tables()
LAVA = PROPOSITIONS.index("lava")


class CraftLabelling(GridLabelling):
    """L(s, a, s') of the Craft world: the object (or lava) on the cell moved to.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros((2, 2), int), [0, 0],
        ...     np.array([[4, 5], [0, 3]]), [0, 0])
        >>> CraftLabelling().sets(b)
        [{'workbench'}, {'cane'}]
    """

    def __init__(self) -> None:
        super().__init__(LABEL, PROPOSITIONS)


class CraftWorld(gym.Env):
    """Craft world: collect resources and use work stations; tasks are hierarchies of RMs.

    ## Description
    A 9x9 open grid with one cell of each resource (rabbit, squid, redstone, chicken, iron, cane,
    cow, wheat) and station (workbench, table), and six lava cells. The agent starts in the
    centre (4, 4). Stepping onto a cell reports its object as an event; stepping into lava ends
    the episode. With ``random_start=True`` each episode starts on a random empty cell.
    Tasks (``craft_task``) are hierarchies of reward machines of height 1 to 4,
    e.g. *book* = (paper and leather, in any order) then the table, where paper = cane then the
    workbench (Furelos-Blanco et al. 2023 use the same recipes in their CraftWorld).

    ## Action Space
    ``Discrete(4)``: 0 up (y + 1), 1 right (x + 1), 2 down (y - 1), 3 left (x - 1); moves off
    the grid leave the agent in place.

    ## Observation Encoding
    ``MultiDiscrete([9, 9])``: the agent's cell ``(x, y)``.

    ## Events and labelling function
    L(s, a, s') = the object on the cell s' (at most one: ``exclusive``), as a bool vector
    ``info["labels"]`` over ``PROPOSITIONS`` (alphabetical: cane, chicken, cow, iron, lava,
    rabbit, redstone, squid, table, wheat, workbench); :class:`CraftLabelling` computes it from
    ``next_obs`` for N envs.

    ## Rewards
    Always 0: rewards come from the task's machine (1 when the root machine accepts).

    ## Termination
    Entering lava terminates. The registered versions truncate after 500 steps.

    ## Registered Configurations
    ``rewardshaping/CraftWorld-v0`` (this env; ``random_start`` is a keyword), and products with
    the flat equivalent of a task's hierarchy (Dict observations): ``Craft-Paper-v0`` (height 1),
    ``Craft-Book-v0``, ``Craft-Map-v0``, ``Craft-MilkBucket-v0`` (2), ``Craft-BookAndQuill-v0``
    (3), ``Craft-Cake-v0`` (4), all under ``rewardshaping/``. Other tasks of
    :data:`CRAFT_TASKS`: ``craft_task_env(name)``.

    Example:
        >>> env = CraftWorld()
        >>> obs, _ = env.reset(seed=0)
        >>> obs.tolist()
        [4, 4]
        >>> obs, r, term, trunc, info = env.step(0)   # up, onto the workbench
        >>> obs.tolist(), info["events"]
        ([4, 5], ['workbench'])
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, random_start: bool = False) -> None:
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.MultiDiscrete([SIZE, SIZE])
        self.render_mode = render_mode
        self.random_start = bool(random_start)
        self.labelling = CraftLabelling()
        self._pos = _START_ARR.copy()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if self.random_start:  # any empty cell, drawn from the env's seeded generator
            empty = np.argwhere(LABEL < 0)
            self._pos = empty[self.np_random.integers(len(empty))].astype(np.int64)
        else:
            self._pos = _START_ARR.copy()
        return self._pos.copy(), self._info()

    def step(self, action: Any):
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"action must be 0..3 (up, right, down, left), got {action!r}")
        dx, dy = MOVES[a]
        self._pos = np.clip(self._pos + (dx, dy), 0, SIZE - 1)
        info = self._info()
        terminated = bool(LABEL[self._pos[0], self._pos[1]] == LAVA)
        return self._pos.copy(), 0.0, terminated, False, info

    def _info(self) -> dict[str, Any]:
        labels = self.labelling.cell(int(self._pos[0]), int(self._pos[1]))
        return {
            "labels": labels,
            "events": self.labelling.names(labels),
        }

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        rows = [list(line.replace("A", ".")) for line in MAP]
        rows[SIZE - 1 - int(self._pos[1])][int(self._pos[0])] = "A"
        return "\n".join(" ".join(r) for r in rows)


def craft_task(name: str) -> Any:
    """The hierarchy of reward machines of Craft task ``name`` (see :data:`CRAFT_TASKS`).

    Example:
        >>> h = craft_task("book")
        >>> h.levels["book"], sorted(h.machines)
        (2, ['book', 'leather', 'paper'])
    """
    if name not in CRAFT_TASKS:
        raise ValueError(f"unknown Craft task {name!r}; known: {sorted(CRAFT_TASKS)}")
    from rewardshaping.machines.hierarchy import RewardMachineHierarchy

    full = load_machine(SPEC_DIR / "recipes.yaml")
    assert isinstance(full, RewardMachineHierarchy)
    # Keep the task's machine and everything it calls.
    keep, todo = set(), [name]
    while todo:
        m = todo.pop()
        if m not in keep:
            keep.add(m)
            todo.extend(full.machines[m].calls)
    return RewardMachineHierarchy(
        {m: full.machines[m] for m in sorted(keep)}, name, name=name, exclusive=full.exclusive
    )


def craft_task_env(task: str = "book", render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """The product of the Craft world and task ``task`` (its hierarchy, stepped flat).

    Example:
        >>> env = craft_task_env("cake")
        >>> int(env.observation_space["machine_state"].n)   # the flat machine's states
        18
    """
    from rewardshaping.machines.product import RewardMachineEnv

    return RewardMachineEnv(CraftWorld(render_mode), craft_task(task), **kwargs)

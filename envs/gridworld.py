"""A natively batched, sparse-reward key-door-goal gridworld stepped by one Numba call.

This module holds :class:`KeyDoorVectorEnv` (N gridworlds as one Gymnasium ``VectorEnv``, every
sub-env stepped, reset and observed inside a single jitted call), its single-env twin
:class:`KeyDoorEnv` (for ``gym.make``, tabular agents and SB3), the difficulty presets
:data:`DIFFICULTIES` and :func:`register_envs`, which registers the configurations listed in
:class:`KeyDoorVectorEnv`'s docstring under the ``rewardshaping/`` namespace.

The point of a batched env is that PPO's throughput is limited by learning, not by Python env
code: stepping 256 envs costs one kernel call of a few microseconds, not 256 Python calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

__all__ = ["KeyDoorVectorEnv", "KeyDoorEnv", "Difficulty", "DIFFICULTIES", "register_envs"]

# MiniGrid's encoding constants (minigrid.core.constants), so a MiniGrid CNN reads our images.
_EMPTY, _WALL, _DOOR, _KEY, _GOAL, _AGENT = 1, 2, 4, 5, 8, 10
_GREEN, _YELLOW, _GREY, _RED = 1, 4, 5, 0
_OPEN, _LOCKED = 0, 2

# Columns of the per-env state matrix (int64, shape (N, _NFIELDS)).
_AR, _AC, _KR, _KC, _DR, _WC, _GR, _GC, _HAS_KEY, _DOOR_OPEN, _STEPS, _PENDING = range(12)
_NFIELDS = 12
# Autoreset modes as ints inside the kernel.
_NEXT_STEP, _SAME_STEP, _DISABLED = 0, 1, 2
_VECTOR, _IMAGE = 0, 1
# Moves for actions 0..3: right, down, left, up (MiniGrid's direction order).
_DROW = np.array([0, 1, 0, -1], dtype=np.int64)
_DCOL = np.array([1, 0, -1, 0], dtype=np.int64)


@dataclass(frozen=True)
class Difficulty:
    """What a difficulty preset randomises and requires.

    Attributes:
        key_required: the door is locked and the key must be picked up first; otherwise the
            door is open and there is no key.
        random_walls: the splitting wall's column and the door's row are drawn per episode
            (otherwise the wall is at column ``size // 2`` and the door at row ``(size - 1) // 2``).
        random_goal: the goal is drawn in the right room per episode (otherwise bottom-right).
        random_positions: the agent's start and the key are drawn in the left room per episode;
            otherwise the agent starts top-left and the key lies bottom-left, the far corner of
            the left room (a fixed layout where undirected exploration rarely finds the goal).
    """

    key_required: bool
    random_walls: bool
    random_goal: bool
    random_positions: bool = True


#: The presets: ``easy`` (open door, fixed walls and goal, random start), ``medium`` (locked
#: door, random key and start), ``hard`` (everything random, as MiniGrid's DoorKey), ``fixed``
#: (locked door, nothing random: start top-left, key in the far corner of the left room).
DIFFICULTIES: dict[str, Difficulty] = {
    "easy": Difficulty(key_required=False, random_walls=False, random_goal=False),
    "medium": Difficulty(key_required=True, random_walls=False, random_goal=False),
    "hard": Difficulty(key_required=True, random_walls=True, random_goal=True),
    "fixed": Difficulty(
        key_required=True, random_walls=False, random_goal=False, random_positions=False
    ),
}


# -- the kernel -------------------------------------------------------------------------------
# Each env owns a splitmix64 stream (Steele et al. 2014), so sub-env i seeded with s reproduces
# exactly what a single KeyDoorEnv seeded with s does, whatever the other envs do.
@numba.njit(cache=True, inline="always")
def _next_u64(rng, i):
    rng[i] += np.uint64(0x9E3779B97F4A7C15)
    z = rng[i]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def _randint(rng, i, lo, hi):
    """Uniform integer in [lo, hi] (inclusive)."""
    u = (_next_u64(rng, i) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return lo + min(int(u * (hi - lo + 1)), hi - lo)


@numba.njit(cache=True)
def _reset_one(s, rng, i, size, key_required, random_walls, random_goal, random_positions):
    if random_walls:
        wc = _randint(rng, i, 2, size - 3)
        dr = _randint(rng, i, 1, size - 2)
    else:
        wc = size // 2
        dr = (size - 1) // 2
    s[i, _WC] = wc
    s[i, _DR] = dr
    if random_goal:
        s[i, _GR] = _randint(rng, i, 1, size - 2)
        s[i, _GC] = _randint(rng, i, wc + 1, size - 2)
    else:
        s[i, _GR] = size - 2
        s[i, _GC] = size - 2
    if random_positions:
        ar = _randint(rng, i, 1, size - 2)
        ac = _randint(rng, i, 1, wc - 1)
    else:
        ar, ac = 1, 1
    s[i, _AR] = ar
    s[i, _AC] = ac
    if key_required and not random_positions:
        s[i, _KR] = size - 2
        s[i, _KC] = 1
        s[i, _DOOR_OPEN] = 0
    elif key_required:
        # The left room has at least 3 cells (size >= 5), so rejection ends quickly.
        while True:
            kr = _randint(rng, i, 1, size - 2)
            kc = _randint(rng, i, 1, wc - 1)
            if kr != ar or kc != ac:
                break
        s[i, _KR] = kr
        s[i, _KC] = kc
        s[i, _DOOR_OPEN] = 0
    else:
        s[i, _KR] = -1
        s[i, _KC] = -1
        s[i, _DOOR_OPEN] = 1
    s[i, _HAS_KEY] = 0
    s[i, _STEPS] = 0
    s[i, _PENDING] = 0


@numba.njit(cache=True)
def _write_obs(s, i, size, obs_kind, out):
    """Write env i's observation into the flat row ``out[i]``."""
    row = out[i]
    row[:] = 0
    if obs_kind == _VECTOR:
        # [agent cell one-hot (S*S) | key row (S) | key col (S) | goal row (S) | goal col (S) |
        #  wall col (S) | door row (S) | has_key | door_open]
        ss = size * size
        row[s[i, _AR] * size + s[i, _AC]] = 1
        if s[i, _KR] >= 0 and s[i, _HAS_KEY] == 0:
            row[ss + s[i, _KR]] = 1
            row[ss + size + s[i, _KC]] = 1
        row[ss + 2 * size + s[i, _GR]] = 1
        row[ss + 3 * size + s[i, _GC]] = 1
        row[ss + 4 * size + s[i, _WC]] = 1
        row[ss + 5 * size + s[i, _DR]] = 1
        row[ss + 6 * size] = s[i, _HAS_KEY]
        row[ss + 6 * size + 1] = s[i, _DOOR_OPEN]
        return
    # Image: (row, col, 3) cells of (object, colour, state) as MiniGrid encodes them.
    wc = s[i, _WC]
    for r in range(size):
        for c in range(size):
            k = 3 * (r * size + c)
            if r == 0 or c == 0 or r == size - 1 or c == size - 1 or (c == wc and r != s[i, _DR]):
                row[k] = _WALL
                row[k + 1] = _GREY
            elif c == wc:
                row[k] = _DOOR
                row[k + 1] = _YELLOW
                row[k + 2] = _OPEN if s[i, _DOOR_OPEN] else _LOCKED
            else:
                row[k] = _EMPTY
    k = 3 * (s[i, _GR] * size + s[i, _GC])
    row[k] = _GOAL
    row[k + 1] = _GREEN
    if s[i, _KR] >= 0 and s[i, _HAS_KEY] == 0:
        k = 3 * (s[i, _KR] * size + s[i, _KC])
        row[k] = _KEY
        row[k + 1] = _YELLOW
    k = 3 * (s[i, _AR] * size + s[i, _AC])
    row[k] = _AGENT
    row[k + 1] = _RED
    row[k + 2] = s[i, _HAS_KEY]  # MiniGrid puts the direction here; we have none


@numba.njit(cache=True)
def _step_all(
    s, rng, actions, mode, size, max_steps, key_req, rnd_walls, rnd_goal, rnd_pos, obs_kind,
    obs, reward, terminated, truncated, final_obs, final_mask,
):  # fmt: skip
    for i in range(s.shape[0]):
        final_mask[i] = False
        if s[i, _PENDING] == 1 and mode == _NEXT_STEP:
            # The dummy step of NEXT_STEP autoreset: reset, ignore the action, pay nothing.
            _reset_one(s, rng, i, size, key_req, rnd_walls, rnd_goal, rnd_pos)
            reward[i] = 0.0
            terminated[i] = False
            truncated[i] = False
            _write_obs(s, i, size, obs_kind, obs)
            continue
        a = actions[i]
        r = s[i, _AR] + _DROW[a]
        c = s[i, _AC] + _DCOL[a]
        wc = s[i, _WC]
        blocked = r == 0 or c == 0 or r == size - 1 or c == size - 1
        if c == wc:
            if r != s[i, _DR]:
                blocked = True
            elif s[i, _DOOR_OPEN] == 0:
                if s[i, _HAS_KEY] == 1:
                    s[i, _DOOR_OPEN] = 1  # the key unlocks the door and the agent walks in
                else:
                    blocked = True
        if not blocked:
            s[i, _AR] = r
            s[i, _AC] = c
            if r == s[i, _KR] and c == s[i, _KC] and s[i, _HAS_KEY] == 0:
                s[i, _HAS_KEY] = 1
        s[i, _STEPS] += 1
        goal = s[i, _AR] == s[i, _GR] and s[i, _AC] == s[i, _GC]
        terminated[i] = goal
        truncated[i] = (not goal) and s[i, _STEPS] >= max_steps
        reward[i] = 1.0 - 0.9 * (s[i, _STEPS] / max_steps) if goal else 0.0
        _write_obs(s, i, size, obs_kind, obs)
        if terminated[i] or truncated[i]:
            s[i, _PENDING] = 1
            if mode == _SAME_STEP:
                final_obs[i, :] = obs[i, :]
                final_mask[i] = True
                _reset_one(s, rng, i, size, key_req, rnd_walls, rnd_goal, rnd_pos)
                _write_obs(s, i, size, obs_kind, obs)


@numba.njit(cache=True)
def _reset_masked(s, rng, mask, size, key_req, rnd_walls, rnd_goal, rnd_pos, obs_kind, obs):
    for i in range(s.shape[0]):
        if mask[i]:
            _reset_one(s, rng, i, size, key_req, rnd_walls, rnd_goal, rnd_pos)
        _write_obs(s, i, size, obs_kind, obs)


def _seed_states(seeds: list[int]) -> np.ndarray:
    # Scramble each seed once so that nearby seeds give unrelated streams.
    out = np.array([int(x) % 2**64 for x in seeds], dtype=np.uint64)
    _scramble(out)
    return out


@numba.njit(cache=True)
def _scramble(states):
    for i in range(states.shape[0]):
        states[i] = _next_u64(states, i)


# -- the vector env ---------------------------------------------------------------------------
class KeyDoorVectorEnv(VectorEnv):
    """N key-door-goal gridworlds stepped together by one Numba call.

    ## Description

    A square room of side ``size`` (walls included) is split by a vertical wall with one door.
    The agent starts in the left room; the goal is in the right room. At ``medium`` and ``hard``
    difficulty the door is locked and a key lies in the left room: walking onto the key picks it
    up, and walking into the locked door while holding the key unlocks it (the agent moves into
    the doorway). The reward is sparse: only reaching the goal pays. The layout follows MiniGrid's
    DoorKey; the actions are simpler (moves, no turning), so a step is one jitted array update.

    ## Action Space

    ``Discrete(4)`` per env:

    | Num | Action     |
    |-----|------------|
    | 0   | move right |
    | 1   | move down  |
    | 2   | move left  |
    | 3   | move up    |

    Moving into a wall (or a locked door without the key) leaves the agent in place.

    ## Observation Encoding

    - ``obs_mode="vector"`` (default): float32 of length ``size**2 + 6 * size + 2``: one-hot of
      the agent's cell (``row * size + col``), one-hots of the key's row and column (all zero
      once the key is held or when there is none), of the goal's row and column, of the
      splitting wall's column and of the door's row, then ``has_key`` and ``door_open``.
    - ``obs_mode="image"``: uint8 ``(size, size, 3)``, the whole grid (fully observable) as
      MiniGrid encodes a cell: ``(OBJECT_IDX, COLOR_IDX, STATE)`` with empty 1, wall 2, door 4
      (state 0 open, 2 locked), key 5, goal 8, agent 10 (state: 1 when it holds the key).
      Indexed ``[row, col]`` (MiniGrid's own ``encode`` is ``[x, y]``).

    ## Rewards

    ``1 - 0.9 * (step_count / max_episode_steps)`` when the goal is reached, 0 otherwise
    (MiniGrid's convention). ``info["is_success"]`` is reported (masked) when episodes end
    (in ``info["final_info"]`` in ``SAME_STEP`` mode, as ``SyncVectorEnv`` reports it).

    ## Termination

    Terminated when the agent reaches the goal; truncated after ``max_episode_steps``
    (default ``4 * size**2``).

    ## Autoreset

    ``autoreset_mode`` is ``NEXT_STEP`` (Gymnasium's default: the step after a done is a
    dummy reset step with reward 0), ``SAME_STEP`` (the reset obs is returned at once, the true
    last obs in ``info["final_obs"]``) or ``DISABLED`` (reset finished envs yourself with
    ``reset(options={"reset_mask": mask})``).

    ## Seeding

    ``reset(seed=s)`` seeds sub-env ``i`` with ``s + i`` (as ``SyncVectorEnv`` does); each sub-env
    has its own random stream, so sub-env ``i`` replays exactly what ``KeyDoorEnv`` seeded with
    ``s + i`` does.

    ## Registered Configurations

    - ``rewardshaping/KeyDoor-Easy-v0``: size 6, ``easy`` (open door, fixed goal).
    - ``rewardshaping/KeyDoor-v0``: size 8, ``medium`` (locked door, random key and start).
    - ``rewardshaping/KeyDoor-Hard-v0``: size 8, ``hard`` (random walls, door, key and goal).
    - ``rewardshaping/KeyDoor-Hard-16x16-v0``: size 16, ``hard``.
    - ``rewardshaping/KeyDoor-Fixed-v0``: size 8, ``fixed`` (start top-left, key bottom-left),
      60 steps.
    - ``rewardshaping/KeyDoor-Fixed-10x10-v0``: size 10, ``fixed``, 100 steps.

    Use ``gym.make_vec(id, num_envs, vectorization_mode="vector_entry_point")`` for this class
    and ``gym.make(id)`` for :class:`KeyDoorEnv`.

    Args:
        num_envs: N.
        size: side of the square grid, walls included (>= 5).
        difficulty: ``"easy"``, ``"medium"``, ``"hard"``, ``"fixed"`` or a :class:`Difficulty`.
        max_episode_steps: truncation horizon (default ``4 * size**2``), which also scales the
            success reward.
        obs_mode: ``"vector"`` or ``"image"``.
        autoreset_mode: a ``gymnasium.vector.AutoresetMode`` (or its string value).
        render_mode: ``None`` or ``"ansi"`` (a text picture per env).
        max_steps: the same horizon under the name the registered ids use (``gym.make`` and
            ``gym.make_vec`` take ``max_episode_steps`` for a ``TimeLimit`` of their own and
            would not pass it on); give one of the two.

    Example:
        >>> import numpy as np
        >>> envs = KeyDoorVectorEnv(num_envs=3, size=5, difficulty="easy", render_mode="ansi")
        >>> obs, info = envs.reset(seed=0)
        >>> obs.shape, envs.single_action_space
        ((3, 57), Discrete(4))
        >>> obs, reward, terminated, truncated, info = envs.step(np.zeros(3, dtype=np.int64))
        >>> reward.dtype, terminated.tolist()
        (dtype('float32'), [False, False, False])
        >>> print(envs.render()[0])  # doctest: +NORMALIZE_WHITESPACE
        #####
        #.#.#
        #.A.#
        #.#G#
        #####
    """

    metadata = {"render_modes": ["ansi"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        size: int = 8,
        difficulty: str | Difficulty = "medium",
        max_episode_steps: int | None = None,
        obs_mode: str = "vector",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        max_steps: int | None = None,
    ) -> None:
        max_episode_steps = _horizon(max_episode_steps, max_steps)
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if int(size) < 5:
            raise ValueError(f"size must be >= 5 (walls included), got {size}")
        if isinstance(difficulty, str):
            if difficulty not in DIFFICULTIES:
                raise ValueError(
                    f"unknown difficulty {difficulty!r}; expected one of {sorted(DIFFICULTIES)} "
                    "or a Difficulty"
                )
            difficulty = DIFFICULTIES[difficulty]
        if not isinstance(difficulty, Difficulty):
            raise TypeError(f"difficulty must be a str or Difficulty, got {difficulty!r}")
        if obs_mode not in ("vector", "image"):
            raise ValueError(f"obs_mode must be 'vector' or 'image', got {obs_mode!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"unknown autoreset_mode {autoreset_mode!r}; expected one of "
                f"{[m.value for m in AutoresetMode]}"
            ) from None
        self.num_envs = int(num_envs)
        self.size = int(size)
        self.difficulty = difficulty
        self.max_episode_steps = (
            4 * self.size**2 if max_episode_steps is None else int(max_episode_steps)
        )
        if self.max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self.obs_mode = obs_mode
        self.render_mode = render_mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self._mode = {
            AutoresetMode.NEXT_STEP: _NEXT_STEP,
            AutoresetMode.SAME_STEP: _SAME_STEP,
            AutoresetMode.DISABLED: _DISABLED,
        }[mode]
        self._obs_kind = _VECTOR if obs_mode == "vector" else _IMAGE
        s = self.size
        if obs_mode == "vector":
            self.single_observation_space = spaces.Box(0.0, 1.0, (s * s + 6 * s + 2,), np.float32)
            self._obs_shape: tuple[int, ...] = (s * s + 6 * s + 2,)
            dtype: Any = np.float32
        else:
            self.single_observation_space = spaces.Box(0, 255, (s, s, 3), np.uint8)
            self._obs_shape = (s, s, 3)
            dtype = np.uint8
        self.single_action_space = spaces.Discrete(4)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        n, flat = self.num_envs, int(np.prod(self._obs_shape))
        self._state = np.zeros((n, _NFIELDS), dtype=np.int64)
        self._rng: np.ndarray | None = None
        self._obs = np.zeros((n, flat), dtype=dtype)
        self._final = np.zeros((n, flat), dtype=dtype)
        self._final_mask = np.zeros(n, dtype=bool)
        self._reward = np.zeros(n, dtype=np.float32)
        self._terminated = np.zeros(n, dtype=bool)
        self._truncated = np.zeros(n, dtype=bool)
        self._needs_reset = True

    # -- Gymnasium API ------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset all envs (or those in ``options["reset_mask"]``); see the class docstring."""
        n = self.num_envs
        mask = np.ones(n, dtype=bool)
        if options is not None and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            # Bool only, as Gymnasium's own vector envs: env indices cast to bool ([0, 1])
            # would restart other envs than meant.
            if mask.dtype != np.bool_ or mask.shape != (n,):
                raise ValueError(
                    f"options['reset_mask'] must be a bool array of shape ({n},), got "
                    f"{mask.dtype} {mask.shape}"
                )
            if self._needs_reset and not mask.all():
                raise ValueError("the first reset must reset every env (no reset_mask)")
        if seed is not None:
            seeds = [seed + i for i in range(n)] if isinstance(seed, int) else list(seed)
            if len(seeds) != n:
                raise ValueError(f"reset got {len(seeds)} seeds for {n} envs")
            new = _seed_states(seeds)
            # Only the envs that restart are reseeded, as SyncVectorEnv does: the others keep
            # their streams, so sub-env i still replays KeyDoorEnv(seed + i).
            if self._rng is None or mask.all():
                self._rng = new
            else:
                self._rng[mask] = new[mask]
            super().reset(seed=seeds[0])
        elif self._rng is None:
            entropy = np.random.SeedSequence().generate_state(n, np.uint64)
            self._rng = _seed_states([int(x) for x in entropy])
        d = self.difficulty
        _reset_masked(
            self._state, self._rng, mask, self.size, d.key_required, d.random_walls,
            d.random_goal, d.random_positions, self._obs_kind, self._obs,
        )  # fmt: skip
        self._needs_reset = False
        return self._obs.reshape((n, *self._obs_shape)).copy(), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every env with ``actions`` (int array of shape (N,)) in one jitted call."""
        if self._needs_reset:
            raise gym.error.ResetNeeded("call reset() before step() on a KeyDoorVectorEnv")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an int array of shape ({self.num_envs},), got {a.dtype} {a.shape}"
            )
        if a.min() < 0 or a.max() > 3:
            raise ValueError(f"actions must lie in 0..3, got {a.tolist()}")
        if self._mode == _DISABLED and self._state[:, _PENDING].any():
            done = np.flatnonzero(self._state[:, _PENDING]).tolist()
            raise gym.error.ResetNeeded(
                f"envs {done} ended their episodes; with autoreset DISABLED call "
                "reset(options={'reset_mask': mask}) before stepping them again"
            )
        d = self.difficulty
        _step_all(
            self._state, self._rng, a.astype(np.int64, copy=False), self._mode, self.size,
            self.max_episode_steps, d.key_required, d.random_walls, d.random_goal, d.random_positions,
            self._obs_kind, self._obs, self._reward, self._terminated, self._truncated,
            self._final, self._final_mask,
        )  # fmt: skip
        n = self.num_envs
        obs = self._obs.reshape((n, *self._obs_shape)).copy()
        info: dict[str, Any] = {}
        done = self._terminated | self._truncated
        if done.any():
            success = {"is_success": self._terminated.copy(), "_is_success": done}
            if self._mode == _SAME_STEP:
                # As SyncVectorEnv does: the last step's info goes to final_info, next to the
                # true last observation; the top level holds the (empty) reset info.
                final = np.empty(n, dtype=object)
                for i in np.flatnonzero(done):
                    final[i] = self._final[i].reshape(self._obs_shape).copy()
                info["final_obs"] = final
                info["_final_obs"] = done.copy()
                info["final_info"] = success
                info["_final_info"] = done.copy()
            else:
                info.update(success)
        return obs, self._reward.copy(), self._terminated.copy(), self._truncated.copy(), info

    def render(self) -> tuple[str, ...] | None:
        """A text picture per env (``#`` wall, ``D``/``d`` locked/open door, ``K`` key, ``G`` goal,
        ``A`` agent) when ``render_mode="ansi"``."""
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='ansi'")
            return None
        return tuple(self._picture(i) for i in range(self.num_envs))

    # -- planning -----------------------------------------------------------------------------
    def shortest_plan(self, i: int = 0) -> list[int]:
        """A shortest action sequence from env ``i``'s current state to the goal (BFS over
        cell, key and door); its length L gives the optimal return ``1 - 0.9 L / max_steps``.

        Example:
            >>> envs = KeyDoorVectorEnv(2, size=5, difficulty="easy")
            >>> _ = envs.reset(seed=0)
            >>> envs.shortest_plan(0)
            [0, 0, 1]
        """
        st, size = self._state[i], self.size
        goal = (int(st[_GR]), int(st[_GC]))
        key = (int(st[_KR]), int(st[_KC]))
        start = (int(st[_AR]), int(st[_AC]), bool(st[_HAS_KEY]), bool(st[_DOOR_OPEN]))
        prev: dict[tuple, tuple | None] = {start: None}
        frontier = [start]
        while frontier:
            nxt_frontier = []
            for state in frontier:
                r, c, has_key, door = state
                if (r, c) == goal:
                    plan = []
                    while prev[state] is not None:
                        state, a = prev[state]
                        plan.append(a)
                    return plan[::-1]
                for a in range(4):
                    nr, nc = r + int(_DROW[a]), c + int(_DCOL[a])
                    nkey, ndoor = has_key, door
                    if nr in (0, size - 1) or nc in (0, size - 1):
                        continue
                    if nc == st[_WC]:
                        if nr != st[_DR] or not (door or has_key):
                            continue
                        ndoor = True
                    if (nr, nc) == key:
                        nkey = True
                    succ = (nr, nc, nkey, ndoor)
                    if succ not in prev:
                        prev[succ] = (state, a)
                        nxt_frontier.append(succ)
            frontier = nxt_frontier
        raise RuntimeError(f"env {i} has no path to its goal; this is a bug in the layout code")

    # -- state (for checkpoints) --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue these episodes exactly (grid states and RNG streams)."""
        return {
            "state": self._state.copy(),
            "rng": None if self._rng is None else self._rng.copy(),
            "obs": self._obs.copy(),
            "needs_reset": self._needs_reset,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if np.shape(state["state"]) != self._state.shape:
            raise ValueError(
                f"state is for {np.shape(state['state'])[0]} envs, this env has {self.num_envs}"
            )
        self._state[:] = state["state"]
        self._rng = None if state["rng"] is None else np.array(state["rng"], dtype=np.uint64)
        self._obs[:] = state["obs"]
        self._needs_reset = bool(state["needs_reset"])

    # -- helpers ------------------------------------------------------------------------------
    def _picture(self, i: int) -> str:
        st, size = self._state[i], self.size
        rows = []
        for r in range(size):
            line = []
            for c in range(size):
                if r in (0, size - 1) or c in (0, size - 1):
                    ch = "#"
                elif c == st[_WC]:
                    ch = "#" if r != st[_DR] else ("d" if st[_DOOR_OPEN] else "D")
                else:
                    ch = "."
                if (r, c) == (st[_GR], st[_GC]):
                    ch = "G"
                if (r, c) == (st[_KR], st[_KC]) and not st[_HAS_KEY]:
                    ch = "K"
                if (r, c) == (st[_AR], st[_AC]):
                    ch = "A"
                line.append(ch)
            rows.append("".join(line))
        return "\n".join(rows)


class KeyDoorEnv(gym.Env):
    """The single-env twin of :class:`KeyDoorVectorEnv` (same dynamics, same kernel).

    Spec sheet: see :class:`KeyDoorVectorEnv`. Stepping after the episode ended needs a
    ``reset()``. ``info["is_success"]`` is True on the step that reaches the goal.

    Example:
        >>> env = KeyDoorEnv(size=5, difficulty="easy")
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, env.action_space
        ((57,), Discrete(4))
        >>> _ = env.step(0); _ = env.step(0)  # seed 0 starts left of the doorway: go right twice
        >>> obs, reward, terminated, truncated, info = env.step(1)  # down, onto the goal
        >>> round(float(reward), 3), terminated, info["is_success"]
        (0.973, True, True)
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        size: int = 8,
        difficulty: str | Difficulty = "medium",
        max_steps: int | None = None,
        obs_mode: str = "vector",
        render_mode: str | None = None,
        max_episode_steps: int | None = None,
    ) -> None:
        # ``max_steps``, as in MiniGrid: gym.make(id, max_episode_steps=N) would keep that
        # name for a TimeLimit of its own, and the env's reward would scale by another horizon.
        horizon = _horizon(max_episode_steps, max_steps)
        self._vec = KeyDoorVectorEnv(
            1, size, difficulty, horizon, obs_mode, AutoresetMode.DISABLED, render_mode
        )
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self.render_mode = render_mode
        self._done = True

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        obs, _ = self._vec.reset(seed=None if seed is None else [seed])
        self._done = False
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise gym.error.ResetNeeded("the episode ended; call reset() before step()")
        obs, r, te, tr, _ = self._vec.step(np.array([int(action)], dtype=np.int64))
        self._done = bool(te[0] or tr[0])
        info = {"is_success": bool(te[0])} if self._done else {}
        return obs[0], float(r[0]), bool(te[0]), bool(tr[0]), info

    def render(self) -> str | None:
        out = self._vec.render()
        return None if out is None else out[0]

    @property
    def size(self) -> int:
        """Side of the grid, walls included."""
        return self._vec.size


def _horizon(max_episode_steps: int | None, max_steps: int | None) -> int | None:
    """The horizon given under either name (both only if they agree)."""
    if max_steps is None:
        return max_episode_steps
    if max_episode_steps is not None and int(max_episode_steps) != int(max_steps):
        raise ValueError(
            f"max_steps={max_steps} and max_episode_steps={max_episode_steps} disagree; they "
            "name the same horizon, give one"
        )
    return max_steps


#: id -> constructor kwargs of the registered configurations (the horizon as ``max_steps``:
#: ``gym.make_vec`` in sync/async mode passes these through ``gym.make``, which would take a
#: ``max_episode_steps`` for its own TimeLimit and leave the env at its default horizon).
REGISTERED: dict[str, dict[str, Any]] = {
    "rewardshaping/KeyDoor-Easy-v0": {"size": 6, "difficulty": "easy"},
    "rewardshaping/KeyDoor-v0": {"size": 8, "difficulty": "medium"},
    "rewardshaping/KeyDoor-Hard-v0": {"size": 8, "difficulty": "hard"},
    "rewardshaping/KeyDoor-Hard-16x16-v0": {"size": 16, "difficulty": "hard"},
    # Fixed layouts with short horizons: a uniformly random policy succeeds in under 1% of
    # episodes (0.7% and 0.4%, 2560 episodes each), so these need directed exploration.
    "rewardshaping/KeyDoor-Fixed-v0": {"size": 8, "difficulty": "fixed", "max_steps": 60},
    "rewardshaping/KeyDoor-Fixed-10x10-v0": {"size": 10, "difficulty": "fixed", "max_steps": 100},
}


def register_envs() -> None:
    """Register the configurations of :data:`REGISTERED` with Gymnasium (idempotent).

    Example:
        >>> import gymnasium as gym
        >>> register_envs()
        >>> envs = gym.make_vec("rewardshaping/KeyDoor-v0", 4, vectorization_mode="vector_entry_point")
        >>> type(envs).__name__, envs.num_envs
        ('KeyDoorVectorEnv', 4)
    """
    for env_id, kwargs in REGISTERED.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=f"{__name__}:KeyDoorEnv",
            vector_entry_point=f"{__name__}:KeyDoorVectorEnv",
            kwargs=dict(kwargs),
        )

"""Goal distance on MiniGrid layouts, read from fully observable observations.

MiniGrid's default observation is an egocentric 7x7 view without the agent's position, so the
potential reads the full grid that ``minigrid.wrappers.FullyObsWrapper`` provides: object index
per cell (walls block; lava blocks; doors pass or block, as chosen), the agent's cell (object 10)
and the goal (object 8). Breadth-first search runs for the whole batch in one Numba call.
"""

from __future__ import annotations

import numba
import numpy as np

from rewardshaping.shaping.potentials import Potential

__all__ = ["minigrid_goal_distance", "GoalDistancePotential"]

_WALL, _DOOR, _GOAL, _LAVA, _AGENT = 2, 4, 8, 9, 10
_OPEN = 0


@numba.njit(cache=True)
def _bfs_batch(objects, states, doors_pass):  # pragma: no cover - compiled
    n, w, h = objects.shape
    out = np.full(n, -1.0)
    queue = np.empty(w * h, np.int64)
    dist = np.empty(w * h, np.int64)
    for b in range(n):
        start = -1
        for x in range(w):
            for y in range(h):
                if objects[b, x, y] == _AGENT:
                    start = x * h + y
        if start < 0:
            out[b] = -2.0  # no agent in the observation
            continue
        dist[:] = -1
        dist[start] = 0
        head, tail = 0, 1
        queue[0] = start
        while head < tail:
            c = queue[head]
            head += 1
            x, y = c // h, c % h
            if objects[b, x, y] == _GOAL:
                out[b] = dist[c]
                break
            for k in range(4):
                nx = x + (1 if k == 0 else (-1 if k == 1 else 0))
                ny = y + (1 if k == 2 else (-1 if k == 3 else 0))
                if nx < 0 or ny < 0 or nx >= w or ny >= h:
                    continue
                nc = nx * h + ny
                if dist[nc] >= 0:
                    continue
                o = objects[b, nx, ny]
                if o == _WALL or o == _LAVA:
                    continue
                if o == _DOOR and not doors_pass and states[b, nx, ny] != _OPEN:
                    continue
                dist[nc] = dist[c] + 1
                queue[tail] = nc
                tail += 1
    return out


#: The toolkit's own grid envs make full images themselves; a wrapper is for MiniGrid's envs.
_KEYDOOR_HINT = (
    " (MiniGrid envs); for the toolkit's rewardshaping/KeyDoor-* envs pass obs_mode='image' "
    "instead (train: --set 'env_kwargs={obs_mode: image}' or env_kwargs in the config file; "
    "bench suites: the env's kwargs)"
)


def minigrid_goal_distance(image: np.ndarray, doors_pass: bool = True) -> np.ndarray:
    """Shortest-path steps (4-connected moves) from the agent to the goal, per observation.

    Args:
        image: a batch of full MiniGrid encodings, shape (N, width, height, 3) as produced by
            ``FullyObsWrapper`` (channel 0 object index, channel 2 door state).
        doors_pass: treat closed/locked doors as passable (the goal distance "once the door is
            open"); otherwise only open doors pass.

    Returns:
        float64 (N,): the distance, or -1 where the goal cannot be reached.

    Example:
        >>> import gymnasium as gym, minigrid
        >>> from minigrid.wrappers import FullyObsWrapper
        >>> obs, _ = FullyObsWrapper(gym.make("MiniGrid-Empty-5x5-v0")).reset(seed=0)
        >>> minigrid_goal_distance(obs["image"][None]).tolist()  # from (1, 1) to (3, 3)
        [4.0]
    """
    image = np.asarray(image)
    if image.ndim != 4 or image.shape[-1] != 3:
        raise ValueError(
            f"expected full MiniGrid encodings of shape (N, width, height, 3), got {image.shape}; "
            "wrap the env with minigrid.wrappers.FullyObsWrapper" + _KEYDOOR_HINT
        )
    objects = np.ascontiguousarray(image[..., 0], dtype=np.uint8)
    states = np.ascontiguousarray(image[..., 2], dtype=np.uint8)
    out = _bfs_batch(objects, states, bool(doors_pass))
    if (out == -2.0).any():
        i = int(np.flatnonzero(out == -2.0)[0])
        raise ValueError(
            f"observation {i} has no agent cell (object 10): goal distance needs fully observable "
            "observations; wrap the env with minigrid.wrappers.FullyObsWrapper" + _KEYDOOR_HINT
        )
    return out


class GoalDistancePotential(Potential):
    """Phi(s) = -scale * (BFS distance from the agent to the goal), on fully observable MiniGrid.

    Observations are the ``FullyObsWrapper`` dict (its ``"image"`` key) or the image itself.
    Unreachable goals get the distance ``unreachable`` (default: the number of cells).

    Example:
        >>> import gymnasium as gym, minigrid
        >>> from minigrid.wrappers import FullyObsWrapper
        >>> from rewardshaping import ShapedEnv
        >>> from rewardshaping.shaping import PotentialShaping
        >>> env = ShapedEnv(FullyObsWrapper(gym.make("MiniGrid-Empty-5x5-v0")),
        ...                 PotentialShaping(GoalDistancePotential(scale=0.1), gamma=1.0))
        >>> _ = env.reset(seed=0)
        >>> _, _, _, _, info = env.step(2)  # forward: one step closer to the goal
        >>> round(info["reward_terms"]["shaping"], 6)
        0.1
    """

    def __init__(
        self,
        scale: float = 1.0,
        doors_pass: bool = True,
        unreachable: float | None = None,
        name: str = "goal_distance",
    ):
        self.scale, self.doors_pass, self.unreachable, self.name = (
            float(scale),
            bool(doors_pass),
            unreachable,
            name,
        )

    def __call__(self, obs, t):
        image = obs["image"] if isinstance(obs, dict) else obs
        d = minigrid_goal_distance(image, self.doors_pass)
        far = self.unreachable if self.unreachable is not None else image.shape[1] * image.shape[2]
        return -self.scale * np.where(d < 0, far, d)

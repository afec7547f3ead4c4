"""The batch of transitions that every reward term reads.

Every adapter (single env, Gymnasium vector env, SB3 VecEnv, PettingZoo, the toolkit's own PPO)
builds one :class:`Transitions` per environment step and hands it to the terms. A single env is a
batch of one.

Observations and actions are kept in the env's own batched layout: an array with a leading axis
of size N, or (for ``Dict``/``Tuple`` spaces) a dict/tuple of such arrays. ``infos`` is always in
Gymnasium's vector layout (``dict`` of arrays of length N plus ``"_key"`` masks); adapters convert
single-env and SB3 infos into it, so a term reads ``batch.info("key")`` whatever the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Transitions",
    "MissingInfoError",
    "batch_obs",
    "index_obs",
    "copy_obs",
    "set_obs_rows",
    "single_info_as_vector",
]


class MissingInfoError(KeyError):
    """An info key a term or potential needs was not reported by the env."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])


@dataclass(frozen=True)
class Transitions:
    """One environment step of N parallel environments.

    Args:
        obs: observations the actions were taken in, batched on axis 0.
        action: the actions taken, batched on axis 0.
        next_obs: the true next observations (the final observation when an episode ended,
            never the reset observation of the next episode).
        reward: the environment's own reward, float32 of shape (N,).
        terminated: bool (N,), the episode reached a terminal state (potentials are 0 there).
        truncated: bool (N,), the episode was cut (time limit); ``next_obs`` is not terminal.
        infos: Gymnasium vector-layout infos of this step.
        active: bool (N,). False for transitions that are not real: the dummy reset step that a
            ``NEXT_STEP`` vector env makes after an episode ends. Terms must neither pay nor
            count there; the pipeline zeroes their output for inactive entries anyway.
        episode_step: int (N,), index t of this transition within its episode (0 for the first
            real step), for time-dependent (dynamic) potentials.
        global_step: number of real transitions seen before this batch, for schedules.

    Example:
        >>> import numpy as np
        >>> batch = Transitions.from_arrays(
        ...     obs=np.zeros((2, 3)), action=np.array([0, 1]), next_obs=np.ones((2, 3)),
        ...     reward=np.array([0.0, 1.0]), terminated=np.array([False, True]))
        >>> batch.num_envs, batch.reward.dtype, batch.active.tolist()
        (2, dtype('float32'), [True, True])
    """

    obs: Any
    action: Any
    next_obs: Any
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    infos: Mapping[str, Any] = field(default_factory=dict)
    active: np.ndarray | None = None
    episode_step: np.ndarray | None = None
    global_step: int = 0

    def __post_init__(self) -> None:
        n = self.reward.shape[0]
        if self.active is None:
            object.__setattr__(self, "active", np.ones(n, dtype=bool))
        if self.episode_step is None:
            object.__setattr__(self, "episode_step", np.zeros(n, dtype=np.int64))

    @classmethod
    def from_arrays(
        cls,
        obs: Any,
        action: Any,
        next_obs: Any,
        reward: Any,
        terminated: Any = None,
        truncated: Any = None,
        infos: Mapping[str, Any] | None = None,
        active: Any = None,
        episode_step: Any = None,
        global_step: int = 0,
    ) -> Transitions:
        """Build a batch from array-likes, converting dtypes (a convenience for tests and users)."""
        reward = np.asarray(reward, dtype=np.float32).reshape(-1)
        n = reward.shape[0]
        term = np.zeros(n, bool) if terminated is None else np.asarray(terminated, bool)
        trunc = np.zeros(n, bool) if truncated is None else np.asarray(truncated, bool)
        return cls(
            obs=obs,
            action=action,
            next_obs=next_obs,
            reward=reward,
            terminated=term,
            truncated=trunc,
            infos={} if infos is None else infos,
            active=None if active is None else np.asarray(active, bool),
            episode_step=None if episode_step is None else np.asarray(episode_step, np.int64),
            global_step=global_step,
        )

    @property
    def num_envs(self) -> int:
        """N, the number of transitions in the batch."""
        return int(self.reward.shape[0])

    @property
    def done(self) -> np.ndarray:
        """``terminated | truncated``: the episode of this env ended with this transition."""
        return self.terminated | self.truncated

    def info(
        self, key: str, *, term: str | None = None, rows: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The info values ``key`` for every env, as an array of length N.

        Raises :class:`MissingInfoError` (a ``KeyError``) naming the key (and the term asking for it) when any *active*
        env did not report it, rather than letting a term read a zero that Gymnasium filled in.
        ``rows`` (a bool mask) names the envs that must report it instead of the active ones;
        then a key that no env reported and none needs gives None.

        Example:
            >>> import numpy as np
            >>> b = Transitions.from_arrays(np.zeros(2), np.zeros(2), np.zeros(2), [0, 0],
            ...     infos={"dist": np.array([3.0, 4.0]), "_dist": np.array([True, True])})
            >>> b.info("dist").tolist()
            [3.0, 4.0]
        """
        need = self.active if rows is None else np.asarray(rows, bool)
        if key not in self.infos:
            if rows is not None and not need.any():
                return None
            who = f" (needed by {term!r})" if term else ""
            have = sorted(k for k in self.infos if not str(k).startswith("_"))
            raise MissingInfoError(
                f"info key {key!r} is missing{who}; this step's infos have {have}"
            )
        values = self.infos[key]
        mask = self.infos.get("_" + key)
        if mask is not None:
            missing = need & ~np.asarray(mask, bool)
            if missing.any():
                who = f" (needed by {term!r})" if term else ""
                raise MissingInfoError(
                    f"info key {key!r} is missing for env indices "
                    f"{np.flatnonzero(missing).tolist()}{who}"
                )
        return values

    def next_info(
        self, key: str, *, term: str | None = None, rows: np.ndarray | None = None
    ) -> np.ndarray | None:
        """The info values ``key`` describing each env's s' (``next_obs``), length N.

        Like :meth:`info`, except for a ``SAME_STEP`` vector env: there a finished env's
        top-level info is already the next episode's reset info, and its s' is described by
        ``info["final_info"]``, which is read for those envs instead. ``rows`` (default: the
        active envs) must have a value, or :class:`MissingInfoError` names them; other rows
        hold whatever Gymnasium filled in (0 or None). None if no env reported the key and
        no row needs it.

        Example:
            >>> import numpy as np
            >>> b = Transitions.from_arrays(np.zeros(2), [0, 0], np.zeros(2), [0, 0],
            ...     terminated=[True, False], infos={
            ...         "x": np.array([0.0, 5.0]), "_x": np.array([True, True]),  # env 0 reset
            ...         "final_info": {"x": np.array([9.0, 0.0]), "_x": np.array([True, False])},
            ...         "_final_info": np.array([True, False])})
            >>> b.next_info("x").tolist()
            [9.0, 5.0]
        """
        need = self.active if rows is None else np.asarray(rows, bool)
        fin = self.final_rows
        top = self.info(key, term=term, rows=need & ~fin)
        if not fin.any():
            return top
        final = self.infos["final_info"]
        missing = need & fin & ~_reported(final, key, self.num_envs)
        if missing.any():
            who = f" (needed by {term!r})" if term else ""
            raise MissingInfoError(
                f"info key {key!r} is missing from info['final_info'] (the last state of a "
                f"finished episode) for env indices {np.flatnonzero(missing).tolist()}{who}"
            )
        if key not in final:
            return top
        fv = np.asarray(final[key])
        if top is None:
            out = np.zeros_like(fv) if fv.dtype != object else np.full(fv.shape, None, object)
        else:
            top = np.asarray(top)
            out = top.astype(np.result_type(top, fv), copy=True)
        out[fin] = fv[fin]
        return out

    def next_info_reported(self, key: str) -> np.ndarray:
        """Which envs reported ``key`` for s' (see :meth:`next_info`); bool of shape (N,)."""
        reported = _reported(self.infos, key, self.num_envs)
        fin = self.final_rows
        if fin.any():
            reported = np.where(fin, _reported(self.infos["final_info"], key, self.num_envs),
                                reported)  # fmt: skip
        return reported

    @property
    def final_rows(self) -> np.ndarray:
        """The envs whose s' is described by ``info["final_info"]`` (``SAME_STEP`` autoreset)."""
        if "final_info" not in self.infos or not self.done.any():
            return np.zeros(self.num_envs, bool)
        reported = self.infos.get("_final_info")
        return self.done & (True if reported is None else np.asarray(reported, bool))


def _reported(infos: Mapping[str, Any], key: str, n: int) -> np.ndarray:
    """Which of n envs reported info ``key`` (Gymnasium's ``_key`` mask; all if it has none)."""
    if key not in infos:
        return np.zeros(n, bool)
    mask = infos.get("_" + key)
    return np.ones(n, bool) if mask is None else np.asarray(mask, bool)


def batch_obs(obs: Any) -> Any:
    """Add a leading batch axis of size 1 to a single env's observation (any nesting).

    Example:
        >>> import numpy as np
        >>> batch_obs({"pos": np.array([1, 2])})["pos"].shape
        (1, 2)
    """
    if isinstance(obs, Mapping):
        return {k: batch_obs(v) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(batch_obs(v) for v in obs)
    if isinstance(obs, str):
        return (obs,)
    return np.asarray(obs)[None]


def copy_obs(obs: Any) -> Any:
    """A copy of an observation or a batch of them (dicts and tuples at any depth).

    Adapters keep the last observation as the next transition's s; envs may return one buffer
    that they overwrite in place on the next step (Gymnasium allows it; SB3's DummyVecEnv and
    vector envs built with ``copy=False`` do it), so what is kept must be a copy.

    Example:
        >>> import numpy as np
        >>> buf = np.zeros(2)
        >>> kept = copy_obs((buf, {"pos": buf}))
        >>> buf += 1
        >>> kept[0].tolist(), kept[1]["pos"].tolist()
        ([0.0, 0.0], [0.0, 0.0])
    """
    if isinstance(obs, Mapping):
        return {k: copy_obs(v) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(copy_obs(v) for v in obs)
    if isinstance(obs, str):
        return obs
    return np.array(obs, copy=True)


def index_obs(obs: Any, i: int) -> Any:
    """Row ``i`` of a batched observation (any nesting)."""
    if isinstance(obs, Mapping):
        return {k: index_obs(v, i) for k, v in obs.items()}
    if isinstance(obs, tuple) and not _is_leaf_tuple(obs):
        return tuple(index_obs(v, i) for v in obs)
    return obs[i]


def set_obs_rows(batched: Any, rows: np.ndarray, singles: Any) -> Any:
    """A copy of ``batched`` whose rows ``rows`` are replaced by unbatched ``singles[rows[k]]``.

    ``singles`` is indexable by env index (Gymnasium's object array ``info["final_obs"]`` or
    a list of SB3 ``terminal_observation`` values). Only replaced leaves are copied.
    """
    if isinstance(batched, Mapping):
        return {k: set_obs_rows(v, rows, _Project(singles, k)) for k, v in batched.items()}
    if isinstance(batched, tuple) and not _is_leaf_tuple(batched):
        return tuple(set_obs_rows(v, rows, _Project(singles, j)) for j, v in enumerate(batched))
    if isinstance(batched, tuple):  # a tuple of strings (e.g. MiniGrid's mission) per env
        out = list(batched)
        for i in rows:
            out[i] = singles[i]
        return tuple(out)
    out = np.array(batched, copy=True)
    for i in rows:
        out[i] = singles[i]
    return out


class _Project:
    """``singles[i][key]`` without building the projected list."""

    __slots__ = ("singles", "key")

    def __init__(self, singles: Any, key: Any) -> None:
        self.singles, self.key = singles, key

    def __getitem__(self, i: int) -> Any:
        return self.singles[i][self.key]


def _is_leaf_tuple(t: tuple) -> bool:
    # Gymnasium batches Text spaces (MiniGrid's mission) as a tuple of str, one per env.
    return len(t) > 0 and all(isinstance(v, str) for v in t)


def single_info_as_vector(info: dict[str, Any]) -> dict[str, Any]:
    """A single env's info in Gymnasium's vector layout (length-1 arrays), read lazily.

    Example:
        >>> single_info_as_vector({"dist": 3.0})["dist"].tolist()
        [3.0]
    """
    return _LazyVectorInfo(info)


class _LazyVectorInfo(dict):
    """Wraps each value as a length-1 array only when a term reads it (most terms never do)."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__()
        self._info = info

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key.startswith("_"):
            return key[1:] in self._info
        return key in self._info

    def __getitem__(self, key: str) -> Any:
        if key.startswith("_") and key[1:] in self._info:
            return np.ones(1, bool)
        value = self._info[key]
        if isinstance(value, dict):
            return _LazyVectorInfo(value)
        if isinstance(value, (np.ndarray, np.number, int, float, bool)):
            return batch_obs(np.asarray(value))
        # Anything else (tuples, lists, strings) is one object per env, as Gymnasium's vector
        # envs store it: a tuple is one value, not a batch of its elements.
        out = np.empty(1, dtype=object)
        out[0] = value
        return out

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __iter__(self):
        return iter(self._info)

    def __len__(self) -> int:
        return len(self._info)

    def keys(self):
        return self._info.keys()

    # The dict base class holds nothing (values are built on demand), so its items() and
    # values() would be empty: a term iterating the infos would silently see none.
    def items(self):
        return [(k, self[k]) for k in self]

    def values(self):
        return [self[k] for k in self]

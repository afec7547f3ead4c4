"""State keys: what a count-based bonus counts.

A key maps the observations of a :class:`~rewardshaping.transitions.Transitions` batch to one
numeric row per env (any shape after the leading axis N); counters hash the row's bytes.
``key(batch)`` keys the states reached (``next_obs``, where bonuses are paid) and
``key(batch, "obs")`` the states the actions were taken in.

* :class:`ObsKey`: the raw observation (or one field of a dict observation).
* :class:`FunctionKey`: a user function of the batched observation, e.g. a few coordinates.
* :class:`InfoKey`: a value the env reports in ``info`` (e.g. the agent position put there by
  :class:`~rewardshaping.intrinsic.AgentPositionInfo`); the natural key when the observation
  does not contain the state, as with MiniGrid's egocentric view.
* :class:`UniformBins`: a uniform-bin discretiser of a continuous vector (another key's value).
* :class:`SimHashKey`: SimHash codes of a continuous vector (Tang et al. 2017).

Bad input fails loudly: object-dtype values (unhashable or identity-compared Python objects)
raise ``TypeError`` and NaN/inf in continuous keys raise ``ValueError`` naming the env index,
rather than being counted under some arbitrary key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from rewardshaping.counting import SimHash, key_bytes
from rewardshaping.transitions import MissingInfoError, Transitions, _is_leaf_tuple

__all__ = [
    "StateKey",
    "ObsKey",
    "FunctionKey",
    "InfoKey",
    "UniformBins",
    "SimHashKey",
    "KeyUnavailableError",
    "as_state_key",
]

Which = Literal["next_obs", "obs"]


class KeyUnavailableError(LookupError):
    """The key of this kind of state cannot be computed from the batch (e.g. an info key of s)."""


class StateKey:
    """Base class: ``key(batch, which="next_obs") -> array (N, ...)`` of numbers.

    Subclasses implement :meth:`values`. :meth:`__call__` checks the result: a numeric array
    with one row per env, and (on active rows) no NaN or inf.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> class Parity(StateKey):
        ...     def values(self, batch, which):
        ...         return getattr(batch, which)[:, 0] % 2
        >>> b = Transitions.from_arrays(np.array([[2], [2]]), [0, 0], np.array([[3], [4]]), [0, 0])
        >>> Parity()(b).tolist(), Parity()(b, "obs").tolist()
        ([1, 0], [0, 0])
    """

    def values(self, batch: Transitions, which: Which) -> Any:
        """The raw key values of ``which`` states, one row per env."""
        raise NotImplementedError

    def __call__(self, batch: Transitions, which: Which = "next_obs") -> np.ndarray:
        if which not in ("next_obs", "obs"):
            raise ValueError(f"which must be 'next_obs' or 'obs', got {which!r}")
        return _checked(self.values(batch, which), batch, f"{self!r} of {which}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _checked(values: Any, batch: Transitions, what: str) -> np.ndarray:
    arr = np.asarray(values)
    n = batch.num_envs
    if arr.dtype == object:
        arr = _stack_objects(arr, what)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} has dtype {arr.dtype}; a count key must be numeric or bool (strings and "
            "Python objects cannot be counted by value); map them to numbers first"
        )
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(f"{what} has shape {arr.shape}; expected a leading axis of {n} envs")
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr.reshape(n, -1)).all(axis=1) if arr.size else np.ones(n, bool)
        bad = ~finite & batch.active
        if bad.any():
            raise ValueError(
                f"{what} holds NaN or inf at env indices {np.flatnonzero(bad).tolist()}; a "
                "non-finite key cannot be counted"
            )
        if not finite.all():  # inactive rows are never counted; give them a harmless value
            arr = np.where(finite.reshape((n,) + (1,) * (arr.ndim - 1)), arr, 0)
    return arr


def _stack_objects(arr: np.ndarray, what: str) -> np.ndarray:
    # Gymnasium stores non-array info values (tuples) in object arrays, with None for the envs
    # that did not report the key: stack the values if they are numeric sequences of one
    # length. None rows become zeros; whether such a row may be used is the caller's check.
    flat = arr.reshape(-1)
    present = [v for v in flat if v is not None]
    try:
        rows = np.stack([np.asarray(v) for v in present]) if present else None
    except (ValueError, TypeError):
        rows = None
    if rows is None or rows.dtype.kind not in "biuf":
        kinds = sorted({type(v).__name__ for v in flat})
        raise TypeError(
            f"{what} holds Python objects of type {kinds} that are not numeric sequences of one "
            "length; a count key must be numbers (e.g. a position as an int array)"
        )
    out = np.zeros((len(flat),) + rows.shape[1:], rows.dtype)
    out[np.fromiter((v is not None for v in flat), bool, len(flat))] = rows
    out = out.reshape(arr.shape + (-1,))
    return out.reshape(out.shape[0], -1) if arr.ndim == 1 else out


def _field(obs: Any, field: str | None, what: str) -> Any:
    if isinstance(obs, dict):
        if field is None:
            raise ValueError(
                f"{what}: the observation is a dict with fields {sorted(obs)}; pass field=..."
            )
        if field not in obs:
            raise KeyError(f"{what}: no field {field!r} in the observation; it has {sorted(obs)}")
        return obs[field]
    if field is not None:
        raise ValueError(f"{what}: field={field!r} given but the observation is not a dict")
    return obs


class ObsKey(StateKey):
    """The observation itself (or its dict field ``field``) as the key.

    Exact for discrete observations (MiniGrid's image, Atari frames); for continuous ones every
    state is new, so discretise (:class:`UniformBins`) or hash (:class:`SimHashKey`) instead.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros((2, 2)), [0, 0], np.array([[1, 2], [3, 4]]), [0, 0])
        >>> ObsKey()(b).tolist()
        [[1, 2], [3, 4]]
    """

    def __init__(self, field: str | None = None) -> None:
        self.field = field

    def values(self, batch: Transitions, which: Which) -> Any:
        obs = _field(getattr(batch, which), self.field, "ObsKey")
        if isinstance(obs, tuple) and not _is_leaf_tuple(obs):
            return _join_components(obs, batch, f"{self!r} of {which}")
        return obs

    def __repr__(self) -> str:
        return f"ObsKey({self.field!r})" if self.field else "ObsKey()"


def _join_components(obs: Any, batch: Transitions, what: str) -> np.ndarray:
    # A Tuple space is batched as a tuple of per-component batches, (N, ...) each: row i of the
    # key must be env i's whole observation, so each component is checked on its own (dtype,
    # NaN, N rows) and their bytes are joined side by side (exact for any mix of dtypes).
    leaves: list[tuple[str, Any]] = []

    def walk(x: Any, path: str) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{path}[{k!r}]")
        elif isinstance(x, tuple) and not _is_leaf_tuple(x):
            for j, v in enumerate(x):
                walk(v, f"{path}[{j}]")
        else:
            leaves.append((path, x))

    walk(obs, "")
    parts = [key_bytes(_checked(v, batch, f"{what}, component {p}")) for p, v in leaves]
    return np.concatenate(parts, axis=1)


class FunctionKey(StateKey):
    """A user function of the batched observation, ``fn(obs) -> array (N, ...)``.

    ``fn`` receives the whole batch (N rows; a dict of arrays for dict observations) and should
    be vectorised. Use it for hand-picked state features, e.g. a grid position stored in the
    observation.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros((2, 3)), [0, 0],
        ...                             np.array([[1.0, 2.0, 0.5], [1.0, 2.0, 0.7]]), [0, 0])
        >>> FunctionKey(lambda o: o[:, :2].astype(int))(b).tolist()
        [[1, 2], [1, 2]]
    """

    def __init__(self, fn: Callable[[Any], Any], name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionKey needs a callable fn(obs), got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "fn")

    def values(self, batch: Transitions, which: Which) -> Any:
        return self.fn(getattr(batch, which))

    def __repr__(self) -> str:
        return f"FunctionKey({self.name})"


class InfoKey(StateKey):
    """Values the env reports in ``info`` after each step, e.g. ``info["agent_pos"]``.

    Several names are concatenated (``InfoKey("agent_pos", "agent_dir")``). Only the states
    reached (``next_obs``) have infos in a batch; for ``which="obs"`` it raises
    :class:`KeyUnavailableError` (terms that need it keep the previous step's key). With a
    ``SAME_STEP`` vector env the values of a finished episode's last state are read from
    ``info["final_info"]``.

    After each call, ``reported`` (bool, one per env) tells which rows the env really reported;
    the others (dummy autoreset rows whose reset info lacks the key) hold zeros.

    MiniGrid's observation is the agent's egocentric view, which does not tell where the agent
    is; wrap each env in :class:`~rewardshaping.intrinsic.AgentPositionInfo` to report
    ``agent_pos`` and ``agent_dir`` and count positions with this key.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros(2), [0, 0], np.zeros(2), [0, 0], infos={
        ...     "agent_pos": np.array([[1, 1], [3, 2]]), "_agent_pos": np.array([True, True])})
        >>> InfoKey("agent_pos")(b).tolist()
        [[1, 1], [3, 2]]
    """

    def __init__(self, *names: str) -> None:
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"InfoKey needs one or more info key names, got {names!r}")
        self.names = names
        # Error-message labels, made once: values() runs on every env step.
        self._repr = f"InfoKey({', '.join(map(repr, names))})"
        self._labels = tuple(f"info[{n!r}]" for n in names)
        # Row shape and dtype of each name's values, from the last step that had them.
        self._shapes: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
        self.reported: np.ndarray | None = None

    def values(self, batch: Transitions, which: Which) -> Any:
        if which != "next_obs":
            raise KeyUnavailableError(f"{self!r} has no value for the states actions were taken in")
        cols = []
        self.reported = np.ones(batch.num_envs, bool)
        for name, label in zip(self.names, self._labels, strict=True):
            v = self._values_of(batch, name, label)
            cols.append(
                v.reshape(batch.num_envs, -1).astype(
                    np.float64 if v.dtype.kind == "f" else np.int64
                )
            )
        return cols[0] if len(cols) == 1 else np.concatenate(cols, axis=1)

    def _values_of(self, batch: Transitions, name: str, label: str) -> np.ndarray:
        # Transitions.next_info reads a SAME_STEP finished env's s' from info["final_info"]
        # and requires a value only where an active env needs one.
        values = batch.next_info(name, term=self._repr)
        self.reported &= batch.next_info_reported(name)
        if values is None:
            # No env reported the key and none needs it (every row is a dummy autoreset row
            # whose reset info lacks it): nothing is counted, but the rows must keep the
            # key's shape, known from an earlier step.
            if name not in self._shapes:
                raise MissingInfoError(
                    f"info key {name!r} is missing (needed by {self._repr!r}); this step's "
                    f"infos have {sorted(k for k in batch.infos if not str(k).startswith('_'))}"
                )
            shape, dtype = self._shapes[name]
            return np.zeros((batch.num_envs,) + shape, dtype)
        out = _checked(values, batch, label)
        self._shapes[name] = (out.shape[1:], out.dtype)
        return out

    def __repr__(self) -> str:
        return self._repr


class UniformBins(StateKey):
    """Discretise a continuous vector into uniform bins: the bin index of each coordinate.

    Args:
        low, high: bounds per coordinate (scalars or arrays broadcastable to the vector);
            values outside are put in the first/last bin.
        bins: bins per coordinate (an int or one per coordinate).
        source: the key whose values are discretised (default: the observation).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros((3, 2)), [0] * 3,
        ...     np.array([[0.05, -1.0], [0.07, 0.99], [9.0, 0.0]]), [0] * 3)
        >>> UniformBins(low=-1.0, high=1.0, bins=10)(b).tolist()
        [[5, 0], [5, 9], [9, 5]]
    """

    def __init__(
        self,
        low: float | Sequence[float] | np.ndarray,
        high: float | Sequence[float] | np.ndarray,
        bins: int | Sequence[int] = 10,
        source: StateKey | None = None,
    ) -> None:
        self.low = np.asarray(low, np.float64)
        self.high = np.asarray(high, np.float64)
        self.bins = np.asarray(bins, np.int64)
        if not (np.isfinite(self.low).all() and np.isfinite(self.high).all()):
            raise ValueError("UniformBins needs finite low and high bounds")
        if (self.high <= self.low).any():
            raise ValueError(f"UniformBins needs high > low, got low={low}, high={high}")
        if (self.bins < 1).any():
            raise ValueError(f"bins must be >= 1, got {bins}")
        self.source = source if source is not None else ObsKey()

    def values(self, batch: Transitions, which: Which) -> Any:
        x = self.source(batch, which).astype(np.float64)  # NaN already refused here
        n = x.shape[0]
        low, high, bins = (
            self._per_entry(a, x.shape[1:]) for a in (self.low, self.high, self.bins)
        )
        x = x.reshape(n, -1)
        with np.errstate(over="ignore"):  # overflow gives +-inf: the edge bin, as it should
            scaled = (x - low) / (high - low) * bins
        # Clip before the integer cast: a value far out of range (1e19, or an overflow to inf)
        # would wrap to INT64_MIN in the cast and land in the first bin instead of the last.
        scaled = np.clip(scaled, 0.0, bins - 1)
        return np.floor(scaled).astype(np.int32)

    @staticmethod
    def _per_entry(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        # Bounds may match one key row's shape (a Box space's own low/high, e.g. (2, 3)) or its
        # flattened length; either way one value per flattened entry.
        for target in (shape, (int(np.prod(shape)),)):
            try:
                return np.broadcast_to(a, target).reshape(-1)
            except ValueError:
                continue
        raise ValueError(
            f"UniformBins bounds/bins of shape {a.shape} match neither the key's shape {shape} "
            "nor its flattened length"
        )

    @property
    def reported(self) -> np.ndarray | None:
        """The source's ``reported`` rows (see :class:`InfoKey`); None if it has none."""
        return getattr(self.source, "reported", None)

    def __repr__(self) -> str:
        return f"UniformBins(bins={self.bins.tolist()}, source={self.source!r})"


class SimHashKey(StateKey):
    """SimHash codes of a continuous vector (Tang et al. 2017): similar states share a key.

    Args:
        dim: length of the (flattened) vector.
        bits: code length k (default 32).
        seed: seed of the Gaussian projection.
        source: the key whose values are hashed (default: the observation); preprocess here,
            e.g. a :class:`FunctionKey` that normalises.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> b = Transitions.from_arrays(np.zeros((2, 4)), [0, 0],
        ...     np.array([[1.0, 0.0, 2.0, 1.0], [1.0, 0.0, 2.0, 1.001]]), [0, 0])
        >>> codes = SimHashKey(dim=4, bits=16)(b)
        >>> codes.shape, bool((codes[0] == codes[1]).all())
        ((2, 2), True)
    """

    def __init__(self, dim: int, bits: int = 32, seed: int = 0, source: StateKey | None = None):
        self.simhash = SimHash(dim, bits, seed)
        self.source = source if source is not None else ObsKey()

    def values(self, batch: Transitions, which: Which) -> Any:
        return self.simhash(self.source(batch, which))

    @property
    def reported(self) -> np.ndarray | None:
        """The source's ``reported`` rows (see :class:`InfoKey`); None if it has none."""
        return getattr(self.source, "reported", None)

    def __repr__(self) -> str:
        return f"SimHashKey(dim={self.simhash.dim}, bits={self.simhash.bits})"


def as_state_key(key: StateKey | Callable[[Any], Any] | str | None) -> StateKey:
    """A :class:`StateKey` from a key, a function of the observation, or a dict field name.

    Example:
        >>> as_state_key(None), as_state_key("image")
        (ObsKey(), ObsKey('image'))
    """
    if key is None:
        return ObsKey()
    if isinstance(key, StateKey):
        return key
    if isinstance(key, str):
        return ObsKey(key)
    if callable(key):
        return FunctionKey(key)
    raise TypeError(
        f"key must be a StateKey, a function of the observation or a field name, got "
        f"{type(key).__name__}"
    )

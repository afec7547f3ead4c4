"""Labelling functions: L(s, a, s') -> the set of true events, for N environments at once.

A labelling function takes a :class:`~rewardshaping.transitions.Transitions` batch and returns a
boolean array of shape (N, P), one column per proposition in :attr:`Labelling.propositions`.
Worlds in ``rewardshaping.envs`` ship one each (a pure function of the batch where the events
can be read off the observations), and report the same labels in ``info["labels"]``, which
:class:`InfoLabelling` reads for any env that does so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rewardshaping.transitions import Transitions

__all__ = ["Labelling", "InfoLabelling", "FunctionLabelling", "GridLabelling"]


class Labelling:
    """Base class: ``labelling(batch) -> (N, P) bool`` over :attr:`propositions`.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> class AboveZero(Labelling):
        ...     propositions = ("up",)
        ...     def __call__(self, batch):
        ...         return (batch.next_obs[:, :1] > 0)
        >>> b = Transitions.from_arrays(np.zeros((2, 1)), [0, 0], np.array([[1.0], [-1.0]]), [0, 0])
        >>> AboveZero()(b).tolist(), AboveZero().sets(b)
        ([[True], [False]], [{'up'}, set()])
    """

    propositions: tuple[str, ...] = ()

    def __call__(self, batch: Transitions) -> np.ndarray:
        raise NotImplementedError

    def sets(self, batch: Transitions) -> list[set[str]]:
        """The labels as one set of names per env (for printing and tests)."""
        return [set(self.names(row)) for row in self(batch)]

    def names(self, labels: np.ndarray) -> list[str]:
        """The propositions that hold in one row of labels, in proposition order (what the
        worlds report as ``info["events"]``)."""
        return [p for p, on in zip(self.propositions, labels, strict=True) if on]


class InfoLabelling(Labelling):
    """Read the labels that the env reports in ``info[key]`` (a bool vector per env).

    Args:
        propositions: names of the columns, in the env's order.
        key: the info key (default ``"labels"``).

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> lab = InfoLabelling(("a", "b"))
        >>> b = Transitions.from_arrays(np.zeros(2), [0, 0], np.zeros(2), [0, 0],
        ...     infos={"labels": np.array([[True, False], [False, False]]),
        ...            "_labels": np.array([True, True])})
        >>> lab.sets(b)
        [{'a'}, set()]
    """

    def __init__(self, propositions: Sequence[str], key: str = "labels") -> None:
        self.propositions = tuple(propositions)
        self.key = key

    def __call__(self, batch: Transitions) -> np.ndarray:
        values = np.asarray(batch.info(self.key, term="labelling"))
        if values.dtype == object:  # rows missing on inactive (reset) steps
            values = np.stack(
                [
                    np.zeros(len(self.propositions), bool) if v is None or np.ndim(v) == 0 else v
                    for v in values
                ]
            )
        values = values.astype(bool).reshape(batch.num_envs, -1)
        if values.shape[1] != len(self.propositions):
            raise ValueError(
                f"info[{self.key!r}] has {values.shape[1]} columns, expected "
                f"{len(self.propositions)} for propositions {list(self.propositions)}"
            )
        return values


class FunctionLabelling(Labelling):
    """Wrap a function ``fn(batch) -> (N, P) bool`` (or sets of names) as a labelling.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> lab = FunctionLabelling(lambda b: [{"far"} if x > 5 else set() for x in b.next_obs],
        ...                         propositions=["far"])
        >>> lab(Transitions.from_arrays(np.zeros(2), [0, 0], np.array([9.0, 1.0]), [0, 0])).tolist()
        [[True], [False]]
    """

    def __init__(self, fn: Callable[[Transitions], object], propositions: Sequence[str]) -> None:
        self.fn = fn
        self.propositions = tuple(propositions)
        self._index = {p: i for i, p in enumerate(self.propositions)}

    def __call__(self, batch: Transitions) -> np.ndarray:
        out = self.fn(batch)
        if isinstance(out, np.ndarray) and out.dtype == bool:
            want = (batch.num_envs, len(self.propositions))
            if out.shape == want or (out.ndim == 1 and out.shape == want[1:] and want[0] == 1):
                return out.reshape(want)
            # Any other shape (e.g. (P, N) for (N, P)) would be silently reshuffled by reshape.
            raise ValueError(
                f"labelling function returned a bool array of shape {out.shape}; expected "
                f"{want}: one row per env, one column per proposition {list(self.propositions)}"
            )
        labels = np.zeros((batch.num_envs, len(self.propositions)), dtype=bool)
        for i, names in enumerate(out):  # type: ignore[arg-type]
            for p in names:
                if p not in self._index:
                    raise ValueError(
                        f"labelling returned unknown proposition {p!r}; declared: "
                        f"{list(self.propositions)}"
                    )
                labels[i, self._index[p]] = True
        return labels


class GridLabelling(Labelling):
    """Grid worlds: the event of the cell moved to, from a table ``cell (x, y) -> index``.

    ``next_obs`` holds the agent's cell ``(x, y)``; ``table[x, y]`` is the index of the
    proposition that holds there, or -1. One event at most per step.

    Example:
        >>> import numpy as np
        >>> from rewardshaping.transitions import Transitions
        >>> table = np.array([[-1, 0], [1, -1]])   # (0, 1) -> "key", (1, 0) -> "door"
        >>> lab = GridLabelling(table, ("key", "door"))
        >>> lab.sets(Transitions.from_arrays(np.zeros((3, 2)), [0, 0, 0],
        ...                                  np.array([[0, 1], [1, 0], [0, 0]]), [0, 0, 0]))
        [{'key'}, {'door'}, set()]
    """

    def __init__(self, table: np.ndarray, propositions: Sequence[str]) -> None:
        self.table = np.asarray(table, dtype=np.int64)
        self.propositions = tuple(propositions)

    def cell(self, x: int, y: int) -> np.ndarray:
        """The labels (P,) of one cell."""
        out = np.zeros(len(self.propositions), dtype=bool)
        k = self.table[x, y]
        if k >= 0:
            out[k] = True
        return out

    def __call__(self, batch: Transitions) -> np.ndarray:
        pos = np.asarray(batch.next_obs, dtype=np.int64).reshape(-1, 2)
        idx = self.table[pos[:, 0], pos[:, 1]]
        out = np.zeros((pos.shape[0], len(self.propositions)), dtype=bool)
        rows = np.flatnonzero(idx >= 0)
        out[rows, idx[rows]] = True
        return out

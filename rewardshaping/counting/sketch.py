"""A count-min sketch of visit counts in fixed memory (Cormode & Muthukrishnan 2005).

Each key is hashed into one cell of each of d tables of distinct prime sizes; a visit adds 1 to
those d cells and the count is the minimum of them. Collisions only add, so the estimate never
undercounts, and for a table of width w it overcounts by more than e*total/w with probability at
most exp(-d) when the d hashes are independent. Here they come from one 64-bit hash by double
hashing, the usual practice for Bloom filters (see ``_sketch``); a test checks that the
overcounts match those of independent hashes on a Zipf stream. Tang et al. (2017,
"#Exploration") count SimHash codes this way; openai/EPG uses the six largest primes below 10^6
(999931 ... 999983), our default.

Memory is fixed (``sum(widths) * 8`` bytes), so this is the counter to use when the number of
distinct keys is unbounded (continuous observations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from rewardshaping.counting.hashing import (
    HASH_VERSION,
    data_pointer,
    hash_row,
    hash_secret,
    key_bytes,
)
from rewardshaping.counting.table import (
    DEFAULT_MAX_BYTES,
    CounterMemoryError,
    Filled,
    active_mask,
)

__all__ = ["CountMinSketch", "largest_primes"]

_S32 = np.uint64(32)
_M32 = np.uint64(0xFFFFFFFF)


def largest_primes(below: int, count: int) -> list[int]:
    """The ``count`` largest primes smaller than ``below``, in increasing order.

    Example:
        >>> largest_primes(1_000_000, 6)
        [999931, 999953, 999959, 999961, 999979, 999983]
    """
    out: list[int] = []
    n = int(below) - 1
    while len(out) < count and n >= 2:
        if n < 4 or (n % 2 and all(n % p for p in range(3, int(n**0.5) + 1, 2))):
            out.append(n)
        n -= 1
    if len(out) < count:
        raise ValueError(f"there are fewer than {count} primes below {below}")
    return sorted(out)


@njit(cache=True)
def _sketch(table, offsets, widths, keys, active, increment, secret):
    n, nbytes = keys.shape
    data, sec = data_pointer(keys), data_pointer(secret)
    # Cells by double hashing: table j uses g_j = h1 + j * h2 mod 2^32 from the two halves of
    # one strong hash (NH on 64-bit halves, see hashing.py; h2 odd) instead of d independent
    # hashes (Kirsch & Mitzenmacher 2006 show that this keeps a Bloom filter's false-positive
    # rate asymptotically; the sketch's never-undercount holds whatever the hashes). Lemire's multiply-shift then maps g_j to a
    # cell, as uniform as `% width` for width << 2^32 and without a division.
    h1 = np.empty(n, np.uint64)
    h2 = np.empty(n, np.uint64)
    for i in range(n):
        h = hash_row(data, i * nbytes, nbytes, sec, True)
        h1[i] = h >> _S32
        h2[i] = (h & _M32) | np.uint64(1)
    out = np.full(n, np.iinfo(np.int64).max, np.int64)
    add = np.zeros(n, np.int64)  # 1 where a row is counted, 0 otherwise: no branch per cell
    if increment:
        for i in range(n):
            add[i] = np.int64(active[i])
    cells = np.empty(n, np.int64)
    # Table by table (as np.add.at does): one table's cells at a time stay in cache better than
    # all d tables per key. Entry i still sees exactly the visits of entries <= i in each table,
    # so the result equals counting the keys one by one. The cell indices come first, in a loop
    # that vectorises; the increments follow.
    for j in range(widths.shape[0]):
        base, width, jj = offsets[j], widths[j], np.uint64(j)
        for i in range(n):
            cells[i] = base + np.int64((((h1[i] + jj * h2[i]) & _M32) * width) >> _S32)
        for i in range(n):
            v = table[cells[i]] + add[i]
            table[cells[i]] = v
            out[i] = min(out[i], v)
    for i in range(n):
        if not active[i]:
            out[i] = 0
    return out


class CountMinSketch:
    """Approximate visit counts of keys in ``sum(widths) * 8`` bytes; never undercounts.

    Same interface as :class:`~rewardshaping.counting.ExactCounter` (``update``, ``lookup``,
    ``merge``, ``state_dict``), so a count bonus can use either.

    Args:
        width: each table's size is one of the ``depth`` largest primes below ``width``.
        depth: number of tables d (the estimate is the minimum over them).
        widths: explicit table sizes instead of (``width``, ``depth``).
        seed: salt of the hashes (two sketches merge only if their seeds and widths match).
        max_bytes: memory cap; a larger sketch raises :class:`CounterMemoryError`.

    Example:
        >>> import numpy as np
        >>> cms = CountMinSketch(width=1000, depth=4)
        >>> cms.widths
        [977, 983, 991, 997]
        >>> cms.update(np.array([[3], [5], [3]])).tolist()
        [1, 1, 2]
        >>> cms.lookup(np.array([[3], [7]])).tolist()
        [2, 0]
    """

    def __init__(
        self,
        width: int = 1_000_000,
        depth: int = 6,
        *,
        widths: list[int] | None = None,
        seed: int = 0,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if widths is None:
            if int(depth) < 1:
                raise ValueError(f"depth must be >= 1, got {depth}")
            widths = largest_primes(int(width), int(depth))
        widths = [int(w) for w in widths]
        if not widths or min(widths) < 1 or max(widths) >= 2**32:
            raise ValueError(f"widths must be table sizes in 1..2^32-1, got {widths}")
        if len(set(widths)) != len(widths):
            raise ValueError(f"table sizes must be distinct (ideally primes), got {widths}")
        nbytes = 8 * sum(widths)
        if nbytes > int(max_bytes):
            raise CounterMemoryError(
                f"a count-min sketch with widths {widths} needs {nbytes} bytes, over its cap "
                f"max_bytes={int(max_bytes)}; use smaller or fewer tables, or raise max_bytes"
            )
        self.widths = widths
        self.seed = int(seed)
        self.max_bytes = int(max_bytes)
        self._w = np.array(widths, np.uint64)
        self._offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
        self.table = np.zeros(sum(widths), np.int64)
        self.key_bytes: int | None = None
        self._all = Filled(True, bool)

    @property
    def depth(self) -> int:
        """Number of tables."""
        return len(self.widths)

    @property
    def nbytes(self) -> int:
        """Bytes held by the tables."""
        return int(self.table.nbytes)

    @property
    def total(self) -> int:
        """Total visits counted."""
        return int(self.table[: self.widths[0]].sum())

    def _words(self, keys: Any) -> np.ndarray:
        words = key_bytes(keys)
        nbytes = words.shape[1]
        # An empty batch has no key width of its own (np.array([]) is 8-byte float64).
        if self.key_bytes is not None and nbytes != self.key_bytes and words.shape[0]:
            raise ValueError(
                f"keys of {nbytes} bytes per row, but this sketch counts keys of "
                f"{self.key_bytes} bytes; one sketch counts one kind of key"
            )
        return words

    def update(self, keys: Any, active: Any = None) -> np.ndarray:
        """Count one visit of every active key row; return the estimates after it (0 inactive)."""
        return self.reserve(keys, active)()

    def reserve(self, keys: Any, active: Any = None) -> Callable[[], np.ndarray]:
        """Check the keys as :meth:`update` would and return the function that counts them.

        A sketch's memory is fixed, so nothing grows; see
        :meth:`~rewardshaping.counting.ExactCounter.reserve` for why terms use this.
        """
        words = self._words(keys)
        active = active_mask(active, words.shape[0], self._all)

        def count() -> np.ndarray:
            if not words.shape[0]:  # nothing counted: no key width fixed
                return np.zeros(0, np.int64)
            self.key_bytes = words.shape[1]  # the first counted keys fix the width
            return _sketch(self.table, self._offsets, self._w, words, active, True,
                           hash_secret(self.seed, words.shape[1]))  # fmt: skip

        return count

    def lookup(self, keys: Any) -> np.ndarray:
        """The current estimates for the key rows (0 for keys never counted), counting nothing."""
        words = self._words(keys)
        if not words.shape[0]:
            return np.zeros(0, np.int64)
        return _sketch(self.table, self._offsets, self._w, words, self._all(len(words)), False,
                       hash_secret(self.seed, words.shape[1]))  # fmt: skip

    def merge(self, other: CountMinSketch) -> CountMinSketch:
        """Add ``other``'s counts (same widths and seed); a sketch of the union of both streams."""
        if not isinstance(other, CountMinSketch):
            raise TypeError(f"can only merge another CountMinSketch, got {type(other).__name__}")
        if (other.widths, other.seed) != (self.widths, self.seed):
            raise ValueError(
                "sketches merge only with equal widths and seed: "
                f"{(self.widths, self.seed)} vs {(other.widths, other.seed)}"
            )
        if None not in (self.key_bytes, other.key_bytes) and self.key_bytes != other.key_bytes:
            raise ValueError(f"key sizes differ: {self.key_bytes} vs {other.key_bytes} bytes")
        self.key_bytes = self.key_bytes or other.key_bytes
        self.table += other.table
        return self

    def state_dict(self) -> dict[str, Any]:
        """Tables and settings."""
        return {"kind": "CountMinSketch", "widths": list(self.widths), "seed": self.seed,
                "key_bytes": self.key_bytes, "hash": HASH_VERSION,
                "table": self.table.copy()}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (same widths and seed)."""
        if state.get("kind") != "CountMinSketch" or (list(state["widths"]), state["seed"]) != (
            self.widths,
            self.seed,
        ):
            raise ValueError(
                f"state is for a sketch with widths {state.get('widths')} and seed "
                f"{state.get('seed')}; this one has {self.widths} and {self.seed}"
            )
        if state.get("hash") != HASH_VERSION and state.get("key_bytes") is not None:
            raise ValueError(
                f"this sketch state was saved with key hash {state.get('hash')!r}, this version "
                f"hashes keys with {HASH_VERSION!r}: its cells belong to other keys"
            )
        table = np.asarray(state["table"], np.int64)
        if table.shape != self.table.shape or (table < 0).any():
            raise ValueError("state table has the wrong shape or negative counts")
        self.table[:] = table
        self.key_bytes = state["key_bytes"]

    def __repr__(self) -> str:
        return f"CountMinSketch(widths={self.widths}, seed={self.seed})"

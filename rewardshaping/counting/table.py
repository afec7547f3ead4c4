"""Exact visit counters: open-addressing hash tables in preallocated NumPy arrays, run by Numba.

One implementation, :class:`_RowTables`, holds R independent tables ("rows") of the same
capacity: :class:`ExactCounter` is one lifelong table, :class:`EpisodicCounter` one table per
parallel env. Each slot stores the key's 64-bit hash, its count (0 marks an empty slot: every
stored key has been seen at least once) and, by default, the key's words themselves.

Collisions. With ``store_keys=True`` (default) a slot matches only when hash *and* key words are
equal, so two different keys with the same hash get two slots: counts are exact whatever the
hash does (the tests force collisions with ``hash_bits=4``). With ``store_keys=False`` a key is
identified by its 64-bit hash alone (24 bytes per slot instead of 24 + the key's words); that
mode uses the strong hash of :mod:`~rewardshaping.counting.hashing` (NH on 64-bit halves: each
pair of distinct keys collides with probability about 2^-63 over the seed's secret, 2^-64 of it
proven for NH and the rest assuming its 128-to-64-bit fold behaves randomly), so two of n
distinct keys share a count with probability about n(n-1)/2^64 (about 5e-8 for a million keys,
5e-4 for a hundred million), and its kernel has no key comparison at all.

Layout: linear probing on power-of-two capacities, grown (doubled as needed, then rehashed) when
a batch could push the load factor past ``max_load``; a growing table also leaves room for one
more batch of as many new keys, memory cap permitting, so that equal batches do not grow it on
every call. Preallocated arrays with open addressing are several
times faster than ``numba.typed.Dict`` (numba issues #4364, #4743, #9374), and one jitted call
handles a whole batch (the per-call dispatch cost, numba issue #6439, is paid once per batch).
Within a batch, keys are counted in index order: entry i sees the counts of entries < i.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from rewardshaping.counting.hashing import (
    HASH_VERSION,
    data_pointer,
    hash_keys,
    hash_row,
    hash_secret,
    key_bytes,
    load_u64,
    row_word,
)

__all__ = ["ExactCounter", "EpisodicCounter", "CounterMemoryError", "DEFAULT_MAX_BYTES"]

#: Default memory cap of one counting table (1 GiB).
DEFAULT_MAX_BYTES = 1 << 30


class CounterMemoryError(MemoryError):
    """A counting table would grow past its configured memory cap (``max_bytes``)."""


class Filled:
    """n copies of one value, made once per length and then reused.

    The counters hand such arrays (all-True masks, row indices of 0) to their kernels on every
    env step, and the kernels only read them: reusing one saves a NumPy allocation per call.
    """

    def __init__(self, value: Any, dtype: Any) -> None:
        self.value, self.dtype = value, dtype
        self.array = np.full(0, value, dtype)

    def __call__(self, n: int) -> np.ndarray:
        if self.array.shape[0] != n:
            self.array = np.full(n, self.value, self.dtype)
        return self.array


def active_mask(active: Any, n: int, all_true: Filled) -> np.ndarray:
    """The ``active`` argument of ``update`` as a bool array of shape (n,) (None: all True)."""
    if active is None:
        return all_true(n)
    active = np.asarray(active)
    if n == 0 and active.shape == (0,):  # [] is float64 to NumPy, but nothing to mask
        return all_true(0)
    if active.shape != (n,) or active.dtype != np.bool_:
        raise ValueError(
            f"active must be a bool array of shape ({n},), got {active.dtype} {active.shape}"
        )
    return active


def reset_mask(mask: Any, n: int) -> np.ndarray:
    """The ``mask`` argument of an episodic ``reset`` as a bool array of shape (n,) (None: all).

    Integer or float masks are refused, not cast: ``[0, 1]`` read as env indices means both
    envs, cast to bool it means only env 1.
    """
    if mask is None:
        return np.ones(n, bool)
    arr = np.asarray(mask)
    if arr.dtype != np.bool_ or arr.shape != (n,):
        raise ValueError(
            f"reset mask must be a bool array of shape ({n},), got {arr.dtype} {arr.shape}; "
            "for env indices pass np.isin(np.arange(n), indices)"
        )
    return arr


@njit(inline="always")
def _find(index, keys, r, h, key, check):
    # Merge and restore only: the index slot of `key` (its words) in row r, or the empty slot
    # where it would go. A slot is [hash, count, entry]: count 0 marks an empty slot, `entry`
    # is the key's row in `keys`.
    mask = index.shape[1] - 1
    i = np.int64(h & np.uint64(mask))
    while True:
        if index[r, i, 1] == 0:
            return i
        if index[r, i, 0] == h:
            if not check:
                return i
            e = np.int64(index[r, i, 2])
            same = True
            for j in range(key.shape[0]):
                if keys[r, e, j] != key[j]:
                    same = False
                    break
            if same:
                return i
        i = (i + 1) & mask


@njit(inline="always")
def _claim(index, keys, sizes, r, s, h, key, check):
    # Merge and restore only: put a new key in empty slot s of row r; its words go to the end
    # of the row's key arena.
    e = sizes[r]
    index[r, s, 0] = h
    index[r, s, 2] = np.uint64(e)
    if check:
        for j in range(key.shape[0]):
            keys[r, e, j] = key[j]
    sizes[r] = e + 1


@njit(cache=True)
def _count(index, keys, sizes, rows, batch, active, increment, secret, hmask):
    # The hot loop of key-checked tables (store_keys=True; hash-only ones use _count_hashed),
    # written out in one function: probing and key comparison read the batch row in place
    # through a pointer (see hashing.py for why no array-taking helpers here).
    n, nbytes = batch.shape
    nw = (nbytes + 7) >> 3
    nfull = nbytes >> 3
    data, sec = data_pointer(batch), data_pointer(secret)
    # Unsigned indices: Numba adds a negative-index wraparound check to every access with a
    # signed index; with uint64 ones it does not (5-10% of this kernel on 4096-row batches).
    mask = np.uint64(index.shape[1] - 1)
    one = np.uint64(1)
    # Hash every row first, in a loop of pure arithmetic that vectorises, apart from the
    # branchy probing loop (measured ~10% faster than one fused loop). Both loops are bound by
    # instructions, not by table memory: prefetching slots was slower (counting.md §1b).
    hashes = np.empty(n, np.uint64)
    for i in range(n):
        hashes[i] = hash_row(data, i * nbytes, nbytes, sec, False) & hmask
    out = np.zeros(n, np.int64)
    for i in range(n):
        if not active[i]:
            continue
        r = np.uint64(rows[i])
        off = i * nbytes
        h = hashes[i]
        s = h & mask
        while index[r, s, 1] != 0:  # linear probing: stop at the key's slot or an empty one
            if index[r, s, 0] == h:
                # Compare all full words without an early exit: a branch-free OR of XORs
                # vectorises, and equal hashes almost always mean equal keys.
                e = index[r, s, 2]
                diff = np.uint64(0)
                for j in range(nfull):
                    diff |= keys[r, e, j] ^ load_u64(data, off + 8 * j)
                if nfull < nw:
                    diff |= keys[r, e, nfull] ^ row_word(data, off, nbytes, nfull)
                if diff == 0:
                    break
            s = (s + one) & mask
        if index[r, s, 1] == 0:
            if not increment:
                continue
            e = sizes[r]
            index[r, s, 0] = h
            index[r, s, 2] = np.uint64(e)
            for j in range(nw):
                keys[r, e, j] = row_word(data, off, nbytes, j)
            sizes[r] = e + 1
        if increment:
            index[r, s, 1] += np.uint64(1)
        out[i] = np.int64(index[r, s, 1])
    return out


@njit(cache=True)
def _count_hashed(index, sizes, rows, batch, active, increment, secret, hmask):
    # _count for hash-only tables (store_keys=False): a key is its strong hash, so the probe
    # has no key comparison and no branch on it. A kernel of its own, because the shared one
    # (check as a runtime flag) measured ~5 ns per row slower on 147-byte keys (counting.md 1c).
    n, nbytes = batch.shape
    data, sec = data_pointer(batch), data_pointer(secret)
    mask = np.uint64(index.shape[1] - 1)
    one = np.uint64(1)
    hashes = np.empty(n, np.uint64)
    for i in range(n):
        hashes[i] = hash_row(data, i * nbytes, nbytes, sec, True) & hmask
    out = np.zeros(n, np.int64)
    for i in range(n):
        if not active[i]:
            continue
        r = np.uint64(rows[i])
        h = hashes[i]
        s = h & mask
        # Hash first: a hit then needs one comparison. A hash of 0 "matches" an empty slot
        # (hash 0, count 0), which the count check below still treats as empty.
        while index[r, s, 0] != h and index[r, s, 1] != 0:
            s = (s + one) & mask
        if index[r, s, 1] == 0:
            if not increment:
                continue
            index[r, s, 0] = h
            index[r, s, 2] = np.uint64(sizes[r])
            sizes[r] += 1
        if increment:
            index[r, s, 1] += one
        out[i] = np.int64(index[r, s, 1])
    return out


@njit(cache=True)
def _insert(index, keys, sizes, rows, hashes, ekeys, counts):
    # Add counts[i] to entry (rows[i], hashes[i], ekeys[i]): merge and restore.
    check = keys.shape[2] > 0
    for i in range(hashes.shape[0]):
        r = rows[i]
        s = _find(index, keys, r, hashes[i], ekeys[i], check)
        if index[r, s, 1] == 0:
            _claim(index, keys, sizes, r, s, hashes[i], ekeys[i], check)
        index[r, s, 1] += np.uint64(counts[i])


@njit(cache=True)
def _reindex(old, new):
    # Growth: move every occupied slot to the larger index. Keys are distinct already, so no
    # key comparison is needed and the key arena is not touched.
    mask = new.shape[1] - 1
    for r in range(old.shape[0]):
        for j in range(old.shape[1]):
            if old[r, j, 1] == 0:
                continue
            i = np.int64(old[r, j, 0] & np.uint64(mask))
            while new[r, i, 1] != 0:
                i = (i + 1) & mask
            new[r, i, 0] = old[r, j, 0]
            new[r, i, 1] = old[r, j, 1]
            new[r, i, 2] = old[r, j, 2]


@njit(cache=True)
def _absent(index, keys, rows, hashes, ekeys):
    # Per row, how many of the (distinct) entries are not in the table yet.
    out = np.zeros(index.shape[0], np.int64)
    check = keys.shape[2] > 0
    for i in range(hashes.shape[0]):
        r = rows[i]
        if index[r, _find(index, keys, r, hashes[i], ekeys[i], check), 1] == 0:
            out[r] += 1
    return out


def _fmt_bytes(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} B"


def _next_pow2(x: int) -> int:
    return 1 << max(int(x) - 1, 1).bit_length()


class _RowTables:
    """R independent exact counting tables sharing one capacity (see the module docstring)."""

    _kind = "tables"

    def __init__(
        self,
        rows: int,
        capacity: int = 4096,
        *,
        max_load: float = 0.5,
        store_keys: bool = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
        hash_bits: int = 64,
        seed: int = 0,
    ) -> None:
        if int(rows) < 1:
            raise ValueError(f"rows must be >= 1, got {rows}")
        if not 0.05 <= float(max_load) <= 0.9:
            raise ValueError(f"max_load must be in [0.05, 0.9] (linear probing), got {max_load}")
        if not 1 <= int(hash_bits) <= 64:
            raise ValueError(f"hash_bits must be in 1..64, got {hash_bits}")
        if int(capacity) < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if int(max_bytes) < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.rows = int(rows)
        self.max_load = float(max_load)
        self.store_keys = bool(store_keys)
        self.max_bytes = int(max_bytes)
        self.hash_bits = int(hash_bits)
        self.seed = int(seed)
        self._capacity0 = _next_pow2(capacity)
        self._hmask = np.uint64((1 << self.hash_bits) - 1 if self.hash_bits < 64 else 2**64 - 1)
        self.width: int | None = None  # key words per row, fixed by the first keys
        self.key_bytes: int | None = None
        self.sizes = np.zeros(self.rows, np.int64)
        self._index: np.ndarray | None = None  # (rows, capacity, 3): hash, count, entry
        self._sec, self._sec_bytes = np.zeros(0, np.uint64), None  # the key hash's secret
        self._keys: np.ndarray | None = None  # (rows, max_load * capacity, key words)
        self._all = Filled(True, bool)

    # -- size and memory ----------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        """Slots per row (a power of two); 0 before the first keys arrive."""
        return 0 if self._index is None else int(self._index.shape[1])

    @property
    def nbytes(self) -> int:
        """Bytes held by the table arrays now."""
        return self._bytes_for(self.capacity)

    def _arena(self, capacity: int) -> int:
        return int(self.max_load * capacity) + 1

    def _bytes_for(self, capacity: int) -> int:
        per_key = 8 * (self.width or 0) if self.store_keys else 0
        return self.rows * (24 * capacity + per_key * self._arena(capacity))

    def _allocate(self, capacity: int, need: int) -> None:
        nbytes = self._bytes_for(capacity)
        if nbytes > self.max_bytes:
            raise CounterMemoryError(
                f"{self._kind} needs {_fmt_bytes(nbytes)} ({self.rows} row(s) of {capacity} "
                f"slots and {self.key_bytes}-byte keys) to hold {need} distinct keys "
                f"in a row at load <= {self.max_load}, over its cap max_bytes="
                f"{_fmt_bytes(self.max_bytes)}. Nothing was counted from this batch. Raise "
                "max_bytes, use a coarser key, store_keys=False (hash-only, 24 B/slot) or a "
                "CountMinSketch (fixed memory)"
            )
        wk = self.width if self.store_keys else 0
        index = np.zeros((self.rows, capacity, 3), np.uint64)
        keys = np.zeros((self.rows, self._arena(capacity), wk), np.uint64)
        if self._index is not None:
            _reindex(self._index, index)
            keys[:, : self._keys.shape[1]] = self._keys
        self._index, self._keys = index, keys

    def _ensure(self, most: int, room: int = 0) -> bool:
        """Grow so that every row can hold ``most`` keys; False when that is over the cap.

        A table that has to grow is sized for ``most + room`` keys where the cap allows, so
        that the next batch of ``room`` new keys fits without growing again: with batches as
        large as the table (4096 rows into 4096 slots) doubling alone grew it on each of the
        first batches, and every growth rehashes and touches fresh memory (counting.md §1d).
        """
        cap = self.capacity
        if cap and most <= self.max_load * cap:
            return True
        new = self._capacity_for(most + room, max(cap, self._capacity0))
        if self._bytes_for(new) > self.max_bytes:
            new = self._capacity_for(most, max(cap, 1))  # the least that fits, near the cap
            if self._bytes_for(new) > self.max_bytes:
                return False
        self._allocate(new, most)
        return True

    def _capacity_for(self, keys: int, start: int) -> int:
        new = start
        while keys > self.max_load * new:
            new *= 2
        return new

    def _grow_or_raise(self, most: int) -> None:
        if not self._ensure(most):
            self._allocate(self._capacity_for(most, max(self.capacity, 1)), most)  # raises

    def _entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        r, s = np.nonzero(self._index[:, :, 1])
        slots = self._index[r, s]
        keys = self._keys[r, slots[:, 2].astype(np.int64)]
        return r.astype(np.int64), slots[:, 0].copy(), keys, slots[:, 1].astype(np.int64)

    # -- counting -----------------------------------------------------------------------------
    def _bytes(self, keys: Any, n: int | None) -> np.ndarray:
        raw = key_bytes(keys)
        nbytes = raw.shape[1]
        if n is not None and raw.shape[0] != n:
            raise ValueError(f"expected keys for {n} envs (one row each), got {raw.shape[0]}")
        # An empty batch has no key width of its own (np.array([]) is 8-byte float64).
        if self.key_bytes is not None and nbytes != self.key_bytes and raw.shape[0]:
            raise ValueError(
                f"keys of {nbytes} bytes per row, but this {self._kind} counts keys of "
                f"{self.key_bytes} bytes; one table counts one kind of key"
            )
        return raw

    def _reserve(
        self, words: np.ndarray, rows: np.ndarray, active: np.ndarray, new_per_row: int
    ) -> None:
        # Make room for the batch's new keys, or raise before anything is counted. The first
        # keys fix the table's key width; a batch refused here does not.
        # `new_per_row` bounds how many keys of this batch one row can gain. The bound, not a
        # bincount of the rows: this runs once per env step, where every microsecond of NumPy
        # calls shows next to a fast env.
        if not words.shape[0]:  # nothing to count: no room needed, and no key width fixed
            return
        fresh = self.width is None
        if fresh:
            self.width, self.key_bytes = (words.shape[1] + 7) // 8, words.shape[1]
        try:
            top = int(self.sizes[0]) if self.rows == 1 else int(self.sizes.max())
            if not self._ensure(top + new_per_row, new_per_row):
                # Near the memory cap: grow only for the keys that are really new, or refuse
                # the whole batch before counting any of it.
                new = self._new_keys(words, rows, active)
                self._grow_or_raise(int((self.sizes + new).max()))
        except BaseException:
            if fresh:  # nothing was allocated: a refused first batch does not fix the width
                self.width = self.key_bytes = None
            raise

    def _add(
        self, words: np.ndarray, rows: np.ndarray, active: np.ndarray, new_per_row: int
    ) -> np.ndarray:
        self._reserve(words, rows, active, new_per_row)
        return self._count(words, rows, active)

    def _count(self, words: np.ndarray, rows: np.ndarray, active: np.ndarray) -> np.ndarray:
        # Count a batch there is room for (after _reserve): this cannot fail.
        if not words.shape[0]:
            return np.zeros(0, np.int64)
        return self._kernel(words, rows, active, True)

    def _reserved(
        self, words: np.ndarray, rows: np.ndarray, active: np.ndarray, new_per_row: int
    ) -> Callable[[], np.ndarray]:
        self._reserve(words, rows, active, new_per_row)
        return lambda: self._count(words, rows, active)

    def _new_keys(self, words: np.ndarray, rows: np.ndarray, active: np.ndarray) -> np.ndarray:
        absent = self._lookup(words, rows, active) == 0
        absent &= active
        fresh = _RowTables(self.rows, 2 * int(absent.sum()) + 2, store_keys=self.store_keys,
                           max_bytes=2**62, hash_bits=self.hash_bits, seed=self.seed)  # fmt: skip
        fresh.width, fresh.key_bytes = self.width, self.key_bytes
        fresh._add(words, rows, absent, int(absent.sum()))
        return fresh.sizes

    def _lookup(self, words: np.ndarray, rows: np.ndarray, active: np.ndarray) -> np.ndarray:
        if self._index is None or not words.shape[0]:  # an empty table or batch: counts 0
            return np.zeros(words.shape[0], np.int64)
        return self._kernel(words, rows, active, False)

    def _kernel(
        self, words: np.ndarray, rows: np.ndarray, active: np.ndarray, increment: bool
    ) -> np.ndarray:
        # Count (increment) or look up a non-empty batch in the kernel of this table's kind.
        if self.store_keys:
            return _count(self._index, self._keys, self.sizes, rows, words, active, increment,
                          self._secret(), self._hmask)  # fmt: skip
        return _count_hashed(self._index, self.sizes, rows, words, active, increment,
                             self._secret(), self._hmask)  # fmt: skip

    def _secret(self) -> np.ndarray:
        if self._sec_bytes != self.key_bytes:  # kept: the lookup costs ~0.7 us per batch
            self._sec, self._sec_bytes = hash_secret(self.seed, self.key_bytes), self.key_bytes
        return self._sec

    # -- merge and checkpoints ----------------------------------------------------------------
    def _check_compatible(self, other: _RowTables) -> None:
        mine = (type(self), self.rows, self.store_keys, self.hash_bits, self.seed)
        theirs = (type(other), other.rows, other.store_keys, other.hash_bits, other.seed)
        if mine != theirs:
            raise ValueError(
                "can only merge tables of the same kind, rows, store_keys, hash_bits and seed; "
                f"got {mine[1:]} and {theirs[1:]}"
            )
        if None not in (self.key_bytes, other.key_bytes) and self.key_bytes != other.key_bytes:
            raise ValueError(f"key sizes differ: {self.key_bytes} vs {other.key_bytes} bytes")

    def _merge_entries(self, entries: tuple) -> None:
        rows, hashes, keys, counts = entries
        if len(rows) == 0:
            return
        if self._index is None:
            self._grow_or_raise(int(np.bincount(rows, minlength=self.rows).max()))
        need = self.sizes + _absent(self._index, self._keys, rows, hashes, keys)
        self._grow_or_raise(int(need.max()))
        _insert(self._index, self._keys, self.sizes, rows, hashes, keys, counts)

    def merge(self, other: _RowTables) -> _RowTables:
        """Add ``other``'s counts to this table (in place; returns self)."""
        self._check_compatible(other)
        if other._index is None:
            return self
        if self.width is None:
            self.width, self.key_bytes = other.width, other.key_bytes
        self._merge_entries(other._entries())
        return self

    def state_dict(self) -> dict[str, Any]:
        """The counts (occupied slots only) and settings, as NumPy arrays and plain values."""
        rows, hashes, keys, counts = (
            self._entries() if self._index is not None
            else (np.zeros(0, np.int64), np.zeros(0, np.uint64),
                  np.zeros((0, 0), np.uint64), np.zeros(0, np.int64))
        )  # fmt: skip
        return {
            "kind": self._kind, "rows": self.rows, "store_keys": self.store_keys,
            "hash_bits": self.hash_bits, "seed": self.seed, "width": self.width,
            "key_bytes": self.key_bytes, "capacity": self.capacity, "hash": HASH_VERSION,
            "entry_rows": rows,
            "hashes": hashes, "keys": keys, "counts": counts,
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the counts by those of :meth:`state_dict` (the settings must match).

        A state that cannot be loaded (other settings, more than ``max_bytes``, a hash-only
        state saved under another key hash) raises and leaves this table as it was: the state
        is loaded into new arrays, which replace the table's only at the end.
        """
        want = (self._kind, self.rows, self.store_keys, self.hash_bits, self.seed)
        got = tuple(state.get(k) for k in ("kind", "rows", "store_keys", "hash_bits", "seed"))
        if got != want:
            raise ValueError(
                f"state is for (kind, rows, store_keys, hash_bits, seed) = {got}, this table "
                f"is {want}"
            )
        counts = np.asarray(state["counts"], np.int64)
        if (counts <= 0).any():
            raise ValueError("state has non-positive counts; it is not a counter state")
        if state["width"] is not None and not self.store_keys and state.get("hash") != HASH_VERSION:
            raise ValueError(
                f"this hash-only state was saved with key hash {state.get('hash')!r}, this "
                f"version hashes keys with {HASH_VERSION!r}; its counts cannot be matched "
                "to keys (store_keys=True states can be restored across versions)"
            )
        new = _RowTables(self.rows, self._capacity0, max_load=self.max_load,
                         store_keys=self.store_keys, max_bytes=self.max_bytes,
                         hash_bits=self.hash_bits, seed=self.seed)  # fmt: skip
        new._kind = self._kind  # names this table in a CounterMemoryError
        new.width, new.key_bytes = state["width"], state["key_bytes"]
        if new.width is not None:
            # The saved table's size when it fits under max_bytes (capacity never shrinks, so
            # it may be far more than the entries need); otherwise what the entries need.
            new._ensure(max(int(state.get("capacity", 0) * self.max_load), 1))
            wk = new.width if self.store_keys else 0
            keys = np.asarray(state["keys"], np.uint64).reshape(len(counts), wk)
            if self.store_keys:  # the keys are there: hash them as this version does
                raw = np.ascontiguousarray(keys).view(np.uint8)[:, : new.key_bytes]
                hashes = hash_keys(raw, self.seed, strong=False) & self._hmask
            else:
                hashes = np.asarray(state["hashes"], np.uint64)
            new._merge_entries((np.asarray(state["entry_rows"], np.int64), hashes, keys, counts))
        self.width, self.key_bytes = new.width, new.key_bytes
        self.sizes, self._index, self._keys = new.sizes, new._index, new._keys

    def _as_dict(self, row: int) -> dict[Any, int]:
        if self._index is None:
            return {}
        slots = self._index[row, np.flatnonzero(self._index[row, :, 1])]
        counts = slots[:, 1].astype(np.int64).tolist()
        if self.store_keys:
            words = self._keys[row, slots[:, 2].astype(np.int64)]
            raw = np.ascontiguousarray(words).view(np.uint8).reshape(len(slots), 8 * self.width)
            keys = [bytes(k[: self.key_bytes]) for k in raw]
        else:
            keys = slots[:, 0].tolist()
        return dict(zip(keys, counts, strict=True))


class ExactCounter(_RowTables):
    """Lifelong exact visit counts of keys (any numeric array rows), one Numba call per batch.

    Args:
        capacity: initial slots (rounded up to a power of two); the table doubles as needed.
        max_load: the load factor that triggers growth (linear probing stays fast below ~0.7).
        store_keys: keep the key words in the table, so that hash collisions are detected and
            counts are exact (default). False keeps only 64-bit hashes: less memory, collision
            probability about n(n-1)/2^64 for n distinct keys.
        max_bytes: memory cap of the table; growing past it raises :class:`CounterMemoryError`
            and leaves the counts as they were before the batch.
        hash_bits: keep only this many hash bits (64 by default; small values force
            collisions, which tests use to check that ``store_keys=True`` keeps counts exact).
        seed: salt of the key hash.

    Example:
        >>> import numpy as np
        >>> c = ExactCounter()
        >>> c.update(np.array([[0, 1], [2, 3], [0, 1]])).tolist()  # counted in index order
        [1, 1, 2]
        >>> c.lookup(np.array([[0, 1], [9, 9]])).tolist(), len(c), c.total
        ([2, 0], 2, 3)
    """

    _kind = "ExactCounter"

    def __init__(
        self,
        capacity: int = 4096,
        *,
        max_load: float = 0.5,
        store_keys: bool = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
        hash_bits: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(
            1, capacity, max_load=max_load, store_keys=store_keys, max_bytes=max_bytes,
            hash_bits=hash_bits, seed=seed,
        )  # fmt: skip
        self._rows = Filled(0, np.int64)  # every key goes to row 0, the one table

    def update(self, keys: Any, active: Any = None) -> np.ndarray:
        """Count one visit of every active key row; return the counts after it (0 if inactive)."""
        words = self._bytes(keys, None)
        n = words.shape[0]
        if active is None:  # every row new at worst; no mask to check
            return self._add(words, self._rows(n), self._all(n), n)
        mask = active_mask(active, n, self._all)
        return self._add(words, self._rows(n), mask, int(np.count_nonzero(mask)))

    def reserve(self, keys: Any, active: Any = None) -> Callable[[], np.ndarray]:
        """Make room for the active key rows (or raise as :meth:`update` would), counting nothing.

        Returns the function that counts them: ``reserve(keys, active)()`` is
        ``update(keys, active)``. A term that counts one batch in two tables reserves in both
        before counting in either, so that a batch one of them refuses is counted in neither.
        Call the returned function before anything else changes this table.

        Example:
            >>> import numpy as np
            >>> c = ExactCounter()
            >>> count = c.reserve(np.array([[1], [1]]))
            >>> len(c), count().tolist(), len(c)
            (0, [1, 2], 1)
        """
        words = self._bytes(keys, None)
        mask = active_mask(active, len(words), self._all)
        new = len(words) if active is None else int(np.count_nonzero(mask))
        return self._reserved(words, self._rows(len(words)), mask, new)

    def lookup(self, keys: Any) -> np.ndarray:
        """The current counts of the key rows (0 for unseen keys), counting nothing."""
        words = self._bytes(keys, None)
        return self._lookup(words, self._rows(len(words)), self._all(len(words)))

    def __len__(self) -> int:
        return int(self.sizes[0])

    @property
    def total(self) -> int:
        """Total visits counted."""
        return 0 if self._index is None else int(self._index[0, :, 1].sum())

    def as_dict(self) -> dict[Any, int]:
        """``{key bytes: count}`` (or ``{hash: count}`` when ``store_keys=False``)."""
        return self._as_dict(0)


class EpisodicCounter(_RowTables):
    """Visit counts within the current episode of each of N parallel envs.

    Row i of a batch is counted in env i's table; :meth:`reset` clears the tables of the envs
    whose episodes start, and only those. Same table layout and options as
    :class:`ExactCounter` (the capacity is per env).

    Example:
        >>> import numpy as np
        >>> ep = EpisodicCounter(num_envs=2)
        >>> ep.update(np.array([[1], [1]])).tolist(), ep.update(np.array([[1], [1]])).tolist()
        ([1, 1], [2, 2])
        >>> ep.reset(np.array([True, False]))
        >>> ep.update(np.array([[1], [1]])).tolist()
        [1, 3]
    """

    _kind = "EpisodicCounter"

    def __init__(
        self,
        num_envs: int,
        capacity: int = 256,
        *,
        max_load: float = 0.5,
        store_keys: bool = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
        hash_bits: int = 64,
        seed: int = 0,
    ) -> None:
        super().__init__(
            num_envs, capacity, max_load=max_load, store_keys=store_keys, max_bytes=max_bytes,
            hash_bits=hash_bits, seed=seed,
        )  # fmt: skip
        self._env_rows = np.arange(self.rows, dtype=np.int64)

    @property
    def num_envs(self) -> int:
        """N, the number of envs (one table each)."""
        return self.rows

    def update(self, keys: Any, active: Any = None) -> np.ndarray:
        """Count key row i in env i's episode (active rows only); return the counts after it."""
        words = self._bytes(keys, self.rows)
        # Row i of the batch goes to env i's table: at most one new key per table.
        return self._add(words, self._env_rows, active_mask(active, self.rows, self._all), 1)

    def reserve(self, keys: Any, active: Any = None) -> Callable[[], np.ndarray]:
        """Make room for key row i in env i's table; see :meth:`ExactCounter.reserve`."""
        words = self._bytes(keys, self.rows)
        return self._reserved(words, self._env_rows, active_mask(active, self.rows, self._all), 1)

    def lookup(self, keys: Any) -> np.ndarray:
        """Env i's episode count of key row i (0 if unseen), counting nothing."""
        words = self._bytes(keys, self.rows)
        return self._lookup(words, self._env_rows, self._all(self.rows))

    def reset(self, mask: Any = None) -> None:
        """Forget the episode counts of the envs where ``mask`` is True (all when None).

        ``mask`` is a bool array of shape (N,): env indices (``np.flatnonzero(done)``) or 0/1
        floats would silently clear other envs than meant, so they raise."""
        mask = reset_mask(mask, self.rows)
        self.sizes[mask] = 0
        if self._index is not None:
            self._index[mask] = 0  # the key arena rows are overwritten by the next inserts

    def as_dict(self, env: int) -> dict[Any, int]:
        """Env ``env``'s episode counts: ``{key bytes: count}`` (``{hash: count}`` hash-only)."""
        return self._as_dict(int(env))

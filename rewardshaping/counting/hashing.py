"""Key rows and their 64-bit hashes: the common input of every counting table.

A *key* is one row of a numeric array with a leading batch axis (an observation, a position, a
bin index vector, a SimHash code). :func:`key_words` turns a batch of keys into a C-contiguous
``uint64`` matrix of shape (N, W) (the key's bytes, zero-padded to a multiple of 8), so that
hashing and key comparison inside the Numba kernels work on whole 64-bit words.
:func:`hash_words` is a single-lane xxHash64-style hash of such a row (Collet's xxHash round and
avalanche constants); it is not cryptographic, but every output bit depends on every input bit.

Why not Python's ``hash(obs.tobytes())``: it costs a Python call per row, which is exactly what
a batched counter must avoid (numba issue #6439: dispatch overhead dominates tiny calls).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["key_words", "words_and_width", "hash_keys", "hash_words", "mix64"]

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = np.uint64(0x27D4EB2F165667C5)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S37 = np.uint64(37)
_S33 = np.uint64(33)
_S29 = np.uint64(29)
_S32 = np.uint64(32)
_EIGHT = np.uint64(8)


@njit(inline="always")
def _rotl(x, r):
    return (x << r) | (x >> (np.uint64(64) - r))


@njit(cache=True)
def hash_words(row: np.ndarray, seed: np.uint64) -> np.uint64:
    """64-bit hash of one key row (a 1-D ``uint64`` array), salted by ``seed``.

    Example:
        >>> import numpy as np
        >>> a = hash_words(np.array([1, 2], np.uint64), np.uint64(0))
        >>> b = hash_words(np.array([2, 1], np.uint64), np.uint64(0))
        >>> a != b, a == hash_words(np.array([1, 2], np.uint64), np.uint64(0))
        (True, True)
    """
    h = seed + _P5 + np.uint64(row.shape[0]) * _EIGHT
    for j in range(row.shape[0]):
        k = row[j] * _P2
        k = _rotl(k, _S31) * _P1
        h ^= k
        h = _rotl(h, _S27) * _P1 + _P4
    h ^= h >> _S33
    h *= _P2
    h ^= h >> _S29
    h *= _P3
    h ^= h >> _S32
    return h


@njit(inline="always")
def mix64(x):
    """A bijective 64-bit finaliser (xxHash's avalanche), to derive independent table indices."""
    x ^= x >> _S33
    x *= _P2
    x ^= x >> _S29
    x *= _P3
    x ^= x >> _S32
    return x


@njit(cache=True)
def _hash_rows(words, seed):
    out = np.empty(words.shape[0], np.uint64)
    for i in range(words.shape[0]):
        out[i] = hash_words(words[i], seed)
    return out


def key_words(keys: object, *, what: str = "keys") -> np.ndarray:
    """A batch of keys (leading axis N) as a C-contiguous ``uint64`` array of shape (N, W).

    The bytes of each row, zero-padded to a whole number of 64-bit words. Numeric and bool
    dtypes only: an object array (Python objects, tuples, strings) has no fixed-width bytes and
    would be counted by identity, so it raises a ``TypeError`` instead. Float keys are
    compared by their bytes, so ``-0.0`` is folded into ``0.0`` and NaN raises a ``ValueError``
    (NaN != NaN: it would never be counted as "seen").

    Example:
        >>> import numpy as np
        >>> key_words(np.zeros((4, 7, 7, 3), np.uint8)).shape  # 147 bytes -> 19 words
        (4, 19)
        >>> key_words(np.array([[1, 2], [3, 4]], np.int64)).tolist()
        [[1, 2], [3, 4]]
    """
    return words_and_width(keys, what=what)[0]


def words_and_width(keys: object, *, what: str = "keys") -> tuple[np.ndarray, int]:
    """:func:`key_words` and the number of meaningful bytes per row (before padding)."""
    arr = np.asarray(keys)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be a numeric or bool array with a leading batch axis, got dtype "
            f"{arr.dtype}; object/string data cannot be counted by value. Map each observation "
            "to numbers first (e.g. a FunctionKey or a UniformBins discretiser)"
        )
    if arr.ndim == 0:
        raise ValueError(f"{what} need a leading batch axis; got a scalar")
    n = arr.shape[0]
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr.reshape(n, -1)).all(axis=1) if arr.size else np.zeros(n, bool)
        if bad.any():
            raise ValueError(
                f"{what} contain NaN or inf at batch indices {np.flatnonzero(bad).tolist()}; "
                "a non-finite key cannot be counted reliably"
            )
        arr = arr + arr.dtype.type(0)  # folds -0.0 into +0.0 (same state, different bytes)
    raw = np.ascontiguousarray(arr).view(np.uint8).reshape(n, -1)
    width = raw.shape[1]
    if width % 8:
        padded = np.zeros((n, width + 8 - width % 8), np.uint8)
        padded[:, :width] = raw
        raw = padded
    if width == 0:
        raise ValueError(f"{what} have zero bytes per row (shape {arr.shape})")
    return raw.view(np.uint64), width


def hash_keys(keys: object, seed: int = 0) -> np.ndarray:
    """The 64-bit hashes (``uint64``, shape (N,)) of a batch of keys, as the tables see them.

    Example:
        >>> import numpy as np
        >>> h = hash_keys(np.array([[0, 1], [0, 1], [1, 0]], np.uint8))
        >>> h.dtype, bool(h[0] == h[1]), bool(h[0] == h[2])
        (dtype('uint64'), True, False)
    """
    return _hash_rows(key_words(keys), np.uint64(seed))

"""Key rows and their 64-bit hashes: the common input of every counting table.

A *key* is one row of a numeric array with a leading batch axis (an observation, a position, a
bin index vector, a SimHash code). :func:`key_bytes` views a batch of keys as a C-contiguous
``uint8`` matrix (N, L), without copying when the input is already contiguous. Inside the Numba
kernels a row is read as W = ceil(L/8) little-endian 64-bit words, the last one zero-padded;
those words are what key-checked tables hash, store and compare (the strong hash reads the
last block differently, see below).

Both hashes are NH (Black et al. 1999, "UMAC"; the construction behind XXH3's speed), keyed by
a random secret of 64-bit words k_j drawn from the table's seed (a seed fixes every hash).

* The **strong** hash, of tables that keep only the hash and of count-min sketches, takes the
  row in 16-byte blocks of two words (a_i, b_i) and sums their full 128-bit products:
  ``NH = sum_i ((a_i + k_2i) mod 2^64) * ((b_i + k_2i+1) mod 2^64)  mod 2^128``. Two different
  rows of the same length collide in NH with probability at most 2^-64 over the secret. The
  128-bit sum is folded into 64 bits (``mix64(lo ^ (hi + L) * odd)``); with a fold that behaves
  like a random function that adds about 2^-64, so a pair of distinct keys shares a hash with
  probability about 2^-63 (only NH's 2^-64 is proven; the fold is a fixed, unkeyed bijection
  of the 128 bits' halves, assumed to behave like a random function). A row of at least 16
  bytes whose length is not a multiple of 16 (147 bytes) ends with its last 16 bytes,
  overlapping the block before: every byte is still in some block, so distinct rows of one
  length still give distinct block sequences. A shorter row is one block of zero-padded
  words. One 64 x 64-bit multiply per 16 bytes (:func:`mac128`): about 20 ns per 147-byte
  MiniGrid view on the project's 2 GHz host, against 30 ns for the two 32-bit NH sums this
  replaced (``HASH_VERSION`` "nh2").
* The **fast** hash, of tables that store and compare their keys (they only need the hash to
  spread keys), is NH on 32-bit halves of 8-byte words,
  ``sum_j ((lo(w_j) + lo(k_j)) mod 2^32) * ((hi(w_j) + hi(k_j)) mod 2^32)  mod 2^64``
  (collision probability 2^-32). The zero-padded tail word also enters a second NH sum under
  the next secret word; that sum plus L goes through xxHash64's avalanche and is XORed into
  the first, which is mixed once more. Its products are independent, so the loop vectorises
  (AVX2 ``vpmuludq``). On 147-byte rows the key-checked table counts as fast with this hash
  as with the strong one (``experiments/counting.md`` §1c).

A Python dict keyed by ``obs.tobytes()`` spends 200-600 ns per row, depending on the host
(``experiments/counting.md``).

Why raw pointers (:func:`data_pointer`, :func:`load_u64`): a row of 147 bytes starts at any byte
offset, and reading its words in place avoids a byte-by-byte copy into an aligned buffer. Helper
functions that take NumPy arrays, once inlined into a loop, pay two atomic reference-count
updates per array per call (numba's NRT); the helpers here take a pointer and an offset, which
are plain values. A pointer is valid only while its array is alive: every kernel takes the
pointer of an array it was given, uses it within the call, and never keeps it.

Editing this file: the kernels of ``table.py`` and ``sketch.py`` inline these helpers and are
cached on disk (``cache=True``), and Numba's cache only notices changes to the file that holds
the cached function. After changing a helper here, delete the ``__pycache__`` folder of this
package (or touch ``table.py`` and ``sketch.py``), or those kernels keep the old code, and bump
``HASH_VERSION`` if hashes change.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["key_bytes", "hash_keys", "hash_secret", "HASH_VERSION"]

#: Names the key hash of :mod:`~rewardshaping.counting.hashing`; saved with every state, so that a
#: hash-only table or sketch saved under another hash is refused instead of silently miscounted.
HASH_VERSION = "nh128"


_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_S29, _S32, _S33 = np.uint64(29), np.uint64(32), np.uint64(33)
_M32 = np.uint64(0xFFFFFFFF)
_U8 = np.dtype(np.uint8)


@intrinsic
def data_pointer(typingctx, arr):
    """The address of an array's first byte, as a ``uint8*`` (C-contiguous arrays only)."""
    if not isinstance(arr, types.Array) or arr.layout != "C":
        return None

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.bitcast(ary.data, ir.IntType(8).as_pointer())

    return types.CPointer(types.uint8)(arr), codegen


@intrinsic
def load_u64(typingctx, ptr, offset):
    """The little-endian 64-bit word at ``ptr + offset`` (any byte offset: unaligned load)."""

    def codegen(context, builder, sig, args):
        byte = builder.gep(args[0], [args[1]])
        return builder.load(builder.bitcast(byte, ir.IntType(64).as_pointer()), align=1)

    return types.uint64(types.CPointer(types.uint8), types.intp), codegen


@intrinsic
def load_u8(typingctx, ptr, offset):
    """The byte at ``ptr + offset``, widened to ``uint64``."""

    def codegen(context, builder, sig, args):
        byte = builder.load(builder.gep(args[0], [args[1]]))
        return builder.zext(byte, ir.IntType(64))

    return types.uint64(types.CPointer(types.uint8), types.intp), codegen


@njit(inline="always")
def mix64(x):
    """xxHash64's bijective avalanche: every output bit depends on every input bit."""
    x ^= x >> _S33
    x *= _P2
    x ^= x >> _S29
    x *= _P3
    x ^= x >> _S32
    return x


@njit(inline="always")
def row_word(ptr, offset, nbytes, j):
    """Word j of the key row of ``nbytes`` bytes at ``ptr + offset``, zero-padded at the end."""
    rest = nbytes - 8 * j
    if rest >= 8:
        return load_u64(ptr, offset + 8 * j)
    if nbytes >= 8:  # read the row's last 8 bytes and drop those before word j
        return load_u64(ptr, offset + nbytes - 8) >> np.uint64(8 * (8 - rest))
    w = np.uint64(0)
    for b in range(rest):
        w |= load_u8(ptr, offset + 8 * j + b) << np.uint64(8 * b)
    return w


@njit(inline="always")
def _nh(w, k):
    return ((w + k) & _M32) * (((w >> _S32) + (k >> _S32)) & _M32)


@intrinsic
def mac128(typingctx, lo, hi, a, b):
    """``(hi:lo) + a * b`` modulo 2^128, returned as ``(lo, hi)``: a full 64 x 64-bit product.

    NumPy has no 128-bit integers; LLVM compiles this to one ``mul``/``mulx`` and an add with
    carry.
    """

    def codegen(context, builder, sig, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)
        acc = builder.or_(
            builder.shl(builder.zext(args[1], i128), ir.Constant(i128, 64)),
            builder.zext(args[0], i128),
        )
        acc = builder.add(
            acc, builder.mul(builder.zext(args[2], i128), builder.zext(args[3], i128))
        )
        lo_ = builder.trunc(acc, i64)
        hi_ = builder.trunc(builder.lshr(acc, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, sig.return_type, [lo_, hi_])

    u64 = types.uint64
    return types.UniTuple(u64, 2)(u64, u64, u64, u64), codegen


@njit(inline="always")
def _nh128(ptr, offset, nbytes, secret):
    # NH on 64-bit halves: the sum over 16-byte blocks (a, b) of (a + k_2i) * (b + k_2i+1),
    # products and sum in full 128 bits; one 64-bit multiply per 16 bytes.
    zero = np.uint64(0)
    lo, hi = zero, zero
    nblk = nbytes >> 4
    for b in range(nblk):
        x = load_u64(ptr, offset + 16 * b) + load_u64(secret, 16 * b)
        y = load_u64(ptr, offset + 16 * b + 8) + load_u64(secret, 16 * b + 8)
        lo, hi = mac128(lo, hi, x, y)
    if nbytes & 15:
        # The last block is the row's last 16 bytes when it has 16 (overlapping the block
        # before it: every byte is still in some block, so distinct rows of one length give
        # distinct block sequences and NH's bound holds), else its zero-padded words. One
        # unaligned load instead of byte shifts; measured faster than a zero-padded block.
        o = 16 * nblk
        if nbytes >= 16:
            x = load_u64(ptr, offset + nbytes - 16)
            y = load_u64(ptr, offset + nbytes - 8)
        else:
            x = row_word(ptr, offset, nbytes, 0)
            y = row_word(ptr, offset, nbytes, 1) if nbytes > 8 else zero
        lo, hi = mac128(lo, hi, x + load_u64(secret, o), y + load_u64(secret, o + 8))
    return mix64(lo ^ ((hi + np.uint64(nbytes)) * _P1))


@njit(inline="always")
def hash_row(ptr, offset, nbytes, secret, strong):
    """64-bit hash of the key row at ``ptr + offset``; ``secret`` points to W + 1 words.

    ``strong``: NH on 64-bit halves with a 128-bit sum, folded to 64 bits (collision probability
    about 2^-63 per pair of distinct rows: 2^-64 proven for NH, the fold assumed random);
    otherwise NH on 32-bit halves (2^-32, enough to spread keys that are compared anyway).
    """
    if strong:
        return _nh128(ptr, offset, nbytes, secret)
    nw = (nbytes + 7) >> 3
    nfull = nbytes >> 3
    p = np.uint64(0)
    q = np.uint64(0)
    for j in range(nfull):
        p += _nh(load_u64(ptr, offset + 8 * j), load_u64(secret, 8 * j))
    if nfull < nw:
        w = row_word(ptr, offset, nbytes, nfull)
        p += _nh(w, load_u64(secret, 8 * nfull))
        q += _nh(w, load_u64(secret, 8 * nfull + 8))
    return mix64(p ^ mix64(q + np.uint64(nbytes)))


@functools.lru_cache(maxsize=64)
def _secret(seed: int, words: int) -> np.ndarray:
    out = np.random.default_rng([seed % 2**64, 0x5EC2E7]).integers(
        0, 2**64, words, dtype=np.uint64, endpoint=False
    )
    out.flags.writeable = False
    return out


def hash_secret(seed: int, nbytes: int) -> np.ndarray:
    """The NH secret for keys of ``nbytes`` bytes under ``seed``: ceil(nbytes/8) + 1 words."""
    return _secret(int(seed), (int(nbytes) + 7) // 8 + 1)


@njit(cache=True)
def _hash_rows(keys, secret, strong):
    n, nbytes = keys.shape
    data, sec = data_pointer(keys), data_pointer(secret)
    out = np.empty(n, np.uint64)
    for i in range(n):
        out[i] = hash_row(data, i * nbytes, nbytes, sec, strong)
    return out


def key_bytes(keys: object, *, what: str = "keys") -> np.ndarray:
    """A batch of keys (leading axis N) as a C-contiguous ``uint8`` array of shape (N, L).

    Numeric and bool dtypes only: an object array (Python objects, tuples, strings) has no
    fixed-width bytes and would be counted by identity, so it raises a ``TypeError`` instead.
    Float keys are compared by their bytes, so ``-0.0`` is folded into ``0.0`` and NaN/inf
    raise a ``ValueError`` (NaN != NaN: it would never be counted as "seen").

    Example:
        >>> import numpy as np
        >>> key_bytes(np.zeros((4, 7, 7, 3), np.uint8)).shape
        (4, 147)
        >>> key_bytes(np.array([[1], [258]], np.int16)).tolist()  # little-endian bytes
        [[1, 0], [2, 1]]
    """
    arr = np.asarray(keys)
    dt = arr.dtype
    if (
        dt.kind in "biu"
        and arr.ndim
        and dt.byteorder != ">"
        and arr.flags.c_contiguous
        and arr.size
    ):
        # The common case (integer images, positions): a view, nothing to check. This function
        # runs once per env step, so each attribute read here (~0.1-0.2 us) counts next to a
        # fast env's step.
        raw = arr.reshape(arr.shape[0], -1)
        return raw if dt == _U8 else raw.view(np.uint8)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be a numeric or bool array with a leading batch axis, got dtype "
            f"{arr.dtype}; object/string data cannot be counted by value. Map each observation "
            "to numbers first (e.g. a FunctionKey or a UniformBins discretiser)"
        )
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 8:
        # x86's long double is 10 bytes of value in 16 of storage; the 6 padding bytes are
        # whatever memory held before, so equal values would get different keys.
        raise TypeError(
            f"{what} of dtype {arr.dtype} have padding bytes that are not part of the value; "
            "convert them to float64 first"
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
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    width = arr.dtype.itemsize * math.prod(arr.shape[1:])
    raw = np.ascontiguousarray(arr).view(np.uint8).reshape(n, width)
    if width == 0:
        raise ValueError(f"{what} have zero bytes per row (shape {arr.shape})")
    return raw


def hash_keys(keys: object, seed: int = 0, *, strong: bool = True) -> np.ndarray:
    """The 64-bit hashes (``uint64``, shape (N,)) of a batch of keys, as the tables see them.

    ``strong=True`` is the hash of hash-only tables and sketches (about 2^-63 collision
    probability per pair of distinct keys); ``strong=False`` the one of tables that store and
    compare their keys (2^-32: it only spreads them).

    Example:
        >>> import numpy as np
        >>> h = hash_keys(np.array([[0, 1], [0, 1], [1, 0]], np.uint8))
        >>> h.dtype, bool(h[0] == h[1]), bool(h[0] == h[2])
        (dtype('uint64'), True, False)
    """
    raw = key_bytes(keys)
    return _hash_rows(raw, hash_secret(seed, raw.shape[1]), bool(strong))

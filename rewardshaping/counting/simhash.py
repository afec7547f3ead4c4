"""SimHash: locality-sensitive binary codes of continuous vectors (Charikar 2002).

phi(x) = sign(A x) with A a fixed k x D matrix of i.i.d. standard normal entries: nearby vectors
share most bits, so counting codes counts "similar states" (Tang et al. 2017, "#Exploration").
Bit b of a code is 1 where (A x)_b > 0; the k bits are packed little-endian into ceil(k/8)
bytes per row, a key that every counter here accepts.

The projection is one BLAS matrix product for the whole batch (in float32 when the input is
float32): Numba loops measured slower than BLAS at this (a row-by-row loop that sums in a fixed
order: 366 against 277 ns per 64-d row with packing, k = 32), so only the packing and the
counting run in Numba. The price: BLAS may round a row's projection differently depending on the
batch it is in (its size, the row's position) and on the BLAS build. A row that lies within
rounding error of one of the k hyperplanes can then get a different code in a different batch
and be counted as two states. This concerns a vanishing fraction of real inputs (of 20,000 random
Gaussian rows none changed code between a batch of one and a batch of two, nor 2,000 of them
between a batch of one and the batch of all 20,000; of 300 rows built to lie on a hyperplane,
128 changed), but codes are not guaranteed bit-identical across batches.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

__all__ = ["SimHash"]


@njit(cache=True)
def _pack_signs(proj, out):
    # Bit b of row i is proj[i, b] > 0, packed little-endian (np.packbits(proj > 0, axis=1,
    # bitorder="little")), in the same pass as the finiteness check: one loop over the
    # projections instead of four NumPy passes. Returns False if any projection is NaN or inf.
    n, k = proj.shape
    finite = True
    for i in range(n):
        for byte in range(out.shape[1]):
            v = 0
            for b in range(min(8, k - 8 * byte)):
                x = proj[i, 8 * byte + b]
                finite &= np.isfinite(x)
                if x > 0:
                    v |= 1 << b
            out[i, byte] = v
    return finite


class SimHash:
    """Project D-dimensional rows to k-bit SimHash codes, ``uint8`` of shape (N, ceil(k/8)).

    Args:
        dim: D, the length of each (flattened) input row.
        bits: k, the code length. More bits separate states more finely (Tang et al. 2017
            used 16 to 512 bits).
        seed: seed of the Gaussian projection A (same seed, same codes).

    Raises ``ValueError`` for rows holding NaN or inf (the code of such a row is meaningless)
    and ``TypeError`` for non-numeric input.

    Example:
        >>> import numpy as np
        >>> sh = SimHash(dim=3, bits=8, seed=0)
        >>> codes = sh(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.01], [-1.0, -2.0, -3.0]]))
        >>> codes.shape, bool((codes[0] == codes[1]).all()), int(codes[0, 0] ^ codes[2, 0])
        ((3, 1), True, 255)
    """

    def __init__(self, dim: int, bits: int = 32, seed: int = 0) -> None:
        if int(dim) < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if int(bits) < 1:
            raise ValueError(f"bits must be >= 1, got {bits}")
        self.dim, self.bits, self.seed = int(dim), int(bits), int(seed)
        self.projection = np.random.default_rng(self.seed).standard_normal((self.bits, self.dim))
        self._projection_t32 = np.ascontiguousarray(self.projection.T.astype(np.float32))
        self._projection_t64 = np.ascontiguousarray(self.projection.T)

    def __call__(self, x: Any) -> np.ndarray:
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"SimHash needs numeric rows, got dtype {arr.dtype}")
        if arr.ndim < 1:
            raise ValueError("SimHash needs a leading batch axis")
        arr = arr.reshape(arr.shape[0], math.prod(arr.shape[1:]))  # -1 fails on 0 rows
        if arr.shape[1] != self.dim:
            raise ValueError(f"SimHash built for dim={self.dim}, got rows of {arr.shape[1]} values")
        with np.errstate(over="ignore"):  # overflowing rows are redone below
            if arr.dtype == np.float32:
                proj = arr @ self._projection_t32
            else:
                proj = arr.astype(np.float64, copy=False) @ self._projection_t64
        # NaN/inf in a row make its projections non-finite (NaN * a = NaN, inf - inf = NaN).
        codes = np.empty((proj.shape[0], (self.bits + 7) // 8), np.uint8)
        if not _pack_signs(proj, codes):
            bad = ~np.isfinite(arr).all(axis=1)
            if bad.any():
                raise ValueError(
                    "NaN or inf in the input of SimHash at batch indices "
                    f"{np.flatnonzero(bad).tolist()}: a non-finite observation has no code"
                )
            # Finite rows whose projection overflowed (values near the dtype's maximum): the
            # signs of A x are those of A (x / c) for any c > 0, so project them scaled down.
            over = np.flatnonzero(~np.isfinite(proj).all(axis=1))
            rows = arr[over].astype(np.float64)
            rows /= np.abs(rows).max(axis=1, keepdims=True)
            sub = np.empty((len(over), codes.shape[1]), np.uint8)
            _pack_signs(rows @ self._projection_t64, sub)
            codes[over] = sub
        return codes

    def __repr__(self) -> str:
        return f"SimHash(dim={self.dim}, bits={self.bits}, seed={self.seed})"

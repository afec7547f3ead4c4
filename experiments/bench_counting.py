"""Throughput of the Numba counters against plain Python/NumPy, and the cost of a count bonus.

Run on ONE core (the script pins Numba, OpenBLAS, MKL and OpenMP to one thread before importing
them; no ``parallel=True`` kernels exist in ``rewardshaping.counting``):

    python experiments/bench_counting.py            # all parts, about a minute
    python experiments/bench_counting.py --quick    # fewer repetitions

1. Exact counting of batches of 4096 MiniGrid-style 7x7x3 ``uint8`` observations:
   :class:`~rewardshaping.counting.ExactCounter` (keys stored and compared, so exact) against a
   Python dict keyed by ``obs.tobytes()``, on two streams: real DoorKey-8x8 views from a
   random policy (mostly revisits) and uniformly random views (every key new: inserts, growth).
2. SimHash counting of batches of 4096 64-d float32 vectors (k = 32 bits, count-min sketch of the
   six EPG prime-sized tables): ``SimHash`` + ``CountMinSketch`` against the same sketch in NumPy
   (projection, bit packing, ``% prime`` and ``np.add.at`` per table, min over tables). Both sides
   use the same BLAS projection; "sketch only" times the counting of ready codes.
3. The step-time overhead of ``CountBonus`` on MiniGrid-DoorKey-8x8 with 16 sync vector envs
   (``ShapedVectorEnv``), as interleaved repeated trials of plain / wrapper with a trivial term /
   wrapper with the count bonus (position key, and raw image key).
4. ("calls") The per-call cost of the counters and of ``CountBonus`` on one vector step's batch
   of 16 rows, where the Python around the kernels dominates.

Every comparison is measured in the same process, interleaved, median over trials; report the
ratios (absolute numbers move with machine load).
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from rewardshaping.counting.hashing import data_pointer, row_word  # noqa: E402

BATCH = 4096


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def interleaved(fns: dict, trials: int) -> dict[str, float]:
    """Median seconds of each zero-argument fn, trials interleaved (A B C A B C ...)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(trials):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


# -- 1. exact counting --------------------------------------------------------------------------
def minigrid_views(n_batches: int, seed: int = 0) -> list[np.ndarray]:
    import gymnasium as gym
    import minigrid  # noqa: F401

    envs = gym.make_vec("MiniGrid-DoorKey-8x8-v0", 16, vectorization_mode="sync")
    rng = np.random.default_rng(seed)
    obs, _ = envs.reset(seed=seed)
    views = []
    while len(views) * 16 < n_batches * BATCH:
        obs, *_ = envs.step(rng.integers(0, 7, 16))
        views.append(obs["image"].copy())
    envs.close()
    flat = np.concatenate(views)[: n_batches * BATCH]
    return list(flat.reshape(n_batches, BATCH, 7, 7, 3))


def bench_exact(stream: list[np.ndarray], trials: int) -> dict[str, float]:
    """Updates/s of the exact counters and of a Python dict, from empty and in steady state.

    "fresh": every trial starts from an empty table/dict (growth included); "warm": the table
    or dict already holds the stream's keys (a long run's steady state: lookups and increments).
    """
    from rewardshaping.counting import ExactCounter, hash_keys

    def count(table: ExactCounter) -> ExactCounter:
        for b in stream:
            table.update(b)
        return table

    def tally(d: dict[bytes, int]) -> dict[bytes, int]:  # the baseline: a dict of obs bytes
        for b in stream:
            for row in b:
                k = row.tobytes()
                d[k] = d.get(k, 0) + 1
        return d

    warm_table, warm_dict = count(ExactCounter()), tally({})
    warm_hashed = count(ExactCounter(store_keys=False))

    def hash_only():  # a floor for any exact table: read and hash every key once
        for b in stream:
            hash_keys(b, strong=False)

    def read_only():  # read every key's words once, row by row as the kernels do
        for b in stream:
            _read_words(b.reshape(len(b), -1))

    flat = [_as_words(b) for b in stream]

    def stream_only():  # the memory floor: one vectorised pass over the same bytes
        for w in flat:
            _sum_words(w)

    fns = {"numba": lambda: count(ExactCounter()),
           "numba_hash_only": lambda: count(ExactCounter(store_keys=False)),
           "dict": lambda: tally({}), "numba_warm": lambda: count(warm_table),
           "numba_hash_only_warm": lambda: count(warm_hashed),
           "dict_warm": lambda: tally(warm_dict), "hash": hash_only,
           "read": read_only, "stream": stream_only}  # fmt: skip
    for fn in fns.values():  # compile / load the Numba cache outside the timing
        fn()
    t = interleaved(fns, trials)
    n = len(stream) * BATCH
    out = {f"{k}_ups": n / v for k, v in t.items()}
    out["ratio"] = t["dict"] / t["numba"]
    out["ratio_hash_only"] = t["dict"] / t["numba_hash_only"]
    out["ratio_warm"] = t["dict_warm"] / t["numba_warm"]
    out["ratio_hash_only_warm"] = t["dict_warm"] / t["numba_hash_only_warm"]
    out["hash_ratio"] = t["dict"] / t["hash"]
    out["read_ratio"] = t["dict"] / t["read"]
    out["stream_ratio"] = t["dict"] / t["stream"]
    out["ns_per_row"] = {k: 1e9 * v / n for k, v in t.items()}
    return out


@njit(cache=False)
def _read_words(keys: np.ndarray) -> int:
    """Sum every word of every key row, row by row: reading the keys as the kernels do.

    Per-row word loads with a zero-padded tail are instruction-bound, not memory-bound: on hot
    data this takes several times as long as :func:`_sum_words` over the same bytes.
    """
    n, nbytes = keys.shape
    data = data_pointer(keys)
    total = np.uint64(0)
    for i in range(n):
        for j in range((nbytes + 7) >> 3):
            total += row_word(data, i * nbytes, nbytes, j)
    return total


def _as_words(batch: np.ndarray) -> np.ndarray:
    """A batch's bytes as one flat uint64 array (zero-padded to a multiple of 8 bytes)."""
    raw = batch.reshape(-1)
    padded = np.zeros(-(-raw.size // 8) * 8, np.uint8)
    padded[: raw.size] = raw
    return padded.view(np.uint64)


@njit(cache=False)
def _sum_words(words: np.ndarray) -> int:
    """Sum a flat word array: the cost of streaming the bytes from memory, no per-row work."""
    total = np.uint64(0)
    for i in range(words.shape[0]):
        total += words[i]
    return total


# -- 2. SimHash + count-min ---------------------------------------------------------------------
def bench_simhash(n_batches: int, trials: int, bits: int = 32) -> dict[str, float]:
    from rewardshaping.counting import CountMinSketch, SimHash, largest_primes

    rng = np.random.default_rng(0)
    # Vectors near a few hundred centres: realistic revisits of similar states.
    centres = rng.standard_normal((500, 64)).astype(np.float32)
    stream = [
        centres[rng.integers(0, 500, BATCH)] + 0.05 * rng.standard_normal((BATCH, 64)).astype(np.float32)
        for _ in range(n_batches)
    ]  # fmt: skip
    sh = SimHash(64, bits, seed=0)
    primes = np.array(largest_primes(1_000_000, 6), np.uint64)
    proj_t = np.ascontiguousarray(sh.projection.T.astype(np.float32))
    powers = (np.uint64(1) << np.arange(bits, dtype=np.uint64)).astype(np.uint64)
    codes_stream = [sh(x) for x in stream]

    def numpy_codes(x):
        bits_ = (x @ proj_t) > 0
        return (bits_.astype(np.uint64) * powers).sum(axis=1, dtype=np.uint64)

    def numpy_sketch_from(codes, tables):
        idx = (codes[:, None] % primes).astype(np.int64)
        for j in range(len(primes)):
            np.add.at(tables[j], idx[:, j], 1)
        return np.min([tables[j][idx[:, j]] for j in range(len(primes))], axis=0)

    # Tables are allocated once (48 MB each side) and keep counting across trials: allocation
    # is a one-off cost, not a per-update one.
    cms = CountMinSketch()
    tables = [np.zeros(int(p), np.int64) for p in primes]

    def ours():
        for x in stream:
            cms.update(sh(x))

    def numpy_sketch():
        for x in stream:
            numpy_sketch_from(numpy_codes(x), tables)

    packed = [numpy_codes(x) for x in stream]

    def ours_codes_only():
        for c in codes_stream:
            cms.update(c)

    def numpy_codes_only():
        for c in packed:
            numpy_sketch_from(c, tables)

    ours()
    t = interleaved({"numba": ours, "numpy": numpy_sketch, "numba_sketch": ours_codes_only,
                     "numpy_sketch": numpy_codes_only}, trials)  # fmt: skip
    n = n_batches * BATCH
    return {
        "numba_ups": n / t["numba"], "numpy_ups": n / t["numpy"], "ratio": t["numpy"] / t["numba"],
        "sketch_numba_ups": n / t["numba_sketch"], "sketch_numpy_ups": n / t["numpy_sketch"],
        "sketch_ratio": t["numpy_sketch"] / t["numba_sketch"],
    }  # fmt: skip


# -- 3. bonus overhead on DoorKey -----------------------------------------------------------------
def bench_overhead(steps: int, trials: int, n_envs: int = 16) -> dict[str, float]:
    import gymnasium as gym
    import minigrid  # noqa: F401

    from rewardshaping import ShapedVectorEnv, StepPenalty, Transitions
    from rewardshaping.intrinsic import AgentPositionInfo, CountBonus, InfoKey, ObsKey

    def make():
        return gym.make_vec("MiniGrid-DoorKey-8x8-v0", n_envs, vectorization_mode="sync",
                            wrappers=[AgentPositionInfo])  # fmt: skip

    variants = {
        "plain": make(),
        "wrapper+trivial term": ShapedVectorEnv(make(), StepPenalty(0.0)),
        "count bonus (agent_pos key)": ShapedVectorEnv(make(), CountBonus(InfoKey("agent_pos"))),
        "count bonus (image key)": ShapedVectorEnv(make(), CountBonus(ObsKey("image"))),
    }
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 7, (steps, n_envs))
    for env in variants.values():
        env.reset(seed=0)

    def runner(env):
        def go():
            for a in actions:
                env.step(a)

        return go

    for env in variants.values():  # warm-up (Numba cache load, first allocations)
        runner(env)()
    t = interleaved({k: runner(v) for k, v in variants.items()}, trials)
    per_step = {k: v / steps for k, v in t.items()}
    base = per_step["plain"]
    out = {f"{k} ms/step": 1e3 * v for k, v in per_step.items()}
    for k in list(variants)[1:]:
        out[f"{k} overhead %"] = 100 * (per_step[k] - base) / base
    # The term alone, on a real DoorKey batch (the wrapper differences above are close to the
    # noise of a shared machine; this isolates the term's own cost).
    plain = variants["plain"]
    obs, _ = plain.reset(seed=1)
    nxt, rew, term, trunc, info = plain.step(actions[0])
    batch = Transitions.from_arrays(obs, actions[0], nxt, rew, term, trunc, infos=info)
    for name, bonus in (("agent_pos key", CountBonus(InfoKey("agent_pos"))),
                        ("image key", CountBonus(ObsKey("image")))):  # fmt: skip
        bonus(batch)
        call = median_time(lambda b=bonus: b(batch), 2000)
        out[f"CountBonus({name}) call ms"] = 1e3 * call
        out[f"CountBonus({name}) call % of plain step"] = 100 * call / base
    return out


# -- 4. per-call cost on one vector step's batch ----------------------------------------------
def bench_calls(n_envs: int = 16, number: int = 3000) -> dict[str, float]:
    """Microseconds per call on a batch of ``n_envs`` rows (timeit minimum of 7 repeats).

    At this size the Python and NumPy calls around a kernel cost more than the kernel, so this
    is what a count bonus adds to each vector step.
    """
    import timeit

    from rewardshaping import Transitions
    from rewardshaping.counting import CountMinSketch, EpisodicCounter, ExactCounter
    from rewardshaping.intrinsic import CountBonus

    rng = np.random.default_rng(0)
    views = rng.integers(0, 11, (n_envs, 7, 7, 3), dtype=np.uint8)
    pos = rng.integers(1, 7, (n_envs, 2))
    batch = Transitions.from_arrays(np.zeros((n_envs, 2)), np.zeros(n_envs, int), pos,
                                    np.zeros(n_envs))  # fmt: skip
    exact_views, exact_pos, episodic = ExactCounter(), ExactCounter(), EpisodicCounter(n_envs)
    sketch, bonus = CountMinSketch(), CountBonus()
    calls = {
        f"ExactCounter.update, {n_envs} x 147-byte views": lambda: exact_views.update(views),
        f"ExactCounter.update, {n_envs} positions": lambda: exact_pos.update(pos),
        f"EpisodicCounter.update, {n_envs} positions": lambda: episodic.update(pos),
        f"CountMinSketch.update, {n_envs} positions": lambda: sketch.update(pos),
        f"CountBonus() call, {n_envs} positions": lambda: bonus(batch),
    }
    out = {}
    for name, fn in calls.items():
        fn()
        out[name] = 1e6 * min(timeit.repeat(fn, number=number, repeat=7)) / number
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches and trials")
    parser.add_argument("--parts", nargs="+", default=["exact", "simhash", "overhead", "calls"])
    args = parser.parse_args()
    n_batches, trials = (4, 3) if args.quick else (16, 7)
    import numba

    print(f"# bench_counting on {platform.processor() or platform.machine()}, "
          f"numpy {np.__version__}, numba {numba.__version__}, one thread "
          f"(NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}); batch {BATCH}")  # fmt: skip
    if "exact" in args.parts:
        views = minigrid_views(n_batches)
        rng = np.random.default_rng(1)
        random_views = [rng.integers(0, 256, (BATCH, 7, 7, 3), dtype=np.uint8) for _ in views]
        for name, stream in (("DoorKey views", views), ("random views", random_views)):
            r = bench_exact(stream, trials)
            print(f"exact 7x7x3 uint8, {name:14s}: numba {r['numba_ups'] / 1e6:6.2f} M upd/s | "
                  f"dict {r['dict_ups'] / 1e6:6.2f} M upd/s | ratio {r['ratio']:5.1f}x "
                  f"(hashing alone: {r['hash_ratio']:5.1f}x, reading rows: "
                  f"{r['read_ratio']:5.1f}x, streaming the bytes: {r['stream_ratio']:5.1f}x)")  # fmt: skip
            print("    ns/row: " + ", ".join(f"{k} {v:.1f}" for k, v in r["ns_per_row"].items()))
            print(f"    hash-only table (store_keys=False)       : numba "
                  f"{r['numba_hash_only_ups'] / 1e6:6.2f} M upd/s | ratio "
                  f"{r['ratio_hash_only']:5.1f}x")  # fmt: skip
            print(f"    warm (keys already in table and dict)    : numba "
                  f"{r['numba_warm_ups'] / 1e6:6.2f} M upd/s | dict "
                  f"{r['dict_warm_ups'] / 1e6:6.2f} M upd/s | ratio {r['ratio_warm']:5.1f}x")  # fmt: skip
            print(f"    hash-only table, warm                    : numba "
                  f"{r['numba_hash_only_warm_ups'] / 1e6:6.2f} M upd/s | ratio "
                  f"{r['ratio_hash_only_warm']:5.1f}x")  # fmt: skip
        pos = [np.random.default_rng(i).integers(1, 7, (BATCH, 2)) for i in range(n_batches)]
        r = bench_exact(pos, trials)
        print(f"exact (x, y) int64 positions      : numba {r['numba_ups'] / 1e6:6.2f} M upd/s | "
              f"dict {r['dict_ups'] / 1e6:6.2f} M upd/s | ratio {r['ratio']:5.1f}x")  # fmt: skip
    if "simhash" in args.parts:
        r = bench_simhash(n_batches, trials)
        print(
            f"SimHash k=32 + count-min (6 tables), 64-d float32: numba {r['numba_ups'] / 1e6:6.2f} "
            f"M upd/s | numpy {r['numpy_ups'] / 1e6:6.2f} M upd/s | ratio {r['ratio']:5.1f}x"
        )
        print(f"count-min only (codes given)                     : numba "
              f"{r['sketch_numba_ups'] / 1e6:6.2f} M upd/s | numpy {r['sketch_numpy_ups'] / 1e6:6.2f}"
              f" M upd/s | ratio {r['sketch_ratio']:5.1f}x")  # fmt: skip
    if "overhead" in args.parts:
        r = bench_overhead(steps=100 if args.quick else 200, trials=trials if args.quick else 15)
        print("DoorKey-8x8, 16 sync envs (ShapedVectorEnv), median of interleaved trials:")
        for k, v in r.items():
            print(f"  {k:45s} {v:8.3f}")
    if "calls" in args.parts:
        print("per-call cost on one vector step's batch (us, timeit minimum):")
        for k, v in bench_calls().items():
            print(f"  {k:45s} {v:8.2f}")


if __name__ == "__main__":
    main()

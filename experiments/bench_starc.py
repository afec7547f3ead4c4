"""Speed of the exact reward metrics (the claims of the STARC issue).

1. Exact STARC-VAL distance between two rewards on a random MDP with S = 1000, A = 8
   (target: under 1 s on CPU), and, for information, the other canonicalisations.
2. The 2,000-pair regret study of ``experiments/starc_regret.py`` (target: under 1 min).

Run:
    python experiments/bench_starc.py            # both
    python experiments/bench_starc.py --no-study # only the S = 1000 timings
Timings are the best of ``--repeat`` runs (wall clock) plus the process CPU time of that run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from rewardshaping.metrics import canonicalize, epic_distance, starc_distance
from rewardshaping.tabular import random_mdp


def best_of(fn, repeat: int) -> tuple[float, float]:
    """(best wall seconds, CPU seconds of that run) over ``repeat`` calls."""
    runs = []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - w, time.process_time() - c))
    return min(runs)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--states", type=int, default=1000)
    p.add_argument("--actions", type=int, default=8)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-study", action="store_true", help="skip the 2,000-pair study")
    p.add_argument("--all-canons", action="store_true", help="also time DARD and minimal")
    args = p.parse_args(argv)

    S, A = args.states, args.actions
    mdp = random_mdp(S, A, 0.95, seed=0)
    R1, R2 = np.random.default_rng(0).normal(size=(2, S, A, S))
    print(f"random MDP S={S}, A={A}, gamma=0.95; two Gaussian rewards; best of {args.repeat}")
    cases = {
        "starc_distance(canon='val', norm='l2')": lambda: starc_distance(R1, R2, mdp),
        "starc_distance(canon='val', weights='transition')": lambda: starc_distance(
            R1, R2, mdp, weights="transition"
        ),
        "canonicalize(R1, canon='val') (full S x A x S array)": lambda: canonicalize(R1, mdp),
        "epic_distance (Pearson)": lambda: epic_distance(R1, R2, mdp),
    }
    if args.all_canons:
        cases["starc_distance(canon='dard')"] = lambda: starc_distance(R1, R2, mdp, canon="dard")
        cases["starc_distance(canon='minimal')"] = lambda: starc_distance(
            R1, R2, mdp, canon="minimal"
        )
    for name, fn in cases.items():
        wall, cpu = best_of(fn, args.repeat)
        print(f"  {name:55s} {wall:7.3f} s wall  {cpu:7.3f} s CPU")

    if not args.no_study:
        sys.path.insert(0, str(Path(__file__).parent))
        import starc_regret

        print("\n2,048-pair regret study (32 MDPs x 64 pairs x 16 interpolations):")
        w, c = time.perf_counter(), time.process_time()
        starc_regret.main(["--no-plot"])
        print(
            f"\nstudy total: {time.perf_counter() - w:.1f} s wall, "
            f"{time.process_time() - c:.1f} s CPU"
        )


if __name__ == "__main__":
    main()

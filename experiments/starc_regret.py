"""Regret-correlation study of reward distances (Skalse et al. 2024, section 5; authors' setup).

Random MDPs (32 states, 4 actions, gamma 0.95, STARC-style thresholded-softmax dynamics, uniform
start), random reward pairs (R1, R2) drawn with the authors' recipe (Gaussian, sometimes sparse,
scaled, shifted, potential-shaped), and 16 rewards on the segment from R1 to R2,
R_k = R1 + (R2 - R1) k / 16, k = 1..16. For each (R1, R_k): every distance d(R1, R_k) and the
exact normalised regret (exact optimal and worst policies by policy iteration, exact returns)
in both directions: "forward" (optimise R_k when R1 is true) and "backward" (optimise R1 when
R_k is true). The headline regret is their mean, as in the authors' analysis notebook (a distance
is symmetric; one direction alone is also reported). Reported: the Pearson correlation, over all
(R1, R_k), of each distance with the regret, for every canonicalisation x norm (metric = norm),
and for EPIC's and DARD's own Pearson distances.

Run:
    python experiments/starc_regret.py                 # 32 MDPs x 64 pairs = 2048 pairs
    python experiments/starc_regret.py --mdps 4        # a quick look
Prints both tables; writes ``starc_regret.png`` and ``starc_regret.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rewardshaping.metrics import (
    canonicalize,
    distance_from_canonical,
    normalized_regret,
    transition_weights,
)
from rewardshaping.tabular import random_mdp, random_reward

CANONS = ("none", "epic", "dard", "val", "minimal")
NORMS = {  # column name -> (norm, weights)
    "L1": ("l1", None),
    "L2": ("l2", None),
    "Linf": ("linf", None),
    "T-weighted L2": ("l2", "transition"),
}
LABEL = {"none": "none", "epic": "EPIC", "dard": "DARD", "val": "VAL", "minimal": "minimal"}


def run_mdp(mdp, n_pairs: int, steps: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Distances and regrets of all (R1, R_k) of one MDP, flattened to n_pairs * steps.

    Equal to calling ``starc_distance(R1, R_k, mdp, ...)``, ``epic_distance`` and
    ``dard_distance`` (tests/test_metrics_regret_study.py checks it), but each canonicalisation
    runs once per pair: canonicalisations are linear, so c(R_k) = c(R1) + k/16 (c(R2) - c(R1)).
    """
    S, A, g = mdp.n_states, mdp.n_actions, mdp.gamma
    R1 = random_reward(S, A, size=n_pairs, gamma=g, recipe="starc", seed=rng)
    R2 = random_reward(S, A, size=n_pairs, gamma=g, recipe="starc", seed=rng)
    t = (np.arange(1, steps + 1) / steps)[None, :, None, None, None]
    Rk = R1[:, None] + (R2 - R1)[:, None] * t  # (n_pairs, steps, S, A, S)
    forward = normalized_regret(R1[:, None], Rk, mdp)  # optimise R_k, R1 true
    backward = normalized_regret(Rk, R1[:, None], mdp)  # optimise R1, R_k true
    out = {
        "regret": ((forward + backward) / 2).reshape(-1),
        "regret_forward": forward.reshape(-1),
    }
    max_abs = lambda R: np.abs(R).max(axis=(-3, -2, -1))  # noqa: E731
    scale1, scale_k = max_abs(R1)[:, None], max_abs(Rk)
    W = transition_weights(mdp)

    def canonical_path(canon: str, **options) -> tuple[np.ndarray, np.ndarray]:
        C1, C2 = canonicalize(np.stack([R1, R2]), mdp, canon, **options)
        return C1[:, None], C1[:, None] + (C2 - C1)[:, None] * t

    for canon in CANONS:
        path = canonical_path(canon)
        for col, (norm, weights) in NORMS.items():
            w = W if weights == "transition" else None
            if canon == "minimal" and w is not None:  # least T-weighted-L2 member
                C1, Ck = canonical_path(canon, weights=w)
            else:
                C1, Ck = path
            d = distance_from_canonical(C1, Ck, norm=norm, weights=w, scale1=scale1, scale2=scale_k)
            out[f"{canon}|{col}"] = d.reshape(-1)
        if canon in ("epic", "dard"):  # the original Pearson distances (default coverages)
            w = None if canon == "epic" else W
            d = distance_from_canonical(
                *path, norm="pearson", weights=w, scale1=scale1, scale2=scale_k
            )
            out[f"{LABEL[canon]} Pearson|"] = d.reshape(-1)
    return out


def correlations(results: dict[str, np.ndarray], regret: str) -> dict[str, float]:
    """Pearson correlation of every distance with the regret column ``regret``."""
    reg = results[regret]
    return {k: float(np.corrcoef(v, reg)[0, 1]) for k, v in results.items() if "regret" not in k}


def table(corr: dict[str, float]) -> str:
    """A markdown table: canonicalisation x norm, then the original Pearson distances."""
    cols = list(NORMS)
    lines = ["| canonicalisation | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for canon in CANONS:
        cells = [f"{corr[f'{canon}|{c}']:.3f}" for c in cols]
        lines.append(f"| {LABEL[canon]} | " + " | ".join(cells) + " |")
    for name in ("EPIC", "DARD"):
        lines.append(
            f"| {name}, Pearson distance | {corr[name + ' Pearson|']:.3f} (own coverage) |"
        )
    return "\n".join(lines)


def plot(corr: dict[str, float], results: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(NORMS)
    x = np.arange(len(CANONS))
    for i, col in enumerate(NORMS):
        ax1.bar(x + i * width, [corr[f"{c}|{col}"] for c in CANONS], width, label=col)
    ax1.set_xticks(x + width * (len(NORMS) - 1) / 2, [LABEL[c] for c in CANONS])
    ax1.set_ylabel("Pearson correlation with normalised regret")
    ax1.set_ylim(0, 1)
    ax1.axhline(0.85, color="grey", lw=0.8, ls="--")
    ax1.legend(title="norm = metric", fontsize=8, loc="upper left", ncol=2)
    ax1.set_title("Distance vs (symmetric) regret")
    rng = np.random.default_rng(0)
    n = results["regret"].size
    idx = rng.choice(n, size=min(4000, n), replace=False)
    for key, label in (("val|L2", "VAL, L2"), ("epic|L2", "EPIC, L2"), ("none|L2", "none, L2")):
        ax2.scatter(results[key][idx], results["regret"][idx], s=3, alpha=0.4, label=label)
    ax2.set_xlabel("distance d(R1, R_k)")
    ax2.set_ylabel("normalised regret (mean of both directions)")
    ax2.legend(markerscale=4, fontsize=8)
    ax2.set_title("Each point: one (R1, R_k); 4000 shown")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mdps", type=int, default=32, help="random MDPs (default 32)")
    p.add_argument("--pairs", type=int, default=64, help="reward pairs per MDP (default 64)")
    p.add_argument("--steps", type=int, default=16, help="interpolation steps (default 16)")
    p.add_argument("--states", type=int, default=32)
    p.add_argument("--actions", type=int, default=4)
    p.add_argument("--gamma", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("starc_regret.png"), help="plot path"
    )
    p.add_argument("--no-plot", action="store_true", help="print only (no PNG/JSON)")
    args = p.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    t0, c0 = time.perf_counter(), time.process_time()
    parts: list[dict[str, np.ndarray]] = []
    for i in range(args.mdps):
        mdp = random_mdp(args.states, args.actions, args.gamma, kind="starc", seed=rng)
        parts.append(run_mdp(mdp, args.pairs, args.steps, rng))
        if (i + 1) % 8 == 0 or i + 1 == args.mdps:
            print(f"  {i + 1}/{args.mdps} MDPs, {time.perf_counter() - t0:.1f} s", flush=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    results = {k: np.concatenate([r[k] for r in parts]) for k in parts[0]}
    corr = {
        "symmetric": correlations(results, "regret"),
        "forward": correlations(results, "regret_forward"),
    }
    print(
        f"\n{args.mdps * args.pairs} reward pairs x {args.steps} interpolations = "
        f"{results['regret'].size} (R1, R_k) on {args.mdps} MDPs (S={args.states}, "
        f"A={args.actions}, gamma={args.gamma}), seed {args.seed}: {wall:.1f} s wall, "
        f"{cpu:.1f} s CPU"
    )
    print(
        f"mean normalised regret: symmetric {results['regret'].mean():.3f}, "
        f"forward {results['regret_forward'].mean():.3f}"
    )
    print("\nPearson correlation with the symmetric regret (mean of both directions):\n")
    print(table(corr["symmetric"]))
    print("\nPearson correlation with the forward regret (optimise R_k, R1 true):\n")
    print(table(corr["forward"]))
    if not args.no_plot:
        plot(corr["symmetric"], results, args.out)
        record = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "wall_s": wall,
            "cpu_s": cpu,
            "pearson_with_regret": corr,
        }
        args.out.with_suffix(".json").write_text(json.dumps(record, indent=1))
        print(f"\nplot: {args.out}")
    return corr


if __name__ == "__main__":
    main()

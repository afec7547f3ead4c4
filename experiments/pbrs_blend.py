"""PBRS, a misleading heuristic and the learned blend (BlendedPPO) on a sparse KeyDoor gridworld.

Arms (our torch PPO, identical hyperparameters and seeds):

* ``unshaped`` -- PPO on the sparse reward only.
* ``pbrs`` -- PPO + potential-based shaping with the goal distance, ``F = gamma*Phi(s') -
  Phi(s)``, ``Phi = -scale * (shortest-path distance to the goal) / (2 * size)``.
* ``misleading`` -- PPO + a naive additive heuristic that pays, every step,
  ``scale * distance(s') / (2 * size)``: a bonus for staying far from the goal (not
  potential-based, so it changes the optimal policy: never reach the goal).
* ``blend_misleading`` -- BlendedPPO with the misleading heuristic.
* ``blend_pbrs`` -- BlendedPPO with the PBRS term as the heuristic.
* ``blend_both`` -- BlendedPPO with both (it should keep one and drop the other).
* ``race_misleading``, ``race_pbrs``, ``race_both`` -- the outer loop
  (:func:`rewardshaping.agents.blend_race.race`): one candidate per subset of the heuristics
  (the empty subset is unshaped PPO, the others the matching ``blend_*`` arm), successive
  halving on the recent primary return at ``--race-rung`` of the budget (ties go to the
  fewest heuristics); reported: the winner's curve, and the env steps of the whole race.

The env is the toolkit's Numba-batched ``KeyDoorVectorEnv`` (``easy``: open door, fixed goal,
random start in the left room) with vector observations; the goal distance is decoded from the
observation (agent one-hot, goal, wall column, door row) and is exact for an open door.

Reported per run: the success rate and mean env return of ``--eval-episodes`` episodes of the
stochastic policy on fresh seeds at ``--evals`` evenly spaced points of training (the learning
curve), their mean over the points (area under the curve: speed) and the final values, the learned
weights for blend arms, and the wall time. Results are appended as JSON lines to ``--out``; runs
already there are skipped (a killed run resumes). ``--summary`` prints the table of means and
standard deviations over seeds from that file.

    python experiments/pbrs_blend.py --seeds 0 1 2 3 4 --out runs/pbrs_blend.jsonl
    python experiments/pbrs_blend.py --summary --out runs/pbrs_blend.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from rewardshaping.agents.blend_race import race
from rewardshaping.agents.blended_ppo import BlendConfig, BlendedPPO
from rewardshaping.agents.evaluation import evaluate_policy
from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.envs.gridworld import KeyDoorVectorEnv
from rewardshaping.shaping import AdditiveHeuristic, FunctionPotential, PotentialShaping

ARMS = ["unshaped", "pbrs", "misleading", "blend_misleading", "blend_pbrs", "blend_both",
        "race_misleading", "race_pbrs", "race_both"]  # fmt: skip


def goal_distance(obs: np.ndarray, size: int) -> np.ndarray:
    """Shortest-path steps to the goal from KeyDoor vector observations (open door).

    The agent's cell is the argmax of the first ``size**2`` entries; goal row/col, wall column
    and door row are one-hots after the key's. Left of the wall the path goes through the door.
    """
    obs = np.asarray(obs)
    ss = size * size
    cell = obs[:, :ss].argmax(1)
    r, c = cell // size, cell % size
    base = ss + 2 * size
    gr = obs[:, base : base + size].argmax(1)
    gc = obs[:, base + size : base + 2 * size].argmax(1)
    wc = obs[:, base + 2 * size : base + 3 * size].argmax(1)
    dr = obs[:, base + 3 * size : base + 4 * size].argmax(1)
    right = np.abs(r - gr) + np.abs(c - gc)
    left = np.abs(r - dr) + np.abs(wc - c) + np.abs(dr - gr) + np.abs(gc - wc)
    return np.where(c >= wc, right, left).astype(np.float64)


def make_terms(args: argparse.Namespace):
    size, norm = args.size, 2.0 * args.size

    def phi(obs):
        return -args.scale * goal_distance(obs, size) / norm

    def far(batch):
        return args.scale * goal_distance(batch.next_obs, size) / norm * args.far_rate

    pbrs = PotentialShaping(FunctionPotential(phi, name="goal_distance"), gamma=args.gamma)
    misleading = AdditiveHeuristic(far, name="far_from_goal")
    return pbrs, misleading


def config(args: argparse.Namespace, seed: int) -> PPOConfig:
    return PPOConfig(
        env_id="rewardshaping/KeyDoor-Easy-v0",
        env_kwargs={"size": args.size, "max_episode_steps": args.max_steps},
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        learning_rate=args.lr,
        gamma=args.gamma,
        total_timesteps=args.steps,
        seed=seed,
        device=args.device,
        tensorboard=False,
    )


def make_agent(arm: str, args: argparse.Namespace, seed: int, w_init=None):
    pbrs, misleading = make_terms(args)
    c = config(args, seed)
    w_init = args.w_init if w_init is None else w_init
    blend = BlendConfig(w_init=w_init, w_max=args.w_max, meta_lr=args.meta_lr,
                        state_dependent=args.state_dependent,
                        no_evidence_decay=args.no_evidence_decay,
                        reset_policy_below=args.reset_policy_below,
                        relative_scale=not args.raw_scale)  # fmt: skip
    if arm == "unshaped":
        return PPO(c)
    if arm == "pbrs":
        return PPO(c, terms=pbrs)
    if arm == "misleading":
        return PPO(c, terms=misleading)
    if arm == "blend_misleading":
        return BlendedPPO(c, heuristics=[misleading], blend=blend)
    if arm == "blend_pbrs":
        return BlendedPPO(c, heuristics=[pbrs], blend=blend)
    if arm == "blend_both":
        return BlendedPPO(c, heuristics=[pbrs, misleading], blend=blend)
    raise ValueError(f"unknown arm {arm!r}")


def evaluate(agent, args: argparse.Namespace, seed: int) -> tuple[float, float]:
    envs = KeyDoorVectorEnv(
        args.num_envs, size=args.size, difficulty="easy", max_episode_steps=args.max_steps
    )
    res = evaluate_policy(
        lambda o: agent.predict(o, deterministic=False), envs, args.eval_episodes, seed=seed
    )
    return float((res.returns > 0).mean()), float(res.returns.mean())


class Curves:
    """Learning curves: evaluates agents at ``args.evals`` evenly spaced iterations of their
    budget (success rate, env return, weights of a BlendedPPO) and times the evaluations."""

    def __init__(self, args: argparse.Namespace, seed: int, num_iterations: int) -> None:
        self.args, self.seed, self.seconds = args, seed, 0.0
        n, k = num_iterations, args.evals
        self.points = sorted({max(1, round(n * (j + 1) / k)) for j in range(k)})
        self.curves: dict[int, dict[str, list]] = {}

    def __call__(self, index: int, agent) -> None:
        """Evaluate candidate ``index`` if it has just reached an evaluation point."""
        if agent.iteration not in self.points:
            return
        e0 = time.perf_counter()
        s, r = evaluate(agent, self.args, 100_000 + 1000 * self.seed + agent.iteration)
        self.seconds += time.perf_counter() - e0
        c = self.curves.setdefault(index, {"s": [], "r": [], "steps": [], "w": []})
        c["s"].append(round(s, 3))
        c["r"].append(round(r, 4))
        c["steps"].append(agent.global_step)
        if isinstance(agent, BlendedPPO):
            c["w"].append({k: round(v, 3) for k, v in agent.heuristic_weights().items()})

    def result(self, index: int, agent, wall: float) -> dict:
        """The stored fields of candidate ``index``'s curve (``wall``: the whole run's time)."""
        c = self.curves[index]
        return {
            "policy_reset": bool(getattr(agent, "policy_was_reset", False)),
            "curve_steps": c["steps"], "success_curve": c["s"], "return_curve": c["r"],
            "success_auc": float(np.mean(c["s"])), "final_success": c["s"][-1],
            "final_return": c["r"][-1], "weights": c["w"],
            "train_seconds": round(wall - self.seconds, 1),
            "eval_seconds": round(self.seconds, 1),
        }  # fmt: skip


def run(arm: str, seed: int, args: argparse.Namespace) -> dict:
    if arm.startswith("race"):
        return run_race(arm, seed, args)
    agent = make_agent(arm, args, seed)
    curves = Curves(args, seed, agent.config.num_iterations)
    t0 = time.perf_counter()
    agent.learn(callback=lambda a, stats: curves(0, a))
    wall = time.perf_counter() - t0
    agent.envs.close()
    return record(arm, seed, args) | curves.result(0, agent, wall)


def record(arm: str, seed: int, args: argparse.Namespace) -> dict:
    """The settings of a run, as stored with its results."""
    return {
        "arm": arm, "seed": seed, "steps": args.steps, "size": args.size,
        "max_steps": args.max_steps, "scale": args.scale, "far_rate": args.far_rate,
        "w_init": args.w_init, "w_max": args.w_max, "meta_lr": args.meta_lr,
        "state_dependent": args.state_dependent, "no_evidence_decay": args.no_evidence_decay,
        "reset_policy_below": args.reset_policy_below, "relative_scale": not args.raw_scale,
        **({"race_rung": args.race_rung} if arm.startswith("race") else {}),
    }  # fmt: skip


def run_race(arm: str, seed: int, args: argparse.Namespace) -> dict:
    """The outer loop: successive halving over which heuristics are switched on (each subset,
    the empty one being unshaped PPO; weights start at ``w_init`` and are learned within)."""
    names = {"race_misleading": ["misleading"], "race_pbrs": ["pbrs"],
             "race_both": ["pbrs", "misleading"]}[arm]  # fmt: skip
    subsets = [c for k in range(len(names) + 1) for c in itertools.combinations(names, k)]
    arm_of = {(): "unshaped", ("misleading",): "blend_misleading", ("pbrs",): "blend_pbrs",
              ("pbrs", "misleading"): "blend_both"}  # fmt: skip
    agents = [make_agent(arm_of[c], args, seed) for c in subsets]
    curves = Curves(args, seed, agents[0].config.num_iterations)
    t0 = time.perf_counter()
    # A tie (e.g. no candidate has reached the goal yet) keeps the fewest heuristics.
    result = race(agents, rungs=(args.race_rung,), tie_break=[len(c) for c in subsets],
                  callback=lambda i, a, stats: curves(i, a))  # fmt: skip
    wall = time.perf_counter() - t0
    for a in agents:
        a.envs.close()
    return record(arm, seed, args) | curves.result(result.winner, agents[result.winner], wall) | {
        "race_candidates": [arm_of[c] for c in subsets], "race_winner": result.winner,
        "race_scores": [{str(i): round(v, 4) for i, v in r.scores.items()}
                        for r in result.rounds],
        "race_env_steps": result.env_steps,
    }  # fmt: skip


BLEND_KEYS = ("w_init", "w_max", "meta_lr", "state_dependent", "no_evidence_decay",
              "reset_policy_below", "relative_scale")  # fmt: skip
RACE_KEYS = ("race_rung",)
KEYS = ("steps", "size", "max_steps", "scale", "far_rate", "w_init", "w_max", "meta_lr",
        "state_dependent", "no_evidence_decay", "reset_policy_below", "relative_scale",
        *RACE_KEYS)  # fmt: skip


def matches(row: dict, want: dict) -> bool:
    """Whether a stored run used these settings (rows older than the decay option had none)."""
    # Options added later, with the values runs recorded before them had.
    late = {"no_evidence_decay": 0.0, "reset_policy_below": 0.0, "relative_scale": False}
    # The plain PPO arms do not depend on the blend's settings, nor the blends on the race's.
    arm = row["arm"]
    skip = () if arm.startswith(("blend", "race")) else BLEND_KEYS
    skip = skip if arm.startswith("race") else (*skip, *RACE_KEYS)
    keys = [k for k in want if k not in skip]
    return all(row.get(k, late.get(k)) == want[k] for k in keys)


def summary(rows: list[dict], args: argparse.Namespace) -> None:
    want = {k: getattr(args, k) for k in KEYS}
    rows = [r for r in rows if matches(r, want)]
    print(f"settings: {want}")
    print(
        f"{'arm':18s} {'n':>2s} {'success AUC':>16s} {'final success':>16s} "
        f"{'final return':>16s} {'train s':>8s}  final weights"
    )
    for arm in ARMS:
        sel = [r for r in rows if r["arm"] == arm]
        if not sel:
            continue

        def ms(key, sel=sel):
            x = np.array([r[key] for r in sel], dtype=float)
            return f"{x.mean():.3f} +- {x.std(ddof=1) if len(x) > 1 else 0.0:.3f}"

        w = [r["weights"][-1] for r in sel if r["weights"]]
        wtxt = ""
        if w:
            wtxt = ", ".join(f"{k}={np.mean([x[k] for x in w]):.2f}" for k in w[0])
        if "race_env_steps" in sel[0]:
            cost = np.mean([r["race_env_steps"] / r["steps"] for r in sel])
            wtxt += f"; race: {cost:.2f}x the steps, winners {[r['race_winner'] for r in sel]}"
        secs = np.mean([r["train_seconds"] for r in sel])
        print(
            f"{arm:18s} {len(sel):2d} {ms('success_auc'):>16s} {ms('final_success'):>16s} "
            f"{ms('final_return'):>16s} {secs:8.1f}  {wtxt}"
        )
    print("mean success curve (eval points):")
    for arm in ARMS:
        sel = [r for r in rows if r["arm"] == arm]
        if sel:
            curve = np.mean([r["success_curve"] for r in sel], axis=0)
            print(f"  {arm:18s} " + " ".join(f"{x:.2f}" for x in curve))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arms", nargs="+", default=ARMS, choices=ARMS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=200_000, help="env steps per run")
    p.add_argument("--size", type=int, default=12)
    p.add_argument("--max-steps", type=int, default=144, help="episode truncation")
    p.add_argument("--scale", type=float, default=1.0, help="shaping scale")
    p.add_argument(
        "--far-rate",
        type=float,
        default=0.01,
        help="the misleading bonus per step, relative to the potential's scale",
    )
    p.add_argument("--w-init", type=float, default=0.5)
    p.add_argument("--w-max", type=float, default=2.0)
    p.add_argument("--meta-lr", type=float, default=200.0)
    p.add_argument("--state-dependent", action="store_true")
    p.add_argument(
        "--no-evidence-decay",
        type=float,
        default=0.0,
        help="logit decrement of the weights after a rollout without primary reward",
    )
    p.add_argument(
        "--raw-scale",
        action="store_true",
        help="weigh raw heuristic advantages (BlendConfig.relative_scale=False)",
    )
    p.add_argument(
        "--reset-policy-below",
        type=float,
        default=0.0,
        help="reset the policy head once when every weight has faded below this",
    )
    p.add_argument("--race-rung", type=float, default=0.25, help="race arms: where to cut")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--num-steps", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--evals", type=int, default=10)
    p.add_argument("--eval-episodes", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=Path("runs/pbrs_blend.jsonl"))
    p.add_argument("--summary", action="store_true", help="only print the table from --out")
    args = p.parse_args()
    args.relative_scale = not args.raw_scale
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    rows = [json.loads(x) for x in args.out.read_text().splitlines()] if args.out.exists() else []
    if not args.summary:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        want = {k: getattr(args, k) for k in KEYS}
        done = {(r["arm"], r["seed"]) for r in rows if matches(r, want)}
        for seed in args.seeds:
            for arm in args.arms:
                if (arm, seed) in done:
                    continue
                result = run(arm, seed, args)
                print(json.dumps(result), flush=True)
                with args.out.open("a") as f:
                    f.write(json.dumps(result) + "\n")
                rows.append(result)
    summary(rows, args)


if __name__ == "__main__":
    main()

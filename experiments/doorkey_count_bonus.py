"""Sparse-reward check: SB3 PPO on MiniGrid-DoorKey-8x8 with and without a lifelong count bonus.

The bonus is :class:`rewardshaping.intrinsic.CountBonus` on the agent position
(``InfoKey("agent_pos")``, reported by :class:`rewardshaping.intrinsic.AgentPositionInfo`),
``beta / sqrt(N(pos))``, added to the env reward by :class:`rewardshaping.ShapedVecEnv`. Both arms
use the same PPO settings, env-step budget and seeds. The policy sees MiniGrid's 7x7x3 egocentric
view (``ImgObsWrapper``) through an MLP (``--policy mlp``) or through the small CNN that
MiniGrid's documentation uses with SB3 (``--policy cnn``: three 2x2 convolutions of 16, 32 and
64 channels, then a 128-unit linear layer).

Reported per run: the success rate (episodes with env reward > 0) over the last 20% of training
episodes, and the success rate and mean env return of ``--eval-episodes`` evaluation episodes of
the final (stochastic) policy on fresh seeds. Results are appended to a JSON-lines file, one line
per finished run, and runs already in it are skipped, so a killed run resumes.

    python experiments/doorkey_count_bonus.py --steps 700000 --seeds 0 1 --beta 0.05
    python experiments/doorkey_count_bonus.py --policy cnn --steps 500000 --seeds 0 1

``--agent toolkit`` trains the toolkit's own PPO (:mod:`rewardshaping.agents.ppo`) instead of
SB3's, with the same rollout size, minibatch size, epochs, learning rate, discount, GAE,
entropy and clip settings and its MiniGrid CNN. The difference that matters for a count bonus:
the toolkit PPO gives intrinsic terms their own value head with *non-episodic* returns and
divides them by the running std of their discounted return (as RND does), so the bonus neither
pays the agent to keep an episode going nor fades to nothing as counts grow; advantages are
``ext_coef * A_ext + int_coef * A_int`` with RND's coefficients 2 and 1. Its training success
curve is the success rate of the last 100 training episodes, averaged over the iterations that
end in each tenth of the budget.

Arm ``count_task`` counts a wider key, ``InfoKey("task_state")``: the position plus whether
the agent carries the key and whether the door is open. The position
count is shared across DoorKey's random layouts and soon pays next to nothing everywhere, and
it does not notice the two events the task hinges on. The wider key makes every cell new again
once the key is picked up, and again once the door opens.
(:class:`rewardshaping.intrinsic.MiniGridTaskStateInfo`).

Arm ``episodic`` keeps the plain position key but counts it per episode: the first-visit
indicator ``beta * 1[N_ep(pos) == 1]`` of :class:`rewardshaping.intrinsic.EpisodicCountBonus`,
cleared at every episode start. An episode's bonus is at most ``beta`` times the number of
cells, so longer episodes cannot keep earning it, and the cells behind the door pay again in
every episode, whatever the layout (Henaff et al. 2023: episodic bonuses suit tasks whose
episodes share little structure).

Arm ``count_inverse`` is the lifelong position-key bonus with ``beta / N`` instead of
``beta / sqrt(N)``. Under a random policy the cells behind the door are visited about 100 times
less often than those of the first room (``experiments/counting.md`` section 3g); 1/N turns that
into a 100x difference in pay where 1/sqrt(N) makes it 10x, so wandering the first room stops
paying sooner while the rare cells still pay.

Arm ``product`` is Henaff et al.'s (2023) combination on the plain position key: the lifelong
``1/sqrt(N(pos))`` times the episodic first-visit indicator,
``beta / sqrt(N(pos)) * 1[N_ep(pos) == 1]`` (:class:`rewardshaping.intrinsic.GlobalEpisodicCountBonus`).
Each cell pays at most once per episode, as in ``episodic``, and pays less the more often it has
been reached over the whole run, as in ``count``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import gymnasium as gym
import minigrid  # noqa: F401  (registers the MiniGrid envs)
import numpy as np
import torch
from minigrid.wrappers import ImgObsWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from rewardshaping.intrinsic import (
    AgentPositionInfo,
    CountBonus,
    EpisodicCountBonus,
    GlobalEpisodicCountBonus,
    InfoKey,
    MiniGridTaskStateInfo,
)
from rewardshaping.wrappers.sb3 import ShapedVecEnv

ENV_ID = "MiniGrid-DoorKey-8x8-v0"


def make_venv(n_envs: int, seed: int) -> VecMonitor:
    def thunk(i: int):
        def make():
            env = make_env()
            env.reset(seed=seed * 1000 + i)
            return env

        return make

    venv = DummyVecEnv([thunk(i) for i in range(n_envs)])
    venv.seed(seed * 1000)
    return VecMonitor(venv)  # below the shaping wrapper: it records the env's own reward


class MinigridCNN(BaseFeaturesExtractor):
    """Three 2x2 convolutions over the 7x7 view, then a linear layer.

    SB3 transposes image observations to channels first (``VecTransposeImage``) before the
    policy sees them, so the space here is (3, 7, 7).
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 128) -> None:
        super().__init__(observation_space, features_dim)
        channels = observation_space.shape[0]
        self.cnn = torch.nn.Sequential(
            torch.nn.Conv2d(channels, 16, 2), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 2), torch.nn.ReLU(),
            torch.nn.Conv2d(32, 64, 2), torch.nn.ReLU(),
            torch.nn.Flatten(),
        )  # fmt: skip
        with torch.no_grad():
            n = self.cnn(torch.zeros(1, *observation_space.shape)).shape[1]
        self.linear = torch.nn.Sequential(torch.nn.Linear(n, features_dim), torch.nn.ReLU())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # SB3 hands the uint8 codes over as floats, unscaled (normalize_images=False).
        return self.linear(self.cnn(obs))


class SuccessCurve(BaseCallback):
    """Records (env step, success) of every training episode (env reward > 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.episodes: list[tuple[int, bool]] = []

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.episodes.append((self.num_timesteps, info["episode"]["r"] > 0))
        return True

    def curve(self, total: int) -> list[float]:
        """Success rate of the training episodes that ended in each tenth of the budget."""
        return per_tenth(self.episodes, total)


def per_tenth(points: list[tuple[int, float]], total: int, parts: int = 10) -> list[float]:
    """Mean value of the (env step, value) points in each tenth of the budget (NaN if none)."""
    out = []
    for k in range(parts):
        lo, hi = total * k / parts, total * (k + 1) / parts
        sel = [v for t, v in points if lo < t <= hi]
        out.append(round(float(np.mean(sel)), 3) if sel else float("nan"))
    return out


def make_bonus(
    arm: str, beta: float
) -> CountBonus | EpisodicCountBonus | GlobalEpisodicCountBonus | None:
    if arm == "none":
        return None
    if arm == "episodic":
        return EpisodicCountBonus(InfoKey("agent_pos"), beta=beta, mode="first_visit")
    if arm == "count_inverse":
        return CountBonus(InfoKey("agent_pos"), beta=beta, mode="inverse")
    if arm == "product":
        return GlobalEpisodicCountBonus(InfoKey("agent_pos"), beta=beta, episodic="first_visit")
    return CountBonus(InfoKey("agent_pos" if arm == "count" else "task_state"), beta=beta)


def make_env() -> gym.Env:
    return ImgObsWrapper(MiniGridTaskStateInfo(AgentPositionInfo(gym.make(ENV_ID))))


def run_toolkit(arm: str, seed: int, args: argparse.Namespace) -> dict:
    """The same run with the toolkit's PPO (intrinsic value head, normalised bonus)."""
    from rewardshaping.agents.ppo import PPO, PPOConfig

    envs = gym.vector.SyncVectorEnv([make_env for _ in range(args.n_envs)])
    bonus = make_bonus(arm, args.beta)
    config = PPOConfig(
        num_envs=args.n_envs, num_steps=128, num_minibatches=args.n_envs * 128 // 256,
        update_epochs=4, learning_rate=2.5e-4, anneal_lr=False, gamma=0.99, gae_lambda=0.95,
        ent_coef=0.01, clip_coef=0.2, encoder="cnn", hidden_sizes=(128,), seed=seed,
        device="cpu", ext_coef=2.0, int_coef=1.0, total_timesteps=args.steps,
    )  # fmt: skip
    agent = PPO(config, envs, terms=[bonus] if bonus is not None else None)
    points: list[tuple[int, float]] = []

    def record(agent: PPO, stats: dict[str, float]) -> None:
        recent = agent.episodes.recent_returns
        if recent:
            points.append((agent.global_step, float(np.mean(np.array(recent) > 0))))

    t0 = time.perf_counter()
    agent.learn(callback=record)
    train_s = time.perf_counter() - t0
    curve = per_tenth(points, args.steps)
    tail = [v for t, v in points if t > 0.8 * args.steps]
    eval_env = gym.vector.SyncVectorEnv([make_env])
    obs, _ = eval_env.reset(seed=10_000 + seed)
    rets, ret = [], 0.0
    while len(rets) < args.eval_episodes:
        obs, reward, term, trunc, _ = eval_env.step(agent.predict(obs, deterministic=False))
        ret += float(reward[0])
        if term[0] or trunc[0]:
            rets.append(ret)
            ret = 0.0
            obs, _ = eval_env.reset()
    envs.close()
    return {
        "arm": arm, "seed": seed, "steps": args.steps, "policy": "cnn", "agent": "toolkit",
        "beta": args.beta, "n_envs": args.n_envs, "train_seconds": round(train_s, 1),
        "train_success_last20pct": float(np.mean(tail)) if tail else 0.0,
        "train_success_curve": curve,
        "eval_success": float(np.mean(np.array(rets) > 0)), "eval_return": float(np.mean(rets)),
        "eval_episodes": len(rets),
    }  # fmt: skip


def run(arm: str, seed: int, args: argparse.Namespace) -> dict:
    if args.agent == "toolkit":
        return run_toolkit(arm, seed, args)
    torch.manual_seed(seed)
    venv = make_venv(args.n_envs, seed)
    bonus = make_bonus(arm, args.beta)
    train_env = venv if bonus is None else ShapedVecEnv(venv, bonus)
    policy_kwargs = {}
    if args.policy == "cnn":
        # MiniGrid encodings are small integers (object, colour, state), not pixel intensities.
        policy_kwargs = {"features_extractor_class": MinigridCNN, "normalize_images": False}
    model = PPO(
        "MlpPolicy" if args.policy == "mlp" else "CnnPolicy", train_env,
        policy_kwargs=policy_kwargs, n_steps=128, batch_size=256, n_epochs=4, learning_rate=2.5e-4,
        gamma=0.99, gae_lambda=0.95, ent_coef=0.01, clip_range=0.2, seed=seed, verbose=0,
        device="cpu",
    )  # fmt: skip
    t0 = time.perf_counter()
    curve = SuccessCurve()
    model.learn(total_timesteps=args.steps, callback=curve)
    train_s = time.perf_counter() - t0
    tail = [ok for t, ok in curve.episodes if t > 0.8 * args.steps]
    eval_env = make_venv(1, 10_000 + seed)
    succ, rets = [], []
    obs = eval_env.reset()
    while len(rets) < args.eval_episodes:
        action, _ = model.predict(obs, deterministic=False)
        obs, reward, done, info = eval_env.step(action)
        if done[0]:
            r = float(info[0]["episode"]["r"])
            rets.append(r)
            succ.append(r > 0)
    return {
        "arm": arm, "seed": seed, "steps": args.steps, "policy": args.policy, "beta": args.beta, "n_envs": args.n_envs,
        "train_seconds": round(train_s, 1),
        "train_success_last20pct": float(np.mean(tail)) if tail else 0.0,
        "train_success_curve": curve.curve(args.steps),
        "eval_success": float(np.mean(succ)), "eval_return": float(np.mean(rets)),
        "eval_episodes": len(rets),
    }  # fmt: skip


def _run_key(r: dict) -> tuple:
    # Records written before --policy and --agent existed are MLP and SB3 runs.
    return (r["arm"], r["seed"], r["steps"], r["beta"], r.get("policy", "mlp"),
            r.get("agent", "sb3"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=700_000, help="env steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--beta", type=float, default=0.05, help="count bonus scale")
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--policy", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument(
        "--agent", choices=["sb3", "toolkit"], default="sb3",
        help="SB3's PPO or the toolkit's (intrinsic value head; --policy is cnn for it)",
    )  # fmt: skip
    parser.add_argument(
        "--arms",
        nargs="+",
        default=["none", "count"],
        choices=["none", "count", "count_inverse", "count_task", "episodic", "product"],
    )
    parser.add_argument("--out", type=Path, default=Path("runs/doorkey_count_bonus.jsonl"))
    args = parser.parse_args()
    if args.agent == "toolkit":
        args.policy = "cnn"
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add(_run_key(r))
    for seed in args.seeds:
        for arm in args.arms:
            key = _run_key({"arm": arm, "seed": seed, "steps": args.steps, "beta": args.beta,
                            "policy": args.policy, "agent": args.agent})  # fmt: skip
            if key in done:
                print(f"skip {arm} seed {seed} (done)", flush=True)
                continue
            result = run(arm, seed, args)
            print(json.dumps(result), flush=True)
            with args.out.open("a") as f:
                f.write(json.dumps(result) + "\n")
    rows = [json.loads(x) for x in args.out.read_text().splitlines()]
    rows = [
        r
        for r in rows
        if r["steps"] == args.steps
        and r["beta"] == args.beta
        and r.get("policy", "mlp") == args.policy
        and r.get("agent", "sb3") == args.agent
    ]
    for arm in args.arms:
        sel = [r for r in rows if r["arm"] == arm]
        if sel:
            print(
                f"{arm:6s} seeds={[r['seed'] for r in sel]} "
                f"eval_success={[r['eval_success'] for r in sel]} "
                f"mean={np.mean([r['eval_success'] for r in sel]):.2f} "
                f"train_success_last20%={[round(r['train_success_last20pct'], 2) for r in sel]}"
            )


if __name__ == "__main__":
    main()

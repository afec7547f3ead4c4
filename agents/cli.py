"""``rewardshaping train``: train PPO or DQN on an env id with reward terms, from the command
line or a YAML/TOML config file, with a progress bar and a final summary.

Examples::

    rewardshaping train CartPole-v1 --algo ppo --total-timesteps 100000
    rewardshaping train rewardshaping/KeyDoor-v0 --term step_penalty:-0.01 --term count_bonus:0.05 \\
        --log-dir runs/keydoor --set num_envs=64 --set learning_rate=1e-3
    rewardshaping train --config experiments/configs/ppo_cartpole.yaml
    rewardshaping train --resume runs/keydoor --total-timesteps 2000000

A config file is a mapping with ``env_id``, ``algo`` (``ppo`` or ``dqn``), ``terms`` (a list of
spec strings such as ``"count_bonus:0.05"`` or mappings ``{name: count_bonus, beta: 0.05, weight: 1}``)
and any field of :class:`~rewardshaping.agents.ppo.PPOConfig` /
:class:`~rewardshaping.agents.dqn.DQNConfig`; command-line options override it. With
``--log-dir`` the run writes ``run.yaml`` (what ran), CSV/TensorBoard logs and
``checkpoint.pt``; ``--resume DIR`` continues it.

Example:
    >>> import contextlib, io
    >>> from rewardshaping.cli import main
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     code = main(["train", "CartPole-v1", "--total-timesteps", "256", "--no-progress",
    ...                  "--set", "num_steps=32", "--device", "cpu", "--eval-episodes", "0"])
    >>> code, "steps/s" in out.getvalue()
    (0, True)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from rewardshaping.agents.config_files import load_config_file, parse_overrides
from rewardshaping.agents.term_registry import build_terms, parse_spec, term_names
from rewardshaping.cli import Command, int_at_least
from rewardshaping.shaping.gamma import check_shaping_gamma

__all__ = ["COMMAND", "run_train"]

ALGOS = ("ppo", "dqn")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("env_id", nargs="?", help="a Gymnasium env id, e.g. CartPole-v1")
    parser.add_argument("--algo", choices=ALGOS, help="the agent (default: ppo)")
    parser.add_argument(
        "--term",
        action="append",
        default=None,
        metavar="SPEC",
        help="a reward term NAME[:VALUE][,key=value...] (repeatable; key weight= sets its "
        f"weight); known: {', '.join(term_names())}",
    )
    parser.add_argument("--config", help="a YAML or TOML file with the run's settings")
    parser.add_argument("--total-timesteps", type=int, help="env steps to train for")
    parser.add_argument("--num-envs", type=int, help="parallel envs")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="cpu, cuda, mps or auto")
    parser.add_argument("--vectorization", choices=("auto", "sync", "async", "vector_entry_point"))
    parser.add_argument("--log-dir", help="write logs, run.yaml and checkpoint.pt here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config field, e.g. --set learning_rate=1e-3 --set hidden_sizes=64,64; a "
        "value starting with { or [ is a YAML flow mapping or list that replaces the field, "
        "e.g. --set 'env_kwargs={obs_mode: image}'",
    )
    parser.add_argument("--resume", metavar="DIR", help="continue the run logged in DIR")
    parser.add_argument(
        "--eval-episodes",
        type=int_at_least(0),
        default=10,
        help="greedy episodes at the end (0: none)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The run description: config file, then run.yaml (resume), then command-line options."""
    data: dict[str, Any] = {}
    if args.resume:
        data.update(load_config_file(Path(args.resume) / "run.yaml"))
    if args.config:
        data.update(load_config_file(args.config))
    for flag, key in (
        ("env_id", "env_id"),
        ("algo", "algo"),
        ("total_timesteps", "total_timesteps"),
        ("num_envs", "num_envs"),
        ("seed", "seed"),
        ("device", "device"),
        ("vectorization", "vectorization"),
        ("log_dir", "log_dir"),
    ):
        value = getattr(args, flag)
        if value is not None:
            data[key] = value
    if args.term is not None:
        data["terms"] = list(args.term)
    data.update(parse_overrides(args.set))
    if args.resume:
        # The run continues in DIR (where its checkpoint is), wherever run.yaml says it was.
        if args.log_dir is not None and Path(args.log_dir).resolve() != Path(args.resume).resolve():
            raise ValueError(
                f"--resume {args.resume} continues the run in that folder; leave out --log-dir "
                f"({args.log_dir})"
            )
        data["log_dir"] = str(args.resume)
    if not data.get("env_id"):
        raise ValueError("name an env id (positional ENV_ID or env_id in the config file)")
    return data


def run_train(settings: dict[str, Any], *, resume: bool = False, progress: bool = True,
              eval_episodes: int = 10) -> dict[str, Any]:  # fmt: skip
    """Train as ``settings`` describe; print and return the summary."""
    from rewardshaping.agents.dqn import DQN, DQNConfig
    from rewardshaping.agents.ppo import PPO, PPOConfig

    settings = dict(settings)
    algo = str(settings.pop("algo", "ppo")).lower()
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    specs = settings.pop("terms", None) or []
    if isinstance(specs, str):  # `terms: step_penalty:-0.1` in a config file: one spec
        specs = [specs]
    if not isinstance(specs, (list, tuple)):
        raise ValueError(f"terms must be a list of term specs, got {type(specs).__name__}")
    terms, weights = build_terms(specs) if specs else (None, 1.0)
    config_cls = PPOConfig if algo == "ppo" else DQNConfig
    config = config_cls.from_dict(settings)
    _check_device(config.device)
    if hasattr(config, "validate"):
        config.validate()  # before anything is written to log_dir
    log_dir = config.log_dir
    if algo == "ppo" and log_dir and "checkpoint_every" not in settings:
        config = dataclasses.replace(config, checkpoint_every=10)  # an explicit 0 stays 0
    ckpt = Path(log_dir) / "checkpoint.pt" if log_dir else None
    resuming = bool(resume and ckpt is not None and ckpt.exists())
    if resuming:
        _check_unchanged(ckpt, algo, specs, config)
    elif resume:
        print(f"no checkpoint in {log_dir}: the run starts afresh", file=sys.stderr)

    # A fresh agent replaces the logs of an earlier attempt in log_dir; a resumed one keeps
    # them up to its checkpoint.
    if algo == "ppo":
        if resuming:
            agent: Any = PPO.load(ckpt, terms=terms, weight=weights, **_overrides(config))
        else:
            agent = PPO(config, terms=terms, weight=weights)
    else:
        if resuming:
            agent = DQN.load(ckpt, terms=terms, weight=weights, **_overrides(config))
        else:
            agent = DQN(config, terms=terms, weight=weights)
    # PBRS keeps the optimal policies only with the agent's own discount (the bench trainers
    # check this too); refuse before training or recording anything.
    check_shaping_gamma(agent.envs, agent)
    if log_dir:
        # Written once the settings are known to take effect: the agent accepted them (and a
        # resumed run was checked against its checkpoint above).
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        record = {"algo": algo, "terms": list(specs), **dataclasses.asdict(config)}
        record["hidden_sizes"] = list(record["hidden_sizes"])
        (Path(log_dir) / "run.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    start_step, start = agent.global_step, time.perf_counter()
    agent.learn(progress_bar=progress)
    elapsed = time.perf_counter() - start
    if ckpt is not None:
        agent.save(ckpt)
    summary: dict[str, Any] = {
        "env_id": config.env_id,
        "algo": algo,
        "steps": agent.global_step,
        "seconds": elapsed,
        "steps/s": (agent.global_step - start_step) / max(elapsed, 1e-9),
        "episodes": agent.episodes.total_episodes,
        **agent.episodes.recent(),
        **{f"episode/{k}_mean": v for k, v in agent.episodes.recent_term_means().items()},
    }
    if eval_episodes > 0:
        result = agent.evaluate(eval_episodes)
        summary["eval/return_mean"] = result.mean_return
        if not math.isnan(float(result.success.mean())):
            summary["eval/success_rate"] = float(result.success.mean())
    if ckpt is not None:
        summary["checkpoint"] = str(ckpt)
    _print_summary(summary)
    agent.envs.close()
    return summary


def _check_device(device: Any) -> None:
    """Refuse a device torch cannot use before anything is built or written."""
    from rewardshaping.agents.vector_envs import resolve_device

    try:
        resolve_device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}: use cpu, cuda, cuda:N, mps or auto") from None


#: What a resumed run may change: its budget, device and where it logs.
RESUMABLE_CHANGES = ("total_timesteps", "device", "log_dir")


def _overrides(config: Any) -> dict[str, Any]:
    return {name: getattr(config, name) for name in RESUMABLE_CHANGES}


def _spec_key(spec: Any) -> Any:
    """A term spec (string or mapping) as ``(name, sorted kwargs, weight)``, for comparisons."""
    name, kwargs, weight = parse_spec(spec)
    return (name, sorted(kwargs.items()), weight)


def _check_unchanged(ckpt: Path, algo: str, specs: list[Any], config: Any) -> None:
    """Refuse to resume the run saved in ``ckpt`` with other settings than it ran with (other
    than :data:`RESUMABLE_CHANGES`): the checkpoint would not honour them, and run.yaml would
    record settings that never took effect."""
    from rewardshaping.agents.checkpoint import load_checkpoint

    try:
        state = load_checkpoint(ckpt)
    except Exception as exc:  # noqa: BLE001 - any unreadable file: say which, and why
        raise ValueError(
            f"cannot resume: {ckpt} is not a readable checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    saved_algo = "ppo" if "policy" in state else "dqn"
    if algo != saved_algo:
        raise ValueError(f"cannot resume {ckpt} with algo {algo!r}: it is a {saved_algo} run")
    changed = []
    run_yaml = ckpt.parent / "run.yaml"
    if run_yaml.is_file():
        saved_specs = load_config_file(run_yaml).get("terms") or []
        if isinstance(saved_specs, str):
            saved_specs = [saved_specs]
        # Compared as parsed (name, arguments, weight): weight=2 and weight=2.0 are one spec.
        if [_spec_key(x) for x in saved_specs] != [_spec_key(x) for x in specs]:
            changed.append(f"terms: {saved_specs} -> {list(specs)}")
    saved = dataclasses.asdict(type(config).from_dict(state["config"]))
    for name, value in dataclasses.asdict(config).items():
        if name not in RESUMABLE_CHANGES and saved[name] != value:
            changed.append(f"{name}: {saved[name]!r} -> {value!r}")
    if changed:
        raise ValueError(
            f"cannot resume the run in {ckpt.parent} with changed settings ({'; '.join(changed)}); "
            "a resumed run can change only its budget (total_timesteps) and device: drop the "
            "other changes, or start a new run in another --log-dir"
        )


def _print_summary(summary: dict[str, Any]) -> None:
    width = max(len(k) for k in summary)
    print("\n" + "=" * (width + 16))
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:.4g}" if math.isfinite(value) else "n/a"
        print(f"{key:<{width}}  {value}")
    print("=" * (width + 16))


def run(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
        run_train(
            settings,
            resume=bool(args.resume),
            progress=not args.no_progress,
            eval_episodes=args.eval_episodes,
        )
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"rewardshaping train: error: {exc}", file=sys.stderr)
        return 2
    return 0


COMMAND = Command(
    name="train",
    help="train PPO or DQN on an env with reward terms",
    add_arguments=add_arguments,
    run=run,
)

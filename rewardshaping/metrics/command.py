"""``rewardshaping compare``: distances between reward functions on a named Gymnasium env.

Rewards are given as ``env`` (the env's own reward) or ``[name=]module:attr`` (or
``[name=]path/to/file.py:attr``), where ``attr`` is a batched callable ``r(obs, action,
next_obs)``, a :class:`~rewardshaping.terms.RewardTerm` instance or class, or a function of no
arguments returning one of those. The command prints the sampled distance matrix with bootstrap
confidence intervals; on a tabular env (``rewardshaping/RandomMDP-v0``) it also prints the exact
distances for the same quantity: the same gamma, canonical rewards computed exactly from the
MDP's T, and the norm taken under the very outer samples the estimate uses (their empirical
distribution; for EPIC also its D_S, the states of those samples). The two tables then differ
only by the estimate's inner-sample and value-fit error. The modules named are imported (that
runs their code, as ``python -m`` would); no text is evaluated.

``--coverage space`` draws states uniformly over the observation space; VAL needs their next
states from the env's dynamics, so without a transition model that combination is refused (use
the default rollouts, whose next states are real, or ``--canon epic``).

Example:
    >>> from rewardshaping.cli import main
    >>> main(["compare", "--env", "rewardshaping/RandomMDP-v0", "--env-kwargs", "n_states=6",
    ...       "--reward", "env", "--reward", "penalty=rewardshaping.terms:StepPenalty",
    ...       "--outer", "200", "--inner", "4", "--bootstrap", "50"])  # doctest: +ELLIPSIS
    sampled val distance (l2) on rewardshaping/RandomMDP-v0, gamma 0.95:
    ...
    exact val distance (l2), gamma 0.95, on the same 200 outer samples:
                   env   penalty
         env     0.000     0.500
     penalty     0.500     0.000
    0

A constant reward (the step penalty) is equivalent to 0 (potential shaping with a constant
potential), so it sits at distance 1/2 from every reward that is not (the zero convention).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rewardshaping.cli import Command, int_at_least
from rewardshaping.metrics.distance import starc_distance
from rewardshaping.metrics.sampled import sampled_distance
from rewardshaping.metrics.sources import (
    MujocoModel,
    RewardFunction,
    TabularModel,
    as_reward_fn,
    env_reward,
    rollout_transitions,
    space_transitions,
)
from rewardshaping.tabular.mdp import TabularMDP
from rewardshaping.terms import RewardTerm
from rewardshaping.transitions import Transitions

__all__ = ["COMMAND", "load_reward", "parse_env_kwargs"]


def parse_env_kwargs(items: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> dict; values are read as JSON when they parse, else strings.

    Example:
        >>> parse_env_kwargs(["n_states=8", "kind=garnet", "flag=true", "other=False"])
        {'n_states': 8, 'kind': 'garnet', 'flag': True, 'other': False}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--env-kwargs expects key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            # Python's spellings too (train --set reads them so): the string "False" would be
            # a truthy flag for the env.
            out[key] = _PY_LITERALS.get(value.strip().lower(), value)
    return out


_PY_LITERALS: dict[str, Any] = {"true": True, "false": False, "none": None}


def _import_attr(target: str) -> Any:
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(
            f"a reward must be 'env' or 'module:attr' (or 'file.py:attr'), got {target!r}"
        )
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise FileNotFoundError(f"reward file {module_name!r} not found")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_name)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise AttributeError(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _n_required(fn: Any) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds and p.default is inspect.Parameter.empty for p in params)


def load_reward(spec: str, env: gym.Env, model: Any = None) -> RewardFunction:
    """A :class:`RewardFunction` from a command-line spec (see the module docstring).

    Example:
        >>> import gymnasium as gym
        >>> r = load_reward("pen=rewardshaping.terms:StepPenalty", gym.make("CartPole-v1"))
        >>> r.name, type(r.fn).__name__
        ('pen', 'StepPenalty')
    """
    name, sep, target = spec.partition("=")
    if not sep:
        name, target = "", spec
    if target == "env":
        fn = env_reward(env, model)
        return as_reward_fn(fn, name or "env")
    obj = _import_attr(target)
    if isinstance(obj, type) and issubclass(obj, RewardTerm):
        obj = obj()
    elif not isinstance(obj, RewardTerm) and callable(obj) and _n_required(obj) == 0:
        obj = obj()  # a factory
    if not (isinstance(obj, RewardTerm) or callable(obj)):
        raise TypeError(f"{target!r} is not a reward callable, a RewardTerm or a factory of one")
    return as_reward_fn(obj, name or target.rpartition(":")[2])


def _model_of(env: gym.Env) -> Any:
    mdp = getattr(env.unwrapped, "mdp", None)
    if isinstance(mdp, TabularMDP):
        return TabularModel(mdp)
    try:
        return MujocoModel(env)
    except (TypeError, ValueError):
        return None


def _action_sampler(space: spaces.Space) -> spaces.Space | None:
    bounded = not isinstance(space, spaces.Box) or (
        np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    )
    ok = isinstance(space, (spaces.Discrete, spaces.MultiDiscrete, spaces.Box)) and bounded
    return space if ok else None


def _fraction(closed_low: bool):
    """An argparse type: a number in [0, 1) (``closed_low``) or in (0, 1)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not ((0.0 <= value if closed_low else 0.0 < value) and value < 1.0):
            interval = "[0, 1)" if closed_low else "(0, 1)"
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value

    return parse


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", required=True, help="Gymnasium env id, e.g. HalfCheetah-v5")
    p.add_argument(
        "--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE", help="env constructor args"
    )
    p.add_argument(
        "--reward",
        action="append",
        required=True,
        metavar="[NAME=]SPEC",
        help="'env' or module:attr / file.py:attr (a callable r(obs, action, next_obs), a "
        "RewardTerm or a factory); give two or more",
    )
    p.add_argument("--canon", choices=["val", "epic", "dard"], default="val")
    p.add_argument("--norm", choices=["l1", "l2", "linf", "pearson"], default="l2")
    p.add_argument(
        "--gamma",
        type=_fraction(closed_low=True),
        default=None,
        help="discount in [0, 1) (default: the MDP's, else 0.99)",
    )
    p.add_argument(
        "--coverage",
        choices=["rollouts", "space"],
        default="rollouts",
        help="outer samples from random-policy rollouts or uniform over the spaces",
    )
    p.add_argument(
        "--outer", type=int_at_least(1), default=1000, help="outer (coverage) samples, >= 1"
    )
    p.add_argument(
        "--inner",
        type=int_at_least(1),
        default=16,
        help="inner samples per outer sample, >= 1 (EPIC: >= 2)",
    )
    p.add_argument(
        "--bootstrap", type=int_at_least(0), default=1000, help="bootstrap resamples (0: none)"
    )
    p.add_argument(
        "--confidence",
        type=_fraction(closed_low=False),
        default=0.95,
        help="level of the bootstrap intervals, in (0, 1)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")


def _run(args: argparse.Namespace) -> int:
    if len(args.reward) < 2:
        raise SystemExit("compare needs at least two --reward")
    if args.json is not None:
        # Checked before the computation, not found missing after it.
        folder = args.json.parent
        if not folder.is_dir():
            raise SystemExit(f"rewardshaping compare: --json {args.json}: no folder {folder}")
        if args.json.is_dir():
            raise SystemExit(f"rewardshaping compare: --json {args.json} is a folder")
    import rewardshaping.envs  # noqa: F401  (registers the rewardshaping/ env ids)

    # User errors (bad specs, missing modules) end with one line, not a traceback.
    try:
        env = gym.make(args.env, **parse_env_kwargs(args.env_kwargs))
        model = _model_of(env)
    except (ValueError, TypeError, gym.error.Error) as e:
        raise SystemExit(f"rewardshaping compare: {e}") from None
    mdp = getattr(env.unwrapped, "mdp", None)
    gamma = args.gamma if args.gamma is not None else (mdp.gamma if mdp is not None else 0.99)
    if args.canon == "dard" and model is None:
        raise SystemExit(
            f"--canon dard needs a transition model; {args.env} has none (tabular and "
            "state-observation MuJoCo envs do). Use --canon val (model-free) or epic."
        )
    if args.canon == "val" and args.coverage == "space" and model is None:
        # Without a model, space coverage can only draw s' uniformly: model-free VAL would fit
        # V^pi to those made-up dynamics instead of the env's.
        raise SystemExit(
            f"--coverage space with --canon val needs a transition model to draw next states "
            f"from the env's dynamics; {args.env} has none. Use --coverage rollouts (real "
            "transitions, model-free VAL) or --canon epic."
        )
    try:
        rewards = [load_reward(spec, env, model) for spec in args.reward]
    except (ValueError, TypeError, AttributeError, ImportError, OSError) as e:
        raise SystemExit(f"rewardshaping compare: {e}") from None
    # Bad values reach here as ValueErrors naming them (a reward returning the wrong shape,
    # EPIC with --inner 1, an MDP's gamma out of range): one line too.
    try:
        if args.coverage == "rollouts":
            cov = rollout_transitions(env, args.outer, seed=args.seed)
        else:
            cov = space_transitions(
                env.observation_space,
                env.action_space,
                args.outer,
                model=None if args.canon == "epic" else model,
                seed=args.seed,
            )
        res = sampled_distance(
            rewards,
            cov,
            gamma,
            canon=args.canon,
            norm=args.norm,
            model=model,
            n_inner=args.inner,
            # Model-free VAL keeps the rollouts' own (random) policy.
            action_sampler=None if model is None else _action_sampler(env.action_space),
            n_bootstrap=args.bootstrap,
            confidence=args.confidence,
            seed=args.seed,
        )
        exact = (
            _exact_distances(rewards, mdp, gamma, cov, args.canon, args.norm)
            if isinstance(mdp, TabularMDP)
            else None
        )
    except ValueError as e:
        raise SystemExit(f"rewardshaping compare: {e}") from None
    print(f"sampled {args.canon} distance ({args.norm}) on {args.env}, gamma {gamma}:")
    print(res)
    record: dict[str, Any] = {
        "names": list(res.names),
        "distance": res.distance.tolist(),
        "ci_low": res.ci_low.tolist(),
        "ci_high": res.ci_high.tolist(),
        "canon": args.canon,
        "norm": args.norm,
        "n_outer": res.n_outer,
        "n_inner": res.n_inner,
        "n_bootstrap": res.n_bootstrap,
        "gamma": gamma,
    }
    if exact is not None:
        print(
            f"\nexact {args.canon} distance ({args.norm}), gamma {gamma}, on the same "
            f"{res.n_outer} outer samples:"
        )
        width = max(8, *(len(n) for n in res.names))
        print(" " * width + "".join(f"  {n:>{width}}" for n in res.names))
        for name, row in zip(res.names, exact, strict=True):
            print(f"{name:>{width}}" + "".join(f"  {v:>{width}.3f}" for v in row))
        record["exact"] = exact.tolist()
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(record, indent=1))
        except OSError as e:
            raise SystemExit(f"rewardshaping compare: --json: {e}") from None
    return 0


def _exact_distances(
    rewards: list[RewardFunction],
    mdp: TabularMDP,
    gamma: float,
    cov: Transitions,
    canon: str,
    norm: str,
) -> np.ndarray:
    """The exact (K, K) distances the sampled estimate on ``cov`` targets.

    The same gamma and coverage: weights = the empirical distribution of the outer samples
    (s, a, s'), EPIC's D_S = that of their states s and s' (the pool its inner samples are
    drawn from), D_A and VAL's policy uniform (the command's action sampler).
    """
    S, A = mdp.n_states, mdp.n_actions
    s, a, s2 = (x.reshape(-1) for x in np.meshgrid(*map(np.arange, (S, A, S)), indexing="ij"))
    R = np.stack([r(s, a, s2).reshape(S, A, S) for r in rewards])
    obs, act, nxt = (
        np.asarray(x, dtype=np.int64).reshape(-1) for x in (cov.obs, cov.action, cov.next_obs)
    )
    weights = np.zeros((S, A, S))
    np.add.at(weights, (obs, act, nxt), 1.0)
    options: dict[str, Any] = {}
    if canon == "epic":
        options["state_dist"] = np.bincount(np.concatenate([obs, nxt]), minlength=S) / (
            2.0 * len(obs)
        )
    return starc_distance(
        R,
        None,
        TabularMDP(mdp.transition, gamma=gamma),
        canon=canon,
        norm=norm,
        weights=weights,
        pairwise=True,
        **options,
    )


COMMAND = Command(
    name="compare",
    help="distances (STARC-VAL, EPIC, DARD) between reward functions on an env, with CIs",
    add_arguments=_add_arguments,
    run=_run,
)

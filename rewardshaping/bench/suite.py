"""Suite files: which envs, which methods (agent + reward terms), which seeds, what budget.

A suite is YAML or TOML, validated entirely on load (unknown env, term, wrapper, backend or
field) before any run starts; errors name the file and the field path. Example::

    name: quickstart
    budget: 100000            # env steps per run
    eval: {every: 10000, episodes: 20}
    seeds: 5                  # or a list: [0, 1, 2]
    envs:
      - id: MiniGrid-Empty-8x8-v0
        name: empty8          # short name used in run folders (default: the id)
        wrappers: [minigrid_fully_obs, minigrid_image]
        max_score: 1.0        # score normalisation for the optimality gap
    methods:
      - name: ppo
        agent: {backend: sb3, algo: PPO, n_envs: 8, policy: MlpPolicy, kwargs: {n_steps: 128}}
      - name: ppo+penalty
        agent: {backend: sb3, algo: PPO, n_envs: 8, policy: MlpPolicy, kwargs: {n_steps: 128}}
        terms: [{type: step_penalty, value: -0.001}]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib
import yaml

from rewardshaping.registry import ConfigError, ensure_env_registered, make_term, wrapper_names

__all__ = ["Suite", "EnvSpec", "MethodSpec", "RunSpec", "load_suite", "parse_suite", "BACKENDS"]

#: Agent backends a method may name (see ``rewardshaping.bench.trainers``).
BACKENDS = ("sb3", "toolkit")


@dataclass(frozen=True)
class EnvSpec:
    id: str
    name: str
    wrappers: tuple = ()
    kwargs: dict = field(default_factory=dict)
    max_score: float = 1.0
    min_score: float = 0.0


@dataclass(frozen=True)
class MethodSpec:
    name: str
    agent: dict
    terms: tuple = ()
    weight: Any = 1.0


@dataclass(frozen=True)
class RunSpec:
    """One (env, method, seed) run with everything it needs; JSON-serialisable."""

    suite: str
    env: EnvSpec
    method: MethodSpec
    seed: int
    budget: int
    eval_every: int
    eval_episodes: int

    @property
    def run_id(self) -> str:
        return f"{self.env.name}/{self.method.name}/seed{self.seed}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> RunSpec:
        env = EnvSpec(**{**d["env"], "wrappers": tuple(d["env"]["wrappers"])})
        method = MethodSpec(**{**d["method"], "terms": tuple(d["method"]["terms"])})
        return cls(**{**d, "env": env, "method": method})


@dataclass(frozen=True)
class Suite:
    name: str
    envs: tuple[EnvSpec, ...]
    methods: tuple[MethodSpec, ...]
    seeds: tuple[int, ...]
    budget: int
    eval_every: int
    eval_episodes: int
    source: str = "<dict>"

    def runs(self) -> list[RunSpec]:
        """Every (env, method, seed) run, seeds innermost."""
        return [
            RunSpec(self.name, e, m, s, self.budget, self.eval_every, self.eval_episodes)
            for e in self.envs
            for m in self.methods
            for s in self.seeds
        ]


_TOP = {"name", "budget", "eval", "seeds", "envs", "methods", "description"}
_ENV = {"id", "name", "wrappers", "kwargs", "max_score", "min_score"}
_METHOD = {"name", "agent", "terms", "weight"}
_AGENT = {"backend", "algo", "n_envs", "policy", "kwargs", "device"}
_EVAL = {"every", "episodes"}


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file (``.yaml``/``.yml``/``.toml``/``.json``)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such suite file")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {e}") from None
    return parse_suite(data, source=str(path))


def parse_suite(data: Any, source: str = "<dict>") -> Suite:
    """Validate a suite given as a dict (what :func:`load_suite` reads)."""

    def fail(where: str, msg: str):
        raise ConfigError(f"{source}: {where}: {msg}")

    def keys(obj: Any, allowed: set, where: str, required: tuple = ()) -> dict:
        if not isinstance(obj, dict):
            fail(where, f"expected a mapping, got {type(obj).__name__}")
        extra = sorted(set(obj) - allowed)
        if extra:
            fail(where, f"unknown field(s) {extra}; allowed: {sorted(allowed)}")
        for r in required:
            if r not in obj:
                fail(where, f"missing required field {r!r}")
        return obj

    def pos_int(x: Any, where: str) -> int:
        if isinstance(x, bool) or not isinstance(x, int) or x <= 0:
            fail(where, f"expected a positive integer, got {x!r}")
        return x

    data = keys(data, _TOP, "suite", ("name", "budget", "envs", "methods"))
    name = str(data["name"])
    budget = pos_int(data["budget"], "budget")
    ev = keys(data.get("eval", {}), _EVAL, "eval")
    eval_every = pos_int(ev.get("every", max(budget // 10, 1)), "eval.every")
    eval_episodes = pos_int(ev.get("episodes", 10), "eval.episodes")
    seeds = data.get("seeds", 3)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = tuple(range(pos_int(seeds, "seeds")))
    elif isinstance(seeds, list) and all(isinstance(s, int) for s in seeds) and seeds:
        if len(set(seeds)) != len(seeds):
            fail("seeds", f"repeated seeds in {seeds}")
        seeds = tuple(seeds)
    else:
        fail("seeds", f"expected a count or a list of integers, got {seeds!r}")

    if not isinstance(data["envs"], list) or not data["envs"]:
        fail("envs", "expected a non-empty list")
    known_wrappers = set(wrapper_names())
    envs = []
    for i, e in enumerate(data["envs"]):
        where = f"envs[{i}]"
        e = keys(e, _ENV, where, ("id",))
        try:
            ensure_env_registered(str(e["id"]), where)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
        wrappers = e.get("wrappers", [])
        if not isinstance(wrappers, list):
            fail(f"{where}.wrappers", "expected a list")
        for k, w in enumerate(wrappers):
            wname = w if isinstance(w, str) else (w.get("type") if isinstance(w, dict) else None)
            if wname not in known_wrappers:
                fail(
                    f"{where}.wrappers[{k}]",
                    f"unknown wrapper {wname!r}; known: {sorted(known_wrappers)}",
                )
        envs.append(
            EnvSpec(
                id=str(e["id"]),
                name=str(e.get("name", e["id"])).replace("/", "_"),
                wrappers=tuple(wrappers),
                kwargs=dict(e.get("kwargs", {})),
                max_score=float(e.get("max_score", 1.0)),
                min_score=float(e.get("min_score", 0.0)),
            )
        )
    _unique([e.name for e in envs], "envs[].name", source)

    if not isinstance(data["methods"], list) or not data["methods"]:
        fail("methods", "expected a non-empty list")
    methods = []
    for i, m in enumerate(data["methods"]):
        where = f"methods[{i}]"
        m = keys(m, _METHOD, where, ("name", "agent"))
        agent = keys(m["agent"], _AGENT, f"{where}.agent", ("backend",))
        if agent["backend"] not in BACKENDS:
            fail(
                f"{where}.agent.backend",
                f"unknown backend {agent['backend']!r}; known: {list(BACKENDS)}",
            )
        terms = m.get("terms", [])
        if not isinstance(terms, list):
            fail(f"{where}.terms", "expected a list")
        for k, t in enumerate(terms):
            try:
                make_term(t, where=f"{where}.terms[{k}]")  # builds once to validate arguments
            except ConfigError as err:
                raise ConfigError(f"{source}: {err}") from None
        methods.append(MethodSpec(str(m["name"]), dict(agent), tuple(terms), m.get("weight", 1.0)))
    _unique([m.name for m in methods], "methods[].name", source)
    return Suite(
        name, tuple(envs), tuple(methods), seeds, budget, eval_every, eval_episodes, source
    )


def _unique(names: list[str], where: str, source: str) -> None:
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"{source}: {where}: names must be unique, {dup} repeat")

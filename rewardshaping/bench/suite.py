"""Suite files: which envs, which methods (agent + reward terms), which seeds, what budget.

A suite is YAML or TOML, validated entirely on load (unknown env, term, wrapper, backend,
algorithm or field; agent settings the backend does not know; values of the wrong type) before
any run starts; errors name the file and the field path. ``agent.kwargs`` are keyword arguments
of the SB3 algorithm (``sb3``) or :class:`~rewardshaping.agents.ppo.PPOConfig` fields
(``toolkit``); those the runner sets itself from other fields are refused. Example::

    name: quickstart
    budget: 100000            # env steps per run
    eval: {every: 10000, episodes: 20}
    seeds: 5                  # or a list: [0, 1, 2]
    envs:
      - id: MiniGrid-Empty-8x8-v0
        name: empty8          # short name used in run folders (default: the id; '/' -> '_')
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

import yaml

from rewardshaping.registry import ConfigError, ensure_env_registered, make_term, wrapper_names

__all__ = ["Suite", "EnvSpec", "MethodSpec", "RunSpec", "load_suite", "parse_suite", "BACKENDS"]

#: Agent backends a method may name (see ``rewardshaping.bench.trainers``).
BACKENDS = ("sb3", "toolkit")
#: Algorithms of each backend.
ALGOS = {"sb3": ("PPO", "A2C", "DQN"), "toolkit": ("PPO",)}
#: SB3 constructor arguments the runner passes itself -> the suite field that sets them.
SB3_RESERVED = {
    "policy": "agent.policy",
    "env": "envs[]",
    "seed": "seeds",
    "device": "agent.device",
    "verbose": "(the runner: 0)",
    "_init_setup_model": "(the runner)",
}
#: PPOConfig fields the runner sets itself -> the suite field that sets them.
TOOLKIT_RESERVED = {
    "env_id": "envs[].id",
    "env_kwargs": "envs[].kwargs",
    "num_envs": "agent.n_envs",
    "seed": "seeds",
    "total_timesteps": "budget",
    "device": "agent.device",
    "torch_threads": "(the runner: 1)",
    "log_dir": "(the runner's run folders)",
    "tensorboard": "(the runner's run folders)",
    "checkpoint_every": "eval.every (the runner checkpoints after each evaluation)",
}
#: Toolkit vectorisations the runner can checkpoint exactly (``async`` keeps the envs'
#: state in sub-processes) and autoreset modes PPO handles.
TOOLKIT_VECTORIZATIONS = ("auto", "sync", "vector_entry_point")
TOOLKIT_AUTORESET_MODES = ("NextStep", "SameStep")


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
    kind = path.suffix.lstrip(".") or "YAML"
    if path.suffix == ".toml":
        toml = _toml(path)
        try:
            data = toml.loads(text)
        except toml.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid toml: {e}") from None
    else:
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (yaml.YAMLError, json.JSONDecodeError) as e:
            raise ConfigError(f"{path}: not valid {kind}: {e}") from None
    return parse_suite(data, source=str(path))


def _toml(path: Path) -> Any:
    # Imported here, not at the top: tomllib is Python 3.11+, and this module is imported by
    # every command of the CLI (Python 3.10 is supported, with tomli for TOML files).
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise ConfigError(
                f"{path}: TOML suite files need Python 3.11+ or `pip install tomli`"
            ) from None
    return tomllib


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

    def number(x: Any, where: str) -> float:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            fail(where, f"expected a number, got {x!r}")
        return float(x)

    def mapping(x: Any, where: str) -> dict:
        if not isinstance(x, dict):
            fail(where, f"expected a mapping, got {type(x).__name__} {x!r}")
        return dict(x)

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
        max_score = number(e.get("max_score", 1.0), f"{where}.max_score")
        min_score = number(e.get("min_score", 0.0), f"{where}.min_score")
        if not max_score > min_score:
            fail(f"{where}.max_score", f"must exceed min_score ({max_score} <= {min_score})")
        envs.append(
            EnvSpec(
                id=str(e["id"]),
                name=_folder_name(str(e.get("name", e["id"])), f"{where}.name", fail),
                wrappers=tuple(wrappers),
                kwargs=mapping(e.get("kwargs", {}), f"{where}.kwargs"),
                max_score=max_score,
                min_score=min_score,
            )
        )
    _unique([str(e.get("name", e["id"])) for e in data["envs"]], envs, "envs[].name", source)

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
        try:
            _check_agent(agent, f"{where}.agent", envs, budget)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
        terms = m.get("terms", [])
        if not isinstance(terms, list):
            fail(f"{where}.terms", "expected a list")
        built = []
        for k, t in enumerate(terms):
            try:
                built.append(make_term(t, where=f"{where}.terms[{k}]"))  # validates arguments
            except ConfigError as err:
                raise ConfigError(f"{source}: {err}") from None
            except (TypeError, ValueError) as err:
                fail(f"{where}.terms[{k}]", f"bad arguments: {err}")
        weight = m.get("weight", 1.0)
        _check_weight(weight, built, f"{where}.weight", fail)
        # Not `name`: that is the suite's, used below.
        method_name = _folder_name(str(m["name"]), f"{where}.name", fail)
        methods.append(MethodSpec(method_name, dict(agent), tuple(terms), weight))
    _unique([str(m["name"]) for m in data["methods"]], methods, "methods[].name", source)
    return Suite(
        name, tuple(envs), tuple(methods), seeds, budget, eval_every, eval_episodes, source
    )


def _check_weight(weight: Any, terms: list, where: str, fail: Any) -> None:
    """The terms' weight: a number, a list (one per term) or a mapping term name -> number."""
    if terms:
        from rewardshaping.pipeline import RewardPipeline

        try:
            RewardPipeline(terms, 1, weight)
        except (TypeError, ValueError) as err:
            fail(where, str(err))
    elif isinstance(weight, bool) or not isinstance(weight, (int, float)):
        fail(where, f"expected a number (the method has no terms), got {weight!r}")


def _check_agent(agent: dict, where: str, envs: list[EnvSpec], budget: int) -> None:
    """Everything about an agent the trainer would only find out once the run starts."""
    backend = agent["backend"]
    algo = agent.get("algo", "PPO")
    if algo not in ALGOS[backend]:
        raise ConfigError(
            f"{where}.algo: unknown {backend} algorithm {algo!r}; known: {list(ALGOS[backend])}"
        )
    n_envs = agent.get("n_envs", 8)
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs <= 0:
        raise ConfigError(f"{where}.n_envs: expected a positive integer, got {n_envs!r}")
    device = agent.get("device", "cpu")
    if not isinstance(device, str):
        raise ConfigError(f"{where}.device: expected a string such as 'cpu', got {device!r}")
    kwargs = agent.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ConfigError(f"{where}.kwargs: expected a mapping, got {type(kwargs).__name__}")
    reserved = SB3_RESERVED if backend == "sb3" else TOOLKIT_RESERVED
    taken = sorted(set(kwargs) & set(reserved))
    if taken:
        raise ConfigError(
            f"{where}.kwargs: {taken} are set by the runner; use "
            + ", ".join(f"{reserved[k]} for {k}" for k in taken)
        )
    if backend == "sb3":
        _check_sb3(agent, algo, kwargs, where)
    else:
        _check_toolkit(agent, kwargs, where, envs, n_envs, budget, device)


def _check_sb3(agent: dict, algo: str, kwargs: dict, where: str) -> None:
    import inspect

    import stable_baselines3 as sb3

    cls = getattr(sb3, algo)
    policy = agent.get("policy", "MlpPolicy")
    if policy not in cls.policy_aliases:
        raise ConfigError(
            f"{where}.policy: {algo} has no policy {policy!r}; known: {list(cls.policy_aliases)}"
        )
    known = set(inspect.signature(cls.__init__).parameters) - {"self"} - set(SB3_RESERVED)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ConfigError(
            f"{where}.kwargs: unknown {algo} argument(s) {unknown}; known: {sorted(known)}"
        )


def _check_toolkit(
    agent: dict, kwargs: dict, where: str, envs: list[EnvSpec], n_envs: int, budget: int, device
) -> None:
    from rewardshaping.agents.ppo import PPOConfig

    if "policy" in agent:
        raise ConfigError(
            f"{where}.policy: the toolkit backend has no policy field; its network is set by "
            "kwargs (encoder, hidden_sizes, activation)"
        )
    try:
        config = PPOConfig.from_dict(
            {**kwargs, "num_envs": n_envs, "total_timesteps": budget, "device": device}
        )
        config.validate()
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}.kwargs: bad toolkit PPO settings: {err}") from None
    if config.vectorization not in TOOLKIT_VECTORIZATIONS:
        raise ConfigError(
            f"{where}.kwargs.vectorization: expected one of {list(TOOLKIT_VECTORIZATIONS)}, got "
            f"{config.vectorization!r} (the runner's checkpoints cannot hold the state of "
            "'async' sub-process envs; runs already run in parallel)"
        )
    if config.autoreset_mode not in TOOLKIT_AUTORESET_MODES:
        raise ConfigError(
            f"{where}.kwargs.autoreset_mode: expected one of {list(TOOLKIT_AUTORESET_MODES)}, "
            f"got {config.autoreset_mode!r}"
        )
    if config.vectorization == "vector_entry_point":
        import gymnasium as gym

        for e in envs:
            if e.wrappers or gym.spec(e.id).vector_entry_point is None:
                raise ConfigError(
                    f"{where}.kwargs.vectorization: 'vector_entry_point' needs envs with a "
                    f"batched implementation and no wrappers; {e.name} is not one"
                )


def _folder_name(name: str, where: str, fail: Any) -> str:
    """``name`` made into one folder of a run's path (``ENV/METHOD/seedK``).

    Path separators become ``_``: a name must not add folders, nor climb out of the output
    folder. Names that still cannot be one folder are refused.
    """
    clean = name.replace("/", "_").replace("\\", "_")
    if clean in ("", ".", ".."):
        fail(where, f"{name!r} cannot name a run folder; use a name with other characters")
    if "\0" in clean:
        fail(where, f"{name!r} contains a NUL character, which no file name may hold")
    return clean


def _unique(names: list[str], specs: list, where: str, source: str) -> None:
    """Folder names (``specs[i].name``, cleaned from ``names[i]``) must differ: runs of two
    envs or methods sharing a folder would overwrite each other."""
    given: dict[str, list[str]] = {}
    for name, spec in zip(names, specs, strict=True):
        given.setdefault(spec.name, []).append(name)
    clashes = [
        f"{sorted(set(orig))[0]!r} repeats"
        if len(set(orig)) == 1
        else f"{' and '.join(map(repr, orig))} become folder {folder!r}"
        for folder, orig in given.items()
        if len(orig) > 1
    ]
    if clashes:
        raise ConfigError(
            f"{source}: {where}: names must be unique as run folder names ('/' and '\\' become "
            f"'_'): " + "; ".join(clashes)
        )

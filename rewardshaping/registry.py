"""Named factories for reward terms and env wrappers, so configs stay data.

Suite files, the ``train`` CLI and other config-driven entry points name terms and wrappers
(``{"type": "step_penalty", "value": -0.01}``, with an optional reporting ``name`` that tells
two terms of one type apart); they never import arbitrary dotted paths from a config. Feature
packages register their factories here; users add their own with :func:`register_term` /
:func:`register_wrapper` from Python.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rewardshaping.terms import RewardTerm

__all__ = [
    "TermEntry",
    "term_entry",
    "register_term",
    "unregister_term",
    "register_wrapper",
    "make_term",
    "make_wrapped_env",
    "term_names",
    "wrapper_names",
    "ConfigError",
]


class ConfigError(ValueError):
    """A config names something unknown or gives bad arguments; the message says where."""


@dataclass(frozen=True)
class TermEntry:
    """A registered term: its factory, the argument a bare CLI value sets, one line of help."""

    factory: Callable[..., RewardTerm]
    value_arg: str | None = None
    help: str = ""


_TERMS: dict[str, TermEntry] = {}
_WRAPPERS: dict[str, Callable[..., gym.Env]] = {}
# Modules whose import registers more factories (feature packages); loaded on first lookup.
_PROVIDERS = [
    "rewardshaping.shaping.factories",
    "rewardshaping.intrinsic.factories",
]


def register_term(
    name: str,
    factory: Callable[..., RewardTerm] | None = None,
    *,
    value_arg: str | None = None,
    help: str = "",
    overwrite: bool = False,
):
    """Register ``factory(**kwargs) -> RewardTerm`` under ``name`` (usable as a decorator).

    ``value_arg`` is the keyword that a bare value sets in command-line specs
    (``--term NAME:VALUE``); ``help`` is shown by ``rewardshaping train --help``.

    Example:
        >>> from rewardshaping import StepPenalty
        >>> _ = register_term("half_penalty", lambda value=-0.5: StepPenalty(value, name="half"),
        ...                   value_arg="value")
        >>> make_term({"type": "half_penalty"}).value
        -0.5
    """
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"term names are letters, digits and underscores, got {name!r}")

    def add(f):
        if name in _TERMS and not overwrite and _TERMS[name].factory is not f:
            raise ValueError(f"term {name!r} is already registered; pass overwrite=True")
        _TERMS[name] = TermEntry(f, value_arg, help or (inspect.getdoc(f) or "").split("\n")[0])
        return f

    return add(factory) if factory is not None else add


def unregister_term(name: str) -> None:
    """Remove a registered term (for plugins and tests)."""
    _TERMS.pop(name, None)


def term_entry(name: str, where: str = "term") -> TermEntry:
    """The registered entry of ``name``, or a :class:`ConfigError` listing the known ones."""
    _load_providers()
    if name not in _TERMS:
        raise ConfigError(f"{where}: unknown term type {name!r}; known: {sorted(_TERMS)}")
    return _TERMS[name]


def register_wrapper(name: str, factory: Callable[..., gym.Env] | None = None):
    """Register ``factory(env, **kwargs) -> gym.Env`` under ``name`` (usable as a decorator)."""

    def add(f):
        _WRAPPERS[name] = f
        return f

    return add(factory) if factory is not None else add


def _load_providers() -> None:
    import importlib

    while _PROVIDERS:
        importlib.import_module(_PROVIDERS.pop())


def term_names() -> list[str]:
    """The registered term types."""
    _load_providers()
    return sorted(_TERMS)


def wrapper_names() -> list[str]:
    """The registered env wrapper names."""
    _load_providers()
    return sorted(_WRAPPERS)


def _split(spec: str | Mapping[str, Any], what: str, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise ConfigError(
            f"{where}: a {what} is a name or a mapping with a 'type' key, got {spec!r}"
        )
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    return str(spec["type"]), kwargs


def _call(factory: Callable, args: tuple, kwargs: dict, what: str, name: str, where: str):
    try:
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as e:
        raise ConfigError(f"{where}: bad arguments for {what} {name!r}: {e}") from None
    try:
        return factory(*args, **kwargs)
    except ConfigError:
        raise
    except ValueError as e:  # a bad value, e.g. {type: count_bonus, beta: abc}: say where
        raise ConfigError(f"{where}: bad arguments for {what} {name!r} {kwargs}: {e}") from None


def make_term(spec: str | Mapping[str, Any], where: str = "term") -> RewardTerm:
    """Build a registered term from ``"type"`` or ``{"type": type, "name": name, **kwargs}``.

    ``name`` (optional) is the term's reporting name, the key of its weight and of its logged
    values; it defaults to the factory's (usually the type). A pipeline needs unique names, so
    two terms of one type need a ``name`` on at least one of them. Names are never made up
    here (no ``_2`` suffixes as on the ``train`` command line): a suite's weights and reports
    refer to terms by name, and a name the file does not contain could not be weighted.

    Example:
        >>> make_term({"type": "step_penalty", "value": -0.1})
        StepPenalty(name='step_penalty')
        >>> make_term({"type": "step_penalty", "name": "cost"})
        StepPenalty(name='cost')
    """
    type_, kwargs = _split(spec, "term", where)
    name = _term_name(kwargs.pop("name", None), where) if "name" in kwargs else None
    term = _call(term_entry(type_, where).factory, (), kwargs, "term", type_, where)
    if name is not None:
        term.name = name
    return term


def _term_name(name: Any, where: str) -> str:
    """A reporting name from a config: a non-empty string (``name: 3`` or ``name: ""`` is not)."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.name: a term's name is a non-empty string, got {name!r}")
    return name


def make_wrapped_env(
    env_id: str, wrappers: list = (), where: str = "env", **make_kwargs
) -> gym.Env:
    """``gym.make(env_id, **make_kwargs)`` then each registered wrapper in order.

    Example:
        >>> env = make_wrapped_env("MiniGrid-Empty-5x5-v0", ["minigrid_fully_obs", "minigrid_image"])
        >>> env.observation_space.shape
        (5, 5, 3)
    """
    _load_providers()
    ensure_env_registered(env_id, where)
    env = gym.make(env_id, **make_kwargs)
    for k, spec in enumerate(wrappers):
        name, kwargs = _split(spec, "wrapper", f"{where}.wrappers[{k}]")
        if name not in _WRAPPERS:
            raise ConfigError(
                f"{where}.wrappers[{k}]: unknown wrapper {name!r}; known: {sorted(_WRAPPERS)}"
            )
        env = _call(_WRAPPERS[name], (env,), kwargs, "wrapper", name, f"{where}.wrappers[{k}]")
    return env


def ensure_env_registered(env_id: str, where: str = "env") -> None:
    """Import the packages that register env namespaces we know of, then check ``env_id``."""
    if env_id.startswith("MiniGrid-") or env_id.startswith("BabyAI-"):
        import minigrid  # noqa: F401
    if env_id.startswith("rewardshaping/"):
        import rewardshaping.envs  # noqa: F401
    if env_id not in gym.registry:
        raise ConfigError(
            f"{where}: unknown environment id {env_id!r} (not in gymnasium's registry)"
        )


# -- the core's own entries -------------------------------------------------------------------
def _core() -> None:
    from rewardshaping.terms import StepPenalty

    register_term(
        "step_penalty",
        lambda value=-0.01: StepPenalty(value),
        value_arg="value",
        help="a constant reward per step (default -0.01)",
    )

    def fully_obs(env):
        from minigrid.wrappers import FullyObsWrapper

        return FullyObsWrapper(env)

    def image(env):
        from minigrid.wrappers import ImgObsWrapper

        return ImgObsWrapper(env)

    def flat(env):
        from minigrid.wrappers import FlatObsWrapper

        return FlatObsWrapper(env)

    register_wrapper("minigrid_fully_obs", fully_obs)
    register_wrapper("minigrid_image", image)
    register_wrapper("minigrid_flat", flat)
    register_wrapper(
        "time_limit", lambda env, max_episode_steps: gym.wrappers.TimeLimit(env, max_episode_steps)
    )
    register_wrapper("flatten_observation", lambda env: gym.wrappers.FlattenObservation(env))


_core()

"""Run configurations as files and dicts: YAML/TOML loading and dataclass construction.

Config files are parsed (``yaml.safe_load``, ``tomllib``), never executed; errors name the file.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml

from rewardshaping.agents.term_registry import parse_value

__all__ = ["load_config_file", "config_from_dict", "parse_overrides"]

C = TypeVar("C")


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """A run description from a ``.yaml``/``.yml`` or ``.toml`` file (parsed, never executed).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "run.yaml")
        >>> _ = open(p, "w").write("env_id: CartPole-v1\\nterms: ['step_penalty:-0.1']\\n")
        >>> load_config_file(p)["terms"]
        ['step_penalty:-0.1']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from None
    elif path.suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ImportError:
                raise ValueError(
                    f"{path}: TOML config files need Python 3.11+ or `pip install tomli`"
                ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
    else:
        raise ValueError(f"{path}: config files end in .yaml, .yml or .toml")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of settings at the top level")
    return data


def config_from_dict(cls: type[C], values: dict[str, Any]) -> C:
    """An agent config dataclass from a plain dict, refusing unknown keys and values of the
    wrong type (the error names the field).

    Values are checked against the field annotations: a ``bool`` field takes only ``True`` or
    ``False`` (not the string ``"false"``); an ``int`` field an integral number (``2.0`` or
    ``"1e6"`` become ints, ``2.5`` is refused); a ``float`` field a number or a numeric string
    (YAML 1.1 reads ``1e-3`` as a string); ``X | None`` fields also take None; lists become
    the tuples ``hidden_sizes`` expects.

    Example:
        >>> from rewardshaping.agents.ppo import PPOConfig
        >>> config_from_dict(PPOConfig, {"hidden_sizes": [32, 32]}).hidden_sizes
        (32, 32)
        >>> config_from_dict(PPOConfig, {"learning_rate": "1e-3"}).learning_rate
        0.001
        >>> config_from_dict(PPOConfig, {"normalize_obs": "false"})
        Traceback (most recent call last):
        ...
        ValueError: PPOConfig.normalize_obs must be true or false, got 'false' (str)
    """
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        what = cls.__name__.removesuffix("Config")
        raise ValueError(f"unknown {what} config key(s) {unknown}; known keys: {sorted(known)}")
    hints = typing.get_type_hints(cls)
    checked = {
        name: _coerce(value, hints[name], f"{cls.__name__}.{name}")
        for name, value in values.items()
    }
    return cls(**checked)


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """``value`` as the annotated type ``kind``, or a ValueError naming ``where``."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]  # our configs: ``X | None`` only
        return _coerce(value, inner, where)
    if kind is Any:
        return value
    if kind is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise ValueError(f"{where} must be true or false, got {value!r} ({type(value).__name__})")
    if kind is int:
        return _integral(value, where)
    if kind is float:
        return _real(value, where)
    if kind is str:
        if isinstance(value, str):
            return value
        if isinstance(value, enum.Enum) and isinstance(value.value, str):
            return value.value  # e.g. AutoresetMode.SAME_STEP -> "SameStep"
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return str(value)  # e.g. --set log_dir=2024
        raise ValueError(f"{where} must be a string, got {value!r} ({type(value).__name__})")
    origin = typing.get_origin(kind)
    if origin is tuple:  # tuple[int, ...]
        items = [value] if isinstance(value, (int, float, str)) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"{where} must be a list of integers, got {value!r}")
        return tuple(_integral(v, f"{where}[{i}]") for i, v in enumerate(items))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be a mapping, got {value!r} ({type(value).__name__})")
        return dict(value)
    return value


def _real(value: Any, where: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where} must be a number, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where} must be a number, got {value!r} ({type(value).__name__})")


def _integral(value: Any, where: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    try:
        x = _real(value, where)
    except ValueError:
        raise ValueError(
            f"{where} must be an integer, got {value!r} ({type(value).__name__})"
        ) from None
    if not math.isfinite(x) or x != int(x):
        raise ValueError(f"{where} must be an integer, got {value!r}")
    return int(x)


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Config fields from ``KEY=VALUE`` strings (``--set`` on the command line): values are
    literals (:func:`~rewardshaping.agents.term_registry.parse_value`), lists when they hold
    commas; a value that starts with ``{`` or ``[`` is a YAML flow mapping or list (parsed with
    ``yaml.safe_load``, e.g. ``env_kwargs={obs_mode: image}``) and replaces the whole field;
    never evaluated.

    Example:
        >>> parse_overrides(["learning_rate=1e-3", "hidden_sizes=64,64", "double_q=true"])
        {'learning_rate': 0.001, 'hidden_sizes': [64, 64], 'double_q': True}
        >>> parse_overrides(["env_kwargs={obs_mode: image, size: 8}", "hidden_sizes=[32, 32]"])
        {'env_kwargs': {'obs_mode': 'image', 'size': 8}, 'hidden_sizes': [32, 32]}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        if value.lstrip().startswith(("{", "[")):
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                problem = str(exc).splitlines()[0]
                raise ValueError(
                    f"--set {item!r}: a value starting with {{ or [ is a YAML flow mapping or "
                    f"list, e.g. {key.strip()}={{obs_mode: image}}; this one is not ({problem})"
                ) from None
            out[key.strip()] = parsed
        else:
            out[key.strip()] = (
                [parse_value(v) for v in value.split(",")] if "," in value else parse_value(value)
            )
    return out

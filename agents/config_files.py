"""Run configurations as files and dicts: YAML/TOML loading and dataclass construction.

Config files are parsed (``yaml.safe_load``, ``tomllib``), never executed; errors name the file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

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
    """An agent config dataclass from a plain dict, refusing unknown keys (lists become the
    tuples ``hidden_sizes`` expects).

    Example:
        >>> from rewardshaping.agents.ppo import PPOConfig
        >>> config_from_dict(PPOConfig, {"hidden_sizes": [32, 32]}).hidden_sizes
        (32, 32)
    """
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        what = cls.__name__.removesuffix("Config")
        raise ValueError(f"unknown {what} config key(s) {unknown}; known keys: {sorted(known)}")
    values = dict(values)
    if "hidden_sizes" in values:
        values["hidden_sizes"] = tuple(int(h) for h in values["hidden_sizes"])
    return cls(**values)


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Config fields from ``KEY=VALUE`` strings (``--set`` on the command line): values are
    literals (:func:`~rewardshaping.agents.term_registry.parse_value`), lists when they hold
    commas; never evaluated.

    Example:
        >>> parse_overrides(["learning_rate=1e-3", "hidden_sizes=64,64", "double_q=true"])
        {'learning_rate': 0.001, 'hidden_sizes': [64, 64], 'double_q': True}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = (
            [parse_value(v) for v in value.split(",")] if "," in value else parse_value(value)
        )
    return out

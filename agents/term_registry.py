"""Reward-term specs of the command line and config files, built from the shared registry.

The names and factories live in :mod:`rewardshaping.registry` (one table for suite files, the
``train`` CLI and Python); this module parses the CLI's compact spec strings.

A term spec is ``NAME``, ``NAME:VALUE``, ``NAME:key=value,...`` or ``NAME:VALUE,key=value,...``;
the key ``weight`` sets the term's weight in the pipeline; a bare VALUE sets the term's
``value_arg`` (e.g. ``beta`` of ``count_bonus``). A key may appear once, the bare value counting
as its ``value_arg``. Values are read as literals (int, float, true/false, none) or kept as strings --
never evaluated. Config files may write a term as a mapping ``{name: TYPE, weight: w, **kwargs}``
(``type`` for ``name`` as in suite files).

Example:
    >>> terms, weights = build_terms(["step_penalty:-0.05,weight=2"])
    >>> terms[0], terms[0].value, weights
    (StepPenalty(name='step_penalty'), -0.05, {'step_penalty': 2.0})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rewardshaping.registry import ConfigError, register_term, term_entry, term_names
from rewardshaping.terms import RewardTerm

__all__ = [
    "register_term",
    "term_names",
    "parse_term_spec",
    "parse_spec",
    "build_terms",
    "parse_value",
]


def parse_value(text: str) -> Any:
    """A literal from text: int, float, bool, None, a comma-free string (never evaluated).

    Example:
        >>> [parse_value(t) for t in ["3", "-0.5", "1e-3", "true", "none", "pos"]]
        [3, -0.5, 0.001, True, None, 'pos']
    """
    t = text.strip()
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(t)
        except ValueError:
            pass
    return t


def parse_term_spec(spec: str) -> tuple[str, dict[str, Any], float]:
    """``(name, kwargs, weight)`` of a spec string (see the module docstring).

    A key given twice is an error, not "the last one wins": in ``count_bonus:0.1,beta=0.5``
    the bare value already sets ``beta``, and silently keeping one of two values hides a typo.

    Example:
        >>> parse_term_spec("count_bonus:0.1,mode=inverse,weight=0.5")
        ('count_bonus', {'beta': 0.1, 'mode': 'inverse'}, 0.5)
    """
    name, _, rest = spec.strip().partition(":")
    entry = term_entry(name, where=f"term spec {spec!r}")
    kwargs: dict[str, Any] = {}
    weight = 1.0
    seen: dict[str, str] = {}  # key -> the part that set it, for the repeated-key error
    for k, part in enumerate(p for p in rest.split(",") if p.strip()) if rest else []:
        key, value = _key_value(spec, name, entry.value_arg, k, part)
        if key in seen:
            raise ValueError(
                f"in term spec {spec!r}: {key!r} is given twice ({seen[key].strip()!r} and "
                f"{part.strip()!r}); give it once"
            )
        seen[key] = part
        if key == "weight":
            weight = _as_weight(value, f"in term spec {spec!r}")
        else:
            kwargs[key] = parse_value(value)
    return name, kwargs, weight


def _key_value(spec: str, name: str, value_arg: str | None, k: int, part: str) -> tuple[str, str]:
    """``(key, value text)`` of one comma-separated part; a bare first value is ``value_arg``'s."""
    key, eq, value = part.partition("=")
    if eq:
        return key.strip(), value
    if k != 0 or value_arg is None:
        raise ValueError(
            f"in {spec!r}: {part!r} must be key=value"
            + ("" if value_arg else f" ({name!r} takes no bare value)")
        )
    return value_arg, part


def _as_weight(value: Any, where: str) -> float:
    """A term's weight as a float; anything else (``high``, ``true``) is an error saying where."""
    if isinstance(value, str):
        value = parse_value(value)
    # bool is an int subclass: float(True) would quietly be a weight of 1.0.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: weight must be a number, got {value!r}")
    return float(value)


def _mapping_spec(spec: Mapping[str, Any]) -> tuple[str, dict[str, Any], float]:
    """``(name, kwargs, weight)`` of ``{"name": TYPE, "weight": w, **kwargs}``.

    ``type`` is accepted for ``name`` because suite files and :func:`make_term` spell the term
    type so; without either, the error says so instead of looking up a term named None.
    """
    kwargs = dict(spec)
    where = f"term {dict(spec)}"
    name, type_ = kwargs.pop("name", None), kwargs.pop("type", None)
    if name is not None and type_ is not None and name != type_:
        raise ConfigError(
            f"{where}: 'name' {name!r} and 'type' {type_!r} differ; in a train config both give "
            "the term type (unlike a suite file, where 'name' is the reporting name), so give "
            "one of them; repeated types are named count_bonus, count_bonus_2, ... automatically"
        )
    name = type_ if name is None else name
    if name is None:
        raise ConfigError(
            f"{where}: the mapping has no 'name' (the term type, e.g. {{name: step_penalty}}; "
            f"'type' is accepted too); known types: {term_names()}"
        )
    name = str(name)
    term_entry(name, where=where)
    weight = _as_weight(kwargs.pop("weight", 1.0), where)
    return name, kwargs, weight


def parse_spec(spec: str | Mapping[str, Any]) -> tuple[str, dict[str, Any], float]:
    """``(name, kwargs, weight)`` of a spec string or a config file's mapping.

    Example:
        >>> parse_spec({"type": "step_penalty", "value": -0.1, "weight": 2})
        ('step_penalty', {'value': -0.1}, 2.0)
    """
    if isinstance(spec, str):
        return parse_term_spec(spec)
    if isinstance(spec, Mapping):
        return _mapping_spec(spec)
    raise TypeError(f"a term spec is a string or a mapping, got {type(spec).__name__}")


def build_terms(
    specs: Sequence[str | Mapping[str, Any]],
) -> tuple[list[RewardTerm], dict[str, float]]:
    """Terms and their weights from spec strings or mappings ``{"name": ..., "weight": ...,
    **kwargs}`` (as config files write them; ``type`` may stand for ``name``). Repeated names
    get suffixes ``_2``, ``_3``."""
    terms: list[RewardTerm] = []
    weights: dict[str, float] = {}
    for spec in specs:
        name, kwargs, weight = parse_spec(spec)
        where = f"term spec {spec!r}: " if isinstance(spec, str) else f"term {dict(spec)}: "
        factory = term_entry(name).factory
        try:
            term = factory(**kwargs)
        except (TypeError, ValueError) as exc:  # e.g. count_bonus:abc -> float('abc')
            raise ValueError(f"{where}cannot build term {name!r} with {kwargs}: {exc}") from None
        base, k = term.name, 2
        while term.name in weights:
            term.name = f"{base}_{k}"
            k += 1
        terms.append(term)
        weights[term.name] = weight
    return terms, weights

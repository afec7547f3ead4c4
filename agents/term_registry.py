"""Reward-term specs of the command line and config files, built from the shared registry.

The names and factories live in :mod:`rewardshaping.registry` (one table for suite files, the
``train`` CLI and Python); this module parses the CLI's compact spec strings.

A term spec is ``NAME``, ``NAME:VALUE``, ``NAME:key=value,...`` or ``NAME:VALUE,key=value,...``;
the key ``weight`` sets the term's weight in the pipeline; a bare VALUE sets the term's
``value_arg`` (e.g. ``beta`` of ``count_bonus``). Values are read as literals (int, float,
true/false, none) or kept as strings -- never evaluated.

Example:
    >>> terms, weights = build_terms(["step_penalty:-0.05,weight=2"])
    >>> terms[0], terms[0].value, weights
    (StepPenalty(name='step_penalty'), -0.05, {'step_penalty': 2.0})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rewardshaping.registry import register_term, term_entry, term_names
from rewardshaping.terms import RewardTerm

__all__ = ["register_term", "term_names", "parse_term_spec", "build_terms", "parse_value"]


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

    Example:
        >>> parse_term_spec("count_bonus:0.1,mode=inverse,weight=0.5")
        ('count_bonus', {'beta': 0.1, 'mode': 'inverse'}, 0.5)
    """
    name, _, rest = spec.strip().partition(":")
    entry = term_entry(name, where=f"term spec {spec!r}")
    kwargs: dict[str, Any] = {}
    weight = 1.0
    for k, part in enumerate(p for p in rest.split(",") if p.strip()) if rest else []:
        key, eq, value = part.partition("=")
        if not eq:
            if k != 0 or entry.value_arg is None:
                raise ValueError(
                    f"in {spec!r}: {part!r} must be key=value"
                    + ("" if entry.value_arg else f" ({name!r} takes no bare value)")
                )
            kwargs[entry.value_arg] = parse_value(part)
        elif key.strip() == "weight":
            try:
                weight = float(parse_value(value))
            except (TypeError, ValueError):
                raise ValueError(f"in {spec!r}: weight must be a number, got {value!r}") from None
        else:
            kwargs[key.strip()] = parse_value(value)
    return name, kwargs, weight


def build_terms(
    specs: Sequence[str | Mapping[str, Any]],
) -> tuple[list[RewardTerm], dict[str, float]]:
    """Terms and their weights from spec strings or mappings ``{"name": ..., "weight": ...,
    **kwargs}`` (as config files write them). Repeated names get suffixes ``_2``, ``_3``."""
    terms: list[RewardTerm] = []
    weights: dict[str, float] = {}
    for spec in specs:
        if isinstance(spec, str):
            name, kwargs, weight = parse_term_spec(spec)
        elif isinstance(spec, Mapping):
            kwargs = dict(spec)
            name = kwargs.pop("name", None)
            term_entry(str(name), where=f"term {dict(spec)}")
            weight = float(kwargs.pop("weight", 1.0))
        else:
            raise TypeError(f"a term spec is a string or a mapping, got {type(spec).__name__}")
        factory = term_entry(name).factory
        try:
            term = factory(**kwargs)
        except (TypeError, ValueError) as exc:  # e.g. count_bonus:abc -> float('abc')
            where = f"term spec {spec!r}: " if isinstance(spec, str) else ""
            raise ValueError(f"{where}cannot build term {name!r} with {kwargs}: {exc}") from None
        base, k = term.name, 2
        while term.name in weights:
            term.name = f"{base}_{k}"
            k += 1
        terms.append(term)
        weights[term.name] = weight
    return terms, weights

"""Reward terms by name, for the command line and config files.

``TERM_FACTORIES`` maps a name to a :class:`TermFactory`: how to build the term and which
argument a bare value sets. Feature packages add their terms with :func:`register_term`;
entries may name their factory lazily as ``"module:attribute"`` so that the registry imports
nothing until a term is used.

A term spec is ``NAME``, ``NAME:VALUE``, ``NAME:key=value,...`` or ``NAME:VALUE,key=value,...``;
the key ``weight`` sets the term's weight in the pipeline. Values are read as literals (int,
float, true/false, none) or kept as strings -- never evaluated.

Example:
    >>> terms, weights = build_terms(["step_penalty:-0.05,weight=2"])
    >>> terms[0], terms[0].value, weights
    (StepPenalty(name='step_penalty'), -0.05, {'step_penalty': 2.0})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardshaping.terms import RewardTerm, StepPenalty

__all__ = [
    "TERM_FACTORIES",
    "TermFactory",
    "register_term",
    "parse_term_spec",
    "build_terms",
    "parse_value",
]


@dataclass(frozen=True)
class TermFactory:
    """How to build a registered term.

    Attributes:
        factory: a callable returning a :class:`~rewardshaping.terms.RewardTerm`, or its
            ``"module:attribute"`` path (imported on first use).
        value_arg: the keyword a bare ``NAME:VALUE`` sets (None: bare values are refused).
        help: one line for ``rewardshaping train --help``.
        defaults: keyword arguments used unless the spec overrides them.
    """

    factory: Callable[..., RewardTerm] | str
    value_arg: str | None = None
    help: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, name: str) -> Callable[..., RewardTerm]:
        if callable(self.factory):
            return self.factory
        module, _, attr = self.factory.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(
                f"term {name!r} is provided by {self.factory}, which this installation "
                f"cannot import ({exc})"
            ) from None


#: name -> factory; extend with :func:`register_term`.
TERM_FACTORIES: dict[str, TermFactory] = {
    "step_penalty": TermFactory(StepPenalty, "value", "a constant reward per step (default -0.01)"),
    "count": TermFactory(
        "rewardshaping.intrinsic:CountBonus", "beta", "lifelong count bonus beta/sqrt(N(s'))"
    ),
    "episodic_count": TermFactory(
        "rewardshaping.intrinsic:EpisodicCountBonus", "beta", "episodic count bonus"
    ),
    "global_episodic_count": TermFactory(
        "rewardshaping.intrinsic:GlobalEpisodicCountBonus",
        "beta",
        "lifelong x episodic count bonus (Henaff et al. 2023)",
    ),
    "noveld": TermFactory(
        "rewardshaping.intrinsic:NovelDCount", "beta", "NovelD with count novelty"
    ),
}


def register_term(
    name: str,
    factory: Callable[..., RewardTerm] | str,
    value_arg: str | None = None,
    help: str = "",
    *,
    overwrite: bool = False,
    **defaults: Any,
) -> None:
    """Make ``name`` usable in ``--term`` specs and config files.

    Example:
        >>> from rewardshaping import FunctionTerm
        >>> import numpy as np
        >>> register_term("zero", lambda: FunctionTerm(lambda b: np.zeros(b.num_envs), "zero"),
        ...               overwrite=True)
        >>> build_terms(["zero"])[0][0].name
        'zero'
    """
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"term names are letters, digits and underscores, got {name!r}")
    if name in TERM_FACTORIES and not overwrite:
        raise ValueError(f"term {name!r} is already registered; pass overwrite=True to replace it")
    TERM_FACTORIES[name] = TermFactory(factory, value_arg, help, dict(defaults))


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
        >>> parse_term_spec("count:0.1,mode=inverse,weight=0.5")
        ('count', {'beta': 0.1, 'mode': 'inverse'}, 0.5)
    """
    name, _, rest = spec.strip().partition(":")
    if name not in TERM_FACTORIES:
        raise ValueError(
            f"unknown reward term {name!r} in {spec!r}; known terms: {sorted(TERM_FACTORIES)}"
        )
    entry = TERM_FACTORIES[name]
    kwargs: dict[str, Any] = dict(entry.defaults)
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
            weight = float(parse_value(value))
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
            if name not in TERM_FACTORIES:
                raise ValueError(
                    f"unknown reward term {name!r} in {dict(spec)}; known terms: "
                    f"{sorted(TERM_FACTORIES)}"
                )
            weight = float(kwargs.pop("weight", 1.0))
            kwargs = {**TERM_FACTORIES[name].defaults, **kwargs}
        else:
            raise TypeError(f"a term spec is a string or a mapping, got {type(spec).__name__}")
        factory = TERM_FACTORIES[name].resolve(name)
        try:
            term = factory(**kwargs)
        except TypeError as exc:
            raise ValueError(f"cannot build term {name!r} with {kwargs}: {exc}") from None
        base, k = term.name, 2
        while term.name in weights:
            term.name = f"{base}_{k}"
            k += 1
        terms.append(term)
        weights[term.name] = weight
    return terms, weights

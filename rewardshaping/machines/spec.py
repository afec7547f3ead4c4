"""Loading reward-machine specs from files or text, in either format, and writing them back.

``load_machine("t1.txt")`` reads the reference's legacy format, ``load_machine("t1.yaml")`` the
YAML/JSON one; ``parse_machine(text)`` guesses the format from the text (a legacy spec starts
with a state number). Both parsers are hand-written or PyYAML's safe composer: no spec text is
ever evaluated, executed or imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml

from rewardshaping.machines.errors import Location, SpecError
from rewardshaping.machines.machine import RewardMachine
from rewardshaping.machines.spec_legacy import parse_legacy
from rewardshaping.machines.spec_yaml import parse_yaml
from rewardshaping.machines.valuations import Exclusivity

__all__ = ["load_machine", "parse_machine", "dump_yaml", "Format"]

Format = Literal["auto", "legacy", "yaml", "json"]

#: Spec files larger than this are refused before parsing.
MAX_SPEC_BYTES = 1 << 20


def _guess(text: str) -> str:
    for raw in text.splitlines():
        line = raw.split("#")[0].strip()
        if line:
            return "legacy" if line[0].isdigit() else "yaml"
    return "yaml"


def parse_machine(
    text: str,
    format: Format = "auto",
    *,
    file: str | None = None,
    exclusive: Exclusivity | bool | None = None,
    on_ambiguous: Literal["error", "first"] = "error",
    no_match: Literal["stay", "sink"] | None = None,
    name: str | None = None,
) -> Any:
    """Parse a spec from text; returns a :class:`RewardMachine` or a hierarchy.

    Args:
        text: the spec.
        format: ``"auto"`` (legacy when the first line is a number), ``"legacy"``, ``"yaml"``
            or ``"json"`` (read as YAML, but indented with tabs if need be; ``"auto"`` reads a
            JSON text as YAML, which refuses tab indentation).
        file: a name for error messages.
        exclusive: for legacy specs (YAML specs declare it themselves): events that never hold
            together; ``True`` = at most one event at a time.
        on_ambiguous: ``"error"`` or ``"first"``.
        no_match: legacy specs only; default ``"sink"`` as in the reference implementation.

    Example:
        >>> rm = parse_machine("0\\n[1]\\n(0,1,'a',ConstantRewardFunction(1))")
        >>> rm.step(0, {"a"})
        (1, 1.0)
    """
    if format == "auto":
        format = _guess(text)  # type: ignore[assignment]
    if isinstance(exclusive, bool):
        exclusive = Exclusivity.all() if exclusive else None
    if format == "legacy":
        return parse_legacy(
            text,
            file,
            exclusive=exclusive,
            on_ambiguous=on_ambiguous,
            no_match=no_match or "sink",
            name=name,
        )
    if format in ("yaml", "json"):
        if exclusive is not None or no_match is not None:
            raise ValueError(
                "exclusive= and no_match= apply to legacy specs; a YAML/JSON spec declares "
                "'exclusive:' and 'no_match:' itself"
            )
        if format == "json":
            # JSON may indent with tabs, YAML may not. A JSON string cannot hold a raw tab, so
            # a tab here is whitespace: a space in its place changes no value, line or column.
            text = text.replace("\t", " ")
        return parse_yaml(text, file, on_ambiguous=on_ambiguous, name=name)
    raise ValueError(f"unknown spec format {format!r}; expected auto, legacy, yaml or json")


def load_machine(
    path: str | os.PathLike[str],
    format: Format = "auto",
    **kwargs: Any,
) -> Any:
    """Load a spec file (``.txt`` legacy, ``.yaml``/``.yml``/``.json``); see :func:`parse_machine`.

    Example:
        >>> from rewardshaping.envs.office import office_spec_path
        >>> rm = load_machine(office_spec_path(1, "legacy"), exclusive=True)
        >>> rm.states
        ('0', '1', '2', '__sink__')
    """
    path = Path(path)
    if format == "auto":
        suffix = path.suffix.lower()
        format = {".txt": "legacy", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(
            suffix, "auto"
        )  # type: ignore[assignment]
    size = path.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise SpecError(
            f"spec file is {size} bytes, over {MAX_SPEC_BYTES}", Location(str(path), 1, 1)
        )
    text = path.read_text(encoding="utf-8")
    kwargs.setdefault("name", path.stem)
    return parse_machine(text, format, file=str(path), **kwargs)


def dump_yaml(machine: RewardMachine) -> str:
    """The machine in the YAML format (legacy specs convert losslessly).

    Example:
        >>> rm = parse_machine("0\\n[1]\\n(0,1,'a&!b',ConstantRewardFunction(1))", name="t")
        >>> print(dump_yaml(rm))  # doctest: +NORMALIZE_WHITESPACE
        name: t
        propositions: [a, b]
        initial: '0'
        states: ['0', '1']
        terminal:
          '1': {accepting: true}
        no_match: sink
        edges:
        - {from: '0', to: '1', when: a & !b, reward: 1.0}
        <BLANKLINE>
        >>> parse_machine(dump_yaml(rm), "yaml").structure() == rm.structure()
        True
    """
    data = machine.to_dict()
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    return text

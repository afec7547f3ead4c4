"""Which sets of events can occur together: exclusivity constraints and valuation enumeration.

A labelling function often never reports two events at once (in the Office world the agent
stands on one cell, holding at most one object). Declaring that as ``exclusive`` lets the
determinism check accept edges such as ``a`` and ``f`` out of the same state, which overlap only
on valuations that cannot happen (Toro Icarte et al. 2018's Craft machines rely on this).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations, product

__all__ = ["Exclusivity", "valuations"]

#: Enumerating more valuations than this for one check is refused (it would hang the loader).
MAX_VALUATIONS = 1 << 16


class Exclusivity:
    """Groups of propositions of which at most one is true at a time.

    ``Exclusivity.all()`` puts every proposition in one group; ``Exclusivity([])`` means no
    constraint.

    Example:
        >>> ex = Exclusivity([["a", "b"]])
        >>> ex.allows({"a"}), ex.allows({"a", "b"}), ex.allows({"a", "c"})
        (True, False, True)
        >>> Exclusivity.all().allows({"x", "y"})
        False
    """

    def __init__(self, groups: Sequence[Sequence[str]] = (), *, everything: bool = False) -> None:
        self.everything = bool(everything)
        self.groups = tuple(tuple(g) for g in groups)

    @classmethod
    def all(cls) -> Exclusivity:
        """At most one proposition true at any time."""
        return cls(everything=True)

    def allows(self, true_props: set[str] | frozenset[str]) -> bool:
        """Whether this set of true propositions can occur."""
        if self.everything:
            return len(true_props) <= 1
        return all(sum(p in true_props for p in g) <= 1 for g in self.groups)

    def to_spec(self) -> bool | list[list[str]]:
        """The value of the ``exclusive`` field of a YAML spec."""
        return True if self.everything else [list(g) for g in self.groups]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Exclusivity)
            and self.everything == other.everything
            and sorted(map(sorted, self.groups)) == sorted(map(sorted, other.groups))
        )

    def __hash__(self) -> int:
        return hash((self.everything, tuple(sorted(tuple(sorted(g)) for g in self.groups))))

    def __repr__(self) -> str:
        return "Exclusivity.all()" if self.everything else f"Exclusivity({list(self.groups)!r})"


def valuations(
    props: Sequence[str], exclusive: Exclusivity | None = None
) -> Iterator[frozenset[str]]:
    """Every allowed set of true propositions among ``props`` (others false).

    Raises ``ValueError`` past :data:`MAX_VALUATIONS`.

    Example:
        >>> sorted(sorted(v) for v in valuations(["a", "b"]))
        [[], ['a'], ['a', 'b'], ['b']]
        >>> sorted(sorted(v) for v in valuations(["a", "b"], Exclusivity.all()))
        [[], ['a'], ['b']]
    """
    props = sorted(set(props))
    exclusive = exclusive or Exclusivity()
    if exclusive.everything:
        yield frozenset()
        for p in props:
            yield frozenset((p,))
        return
    grouped: list[list[str]] = []
    seen: set[str] = set()
    for g in exclusive.groups:
        members = [p for p in g if p in props and p not in seen]
        seen.update(members)
        if members:
            grouped.append(members)
    free = [p for p in props if p not in seen]
    count = 2 ** len(free)
    for g in grouped:
        count *= len(g) + 1
    if count > MAX_VALUATIONS:
        raise ValueError(
            f"{count} valuations of {len(props)} propositions exceed the limit of "
            f"{MAX_VALUATIONS}; declare exclusive groups or simplify the formulas"
        )
    choices = [[None, *g] for g in grouped]
    for picks in product(*choices):
        base = {p for p in picks if p is not None}
        for k in range(len(free) + 1):
            for extra in combinations(free, k):
                yield frozenset(base.union(extra))

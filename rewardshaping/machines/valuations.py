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
    present = set(props)
    # Groups that share a proposition constrain each other, so they are enumerated together: one
    # block per connected set of groups, each block listing its allowed sets of true members.
    constraints = [[p for p in g if p in present] for g in exclusive.groups]
    constraints = [c for c in constraints if len(c) > 1]
    blocks: list[tuple[list[str], list[list[str]]]] = []
    for c in constraints:
        joined = [b for b in blocks if set(b[0]) & set(c)]
        members = list(dict.fromkeys([p for b in joined for p in b[0]] + c))
        groups = [g for b in joined for g in b[1]] + [c]
        blocks = [b for b in blocks if b not in joined] + [(members, groups)]
    constrained = {p for members, _ in blocks for p in members}
    free = [p for p in props if p not in constrained]
    options = [_allowed_subsets(members, groups) for members, groups in blocks]
    count = 2 ** len(free)
    for opts in options:
        count *= len(opts)
    if count > MAX_VALUATIONS:
        # A block's list stops growing past the limit, so its count is then a lower bound.
        capped = any(len(opts) > MAX_VALUATIONS for opts in options)
        raise ValueError(
            f"{'at least ' if capped else ''}{count} valuations of {len(props)} propositions "
            f"exceed the limit of {MAX_VALUATIONS}; declare exclusive groups or simplify the "
            "formulas"
        )
    for picks in product(*options):
        base = frozenset().union(*picks)
        for k in range(len(free) + 1):
            for extra in combinations(free, k):
                yield base.union(extra)


def _allowed_subsets(members: list[str], groups: list[list[str]]) -> list[frozenset[str]]:
    """The subsets of ``members`` with at most one member of each group true (the empty set
    first, then in the order of ``members``); stops past :data:`MAX_VALUATIONS`."""
    out = [frozenset()]
    for p in members:
        rivals = [[q for q in g if q != p] for g in groups if p in g]
        if any(g.count(p) > 1 for g in groups):
            continue  # listed twice in one group: never true, as ``Exclusivity.allows`` counts it
        out += [s | {p} for s in out if not any(s.intersection(r) for r in rivals)]
        if len(out) > MAX_VALUATIONS:
            break
    return out

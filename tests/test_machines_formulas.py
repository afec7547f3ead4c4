"""Formula parsing: precedence, words and symbols, errors, and a round-trip property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.machines.errors import SpecError
from rewardshaping.machines.formulas import FALSE, TRUE, And, Not, Or, Var, parse_formula
from rewardshaping.machines.valuations import valuations


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a | b & c", Or((Var("a"), And((Var("b"), Var("c")))))),
        ("!a & b", And((Not(Var("a")), Var("b")))),
        ("not a and b or c", Or((And((Not(Var("a")), Var("b"))), Var("c")))),
        ("(a || b) && ~c", And((Or((Var("a"), Var("b"))), Not(Var("c"))))),
        ("True", TRUE),
        ("false", FALSE),
        ("coffee_2 & !plant", And((Var("coffee_2"), Not(Var("plant"))))),
    ],
)
def test_precedence_and_spellings(text, expected):
    assert parse_formula(text) == expected


@pytest.mark.parametrize(
    "text, column, words",
    [
        ("", 1, "empty formula"),
        ("a &", 4, "ends too early"),
        ("a b", 3, "after a complete formula"),
        ("(a", 1, "never closed"),
        ("a)", 2, "no matching"),
        ("a $ b", 3, "unexpected character"),
        ("()", 2, "unexpected ')'"),
    ],
)
def test_errors_name_the_column(text, column, words):
    with pytest.raises(SpecError) as info:
        parse_formula(text)
    assert info.value.column == column and words in str(info.value)


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(SpecError, match="nested deeper"):
        parse_formula("(" * 200 + "a" + ")" * 200)
    with pytest.raises(SpecError, match="nested deeper"):
        parse_formula("!" * 200 + "a")
    with pytest.raises(SpecError, match="longer than"):
        parse_formula("a|" * 6000 + "a")


NAMES = ["a", "b", "c", "door_2"]
formulas = st.recursive(
    st.sampled_from([Var(n) for n in NAMES] + [TRUE, FALSE]),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(formulas)
def test_printing_then_parsing_keeps_the_meaning(phi):
    again = parse_formula(str(phi))
    index = {n: i for i, n in enumerate(NAMES)}
    for v in valuations(NAMES):
        mask = sum(1 << index[p] for p in v)
        assert again.holds(v) == phi.holds(v) == phi.holds_mask(mask, index)

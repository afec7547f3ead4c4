"""Propositional formulas over named events: a tokenizer, a recursive-descent parser, evaluation.

Formulas label reward-machine edges. The grammar (``not`` binds tighter than ``and``, which binds
tighter than ``or``)::

    formula := conj (("|" | "||" | "or") conj)*
    conj    := unary (("&" | "&&" | "and") unary)*
    unary   := ("!" | "~" | "not") unary | atom
    atom    := NAME | "true" | "false" | "(" formula ")"

NAME is a proposition: a letter or ``_`` followed by letters, digits or ``_`` (``coffee``,
``at_door2``). ``True``/``False`` are accepted as in the reference implementation's files
(Toro Icarte et al. 2018). The text is only ever tokenized and parsed, never evaluated as code.

Example:
    >>> phi = parse_formula("coffee and not (plant | wall)")
    >>> str(phi), sorted(phi.propositions)
    ('coffee & !(plant | wall)', ['coffee', 'plant', 'wall'])
    >>> phi.holds({"coffee"}), phi.holds({"coffee", "wall"})
    (True, False)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from rewardshaping.machines.errors import Location, SpecError

__all__ = ["Formula", "Var", "Not", "And", "Or", "Const", "TRUE", "FALSE", "parse_formula"]

#: Nesting deeper than this is refused (a hostile spec must not exhaust the Python stack).
MAX_DEPTH = 64
#: Formulas longer than this (in characters) are refused.
MAX_LENGTH = 10_000

_KEYWORDS = {
    "and": "&",
    "or": "|",
    "not": "!",
    "true": "true",
    "True": "true",
    "TRUE": "true",
    "false": "false",
    "False": "false",
    "FALSE": "false",
}
_SYMBOLS = {"&&": "&", "||": "|", "&": "&", "|": "|", "!": "!", "~": "!", "(": "(", ")": ")"}


class Formula:
    """Base class of the formula syntax tree (immutable, hashable, comparable).

    ``holds(true_props)`` evaluates on a set of true propositions; ``holds_mask(mask, index)``
    on an integer bit mask (bit ``index[p]`` set when ``p`` is true); ``holds_batch(labels,
    index)`` on a boolean array of shape (N, P), one row per environment.
    """

    __slots__ = ()

    @property
    def propositions(self) -> frozenset[str]:
        """The propositions the formula mentions."""
        raise NotImplementedError

    def holds(self, true_props: Collection[str]) -> bool:
        """Whether the formula is true when exactly ``true_props`` hold."""
        raise NotImplementedError

    def holds_mask(self, mask: int, index: Mapping[str, int]) -> bool:
        """Whether the formula is true for the valuation encoded as a bit mask."""
        raise NotImplementedError

    def holds_batch(self, labels: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        """Evaluate on a (N, P) boolean array; returns a (N,) boolean array.

        Example:
            >>> import numpy as np
            >>> parse_formula("a & !b").holds_batch(
            ...     np.array([[1, 0], [1, 1]], bool), {"a": 0, "b": 1}).tolist()
            [True, False]
        """
        raise NotImplementedError

    def _prec(self) -> int:
        return 4


@dataclass(frozen=True)
class Const(Formula):
    """``true`` or ``false``."""

    value: bool

    @property
    def propositions(self) -> frozenset[str]:
        return frozenset()

    def holds(self, true_props: Collection[str]) -> bool:
        return self.value

    def holds_mask(self, mask: int, index: Mapping[str, int]) -> bool:
        return self.value

    def holds_batch(self, labels: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        return np.full(labels.shape[0], self.value, dtype=bool)

    def __str__(self) -> str:
        return "true" if self.value else "false"


TRUE = Const(True)
FALSE = Const(False)


@dataclass(frozen=True)
class Var(Formula):
    """A proposition (event) name."""

    name: str

    @property
    def propositions(self) -> frozenset[str]:
        return frozenset((self.name,))

    def holds(self, true_props: Collection[str]) -> bool:
        return self.name in true_props

    def holds_mask(self, mask: int, index: Mapping[str, int]) -> bool:
        return bool((mask >> index[self.name]) & 1)

    def holds_batch(self, labels: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        return np.asarray(labels[:, index[self.name]], dtype=bool)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Not(Formula):
    """Negation."""

    arg: Formula

    @property
    def propositions(self) -> frozenset[str]:
        return self.arg.propositions

    def holds(self, true_props: Collection[str]) -> bool:
        return not self.arg.holds(true_props)

    def holds_mask(self, mask: int, index: Mapping[str, int]) -> bool:
        return not self.arg.holds_mask(mask, index)

    def holds_batch(self, labels: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        return ~self.arg.holds_batch(labels, index)

    def __str__(self) -> str:
        inner = str(self.arg)
        return "!" + (inner if self.arg._prec() >= 3 else f"({inner})")

    def _prec(self) -> int:
        return 3


@dataclass(frozen=True)
class And(Formula):
    """Conjunction of two or more formulas."""

    args: tuple[Formula, ...]

    @property
    def propositions(self) -> frozenset[str]:
        return frozenset().union(*(a.propositions for a in self.args))

    def holds(self, true_props: Collection[str]) -> bool:
        return all(a.holds(true_props) for a in self.args)

    def holds_mask(self, mask: int, index: Mapping[str, int]) -> bool:
        return all(a.holds_mask(mask, index) for a in self.args)

    def holds_batch(self, labels: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        out = self.args[0].holds_batch(labels, index)
        for a in self.args[1:]:
            out = out & a.holds_batch(labels, index)
        return out

    def __str__(self) -> str:
        return " & ".join(str(a) if a._prec() >= 2 else f"({a})" for a in self.args)

    def _prec(self) -> int:
        return 2


@dataclass(frozen=True)
class Or(Formula):
    """Disjunction of two or more formulas."""

    args: tuple[Formula, ...]

    @property
    def propositions(self) -> frozenset[str]:
        return frozenset().union(*(a.propositions for a in self.args))

    def holds(self, true_props: Collection[str]) -> bool:
        return any(a.holds(true_props) for a in self.args)

    def holds_mask(self, mask: int, index: Mapping[str, int]) -> bool:
        return any(a.holds_mask(mask, index) for a in self.args)

    def holds_batch(self, labels: np.ndarray, index: Mapping[str, int]) -> np.ndarray:
        out = self.args[0].holds_batch(labels, index)
        for a in self.args[1:]:
            out = out | a.holds_batch(labels, index)
        return out

    def __str__(self) -> str:
        return " | ".join(str(a) if a._prec() >= 1 else f"({a})" for a in self.args)

    def _prec(self) -> int:
        return 1


def conjoin(*formulas: Formula) -> Formula:
    """The conjunction of ``formulas``, dropping ``true`` and flattening nested ``And``.

    Example:
        >>> str(conjoin(TRUE, parse_formula("a & b"), Var("c")))
        'a & b & c'
    """
    args: list[Formula] = []
    for f in formulas:
        if f == TRUE:
            continue
        if f == FALSE:
            return FALSE
        args.extend(f.args if isinstance(f, And) else (f,))
    if not args:
        return TRUE
    return args[0] if len(args) == 1 else And(tuple(args))


# --------------------------------------------------------------------------- tokenizer / parser


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "&", "|", "!", "(", ")", "true", "false", "end"
    text: str
    col: int  # 0-based offset in the formula text


def _tokenize(text: str, where: Location, source_line: str | None) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        two = text[i : i + 2]
        if two in _SYMBOLS:
            tokens.append(_Token(_SYMBOLS[two], two, i))
            i += 2
            continue
        if c in _SYMBOLS:
            tokens.append(_Token(_SYMBOLS[c], c, i))
            i += 1
            continue
        if c.isalpha() or c == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if not word.isascii():
                raise SpecError(
                    f"proposition {word!r} has non-ASCII characters",
                    where.shifted(i),
                    expected="letters, digits and '_'",
                    source_line=source_line,
                )
            kind = _KEYWORDS.get(word, "name")
            tokens.append(_Token(kind, word, i))
            i = j
            continue
        raise SpecError(
            f"unexpected character {c!r} in formula {text!r}",
            where.shifted(i),
            expected="a proposition name, '&', '|', '!', 'and', 'or', 'not', '(' or ')'",
            source_line=source_line,
        )
    tokens.append(_Token("end", "", n))
    return tokens


class _Parser:
    def __init__(
        self, text: str, where: Location, source_line: str | None, single_char: bool
    ) -> None:
        self.text = text
        self.where = where
        self.source_line = source_line
        self.single_char = single_char
        self.tokens = _tokenize(text, where, source_line)
        self.pos = 0
        self.open_parens: list[_Token] = []

    def error(self, message: str, token: _Token, expected: str | None = None) -> SpecError:
        return SpecError(
            message, self.where.shifted(token.col), expected=expected, source_line=self.source_line
        )

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Formula:
        if self.peek().kind == "end":
            raise self.error("empty formula", self.peek(), expected="a formula such as 'a & !b'")
        result = self.disjunction(0)
        tok = self.peek()
        if tok.kind == ")":
            raise self.error("unbalanced parentheses: ')' has no matching '('", tok)
        if tok.kind != "end":
            raise self.error(
                f"unexpected {tok.text!r} after a complete formula", tok, expected="'&', '|' or end"
            )
        return result

    def disjunction(self, depth: int) -> Formula:
        args = [self.conjunction(depth)]
        while self.peek().kind == "|":
            self.take()
            args.append(self.conjunction(depth))
        return args[0] if len(args) == 1 else Or(tuple(args))

    def conjunction(self, depth: int) -> Formula:
        args = [self.unary(depth)]
        while self.peek().kind == "&":
            self.take()
            args.append(self.unary(depth))
        return args[0] if len(args) == 1 else And(tuple(args))

    def unary(self, depth: int) -> Formula:
        if depth > MAX_DEPTH:
            raise self.error(f"formula nested deeper than {MAX_DEPTH} levels", self.peek())
        tok = self.peek()
        if tok.kind == "!":
            self.take()
            return Not(self.unary(depth + 1))
        return self.atom(depth)

    def atom(self, depth: int) -> Formula:
        tok = self.take()
        if tok.kind == "name":
            if self.single_char and len(tok.text) != 1:
                raise self.error(
                    f"legacy formulas name events by single characters, got {tok.text!r}",
                    tok,
                    expected=f"one letter per event (e.g. {'&'.join(tok.text)!r}), or use the YAML format",
                )
            return Var(tok.text)
        if tok.kind == "true":
            return TRUE
        if tok.kind == "false":
            return FALSE
        if tok.kind == "(":
            self.open_parens.append(tok)
            inner = self.disjunction(depth + 1)
            close = self.peek()
            if close.kind != ")":
                if close.kind == "end":
                    raise self.error(
                        "unbalanced parentheses: this '(' is never closed", tok, expected="')'"
                    )
                raise self.error(f"unexpected {close.text!r}", close, expected="')'")
            self.take()
            self.open_parens.pop()
            return inner
        if tok.kind == "end":
            raise self.error(
                "formula ends too early", tok, expected="a proposition, 'not', 'true' or '('"
            )
        if tok.kind == ")":
            raise self.error(
                "unexpected ')'", tok, expected="a proposition, 'not', 'true', 'false' or '('"
            )
        raise self.error(
            f"unexpected {tok.text!r}", tok, expected="a proposition, 'not', 'true', 'false' or '('"
        )


def parse_formula(
    text: str,
    *,
    location: Location | None = None,
    source_line: str | None = None,
    single_char: bool = False,
) -> Formula:
    """Parse a formula; errors name the file, line and column (via ``location``).

    Args:
        text: the formula, e.g. ``"f & !n"`` or ``"coffee and not plant"``.
        location: where ``text`` starts in its file (default ``<string>:1:1``).
        source_line: the whole source line, quoted under the error message.
        single_char: the legacy rule that every proposition is one character.

    Example:
        >>> str(parse_formula("!a&!n | true"))
        '!a & !n | true'
        >>> parse_formula("(a & b")
        Traceback (most recent call last):
        ...
        rewardshaping.machines.errors.SpecError: <string>:1:1: unbalanced parentheses: this '(' is never closed (expected ')')
    """
    if not isinstance(text, str):
        raise SpecError(
            f"a formula must be a string, got {type(text).__name__}",
            location,
            expected="text such as 'a & !b'",
        )
    where = location or Location(None, 1, 1)
    if len(text) > MAX_LENGTH:
        raise SpecError(f"formula longer than {MAX_LENGTH} characters", where)
    return _Parser(text, where, source_line, single_char).parse()

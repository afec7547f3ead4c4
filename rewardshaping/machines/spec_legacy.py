"""The reference implementation's text format for reward machines, parsed safely.

Toro Icarte et al.'s files (github RodrigoToroIcarte/reward_machines) look like::

    0 # initial state
    [2] # terminal state(s)
    (0,0,'!f&!n',ConstantRewardFunction(0))
    (0,1,'f&!n',ConstantRewardFunction(0))
    (1,2,'g&!n',ConstantRewardFunction(1))

The reference reads every line with Python's ``eval``. Here each line is tokenized and parsed by a
fixed grammar: integers, a list of integers, and edges ``(int, int, 'formula', reward)`` where the
reward is ``ConstantRewardFunction(number)`` or ``Name()``, a named env-reward function (e.g. the
reference's ``RewardControl()``) resolved later from an explicit registry. Nothing is evaluated
or imported; anything else is a :class:`~rewardshaping.machines.errors.SpecError` naming the file,
line and column.

Semantics kept from the reference: single-character propositions, first matching edge wins (the
determinism check still runs), no matching edge = fall into a terminal sink paying 0. Fixed:
several edges between the same two states are kept, and terminal states stay distinct.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rewardshaping.machines.errors import Location, SpecError
from rewardshaping.machines.formulas import parse_formula
from rewardshaping.machines.machine import Edge, RewardMachine
from rewardshaping.machines.valuations import Exclusivity

__all__ = ["parse_legacy"]

_PUNCT = "()[],"


@dataclass(frozen=True)
class _Tok:
    kind: str  # "int", "num", "str", "name", one of _PUNCT, "end"
    text: str
    col: int  # 1-based column


def _tokenize_line(line: str, lineno: int, file: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in " \t\r":
            i += 1
        elif c == "#":
            break
        elif c in _PUNCT:
            toks.append(_Tok(c, c, i + 1))
            i += 1
        elif c in "'\"":
            j = line.find(c, i + 1)
            if j < 0:
                raise SpecError(
                    "unterminated string",
                    Location(file, lineno, i + 1),
                    expected=f"a closing {c}",
                    source_line=line,
                )
            body = line[i + 1 : j]
            if "\\" in body:
                raise SpecError(
                    "backslashes are not allowed in formulas",
                    Location(file, lineno, i + 2 + body.index("\\")),
                    source_line=line,
                )
            toks.append(_Tok("str", body, i + 1))
            i = j + 1
        elif c.isdigit() or (
            c in "+-." and i + 1 < n and (line[i + 1].isdigit() or line[i + 1] == ".")
        ):
            j = i + 1
            while j < n and (
                line[j].isdigit() or line[j] in ".eE" or (line[j] in "+-" and line[j - 1] in "eE")
            ):
                j += 1
            text = line[i:j]
            kind = "int" if text.lstrip("+-").isdigit() else "num"
            toks.append(_Tok(kind, text, i + 1))
            i = j
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (line[j].isalnum() or line[j] == "_"):
                j += 1
            toks.append(_Tok("name", line[i:j], i + 1))
            i = j
        else:
            # Reported only if the parser gets here: an earlier grammar error is more telling.
            toks.append(_Tok("bad", c, i + 1))
            return toks
    toks.append(_Tok("end", "", len(line.split("#")[0].rstrip()) + 1))
    return toks


class _Line:
    def __init__(self, line: str, lineno: int, file: str) -> None:
        self.line, self.lineno, self.file = line, lineno, file
        self.toks = _tokenize_line(line, lineno, file)
        self.pos = 0

    def loc(self, tok: _Tok) -> Location:
        return Location(self.file, self.lineno, tok.col)

    def error(self, message: str, tok: _Tok, expected: str | None = None) -> SpecError:
        return SpecError(message, self.loc(tok), expected=expected, source_line=self.line)

    def peek(self) -> _Tok:
        tok = self.toks[self.pos]
        if tok.kind == "bad":
            raise self.error(
                f"unexpected character {tok.text!r}",
                tok,
                expected="numbers, quoted formulas, names, '(', ')', '[', ']' or ','",
            )
        return tok

    def expect(self, kind: str, what: str) -> _Tok:
        tok = self.peek()
        if tok.kind != kind:
            found = "end of line" if tok.kind == "end" else repr(tok.text)
            raise self.error(f"found {found}", tok, expected=what)
        self.pos += 1
        return tok

    def state(self) -> str:
        tok = self.expect("int", "a state number")
        if tok.text.startswith("-"):
            raise self.error(f"negative state {tok.text}", tok, expected="a state number >= 0")
        return str(int(tok.text))

    def end(self) -> None:
        self.expect("end", "end of line (or a # comment)")


def _reward(ln: _Line) -> tuple[float, str | None]:
    name = ln.expect("name", "ConstantRewardFunction(number) or a reward function name")
    ln.expect("(", "'(' after " + name.text)
    if name.text == "ConstantRewardFunction":
        tok = ln.peek()
        if tok.kind not in ("int", "num"):
            found = "end of line" if tok.kind == "end" else repr(tok.text)
            raise ln.error(
                f"found {found} inside ConstantRewardFunction(...)",
                tok,
                expected="a number literal; reward fields are data, never code",
            )
        ln.pos += 1
        try:
            value = float(tok.text)
        except ValueError:
            raise ln.error(f"malformed number {tok.text!r}", tok, expected="a number") from None
        if not math.isfinite(value):
            raise ln.error(f"reward {tok.text} is not finite", tok)
        ln.expect(")", "')' closing ConstantRewardFunction(")
        return value, None
    ln.expect(
        ")",
        f"')': named reward functions take no arguments ({name.text}() is looked up in the "
        "reward_functions registry)",
    )
    return 0.0, name.text


def parse_legacy(
    text: str,
    file: str | None = None,
    *,
    exclusive: Exclusivity | None = None,
    on_ambiguous: Literal["error", "first"] = "error",
    no_match: Literal["stay", "sink"] = "sink",
    name: str | None = None,
) -> RewardMachine:
    """Parse a reward machine written in the reference implementation's text format.

    Args:
        text: the file's content.
        file: file name for error messages.
        exclusive: events that never hold together (e.g. ``Exclusivity.all()`` for grid worlds
            with one object per cell), for the determinism check.
        on_ambiguous: ``"error"`` or ``"first"`` (the reference's first-match rule).
        no_match: ``"sink"`` (the reference's rule) or ``"stay"``.

    Example:
        >>> rm = parse_legacy('''0 # initial state
        ... [2] # terminal state
        ... (0,0,'!f&!n',ConstantRewardFunction(0))
        ... (0,1,'f&!n',ConstantRewardFunction(0))
        ... (1,1,'!g&!n',ConstantRewardFunction(0))
        ... (1,2,'g&!n',ConstantRewardFunction(1))''', "t1.txt")
        >>> rm.states, rm.propositions, rm.step(1, {"g"})
        (('0', '1', '2', '__sink__'), ('f', 'g', 'n'), (2, 1.0))
        >>> parse_legacy("0\\n[1]\\n(0,1,'a',ConstantRewardFunction(__import__('os')))", "bad.txt")
        Traceback (most recent call last):
        ...
        rewardshaping.machines.errors.SpecError: bad.txt:3:33: found '__import__' inside ConstantRewardFunction(...) (expected a number literal; reward fields are data, never code)
            (0,1,'a',ConstantRewardFunction(__import__('os')))
                                            ^
    """
    file = file or "<string>"
    lines = [(k + 1, raw) for k, raw in enumerate(text.splitlines()) if raw.split("#")[0].strip()]
    if len(lines) < 2:
        raise SpecError(
            "a legacy reward machine needs an initial-state line and a terminal-states line",
            Location(file, len(text.splitlines()) or 1, 1),
            expected="'0 # initial state' then '[2] # terminal state(s)' then edges",
        )
    ln = _Line(lines[0][1], lines[0][0], file)
    initial = ln.state()
    ln.end()

    ln = _Line(lines[1][1], lines[1][0], file)
    ln.expect("[", "'[' starting the list of terminal states")
    terminal: list[str] = []
    while ln.peek().kind != "]":
        terminal.append(ln.state())
        if ln.peek().kind == ",":
            ln.pos += 1
        elif ln.peek().kind != "]":
            raise ln.error(f"found {ln.peek().text!r}", ln.peek(), expected="',' or ']'")
    ln.pos += 1
    ln.end()
    term_loc = Location(file, lines[1][0], 1)

    edges: list[Edge] = []
    mentioned: set[str] = {initial}
    for lineno, raw in lines[2:]:
        ln = _Line(raw, lineno, file)
        start = ln.expect("(", "'(' starting an edge (u1, u2, 'formula', reward)")
        u1 = ln.state()
        ln.expect(",", "','")
        u2 = ln.state()
        ln.expect(",", "','")
        ftok = ln.expect("str", "a quoted formula such as 'a&!b'")
        formula = parse_formula(
            ftok.text,
            location=Location(file, lineno, ftok.col + 1),
            source_line=raw,
            single_char=True,
        )
        ln.expect(",", "','")
        value, fn = _reward(ln)
        if ln.peek().kind == ",":  # a trailing comma inside the tuple is valid Python
            ln.pos += 1
        ln.expect(")", "')' closing the edge")
        ln.end()
        mentioned.update((u1, u2))
        edges.append(Edge(u1, u2, formula, value, fn, location=ln.loc(start)))

    for t in terminal:
        if t not in mentioned:
            raise SpecError(
                f"unknown state {t}: terminal state {t} appears in no edge",
                term_loc,
                expected="terminal states that some edge reaches",
                source_line=lines[1][1],
            )
    if not any(e.source == initial for e in edges) and edges:
        raise SpecError(
            f"unknown state {initial}: the initial state has no outgoing edge",
            Location(file, lines[0][0], 1),
            expected="an initial state that some edge leaves",
            source_line=lines[0][1],
        )
    states = sorted(mentioned | set(terminal), key=int)
    return RewardMachine(
        states,
        initial,
        edges,
        terminal,
        no_match=no_match,
        exclusive=exclusive,
        on_ambiguous=on_ambiguous,
        name=name or (file if file != "<string>" else "machine"),
        location=Location(file, 1, 1),
    )

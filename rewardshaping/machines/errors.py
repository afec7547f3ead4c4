"""Errors of reward-machine specs: where in which file, and what was expected there."""

from __future__ import annotations

__all__ = ["SpecError", "Location"]


class Location:
    """A position in a spec: file name, 1-based line and column.

    Example:
        >>> str(Location("t1.txt", 3, 7))
        't1.txt:3:7'
    """

    __slots__ = ("file", "line", "column")

    def __init__(self, file: str | None, line: int, column: int) -> None:
        self.file, self.line, self.column = file or "<string>", int(line), int(column)

    def shifted(self, columns: int) -> Location:
        """The location ``columns`` characters further on the same line."""
        return Location(self.file, self.line, self.column + columns)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __repr__(self) -> str:
        return f"Location({self.file!r}, {self.line}, {self.column})"


class SpecError(ValueError):
    """A malformed reward-machine spec.

    The message reads ``file:line:column: what is wrong (expected ...)`` followed by the source
    line and a caret under the offending column when the source is known.

    Example:
        >>> err = SpecError("unexpected ')'", Location("t.txt", 2, 5), expected="a proposition",
        ...                 source_line="(0,1,')',ConstantRewardFunction(1))")
        >>> print(err)
        t.txt:2:5: unexpected ')' (expected a proposition)
            (0,1,')',ConstantRewardFunction(1))
                ^
    """

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        *,
        expected: str | None = None,
        source_line: str | None = None,
    ) -> None:
        self.message = message
        self.location = location
        self.expected = expected
        self.source_line = source_line
        super().__init__(self._render())

    @property
    def file(self) -> str | None:
        """The spec file (or ``"<string>"``)."""
        return None if self.location is None else self.location.file

    @property
    def line(self) -> int | None:
        """1-based line of the error."""
        return None if self.location is None else self.location.line

    @property
    def column(self) -> int | None:
        """1-based column of the error."""
        return None if self.location is None else self.location.column

    def _render(self) -> str:
        text = self.message if self.location is None else f"{self.location}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        if self.source_line is not None and self.location is not None:
            text += f"\n    {self.source_line}\n    {' ' * (self.location.column - 1)}^"
        return text

"""The ``rewardshaping`` command line.

Each sub-command lives in the module of its feature, which defines ``COMMAND = Command(...)``;
add that module's dotted path to :data:`COMMAND_MODULES` (``bench``, ``train``, ``compare`` and more
come with their issues). Modules are imported only when the parser is built.

Example:
    >>> main(["--version"])  # doctest: +ELLIPSIS
    rewardshaping ...
    0
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rewardshaping._version import __version__

__all__ = ["main", "build_parser", "Command", "COMMAND_MODULES", "int_at_least"]


@dataclass(frozen=True)
class Command:
    """A sub-command: its name, one-line help, argument set-up and the function that runs it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``low`` (argparse names the option in its error).

    Example:
        >>> int_at_least(1)("3")
        3
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


#: Modules defining ``COMMAND``; each feature issue appends its own.
COMMAND_MODULES: list[str] = [
    "rewardshaping.agents.cli",
    "rewardshaping.bench.cli",
    "rewardshaping.metrics.command",
    "rewardshaping.machines.cli",
]


def _commands() -> dict[str, Command]:
    out = {}
    for path in COMMAND_MODULES:
        cmd = importlib.import_module(path).COMMAND
        out[cmd.name] = cmd
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardshaping",
        description="Design, test and compare reward functions for reinforcement learning.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in sorted(_commands().items()):
        cmd.add_arguments(sub.add_parser(name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"rewardshaping {__version__}")
        return 0
    if args.command is None:
        # Like argparse's own missing-argument errors: the usage on stderr, exit status 2.
        parser.print_help(sys.stderr)
        print("\nrewardshaping: error: name a COMMAND (see the list above)", file=sys.stderr)
        return 2
    return int(_commands()[args.command].run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

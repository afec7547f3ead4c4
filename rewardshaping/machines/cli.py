"""``rewardshaping machine``: check a reward-machine spec and convert it (YAML, DOT, Mermaid).

Without ``--to`` the command prints a one-line summary of the machine. With ``--to`` stdout holds
only the converted machine (``... --to dot > rm.dot`` is a valid DOT file); for a hierarchy the
summary line goes to stderr, and ``--to dot``/``--to mermaid`` draw the root machine (its call
edges name the machines they call) while ``--to yaml`` writes the flattened, equivalent plain
machine; with ``--flat`` every format converts the flattened machine.

Example:
    >>> from rewardshaping.cli import main
    >>> from rewardshaping.envs.office import office_spec_path
    >>> main(["machine", str(office_spec_path(1, "legacy")), "--exclusive"])  # doctest: +ELLIPSIS
    t1: 4 states (2 terminal, 1 accepting), 4 edges, propositions f g n; deterministic
    0
"""

from __future__ import annotations

import argparse
import sys

from rewardshaping.cli import Command
from rewardshaping.machines.errors import SpecError
from rewardshaping.machines.export import to_dot, to_mermaid
from rewardshaping.machines.hierarchy import RewardMachineHierarchy
from rewardshaping.machines.spec import dump_yaml, load_machine

__all__ = ["COMMAND"]


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="a .txt (legacy), .yaml/.yml or .json reward-machine spec")
    parser.add_argument(
        "--to",
        choices=["yaml", "dot", "mermaid"],
        help="print the machine in this format (stdout holds only it); for a hierarchy dot and "
        "mermaid draw the root machine, yaml writes the flattened machine (see --flat)",
    )
    parser.add_argument(
        "--exclusive",
        action="store_true",
        help="legacy specs: at most one event holds at a time (for the determinism check)",
    )
    parser.add_argument(
        "--first-match",
        action="store_true",
        help="accept ambiguous machines (the first matching edge wins) and list the ambiguities",
    )
    parser.add_argument(
        "--flat",
        action="store_true",
        help="hierarchies: summarise or convert the flattened machine (every --to format)",
    )


def _run(args: argparse.Namespace) -> int:
    kwargs = {"on_ambiguous": "first" if args.first_match else "error"}
    if args.exclusive:
        kwargs["exclusive"] = True
    try:
        machine = load_machine(args.spec, **kwargs)
        if isinstance(machine, RewardMachineHierarchy):
            flat = machine.flatten(on_ambiguous=kwargs["on_ambiguous"])
            if not args.flat:
                # The summary is the output without --to; with it, stdout holds only the
                # converted machine (redirectable to a file), so the summary goes to stderr.
                print(
                    f"{machine.name}: hierarchy of {len(machine.machines)} machines, height "
                    f"{machine.levels[machine.root]}; flat equivalent: {flat.num_states} states",
                    file=sys.stdout if args.to is None else sys.stderr,
                )
                if args.to is None:
                    return 0
                machine = flat if args.to == "yaml" else machine.machines[machine.root]
            else:
                machine = flat
    except (SpecError, OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.to == "yaml":
        print(dump_yaml(machine), end="")
    elif args.to == "dot":
        print(to_dot(machine))
    elif args.to == "mermaid":
        print(to_mermaid(machine))
    else:
        det = (
            "deterministic"
            if not machine.ambiguities
            else f"{len(machine.ambiguities)} ambiguities"
        )
        print(
            f"{machine.name}: {machine.num_states} states ({len(machine.terminal)} terminal, "
            f"{len(machine.accepting)} accepting), {len(machine.edges)} edges, propositions "
            f"{' '.join(machine.propositions)}; {det}"
        )
        for a, b, example in machine.ambiguities:
            print(f"  {a.where()} and {b.where()} both hold on {sorted(example)}: first wins")
    return 0


COMMAND = Command(
    "machine",
    "check a reward-machine spec; convert it to YAML, DOT or Mermaid",
    _add_arguments,
    _run,
)

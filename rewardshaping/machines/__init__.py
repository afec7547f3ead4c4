"""Reward machines: specs, formulas, product wrappers, counterfactual learning, shaping and
hierarchies (Toro Icarte et al. 2018, 2022; Furelos-Blanco et al. 2023).

Modules:

* :mod:`~rewardshaping.machines.formulas`: propositional formulas (tokenizer + parser).
* :mod:`~rewardshaping.machines.machine`: :class:`RewardMachine` (stepping, determinism check).
* :mod:`~rewardshaping.machines.spec`, :mod:`~rewardshaping.machines.spec_legacy`,
  :mod:`~rewardshaping.machines.spec_yaml`: loading specs safely (never ``eval``).
* :mod:`~rewardshaping.machines.export`: Graphviz DOT and Mermaid.
* :mod:`~rewardshaping.machines.labelling`: labelling functions L(s, a, s') over N envs.
* :mod:`~rewardshaping.machines.product`: the product env wrappers (single and vector).
* :mod:`~rewardshaping.machines.shaping`: value iteration over the machine, potential shaping.
* :mod:`~rewardshaping.machines.qlearning`: tabular Q-learning over the product, with
  counterfactual experiences (CRM) and shaping.
* :mod:`~rewardshaping.machines.hierarchy`: hierarchies of machines, flat expansion.
* :mod:`~rewardshaping.machines.options`: tabular option learning over a hierarchy.

May import: numpy, gymnasium, PyYAML and the toolkit's core (``transitions``, ``terms``,
``wrappers``); nothing else of the toolkit imports this package except ``envs`` (for labels).
"""

from rewardshaping.machines.errors import Location, SpecError
from rewardshaping.machines.export import to_dot, to_mermaid
from rewardshaping.machines.formulas import Formula, parse_formula
from rewardshaping.machines.hierarchy import RewardMachineHierarchy
from rewardshaping.machines.machine import SINK, Edge, RewardMachine
from rewardshaping.machines.spec import dump_yaml, load_machine, parse_machine
from rewardshaping.machines.valuations import Exclusivity

__all__ = [
    "SpecError",
    "Location",
    "Formula",
    "parse_formula",
    "Edge",
    "RewardMachine",
    "SINK",
    "RewardMachineHierarchy",
    "Exclusivity",
    "load_machine",
    "parse_machine",
    "dump_yaml",
    "to_dot",
    "to_mermaid",
]

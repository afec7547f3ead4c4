"""Reward machines: specs, formulas, product wrappers, counterfactual learning, shaping and
hierarchies (Toro Icarte et al. 2018, 2022; Furelos-Blanco et al. 2023).

Modules:

* :mod:`~rewardshaping.machines.formulas`: propositional formulas (tokenizer + parser).
* :mod:`~rewardshaping.machines.machine`: :class:`RewardMachine` (stepping, determinism check).
* :mod:`~rewardshaping.machines.spec`, :mod:`~rewardshaping.machines.spec_legacy`,
  :mod:`~rewardshaping.machines.spec_yaml`: loading specs safely (never ``eval``).
* :mod:`~rewardshaping.machines.export`: Graphviz DOT and Mermaid.
* :mod:`~rewardshaping.machines.labelling`: labelling functions L(s, a, s') over N envs.
* :mod:`~rewardshaping.machines.product`, :mod:`~rewardshaping.machines.product_vector`: the
  product env wrappers (single and vector) and counterfactual experience batches.
* :mod:`~rewardshaping.machines.shaping`: value iteration over the machine, potential shaping.
* :mod:`~rewardshaping.machines.qlearning`: tabular Q-learning over the product, with
  counterfactual experiences (CRM) and shaping.
* :mod:`~rewardshaping.machines.hierarchy`: hierarchies of machines, flat expansion.
* :mod:`~rewardshaping.machines.options`: tabular option learning over a hierarchy.
* :mod:`~rewardshaping.machines.multitask`: several tasks as one (union) machine.
* :mod:`~rewardshaping.machines.replay`: CRM experiences into stable-baselines3 replay buffers.
* :mod:`~rewardshaping.machines.dqn`: a small double DQN with CRM (imports torch).
* :mod:`~rewardshaping.machines.cli`: the ``rewardshaping machine`` command.

Example:
    >>> import gymnasium as gym
    >>> from rewardshaping.machines import RewardMachineEnv, parse_machine
    >>> import rewardshaping.envs
    >>> rm = parse_machine('''
    ... initial: start
    ... terminal: [done]
    ... edges:
    ...   - {from: start, to: coffee, when: f & !n}
    ...   - {from: coffee, to: done, when: g & !n, reward: 1}
    ... ''')
    >>> env = RewardMachineEnv(gym.make("rewardshaping/OfficeWorld-v0"), rm)
    >>> obs, info = env.reset(seed=0)
    >>> sorted(obs)
    ['machine_state', 'obs']

May import: numpy, gymnasium, PyYAML and the toolkit's core (``transitions``, ``terms``,
``wrappers``); nothing else of the toolkit imports this package except ``envs`` (for labels).
"""

from rewardshaping.machines.errors import Location, SpecError
from rewardshaping.machines.export import to_dot, to_mermaid
from rewardshaping.machines.formulas import Formula, parse_formula
from rewardshaping.machines.hierarchy import RewardMachineHierarchy
from rewardshaping.machines.labelling import (
    FunctionLabelling,
    GridLabelling,
    InfoLabelling,
    Labelling,
)
from rewardshaping.machines.machine import SINK, Edge, RewardMachine
from rewardshaping.machines.multitask import task_initial_states, union_machine
from rewardshaping.machines.options import OptionConfig, OptionLearner, flat_hierarchy
from rewardshaping.machines.product import CounterfactualBatch, RewardMachineEnv
from rewardshaping.machines.product_vector import RewardMachineVectorEnv
from rewardshaping.machines.qlearning import MachineQLearning, QLearningConfig
from rewardshaping.machines.shaping import machine_potential, machine_values
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
    "Labelling",
    "InfoLabelling",
    "FunctionLabelling",
    "GridLabelling",
    "RewardMachineEnv",
    "RewardMachineVectorEnv",
    "CounterfactualBatch",
    "machine_values",
    "machine_potential",
    "MachineQLearning",
    "QLearningConfig",
    "OptionLearner",
    "OptionConfig",
    "flat_hierarchy",
    "union_machine",
    "task_initial_states",
]

"""rewardshaping: design, test and compare reward functions for reinforcement learning.

The flat import surface::

    from rewardshaping import ShapedEnv, ShapedVectorEnv, ShapedVecEnv, FunctionTerm, StepPenalty

Core (this package's top-level modules): :mod:`~rewardshaping.transitions` (the batch every term
reads), :mod:`~rewardshaping.terms` (the term interface), :mod:`~rewardshaping.schedules`,
:mod:`~rewardshaping.composers`, :mod:`~rewardshaping.pipeline` (what all adapters share) and
:mod:`~rewardshaping.wrappers` (Gymnasium single/vector and SB3 adapters). Feature packages
(intrinsic rewards, shaping, reward machines, metrics, ...) build on the core and never the
other way round; ``rewardshaping.envs`` and ``rewardshaping.agents`` install from the repo's
top-level ``envs/`` and ``agents/`` folders.
"""

from rewardshaping._version import __version__
from rewardshaping.composers import Composer, Gate, MultiplicativePenalty, Replace, WeightedSum
from rewardshaping.pipeline import RewardPipeline, RewardTermError, ShapedStep
from rewardshaping.schedules import Constant, ExponentialDecay, LinearDecay, Schedule
from rewardshaping.terms import FunctionTerm, RewardTerm, StepPenalty
from rewardshaping.transitions import Transitions
from rewardshaping.wrappers import ShapedEnv, ShapedVectorEnv

# Feature names load on first use: importing SB3, torch or Numba-compiled modules costs seconds,
# and a user of one feature should not pay for all of them.
_LAZY: dict[str, str] = {
    "ShapedVecEnv": "rewardshaping.wrappers.sb3",
    "PotentialShaping": "rewardshaping.shaping",
    "FunctionPotential": "rewardshaping.shaping",
    "InfoPotential": "rewardshaping.shaping",
    "TabularValuePotential": "rewardshaping.shaping",
    "ValueFunctionPotential": "rewardshaping.shaping",
    "GoalDistancePotential": "rewardshaping.shaping",
    "AdditiveHeuristic": "rewardshaping.shaping",
    "check_shaping_gamma": "rewardshaping.shaping",
    "CountBonus": "rewardshaping.intrinsic",
    "EpisodicCountBonus": "rewardshaping.intrinsic",
    "GlobalEpisodicCountBonus": "rewardshaping.intrinsic",
    "NovelDCount": "rewardshaping.intrinsic",
    "ObsKey": "rewardshaping.intrinsic",
    "FunctionKey": "rewardshaping.intrinsic",
    "InfoKey": "rewardshaping.intrinsic",
    "UniformBins": "rewardshaping.intrinsic",
    "SimHashKey": "rewardshaping.intrinsic",
    "AgentPositionInfo": "rewardshaping.intrinsic",
    "MiniGridTaskStateInfo": "rewardshaping.intrinsic",
    "ExactCounter": "rewardshaping.counting",
    "EpisodicCounter": "rewardshaping.counting",
    "CountMinSketch": "rewardshaping.counting",
    "PPO": "rewardshaping.agents.ppo",
    "PPOConfig": "rewardshaping.agents.ppo",
    "BlendedPPO": "rewardshaping.agents.blended_ppo",
    "BlendConfig": "rewardshaping.agents.blended_ppo",
    "BlendWeights": "rewardshaping.shaping.blending",
    "Withheld": "rewardshaping.shaping.blending",
    "DQN": "rewardshaping.agents.dqn",
    "DQNConfig": "rewardshaping.agents.dqn",
    "TabularQ": "rewardshaping.agents.tabular_q",
    "register_term": "rewardshaping.registry",
    "make_term": "rewardshaping.registry",
    "RewardMachine": "rewardshaping.machines",
    "RewardMachineHierarchy": "rewardshaping.machines",
    "load_machine": "rewardshaping.machines",
    "parse_machine": "rewardshaping.machines",
    "SpecError": "rewardshaping.machines",
    "RewardMachineEnv": "rewardshaping.machines",
    "RewardMachineVectorEnv": "rewardshaping.machines",
    "InfoLabelling": "rewardshaping.machines",
    "FunctionLabelling": "rewardshaping.machines",
    "machine_potential": "rewardshaping.machines",
    "TabularMDP": "rewardshaping.tabular",
    "random_mdp": "rewardshaping.tabular",
    "value_iteration": "rewardshaping.tabular",
    "policy_evaluation": "rewardshaping.tabular",
    "optimal_policy": "rewardshaping.tabular",
    "starc_distance": "rewardshaping.metrics",
    "epic_distance": "rewardshaping.metrics",
    "dard_distance": "rewardshaping.metrics",
    "canonicalize": "rewardshaping.metrics",
    "normalized_regret": "rewardshaping.metrics",
    "sampled_distance": "rewardshaping.metrics",
}

__all__ = [
    "__version__",
    "Transitions",
    "RewardTerm",
    "FunctionTerm",
    "StepPenalty",
    "Schedule",
    "Constant",
    "LinearDecay",
    "ExponentialDecay",
    "Composer",
    "WeightedSum",
    "Replace",
    "MultiplicativePenalty",
    "Gate",
    "RewardPipeline",
    "RewardTermError",
    "ShapedStep",
    "ShapedEnv",
    "ShapedVectorEnv",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

"""Learning agents, installed as ``rewardshaping.agents``: PPO (vectorised torch, extrinsic and
intrinsic value heads), DQN (counterfactual experiences) and tabular Q-learning.

Modules:

* :mod:`~rewardshaping.agents.ppo` -- :class:`PPO`, :class:`PPOConfig` (the algorithm, top to
  bottom); :mod:`~rewardshaping.agents.rollout` (GAE, the rollout given to learned terms,
  episodes for relabelling hooks); :mod:`~rewardshaping.agents.networks` (MLP, MiniGrid CNN,
  actor-critic, Q-network); :mod:`~rewardshaping.agents.normalization` (running statistics).
* :mod:`~rewardshaping.agents.blended_ppo` -- :class:`BlendedPPO`, :class:`BlendConfig`: PPO
  that learns the weights of designer heuristics (Gupta et al. 2023, one-step meta-gradient);
  :mod:`~rewardshaping.agents.blend_race` -- :func:`race`, the outer loop over candidate blends
  (successive halving on the primary return).
* :mod:`~rewardshaping.agents.dqn` -- :class:`DQN`, :class:`DQNConfig`;
  :mod:`~rewardshaping.agents.replay` (:class:`Experiences`, the replay buffer).
* :mod:`~rewardshaping.agents.tabular_q` -- :class:`TabularQ`, :func:`value_iteration`.
* :mod:`~rewardshaping.agents.vector_envs` (making envs), :mod:`~rewardshaping.agents.run_log`
  (CSV/TensorBoard), :mod:`~rewardshaping.agents.checkpoint` (exact resume),
  :mod:`~rewardshaping.agents.evaluation`, :mod:`~rewardshaping.agents.term_registry` and
  :mod:`~rewardshaping.agents.cli` (``rewardshaping train``).

May import anything in ``rewardshaping``; nothing in the library imports the agents. Names are
loaded on first use, so that ``rewardshaping --help`` does not pay for importing torch.

Example:
    >>> from rewardshaping.agents import PPO, PPOConfig
    >>> PPOConfig().num_minibatches
    4
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PPO": "ppo",
    "PPOConfig": "ppo",
    "BlendedPPO": "blended_ppo",
    "BlendConfig": "blended_ppo",
    "race": "blend_race",
    "RaceResult": "blend_race",
    "DQN": "dqn",
    "DQNConfig": "dqn",
    "TabularQ": "tabular_q",
    "value_iteration": "tabular_q",
    "toytext_model": "tabular_q",
    "Experiences": "replay",
    "ReplayBuffer": "replay",
    "Episode": "rollout",
    "Rollout": "rollout",
    "RolloutHook": "rollout",
    "gae": "rollout",
    "evaluate_policy": "evaluation",
    "make_vector_env": "vector_envs",
    "register_term": "term_registry",
    "build_terms": "term_registry",
    "term_names": "term_registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

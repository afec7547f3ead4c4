"""Environments of the toolkit, installed as ``rewardshaping.envs``.

Reward-machine worlds, random tabular MDPs with exact T and R, delayed-reward registrations, a
Numba-batched sparse gridworld and multi-agent PettingZoo tasks are added by their issues; each is
registered under the ``rewardshaping/`` namespace. May import: gymnasium, pettingzoo, minigrid,
mujoco, numpy, numba and ``rewardshaping.machines`` (for labelling functions); nothing else of
the toolkit, with one exception: :mod:`~rewardshaping.envs.tabular` wraps
``rewardshaping.tabular`` (pure-NumPy MDP arrays and generators, shared with the metrics and
shaping code, which must not depend on envs).

Registered here:

- ``rewardshaping/RandomMDP-v0``: :class:`~rewardshaping.envs.tabular.RandomMDPEnv`.
- the key-door gridworlds of :mod:`~rewardshaping.envs.gridworld` (see ``register_envs``).
"""

import gymnasium as gym

from rewardshaping.envs.gridworld import KeyDoorEnv, KeyDoorVectorEnv, register_envs

__all__ = ["KeyDoorEnv", "KeyDoorVectorEnv", "register_envs"]

# Guarded: this file can be imported under two names (``envs`` by pytest's doctest collection,
# ``rewardshaping.envs`` by users), and Gymnasium warns when an id is registered twice.
if "rewardshaping/RandomMDP-v0" not in gym.registry:
    gym.register(
        id="rewardshaping/RandomMDP-v0",
        entry_point="rewardshaping.envs.tabular:RandomMDPEnv",
        max_episode_steps=200,
        kwargs={"n_states": 32, "n_actions": 4, "gamma": 0.95, "kind": "starc", "mdp_seed": 0},
    )

register_envs()

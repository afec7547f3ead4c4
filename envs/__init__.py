"""Environments of the toolkit, installed as ``rewardshaping.envs``.

Reward-machine worlds, random tabular MDPs with exact T and R, delayed-reward registrations, a
Numba-batched sparse gridworld and multi-agent PettingZoo tasks are added by their issues; each is
registered under the ``rewardshaping/`` namespace. May import: gymnasium, pettingzoo, minigrid,
mujoco, numpy, numba and ``rewardshaping.machines`` (for labelling functions); nothing else of
the toolkit.
"""

from rewardshaping.envs.gridworld import KeyDoorEnv, KeyDoorVectorEnv, register_envs

__all__ = ["KeyDoorEnv", "KeyDoorVectorEnv", "register_envs"]

register_envs()

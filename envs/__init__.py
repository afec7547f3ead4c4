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

# --- reward-machine worlds (issue 7) -----------------------------------------------------------
from gymnasium.envs.registration import register as _gym_register  # noqa: E402
from gymnasium.envs.registration import registry as _gym_registry  # noqa: E402


def _register_once(id: str, **kwargs) -> None:
    # The doctest run may import this file twice (as envs and as rewardshaping.envs).
    if id not in _gym_registry:
        _gym_register(id=id, **kwargs)


_register_once(
    "rewardshaping/OfficeWorld-v0",
    entry_point="rewardshaping.envs.office:OfficeWorld",
    max_episode_steps=1000,
)
for _task in (1, 2, 3, 4):
    _register_once(
        f"rewardshaping/Office-T{_task}-v0",
        entry_point="rewardshaping.envs.office:office_task_env",
        kwargs={"task": _task},
        max_episode_steps=1000,
    )

_register_once(
    "rewardshaping/CraftWorld-v0",
    entry_point="rewardshaping.envs.craft:CraftWorld",
    max_episode_steps=500,
)
for _task in ("paper", "book", "map", "milk_bucket", "book_and_quill", "cake"):
    _register_once(
        f"rewardshaping/Craft-{_task.title().replace('_', '')}-v0",
        entry_point="rewardshaping.envs.craft:craft_task_env",
        kwargs={"task": _task},
        max_episode_steps=500,
    )

_register_once(
    "rewardshaping/WaterWorld-v0",
    entry_point="rewardshaping.envs.water:WaterWorld",
    max_episode_steps=600,
)
for _task in (1, 2, 3):
    _register_once(
        f"rewardshaping/Water-T{_task}-v0",
        entry_point="rewardshaping.envs.water:water_task_env",
        kwargs={"task": _task},
        max_episode_steps=600,
    )

_register_once(
    "rewardshaping/HalfCheetahRM-v0",
    entry_point="rewardshaping.envs.cheetah_rm:HalfCheetahEvents",
    max_episode_steps=1000,
)
for _task, _name in (("back_and_forth", "BackForth"), ("far_forward", "FarForward")):
    _register_once(
        f"rewardshaping/HalfCheetahRM-{_name}-v0",
        entry_point="rewardshaping.envs.cheetah_rm:cheetah_task_env",
        kwargs={"task": _task},
        max_episode_steps=1000,
    )

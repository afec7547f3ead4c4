"""Reward-machine worlds: every registered one passes check_env; labelling functions per event."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import rewardshaping.envs  # noqa: F401
from gymnasium.utils.env_checker import check_env
from rewardshaping.envs.office import NEXT, OBJECTS, PROPOSITIONS, OfficeLabelling, OfficeWorld

from rewardshaping.transitions import Transitions

RM_WORLD_PREFIXES = (
    "rewardshaping/Office",
    "rewardshaping/Craft",
    "rewardshaping/Water",
    "rewardshaping/HalfCheetahRM",
)
WORLDS = sorted(i for i in gym.registry if i.startswith(RM_WORLD_PREFIXES))


def test_worlds_are_registered():
    assert "rewardshaping/OfficeWorld-v0" in WORLDS
    assert {f"rewardshaping/Office-T{k}-v0" for k in range(1, 5)} <= set(WORLDS)


@pytest.mark.parametrize("env_id", WORLDS)
def test_check_env(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
        check_env(env.unwrapped, skip_render_check=True)
        check_env(env, skip_render_check=True)
    env.close()


def _step_onto(cell):
    """An (x, y, action) next to ``cell`` whose move lands on it."""
    for x in range(12):
        for y in range(9):
            for a in range(4):
                if (x, y) != cell and tuple(NEXT[x, y, a]) == cell:
                    return x, y, a
    raise AssertionError(f"no way onto {cell}")


@pytest.mark.parametrize("cell", sorted(OBJECTS))
def test_office_labelling_per_event(cell):
    env = OfficeWorld()
    env.reset(seed=0)
    x, y, a = _step_onto(cell)
    env._pos = np.array([x, y])
    obs, _, _, _, info = env.step(a)
    assert tuple(obs) == cell and info["events"] == [OBJECTS[cell]]
    assert info["labels"].tolist() == [p == OBJECTS[cell] for p in PROPOSITIONS]
    batch = Transitions.from_arrays(np.array([[x, y]]), [a], obs[None], [0.0])
    assert OfficeLabelling().sets(batch) == [{OBJECTS[cell]}]


def test_office_labelling_is_empty_elsewhere_and_batched():
    cells = np.array([[x, y] for x in range(12) for y in range(9)])
    batch = Transitions.from_arrays(cells, np.zeros(len(cells)), cells, np.zeros(len(cells)))
    labels = OfficeLabelling()(batch)
    assert labels.shape == (108, 8) and labels.sum() == len(OBJECTS)
    assert labels.sum(axis=1).max() == 1  # the events are exclusive

"""Reward-machine worlds: every registered one passes check_env; labelling functions per event."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rewardshaping.envs  # noqa: F401
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


def test_craft_labelling_per_event_and_lava_terminates():
    from rewardshaping.envs.craft import LABEL, CraftLabelling, CraftWorld
    from rewardshaping.envs.craft import PROPOSITIONS as CRAFT_PROPS

    env = CraftWorld()
    env.reset(seed=0)
    found = set()
    for x in range(9):
        for y in range(9):
            k = LABEL[x, y]
            if k < 0:
                continue
            # Step onto (x, y) from the cell above it (or below, on the top row).
            start, action = ((x, y + 1), 2) if y < 8 else ((x, y - 1), 0)
            env._pos = np.array(start)
            obs, _, term, _, info = env.step(action)
            name = CRAFT_PROPS[k]
            assert info["events"] == [name] and term == (name == "lava")
            batch = Transitions.from_arrays(np.array([start]), [action], obs[None], [0.0])
            assert CraftLabelling().sets(batch) == [{name}]
            found.add(name)
    assert found == set(CRAFT_PROPS)


@pytest.mark.parametrize("colour", ["blue", "cyan", "green", "magenta", "red", "yellow"])
def test_water_labelling_per_colour(colour):
    from rewardshaping.envs.water import COLOURS, WaterWorld

    env = WaterWorld()
    env.reset(seed=0)
    ball = int(np.flatnonzero(env.colour_of == COLOURS.index(colour))[0])
    env._ball_vel[:] = 0.0
    env._balls[:] = 0.9  # everything out of the way...
    env._balls[ball] = env._agent + [0.02, 0.0]  # ...but one ball right next to the agent
    obs, _, _, _, info = env.step(0)
    assert info["events"] == [colour]
    assert np.linalg.norm(env._balls[ball] - env._agent) > 0.2  # respawned away from the agent
    assert env.labelling.propositions == COLOURS


def test_water_product_observations_are_flat():
    env = gym.make("rewardshaping/Water-T3-v0")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (52 + 6,) and obs[-6:].tolist() == [1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize(
    "x, events",
    [
        (0.0, set()),
        (2.5, {"c"}),
        (4.5, {"c", "e"}),
        (8.5, {"c", "e", "f", "g"}),
        (10.5, {"a", "c", "e", "f", "g"}),
        (-2.5, {"d"}),
        (-10.5, {"b", "d"}),
    ],
)
def test_cheetah_events_per_threshold(x, events):
    from rewardshaping.envs.cheetah_rm import CheetahLabelling

    nxt = np.zeros((1, 18))
    nxt[0, 0] = x
    assert CheetahLabelling().sets(Transitions.from_arrays(nxt, np.zeros((1, 6)), nxt, [0.0])) == [
        events
    ]


def test_cheetah_back_and_forth_pays_control_cost():
    env = gym.make("rewardshaping/HalfCheetahRM-BackForth-v0")
    env.reset(seed=0)
    _, r, _, _, info = env.step(np.ones(6, np.float32))
    assert r == pytest.approx(info["reward_ctrl"]) and r < 0

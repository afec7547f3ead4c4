"""Reward-machine fixes from a review: envs that mutate their observation buffer, Tuple
observations, the discarded step of a machine-ended episode (NEXT_STEP), repeated
propositions and labelling arrays of the wrong shape."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from rewardshaping.machines import (
    FunctionLabelling,
    InfoLabelling,
    RewardMachineEnv,
    RewardMachineVectorEnv,
    parse_machine,
)
from rewardshaping.machines.errors import SpecError
from rewardshaping.transitions import Transitions

ONE_EDGE = """
propositions: [{p}]
initial: u
terminal: [v]
edges:
  - {{from: u, to: v, when: {p}, reward: 1}}
"""


class InPlace(gym.Env):
    """Returns the same array every step, mutated in place (allowed by the Gymnasium API)."""

    observation_space = spaces.Box(0, 100, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self):
        self.buf = np.zeros(1, np.float32)

    def reset(self, *, seed=None, options=None):
        self.buf[:] = 0
        return self.buf, {}

    def step(self, action):
        self.buf += 1
        return self.buf, 0.0, False, False, {}


def test_an_env_that_mutates_its_observation_buffer_is_labelled_on_s_and_s_prime():
    moved = FunctionLabelling(
        lambda b: np.asarray(b.next_obs[:, 0] > b.obs[:, 0]).reshape(-1, 1), ["moved"]
    )
    env = RewardMachineEnv(InPlace(), parse_machine(ONE_EDGE.format(p="moved")), moved)
    env.reset()
    _, reward, terminated, _, info = env.step(0)
    assert info["labels"].tolist() == [True] and reward == 1.0 and terminated
    crm = env.counterfactual_experiences()
    assert crm.obs["obs"].ravel().tolist() == [0.0] and crm.next_obs["obs"].ravel().tolist() == [
        1.0
    ]


class TupleToy(gym.Env):
    observation_space = spaces.Tuple((spaces.Discrete(100), spaces.Discrete(3)))
    action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return (0, 2), {"labels": np.array([False])}

    def step(self, action):
        self.t += 1
        return (self.t, int(action)), 0.0, False, self.t >= 3, {"labels": np.array([action == 1])}


@pytest.mark.parametrize("obs_mode", ["dict", "onehot"])
def test_tuple_observations_keep_every_component_in_experiences(obs_mode):
    rm = parse_machine(ONE_EDGE.format(p="a").replace("terminal: [v]", "terminal: []"))
    env = RewardMachineEnv(TupleToy(), rm, InfoLabelling(["a"]), obs_mode=obs_mode)
    env.reset()
    env.step(2)
    crm = env.counterfactual_experiences()
    if obs_mode == "dict":
        first, second = crm.obs["obs"]
        assert first.tolist() == [0, 0] and second.tolist() == [2, 2]  # (0, 2) from each state
        assert [c.tolist() for c in crm.next_obs["obs"]] == [[1, 1], [2, 2]]
    else:
        want = spaces.flatten(TupleToy.observation_space, (0, 2))
        assert np.array_equal(crm.obs[:, : want.size], np.stack([want, want]))


def test_tuple_observations_in_a_vector_env_give_each_env_its_final_obs():
    rm = parse_machine(ONE_EDGE.format(p="a").replace("terminal: [v]", "terminal: []"))
    venv = SyncVectorEnv([TupleToy, TupleToy], autoreset_mode=AutoresetMode.SAME_STEP)
    env = RewardMachineVectorEnv(venv, rm, InfoLabelling(["a"]))
    env.reset(seed=0)
    for _ in range(2):
        env.step(np.array([2, 0]))
    *_, truncated, info = env.step(np.array([2, 0]))
    assert truncated.all()
    finals = [info["final_obs"][i]["obs"] for i in range(2)]
    assert [tuple(int(x) for x in f) for f in finals] == [(3, 2), (3, 0)]


class Paying(gym.Env):
    """Env reward 10 * action + t; action 1 raises proposition "a"."""

    observation_space = spaces.Discrete(100)
    action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {"labels": np.array([False])}

    def step(self, action):
        self.t += 1
        return (
            self.t,
            float(10 * action + self.t),
            False,
            False,
            {"labels": np.array([action == 1])},
        )


def test_the_discarded_step_after_a_machine_ended_episode_reports_no_world_reward():
    venv = SyncVectorEnv([Paying, Paying], autoreset_mode=AutoresetMode.NEXT_STEP)
    env = RewardMachineVectorEnv(venv, parse_machine(ONE_EDGE.format(p="a")), InfoLabelling(["a"]))
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(np.array([1, 0]))
    assert terminated.tolist() == [True, False] and reward.tolist() == [1.0, 0.0]
    _, reward, _, _, info = env.step(np.array([2, 0]))  # env 0: a reset step, its action dropped
    assert reward.tolist() == [0.0, 0.0]
    assert info["world_reward"].tolist() == [0.0, 2.0]


def test_a_proposition_declared_twice_is_refused():
    spec = ONE_EDGE.format(p="a").replace("propositions: [a]", "propositions: [a, a]")
    with pytest.raises(SpecError, match="more than once"):
        parse_machine(spec)


def test_a_labelling_array_of_the_wrong_shape_is_refused_not_reshuffled():
    batch = Transitions.from_arrays(np.zeros(3), [0, 0, 0], np.zeros(3), [0, 0, 0])
    transposed = FunctionLabelling(lambda b: np.array([[True, False, False], [False, False, True]]),
                                   ["p", "q"])  # fmt: skip
    with pytest.raises(ValueError, match=r"shape \(2, 3\); expected \(3, 2\)"):
        transposed(batch)
    right = FunctionLabelling(lambda b: np.array([[True, False], [False, False], [False, True]]),
                              ["p", "q"])  # fmt: skip
    assert right(batch).tolist() == [[True, False], [False, False], [False, True]]
    one = Transitions.from_arrays(np.zeros(1), [0], np.zeros(1), [0])
    assert FunctionLabelling(lambda b: np.array([True, False]), ["p", "q"])(one).tolist() == [
        [True, False]
    ]

"""Regression tests for reviewed reward-machine bugs: env vs machine termination in the learners,
SAME_STEP final infos, the async default labelling, shaped CRM experiences, stale experiences."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

import rewardshaping.envs  # noqa: F401  (registers the worlds)
from rewardshaping.envs.office import OfficeWorld, office_machine
from rewardshaping.envs.water import COLOURS, WaterWorld
from rewardshaping.machines import RewardMachineHierarchy, parse_machine
from rewardshaping.machines.labelling import InfoLabelling
from rewardshaping.machines.options import OptionConfig, OptionLearner
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.product_vector import RewardMachineVectorEnv
from rewardshaping.machines.qlearning import MachineQLearning, QLearningConfig
from rewardshaping.machines.shaping import machine_potential


class EndsOnA(gym.Env):
    """One step from state 0 to state 1: event ``a`` fires and the env terminates."""

    observation_space = spaces.Discrete(2)
    action_space = spaces.Discrete(1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {"labels": np.array([False, False])}

    def step(self, action):
        return 1, 0.0, True, False, {"labels": np.array([True, False])}


# u0 accepts on a; u1 ignores a (loops), so its CRM experience of that step ends only by the env.
LOOPING_U1 = """
initial: u0
exclusive: true
terminal: [done]
edges:
  - {from: u0, to: done, when: a, reward: 1}
  - {from: u0, to: u1, when: b}
  - {from: u1, to: u1, when: a}
"""


def test_product_env_reports_the_envs_own_termination():
    rm = parse_machine(LOOPING_U1)
    env = RewardMachineEnv(EndsOnA(), rm, InfoLabelling(("a", "b")))
    env.reset(seed=0)
    *_, term, _, info = env.step(0)
    assert term and info["env_terminated"] is True
    # The machine alone ends this one: the env did not terminate.
    env = RewardMachineEnv(OfficeWorld(), office_machine(1))
    env.reset(seed=0)
    for a in [1, 1]:  # right, right: onto the plant at (4, 1)
        *_, term, _, info = env.step(a)
    assert term and info["env_terminated"] is False


def test_qlearning_crm_does_not_bootstrap_past_the_envs_end():
    rm = parse_machine(LOOPING_U1)
    env = RewardMachineEnv(EndsOnA(), rm, InfoLabelling(("a", "b")))
    agent = MachineQLearning(2, 1, rm, QLearningConfig(gamma=0.9, alpha=1.0, q_init=0.0), seed=0)
    u1 = rm.index["u1"]
    agent.q[u1, 1, 0] = 10.0  # any bootstrap from the terminal env state would show
    obs, _ = env.reset(seed=0)
    obs2, _, term, _, info = env.step(0)
    agent.update(obs, 0, obs2, info, term)
    assert agent.q[rm.index["u0"], 0, 0] == 1.0
    assert agent.q[u1, 0, 0] == 0.0  # was 0.9 * 10: the env's end was taken for the machine's


def test_option_leaves_do_not_bootstrap_past_the_envs_end():
    # As LOOPING_U1, but u1 accepts on b: two leaf options, a and b, from u0.
    rm = parse_machine(
        LOOPING_U1.replace(
            "{from: u1, to: u1, when: a}", "{from: u1, to: done, when: b, reward: 1}"
        )
    )
    h = RewardMachineHierarchy({"m": rm}, "m")
    env = RewardMachineEnv(EndsOnA(), h, InfoLabelling(("a", "b")))
    cfg = OptionConfig(gamma=0.9, alpha=1.0, epsilon=0.0, q_init=5.0)
    agent = OptionLearner(h, 2, 1, cfg, seed=0)
    obs, _ = env.reset(seed=0)
    agent.begin_episode(obs)
    a = agent.act(obs)
    chosen = agent.plan[0].edge
    obs2, _, term, trunc, info = env.step(a)
    agent.observe(obs, a, obs2, info, term, trunc)
    q = {str(f): agent.leaf_q[k, 0, 0] for f, k in agent.leaf_index.items()}
    assert q == {"a": 1.0, "b": 0.0}  # 'b' was 0.9 * 5: bootstrapped from the env's end
    # The machine level still learns that its option ended in acceptance on this last step.
    assert agent.meta["m"][rm.index["u0"], 0, chosen] == 1.0


class Counter(gym.Env):
    """Event ``a`` fires on step 2, and the env terminates on step 2; info ``x`` = the step."""

    observation_space = spaces.Box(0, 100, (1,), np.float32)
    action_space = spaces.Discrete(1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {"labels": np.array([False]), "x": 0.0}

    def step(self, action):
        self.t += 1
        info = {"labels": np.array([self.t == 2]), "x": float(self.t)}
        return np.array([self.t], np.float32), 0.0, self.t >= 2, False, info


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_labels_and_reward_functions_see_the_last_steps_info(mode):
    # The edge pays the named reward x() read from the info of the transition: 2 on step 2.
    rm = parse_machine(
        "initial: u0\nterminal: [done]\nedges: [{from: u0, to: done, when: a, reward: {function: x}}]"
    )
    x = {"x": lambda b: np.asarray(b.info("x"), np.float64)}
    env = RewardMachineVectorEnv(
        SyncVectorEnv([Counter, Counter], autoreset_mode=mode), rm, InfoLabelling(("a",)),
        reward_functions=x, potential=np.zeros(2), gamma=0.9,
    )  # fmt: skip
    env.reset(seed=0)
    env.step(np.zeros(2, int))
    _, r, term, _, info = env.step(np.zeros(2, int))
    assert r.tolist() == [2.0, 2.0] and term.all()
    assert info["labels"].tolist() == [[True], [True]]
    assert rm.states[int(info["machine_state"][0])] == "done"
    assert info["crm_reward"][:, rm.index["u0"]].tolist() == [2.0, 2.0]


def test_async_default_labelling_is_the_sub_envs_own():
    # Office T4 declares 5 propositions, the world reports 8: the old fallback raised.
    vec = gym.make_vec("rewardshaping/OfficeWorld-v0", 1, vectorization_mode="async")
    env = RewardMachineVectorEnv(vec, office_machine(4))
    try:
        env.reset(seed=0)
        obs, *_ = env.step(np.array([3]))  # left onto room a
        assert obs["machine_state"].tolist() == [1]
    finally:
        env.close()


class ReportsBlue(WaterWorld):
    """Every step reports exactly the event 'blue'."""

    def step(self, action):
        obs, r, term, trunc, _ = super().step(action)
        return obs, r, term, trunc, {"labels": np.array([c == "blue" for c in COLOURS])}


def test_async_default_labelling_reads_world_columns_in_world_order():
    rm = parse_machine("""
propositions: [red, green, blue, cyan, magenta, yellow]
initial: start
terminal: [done]
edges:
  - {from: start, to: done, when: red, reward: 1}
""")
    env = RewardMachineVectorEnv(AsyncVectorEnv([ReportsBlue]), rm)
    try:
        env.reset(seed=0)
        _, r, term, _, info = env.step(np.array([0]))
        seen = [p for p, on in zip(rm.propositions, info["labels"][0], strict=True) if on]
        assert (r.tolist(), term.tolist(), seen) == ([0.0], [False], ["blue"])  # not 'red'
    finally:
        env.close()


def test_vector_env_that_cannot_be_asked_needs_an_explicit_labelling():
    class Bare(gym.vector.VectorEnv):  # neither .envs nor call(): nothing to ask
        def __init__(self):
            self.num_envs = 1
            self.single_observation_space = spaces.Discrete(2)
            self.single_action_space = spaces.Discrete(1)
            self.observation_space = gym.vector.utils.batch_space(spaces.Discrete(2), 1)
            self.action_space = gym.vector.utils.batch_space(spaces.Discrete(1), 1)
            self.metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    rm = parse_machine(LOOPING_U1)
    with pytest.raises(TypeError, match="labelling="):
        RewardMachineVectorEnv(Bare(), rm)
    RewardMachineVectorEnv(Bare(), rm, InfoLabelling(("a", "b")))  # explicit: fine


@pytest.mark.parametrize("reward_mode", ["machine", "add"])
def test_crm_experiences_carry_what_the_product_pays(reward_mode):
    rm = office_machine(1)
    phi = machine_potential(rm, 0.9)
    env = RewardMachineEnv(
        OfficeWorld(), rm, potential=phi, gamma=0.9, obs_mode="onehot", reward_mode=reward_mode
    )
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(100):
        u = env.machine_state
        _, r, term, trunc, info = env.step(int(rng.integers(4)))
        exp = env.counterfactual_experiences()
        # The real machine state's experience is the real transition, shaping included.
        assert float(exp.reward[exp.machine_state == u][0]) == pytest.approx(r, abs=1e-6)
        ended = rm.is_terminal[info["crm_next_state"]] | info["env_terminated"]
        shaping = 0.9 * np.where(ended, 0.0, phi[info["crm_next_state"]]) - phi
        np.testing.assert_allclose(info["crm_shaping"], shaping)
        if term or trunc:
            env.reset()


def test_vector_crm_experiences_carry_the_shaping():
    rm = office_machine(1)
    phi = machine_potential(rm, 0.9)
    vec = SyncVectorEnv([OfficeWorld, OfficeWorld])
    env = RewardMachineVectorEnv(vec, rm, potential=phi, gamma=0.9, obs_mode="onehot")
    env.reset(seed=0)
    u = env.machine_state.copy()
    _, r, *_ = env.step(np.array([1, 0]))
    exp = env.counterfactual_experiences()
    for i in range(2):
        row = (exp.env_index == i) & (exp.machine_state == u[i])
        assert float(exp.reward[row][0]) == pytest.approx(r[i], abs=1e-6) and r[i] != 0.0


def test_counterfactual_experiences_need_a_step_of_this_episode():
    env = RewardMachineEnv(OfficeWorld(), office_machine(1))
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="no step"):
        env.counterfactual_experiences()  # was AttributeError
    env.step(1)
    assert len(env.counterfactual_experiences()) == 2
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="no step"):
        env.counterfactual_experiences()  # was the previous episode's experiences
    vec = RewardMachineVectorEnv(SyncVectorEnv([OfficeWorld]), office_machine(1))
    vec.reset(seed=0)
    vec.step(np.array([1]))
    vec.reset(seed=0)
    with pytest.raises(RuntimeError, match="no step"):
        vec.counterfactual_experiences()

"""Learner fixes from a review: CRM Q-learning trains on what the env pays, SB3 replay refuses
memory-optimised buffers and can leave out the real transition, the last step's experiences
survive the reset after an episode's end, the blending fade floor never raises a weight, and
tabular Q batches Dict observations as a vector env does."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rewardshaping.machines import parse_machine
from rewardshaping.machines.labelling import InfoLabelling
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.qlearning import MachineQLearning, QLearningConfig
from rewardshaping.machines.replay import add_to_sb3_replay_buffer

MACHINE = """
initial: u0
terminal: [done]
edges:
  - {from: u0, to: u1, when: a}
  - {from: u1, to: done, when: b, reward: 1}
"""


class Corridor(gym.Env):
    """Cells 0..3, actions left/right; ``a`` holds in cell 3, ``b`` in cell 0."""

    observation_space = spaces.Discrete(4)
    action_space = spaces.Discrete(2)

    def __init__(self, r_env=0.0, term_at=None):
        self.r_env, self.term_at = r_env, term_at

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = 1
        return self.pos, {"labels": np.zeros(2, bool)}

    def step(self, action):
        self.pos = int(np.clip(self.pos + (1 if action == 1 else -1), 0, 3))
        labels = np.array([self.pos == 3, self.pos == 0])
        return self.pos, self.r_env, self.pos == self.term_at, False, {"labels": labels}


def _env(**kw):
    return RewardMachineEnv(Corridor(**kw.pop("world", {})), parse_machine(MACHINE),
                            InfoLabelling(["a", "b"]), **kw)  # fmt: skip


@pytest.mark.parametrize("counterfactual", [True, False])
def test_q_learning_trains_on_the_reward_the_env_pays(counterfactual):
    env = _env(world={"r_env": -0.1}, reward_mode="add")
    learner = MachineQLearning(
        4, 2, env.machine, QLearningConfig(alpha=1.0, counterfactual=counterfactual)
    )
    obs, _ = env.reset(seed=0)
    nxt, reward, terminated, _, info = env.step(1)
    learner.update(obs, 1, nxt, info, terminated)
    assert reward == pytest.approx(-0.1)
    assert learner.q[0, 1, 1] == pytest.approx(-0.1)  # machine state u0, cell 1, right


def test_replay_refuses_memory_optimised_buffers_and_can_leave_out_the_real_transition():
    from stable_baselines3.common.buffers import ReplayBuffer

    env = _env(obs_mode="onehot")
    env.reset(seed=0)
    env.step(1)
    everything = env.counterfactual_experiences()
    others = env.counterfactual_experiences(include_real=False)
    assert len(everything) == 2 and len(others) == 1 and others.machine_state.tolist() == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 warns about memory with optimize_memory_usage
        tight = ReplayBuffer(10, env.observation_space, env.action_space, device="cpu",
                             optimize_memory_usage=True, handle_timeout_termination=False)  # fmt: skip
    with pytest.raises(ValueError, match="optimize_memory_usage"):
        add_to_sb3_replay_buffer(tight, others)


def test_the_final_steps_experiences_survive_the_reset_that_follows():
    env = _env(world={"term_at": 3})
    env.reset(seed=0)
    env.step(1)
    *_, terminated, _, _ = env.step(1)  # onto cell 3: the env terminates
    assert terminated
    before = env.counterfactual_experiences()
    env.reset(seed=1)  # what SB3's vector env does inside step()
    after = env.counterfactual_experiences()
    assert after.machine_state.tolist() == before.machine_state.tolist()
    assert after.terminated.all()


def test_the_fade_floor_never_raises_a_heuristic_weight():
    from rewardshaping.agents.blended_ppo import BlendConfig, BlendedPPO
    from rewardshaping.agents.ppo import PPOConfig

    cfg = PPOConfig(env_id="rewardshaping/KeyDoor-Easy-v0", num_envs=2, num_steps=16,
                    total_timesteps=32, device="cpu")  # fmt: skip
    agent = BlendedPPO(cfg, heuristics={"one": lambda b: np.ones(len(b.reward), np.float32)},
                       blend=BlendConfig(w_init=0.005, w_max=1.0, no_evidence_decay=0.2,
                                         fade_floor=0.01))  # fmt: skip
    before = agent.heuristic_weights()["one"]
    agent.learn()
    assert agent.heuristic_weights()["one"] <= before + 1e-9


def test_tabular_q_batches_dict_observations_for_experience_fn():
    from rewardshaping.agents.tabular_q import TabularQ

    seen = []

    def experience_fn(batch):
        seen.append(batch.obs)

    TabularQ(12, 2, seed=0).learn(
        _env(), 1, state_fn=lambda o: int(o["obs"]) + 4 * int(o["machine_state"]),
        experience_fn=experience_fn, seed=0,
    )  # fmt: skip
    assert seen and isinstance(seen[0], dict) and np.shape(seen[0]["obs"]) == (1,)


def test_a_called_machine_that_accepts_on_the_envs_last_step_earns_its_success():
    from rewardshaping.machines.options import OptionConfig, OptionLearner

    h = parse_machine("""
root: top
machines:
  sub: {initial: v0, terminal: [acc], edges: [{from: v0, to: acc, when: a}]}
  top: {initial: u0, terminal: [done],
        edges: [{from: u0, to: u1, call: sub}, {from: u1, to: done, when: b, reward: 1}]}
""")
    env = RewardMachineEnv(Corridor(term_at=3), h, InfoLabelling(["a", "b"]))  # ends where a holds
    agent = OptionLearner(h, 4, 2, OptionConfig(gamma=0.9, alpha=1.0, epsilon=0.0), seed=0)
    obs, _ = env.reset(seed=0)
    agent.begin_episode(obs)
    for _ in range(2):  # right, right: cell 1 -> 2 -> 3, and the env terminates there
        agent.act(obs)
        nxt, _, terminated, truncated, info = env.step(1)
        agent.observe(obs, 1, nxt, info, terminated, truncated)
        obs = nxt
    assert info["env_terminated"]
    assert agent.meta["sub"][0, 1, 0] == pytest.approx(0.9)  # accepted after two steps
    assert agent.meta["top"][0, 1, 0] == 0.0  # the env ended before top could finish

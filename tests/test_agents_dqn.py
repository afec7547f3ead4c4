"""DQN's replay contents: real transitions only, true final observations on truncation,
counterfactual experiences; checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from rewardshaping.agents.dqn import DQN, DQNConfig
from rewardshaping.agents.replay import Experiences, ReplayBuffer


def tiny(**kw) -> DQNConfig:
    base = dict(
        total_timesteps=60,
        learning_starts=30,
        train_frequency=5,
        batch_size=8,
        buffer_size=1000,
        hidden_sizes=(16,),
        device="cpu",
    )
    base.update(kw)
    return DQNConfig(**base)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("truncate", [False, True])
def test_buffer_holds_real_transitions_with_true_next_obs(countdown_vec, mode, truncate):
    lengths = (2, 3, 5)
    agent = DQN(tiny(), countdown_vec(mode, lengths, truncate))
    agent.learn()
    n = len(agent.buffer)
    obs, nxt = agent.buffer.obs[:n], agent.buffer.next_obs[:n]
    # Every stored transition is [k, i] -> [k + 1, i]: no dummy reset step got in ...
    np.testing.assert_array_equal(nxt[:, 0], obs[:, 0] + 1)
    np.testing.assert_array_equal(nxt[:, 1], obs[:, 1])
    # ... episode ends store the final observation, terminated only when not truncated.
    last = nxt[:, 0] == np.array(lengths)[obs[:, 1].astype(int)]
    np.testing.assert_array_equal(agent.buffer.terminated[:n], last & (not truncate))
    np.testing.assert_array_equal(agent.buffer.rewards[:n], obs[:, 0] + 1)
    per_env = 60 // 3
    expected_real = per_env * 3 if mode is AutoresetMode.SAME_STEP else n
    assert n == expected_real and agent.updates > 0


def test_experience_fn_adds_counterfactual_transitions(countdown_vec):
    seen = []

    def mirror(batch):
        seen.append(batch)
        rows = np.flatnonzero(batch.active)
        return Experiences(
            batch.obs[rows], batch.action[rows], -batch.reward[rows], batch.next_obs[rows],
            batch.terminated[rows],
        )  # fmt: skip

    agent = DQN(tiny(), countdown_vec(AutoresetMode.NEXT_STEP), experience_fn=mirror)
    agent.learn()
    n = len(agent.buffer)
    rewards = agent.buffer.rewards[:n]
    assert (rewards > 0).sum() == (rewards < 0).sum() == n // 2
    assert len(seen) == 20  # one call per vector step
    assert any(not b.active.all() for b in seen)  # dummy steps are flagged inactive


def test_add_experiences_and_buffer_wraps():
    buf = ReplayBuffer(3, (1,), np.float32, seed=0)
    for k in range(5):
        buf.add(Experiences(np.array([[k]]), np.array([0]), np.array([k]), np.array([[k]]),
                            np.array([False])))  # fmt: skip
    assert len(buf) == 3 and sorted(buf.rewards.tolist()) == [2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="rows"):
        Experiences(np.zeros((2, 1)), np.zeros(1), np.zeros(2), np.zeros((2, 1)), np.zeros(2))


def test_save_and_load_round_trip(tmp_path):
    agent = DQN(tiny(env_id="CartPole-v1", num_envs=2)).learn()
    path = agent.save(tmp_path / "dqn.pt")
    back = DQN.load(path)
    for a, b in zip(agent.q_network.parameters(), back.q_network.parameters(), strict=True):
        assert torch.equal(a, b)
    assert back.global_step == agent.global_step and len(back.buffer) == len(agent.buffer)
    np.testing.assert_array_equal(back.buffer.sample(4)["obs"], agent.buffer.sample(4)["obs"])


def test_dqn_refuses_continuous_actions():
    with pytest.raises(TypeError, match="Discrete"):
        DQN(tiny(env_id="Pendulum-v1"))

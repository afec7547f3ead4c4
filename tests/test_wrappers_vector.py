"""Autoreset semantics of ShapedVectorEnv: no pay on dummy steps, true final observations."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from rewardshaping import FunctionTerm, RewardTerm, ShapedEnv, ShapedVectorEnv, StepPenalty


class Recorder(RewardTerm):
    """Pays next_obs[:, 0] (the Countdown step index) and records every batch it sees."""

    name = "rec"

    def __init__(self):
        super().__init__()
        self.batches, self.resets = [], []

    def __call__(self, b):
        self.batches.append(b)
        return b.next_obs[:, 0].astype(np.float32)

    def reset(self, mask):
        self.resets.append(np.array(mask, copy=True))


def run(envs, steps):
    envs.reset(seed=0)
    out = []
    for _ in range(steps):
        out.append(envs.step(np.zeros(envs.num_envs, dtype=int)))
    return out


def test_next_step_dummy_step_is_inactive_and_unpaid(countdown_vec):
    rec = Recorder()
    envs = ShapedVectorEnv(countdown_vec(AutoresetMode.NEXT_STEP), [rec, StepPenalty(-1.0)])
    steps = run(envs, 8)
    # env 0 (length 2): steps 1,2 real (ends at step index 1), step index 2 is the dummy reset step.
    dummy = steps[2]
    _, reward, term, trunc, info = dummy
    assert reward[0] == 0.0 and info["env_reward"][0] == 0.0
    assert info["reward_terms"]["rec"][0] == 0.0 and info["reward_terms"]["step_penalty"][0] == 0.0
    assert not rec.batches[2].active[0] and rec.batches[2].active[1:].all()
    # Episodic state of env 0 was reset exactly at its dummy step.
    assert any(r.tolist() == [True, False, False] for r in rec.resets[1:])
    # Every real transition of env 0 pays its step index t = 1, 2 and the penalty -1.
    paid = [s[1][0] for s in steps]
    assert paid == [
        0.0 + 1 + 1 - 1,
        2 + 2 - 1,
        0.0,
        1 + 1 - 1,
        2 + 2 - 1,
        0.0,
        1 + 1 - 1,
        2 + 2 - 1,
    ]


def test_next_step_episode_sums(countdown_vec):
    envs = ShapedVectorEnv(countdown_vec(AutoresetMode.NEXT_STEP), StepPenalty(-1.0))
    steps = run(envs, 3)
    info = steps[1][4]  # env 0 ends on its second step
    assert info["_episode_reward_terms"].tolist() == [True, False, False]
    assert info["episode_reward_terms"]["env_reward"][0] == 3.0  # 1 + 2
    assert info["episode_reward_terms"]["step_penalty"][0] == -2.0
    assert info["episode_length"][0] == 2
    # the dummy step does not start a second count of env 0's episode
    assert "episode_reward_terms" not in steps[2][4] or not steps[2][4]["_episode_reward_terms"][0]


@pytest.mark.parametrize("truncate", [False, True])
def test_same_step_uses_true_final_obs(countdown_vec, truncate):
    rec = Recorder()
    envs = ShapedVectorEnv(countdown_vec(AutoresetMode.SAME_STEP, truncate=truncate), rec)
    steps = run(envs, 6)
    obs, reward, term, trunc, info = steps[1]
    assert (term | trunc)[0]
    assert obs[0, 0] == 0.0  # the returned obs is already the reset obs ...
    assert rec.batches[1].next_obs[0, 0] == 2.0  # ... but terms saw the true final one
    assert reward[0] == 2.0 + 2.0
    # The next step starts from the reset obs, with fresh episodic state.
    assert rec.batches[2].obs[0, 0] == 0.0 and rec.batches[2].next_obs[0, 0] == 1.0
    assert rec.resets[-1].shape == (3,)
    assert all(b.active.all() for b in rec.batches)
    # The user still sees the reset obs in the returned array (not mutated by the wrapper).
    assert steps[1][0][0, 0] == 0.0


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_episode_step_counter(countdown_vec, mode):
    rec = Recorder()
    envs = ShapedVectorEnv(countdown_vec(mode, lengths=(3, 3, 3)), rec)
    run(envs, 7)
    real = [b.episode_step[0] for b in rec.batches if b.active[0]]
    assert real[:6] == [0, 1, 2, 0, 1, 2]


def test_disabled_mode_is_refused(countdown_vec):
    with pytest.raises(ValueError, match="not supported.*NEXT_STEP"):
        ShapedVectorEnv(countdown_vec(AutoresetMode.DISABLED), StepPenalty())


def test_wrong_object_types():
    with pytest.raises(TypeError, match="ShapedEnv"):
        ShapedVectorEnv(gym.make("CartPole-v1"), StepPenalty())
    with pytest.raises(TypeError, match="ShapedVectorEnv"):
        ShapedEnv(gym.make_vec("CartPole-v1", 2), StepPenalty())
    with pytest.raises(TypeError, match="Accepted: gymnasium.Env"):
        ShapedEnv(object(), StepPenalty())


def test_step_before_reset():
    envs = ShapedVectorEnv(gym.make_vec("CartPole-v1", 2), StepPenalty())
    with pytest.raises(gym.error.ResetNeeded):
        envs.step(np.zeros(2, int))


def test_copy_false_vector_env_keeps_previous_obs(countdown):
    rec = Recorder()
    base = gym.vector.SyncVectorEnv([lambda: countdown(4)] * 2, copy=False)
    envs = ShapedVectorEnv(base, rec)
    run(envs, 2)
    assert rec.batches[1].obs[0, 0] == 1.0 and rec.batches[1].next_obs[0, 0] == 2.0


def cartpole_term():
    # depends on the observation, so equal rewards mean equal transitions were seen
    return FunctionTerm(lambda b: np.cos(b.next_obs[:, 2]) - np.abs(b.obs[:, 0]), name="shape")


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_single_and_vector_adapters_agree(mode):
    n, steps = 3, 120
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, size=(steps, n))
    venv = ShapedVectorEnv(
        gym.make_vec(
            "CartPole-v1", n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
        ),
        [cartpole_term(), StepPenalty(-0.1)],
        weight=[0.5, 1.0],
    )
    venv.reset(seed=[10, 11, 12])
    vec_rewards = [[] for _ in range(n)]
    prev_done = np.zeros(n, bool)
    for t in range(steps):
        _, r, term, trunc, _ = venv.step(actions[t])
        for i in range(n):
            if not prev_done[i] or mode is AutoresetMode.SAME_STEP:
                vec_rewards[i].append(float(r[i]))
        prev_done = term | trunc
    for i in range(n):
        env = ShapedEnv(
            gym.make("CartPole-v1"), [cartpole_term(), StepPenalty(-0.1)], weight=[0.5, 1.0]
        )
        env.reset(seed=10 + i)
        single = []
        t = 0
        while len(single) < len(vec_rewards[i]):
            _, r, term, trunc, _ = env.step(int(actions[t, i]))
            single.append(r)
            t += 1
            if term or trunc:
                env.reset()  # vector sub-envs reset without a new seed
                t += mode is AutoresetMode.NEXT_STEP  # the vector env spent one step on reset
        np.testing.assert_allclose(single, vec_rewards[i], rtol=1e-6)
        assert len(single) > 20


def test_reset_mask_resets_only_the_masked_envs(countdown_vec):
    # Gymnasium pops "reset_mask" from the options: the wrapper must read it first, or every
    # env's episode (and a pending NEXT_STEP autoreset) is cleared.
    envs = ShapedVectorEnv(
        countdown_vec(AutoresetMode.NEXT_STEP, lengths=(5, 2)), StepPenalty(-1.0)
    )
    run(envs, 2)  # env 1 (length 2) has just ended: its next step is the dummy reset step
    envs.reset(options={"reset_mask": np.array([True, False])})
    info = envs.step(np.zeros(2, int))[4]
    assert info["reward_terms"]["step_penalty"].tolist() == [-1.0, 0.0]  # env 1's dummy: unpaid
    assert envs.pipeline._episode_step.tolist() == [1, 0]

"""PPO's bookkeeping: GAE, truncation bootstrapping, dummy steps, intrinsic head, learned terms,
relabelling hooks, logging, exact resume and devices. Learning tests are in
test_agents_learning.py."""

from __future__ import annotations

import csv

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping import FunctionTerm, RewardTerm, ShapedVectorEnv, StepPenalty
from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.agents.rollout import gae, gae_torch

MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]


def tiny(**kw) -> PPOConfig:
    base = dict(
        num_steps=16,
        num_minibatches=2,
        update_epochs=2,
        total_timesteps=10_000,
        device="cpu",
        seed=0,
        hidden_sizes=(16, 16),
        gae_lambda=1.0,
        gamma=0.9,
    )
    base.update(kw)
    return PPOConfig(**base)


def values_of(agent, obs, head=0):
    with torch.no_grad():
        return agent.policy.value(torch.as_tensor(np.asarray(obs, np.float32)))[:, head].numpy()


# -- GAE --------------------------------------------------------------------------------------
def gae_reference(r, v, nv, term, ends, gamma, lam):
    """Per-env, per-step definition: sum of (gamma*lam)^k deltas until the episode boundary."""
    t_max, n = r.shape
    out = np.zeros_like(r)
    for i in range(n):
        for t in range(t_max):
            total, weight = 0.0, 1.0
            for k in range(t, t_max):
                delta = r[k, i] + gamma * nv[k, i] * (1 - term[k, i]) - v[k, i]
                total += weight * delta
                if ends[k, i]:
                    break
                weight *= gamma * lam
            out[t, i] = total
    return out


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    t_max=st.integers(1, 12),
    n=st.integers(1, 3),
    gamma=st.floats(0.0, 1.0),
    lam=st.floats(0.0, 1.0),
)
def test_gae_matches_its_definition(seed, t_max, n, gamma, lam):
    rng = np.random.default_rng(seed)
    r, v, nv = (rng.normal(size=(t_max, n)) for _ in range(3))
    term = rng.random((t_max, n)) < 0.2
    ends = term | (rng.random((t_max, n)) < 0.2)
    expected = gae_reference(r, v, nv, term, ends, gamma, lam)
    args = [torch.tensor(x) for x in (r, v, nv, term, ends)]
    np.testing.assert_allclose(gae(*args, gamma, lam).numpy(), expected, atol=1e-9)  # compiled
    np.testing.assert_allclose(gae_torch(*args, gamma, lam).numpy(), expected, atol=1e-9)
    # Dense but not contiguous inputs (transposed views) give the same advantages.
    views = [torch.tensor(np.ascontiguousarray(x.T)).T for x in (r, v, nv, term, ends)]
    np.testing.assert_allclose(gae(*views, gamma, lam).numpy(), expected, atol=1e-9)


# -- truncation bootstrapping and dummy steps ---------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("truncate", [False, True])
def test_advantages_bootstrap_from_true_final_obs_and_skip_dummy_steps(
    countdown_vec, mode, truncate
):
    """Countdown: obs [k, env], reward k+1 for the k-th transition, episode length L.
    With lambda = 1, A = discounted rewards to the episode end (+ gamma^m V(final obs) when
    truncated) - V(s_k); an episode cut by the rollout bootstraps from V(next obs)."""
    lengths = (2, 3, 5)
    envs = countdown_vec(mode, lengths, truncate)
    agent = PPO(tiny(), envs)
    agent._reset_envs()
    agent.collect_rollout()
    agent.compute_advantages()
    g = agent.config.gamma
    obs = agent.obs.numpy()
    valid = agent.valid
    if mode is AutoresetMode.NEXT_STEP:  # exactly the steps after a done are dummies
        done = agent.terminated | agent.truncated
        np.testing.assert_array_equal(valid[1:], ~done[:-1])
    else:
        assert valid.all()
    adv = agent.advantages.numpy()
    checked = 0
    for i, length in enumerate(lengths):
        for t in np.flatnonzero(valid[:, i]):
            k = int(obs[t, i, 0])
            steps_left = length - k  # transitions until the episode ends
            later = np.flatnonzero(valid[t:, i])[:steps_left] + t
            m = len(later)  # transitions of this episode inside the rollout
            expected = sum(g**j * (k + j + 1) for j in range(m)) - values_of(agent, [[k, i]])[0]
            if m < steps_left:  # cut by the rollout: bootstrap from the next observation
                expected += g**m * values_of(agent, [agent._next_obs[i]])[0]
            elif truncate:  # truncated: bootstrap from the true final observation [L, i]
                expected += g**m * values_of(agent, [[length, i]])[0]
            assert adv[t, i] == pytest.approx(expected, rel=1e-4, abs=1e-4), (t, i, k)
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("mode", MODES)
def test_update_sees_only_real_transitions(countdown_vec, mode, monkeypatch):
    agent = PPO(tiny(), countdown_vec(mode, (2, 3, 5)))
    agent._reset_envs()
    agent.collect_rollout()
    agent.compute_advantages()
    seen = []
    original = agent.policy.evaluate

    def spy(obs, actions, with_entropy=True):
        if torch.is_grad_enabled():  # the loss; not the no-grad diagnostics
            seen.append(obs.clone())
        return original(obs, actions, with_entropy)

    monkeypatch.setattr(agent.policy, "evaluate", spy)
    agent.update()
    per_epoch = sum(len(x) for x in seen) // agent.config.update_epochs
    assert per_epoch == int(agent.valid.sum())
    if mode is AutoresetMode.NEXT_STEP:
        # A dummy step acts in a final observation [L, i]; none may reach the loss.
        finals = {(2, 0), (3, 1), (5, 2)}
        assert not any((int(k), int(i)) in finals for x in seen for k, i in x.tolist())


# -- intrinsic value head -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_intrinsic_terms_get_their_own_non_episodic_value_head(countdown_vec, mode):
    bonus = FunctionTerm(lambda b: np.full(b.num_envs, 0.5, np.float32), "bonus", intrinsic=True)
    penalty = StepPenalty(-0.1)
    envs = ShapedVectorEnv(countdown_vec(mode, (2, 3, 5)), [bonus, penalty])
    cfg = tiny(normalize_intrinsic=False, int_gamma=0.8, ext_coef=2.0, int_coef=0.5)
    agent = PPO(cfg, envs)
    assert agent.intrinsic and agent.policy.num_value_heads == 2
    agent._reset_envs()
    agent.collect_rollout()
    agent.compute_advantages()
    valid = agent.valid
    obs = agent.obs.numpy()
    # Extrinsic reward = env reward (k + 1) + step penalty, on real steps; 0 on dummy steps.
    expected_ext = np.where(valid, obs[..., 0] + 1 - 0.1, 0.0)
    np.testing.assert_allclose(agent.ext_rewards, expected_ext, rtol=1e-6)
    np.testing.assert_allclose(agent.int_rewards, np.where(valid, 0.5, 0.0))
    # The intrinsic trace runs through episode ends (non-episodic): lambda = 1 makes it the
    # discounted sum over the real steps to the rollout's end plus the bootstrap. NEXT_STEP's
    # dummy steps are not steps of it (the same returns as SAME_STEP), so only real steps are
    # compared (a dummy's own advantage is never used).
    v_int = agent.values[..., 1].numpy()
    last = values_of(agent, agent._next_obs, head=1)
    t_max = cfg.num_steps
    returns_int = np.zeros_like(v_int)
    acc = last
    for t in reversed(range(t_max)):
        acc = np.where(valid[t], agent.int_rewards[t] + 0.8 * acc, acc)
        returns_int[t] = acc
    adv_int = returns_int - v_int
    got = agent.returns[..., 1].numpy()
    np.testing.assert_allclose(got[valid], returns_int[valid], rtol=1e-4, atol=1e-4)
    adv_ext = agent.returns[..., 0].numpy() - agent.values[..., 0].numpy()
    np.testing.assert_allclose(
        agent.advantages.numpy()[valid],
        (2.0 * adv_ext + 0.5 * adv_int)[valid],
        rtol=1e-4,
        atol=1e-4,
    )
    agent.update()


# -- learned terms ------------------------------------------------------------------------------
class Recorder(RewardTerm):
    name = "recorder"

    def __init__(self):
        super().__init__()
        self.rollouts = []

    def __call__(self, batch):
        return np.zeros(batch.num_envs, np.float32)

    def update(self, rollout):
        self.rollouts.append(rollout)
        return {"calls": float(len(self.rollouts))}


@pytest.mark.parametrize("mode", MODES)
def test_learned_terms_get_the_rollout_with_true_next_obs(countdown_vec, mode):
    rec = Recorder()
    agent = PPO(tiny(), ShapedVectorEnv(countdown_vec(mode, (2, 3, 5)), rec))
    agent.learn(max_iterations=2)
    assert len(rec.rollouts) == 2 and agent.last_stats["term/recorder/calls"] == 2.0
    r = rec.rollouts[-1]
    assert r.obs.device == agent.device
    obs, nxt, valid = r.obs.numpy(), r.next_obs.numpy(), r.valid.numpy()
    # For every real transition, s' = [k + 1, i] whether or not the episode ended there.
    np.testing.assert_array_equal(nxt[valid][:, 0], obs[valid][:, 0] + 1)
    np.testing.assert_array_equal(nxt[valid][:, 1], obs[valid][:, 1])


# -- relabelling hooks --------------------------------------------------------------------------
class RewardToGo:
    """A toy redistribution: every step of a finished episode gets the episode's return."""

    def __init__(self):
        self.calls = []

    def __call__(self, episodes):
        self.calls.append(episodes)
        for ep in episodes:
            if ep.finished:
                ep.rewards = np.full(len(ep), ep.rewards.sum(), np.float32)


@pytest.mark.parametrize("mode", MODES)
def test_hook_rewrites_finished_episodes_before_advantages(countdown_vec, mode):
    hook = RewardToGo()
    agent = PPO(tiny(num_steps=7), countdown_vec(mode, (2, 3, 5)), hooks=[hook])
    agent._reset_envs()
    for _ in range(2):
        agent.collect_rollout()
        agent.relabel()
        agent.compute_advantages()
    episodes = hook.calls[-1]
    for ep in episodes:
        # Episodes carried over from the previous rollout arrive whole: obs [0, 1, ..., L-1].
        np.testing.assert_array_equal(ep.obs[:, 0], np.arange(len(ep)))
        assert ep.in_rollout <= len(ep)
        if ep.finished:
            length = (2, 3, 5)[ep.env_index]
            assert len(ep) == length and ep.terminated
            np.testing.assert_array_equal(ep.final_obs, [length, ep.env_index])
    # The rewritten rewards are what GAE used: every finished step pays its episode's return.
    obs = agent.obs.numpy()
    done = (agent.terminated | agent.truncated) & agent.valid
    for i, length in enumerate((2, 3, 5)):
        ends = np.flatnonzero(done[:, i])
        if len(ends):
            t = ends[-1]
            assert agent.ext_rewards[t, i] == sum(range(1, length + 1))
            assert int(obs[t, i, 0]) == length - 1
    assert any(ep.finished and ep.in_rollout < len(ep) for ep in episodes)


def test_hook_must_keep_episode_length(countdown_vec):
    def bad(episodes):
        for ep in episodes:
            ep.rewards = np.zeros(len(ep) + 1)

    agent = PPO(tiny(), countdown_vec(AutoresetMode.NEXT_STEP), hooks=[bad])
    with pytest.raises(ValueError, match="one reward per step"):
        agent.learn(max_iterations=1)


# -- logging ------------------------------------------------------------------------------------
def test_logs_episodes_terms_and_progress_to_csv(tmp_path):
    cfg = tiny(env_id="CartPole-v1", num_envs=2, log_dir=str(tmp_path), tensorboard=False)
    agent = PPO(cfg, terms=StepPenalty(-0.01))
    agent.learn(max_iterations=3)
    with open(tmp_path / "episodes.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and set(rows[0]) >= {"global_step", "return", "length", "term/step_penalty"}
    for row in rows:
        assert float(row["term/step_penalty"]) == pytest.approx(-0.01 * int(row["length"]))
        assert float(row["return"]) == int(row["length"])  # CartPole pays 1 per step
    with open(tmp_path / "progress.csv") as f:
        progress = list(csv.DictReader(f))
    assert len(progress) == 3 and "loss/policy" in progress[0] and "time/sps" in progress[0]


def test_tensorboard_events_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    cfg = tiny(env_id="CartPole-v1", num_envs=2, log_dir=str(tmp_path))
    PPO(cfg).learn(max_iterations=1)
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


# -- exact resume -------------------------------------------------------------------------------
def same_state(a: PPO, b: PPO) -> None:
    for (name, x), y in zip(
        a.policy.state_dict().items(), b.policy.state_dict().values(), strict=True
    ):
        assert torch.equal(x, y), name
    sa, sb = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    for k in sa:
        for key in sa[k]:
            assert torch.equal(sa[k][key], sb[k][key]), key
    assert torch.equal(a.generator.get_state(), b.generator.get_state())
    assert a.global_step == b.global_step and a.iteration == b.iteration


class CellCount(RewardTerm):
    """A stateful intrinsic term: 1/sqrt(visits) of the gridworld cell reached."""

    name = "cell_count"
    intrinsic = True

    def __init__(self):
        super().__init__()
        self.counts = np.zeros(64, np.int64)

    def __call__(self, batch):
        cells = np.argmax(batch.next_obs[:, :36], axis=1)
        np.add.at(self.counts, cells[batch.active], 1)
        return 1.0 / np.sqrt(np.maximum(self.counts[cells], 1))

    def state_dict(self):
        return {"counts": self.counts.copy()}

    def load_state_dict(self, state):
        self.counts[:] = state["counts"]


@pytest.mark.parametrize(
    "env_id,vectorization",
    [("CartPole-v1", "sync"), ("rewardshaping/KeyDoor-Easy-v0", "vector_entry_point")],
)
def test_stopped_and_resumed_run_equals_uninterrupted_run(tmp_path, env_id, vectorization):
    cfg = tiny(
        env_id=env_id,
        vectorization=vectorization,
        num_envs=3,
        normalize_obs=True,
        normalize_reward=True,
        total_timesteps=3 * 16 * 4,
    )
    gridworld = env_id.startswith("rewardshaping/")

    def terms():  # the gridworld run also has a stateful intrinsic term (two value heads)
        return [StepPenalty(-0.01), *([CellCount()] if gridworld else [])]

    full = PPO(cfg, terms=terms()).learn()
    first = PPO(cfg, terms=terms()).learn(max_iterations=2)
    path = first.save(tmp_path / "ckpt.pt")
    resumed = PPO.load(path, terms=terms())
    assert resumed.intrinsic == gridworld
    assert resumed.iteration == 2
    resumed.learn()
    same_state(full, resumed)
    assert torch.equal(full.obs_rms.mean, resumed.obs_rms.mean)
    if gridworld:
        np.testing.assert_array_equal(
            full.pipeline.terms[1].counts, resumed.pipeline.terms[1].counts
        )
    assert full.episodes.total_episodes == resumed.episodes.total_episodes


def test_resume_warns_when_env_state_cannot_be_saved(tmp_path):
    cfg = tiny(env_id="CartPole-v1", num_envs=2, vectorization="async")
    agent = PPO(cfg).learn(max_iterations=1)
    try:
        with pytest.warns(RuntimeWarning, match="cannot be saved"):
            agent.save(tmp_path / "c.pt")
    finally:
        agent.envs.close()


# -- devices and errors -------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_keeps_everything_on_the_gpu():
    agent = PPO(tiny(env_id="rewardshaping/KeyDoor-Easy-v0", num_envs=8, device="cuda"))
    agent.learn(max_iterations=2)
    for t in (agent.obs, agent.actions, agent.values, agent.advantages, agent.flat_params):
        assert t.device.type == "cuda"
    assert agent.predict(agent._next_obs).shape == (8,)


def test_bad_config_and_unsupported_spaces_fail_clearly():
    with pytest.raises(ValueError, match="num_minibatches"):
        PPOConfig(num_minibatches=0).validate()
    with pytest.raises(ValueError, match="unknown PPO config key"):
        PPOConfig.from_dict({"learning_rat": 1e-3})
    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make("Blackjack-v1")], autoreset_mode=AutoresetMode.NEXT_STEP
    )
    with pytest.raises(TypeError, match="Box or Discrete"):
        PPO(tiny(), envs)


def test_continuous_actions_are_clipped_for_the_env():
    agent = PPO(tiny(env_id="Pendulum-v1", num_envs=2))
    agent.learn(max_iterations=1)
    assert agent.continuous and agent.actions.dtype == torch.float32
    a = agent.predict(np.zeros((5, 3), np.float32), deterministic=False)
    assert a.shape == (5, 1) and (np.abs(a) <= 2.0).all()


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("CartPole-v1", {}),
        ("Pendulum-v1", {}),
        ("MiniGrid-DoorKey-5x5-v0", {}),  # the MiniGrid CNN, 7x7 views: 1x1 after the convs
        ("rewardshaping/KeyDoor-v0", {"env_kwargs": {"size": 10, "obs_mode": "image"}}),  # 2x2
    ],
)
def test_torch_and_numpy_rollouts_agree(env_id, kwargs):
    """The rollout acts in NumPy on CPU and in torch elsewhere (GPU): same actions, same
    log-probabilities and values up to float32 rounding."""
    runs = []
    for numpy_rollout in (True, False):
        agent = PPO(tiny(env_id=env_id, num_envs=2, numpy_rollout=numpy_rollout, **kwargs))
        assert (agent._np_policy is not None) == numpy_rollout
        agent._reset_envs()
        agent.collect_rollout()
        runs.append(agent)
    a, b = runs
    torch.testing.assert_close(a.actions, b.actions, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(a.logprobs, b.logprobs, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(a.values, b.values, rtol=1e-4, atol=1e-5)


def test_direct_fused_adam_step_is_bit_identical_to_optimizer_step(monkeypatch):
    import rewardshaping.agents.ppo as ppo_module

    def train(fast: bool) -> torch.Tensor:
        if not fast:
            monkeypatch.setattr(ppo_module, "_adam_step", lambda opt, flat: opt.step())
        else:
            monkeypatch.undo()
        cfg = PPOConfig(env_id="CartPole-v1", num_envs=4, num_steps=32, num_minibatches=4,
                        update_epochs=3, seed=3, tensorboard=False)  # fmt: skip
        agent = PPO(cfg).learn(max_iterations=3)
        agent.envs.close()
        return agent.flat_params.detach().clone()

    slow, fast = train(False), train(True)
    assert torch.equal(slow, fast)

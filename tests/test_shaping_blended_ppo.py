"""BlendedPPO: heuristics are reported not paid, advantages blend linearly, the meta-gradient
raises an aligned heuristic and lowers a misleading one, bad heuristics fail by name, exact
save/restore, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rewardshaping import StepPenalty
from rewardshaping.agents.blended_ppo import BlendConfig, BlendedPPO, HeuristicRecorder
from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.envs.gridworld import KeyDoorVectorEnv
from rewardshaping.pipeline import RewardTermError
from rewardshaping.shaping import AdditiveHeuristic, GoalDistancePotential, PotentialShaping


def cfg(**kw) -> PPOConfig:
    base = dict(
        env_id="rewardshaping/KeyDoor-Easy-v0",
        env_kwargs={"size": 5, "obs_mode": "image"},
        encoder="mlp",
        num_envs=8,
        num_steps=32,
        num_minibatches=2,
        update_epochs=2,
        hidden_sizes=(32, 32),
        learning_rate=1e-3,
        total_timesteps=100_000,
        device="cpu",
        seed=0,
        tensorboard=False,
    )
    base.update(kw)
    return PPOConfig(**base)


def ones(batch):
    return np.ones(batch.num_envs, np.float32)


def test_heuristics_are_reported_not_paid_and_recorded():
    agent = BlendedPPO(cfg(), heuristics={"one": ones}, terms=StepPenalty(-0.01))
    agent._reset_envs()
    agent.collect_rollout()
    h = agent.heuristic_rewards[..., 0].numpy()
    valid = agent.valid
    assert (h[valid] == 1.0).all() and (h[~valid] == 0.0).all()  # 0 on dummy reset steps
    # PPO's reward is the env reward plus the paid term only (the env pays 0 except at goals).
    ext = agent.ext_rewards[valid]
    assert np.all((np.isclose(ext, -0.01)) | (ext > 0.5))


def test_blended_advantages_are_primary_plus_weighted_heuristic_advantages():
    def varied(batch):  # a heuristic whose advantages are not all equal
        return np.arange(batch.num_envs, dtype=np.float32)

    raw = BlendConfig(w_init=0.7, learn_weights=False, relative_scale=False)
    agent = BlendedPPO(cfg(), heuristics={"h": varied}, blend=raw)
    agent._reset_envs()
    agent.collect_rollout()
    agent.compute_advantages()
    primary = agent.returns[..., 0] - agent.values[..., 0]
    torch.testing.assert_close(agent.advantages, primary + 0.7 * agent.heuristic_adv[..., 0])
    # Relative scale (the default): A_k is first rescaled to the spread of PPO's own advantage.
    rel = BlendConfig(w_init=0.7, learn_weights=False)
    agent = BlendedPPO(cfg(), heuristics={"h": varied}, blend=rel)
    agent._reset_envs()
    agent.collect_rollout()
    agent.compute_advantages()
    primary = agent.returns[..., 0] - agent.values[..., 0]
    valid = agent.valid_device
    a_k = agent.heuristic_adv[..., 0]
    expected = primary + 0.7 * a_k * primary[valid].std() / a_k[valid].std()
    torch.testing.assert_close(agent.advantages, expected)


def test_zero_heuristic_first_update_equals_plain_ppo():
    zero = AdditiveHeuristic(lambda b: np.zeros(b.num_envs, np.float32), name="zero")
    blended = BlendedPPO(cfg(), heuristics=[zero]).learn(max_iterations=1)
    plain = PPO(cfg()).learn(max_iterations=1)
    torch.testing.assert_close(blended.flat_params.detach(), plain.flat_params.detach())


def goal_pbrs(name: str, sign: float = 1.0, gamma: float = 0.99):
    return PotentialShaping(GoalDistancePotential(scale=sign * 0.2), gamma=gamma, name=name)


def test_aligned_weight_rises_and_misleading_weight_falls():
    aligned = goal_pbrs("aligned")
    misleading = goal_pbrs("misleading", sign=-1.0)  # the negated potential: away from the goal
    agent = BlendedPPO(
        cfg(num_envs=16),
        heuristics=[aligned, misleading],
        blend=BlendConfig(w_init=0.5, w_max=1.0, meta_lr=100.0),
    )
    agent.learn(max_iterations=20)
    w = agent.heuristic_weights()
    assert w["aligned"] > 0.6 and w["misleading"] < 0.4, w


def test_state_dependent_weights_learn_and_differ_by_state():
    agent = BlendedPPO(
        cfg(num_envs=16),
        heuristics=[goal_pbrs("aligned"), goal_pbrs("misleading", sign=-1.0)],
        blend=BlendConfig(w_init=0.5, w_max=1.0, meta_lr=2.0, state_dependent=True),
    )
    agent.learn(max_iterations=12)
    obs = agent._normalize(agent.obs.flatten(0, 1))
    with torch.no_grad():
        w = agent.blend_weights(obs)
    assert float(w[:, 0].mean()) > float(w[:, 1].mean())
    assert float(w.std(0).max()) > 0  # a head that depends on the state


def test_bad_heuristics_fail_naming_the_heuristic():
    wrong = AdditiveHeuristic(lambda b: np.zeros(b.num_envs + 1), name="too_long")
    with pytest.raises(RewardTermError, match="too_long"):
        BlendedPPO(cfg(), heuristics=[wrong]).learn(max_iterations=1)
    nan = AdditiveHeuristic(lambda b: np.full(b.num_envs, np.nan), name="nan_maker")
    with pytest.raises(RewardTermError, match="nan_maker"):
        BlendedPPO(cfg(), heuristics=[nan]).learn(max_iterations=1)
    with pytest.raises(ValueError, match="at least one heuristic"):
        BlendedPPO(cfg(), heuristics=[])
    bonus = AdditiveHeuristic(ones, name="bonus")
    bonus.intrinsic = True
    with pytest.raises(ValueError, match="'bonus' is intrinsic"):
        BlendedPPO(cfg(), heuristics=[bonus])
    from rewardshaping import ShapedVectorEnv

    shaped = ShapedVectorEnv(KeyDoorVectorEnv(2, size=5, difficulty="easy"), StepPenalty())
    with pytest.raises(ValueError, match="unshaped vector env"):
        BlendedPPO(cfg(num_envs=2), shaped, heuristics={"one": ones})
    with pytest.raises(ValueError, match="w_init"):
        BlendedPPO(cfg(), heuristics={"one": ones}, blend=BlendConfig(w_init=3.0, w_max=2.0))


def test_save_restore_continues_exactly(tmp_path):
    heur = lambda: [goal_pbrs("aligned")]  # noqa: E731 - fresh term state per agent
    blend = BlendConfig(w_init=0.5, w_max=1.0, meta_lr=100.0)
    full = BlendedPPO(cfg(), heuristics=heur(), blend=blend).learn(max_iterations=4)
    part = BlendedPPO(cfg(), heuristics=heur(), blend=blend).learn(max_iterations=2)
    path = part.save(tmp_path / "ckpt.pt")
    resumed = BlendedPPO.load(path, heuristics=heur())
    assert resumed.heuristic_weights() == part.heuristic_weights()
    assert resumed.blend_config == blend
    resumed.learn(max_iterations=2)
    torch.testing.assert_close(resumed.flat_params.detach(), full.flat_params.detach())
    assert resumed.heuristic_weights() == full.heuristic_weights()
    with pytest.raises(ValueError, match="blends heuristics"):
        BlendedPPO.load(path, heuristics=[goal_pbrs("other")])


def test_recorder_take_shapes():
    rec = HeuristicRecorder(
        __import__("rewardshaping").ShapedVectorEnv(
            KeyDoorVectorEnv(3, size=5, difficulty="easy"), {"a": ones, "b": ones}
        ),
        ["b", "a"],
    )
    rec.reset(seed=0)
    assert rec.take().shape == (0, 3, 2)
    rec.step(np.zeros(3, np.int64))
    assert rec.take().shape == (1, 3, 2)


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        pytest.param(
            "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
        ),
    ],
)
def test_device_is_respected(device):
    agent = BlendedPPO(cfg(device=device), heuristics=[goal_pbrs("aligned")]).learn(
        max_iterations=1
    )
    assert all(p.device.type == device for p in agent.blend_weights.parameters())
    assert all(p.device.type == device for p in agent.heuristic_critic.parameters())
    assert agent.heuristic_adv.device.type == device


def test_no_evidence_decay_lowers_weights_only_after_rollouts_without_primary_reward():
    # A 1-step horizon: episodes truncate before any goal, so no rollout holds primary reward.
    never = cfg(env_kwargs={"size": 5, "obs_mode": "image", "max_episode_steps": 1})
    blend = BlendConfig(w_init=0.5, w_max=1.0, no_evidence_decay=0.5)
    agent = BlendedPPO(never, heuristics={"one": ones}, blend=blend).learn(max_iterations=2)
    assert agent.heuristic_weights()["one"] == pytest.approx(1 / (1 + np.exp(1.0)), rel=1e-5)
    off = BlendedPPO(never, heuristics={"one": ones}, blend=BlendConfig(w_init=0.5, w_max=1.0))
    assert off.learn(max_iterations=2).heuristic_weights()["one"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no_evidence_decay"):
        BlendConfig(no_evidence_decay=-1.0)
    # With a floor the fading stops at fade_floor * w_max, where a meta step can still act.
    floored = BlendConfig(w_init=0.5, w_max=1.0, no_evidence_decay=5.0, fade_floor=0.01)
    agent = BlendedPPO(never, heuristics={"one": ones}, blend=floored).learn(max_iterations=3)
    assert agent.heuristic_weights()["one"] == pytest.approx(0.01, rel=1e-4)
    with pytest.raises(ValueError, match="fade_floor"):
        BlendConfig(fade_floor=1.0)


def test_policy_restarts_once_when_every_weight_has_faded():
    never = cfg(env_kwargs={"size": 5, "obs_mode": "image", "max_episode_steps": 1})
    blend = BlendConfig(w_init=0.5, w_max=1.0, no_evidence_decay=1.0, reset_policy_below=0.3)
    agent = BlendedPPO(never, heuristics={"one": ones}, blend=blend)
    initial = agent.flat_params.detach().clone()
    agent.learn(max_iterations=1)  # w = sigmoid(-1) = 0.27 < 0.3: restart before the update
    assert agent.policy_was_reset
    agent._reset_policy()
    restarted = agent.flat_params.detach().clone()
    assert not torch.equal(restarted, initial)  # fresh weights, not the seed's first ones
    assert agent.flat_params not in agent.optimizer.state  # a fresh Adam
    again = BlendedPPO(never, heuristics={"one": ones}, blend=blend)
    again._reset_policy()
    torch.testing.assert_close(again.flat_params.detach(), restarted)  # seeded
    # Restarted weights are initialised like the first: same per-layer spread.
    assert abs(float(restarted.std()) - float(initial.std())) < 0.5 * float(initial.std())
    agent.learn(max_iterations=1)  # and it trains on from there
    assert agent.policy_was_reset


def test_blended_ppo_evaluates_on_a_fresh_copy_of_its_envs():
    # BlendedPPO wraps its envs in a HeuristicRecorder; evaluation leaves that wrapper out.
    agent = BlendedPPO(cfg(), heuristics={"one": ones})
    assert len(agent.evaluate(num_episodes=2).returns) == 2

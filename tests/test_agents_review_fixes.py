"""Regression tests for the agents' review fixes: DQN resumes exactly (term states, weight
schedules, episode tracker, env state); ``train --resume`` refuses changed settings and a fresh
start replaces a failed attempt's logs; config values are checked against their field types;
``evaluate`` copies the envs the agent was given; loading other reward terms fails clearly."""

from __future__ import annotations

import csv
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from gymnasium.vector import AutoresetMode

from rewardshaping import RewardPipeline, ShapedVectorEnv, StepPenalty
from rewardshaping.agents.config_files import config_from_dict
from rewardshaping.agents.dqn import DQN, DQNConfig
from rewardshaping.agents.evaluation import fresh_env_copy
from rewardshaping.agents.ppo import PPO, PPOConfig
from rewardshaping.cli import main
from rewardshaping.envs.office import office_machine
from rewardshaping.machines.product_vector import RewardMachineVectorEnv
from rewardshaping.registry import make_term

FAST = ["--no-progress", "--device", "cpu", "--eval-episodes", "0", "--set", "num_steps=32",
        "--set", "tensorboard=false"]  # fmt: skip


def dqn_config(**kw) -> DQNConfig:
    base = dict(
        num_envs=2, total_timesteps=300, learning_starts=100, train_frequency=4,
        target_network_frequency=50, batch_size=16, hidden_sizes=(16,), device="cpu", seed=3,
        tensorboard=False,
    )  # fmt: skip
    base.update(kw)
    return DQNConfig(**base)


def count_bonus():
    return [make_term({"type": "count_bonus", "beta": 0.1})]


def steps_in(path) -> list[int]:
    with open(path) as f:
        return [int(float(r["global_step"])) for r in csv.DictReader(f)]


# -- 1. DQN checkpoints ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "env_id,vectorization",
    [("CartPole-v1", "sync"), ("rewardshaping/KeyDoor-Easy-v0", "vector_entry_point")],
)
def test_dqn_stopped_and_resumed_run_equals_uninterrupted_run(tmp_path, env_id, vectorization):
    cfg = dqn_config(env_id=env_id, vectorization=vectorization)
    full = DQN(cfg, terms=count_bonus()).learn(log_every=100)
    first = DQN(cfg, terms=count_bonus()).learn(
        log_every=100, callback=lambda agent, stats: agent.global_step < 150
    )
    assert first.global_step == 200
    resumed = DQN.load(first.save(tmp_path / "dqn.pt"), terms=count_bonus())
    # What the old checkpoint dropped: count tables, the pipeline's step, the episode tracker.
    pipe, saved = resumed.shaped.pipeline, first.shaped.pipeline
    assert pipe.global_step == saved.global_step > 0
    assert len(pipe.terms[0].counter) == len(saved.terms[0].counter) > 0
    assert resumed.episodes.total_episodes == first.episodes.total_episodes
    resumed.learn(log_every=100)
    for a, b in zip(full.q_network.parameters(), resumed.q_network.parameters(), strict=True):
        assert torch.equal(a, b)
    assert full.updates == resumed.updates
    assert full.episodes.total_episodes == resumed.episodes.total_episodes
    assert full.shaped.pipeline.global_step == resumed.shaped.pipeline.global_step


def test_dqn_resume_without_env_state_starts_new_episodes_not_the_first_ones(tmp_path):
    # CartPole's own batched env keeps its state where a checkpoint cannot capture it.
    cfg = dqn_config(env_id="CartPole-v1", vectorization="vector_entry_point", total_timesteps=60)
    agent = DQN(cfg, terms=[StepPenalty(-0.5)]).learn()
    with pytest.warns(RuntimeWarning, match="cannot be saved"):
        path = agent.save(tmp_path / "dqn.pt")
    back = DQN.load(path, terms=[StepPenalty(-0.5)])
    first_obs, _ = DQN(cfg, terms=[StepPenalty(-0.5)]).envs.reset(seed=cfg.seed)
    assert back._obs is not None and not np.array_equal(back._obs, first_obs)
    assert back.shaped.pipeline.global_step == agent.shaped.pipeline.global_step
    assert back.episodes.total_episodes == agent.episodes.total_episodes
    assert (back.episodes.lengths == 0).all()
    back.learn(total_timesteps=100)
    assert back.global_step == 100


# -- 2. train --resume ------------------------------------------------------------------------------
def test_resume_refuses_changed_settings_and_records_none(tmp_path, capsys):
    first = ["train", "CartPole-v1", "--total-timesteps", "64", "--num-envs", "2",
             "--log-dir", str(tmp_path), *FAST]  # fmt: skip
    assert main(first) == 0
    before = (tmp_path / "run.yaml").read_text()
    capsys.readouterr()
    resume = ["train", "--resume", str(tmp_path), "--total-timesteps", "128", *FAST]
    assert main([*resume, "--set", "learning_rate=0.05", "--set", "ent_coef=0.5"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate: 0.00025 -> 0.05" in err and "ent_coef: 0.01 -> 0.5" in err
    assert main([*resume, "--term", "step_penalty"]) == 2
    assert "terms: [] -> ['step_penalty']" in capsys.readouterr().err
    assert (tmp_path / "run.yaml").read_text() == before  # nothing recorded
    assert main(resume) == 0  # the budget may change
    run = yaml.safe_load((tmp_path / "run.yaml").read_text())
    assert run["total_timesteps"] == 128 and run["learning_rate"] == 0.00025


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_fresh_start_replaces_the_logs_of_a_failed_attempt(tmp_path, algo):
    opts = ["--no-progress", "--device", "cpu", "--eval-episodes", "0", "--set",
            "tensorboard=false", "--total-timesteps", "128"]  # fmt: skip
    opts += ["--set", "num_steps=32"] if algo == "ppo" else ["--set", "learning_starts=64"]
    first = ["train", "CartPole-v1", "--algo", algo, "--num-envs", "2", "--log-dir", str(tmp_path)]
    assert main([*first, *opts]) == 0
    # As if killed before its first checkpoint: logs written, no checkpoint.
    (tmp_path / "checkpoint.pt").unlink()
    assert steps_in(tmp_path / "progress.csv")
    assert main(["train", "--resume", str(tmp_path), *opts]) == 0
    for name in ("progress.csv", "episodes.csv"):
        steps = steps_in(tmp_path / name)
        assert steps and steps == sorted(steps), name  # one attempt, not two
    progress = steps_in(tmp_path / "progress.csv")
    assert len(progress) == len(set(progress))


# -- 3. config value types ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls,values,field",
    [
        (PPOConfig, {"normalize_obs": "false"}, "normalize_obs"),
        (PPOConfig, {"num_envs": 2.5}, "num_envs"),
        (PPOConfig, {"seed": True}, "seed"),
        (PPOConfig, {"learning_rate": "fast"}, "learning_rate"),
        (PPOConfig, {"hidden_sizes": [64, 0.5]}, "hidden_sizes"),
        (PPOConfig, {"env_kwargs": [1, 2]}, "env_kwargs"),
        (PPOConfig, {"target_kl": "x"}, "target_kl"),
        (DQNConfig, {"double_q": 1}, "double_q"),
        (DQNConfig, {"gamma": None}, "gamma"),
    ],
)
def test_config_values_of_the_wrong_type_are_refused_naming_the_field(cls, values, field):
    with pytest.raises(ValueError, match=rf"{cls.__name__}\.{field}"):
        config_from_dict(cls, values)


def test_config_numbers_are_coerced_from_their_field_types():
    c = DQNConfig.from_dict(
        {"gamma": "0.99", "learning_rate": "1e-3", "total_timesteps": "1e3", "num_envs": 2.0,
         "max_grad_norm": 10, "hidden_sizes": 32, "torch_threads": None}
    )  # fmt: skip
    assert (c.gamma, c.learning_rate, c.total_timesteps, c.num_envs) == (0.99, 1e-3, 1000, 2)
    assert type(c.total_timesteps) is int and type(c.max_grad_norm) is float
    assert c.hidden_sizes == (32,) and c.torch_threads is None
    # A string gamma used to be accepted, and to fail inside training.
    values = {"gamma": "0.99", "total_timesteps": 120, "learning_starts": 100, "device": "cpu",
              "hidden_sizes": [16], "batch_size": 8}  # fmt: skip
    assert DQN(DQNConfig.from_dict(values)).learn().updates > 0


def test_yaml_config_with_exponent_floats_trains(tmp_path, capsys):
    path = tmp_path / "run.yaml"  # YAML 1.1 reads 1e-3 as the string '1e-3'
    path.write_text("env_id: CartPole-v1\nlearning_rate: 1e-3\nnum_envs: 2\n")
    args = ["train", "--config", str(path), "--total-timesteps", "64", "--log-dir",
            str(tmp_path / "run"), *FAST]  # fmt: skip
    assert main(args) == 0
    assert yaml.safe_load((tmp_path / "run" / "run.yaml").read_text())["learning_rate"] == 1e-3


# -- 4. evaluate on copies of the training env -------------------------------------------------------
@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_evaluate_runs_on_a_fresh_copy_of_the_given_envs(algo):
    short = gym.make_vec("CartPole-v1", 2, vectorization_mode="sync", max_episode_steps=10)
    acrobot = gym.make_vec("Acrobot-v1", 2, vectorization_mode="sync", max_episode_steps=20)
    for envs, limit in ((short, 10), (acrobot, 20)):
        if algo == "ppo":
            agent = PPO(PPOConfig(num_envs=2, num_steps=16, total_timesteps=32, device="cpu"), envs)
        else:
            agent = DQN(dqn_config(total_timesteps=40, learning_starts=20), envs)
        agent.learn()
        result = agent.evaluate(4)  # Acrobot: used to build CartPole, the config's env_id
        assert len(result.lengths) == 4 and (result.lengths <= limit).all()
        assert not agent.envs.closed  # the training envs are untouched


def test_fresh_env_copy_keeps_env_fns_and_refuses_what_it_cannot_copy(countdown_vec):
    train = countdown_vec(AutoresetMode.SAME_STEP, (2, 3, 5))
    ev = fresh_env_copy(train, 2)
    assert ev.num_envs == 2 and ev.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert all(e is not t for e in ev.envs for t in train.envs)
    normalized = gym.wrappers.vector.NormalizeObservation(
        gym.make_vec("CartPole-v1", 2, vectorization_mode="sync")
    )
    agent = PPO(PPOConfig(num_envs=2, num_steps=16, total_timesteps=32, device="cpu"), normalized)
    with pytest.raises(ValueError, match="NormalizeObservation.*envs="):
        agent.evaluate(2)
    assert len(agent.evaluate(2, envs=normalized).returns) == 2
    # Wrappers that record their constructor arguments are re-made around the copy.
    office = gym.make_vec("rewardshaping/OfficeWorld-v0", 3, vectorization_mode="sync")
    rm = ShapedVectorEnv(RewardMachineVectorEnv(office, office_machine(4)), StepPenalty())
    ev = fresh_env_copy(rm, 2)
    assert type(ev) is RewardMachineVectorEnv and ev.num_envs == 2
    assert ev.single_observation_space == rm.single_observation_space
    shared = gym.make("CartPole-v1")  # env fns that hand out the same object: no copy
    with pytest.raises(ValueError, match="env_fns"):
        fresh_env_copy(gym.vector.SyncVectorEnv([lambda: shared]), 1)


# -- 5. loading other reward terms ------------------------------------------------------------------
def test_pipeline_refuses_the_state_of_other_terms_and_changes_nothing():
    saved = RewardPipeline([StepPenalty(-1.0, name="a"), StepPenalty(-2.0, name="b")], 2)
    saved.step(np.zeros(2), np.zeros(2), np.zeros(2), np.ones(2), np.zeros(2, bool),
               np.zeros(2, bool))  # fmt: skip
    state = saved.state_dict()
    for terms in ([StepPenalty(name="a"), StepPenalty(name="c")], [StepPenalty(name="a")]):
        other = RewardPipeline(terms, 2)
        with pytest.raises(ValueError, match=r"saved reward terms are \['a', 'b'\], these are"):
            other.load_state_dict(state)
        assert other.global_step == 0 and (other._ep_terms == 0).all()
    with pytest.raises(ValueError, match="for 2 envs, this pipeline has 3"):
        RewardPipeline([StepPenalty(name="a"), StepPenalty(name="b")], 3).load_state_dict(state)


def test_ppo_load_with_other_terms_fails_clearly(tmp_path):
    cfg = PPOConfig(env_id="rewardshaping/KeyDoor-Easy-v0", num_envs=2, num_steps=16,
                    total_timesteps=32, device="cpu")  # fmt: skip
    agent = PPO(cfg, terms=[*count_bonus(), make_term("step_penalty")]).learn()
    path = agent.save(tmp_path / "c.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            ValueError, match=r"\['count_bonus', 'step_penalty'\].*\['count_bonus'\]"
        ):
            PPO.load(path, terms=count_bonus())


def test_small_grid_images_get_the_mlp_and_the_cnn_says_why_not():
    from gymnasium import spaces

    from rewardshaping.agents.networks import ActorCritic, MiniGridCNN, obs_encoder_kind

    for side in (5, 6):
        space = spaces.Box(0, 255, (side, side, 3), np.uint8)
        assert obs_encoder_kind(space) == "mlp"
        ActorCritic(space, spaces.Discrete(3))  # builds (the CNN used to crash here)
        with pytest.raises(ValueError, match="at least 7x7"):
            MiniGridCNN((side, side, 3))
    assert obs_encoder_kind(spaces.Box(0, 255, (7, 7, 3), np.uint8)) == "cnn"

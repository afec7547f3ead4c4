"""Benchmark runner fixes: SB3 image-observation checkpoints, exact SB3 DQN resume, evaluation
that leaves every RNG alone, toolkit env settings that take effect, suites validated on load,
checksummed checkpoints."""

import pickle
import random

import numpy as np
import pytest
import torch

from rewardshaping.bench import parse_suite
from rewardshaping.bench.runner import _eval_seed, run_one
from rewardshaping.bench.store import RunFolder
from rewardshaping.bench.trainers import make_trainer
from rewardshaping.registry import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore")

MINIGRID = {
    "id": "MiniGrid-Empty-5x5-v0",
    "name": "empty5",
    "wrappers": ["minigrid_fully_obs", "minigrid_image"],
}
CARTPOLE = {"id": "CartPole-v1", "name": "cartpole"}
SB3_PPO = {
    "backend": "sb3",
    "algo": "PPO",
    "n_envs": 2,
    "kwargs": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
}
SB3_DQN = {
    "backend": "sb3",
    "algo": "DQN",
    "n_envs": 1,
    "kwargs": {
        "learning_starts": 40,
        "train_freq": 4,
        "target_update_interval": 30,
        "buffer_size": 500,
        "batch_size": 16,
        "exploration_fraction": 0.5,
    },
}


def run_spec(agent, env=CARTPOLE, terms=(), budget=256, every=128, episodes=2):
    suite = parse_suite(
        {
            "name": "t",
            "budget": budget,
            "eval": {"every": every, "episodes": episodes},
            "seeds": [0],
            "envs": [env],
            "methods": [{"name": "m", "agent": agent, "terms": list(terms)}],
        }
    )
    return suite.runs()[0]


def params(trainer):
    return torch.cat([p.detach().flatten() for p in trainer.model.policy.parameters()])


def train_eval(run, interrupt_after=None):
    """The runner's train/evaluate/checkpoint sequence; with ``interrupt_after`` the trainer is
    rebuilt from its pickled state after that many evaluations, as a resumed run is."""
    trainer = make_trainer(run)
    rows = []
    while trainer.num_timesteps < run.budget:
        stats = trainer.train(min(run.eval_every, run.budget - trainer.num_timesteps))
        ev = trainer.evaluate(run.eval_episodes, _eval_seed(run.seed, len(rows)))
        rows.append({"step": trainer.num_timesteps, **ev, **stats})
        if len(rows) == interrupt_after:
            state = pickle.loads(pickle.dumps(trainer.state()))
            trainer.close()
            trainer = make_trainer(run, state)
    p = params(trainer)
    trainer.close()
    return rows, p


def test_sb3_on_image_observations_checkpoints_and_resumes_exactly(tmp_path):
    # SB3 wraps image observations in VecTransposeImage, which cloudpickle cannot serialise:
    # state() raised at the first checkpoint and every run (and every --resume) failed.
    run = run_spec(SB3_PPO, MINIGRID, [{"type": "step_penalty", "value": -0.01}], 128, 64, 1)
    rows, p = train_eval(run)
    resumed_rows, resumed_p = train_eval(run, interrupt_after=1)
    assert repr(rows) == repr(resumed_rows) and torch.equal(p, resumed_p)  # NaN-safe
    summary = run_one(run.to_json(), str(tmp_path))
    assert summary["status"] == "done", summary
    assert (tmp_path / run.run_id / "checkpoint.pkl").exists()


def test_sb3_dqn_resumes_exactly():
    # The replay buffer, DQN's _n_calls and the action space's RNG were not saved.
    run = run_spec(SB3_DQN, budget=384, every=128)
    rows, p = train_eval(run)
    resumed_rows, resumed_p = train_eval(run, interrupt_after=1)
    assert repr(rows) == repr(resumed_rows) and torch.equal(p, resumed_p)  # NaN-safe
    # A state saved before these entries existed still restores.
    trainer = make_trainer(run)
    trainer.train(64)
    state = trainer.state()
    trainer.close()
    for k in ("counters", "replay_buffer", "action_space_rng", "ep_success_buffer"):
        del state[k]
    make_trainer(run, state).close()


def test_sb3_schedules_run_over_the_budget_not_each_evaluation_interval():
    # The runner calls learn() once per evaluation interval, and SB3 measured progress against
    # each call's end: DQN's epsilon (exploration_fraction 0.5 of a 400-step budget) was at its
    # floor, 0.05, at the first evaluation instead of halfway down, 1 - 0.95 * 100/200.
    kwargs = dict(SB3_DQN["kwargs"], learning_starts=1000)
    run = run_spec(dict(SB3_DQN, kwargs=kwargs), budget=400, every=100)
    trainer = make_trainer(run)
    rates = []
    while trainer.num_timesteps < run.budget:
        trainer.train(run.eval_every)
        rates.append(trainer.model.exploration_rate)
    trainer.close()
    assert rates == pytest.approx([1 - 0.95 * 100 / 200, 0.05, 0.05, 0.05])
    assert type(trainer.model).__name__ == "DQN"


def test_sb3_dqn_evaluation_does_not_change_training():
    run = run_spec(SB3_DQN)

    def final_params(evaluate):
        trainer = make_trainer(run)
        trainer.train(128)
        if evaluate:
            space = trainer.model.action_space
            before = (
                pickle.dumps(np.random.get_state()),
                random.getstate(),
                pickle.dumps(space.np_random.bit_generator.state),
            )
            trainer.evaluate(3, 12345)
            after = (
                pickle.dumps(np.random.get_state()),
                random.getstate(),
                pickle.dumps(space.np_random.bit_generator.state),
            )
            assert before == after
        trainer.train(128)
        p = params(trainer)
        trainer.close()
        return p

    assert torch.equal(final_params(False), final_params(True))


def test_toolkit_env_settings_take_effect_or_are_refused():
    from gymnasium.vector import AutoresetMode

    agent = {"backend": "toolkit", "n_envs": 2, "kwargs": {"num_steps": 16}}
    for env in (CARTPOLE, MINIGRID):
        kwargs = {"num_steps": 16, "encoder": "mlp", "autoreset_mode": "SameStep"}
        same = {**agent, "kwargs": kwargs}
        trainer = make_trainer(run_spec(same, env, budget=32, every=32))
        assert trainer.agent.autoreset_mode is AutoresetMode.SAME_STEP
        trainer.train(32)
        assert np.isfinite(trainer.evaluate(2, 1)["eval_return"])
        trainer.close()
    native = {**agent, "kwargs": {"num_steps": 16, "vectorization": "vector_entry_point"}}
    trainer = make_trainer(run_spec(native, CARTPOLE, budget=32, every=32))
    assert type(trainer.agent.envs.unwrapped).__name__ == "CartPoleVectorEnv"
    trainer.close()
    refused = [
        ({"vectorization": "async"}, CARTPOLE, "vectorization.*async"),
        ({"vectorization": "vector_entry_point"}, MINIGRID, "batched implementation"),
        ({"autoreset_mode": "Disabled"}, CARTPOLE, "autoreset_mode"),
        ({"seed": 3}, CARTPOLE, r"\['seed'\] are set by the runner; use seeds"),
        ({"env_kwargs": {}}, CARTPOLE, "envs\\[\\]\\.kwargs for env_kwargs"),
    ]
    for kwargs, env, match in refused:
        with pytest.raises(ConfigError, match=match):
            run_spec({**agent, "kwargs": {"num_steps": 16, **kwargs}}, env)


def base_suite(env=None, agent=None, method=None):
    return {
        "name": "t",
        "budget": 100,
        "envs": [{"id": "CartPole-v1", **(env or {})}],
        "methods": [{"name": "m", "agent": {"backend": "sb3", **(agent or {})}, **(method or {})}],
    }


@pytest.mark.parametrize(
    "data, match",
    [
        (base_suite(agent={"algo": "SAC"}), r"methods\[0\]\.agent\.algo: unknown sb3 .*'SAC'"),
        (
            base_suite(agent={"backend": "toolkit", "algo": "DQN"}),
            r"methods\[0\]\.agent\.algo: unknown toolkit",
        ),
        (base_suite(agent={"n_envs": "two"}), r"methods\[0\]\.agent\.n_envs: expected a positive"),
        (base_suite(agent={"n_envs": 0}), r"methods\[0\]\.agent\.n_envs"),
        (base_suite(agent={"kwargs": "n_steps=64"}), r"methods\[0\]\.agent\.kwargs: expected a"),
        (
            base_suite(agent={"kwargs": {"n_stepz": 64}}),
            r"methods\[0\]\.agent\.kwargs: unknown PPO argument\(s\) \['n_stepz'\]",
        ),
        (
            base_suite(agent={"algo": "DQN", "kwargs": {"n_epochs": 4}}),
            r"methods\[0\]\.agent\.kwargs: unknown DQN argument\(s\) \['n_epochs'\]",
        ),
        (
            base_suite(agent={"kwargs": {"seed": 1}}),
            r"methods\[0\]\.agent\.kwargs: \['seed'\] are set",
        ),
        (base_suite(agent={"policy": "MLP"}), r"methods\[0\]\.agent\.policy: PPO has no policy"),
        (base_suite(agent={"device": 0}), r"methods\[0\]\.agent\.device"),
        (
            base_suite(agent={"backend": "toolkit", "kwargs": {"lerning_rate": 0.001}}),
            r"methods\[0\]\.agent\.kwargs: bad toolkit PPO settings: .*'lerning_rate'",
        ),
        (
            base_suite(agent={"backend": "toolkit", "kwargs": {"learning_rate": "big"}}),
            r"methods\[0\]\.agent\.kwargs: bad toolkit PPO settings",
        ),
        (
            base_suite(agent={"backend": "toolkit", "policy": "MlpPolicy"}),
            r"methods\[0\]\.agent\.policy: the toolkit backend has no policy",
        ),
        (base_suite(env={"kwargs": [1, 2]}), r"envs\[0\]\.kwargs: expected a mapping"),
        (base_suite(env={"max_score": "high"}), r"envs\[0\]\.max_score: expected a number"),
        (base_suite(env={"min_score": True}), r"envs\[0\]\.min_score: expected a number"),
        (base_suite(env={"max_score": 0}), r"envs\[0\]\.max_score: must exceed min_score"),
        (base_suite(method={"weight": "heavy"}), r"methods\[0\]\.weight: expected a number"),
        (
            base_suite(
                method={"weight": [1, 2], "terms": [{"type": "step_penalty", "value": -0.1}]}
            ),
            r"methods\[0\]\.weight: 2 weights for 1 terms",
        ),
        (
            base_suite(
                method={"weight": {"x": 1}, "terms": [{"type": "step_penalty", "value": -0.1}]}
            ),
            r"methods\[0\]\.weight: weights given for unknown term",
        ),
        (
            base_suite(method={"terms": [{"type": "count_bonus", "beta": "big"}]}),
            r"methods\[0\]\.terms\[0\]: bad arguments",
        ),
    ],
)
def test_suite_agents_envs_and_weights_are_validated_on_load(data, match):
    with pytest.raises(ConfigError, match=f"^suite.yaml: {match}"):
        parse_suite(data, source="suite.yaml")


def test_suite_accepts_good_agent_settings():
    for agent in (
        {"algo": "DQN", "policy": "MlpPolicy", "kwargs": {"learning_starts": 10}},
        {"algo": "A2C", "n_envs": 2, "device": "cpu", "kwargs": {"n_steps": 8}},
        {"backend": "toolkit", "kwargs": {"num_steps": 16, "vectorization": "sync"}},
    ):
        data = base_suite(
            agent=agent, method={"terms": ["step_penalty"], "weight": {"step_penalty": 0.5}}
        )
        assert parse_suite(data).methods[0].agent == {"backend": "sb3", **agent}


def test_corrupted_checkpoint_is_ignored_and_the_run_restarts_cleanly(tmp_path):
    folder = RunFolder(tmp_path, "e/m/seed0")
    payload = {"trainer": {"w": np.arange(32, dtype=np.float32)}, "rows": [{"step": 64}]}
    folder.save_checkpoint(payload)
    path = folder.path / "checkpoint.pkl"
    good = path.read_bytes()
    loaded = folder.load_checkpoint()
    assert loaded["rows"] == payload["rows"] and np.array_equal(
        loaded["trainer"]["w"], payload["trainer"]["w"]
    )
    for i in range(len(good)):  # every single-byte flip, header included, is caught
        path.write_bytes(good[:i] + bytes([good[i] ^ 0x40]) + good[i + 1 :])
        assert folder.load_checkpoint() is None, i
    path.write_bytes(good[:-5])
    assert folder.load_checkpoint() is None
    # A checkpoint written before checksums existed (a bare pickle) still loads.
    path.write_bytes(pickle.dumps(payload))
    assert folder.load_checkpoint()["rows"] == payload["rows"]

    # The runner restarts a run whose checkpoint is corrupt and ends as a clean run does.
    run = run_spec(SB3_PPO, budget=128, every=64, episodes=1)
    clean = run_one(run.to_json(), str(tmp_path / "clean"))
    assert clean["status"] == "done"
    out = tmp_path / "corrupt"
    done = RunFolder(tmp_path / "clean", run.run_id)
    ckpt = bytearray((done.path / "checkpoint.pkl").read_bytes())
    ckpt[len(ckpt) // 2] ^= 0x01
    folder = RunFolder(out, run.run_id)
    folder.path.mkdir(parents=True)
    (folder.path / "checkpoint.pkl").write_bytes(bytes(ckpt))
    summary = run_one(run.to_json(), str(out))
    assert summary["status"] == "done" and folder.status()["resumed_from_step"] == 0
    assert folder.metrics_path.read_text() == done.metrics_path.read_text()

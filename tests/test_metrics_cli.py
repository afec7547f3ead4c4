"""``rewardshaping compare``: rewards from files, modules, terms and the env; JSON output; errors."""

import json
import textwrap

import numpy as np
import pytest

from rewardshaping.cli import main

REWARDS = textwrap.dedent(
    """
    import gymnasium as gym
    import numpy as np

    import rewardshaping.envs
    from rewardshaping import FunctionTerm

    R = gym.make("rewardshaping/RandomMDP-v0", n_states=6).unwrapped.mdp.reward
    PHI = np.linspace(-3, 3, 6)

    def shaped(obs, action, next_obs):
        return 2.0 * (R[obs, action, next_obs] + 0.95 * PHI[next_obs] - PHI[obs])

    def make_term():
        return FunctionTerm(lambda b: -R[b.obs, b.action, b.next_obs], name="negated")

    def forward_only(obs, action, next_obs):  # HalfCheetah: forward velocity, no control cost
        return next_obs[:, 8]
    """
)


@pytest.fixture
def reward_file(tmp_path, monkeypatch):
    path = tmp_path / "my_rewards.py"
    path.write_text(REWARDS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return path


def test_compare_on_tabular_env_with_file_module_and_term(reward_file, tmp_path, capsys):
    out = tmp_path / "res.json"
    rc = main(
        [
            "compare",
            "--env",
            "rewardshaping/RandomMDP-v0",
            "--env-kwargs",
            "n_states=6",
            "--reward",
            "env",
            "--reward",
            f"shaped={reward_file}:shaped",
            "--reward",
            "my_rewards:make_term",
            "--outer",
            "300",
            "--inner",
            "4",
            "--bootstrap",
            "50",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "sampled val distance (l2)" in text and "exact val distance" in text
    res = json.loads(out.read_text())
    assert res["names"] == ["env", "shaped", "make_term"]
    d, exact = np.array(res["distance"]), np.array(res["exact"])
    np.testing.assert_allclose(d, [[0, 0, 1], [0, 0, 1], [1, 1, 0]], atol=1e-6)
    np.testing.assert_allclose(exact, [[0, 0, 1], [0, 0, 1], [1, 1, 0]], atol=1e-6)
    assert res["ci_low"][0][1] <= 1e-6 and (res["n_outer"], res["n_inner"]) == (300, 4)


def test_compare_epic_pearson_on_mujoco(reward_file, tmp_path):
    out = tmp_path / "res.json"
    main(
        [
            "compare",
            "--env",
            "HalfCheetah-v5",
            "--reward",
            "env",
            "--reward",
            "my_rewards:forward_only",
            "--canon",
            "epic",
            "--norm",
            "pearson",
            "--outer",
            "100",
            "--inner",
            "2",
            "--bootstrap",
            "20",
            "--json",
            str(out),
        ]
    )
    res = json.loads(out.read_text())
    d = np.array(res["distance"])
    # The env reward is forward velocity minus a control cost: close to, not equal to, forward.
    assert 0.0 < d[0, 1] < 0.5 and "exact" not in res


def test_compare_errors(reward_file, capsys):
    with pytest.raises(SystemExit, match="at least two"):
        main(["compare", "--env", "CartPole-v1", "--reward", "env"])
    with pytest.raises(SystemExit, match="needs a transition model"):
        main(["compare", "--env", "CartPole-v1", "--canon", "dard", "--reward", "env",
              "--reward", "env"])  # fmt: skip
    ok = "my_rewards:forward_only"
    with pytest.raises(SystemExit, match="'env' or 'module:attr'"):
        main(["compare", "--env", "CartPole-v1", "--canon", "epic", "--reward", ok,
              "--reward", "nocolon"])  # fmt: skip
    with pytest.raises(SystemExit, match="no attribute 'missing'"):
        main(["compare", "--env", "CartPole-v1", "--canon", "epic", "--reward", ok,
              "--reward", "my_rewards:missing"])  # fmt: skip
    with pytest.raises(SystemExit, match="own reward can be evaluated .* only for tabular"):
        main(["compare", "--env", "CartPole-v1", "--canon", "epic", "--reward", ok,
              "--reward", "env"])  # fmt: skip
    with pytest.raises(SystemExit, match="key=value"):
        main(["compare", "--env", "CartPole-v1", "--env-kwargs", "oops", "--reward", "a:b",
              "--reward", "a:b"])  # fmt: skip
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "two or more" in capsys.readouterr().out

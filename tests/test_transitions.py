import numpy as np
import pytest

from rewardshaping.transitions import Transitions, batch_obs, index_obs, set_obs_rows


def test_defaults_and_done():
    b = Transitions.from_arrays(
        np.zeros((3, 2)),
        np.zeros(3),
        np.ones((3, 2)),
        [1, 2, 3],
        terminated=[True, False, False],
        truncated=[False, True, False],
    )
    assert b.num_envs == 3
    assert b.reward.dtype == np.float32
    assert b.active.all() and b.episode_step.tolist() == [0, 0, 0]
    assert b.done.tolist() == [True, True, False]


def test_info_missing_key_names_key_and_term():
    b = Transitions.from_arrays(
        np.zeros(2), np.zeros(2), np.zeros(2), [0, 0], infos={"a": np.ones(2)}
    )
    with pytest.raises(KeyError, match="'dist'.*needed by 'goal'"):
        b.info("dist", term="goal")


def test_info_missing_for_some_active_envs():
    b = Transitions.from_arrays(
        np.zeros(2),
        np.zeros(2),
        np.zeros(2),
        [0, 0],
        infos={"d": np.array([1.0, 0.0]), "_d": np.array([True, False])},
    )
    with pytest.raises(KeyError, match=r"env indices \[1\]"):
        b.info("d")
    # An inactive env (dummy reset step) may lack the key.
    b2 = Transitions.from_arrays(
        np.zeros(2),
        np.zeros(2),
        np.zeros(2),
        [0, 0],
        active=[True, False],
        infos={"d": np.array([1.0, 0.0]), "_d": np.array([True, False])},
    )
    assert b2.info("d").tolist() == [1.0, 0.0]


def test_set_obs_rows_nested_and_copy():
    batched = {"img": np.zeros((3, 2)), "mission": ("a", "b", "c")}
    finals = np.array([None, {"img": np.ones(2), "mission": "z"}, None], dtype=object)
    out = set_obs_rows(batched, np.array([1]), finals)
    assert out["img"].tolist() == [[0, 0], [1, 1], [0, 0]]
    assert out["mission"] == ("a", "z", "c")
    assert batched["img"].sum() == 0  # the original is untouched
    assert index_obs(out, 1)["mission"] == "z"
    assert batch_obs({"x": 1, "t": (np.zeros(2), 3)})["t"][0].shape == (1, 2)

"""The batched key-door gridworld: Gymnasium API checks, autoreset semantics, dynamics, seeding."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardshaping.envs  # noqa: F401  (registers the ids)
from rewardshaping import ShapedVectorEnv, StepPenalty
from rewardshaping.envs.gridworld import DIFFICULTIES, KeyDoorEnv, KeyDoorVectorEnv

MOVES = {0: (0, 1), 1: (1, 0), 2: (0, -1), 3: (-1, 0)}


def plan(picture: str) -> list[int]:
    """Shortest action sequence to the goal, by BFS over (cell, has_key, door_open)."""
    grid = picture.splitlines()
    find = {ch: (r, c) for r, line in enumerate(grid) for c, ch in enumerate(line) if ch in "AKDdG"}
    start = (*find["A"], False, "D" not in find)
    prev = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        r, c, key, door = state
        if (r, c) == find["G"]:
            actions = []
            while prev[state] is not None:
                state, a = prev[state]
                actions.append(a)
            return actions[::-1]
        for a, (dr, dc) in MOVES.items():
            nr, nc, nkey, ndoor = r + dr, c + dc, key, door
            ch = grid[nr][nc]
            if ch == "#" or (ch == "D" and not door and not key):
                continue
            if ch == "D" and key:
                ndoor = True
            if (nr, nc) == find.get("K"):
                nkey = True
            nxt = (nr, nc, nkey, ndoor)
            if nxt not in prev:
                prev[nxt] = (state, a)
                queue.append(nxt)
    raise AssertionError(f"no path to the goal in\n{picture}")


# -- Gymnasium API ----------------------------------------------------------------------------
@pytest.mark.parametrize("obs_mode", ["vector", "image"])
@pytest.mark.parametrize("difficulty", sorted(DIFFICULTIES))
def test_single_env_passes_gymnasium_check_env(obs_mode, difficulty):
    check_env(KeyDoorEnv(size=6, difficulty=difficulty, obs_mode=obs_mode), skip_render_check=True)


@pytest.mark.parametrize("obs_mode", ["vector", "image"])
def test_vector_env_spaces_dtypes_and_shapes(obs_mode):
    envs = KeyDoorVectorEnv(5, size=7, difficulty="hard", obs_mode=obs_mode)
    obs, info = envs.reset(seed=1)
    assert obs in envs.observation_space and info == {}
    rng = np.random.default_rng(0)
    for _ in range(300):
        obs, reward, terminated, truncated, info = envs.step(rng.integers(0, 4, 5))
        assert obs in envs.observation_space
        assert obs.dtype == envs.single_observation_space.dtype
        assert reward.dtype == np.float32 and reward.shape == (5,)
        assert terminated.dtype == bool and truncated.dtype == bool
        assert not (terminated & truncated).any()


def test_registered_ids_make_and_make_vec():
    env = gym.make("rewardshaping/KeyDoor-Easy-v0")
    assert isinstance(env.unwrapped, KeyDoorEnv) and env.unwrapped.size == 6
    envs = gym.make_vec("rewardshaping/KeyDoor-Hard-v0", 8, vectorization_mode="vector_entry_point")
    assert isinstance(envs, KeyDoorVectorEnv) and envs.difficulty == DIFFICULTIES["hard"]
    same = gym.make_vec(
        "rewardshaping/KeyDoor-v0",
        2,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
    )
    assert same.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP


def test_bad_arguments_fail_with_clear_errors():
    with pytest.raises(ValueError, match="size must be >= 5"):
        KeyDoorVectorEnv(2, size=4)
    with pytest.raises(ValueError, match="unknown difficulty"):
        KeyDoorVectorEnv(2, difficulty="nightmare")
    with pytest.raises(ValueError, match="autoreset_mode"):
        KeyDoorVectorEnv(2, autoreset_mode="Sometimes")
    envs = KeyDoorVectorEnv(2)
    with pytest.raises(gym.error.ResetNeeded):
        envs.step(np.zeros(2, np.int64))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="0..3"):
        envs.step(np.array([0, 4]))
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros(3, np.int64))


# -- seeding ----------------------------------------------------------------------------------
def test_same_seed_same_episodes_and_subenv_equals_single_env():
    a, b = KeyDoorVectorEnv(4, difficulty="hard"), KeyDoorVectorEnv(4, difficulty="hard")
    oa, _ = a.reset(seed=7)
    ob, _ = b.reset(seed=7)
    np.testing.assert_array_equal(oa, ob)
    single = KeyDoorEnv(difficulty="hard")
    os_, _ = single.reset(seed=7 + 2)  # sub-env i is seeded with seed + i
    np.testing.assert_array_equal(oa[2], os_)
    rng = np.random.default_rng(3)
    for _ in range(400):
        act = rng.integers(0, 4, 4)
        ra, rb = a.step(act), b.step(act)
        for x, y in zip(ra[:4], rb[:4], strict=True):
            np.testing.assert_array_equal(x, y)
    c = KeyDoorVectorEnv(4, difficulty="hard")
    assert not np.array_equal(c.reset(seed=8)[0], oa)


def test_state_dict_round_trip_continues_identically():
    a = KeyDoorVectorEnv(3, difficulty="hard")
    a.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        a.step(rng.integers(0, 4, 3))
    b = KeyDoorVectorEnv(3, difficulty="hard")
    b.load_state_dict(a.state_dict())
    for _ in range(200):
        act = rng.integers(0, 4, 3)
        for x, y in zip(a.step(act)[:4], b.step(act)[:4], strict=True):
            np.testing.assert_array_equal(x, y)


# -- autoreset semantics ----------------------------------------------------------------------
def test_next_step_autoreset_dummy_step_pays_nothing_and_restarts():
    envs = KeyDoorVectorEnv(4, size=5, difficulty="medium", max_episode_steps=7)
    envs.reset(seed=5)
    rng = np.random.default_rng(5)
    pending = np.zeros(4, bool)
    dummies = 0
    for _ in range(100):
        obs, r, te, tr, info = envs.step(rng.integers(0, 4, 4))
        # The step after a done is the dummy reset step: no reward, not done, a fresh episode.
        assert (r[pending] == 0).all() and not (te | tr)[pending].any()
        dummies += pending.sum()
        done = te | tr
        if done.any():
            assert (info["_is_success"] == done).all()
        pending = done
    assert dummies > 0


def test_same_step_final_obs_matches_next_step_final_obs_every_episode():
    # Run each env on its own (N=1) so that the dummy steps can be skipped exactly.
    for seed in range(3):
        nxt = KeyDoorVectorEnv(1, size=5, difficulty="medium", max_episode_steps=9)
        same = KeyDoorVectorEnv(
            1, size=5, difficulty="medium", max_episode_steps=9, autoreset_mode="SameStep"
        )
        nxt.reset(seed=seed)
        same.reset(seed=seed)
        rng = np.random.default_rng(seed)
        ends = 0
        for _ in range(200):
            act = rng.integers(0, 4, 1)
            o1, r1, te1, tr1, _ = nxt.step(act)
            o2, r2, te2, tr2, i2 = same.step(act)
            assert (r1 == r2).all() and (te1 == te2).all() and (tr1 == tr2).all()
            if te1[0] or tr1[0]:
                ends += 1
                np.testing.assert_array_equal(i2["final_obs"][0], o1[0])
                o1, r1, te1, tr1, _ = nxt.step(act)  # the dummy step
                assert r1[0] == 0 and not te1[0] and not tr1[0]
            np.testing.assert_array_equal(o1, o2)
        assert ends >= 10


def test_disabled_autoreset_needs_masked_reset():
    envs = KeyDoorVectorEnv(2, size=5, max_episode_steps=3, autoreset_mode="Disabled")
    envs.reset(seed=0)
    for _ in range(3):
        *_, tr, _ = envs.step(np.zeros(2, np.int64))
    assert tr.all()
    with pytest.raises(gym.error.ResetNeeded, match="reset_mask"):
        envs.step(np.zeros(2, np.int64))
    envs.reset(options={"reset_mask": np.array([True, True])})
    envs.step(np.zeros(2, np.int64))


def test_shaped_vector_env_accepts_both_modes():
    for mode in ("NextStep", "SameStep"):
        envs = ShapedVectorEnv(
            KeyDoorVectorEnv(3, size=5, max_episode_steps=6, autoreset_mode=mode),
            StepPenalty(-0.1),
        )
        envs.reset(seed=0)
        lengths = []
        for _ in range(20):
            *_, info = envs.step(np.zeros(3, np.int64))
            if "episode_length" in info:
                lengths += info["episode_length"][info["_episode_length"]].tolist()
        assert lengths and set(lengths) == {6}, mode


# -- dynamics ---------------------------------------------------------------------------------
def test_locked_door_key_pickup_and_goal_reward():
    env = KeyDoorEnv(size=5, difficulty="medium", render_mode="ansi")
    for seed in range(20):
        env.reset(seed=seed)
        picture = env.render()
        actions = plan(picture)
        # Without the key the agent cannot pass: the door stays "D" unless the key was taken.
        total = 0.0
        for k, a in enumerate(actions):
            obs, r, te, tr, info = env.step(a)
            total += r
            assert te == (k == len(actions) - 1)
        assert info["is_success"] and total == pytest.approx(1 - 0.9 * len(actions) / 100)
        assert obs[-2] == 1 and obs[-1] == 1  # has_key and door_open


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), size=st.integers(5, 12))
def test_every_hard_layout_is_solvable_by_its_shortest_plan(seed, size):
    env = KeyDoorEnv(size=size, difficulty="hard", render_mode="ansi")
    env.reset(seed=seed)
    actions = plan(env.render())
    for a in actions[:-1]:
        assert not env.step(a)[2]
    assert env.step(actions[-1])[2]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), actions=st.lists(st.integers(0, 3), max_size=60))
def test_vector_and_image_observations_agree(seed, actions):
    vec = KeyDoorVectorEnv(1, size=6, difficulty="hard")
    img = KeyDoorVectorEnv(1, size=6, difficulty="hard", obs_mode="image")
    ov, _ = vec.reset(seed=seed)
    oi, _ = img.reset(seed=seed)
    for a in [None, *actions]:
        if a is not None:
            ov, *_ = vec.step(np.array([a]))
            oi, *_ = img.step(np.array([a]))
        cell = int(np.argmax(ov[0, :36]))
        r, c = divmod(cell, 6)
        assert oi[0, r, c, 0] == 10  # the agent is where the one-hot says
        assert (oi[0, :, :, 0] == 10).sum() == 1
        walls = oi[0, :, :, 0] == 2
        assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()


def test_truncation_at_max_steps():
    envs = KeyDoorVectorEnv(2, size=8, max_episode_steps=5)
    envs.reset(seed=0)
    for _ in range(5):
        _, r, te, tr, _ = envs.step(np.full(2, 3, np.int64))  # up into the wall
    assert tr.all() and not te.any() and (r == 0).all()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), difficulty=st.sampled_from(sorted(DIFFICULTIES)))
def test_shortest_plan_matches_an_independent_bfs_and_reaches_the_goal(seed, difficulty):
    envs = KeyDoorVectorEnv(3, size=7, difficulty=difficulty, render_mode="ansi")
    envs.reset(seed=seed)
    pictures = envs.render()
    plans = [envs.shortest_plan(i) for i in range(3)]
    for i in range(3):
        assert len(plans[i]) == len(plan(pictures[i]))
    for i in range(3):
        single = KeyDoorEnv(size=7, difficulty=difficulty)
        single.reset(seed=seed + i)
        for a in plans[i]:
            *_, terminated, _, _ = single.step(a)
        assert terminated


@pytest.mark.parametrize(
    "env_id", ["rewardshaping/KeyDoor-Fixed-v0", "rewardshaping/KeyDoor-Fixed-10x10-v0"]
)
def test_fixed_layout_is_the_same_every_episode_and_solvable_in_its_horizon(env_id):
    envs = gym.make_vec(env_id, 3, vectorization_mode="vector_entry_point", render_mode="ansi")
    envs.reset(seed=123)
    first = envs.render()
    assert first[0] == first[1] == first[2]
    rows = first[0].splitlines()
    size = len(rows)
    assert rows[1][1] == "A"  # start top-left; the key lies in the left room's far corner
    plan_len = len(envs.unwrapped.shortest_plan(0))
    assert plan_len < envs.unwrapped.max_episode_steps
    envs.reset(seed=7)
    assert envs.render()[0] == first[0] and size == envs.unwrapped.size

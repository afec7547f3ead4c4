"""PotentialShaping: terminal/truncation rules, autoreset, caching, gamma checks, bad input."""

import gymnasium as gym
import minigrid  # noqa: F401
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from minigrid.wrappers import FullyObsWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from rewardshaping import RewardTerm, ShapedEnv, ShapedVecEnv, ShapedVectorEnv
from rewardshaping.shaping import (
    FunctionPotential,
    GoalDistancePotential,
    InfoPotential,
    PotentialShaping,
    check_shaping_gamma,
    minigrid_goal_distance,
)

GAMMA = 0.9


def phi_t(obs):
    return obs[:, 0] + 1.0  # Countdown obs[:, 0] is the step index; +1 so Phi(s0) != 0


def test_terminated_pays_minus_phi_and_truncated_keeps_phi(countdown):
    for truncate in (False, True):
        env = ShapedEnv(countdown(3, truncate=truncate), PotentialShaping(phi_t, GAMMA))
        env.reset()
        f = [env.step(0)[4]["reward_terms"]["shaping"] for _ in range(3)]
        last = -3.0 if not truncate else GAMMA * 4.0 - 3.0
        np.testing.assert_allclose(f, [GAMMA * 2 - 1, GAMMA * 3 - 2, last], rtol=1e-6)


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_never_pays_across_autoreset(countdown_vec, mode):
    envs = ShapedVectorEnv(countdown_vec(mode, lengths=(2, 3, 4)), PotentialShaping(phi_t, GAMMA))
    envs.reset(seed=0)
    prev_done = np.zeros(3, bool)
    for _ in range(20):
        _, _, term, _, info = envs.step(np.zeros(3, int))
        f = info["reward_terms"]["shaping"]
        t_next = info.get("t", np.zeros(3)).astype(float)  # Countdown's step index after this step
        if mode is AutoresetMode.SAME_STEP and term.any():  # info holds the reset's info there
            t_next[term] = info["final_info"]["t"][term]
        real = ~prev_done if mode is AutoresetMode.NEXT_STEP else np.ones(3, bool)
        expect = np.where(term, -t_next, GAMMA * (t_next + 1.0) - t_next)
        np.testing.assert_allclose(f[real], expect[real], rtol=1e-6)
        assert (f[~real] == 0).all()  # the dummy step pays nothing
        prev_done = term


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("lengths", [(2, 3), (2, 2)])
def test_info_potential_reads_the_true_last_state_in_every_autoreset_mode(countdown_vec, mode,
                                                                          lengths):  # fmt: skip
    # Countdown reports info["t"] from step() only, and truncates: gamma * Phi(s') is paid on the
    # last step, with s' the true last state (SAME_STEP: in final_info, not the reset info).
    # lengths (2, 2): every env is on the NEXT_STEP dummy step at once, and none reports "t".
    n = len(lengths)
    envs = ShapedVectorEnv(countdown_vec(mode, lengths=lengths, truncate=True),
                           PotentialShaping(InfoPotential("t"), GAMMA))  # fmt: skip
    envs.reset(seed=0)
    t_real = np.zeros(n)  # the true t after each env's last real step
    prev_done = np.zeros(n, bool)
    for _ in range(8):
        _, _, _, trunc, info = envs.step(np.zeros(n, int))
        real = ~prev_done if mode is AutoresetMode.NEXT_STEP else np.ones(n, bool)
        t_real = np.where(real, (t_real % np.array(lengths)) + 1, t_real)
        expect = np.where(real, GAMMA * t_real - (t_real - 1), 0.0)
        np.testing.assert_allclose(info["reward_terms"]["shaping"], expect, rtol=1e-6)
        prev_done = trunc


@pytest.mark.parametrize("on_invalid", ["zero", "clip"])
def test_potential_shaping_follows_the_pipelines_on_invalid(countdown, on_invalid):
    phi = FunctionPotential(lambda o: np.where(o[:, 0] > 0, np.inf, 0.0))  # Phi(s') = inf
    env = ShapedEnv(countdown(3), PotentialShaping(phi, GAMMA), on_invalid=on_invalid)
    env.reset()
    with pytest.warns(RuntimeWarning, match="non-finite"):
        f = env.step(0)[4]["reward_terms"]["shaping"]
    assert f == 0.0 if on_invalid == "zero" else np.isfinite(f) and f > 0


class Direct(RewardTerm):
    """gamma * Phi(s') - Phi(s) computed from the batch with no cache, for comparison."""

    name = "direct"

    def __init__(self, phi):
        super().__init__()
        self.phi = phi

    def __call__(self, b):
        nxt = np.where(b.terminated, 0.0, self.phi(b.next_obs))
        return GAMMA * nxt - self.phi(b.obs)


def cart_phi(obs):
    return -np.abs(obs[:, 0]) - 0.5 * np.abs(obs[:, 2])


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_cached_potential_equals_direct_formula(mode):
    envs = ShapedVectorEnv(
        gym.make_vec(
            "CartPole-v1", 4, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
        ),
        [PotentialShaping(cart_phi, GAMMA), Direct(cart_phi)],
    )
    envs.reset(seed=1)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(300):
        _, _, term, trunc, info = envs.step(rng.integers(0, 2, 4))
        ends += int((term | trunc).sum())
        np.testing.assert_allclose(
            info["reward_terms"]["shaping"], info["reward_terms"]["direct"], atol=1e-6
        )
    assert ends > 5


def test_cached_potential_equals_direct_formula_sb3():
    venv = ShapedVecEnv(
        make_vec_env("CartPole-v1", n_envs=3, seed=2),
        [PotentialShaping(cart_phi, GAMMA), Direct(cart_phi)],
    )
    venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(200):
        _, _, _, infos = venv.step(rng.integers(0, 2, 3))
        for i in infos:
            assert i["reward_terms"]["shaping"] == pytest.approx(
                i["reward_terms"]["direct"], abs=1e-6
            )


def test_episode_sum_telescopes_to_minus_phi0(countdown):
    # gamma = 1: sum of F over an episode ending in a terminal state is -Phi(s0).
    env = ShapedEnv(countdown(5), PotentialShaping(phi_t, 1.0))
    env.reset()
    for _ in range(5):
        info = env.step(0)[4]
    assert info["episode_reward_terms"]["shaping"] == pytest.approx(-1.0)


def test_dynamic_potential_uses_time(countdown):
    pot = FunctionPotential(lambda obs, t: 0.5 * t, time_dependent=True, name="clock")
    env = ShapedEnv(countdown(4), PotentialShaping(pot, GAMMA))
    env.reset()
    f = [env.step(0)[4]["reward_terms"]["shaping"] for _ in range(4)]
    np.testing.assert_allclose(
        f, [GAMMA * 0.5 * t1 - 0.5 * (t1 - 1) for t1 in (1, 2, 3)] + [-1.5], rtol=1e-6
    )


def test_info_potential_and_missing_key(countdown):
    env = ShapedEnv(countdown(3), PotentialShaping(InfoPotential("t", initial=0.0), 1.0))
    env.reset()
    assert [env.step(0)[4]["reward_terms"]["shaping"] for _ in range(2)] == [1.0, 1.0]
    env = ShapedEnv(countdown(3), PotentialShaping(InfoPotential("dist"), 1.0))
    env.reset()
    with pytest.raises(KeyError, match=r"'dist' is missing \(needed by 'potential info:dist'\)"):
        env.step(0)


@pytest.mark.parametrize(
    "fn, err, match",
    [
        (
            lambda obs: np.zeros(2),
            ValueError,
            r"potential 'bad' returned shape \(2,\).*expected \(1,\)",
        ),
        (
            lambda obs: np.array([np.nan]),
            ValueError,
            r"potential 'bad' is not finite at env index 0",
        ),
        (lambda obs: np.array(["x"]), TypeError, "potential 'bad' returned dtype"),
    ],
)
def test_bad_potentials_name_the_potential(countdown, fn, err, match):
    env = ShapedEnv(countdown(3), PotentialShaping(FunctionPotential(fn, name="bad"), 0.99))
    env.reset()
    with pytest.raises(err, match=match):
        env.step(0)


def test_bad_gamma_and_potential_types():
    with pytest.raises(ValueError, match="gamma must be in"):
        PotentialShaping(phi_t, 1.5)
    with pytest.raises(TypeError, match="Potential or a callable"):
        PotentialShaping(3.0, 0.9)


def test_gamma_mismatch_with_sb3_model():
    venv = ShapedVecEnv(make_vec_env("CartPole-v1", n_envs=1), PotentialShaping(cart_phi, 0.9))
    model = PPO("MlpPolicy", venv, gamma=0.99, device="cpu")
    with pytest.raises(ValueError, match="gamma=0.9 but the agent discounts with gamma=0.99"):
        check_shaping_gamma(model.get_env(), model)
    with pytest.warns(UserWarning, match="PotentialShaping"):
        check_shaping_gamma(venv, model, warn=True)
    check_shaping_gamma(venv, 0.9)  # equal: fine


def test_minigrid_goal_distance_matches_geometry():
    env = FullyObsWrapper(gym.make("MiniGrid-Empty-8x8-v0"))
    obs, _ = env.reset(seed=0)
    ax, ay = env.unwrapped.agent_pos
    gx, gy = 6, 6  # Empty-8x8 puts the goal in the bottom-right corner
    assert minigrid_goal_distance(obs["image"][None])[0] == abs(gx - ax) + abs(gy - ay)
    # DoorKey: the wall splits the room; with doors blocking, the goal is unreachable (-1).
    dk = FullyObsWrapper(gym.make("MiniGrid-DoorKey-8x8-v0"))
    img = dk.reset(seed=0)[0]["image"][None]
    assert minigrid_goal_distance(img, doors_pass=True)[0] > 0
    assert minigrid_goal_distance(img, doors_pass=False)[0] == -1
    with pytest.raises(ValueError, match="FullyObsWrapper"):
        minigrid_goal_distance(gym.make("MiniGrid-Empty-8x8-v0").reset(seed=0)[0]["image"][None])


def test_goal_distance_potential_pays_for_progress():
    env = ShapedEnv(
        FullyObsWrapper(gym.make("MiniGrid-Empty-5x5-v0")),
        PotentialShaping(GoalDistancePotential(scale=1.0), gamma=1.0),
    )
    env.reset(seed=0)
    assert env.step(2)[4]["reward_terms"]["shaping"] == 1.0  # forward, closer
    assert env.step(1)[4]["reward_terms"]["shaping"] == 0.0  # turning does not move

"""The product wrappers: rewards, termination, observations, CRM infos, vector autoreset modes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import TimeLimit

import rewardshaping.envs  # noqa: F401  (registers the worlds)
from rewardshaping.envs.office import OfficeWorld, office_machine
from rewardshaping.machines import parse_machine
from rewardshaping.machines.labelling import FunctionLabelling
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.product_vector import RewardMachineVectorEnv
from rewardshaping.machines.shaping import machine_potential

# right, up, right, right, down, right, up, right, right -> coffee at (8, 2)
TO_COFFEE = [1, 0, 1, 1, 2, 1, 0, 1, 1]


def test_single_env_machine_reward_and_termination():
    env = RewardMachineEnv(OfficeWorld(), office_machine(1))
    obs, info = env.reset(seed=0)
    for a in TO_COFFEE:
        obs, r, term, trunc, info = env.step(a)
    assert int(obs["machine_state"]) == 1 and r == 0.0 and not term
    # back to (5, 1) then... simpler: step onto a plant at (7, 1): machine falls into the sink
    obs, r, term, trunc, info = env.step(2)  # (8, 1)
    obs, r, term, trunc, info = env.step(3)  # (7, 1): plant
    assert term and r == 0.0 and env.machine.states[info["machine_state"]] == "__sink__"


def test_reward_modes_onehot_and_shaping():
    rm = parse_machine("initial: u\nterminal: [v]\nedges: [{from: u, to: v, when: a, reward: 1}]")
    lab = FunctionLabelling(lambda b: [{"a"} if x >= 2 else set() for x in b.next_obs[:, 0]], ["a"])

    class Count(gym.Env):
        observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            self.x = 0.0
            return np.array([self.x], np.float32), {}

        def step(self, a):
            self.x += 1
            return np.array([self.x], np.float32), 0.5, False, False, {}

    env = RewardMachineEnv(Count(), rm, lab, obs_mode="onehot", reward_mode="add")
    obs, _ = env.reset()
    assert obs.tolist() == [0.0, 1.0, 0.0] and env.observation_space.contains(obs)
    assert env.step(0)[1] == 0.5
    obs, r, term, _, info = env.step(0)
    assert (r, term, obs.tolist()) == (1.5, True, [2.0, 0.0, 1.0])
    pot = machine_potential(rm, 0.9)
    env = RewardMachineEnv(Count(), rm, lab, potential=pot, gamma=0.9)
    env.reset()
    _, r1, *_ = env.step(0)  # stay in u: 0.9 * phi(u) - phi(u) = 0.1 * V(u)
    _, r2, *_ = env.step(0)  # reach v: 1 + 0 - phi(u)
    assert r1 == pytest.approx(0.1 * 1.0) and r2 == pytest.approx(1 + 1.0)
    with pytest.raises(ValueError, match="gamma"):
        RewardMachineEnv(Count(), rm, lab, potential=pot)


def test_counterfactuals_match_the_machine():
    rm = office_machine(3)
    env = RewardMachineEnv(OfficeWorld(), rm)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        obs, r, term, trunc, info = env.step(int(rng.integers(4)))
        true = {p for p, on in zip(rm.propositions, info["labels"], strict=True) if on}
        for u in range(rm.num_states):
            if rm.is_terminal[u]:
                continue
            assert (info["crm_next_state"][u], info["crm_reward"][u]) == rm.step(u, true)
        if term:
            env.reset()


def test_missing_propositions_and_named_rewards_are_reported():
    rm = parse_machine("initial: u\nedges: [{from: u, to: u, when: zebra}]")
    with pytest.raises(ValueError, match="zebra"):
        RewardMachineEnv(OfficeWorld(), rm)
    rm = parse_machine("initial: u\nedges: [{from: u, to: u, when: a, reward: {function: ctrl}}]")
    with pytest.raises(KeyError, match="ctrl"):
        RewardMachineEnv(OfficeWorld(), rm)
    env = RewardMachineEnv(OfficeWorld(), rm, reward_functions={"ctrl": lambda b: b.reward - 3})
    env.reset()
    assert env.step(3)[1] == -3.0  # onto room a: the named function pays


def _single_reference(actions: np.ndarray, mode: AutoresetMode, limit: int):
    """What each sub-env of the vector wrapper should report, from single-env wrappers."""
    n, steps = actions.shape[1], actions.shape[0]
    out = {k: np.zeros((steps, n)) for k in ("reward", "terminated", "truncated", "u")}
    for i in range(n):
        env = TimeLimit(RewardMachineEnv(OfficeWorld(), office_machine(1)), limit)
        obs, _ = env.reset(seed=i)
        dummy = False
        for t in range(steps):
            if dummy:  # NEXT_STEP: this step only resets
                obs, _ = env.reset()
                dummy = False
                out["u"][t, i] = int(obs["machine_state"])
                continue
            obs, r, term, trunc, info = env.step(int(actions[t, i]))
            out["reward"][t, i], out["terminated"][t, i], out["truncated"][t, i] = r, term, trunc
            out["u"][t, i] = info["machine_state"]
            if term or trunc:
                if mode is AutoresetMode.NEXT_STEP:
                    dummy = True
                else:
                    obs, _ = env.reset()
                    out["u"][t, i] = int(obs["machine_state"])
    return out


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_env_matches_single_envs_in_both_autoreset_modes(mode):
    n, steps, limit = 3, 400, 40
    # Episodes end by the machine (plants, success) and by the time limit.
    rng = np.random.default_rng(1)
    actions = rng.integers(0, 4, size=(steps, n))
    vec = gym.vector.SyncVectorEnv(
        [lambda: TimeLimit(OfficeWorld(), limit) for _ in range(n)], autoreset_mode=mode
    )
    envs = RewardMachineVectorEnv(vec, office_machine(1))
    obs, _ = envs.reset(seed=list(range(n)))
    ref = _single_reference(actions, mode, limit)
    machine_ends = 0
    for t in range(steps):
        obs, r, term, trunc, info = envs.step(actions[t])
        np.testing.assert_array_equal(r, ref["reward"][t], err_msg=f"step {t}")
        np.testing.assert_array_equal(term, ref["terminated"][t].astype(bool), err_msg=f"step {t}")
        np.testing.assert_array_equal(trunc, ref["truncated"][t].astype(bool), err_msg=f"step {t}")
        if mode is AutoresetMode.NEXT_STEP:
            np.testing.assert_array_equal(info["machine_state"], ref["u"][t])
        else:
            np.testing.assert_array_equal(obs["machine_state"], ref["u"][t])
            for i in np.flatnonzero(term | trunc):
                assert info["_final_obs"][i]
                assert info["final_obs"][i]["machine_state"] == info["machine_state"][i]
        machine_ends += int((term & ~trunc).sum())
        assert envs.observation_space.contains(obs)
    assert machine_ends > 0  # the machine did end episodes (not only the time limit)


def test_union_machine_tasks_start_where_asked():
    from rewardshaping.machines.multitask import task_initial_states, union_machine

    rm = union_machine({f"t{k}": office_machine(k) for k in (1, 2, 3, 4)})
    starts = task_initial_states(rm, ["t1", "t2", "t3", "t4"])
    env = RewardMachineEnv(OfficeWorld(), rm)
    for u in starts:
        obs, info = env.reset(options={"machine_state": u})
        assert int(obs["machine_state"]) == u == info["machine_state"]
    with pytest.raises(ValueError, match="cannot start"):
        env.reset(options={"machine_state": rm.index["t1:delivered"]})
    # One step updates every live state of every task.
    env.reset(options={"machine_state": starts[0]})
    assert len(env.step(3)[4]["crm_next_state"]) == rm.num_states


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_counterfactual_experiences_skip_reset_steps(mode):
    n = 2
    vec = gym.vector.SyncVectorEnv([lambda: OfficeWorld() for _ in range(n)], autoreset_mode=mode)
    envs = RewardMachineVectorEnv(vec, office_machine(1), obs_mode="onehot")
    envs.reset(seed=0)
    live = int((~envs.machine.is_terminal).sum())
    # env 0 walks onto the plant at (4, 1) (right, right): the machine ends its episode.
    for t, actions in enumerate([[1, 0], [1, 0], [0, 0]]):
        obs, r, term, trunc, info = envs.step(np.array(actions))
        exp = envs.counterfactual_experiences()
        dummy = mode is AutoresetMode.NEXT_STEP and t == 2
        assert len(exp) == (n - dummy) * live
        assert exp.obs.shape[1] == envs.single_observation_space.shape[0]
        if t == 1:
            assert term.tolist() == [True, False]
            assert exp.terminated[exp.env_index == 0].all()  # every u falls into the sink


def test_sb3_replay_buffer_receives_counterfactuals():
    from stable_baselines3.common.buffers import ReplayBuffer

    from rewardshaping.machines.replay import add_to_sb3_replay_buffer

    env = RewardMachineEnv(OfficeWorld(), office_machine(3), obs_mode="onehot")
    buf = ReplayBuffer(64, env.observation_space, env.action_space, device="cpu", n_envs=1)
    env.reset(seed=0)
    for a in TO_COFFEE:
        env.step(a)
        add_to_sb3_replay_buffer(buf, env.counterfactual_experiences())
    assert buf.size() == 4 * len(TO_COFFEE)
    # the last step reached coffee: from 'start' the machine moved to 'has_coffee'
    last = buf.next_observations[buf.pos - 4 : buf.pos, 0, -6:]
    assert last.argmax(axis=1).tolist() == [1, 1, 3, 3]


def test_vector_reset_mask_resets_only_those_machines():
    vec = gym.vector.SyncVectorEnv([lambda: OfficeWorld() for _ in range(2)])
    envs = RewardMachineVectorEnv(vec, office_machine(1))
    envs.reset(seed=0)
    for a in TO_COFFEE:
        obs, *_ = envs.step(np.array([a, a]))
    assert obs["machine_state"].tolist() == [1, 1]
    obs, _ = envs.reset(options={"reset_mask": np.array([True, False])})
    assert obs["machine_state"].tolist() == [0, 1]
    assert obs["obs"].tolist() == [[2, 1], [8, 2]]

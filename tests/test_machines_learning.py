"""Learners over reward machines: tabular CRM/QRM, shaping potentials, DQN determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.envs.office import OfficeWorld, office_machine
from rewardshaping.machines import parse_machine
from rewardshaping.machines.product import RewardMachineEnv
from rewardshaping.machines.qlearning import MachineQLearning, QLearningConfig
from rewardshaping.machines.shaping import machine_potential, machine_values


def obs_index(o) -> int:
    return int(o[0]) + 12 * int(o[1])


def train(task: int, steps: int, counterfactual: bool, seed: int = 0) -> MachineQLearning:
    rm = office_machine(task)
    env = RewardMachineEnv(OfficeWorld(), rm, counterfactuals=counterfactual)
    agent = MachineQLearning(
        108,
        4,
        rm,
        QLearningConfig(counterfactual=counterfactual, q_init=1.0),
        obs_index=obs_index,
        seed=seed,
    )
    obs, _ = env.reset(seed=seed)
    for t in range(steps):
        a = agent.act(obs)
        nxt, r, term, trunc, info = env.step(a)
        agent.update(obs, a, nxt, info, term)
        obs = nxt
        if term or t % 1000 == 999:
            obs, _ = env.reset()
    return agent


def greedy_steps(agent: MachineQLearning, task: int, cap: int = 100) -> int | None:
    env = RewardMachineEnv(OfficeWorld(), office_machine(task), counterfactuals=False)
    obs, _ = env.reset(seed=0)
    for t in range(cap):
        obs, r, term, trunc, info = env.step(agent.greedy_action(obs))
        if term:
            return t + 1 if r > 0 else None
    return None


def test_crm_learns_office_task_1_optimally():
    agent = train(1, 8000, counterfactual=True)
    assert greedy_steps(agent, 1) == 15  # the shortest route: breadth-first search


def test_same_seed_same_q_tables():
    a, b = train(2, 1500, True, seed=3), train(2, 1500, True, seed=3)
    np.testing.assert_array_equal(a.q, b.q)


@pytest.mark.slow
@pytest.mark.parametrize("task, optimum", [(1, 15), (2, 29), (3, 29), (4, 30)])
def test_crm_learns_every_office_task_optimally(task, optimum):
    agent = train(task, 40_000, counterfactual=True)
    assert greedy_steps(agent, task) == optimum


def test_machine_values_by_hand():
    rm = office_machine(4)  # patrol: four steps in the machine, the last pays 1
    v = machine_values(rm, 0.9)
    assert v[rm.index["go_a"]] == pytest.approx(0.9**3)
    assert v[rm.index["go_d"]] == pytest.approx(1.0)
    assert v[rm.index["patrolled"]] == 0.0
    np.testing.assert_allclose(machine_potential(rm, 0.9, sign=+1), v)


@settings(max_examples=40, deadline=None)
@given(
    rewards=st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3),
    gamma=st.floats(0.1, 0.99),
)
def test_shaping_telescopes_over_any_machine_path(rewards, gamma):
    """Potential shaping adds gamma^T phi(u_T) - phi(u_0) to the discounted return (Ng et al.)."""
    rm = parse_machine(
        "initial: a\nterminal: [d]\nedges:\n"
        f"  - {{from: a, to: b, when: x, reward: {rewards[0]}}}\n"
        f"  - {{from: b, to: c, when: x, reward: {rewards[1]}}}\n"
        f"  - {{from: c, to: d, when: x, reward: {rewards[2]}}}\n"
    )
    phi = machine_potential(rm, gamma)
    u, ret, shaped = 0, 0.0, 0.0
    for t, labels in enumerate([set(), {"x"}, set(), {"x"}, {"x"}]):
        u2, r = rm.step(u, labels)
        phi2 = 0.0 if rm.is_terminal[u2] else phi[u2]
        ret += gamma**t * r
        shaped += gamma**t * (r + gamma * phi2 - phi[u])
        u = u2
    assert rm.is_terminal[u]
    assert shaped == pytest.approx(ret - phi[0], abs=1e-9)


def test_dqn_is_deterministic_per_seed():
    import torch

    from rewardshaping.envs.water import WaterWorld, water_machine
    from rewardshaping.machines.dqn import CounterfactualDQN, DQNConfig

    def run():
        env = RewardMachineEnv(WaterWorld(), water_machine(1), obs_mode="onehot")
        dim = env.observation_space.shape[0]
        agent = CounterfactualDQN(dim, 5, DQNConfig(learning_starts=16, batch_size=8), seed=1)
        obs, _ = env.reset(seed=1)
        for _ in range(40):
            a = agent.act(obs)
            obs, *_ = env.step(a)
            agent.observe(env.counterfactual_experiences())
        return [p.detach().clone() for p in agent.q.parameters()]

    for p, q in zip(run(), run(), strict=True):
        assert torch.equal(p, q)


def test_dqn_learns_the_values_of_a_two_state_chain():
    """Q(A, go) = gamma, Q(A, stay) = gamma^2, Q(B, finish) = 1, Q(B, wait) = gamma."""
    import torch

    from rewardshaping.machines.dqn import CounterfactualDQN, DQNConfig
    from rewardshaping.machines.product import CounterfactualBatch

    rng = np.random.default_rng(0)
    agent = CounterfactualDQN(
        2, 2, DQNConfig(learning_starts=32, epsilon=1.0, target_every=50), seed=0
    )
    a_obs, b_obs = np.array([[1, 0]], np.float32), np.array([[0, 1]], np.float32)
    zero = np.zeros(1, int)
    for _ in range(2500):
        act = int(rng.integers(2))
        if rng.random() < 0.5:  # in A: action 0 moves to B, action 1 stays
            nxt = b_obs if act == 0 else a_obs
            batch = CounterfactualBatch(
                a_obs, np.array([act]), np.zeros(1, np.float32), nxt, np.zeros(1, bool), zero, zero
            )
        else:  # in B: action 1 ends with reward 1, action 0 waits
            batch = CounterfactualBatch(
                b_obs,
                np.array([act]),
                np.array([float(act)], np.float32),
                b_obs,
                np.array([act == 1]),
                zero,
                zero,
            )
        agent.observe(batch)
    with torch.no_grad():
        q = agent.q(torch.tensor(np.concatenate([a_obs, b_obs]))).numpy()
    np.testing.assert_allclose(q, [[0.9, 0.81], [0.9, 1.0]], atol=0.05)

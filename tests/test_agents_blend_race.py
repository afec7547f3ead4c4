"""The outer loop over blends (successive halving on the primary return)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rewardshaping.agents.blend_race import race, recent_primary_return


class Scripted:
    """A stand-in learner whose primary return after k iterations is ``returns[k]``: the race's
    bookkeeping (who trains how long, who survives) is what is under test, not learning."""

    def __init__(self, returns: list[float], num_envs: int = 2, num_steps: int = 8) -> None:
        self.returns = returns
        self.config = SimpleNamespace(num_iterations=len(returns) - 1)
        self.iteration = 0
        self.global_step = 0
        self.batch = num_envs * num_steps
        self.calls: list[int] = []

    def learn(self, max_iterations=None, callback=None):
        self.calls.append(max_iterations)
        for _ in range(max_iterations):
            self.iteration += 1
            self.global_step += self.batch
            if callback is not None:
                callback(self, {})
        return self

    @property
    def episodes(self):
        value = self.returns[self.iteration]
        return SimpleNamespace(recent=lambda: {"episode/return_mean": value})


def test_the_best_candidate_at_the_rung_trains_to_the_end_and_the_others_stop():
    a = Scripted([0.0] * 9)  # a misleading blend: never any primary return
    b = Scripted([0.0, 0.1, 0.3, 0.5, 0.8, 0.9, 0.9, 0.9, 0.9])
    c = Scripted([0.0, 0.0, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3])
    result = race([a, b, c], rungs=(0.25,), keep=0.3)
    assert result.winner == 1
    assert (a.iteration, b.iteration, c.iteration) == (2, 8, 2)
    assert result.env_steps == (2 + 8 + 2) * 16
    assert result.rounds[0].scores == {0: 0.0, 1: 0.3, 2: 0.1}
    assert result.rounds[0].survivors == [1]


def test_two_rungs_halve_twice_and_a_final_comparison_breaks_a_two_way_tie():
    curves = [[0.1 * k * s for k in range(9)] for s in (1, 2, 3, 4)]
    agents = [Scripted(c) for c in curves]
    result = race(agents, rungs=(0.25, 0.5), keep=0.5)
    assert [r.survivors for r in result.rounds] == [[2, 3], [3]]
    assert [a.iteration for a in agents] == [2, 2, 4, 8]
    assert result.winner == 3


def test_ties_go_to_the_smaller_tie_break_value():
    agents = [Scripted([0.0] * 5) for _ in range(3)]
    result = race(agents, rungs=(0.5,), keep=0.34, tie_break=[1.0, 0.02, 0.5])
    assert result.winner == 1  # e.g. the candidate with the least initial heuristic weight
    result = race([Scripted([0.0] * 5) for _ in range(3)], rungs=(0.5,), keep=0.34)
    assert result.winner == 0  # default: the first candidate


def test_callback_receives_the_candidate_index():
    seen = []
    agents = [Scripted([0.0, 1.0, 1.0, 1.0, 1.0]), Scripted([0.0] * 5)]
    race(agents, rungs=(0.5,), callback=lambda i, agent, stats: seen.append((i, agent.iteration)))
    assert seen == [(0, 1), (0, 2), (1, 1), (1, 2), (0, 3), (0, 4)]


def test_a_candidate_without_finished_episodes_scores_zero_not_nan():
    agent = SimpleNamespace(
        episodes=SimpleNamespace(recent=lambda: {"episode/return_mean": float("nan")})
    )
    assert recent_primary_return(agent) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rungs": (0.5, 0.25)}, "increasing fractions"),
        ({"rungs": (1.0,)}, "increasing fractions"),
        ({"keep": 0.0}, "keep must be"),
        ({"tie_break": [0.0]}, "tie_break has 1 entries for 2"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(kwargs, message):
    agents = [Scripted([0.0] * 5), Scripted([0.0] * 5)]
    with pytest.raises(ValueError, match=message):
        race(agents, **kwargs)
    assert all(a.iteration == 0 for a in agents)


def test_candidates_with_different_budgets_or_none_are_refused():
    with pytest.raises(ValueError, match="share one budget"):
        race([Scripted([0.0] * 5), Scripted([0.0] * 9)])
    with pytest.raises(ValueError, match="at least one"):
        race([])


def test_race_with_real_ppo_agents_keeps_the_learner():
    """Two real PPO agents on CartPole, one with a negligible learning rate: the race returns the
    one that learns, trained for the whole budget."""
    from rewardshaping.agents.ppo import PPO, PPOConfig

    def make(lr):
        return PPO(PPOConfig(num_envs=4, num_steps=64, total_timesteps=16_384,
                             learning_rate=lr, device="cpu", seed=0))  # fmt: skip

    result = race([make(1e-12), make(2.5e-3)], rungs=(0.5,))
    assert result.winner == 1
    assert result.agents[1].global_step == 16_384
    assert result.agents[0].global_step == 8_192
    assert result.rounds[0].scores[1] > result.rounds[0].scores[0]

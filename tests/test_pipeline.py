import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping import (
    ExponentialDecay,
    FunctionTerm,
    Gate,
    LinearDecay,
    MultiplicativePenalty,
    Replace,
    RewardPipeline,
    RewardTerm,
    RewardTermError,
    StepPenalty,
)


def step(p, reward, terminated=None, active=None, obs=None):
    n = p.num_envs
    obs = np.zeros((n, 1)) if obs is None else obs
    return p.step(
        obs,
        np.zeros(n),
        obs,
        np.asarray(reward, np.float32),
        np.zeros(n, bool) if terminated is None else np.asarray(terminated),
        np.zeros(n, bool),
        {},
        active,
    )


def const(value, name):
    return FunctionTerm(lambda b: np.full(b.num_envs, value), name=name)


def test_weighted_sum_reports_weighted_values():
    p = RewardPipeline(
        {"a": const(1.0, "a"), "b": const(2.0, "b")}, 2, weight={"a": 0.5, "b": -1.0}
    )
    out = step(p, [1.0, 0.0])
    assert out.reward.tolist() == [-0.5, -1.5]
    assert out.values["a"].tolist() == [0.5, 0.5] and out.values["b"].tolist() == [-2.0, -2.0]
    assert out.reward.dtype == np.float32


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=8), st.floats(-3, 3))
@settings(max_examples=50, deadline=None)
def test_weighted_sum_equals_env_plus_terms(rewards, w):
    n = len(rewards)
    p = RewardPipeline(StepPenalty(-0.25), n, weight=w)
    out = step(p, rewards)
    np.testing.assert_allclose(out.reward, out.env_reward + out.values["step_penalty"], rtol=1e-6)


def test_replace_multiplicative_gate():
    p = RewardPipeline([const(0.5, "a")], 1, composer=Replace())
    assert step(p, [10.0]).reward.tolist() == [0.5]
    p = RewardPipeline(
        [const(0.25, "crash"), const(1.0, "bonus")], 1, composer=MultiplicativePenalty(["crash"])
    )
    assert step(p, [1.0]).reward.tolist() == [1.5]  # (1 + 1) * (1 - 0.25)
    p = RewardPipeline(
        [FunctionTerm(lambda b: b.obs[:, 0], name="g"), const(1.0, "s")], 2, composer=Gate("g", 0.5)
    )
    out = step(p, [0.0, 0.0], obs=np.array([[1.0], [0.0]]))
    assert out.reward.tolist() == [1.0, 0.0]


def test_composer_unknown_name():
    with pytest.raises(ValueError, match="unknown term.*'nope'"):
        RewardPipeline([const(1.0, "a")], 1, composer=Gate("nope"))


def test_schedules_follow_real_steps_only():
    p = RewardPipeline(StepPenalty(-1.0), 2, weight=LinearDecay(1.0, 0.0, steps=4))
    assert step(p, [0, 0]).values["step_penalty"].tolist() == [-1.0, -1.0]
    # one inactive entry: only one real step is counted
    step(p, [0, 0], active=np.array([True, False]))
    assert p.global_step == 3
    assert step(p, [0, 0]).values["step_penalty"].tolist() == pytest.approx([-0.25, -0.25])
    assert ExponentialDecay(2.0, 0.1)(3) == pytest.approx(2.0 * 0.9**3)


def test_inactive_entries_never_pay():
    p = RewardPipeline(StepPenalty(-1.0), 3)
    out = step(p, [0, 0, 0], active=np.array([True, False, True]))
    assert out.values["step_penalty"].tolist() == [-1.0, 0.0, -1.0]
    assert out.reward.tolist() == [-1.0, 0.0, -1.0]


def test_episode_sums_and_reset():
    p = RewardPipeline(StepPenalty(-1.0), 2)
    step(p, [1.0, 1.0])
    out = step(p, [2.0, 2.0], terminated=[True, False])
    assert out.ended.tolist() == [True, False]
    assert out.episode_sums["env_reward"].tolist() == [3.0, 0.0]
    assert out.episode_sums["step_penalty"].tolist() == [-2.0, 0.0]
    assert out.episode_lengths.tolist() == [2, 0]
    p.reset(np.array([True, False]))
    out = step(p, [0.0, 0.0], terminated=[True, True])
    assert out.episode_sums["env_reward"].tolist() == [0.0, 3.0]
    assert out.episode_lengths.tolist() == [1, 3]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_raises_with_term_and_index(bad):
    t = FunctionTerm(lambda b: np.array([0.0, 0.0, bad]), name="broken")
    p = RewardPipeline(t, 3)
    with pytest.raises(RewardTermError, match=r"'broken'.*env index 2"):
        step(p, [0, 0, 0])


def test_non_finite_clip_and_zero_warn_once():
    t = FunctionTerm(lambda b: np.array([np.nan, np.inf, -np.inf, 1.0]), name="broken")
    p = RewardPipeline(t, 4, on_invalid="clip", clip_range=(-5, 5))
    with pytest.warns(RuntimeWarning, match="broken"):
        out = step(p, [0] * 4)
    assert out.values["broken"].tolist() == [0.0, 5.0, -5.0, 1.0]
    # Finite values are the term's own, whatever the other envs returned.
    big = FunctionTerm(lambda b: np.array([5000.0, 5000.0, np.nan, 5000.0]), name="big")
    p = RewardPipeline(big, 4, on_invalid="clip", clip_range=(-5, 5))
    with pytest.warns(RuntimeWarning, match="big"):
        assert step(p, [0] * 4).values["big"].tolist() == [5000.0, 5000.0, 0.0, 5000.0]
    p = RewardPipeline(t, 4, on_invalid="zero")
    with pytest.warns(RuntimeWarning):
        assert step(p, [0] * 4).values["broken"].tolist() == [0.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="on_invalid"):
        RewardPipeline(t, 4, on_invalid="ignore")


def test_nan_on_inactive_entry_is_ignored():
    t = FunctionTerm(lambda b: np.where(b.active, 1.0, np.nan), name="pot")
    out = step(RewardPipeline(t, 2), [0, 0], active=np.array([True, False]))
    assert out.values["pot"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    "value, match",
    [
        (np.zeros(2), r"shape \(2,\); expected \(3,\)"),
        (np.zeros((3, 1)), r"shape \(3, 1\); expected \(3,\)"),
        (1.0, r"shape \(\); expected \(3,\)"),
        (np.array(["a", "b", "c"]), "dtype <U1"),
        (np.array([None, None, None]), "dtype object"),
    ],
)
def test_wrong_shape_or_dtype(value, match):
    p = RewardPipeline(FunctionTerm(lambda b: value, name="t"), 3)
    with pytest.raises(RewardTermError, match=match):
        step(p, [0, 0, 0])


def test_torch_and_int_outputs_accepted():
    p = RewardPipeline(
        [
            FunctionTerm(lambda b: torch.ones(2), name="t"),
            FunctionTerm(lambda b: np.array([1, 2]), name="i"),
        ],
        2,
    )
    out = step(p, [0, 0])
    assert out.values["t"].dtype == np.float32 and out.values["i"].tolist() == [1.0, 2.0]


def test_bad_construction():
    with pytest.raises(ValueError, match="unique"):
        RewardPipeline([StepPenalty(), StepPenalty()], 1)
    with pytest.raises(TypeError, match="RewardTerm or a callable"):
        RewardPipeline([3], 1)
    with pytest.raises(ValueError, match="2 weights for 1 terms"):
        RewardPipeline([StepPenalty()], 1, weight=[1, 2])
    with pytest.raises(ValueError, match="unknown term"):
        RewardPipeline([StepPenalty()], 1, weight={"x": 1})
    with pytest.raises(ValueError, match="reserved"):
        RewardPipeline({"env_reward": StepPenalty()}, 1)
    with pytest.raises(ValueError, match=r"env reward has shape \(3,\); expected \(2,\)"):
        RewardPipeline(StepPenalty(), 2).step(0, 0, 0, np.zeros(3), np.zeros(2), np.zeros(2))


def test_update_and_state_dict_roundtrip():
    class Counting(RewardTerm):
        name = "c"

        def __init__(self):
            super().__init__()
            self.n = 0

        def __call__(self, b):
            self.n += int(b.active.sum())
            return np.zeros(b.num_envs)

        def update(self, rollout):
            return {"n": self.n}

        def state_dict(self):
            return {"n": self.n}

        def load_state_dict(self, s):
            self.n = s["n"]

    p = RewardPipeline(Counting(), 2)
    step(p, [1, 1])
    state = p.state_dict()
    q = RewardPipeline(Counting(), 2)
    q.load_state_dict(state)
    assert q.terms[0].n == 2 and q.global_step == 2
    assert q.update(None) == {"c/n": 2}


def test_non_finite_weights_and_overflowing_products_are_errors_naming_the_term():
    # The weight was applied after the term's output had been checked: a schedule returning
    # NaN, or a finite weight times a finite reward beyond float32, gave NaN/inf rewards silently.
    args = (np.zeros(2), np.zeros(2), np.zeros(2), np.ones(2), np.zeros(2, bool), np.zeros(2, bool))
    nan_late = lambda t: float("nan") if t >= 2 else 1.0  # noqa: E731
    p = RewardPipeline(StepPenalty(-1.0), num_envs=2, weight=nan_late)
    p.step(*args)
    with pytest.raises(ValueError, match="at step 2 must be finite"):
        p.step(*args)
    p = RewardPipeline(StepPenalty(-1e30), num_envs=2, weight=1e10)
    with pytest.raises(RewardTermError, match=r"'step_penalty' times its weight .* env index 0"):
        p.step(*args)
    p = RewardPipeline(StepPenalty(-1e30), num_envs=2, weight=1e10, on_invalid="clip")
    with pytest.warns(RuntimeWarning, match="non-finite"):
        out = p.step(*args)
    assert np.isfinite(out.reward).all() and (out.reward < 0).all()

"""Count-based bonus terms: formulas, state keys, autoreset handling through ShapedVectorEnv,
checkpoints and bad input."""

from __future__ import annotations

from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from rewardshaping import ShapedVectorEnv, Transitions
from rewardshaping.counting import (
    CounterMemoryError,
    CountMinSketch,
    EpisodicCounter,
    ExactCounter,
)
from rewardshaping.intrinsic import (
    CountBonus,
    EpisodicCountBonus,
    FunctionKey,
    GlobalEpisodicCountBonus,
    InfoKey,
    KeyUnavailableError,
    NovelDCount,
    ObsKey,
    SimHashKey,
    UniformBins,
)


def batch(next_obs, obs=None, active=None, infos=None, terminated=None):
    next_obs = np.asarray(next_obs)
    obs = np.zeros_like(next_obs) if obs is None else np.asarray(obs)
    n = next_obs.shape[0]
    return Transitions.from_arrays(
        obs, np.zeros(n, int), next_obs, np.zeros(n), terminated=terminated, active=active,
        infos=infos,
    )  # fmt: skip


def test_lifelong_formulas():
    sq, inv = CountBonus(beta=2.0), CountBonus(beta=2.0, mode="inverse")
    b = batch([[1], [1], [1], [2]])
    np.testing.assert_allclose(sq(b), 2.0 / np.sqrt([1, 2, 3, 1]), rtol=1e-6)
    np.testing.assert_allclose(inv(b), 2.0 / np.array([1, 2, 3, 1]), rtol=1e-6)
    assert sq(b).dtype == np.float32 and sq.intrinsic


def test_bonus_is_paid_at_next_obs_not_obs():
    bonus = CountBonus()
    bonus(batch([[5]], obs=[[0]]))
    assert bonus.counter.lookup(np.array([[5], [0]])).tolist() == [1, 0]


def test_inactive_entries_are_neither_counted_nor_paid():
    terms = [CountBonus(), EpisodicCountBonus(), GlobalEpisodicCountBonus(), NovelDCount()]
    b = batch([[1], [1]], active=[False, True])
    for term in terms:
        out = term(b)
        assert out[0] == 0.0 and out[1] > 0, type(term).__name__
    assert terms[0].counter.total == 1 and terms[1].episodic.sizes.tolist() == [0, 1]


def test_episodic_formulas_and_reset():
    sq, fv = EpisodicCountBonus(beta=3.0), EpisodicCountBonus(mode="first_visit")
    b = batch([[1], [2]])
    for _ in range(3):
        s, f = sq(b), fv(b)
    np.testing.assert_allclose(s, 3.0 / np.sqrt([3, 3]), rtol=1e-6)
    assert f.tolist() == [0.0, 0.0]
    sq.reset(np.array([False, True]))
    fv.reset(np.array([False, True]))
    np.testing.assert_allclose(sq(b), 3.0 / np.sqrt([4, 1]), rtol=1e-6)
    assert fv(b).tolist() == [0.0, 1.0]


def test_global_times_episodic():
    term = GlobalEpisodicCountBonus(beta=1.0, episodic="first_visit")
    b = batch([[7], [7]])
    np.testing.assert_allclose(term(b), [1.0, 1.0 / np.sqrt(2)], rtol=1e-6)  # N=1,2; N_ep=1,1
    assert term(b).tolist() == [0.0, 0.0]  # second visit in each episode
    term.reset(np.array([True, True]))
    np.testing.assert_allclose(term(b), 1 / np.sqrt([5, 6]), rtol=1e-6)


def test_noveld_formula():
    term = NovelDCount(alpha=0.5, beta=2.0)
    # Warm up counts: state 1 seen 3 times, state 2 never.
    for _ in range(3):
        term(batch([[1]], obs=[[0]]))
    term.reset(np.array([True]))
    # s = 1 (N = 3), s' = 2 (new): 2 * max(1 - 0.5 / sqrt(3), 0) * 1[first visit]
    np.testing.assert_allclose(term(batch([[2]], obs=[[1]])), [2 * (1 - 0.5 / np.sqrt(3))])
    # back to 1: N(1) = 4, N(2) = 1: 1/2 - 0.5 < 0 -> 0
    assert term(batch([[1]], obs=[[2]])).tolist() == [0.0]
    # a state already seen this episode pays nothing, however novel
    term2 = NovelDCount()
    term2(batch([[9]], obs=[[0]]))
    assert term2(batch([[9]], obs=[[0]])).tolist() == [0.0]


def test_noveld_with_info_key_uses_previous_key():
    term = NovelDCount(InfoKey("pos"))
    info = {"pos": np.array([[3]]), "_pos": np.array([True])}
    first = term(batch([[0]], infos=info))  # nov(s) unknown -> 1: max(1 - 0.5, 0)
    assert first.tolist() == [0.5]
    assert term._prev_valid.tolist() == [True]
    term.reset(np.array([True]))
    assert term._prev_valid.tolist() == [False]


@pytest.mark.parametrize("cls", [GlobalEpisodicCountBonus, NovelDCount])
def test_a_batch_refused_by_one_table_is_counted_in_neither(cls):
    term = cls(counter=ExactCounter(capacity=4, max_bytes=200))  # room for 2 keys of 8 bytes
    term(batch([[7], [7]]))

    def same_counts():
        assert term.counter.lookup(np.array([[7]])).tolist() == [2]
        assert term.episodic.lookup(np.array([[7], [7]])).tolist() == [1, 1]

    with pytest.raises(ValueError, match="one term per vector env"):
        term(batch([[7], [7], [7]]))  # the episodic tables are for 2 envs
    same_counts()
    with pytest.raises(CounterMemoryError):  # the lifelong table's cap
        term(batch([[1], [2]]))
    same_counts()
    # The episodic tables' cap, hit after the lifelong table could have counted.
    small = EpisodicCounter(2, capacity=2, max_bytes=130)  # one key per env
    small.update(np.array([[7], [7]]))
    term.counter, term.episodic = ExactCounter(), small
    term.counter.update(np.array([[7], [7]]))
    with pytest.raises(CounterMemoryError):
        term(batch([[1], [2]]))
    if cls is NovelDCount:
        with pytest.raises(ValueError, match="NaN"):  # a bad s, found after s' was keyed
            term(batch([[7.0], [7.0]], obs=[[np.nan], [0.0]]))
    same_counts()
    # A state refused halfway (episodic tables for 3 envs) changes neither table.
    other = cls()
    other(batch([[5], [5], [5]]))
    with pytest.raises(ValueError, match="one term per vector env"):
        term.load_state_dict(other.state_dict())
    same_counts()


def test_noveld_does_not_take_an_unreported_dummy_row_for_s():
    # Key 0 is visited twice; the episode ends; the NEXT_STEP dummy row's reset info lacks
    # "pos" (Gymnasium fills 0, with _pos False). The next step's s is then unknown (nov 1,
    # bonus 1 - 0.5 = 0.5), not state 0 (nov 1/sqrt(2), bonus 0.646).
    def step(pos, active=True, reported=True):
        info = {"pos": np.array([[pos]]), "_pos": np.array([reported])}
        return term(batch([[0]], infos=info, active=[active]))

    term = NovelDCount(InfoKey("pos"))
    step(0), step(0)
    term.reset(np.array([True]))
    step(0, active=False, reported=False)
    assert term._prev_valid.tolist() == [False]
    np.testing.assert_allclose(step(5), [0.5])


def test_keys():
    b = batch(np.array([[0.05, -1.0, 3.0], [0.07, 0.99, 3.0]]))
    assert UniformBins(-1.0, 1.0, 10)(b).tolist() == [[5, 0, 9], [5, 9, 9]]
    assert UniformBins([-1, -1, 0], [1, 1, 6], [2, 2, 3])(b).tolist() == [[1, 0, 1], [1, 1, 1]]
    # Far out of range (past int64 once scaled, or overflowing to inf): still the edge bins.
    far = batch(np.array([[2.0], [1e19], [1e300], [1.7e308], [-1e19], [-1.7e308]]))
    assert UniformBins(-1.0, 1.0, 10)(far)[:, 0].tolist() == [9, 9, 9, 9, 0, 0]
    assert FunctionKey(lambda o: o[:, 2])(b).tolist() == [3.0, 3.0]
    d = batch(np.zeros((2, 1)))
    d = Transitions.from_arrays({"a": np.zeros((2, 1)), "b": np.ones((2, 2))}, [0, 0],
                                {"a": np.zeros((2, 1)), "b": np.ones((2, 2))}, [0, 0])  # fmt: skip
    assert ObsKey("b")(d).shape == (2, 2)
    with pytest.raises(ValueError, match="pass field"):
        ObsKey()(d)
    with pytest.raises(KeyError, match="'c'"):
        ObsKey("c")(d)
    codes = SimHashKey(dim=3, bits=16)(b)
    assert codes.shape == (2, 2)
    with pytest.raises(KeyUnavailableError):
        InfoKey("pos")(b, "obs")
    # Gymnasium stores tuples in object arrays: numeric tuples are stacked.
    obj = np.empty(2, dtype=object)
    obj[:] = [(1, 2), (3, 4)]
    info = batch([[0], [0]], infos={"pos": obj, "_pos": np.array([True, True])})
    assert InfoKey("pos")(info).tolist() == [[1, 2], [3, 4]]
    two = batch([[0], [0]], infos={"p": np.array([[1, 2], [3, 4]]), "d": np.array([0, 3])})
    assert InfoKey("p", "d")(two).tolist() == [[1, 2, 0], [3, 4, 3]]
    # SAME_STEP: env 0 finished; its top-level info is the next episode's reset info, so its
    # s' value must come from final_info. If final_info lacks it, that is an error, not the
    # reset state's value counted as s'.
    top = {"pos": np.array([[0], [5]]), "_pos": np.array([True, True]),
           "_final_info": np.array([True, False])}  # fmt: skip
    fin = batch(
        [[0], [0]],
        terminated=[True, False],
        infos={**top, "final_info": {"pos": np.array([[9], [0]]), "_pos": np.array([True, False])}},
    )
    assert InfoKey("pos")(fin).tolist() == [[9], [5]]
    lost = batch(
        [[0], [0]],
        terminated=[True, False],
        infos={**top, "final_info": {"x": np.array([1, 0]), "_x": np.array([True, False])}},
    )
    with pytest.raises(KeyError, match=r"final_info.*env indices \[0\]"):
        InfoKey("pos")(lost)


def test_bad_input_is_refused():
    objs = np.empty(2, dtype=object)
    objs[:] = [{"a": 1}, {"b": 2}]
    with pytest.raises(TypeError, match="numeric"):
        CountBonus()(batch(objs))
    with pytest.raises(TypeError, match="numeric"):
        CountBonus()(batch(np.array(["a", "b"])))
    nan = batch(np.array([[0.1, 0.2], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"env indices \[1\]"):
        CountBonus(UniformBins(-1, 1, 4))(nan)
    with pytest.raises(ValueError, match="NaN"):
        CountBonus(SimHashKey(2))(nan)
    with pytest.raises(ValueError, match="NaN"):
        CountBonus()(nan)
    # NaN on an inactive (dummy) row is never counted, so it is not an error.
    inactive_nan = batch(np.array([[0.1, 0.2], [np.nan, 0.0]]), active=[True, False])
    assert CountBonus(UniformBins(-1, 1, 4))(inactive_nan).tolist() == [1.0, 0.0]
    capped = CountBonus(counter=ExactCounter(max_bytes=4096 * 24))
    with pytest.raises(CounterMemoryError):
        capped(batch(np.arange(3000).reshape(-1, 1)))
    with pytest.raises(ValueError, match="beta"):
        CountBonus(beta=float("nan"))
    with pytest.raises(ValueError, match="mode"):
        CountBonus(mode="log")
    with pytest.raises(TypeError, match="counter"):
        CountBonus(counter=object())
    with pytest.raises(ValueError, match="one term per vector env"):
        term = EpisodicCountBonus()
        term(batch([[1], [2]]))
        term(batch([[1], [2], [3]]))


def test_state_dict_round_trip_continues_identically():
    for make in (
        lambda: CountBonus(),
        lambda: CountBonus(counter=CountMinSketch(widths=[101, 103])),
        lambda: EpisodicCountBonus(),
        lambda: GlobalEpisodicCountBonus(),
        lambda: NovelDCount(),
    ):
        rng = np.random.default_rng(0)
        a = make()
        for _ in range(5):
            a(batch(rng.integers(0, 4, (3, 1)), obs=rng.integers(0, 4, (3, 1))))
        b = make()
        b.load_state_dict(a.state_dict())
        for _ in range(5):
            nb = batch(rng.integers(0, 4, (3, 1)), obs=rng.integers(0, 4, (3, 1)))
            np.testing.assert_array_equal(a(nb), b(nb))
            mask = rng.random(3) < 0.3
            a.reset(mask)
            b.reset(mask)


# -- through ShapedVectorEnv -------------------------------------------------------------------


class Chain(gym.Env):
    """Observation = position on a line (int), +1 per step; episodes of 3 steps."""

    observation_space = gym.spaces.Box(0, 100, (1,), np.int64)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.start = int(self.np_random.integers(0, 3))
        return np.array([self.start]), {"pos": np.array([self.start])}

    def step(self, action):
        self.t += 1
        pos = self.start + self.t
        return np.array([pos]), 0.0, self.t >= 3, False, {"pos": np.array([pos])}


class StepInfoChain(Chain):
    """Chain whose env reports ``pos`` from step() only, as a tuple (an object-dtype info)."""

    def reset(self, *, seed=None, options=None):
        return super().reset(seed=seed)[0], {}

    def step(self, action):
        obs, r, term, trunc, _ = super().step(action)
        return obs, r, term, trunc, {"pos": (int(obs[0]),)}


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("key", ["obs", "info", "step_info"])
def test_counts_through_vector_env_skip_dummy_steps(mode, key):
    # "step_info": the key is in the infos of step() only, as a tuple. A SAME_STEP env's
    # top-level info of a finished env is then the reset info, without the key (its s' value is
    # in final_info), and a NEXT_STEP dummy row holds None.
    n = 4
    envs = SyncVectorEnv([StepInfoChain if key == "step_info" else Chain for _ in range(n)],
                         autoreset_mode=mode)  # fmt: skip
    lifelong = CountBonus(ObsKey() if key == "obs" else InfoKey("pos"), name="life")
    first = EpisodicCountBonus(ObsKey() if key == "obs" else InfoKey("pos"), mode="first_visit",
                               name="first")  # fmt: skip
    shaped = ShapedVectorEnv(envs, [lifelong, first])
    ref: Counter = Counter()
    obs, _ = shaped.reset(seed=0)
    pending = np.zeros(n, bool)
    for _ in range(20):
        obs, _, term, trunc, info = shaped.step(np.zeros(n, int))
        real = ~pending if mode == AutoresetMode.NEXT_STEP else np.ones(n, bool)
        reached = obs.copy()
        if mode == AutoresetMode.SAME_STEP and (term | trunc).any():
            for i in np.flatnonzero(term | trunc):
                reached[i] = info["final_obs"][i]
        want_life = np.zeros(n)
        for i in range(n):
            if real[i]:
                ref[int(reached[i, 0])] += 1
                want_life[i] = 1 / np.sqrt(ref[int(reached[i, 0])])
        np.testing.assert_allclose(info["reward_terms"]["life"], want_life, rtol=1e-6)
        # Chain positions never repeat within an episode: every real step is a first visit.
        assert info["reward_terms"]["first"].tolist() == real.astype(float).tolist()
        pending = term | trunc
    assert lifelong.counter.total == sum(ref.values())

"""Registry review, round 3: term specs refuse repeated keys and name the term and field in
their errors; suites can hold two terms of one type when they name them; a refused pipeline
load changes nothing and names the term that refused."""

import numpy as np
import pytest

from rewardshaping.agents.term_registry import build_terms, parse_term_spec
from rewardshaping.bench import parse_suite
from rewardshaping.counting import CountMinSketch
from rewardshaping.intrinsic import CountBonus
from rewardshaping.pipeline import RewardPipeline
from rewardshaping.registry import ConfigError, make_term
from rewardshaping.terms import RewardTerm, StepPenalty

# --- term specs: a key given twice ------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, key",
    [
        ("count_bonus:0.1,beta=0.5", "beta"),  # the bare value is beta
        ("count_bonus:beta=0.1,beta=0.5", "beta"),
        ("count_bonus:0.1, beta =0.5", "beta"),  # spaces around the key do not hide it
        ("count_bonus:0.1,weight=1,weight=2", "weight"),
        ("step_penalty:-0.1,value=-0.2", "value"),
    ],
)
def test_a_key_given_twice_is_an_error_naming_the_spec_and_the_key(spec, key):
    with pytest.raises(ValueError, match=rf"{spec!r}.*'{key}' is given twice"):
        parse_term_spec(spec)


def test_keys_given_once_still_parse():
    assert parse_term_spec("count_bonus:0.1,mode=inverse,key=obs,weight=0.5") == (
        "count_bonus",
        {"beta": 0.1, "mode": "inverse", "key": "obs"},
        0.5,
    )


# --- term mappings: `type` for `name`, errors naming the term and field ----------------------


def test_a_mapping_may_spell_the_term_type_as_type_like_suites_do():
    terms, weights = build_terms([{"type": "count_bonus", "beta": 0.2, "weight": 0.5}])
    assert isinstance(terms[0], CountBonus) and terms[0].beta == 0.2
    assert weights == {"count_bonus": 0.5}
    same, _ = build_terms([{"type": "count_bonus", "name": "count_bonus"}])
    assert isinstance(same[0], CountBonus)


def test_name_and_type_that_differ_are_an_error():
    with pytest.raises(ConfigError, match=r"'name' 'explore' and 'type' 'count_bonus' differ"):
        build_terms([{"type": "count_bonus", "name": "explore"}])


def test_a_mapping_without_name_or_type_says_so():
    with pytest.raises(ConfigError, match=r"\{'beta': 0\.1\}: the mapping has no 'name'") as err:
        build_terms([{"beta": 0.1}])
    assert "None" not in str(err.value)


@pytest.mark.parametrize("weight", ["high", True, None, [1]])
def test_a_bad_weight_in_a_mapping_names_the_term_and_the_field(weight):
    with pytest.raises(ValueError, match=r"term \{'name': 'count_bonus'.*weight must be a number"):
        build_terms([{"name": "count_bonus", "weight": weight}])


def test_a_bad_weight_in_a_spec_string_names_the_spec():
    with pytest.raises(ValueError, match=r"'count_bonus:weight=true'.*weight must be a number"):
        parse_term_spec("count_bonus:weight=true")


def test_numeric_weights_still_read_from_strings_and_numbers():
    _, weights = build_terms([{"name": "count_bonus", "weight": "0.5"}, "step_penalty:weight=2"])
    assert weights == {"count_bonus": 0.5, "step_penalty": 2.0}


# --- suites: two terms of one type -----------------------------------------------------------

AGENT = {"backend": "sb3", "algo": "PPO", "n_envs": 2, "kwargs": {"n_steps": 32, "batch_size": 32}}


def suite_with(terms, weight=1.0):
    return {
        "name": "t",
        "budget": 128,
        "eval": {"every": 64, "episodes": 2},
        "seeds": 1,
        "envs": [{"id": "CartPole-v1", "max_score": 500}],
        "methods": [{"name": "m", "agent": AGENT, "terms": terms, "weight": weight}],
    }


def test_make_term_takes_a_reporting_name():
    term = make_term({"type": "count_bonus", "name": "count_pos", "key": "info:pos"})
    assert isinstance(term, CountBonus) and term.name == "count_pos"
    assert make_term({"type": "count_bonus"}).name == "count_bonus"  # default unchanged


@pytest.mark.parametrize("name", ["", "  ", 3, None, ["a"]])
def test_make_term_refuses_a_name_that_is_not_a_non_empty_string(name):
    with pytest.raises(ConfigError, match=r"terms\[1\]\.name: a term's name is a non-empty"):
        make_term({"type": "count_bonus", "name": name}, where="terms[1]")


def test_a_suite_can_use_two_terms_of_one_type_when_it_names_them():
    terms = [
        {"type": "count_bonus"},
        {"type": "count_bonus", "key": "info:pos", "name": "count_pos"},
    ]
    suite = parse_suite(suite_with(terms, weight={"count_bonus": 1.0, "count_pos": 0.5}))
    # What a trainer builds from the suite: the names reach the pipeline.
    built = [make_term(t) for t in suite.methods[0].terms]
    pipeline = RewardPipeline(built, 1, suite.methods[0].weight)
    assert pipeline.names == ["count_bonus", "count_pos"]


def test_unnamed_repeats_in_a_suite_say_to_add_a_name_key():
    terms = [{"type": "count_bonus"}, {"type": "count_bonus", "key": "info:pos"}]
    with pytest.raises(ConfigError, match=r"\['count_bonus'\] repeat.*`name:` key on the term"):
        parse_suite(suite_with(terms))


def test_explicit_names_that_clash_are_not_renamed():
    terms = [{"type": "count_bonus", "name": "c"}, {"type": "step_penalty", "name": "c"}]
    with pytest.raises(ConfigError, match=r"\['c'\] repeat"):
        parse_suite(suite_with(terms))


# --- pipeline loads: all or nothing, naming the term -----------------------------------------


def step(p):
    n = p.num_envs
    obs = np.arange(2 * n).reshape(n, 2)
    p.step(obs, np.zeros(n), obs + 1, np.ones(n), np.zeros(n, bool), np.zeros(n, bool))


def counts_of(term):
    return term.state_dict()["counter"]["counts"].tolist()


def test_a_refused_term_load_changes_nothing_and_names_the_term():
    saved = RewardPipeline(
        [CountBonus(name="first"), CountBonus(counter=CountMinSketch(), name="sketched")], 2
    )
    step(saved)
    step(saved)
    target = RewardPipeline([CountBonus(name="first"), CountBonus(name="sketched")], 2)
    step(target)
    before = (target.global_step, target._episode_step.copy(), target._ep_terms.copy())
    first_counts = counts_of(target.terms[0])
    assert counts_of(saved.terms[0]) != first_counts  # loading 'first' would change it

    with pytest.raises(ValueError, match=r"reward term 'sketched' cannot load") as err:
        target.load_state_dict(saved.state_dict())
    assert type(err.value) is ValueError and isinstance(err.value.__cause__, ValueError)
    assert target.global_step == before[0]
    assert (target._episode_step == before[1]).all() and (target._ep_terms == before[2]).all()
    assert counts_of(target.terms[0]) == first_counts  # the term loaded first was rolled back
    step(target)  # and the pipeline keeps running
    assert target.global_step == before[0] + 2


class _Refusing(RewardTerm):
    """A term whose load fails with an exception type that needs more than a message."""

    class Odd(Exception):
        def __init__(self, code, detail):
            super().__init__(code, detail)

    def __call__(self, batch):
        return np.zeros(batch.num_envs)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        raise self.Odd(7, "no")


class _Keyed(RewardTerm):
    """A term with state read by key, as user terms often write it."""

    def __call__(self, batch):
        return np.zeros(batch.num_envs)

    def state_dict(self):
        return {"n": 0}

    def load_state_dict(self, state):
        self.n = state["n"]


def test_a_term_load_error_keeps_its_type_and_a_key_error_is_named_too():
    saved = RewardPipeline([StepPenalty(name="a"), _Refusing(name="r")], 2).state_dict()
    with pytest.raises(_Refusing.Odd) as err:  # type kept even when it cannot be rebuilt
        RewardPipeline([StepPenalty(name="a"), _Refusing(name="r")], 2).load_state_dict(saved)
    assert any("'r'" in note for note in getattr(err.value, "__notes__", ["'r'"]))

    bad = RewardPipeline(_Keyed(name="k"), 2).state_dict()
    bad["terms"]["k"] = {}  # a malformed term state: KeyError from the term
    with pytest.raises(KeyError, match="reward term 'k' cannot load"):
        RewardPipeline(_Keyed(name="k"), 2).load_state_dict(bad)


def test_bad_saved_counters_are_refused_before_any_term_loads():
    saved = RewardPipeline([CountBonus()], 2)
    step(saved)
    state = saved.state_dict()
    state["ep_terms"] = np.zeros((3, 2))
    target = RewardPipeline([CountBonus()], 2)
    with pytest.raises(ValueError, match=r"'ep_terms' has shape \(3, 2\)"):
        target.load_state_dict(state)
    assert counts_of(target.terms[0]) == [] and target.global_step == 0


def test_a_good_load_still_restores_everything():
    saved = RewardPipeline([CountBonus(name="a"), CountBonus(name="b")], 2)
    step(saved)
    target = RewardPipeline([CountBonus(name="a"), CountBonus(name="b")], 2)
    target.load_state_dict(saved.state_dict())
    assert target.global_step == saved.global_step
    assert counts_of(target.terms[1]) == counts_of(saved.terms[1])

"""Benchmark review, round 3: reports keep every finished run (tasks with different run counts)
and say which methods are incomplete without changing the base method; the index trusts only
checksummed metrics and survives malformed ones; method and env names are path-safe and unique
as folders."""

import json
from pathlib import Path

import numpy as np
import pytest

from rewardshaping.bench import aggregate as agg
from rewardshaping.bench import parse_suite
from rewardshaping.bench.aggregate import RaggedScores
from rewardshaping.bench.report import write_report
from rewardshaping.bench.store import RunFolder, atomic_write, read_metrics, write_index
from rewardshaping.registry import ConfigError

# --- aggregate: tasks with different run counts ---------------------------------------------

RNG = np.random.default_rng(7)
EQUAL = [RNG.uniform(-0.2, 1.3, size=(n, t)) for n, t in ((3, 2), (10, 3), (20, 4), (130, 2))]


@pytest.mark.parametrize("matrix", EQUAL)
def test_ragged_scores_with_equal_counts_give_the_matrix_results_bit_for_bit(matrix):
    # The report builds its scores as np.array(per_task).T; a RaggedScores of the same columns
    # must reduce in the same order, so reports of complete sweeps do not change.
    cols = [matrix[:, t].copy() for t in range(matrix.shape[1])]
    ref, ragged = np.array(cols).T, RaggedScores(cols)
    for fn in agg.METRICS.values():
        assert fn(ragged) == fn(ref)
    assert agg.interval_estimates({"m": ragged}, reps=200) == agg.interval_estimates(
        {"m": ref}, reps=200
    )
    other = [c[::-1] * 0.9 for c in cols]
    assert agg.probability_of_improvement_ci(
        ragged, RaggedScores(other), reps=200
    ) == agg.probability_of_improvement_ci(ref, np.array(other).T, reps=200)


def test_ragged_point_estimates_use_every_run():
    a, b = [0.1, 0.2, 0.3, 0.9], [0.5, 0.6]
    s = RaggedScores([a, b])
    assert agg.mean(s) == pytest.approx((np.mean(a) + np.mean(b)) / 2)  # 0.4625, was 0.35
    assert agg.median(s) == pytest.approx((np.mean(a) + np.mean(b)) / 2)
    pooled = np.array(a + b)
    assert agg.iqm(s) == pytest.approx(np.sort(pooled)[1:5].mean())  # 25% of 6 -> 1 each end
    assert agg.optimality_gap(s) == pytest.approx(np.mean(1 - np.minimum(pooled, 1)))
    # P(X > Y) per task over each task's own runs, then averaged over tasks.
    y = RaggedScores([[0.25], [0.55, 0.55, 0.7]])
    want = (np.mean([0, 0, 1, 1]) + np.mean([0, 0, 0, 1, 1, 0])) / 2
    assert agg.probability_of_improvement(s, y) == pytest.approx(want)


def test_ragged_bootstrap_resamples_each_task_within_its_own_runs():
    s = RaggedScores([[0.0, 1.0, 2.0, 3.0], [10.0, 11.0]])
    rng = np.random.default_rng(0)
    seen = [set(), set()]
    for _ in range(200):
        r = agg._resample(s, rng)
        assert r.counts.tolist() == [4, 2]
        for t in range(2):
            seen[t] |= set(r.task(t).tolist())
    assert seen == [{0.0, 1.0, 2.0, 3.0}, {10.0, 11.0}]
    lo, hi = agg.stratified_bootstrap_ci(s, agg.mean, reps=300)
    assert lo <= agg.mean(s) <= hi
    p, lo, hi = agg.probability_of_improvement_ci(s, RaggedScores([[1.5], [10.5, 10.5]]), reps=50)
    assert lo <= p <= hi


@pytest.mark.parametrize(
    "per_task, match",
    [
        (np.zeros((3, 2)), "one array of runs per task"),
        ([], "at least one task"),
        ([[0.1], []], "task 1: expected a non-empty 1-D"),
        ([[0.1, np.nan]], "task 0: scores contain NaN"),
    ],
)
def test_bad_ragged_scores_are_refused(per_task, match):
    with pytest.raises(ValueError, match=match):
        RaggedScores(per_task)


# --- report ---------------------------------------------------------------------------------


def fake_sweep(out: Path, values: dict, seeds=(0, 1, 2, 3)) -> Path:
    """A sweep folder whose (env, method) runs finished with the given final returns."""
    envs = sorted({e for e, _ in values})
    methods = list(dict.fromkeys(m for _, m in values))
    suite = {
        "name": "t",
        "envs": [{"id": e, "name": e, "max_score": 1.0, "min_score": 0.0} for e in envs],
        "methods": [{"name": m} for m in methods],
        "seeds": list(seeds),
        "budget": 100,
        "eval_episodes": 1,
    }
    atomic_write(out / "suite.json", json.dumps(suite))
    for (env, method), returns in values.items():
        for seed, ret in enumerate(returns):
            folder = RunFolder(out, f"{env}/{method}/seed{seed}")
            rows = [{"step": 100, "eval_return": ret, "eval_success": 1.0, "train_return": 0.0}]
            folder.set_status("done", metrics_sha256=folder.write_metrics(rows))
    return out


def table_row(text: str, method: str) -> list[str]:
    (line,) = [x for x in text.splitlines() if x.startswith(f"| {method} ")]
    return [c.strip() for c in line.strip("|").split("|")]


RAGGED = {
    ("a", "m1"): [0.1, 0.2, 0.3, 0.9],
    ("b", "m1"): [0.5, 0.6],  # two of four seeds finished
    ("a", "m2"): [0.4, 0.4, 0.5, 0.5],
    ("b", "m2"): [0.7, 0.8, 0.9, 1.0],
}


def test_report_keeps_every_finished_run_when_envs_have_different_run_counts(tmp_path):
    text = write_report(fake_sweep(tmp_path, RAGGED), reps=50, plots=False).read_text()
    row = table_row(text, "m1")
    # Was 0.350 and 0.650: env a cut to its first two runs.
    assert row[2].startswith("0.463 ") and row[4].startswith("0.567 ")
    assert "- m1 on b: seed(s) 2, 3 (2 of 4 finished)" in text
    assert "14 completed runs (of 16)" in text


def test_report_of_a_complete_sweep_is_what_the_matrix_gives(tmp_path):
    values = {(e, m): RNG.uniform(0, 1, 11).tolist() for e in "abc" for m in ("m1", "m2")}
    text = write_report(fake_sweep(tmp_path, values, range(11)), reps=100, plots=False).read_text()
    scores = {m: np.array([values[(e, m)] for e in "abc"]).T for m in ("m1", "m2")}
    est = agg.interval_estimates(scores, reps=100)
    for m in ("m1", "m2"):
        assert table_row(text, m)[1:5] == [
            "{:.3f} [{:.3f}, {:.3f}]".format(*est[m][k]) for k in agg.METRICS
        ]
    p = agg.probability_of_improvement_ci(scores["m2"], scores["m1"], 100)
    assert table_row(text, "m2")[5] == "{:.3f} [{:.3f}, {:.3f}]".format(*p)
    assert "not finished" not in text and "incomplete" not in text


def test_an_incomplete_base_method_is_reported_not_replaced(tmp_path):
    values = {k: v for k, v in RAGGED.items() if k != ("b", "m1")}  # m1: nothing on env b
    text = write_report(fake_sweep(tmp_path, values), reps=50, plots=True).read_text()
    assert "P(method > m1)" in text and "P(method > m2)" not in text  # was: base became m2
    assert table_row(text, "m1 (incomplete)")[1:] == ["-"] * 5
    assert table_row(text, "m2")[5] == "-"
    assert "m1 is incomplete, so it has no aggregate: no finished run on b" in text
    assert "m1, the base method of P(method > m1), is incomplete" in text
    assert "- m1 on b: seed(s) 0, 1, 2, 3 (0 of 4 finished)" in text
    assert (tmp_path / "report" / "aggregate.png").exists()


def test_an_incomplete_other_method_is_listed_with_its_missing_envs(tmp_path):
    values = {k: v for k, v in RAGGED.items() if k != ("a", "m2")}
    text = write_report(fake_sweep(tmp_path, values), reps=50, plots=False).read_text()
    assert table_row(text, "m2 (incomplete)")[1:] == ["-"] * 5  # was: left out without a word
    assert "m2 is incomplete, so it has no aggregate: no finished run on a" in text
    assert "base method" not in text and table_row(text, "m1")[5] == "-"


def test_a_report_with_no_complete_method_is_still_written(tmp_path):
    values = {("a", "m1"): [0.1], ("b", "m2"): [0.2]}
    text = write_report(fake_sweep(tmp_path, values), reps=20, plots=True).read_text()
    assert "m1 (incomplete)" in text and "m2 (incomplete)" in text
    assert "No plots: no method has a finished run on every env." in text


# --- store: index and metrics files ---------------------------------------------------------


def done_run(out: Path, seed=0, budget=100, steps=(50, 100)) -> RunFolder:
    folder = RunFolder(out, f"a/m/seed{seed}")
    spec = {"env": {"name": "a"}, "method": {"name": "m"}, "seed": seed, "budget": budget}
    folder.write_spec(spec)
    rows = [{"step": s, "eval_return": s / 100, "eval_success": 0.5} for s in steps]
    folder.set_status("done", metrics_sha256=folder.write_metrics(rows))
    return folder


def index_rows(out: Path) -> dict[str, dict]:
    import csv

    write_index(out)
    with open(out / "index.csv", newline="") as f:
        return {r["run_id"]: r for r in csv.DictReader(f)}


@pytest.mark.parametrize(
    "cut, reason",
    [
        (lambda t: t[:-3], "last value truncated: reads as a wrong number"),
        (lambda t: t[:-8], "last row lacks a field: was a TypeError"),
        (lambda t: t.splitlines()[0] + "\n", "header only: was an IndexError"),
        (lambda t: "", "empty"),
    ],
)
def test_index_marks_runs_whose_metrics_fail_the_checksum_as_corrupt(tmp_path, cut, reason):
    folder = done_run(tmp_path)
    folder.metrics_path.write_text(cut(folder.metrics_path.read_text()))
    row = index_rows(tmp_path)["a/m/seed0"]
    assert row["status"] == "corrupt", reason
    assert not row.get("final_return")  # no final values from a file that fails the check


def test_index_gives_final_values_only_for_runs_that_are_done(tmp_path):
    done_run(tmp_path, seed=0)
    done_run(tmp_path, seed=1, budget=200)  # intact, but status says done before the budget
    broken = RunFolder(tmp_path, "a/m/seed2")
    broken.path.mkdir(parents=True)
    (broken.path / "run.json").write_text('{"env": {"na')  # a partly copied spec
    rows = index_rows(tmp_path)
    assert rows["a/m/seed0"]["status"] == "done"
    assert float(rows["a/m/seed0"]["final_return"]) == 1.0
    assert rows["a/m/seed1"]["status"] == "incomplete" and rows["a/m/seed1"]["final_step"] == ""
    assert {k: rows["a/m/seed2"][k] for k in ("env", "method", "seed", "status")} == {
        "env": "a",
        "method": "m",
        "seed": "2",
        "status": "corrupt",
    }


@pytest.mark.parametrize(
    "text, match",
    [
        ("step,eval_return,eval_success\n100,0.\n", r"line 2: no value for \['eval_success'\]"),
        ("step,eval_return\n100,0.5,1\n", r"line 2: 1 field\(s\) more than the header"),
        ("step,eval_return\n100,abc\n", "line 2: could not convert"),
    ],
)
def test_read_metrics_raises_a_clear_value_error_for_malformed_rows(tmp_path, text, match):
    path = tmp_path / "metrics.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_metrics(path)


def test_read_metrics_reads_good_files_as_before(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,eval_return,term/x\n100,0.5,\n")
    (row,) = read_metrics(path)
    assert row["step"] == 100.0 and row["eval_return"] == 0.5 and np.isnan(row["term/x"])


# --- suite: names as run folders ------------------------------------------------------------


def suite_with(methods=("ppo",), envs=({"id": "CartPole-v1", "name": "cp"},)):
    return {
        "name": "t",
        "budget": 64,
        "seeds": 1,
        "envs": list(envs),
        "methods": [{"name": m, "agent": {"backend": "sb3"}} for m in methods],
    }


def test_method_names_are_path_safe_like_env_names(tmp_path):
    suite = parse_suite(suite_with(["ppo", "ppo/", "../../escape", "a\\b"]))
    assert [m.name for m in suite.methods] == ["ppo", "ppo_", ".._.._escape", "a_b"]
    paths = [RunFolder(tmp_path, r.run_id).path.resolve() for r in suite.runs()]
    assert len(set(paths)) == 4  # "ppo" and "ppo/" shared cp/ppo/seed0
    for p in paths:
        assert p.relative_to(tmp_path.resolve()).parts[:1] == ("cp",)  # nothing escapes


@pytest.mark.parametrize("name", ["", ".", "..", "/", "\\"])
@pytest.mark.parametrize("field", ["methods", "envs"])
def test_names_that_cannot_be_a_folder_are_refused(name, field):
    data = (
        suite_with([name])
        if field == "methods"
        else suite_with(envs=[{"id": "CartPole-v1", "name": name}])
    )
    if name in ("/", "\\"):  # cleaned to "_": a fine folder name
        parse_suite(data)
        return
    with pytest.raises(ConfigError, match=rf"^s\.yaml: {field}\[0\]\.name: .*cannot name a run"):
        parse_suite(data, source="s.yaml")


def test_names_that_clash_as_folders_are_refused_naming_both():
    with pytest.raises(ValueError, match=r"methods\[\]\.name: .*'a/b' and 'a_b' become folder"):
        parse_suite(suite_with(["a/b", "x", "a_b"]))
    envs = [{"id": "CartPole-v1", "name": "c/p"}, {"id": "CartPole-v1", "name": "c_p"}]
    with pytest.raises(ValueError, match=r"envs\[\]\.name: .*'c/p' and 'c_p' become folder"):
        parse_suite(suite_with(envs=envs))
    with pytest.raises(ValueError, match=r"methods\[\]\.name: names must be unique.*'m' repeats"):
        parse_suite(suite_with(["m", "m"]))

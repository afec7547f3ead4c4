"""The regret study's fast path (canonicalise once, interpolate canonical rewards) gives exactly
the library's distances, and a small run reproduces the ordering the study reports."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from rewardshaping.metrics import (
    dard_distance,
    epic_distance,
    normalized_regret,
    starc_distance,
)
from rewardshaping.tabular import random_mdp, random_reward

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "starc_regret.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("starc_regret", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fast_path_equals_library_distances(study):
    mdp = random_mdp(6, 3, 0.9, seed=0)
    P, steps = 3, 4
    out = study.run_mdp(mdp, P, steps, np.random.default_rng(1))
    # The same draws as run_mdp makes.
    rng = np.random.default_rng(1)
    R1 = random_reward(6, 3, size=P, gamma=0.9, recipe="starc", seed=rng)
    R2 = random_reward(6, 3, size=P, gamma=0.9, recipe="starc", seed=rng)
    t = (np.arange(1, steps + 1) / steps)[None, :, None, None, None]
    Rk = R1[:, None] + (R2 - R1)[:, None] * t
    for canon in study.CANONS:
        for col, (norm, weights) in study.NORMS.items():
            want = starc_distance(R1[:, None], Rk, mdp, canon=canon, norm=norm, weights=weights)
            np.testing.assert_allclose(out[f"{canon}|{col}"], want.reshape(-1), atol=1e-9)
    for name, fn in (("EPIC", epic_distance), ("DARD", dard_distance)):
        want = fn(R1[:, None], Rk, mdp).ravel()
        np.testing.assert_allclose(out[f"{name} Pearson|"], want, atol=1e-9)
    forward = normalized_regret(R1[:, None], Rk, mdp).ravel()
    np.testing.assert_allclose(out["regret_forward"], forward, atol=1e-12)
    backward = normalized_regret(Rk, R1[:, None], mdp).ravel()
    np.testing.assert_allclose(out["regret"], (forward + backward) / 2, atol=1e-12)


def test_small_study_ranks_val_above_epic_and_none(study, capsys):
    corr = study.main(["--mdps", "2", "--pairs", "16", "--no-plot", "--seed", "3"])
    sym = corr["symmetric"]
    assert sym["val|L2"] > sym["epic|L2"] > sym["none|L2"]
    assert "VAL" in capsys.readouterr().out

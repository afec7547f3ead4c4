"""Benchmark runner: suites of (env x method x seed) runs, parallel and resumable, and reports.

- :mod:`~rewardshaping.bench.suite`: suite files (YAML/TOML), validated on load.
- :mod:`~rewardshaping.bench.trainers`: agent backends that train in chunks and resume exactly.
- :mod:`~rewardshaping.bench.store`: run folders, atomic files, the index.
- :mod:`~rewardshaping.bench.runner`: process-pool or Ray execution, ``--resume``.
- :mod:`~rewardshaping.bench.aggregate`: IQM, mean, median, optimality gap with stratified
  bootstrap CIs, probability of improvement (rliable's methodology, Agarwal et al. 2021).
- :mod:`~rewardshaping.bench.report`: Markdown table and PNG plots.

May import everything in ``rewardshaping`` and ``rewardshaping.agents``; nothing imports it.
"""

from rewardshaping.bench.runner import run_one, run_sweep
from rewardshaping.bench.suite import Suite, load_suite, parse_suite

__all__ = ["Suite", "load_suite", "parse_suite", "run_one", "run_sweep"]

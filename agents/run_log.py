"""What a training run records: finished episodes and per-iteration statistics.

* :class:`EpisodeTracker` follows the episodes of N envs step by step (skipping ``NEXT_STEP``
  dummy steps) and yields a record per finished episode: env return, length, success (when the
  env reports ``is_success``) and the episode sum of every reward term (from a
  ``ShapedVectorEnv``'s ``info["episode_reward_terms"]``).
* :class:`RunLogger` writes ``episodes.csv`` (one row per episode), ``progress.csv`` (one row
  per iteration) and, when the ``tensorboard`` package is installed, TensorBoard scalars.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EpisodeTracker", "RunLogger", "success_flags"]


def success_flags(info: Mapping[str, Any], ended: np.ndarray) -> np.ndarray | None:
    """``is_success`` of the envs whose episode ended, from vector infos (either autoreset
    mode: ``SAME_STEP`` envs report the last step's info under ``final_info``); None if absent.

    Example:
        >>> import numpy as np
        >>> info = {"is_success": np.array([True, False]), "_is_success": np.array([True, True])}
        >>> success_flags(info, np.array([True, True])).tolist()
        [True, False]
    """
    for src in (info.get("final_info"), info):
        if isinstance(src, Mapping) and "is_success" in src:
            mask = np.asarray(src.get("_is_success", np.ones_like(ended)), bool)
            if (mask | ~ended).all():
                return np.asarray(src["is_success"], bool)
    return None


class EpisodeTracker:
    """Per-env episode returns and lengths, and the records of finished episodes.

    Args:
        num_envs: N.
        window: how many recent episodes :meth:`recent` averages over.

    Example:
        >>> import numpy as np
        >>> tr = EpisodeTracker(2)
        >>> tr.step(np.array([1.0, 1.0]), np.array([False, True]), np.ones(2, bool), {}, 10)
        >>> tr.step(np.array([2.0, 0.0]), np.array([True, False]), np.array([True, False]), {}, 12)
        >>> [(e["env"], e["return"], e["length"]) for e in tr.pop_finished()]
        [(1, 1.0, 1), (0, 3.0, 2)]
    """

    def __init__(self, num_envs: int, window: int = 100) -> None:
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.finished: list[dict[str, Any]] = []
        self.recent_returns: deque[float] = deque(maxlen=window)
        self.recent_lengths: deque[int] = deque(maxlen=window)
        self.recent_success: deque[float] = deque(maxlen=window)
        self.recent_terms: dict[str, deque[float]] = {}
        self.window = window
        self.total_episodes = 0

    def step(
        self,
        env_reward: np.ndarray,
        done: np.ndarray,
        valid: np.ndarray,
        info: Mapping[str, Any],
        global_step: int,
    ) -> None:
        """Account for one vector step (``valid`` False at dummy reset steps)."""
        self.returns += np.where(valid, env_reward, 0.0)
        self.lengths += valid
        ended = done & valid
        if not ended.any():
            return
        success = success_flags(info, ended)
        terms = info.get("episode_reward_terms") if "episode_reward_terms" in info else None
        for i in np.flatnonzero(ended):
            rec: dict[str, Any] = {
                "global_step": global_step,
                "env": int(i),
                "return": float(self.returns[i]),
                "length": int(self.lengths[i]),
                "success": float(success[i]) if success is not None else math.nan,
            }
            if terms is not None:
                for name, values in terms.items():
                    if name != "env_reward":
                        rec[f"term/{name}"] = float(values[i])
                        self.recent_terms.setdefault(name, deque(maxlen=self.window)).append(
                            rec[f"term/{name}"]
                        )
            self.finished.append(rec)
            self.recent_returns.append(rec["return"])
            self.recent_lengths.append(rec["length"])
            if success is not None:
                self.recent_success.append(rec["success"])
        self.total_episodes += int(ended.sum())
        self.returns[ended] = 0.0
        self.lengths[ended] = 0

    def pop_finished(self) -> list[dict[str, Any]]:
        """The records finished since the last call."""
        out, self.finished = self.finished, []
        return out

    def recent(self) -> dict[str, float]:
        """Mean return, length and success rate over the recent window (NaN when empty)."""
        return {
            "episode/return_mean": _mean(self.recent_returns),
            "episode/length_mean": _mean(self.recent_lengths),
            "episode/success_rate": _mean(self.recent_success),
        }

    def recent_term_means(self) -> dict[str, float]:
        """Mean episode sum of every reward term over the recent window."""
        return {name: _mean(values) for name, values in self.recent_terms.items()}

    def state_dict(self) -> dict[str, Any]:
        return {
            "terms": {k: list(v) for k, v in self.recent_terms.items()},
            "returns": self.returns.copy(),
            "lengths": self.lengths.copy(),
            "recent": (
                list(self.recent_returns),
                list(self.recent_lengths),
                list(self.recent_success),
            ),
            "total_episodes": self.total_episodes,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.returns[:] = state["returns"]
        self.lengths[:] = state["lengths"]
        for dq, values in zip(
            (self.recent_returns, self.recent_lengths, self.recent_success),
            state["recent"],
            strict=True,
        ):
            dq.clear()
            dq.extend(values)
        self.total_episodes = int(state["total_episodes"])
        self.recent_terms = {
            k: deque(v, maxlen=self.window) for k, v in state.get("terms", {}).items()
        }


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


class RunLogger:
    """CSV files (and TensorBoard scalars, when available) for a training run.

    Args:
        log_dir: the run folder; created if missing.
        episode_columns: the columns of ``episodes.csv`` after ``global_step, env, return,
            length, success`` (``term/<name>`` for each reward term).
        tensorboard: also write TensorBoard event files (needs ``pip install tensorboard``;
            without it a warning is given once and only CSV is written).
        resume_step: when resuming, rows logged after this global step (by the interrupted
            run, after its last checkpoint) are dropped, so the files read as one run. None: a
            run from step 0, which replaces the CSV and TensorBoard files an earlier attempt
            left in ``log_dir`` (e.g. one killed before its first checkpoint) instead of
            appending to them.

    Example:
        >>> import tempfile
        >>> log = RunLogger(tempfile.mkdtemp(), ["term/step_penalty"], tensorboard=False)
        >>> log.log_episodes([{"global_step": 8, "env": 0, "return": 1.0, "length": 8,
        ...                    "success": 1.0, "term/step_penalty": -0.08}])
        >>> log.log_iteration(8, {"loss/policy": 0.1})
        >>> log.close()
        >>> open(log.log_dir / "episodes.csv").read().splitlines()[1]
        '8,0,1.0,8,1.0,-0.08'
    """

    BASE_COLUMNS = ["global_step", "env", "return", "length", "success"]

    def __init__(
        self,
        log_dir: str | os.PathLike,
        episode_columns: Sequence[str] = (),
        tensorboard: bool = True,
        resume_step: int | None = None,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.episode_columns = self.BASE_COLUMNS + list(episode_columns)
        for name in ("episodes.csv", "progress.csv"):
            if resume_step is None:
                (self.log_dir / name).unlink(missing_ok=True)
            else:
                _truncate_after(self.log_dir / name, resume_step)
        if resume_step is None:
            for path in (self.log_dir / "tb").glob("events.out.tfevents.*"):
                path.unlink()
        self._episodes = self._open("episodes.csv", self.episode_columns)
        self._progress_file = None
        self._progress: csv.DictWriter | None = None
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.log_dir / "tb"))
            except ImportError:
                warnings.warn(
                    "tensorboard is not installed (pip install tensorboard); logging to CSV only",
                    stacklevel=2,
                )

    def _open(self, name: str, columns: Sequence[str]) -> tuple[Any, csv.DictWriter]:
        path = self.log_dir / name
        fresh = not path.exists() or path.stat().st_size == 0
        if not fresh:
            with open(path, newline="") as f:
                header = next(csv.reader(f), [])
            if header:
                columns = header
        f = open(path, "a", newline="")  # noqa: SIM115 - kept open for the run
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore", restval="")
        if fresh:
            writer.writeheader()
        return f, writer

    def log_episodes(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append finished-episode records (from :class:`EpisodeTracker`)."""
        if records:
            self._episodes[1].writerows(records)

    def log_iteration(self, global_step: int, stats: Mapping[str, float]) -> None:
        """Append one row to ``progress.csv`` (columns fixed by the first row) and TensorBoard."""
        row = {"global_step": global_step, **stats}
        if self._progress is None:
            self._progress_file, self._progress = self._open("progress.csv", list(row))
        self._progress.writerow(row)
        if self._tb is not None:
            for key, value in stats.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._tb.add_scalar(key, value, global_step)

    def flush(self) -> None:
        self._episodes[0].flush()
        if self._progress_file is not None:
            self._progress_file.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self.flush()
        self._episodes[0].close()
        if self._progress_file is not None:
            self._progress_file.close()
        if self._tb is not None:
            self._tb.close()


def _truncate_after(path: Path, step: int) -> None:
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    keep = [rows[0]] + [r for r in rows[1:] if r and int(float(r[0])) <= step]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(keep)
    os.replace(tmp, path)

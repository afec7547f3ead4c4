"""The results store: one folder per run, every file written atomically, plus an index.

    OUT/suite.json                      the validated suite
    OUT/index.csv                       one row per run (readable with pandas)
    OUT/<env>/<method>/seed<k>/run.json         the run's full spec
                               metrics.csv      step, eval_return, eval_success, train stats
                               checkpoint.pkl   trainer state + metric rows (resume point),
                                                after a header with the pickle's SHA-256
                               status.json      running | done | failed (+ traceback, checksum)

Runs from several machines merge by copying their folders side by side and re-indexing
(:func:`write_index`). A ``done`` run whose metrics file is missing, truncated or altered (its
SHA-256 differs from the one in status.json) is treated as not done and rerun, and indexed as
``corrupt``. A checkpoint that is missing, truncated or altered (its SHA-256 differs from its
header's) is ignored: the run restarts from step 0. Checkpoints written before the header existed still load (unchecked).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["RunFolder", "atomic_write", "write_index", "read_metrics"]

#: First bytes of a checkpoint with a checksum: magic, 64 hex digits of the SHA-256 of the
#: pickle that follows, newline. (A bare pickle starts with b"\x80", never with this.)
_CKPT_MAGIC = b"RSCKPT1\n"
_CKPT_HEADER = len(_CKPT_MAGIC) + 65


def _umask() -> int:
    """The process's umask, read without changing it where the OS tells (Linux), else set and
    restored at once."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The file gets the permissions of an ordinary new file (0666 less the umask), not the 0600
    of the temporary file it is written through.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _csv_text(rows: list[dict[str, Any]]) -> str:
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def read_metrics(path: Path) -> list[dict[str, float]]:
    """Rows of a metrics.csv as floats (empty cells are NaN).

    Raises ValueError, naming the file and line, for a row with missing or extra fields or a
    cell that is not a number (a truncated or hand-edited file), rather than reading it wrong.
    """
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        try:
            for row in reader:
                rows.append(_metrics_row(row, path, reader.line_num))
        except csv.Error as e:
            raise ValueError(f"{path}: line {reader.line_num}: not valid CSV: {e}") from None
    return rows


def _metrics_row(row: dict, path: Path, line: int) -> dict[str, float]:
    # DictReader files extra cells under the key None and fills missing ones with None.
    if None in row:
        raise ValueError(f"{path}: line {line}: {len(row[None])} field(s) more than the header")
    missing = [k for k, v in row.items() if v is None]
    if missing:
        raise ValueError(f"{path}: line {line}: no value for {missing} (a truncated row?)")
    try:
        return {k: float(v) if v != "" else float("nan") for k, v in row.items()}
    except ValueError as e:
        raise ValueError(f"{path}: line {line}: {e}") from None


def _reaches(rows: list[dict[str, float]] | None, budget: int) -> bool:
    """Whether the metric rows end at the budget (a run killed midway leaves fewer)."""
    return bool(rows) and rows[-1].get("step", 0) >= budget


class RunFolder:
    """The files of one run."""

    def __init__(self, out: Path, run_id: str) -> None:
        self.path = Path(out) / run_id
        self.run_id = run_id

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    def status(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / "status.json").read_text())
        except (OSError, ValueError):
            return {"status": "missing"}

    def set_status(self, status: str, **extra: Any) -> None:
        atomic_write(self.path / "status.json", json.dumps({"status": status, **extra}, indent=1))

    def write_spec(self, spec: dict) -> None:
        atomic_write(self.path / "run.json", json.dumps(spec, indent=1))

    def write_metrics(self, rows: list[dict[str, Any]]) -> str:
        text = _csv_text(rows)
        atomic_write(self.metrics_path, text)
        return hashlib.sha256(text.encode()).hexdigest()

    def verified_metrics(self) -> list[dict[str, float]] | None:
        """The metric rows of a run marked done whose metrics file is the one status.json
        recorded (same SHA-256) and parses; None otherwise (not done, or the file is missing,
        truncated or altered)."""
        st = self.status()
        if st.get("status") != "done":
            return None
        try:
            raw = self.metrics_path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(raw).hexdigest() != st.get("metrics_sha256"):
            return None
        try:
            return read_metrics(self.metrics_path)
        except ValueError:
            return None

    def is_done(self, budget: int) -> bool:
        """Done, with an intact metrics file that reaches the budget."""
        return _reaches(self.verified_metrics(), budget)

    def save_checkpoint(self, payload: dict[str, Any]) -> None:
        raw = pickle.dumps(payload)
        digest = hashlib.sha256(raw).hexdigest().encode()
        atomic_write(self.path / "checkpoint.pkl", _CKPT_MAGIC + digest + b"\n" + raw)

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint, or None when there is none or it is truncated or corrupt."""
        try:
            data = (self.path / "checkpoint.pkl").read_bytes()
        except OSError:
            return None
        if data.startswith(_CKPT_MAGIC):
            digest, raw = data[len(_CKPT_MAGIC) : _CKPT_HEADER], data[_CKPT_HEADER:]
            if digest != hashlib.sha256(raw).hexdigest().encode() + b"\n":
                return None
        else:
            raw = data  # written before checkpoints had a checksum
        try:
            # Our own file, written by this toolkit's runner in this folder.
            payload = pickle.loads(raw)
        except Exception:  # noqa: BLE001 - a damaged pickle can raise almost anything
            return None
        return payload if isinstance(payload, dict) and "rows" in payload else None


def write_index(out: Path) -> Path:
    """Rebuild OUT/index.csv from the run folders found under ``out``.

    Final values come only from runs that pass the checks :meth:`RunFolder.is_done` makes (the
    metrics file has the checksum status.json recorded and reaches the run's budget): runs are
    merged by copying folders, and a partly copied file must not show as a result. A run marked
    done that fails them is indexed as ``corrupt`` (metrics file missing, altered, truncated or
    unreadable; or run.json unreadable) or ``incomplete`` (intact but short of the budget).
    """
    out = Path(out)
    rows = [_index_row(out, spec_path.parent) for spec_path in sorted(out.rglob("run.json"))]
    path = out / "index.csv"
    atomic_write(path, _csv_text(rows))
    return path


def _index_row(out: Path, folder: Path) -> dict[str, Any]:
    run_id = folder.relative_to(out).as_posix()
    run = RunFolder(out, run_id)
    status = run.status().get("status")
    try:
        spec = json.loads((folder / "run.json").read_text())
        row = {
            "run_id": run_id,
            "env": spec["env"]["name"],
            "method": spec["method"]["name"],
            "seed": spec["seed"],
        }
    except (OSError, ValueError, KeyError, TypeError):
        # A partly copied run.json: index the run as corrupt under its folder's names.
        return {"run_id": run_id, **_names_from_path(run_id), "status": "corrupt"}
    row["status"] = status
    if status == "done":
        row.update(_final_values(run, spec.get("budget")))
    return row


def _final_values(run: RunFolder, budget: int | None) -> dict[str, Any]:
    """``status`` (done, corrupt or incomplete) and, for a done run, its final values."""
    rows = run.verified_metrics()
    if rows is None:
        return {"status": "corrupt"}
    # run.json holds the budget; a spec without one can only be checked for integrity.
    if not rows or (budget is not None and not _reaches(rows, budget)):
        return {"status": "incomplete"}
    last = rows[-1]
    return {
        "status": "done",
        "final_step": last.get("step"),
        "final_return": last.get("eval_return"),
        "final_success": last.get("eval_success"),
    }


def _names_from_path(run_id: str) -> dict[str, Any]:
    parts = run_id.split("/")
    if len(parts) == 3 and parts[2].startswith("seed"):
        return {"env": parts[0], "method": parts[1], "seed": parts[2].removeprefix("seed")}
    return {"env": "", "method": "", "seed": ""}

"""The README's commands are the ones CI runs, and its example runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fenced_after(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(re.escape(marker) + r"\s*```bash\n(.*?)```", text, re.S)
    assert m, f"README has no bash block after {marker}"
    return m.group(1).strip()


def test_ci_runs_the_readme_test_command():
    cmd = fenced_after("<!-- test-command -->")
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert cmd in ci_lines, f"CI must run exactly the README test command: {cmd!r}"


def test_readme_python_example_runs(capsys):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Ten lines\s*```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 12
    exec(compile(block, "README.md", "exec"), {})  # our own README, not untrusted input
    assert "upright" in capsys.readouterr().out


def test_main_command_runs_the_shipped_quickstart():
    cmd = fenced_after("<!-- main-command -->")
    assert "rewardshaping bench run experiments/quickstart.yaml" in cmd and "--report" in cmd
    assert (ROOT / "experiments" / "quickstart.yaml").exists()
    text = (ROOT / "README.md").read_text()
    assert text.index("<!-- main-command -->") < text.index("<!-- test-command -->")


def test_readme_starc_example_runs():
    text = (ROOT / "README.md").read_text()
    block = re.search(
        r"```python\n(\s*import numpy as np\n\s*from rewardshaping.tabular.*?)```", text, re.S
    ).group(1)
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    ns = {}
    exec("\n".join(lines[:-2]), ns)  # our own README, not untrusted input
    assert abs(eval(lines[-2].split("#")[0], ns)) < 1e-6
    assert abs(eval(lines[-1].split("#")[0], ns) - 1.0) < 1e-6

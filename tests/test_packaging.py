"""The package installs as promised: every subpackage declared, envs/agents mapped, wheel works."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
MAPPING = {
    "rewardshaping": "rewardshaping",
    "rewardshaping.envs": "envs",
    "rewardshaping.agents": "agents",
}


def declared():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert cfg["package-dir"] == MAPPING
    return set(cfg["packages"])


def on_disk():
    found = set()
    for pkg, folder in MAPPING.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([pkg, *rel.parts]) if rel.parts else pkg)
    return found


def test_every_subpackage_is_declared():
    missing = on_disk() - declared()
    assert not missing, (
        f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
    )
    assert not declared() - on_disk()


def test_installed_import_maps_envs_and_agents():
    import rewardshaping.agents
    import rewardshaping.envs

    assert Path(rewardshaping.envs.__file__).parent.name == "envs"
    assert Path(rewardshaping.agents.__file__).parent.name == "agents"


def test_built_wheel_imports_envs_and_agents(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("rewardshaping-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "rewardshaping/envs/__init__.py" in names
    assert "rewardshaping/agents/__init__.py" in names
    assert not any(n.startswith(("envs/", "agents/", "tests/")) for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # PYTHONPATH precedes the editable install's finder, so this imports the wheel's copy.
    code = (
        "import rewardshaping, rewardshaping.envs, rewardshaping.agents;"
        "print(rewardshaping.envs.__file__); print(rewardshaping.agents.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(site)},
    ).stdout.split()
    assert all(p.startswith(str(site)) for p in out), out


@pytest.mark.parametrize("args, expect", [(["--version"], "rewardshaping "), (["--help"], "usage")])
def test_console_script(args, expect):
    exe = Path(sys.executable).with_name("rewardshaping")
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, check=True).stdout
    assert expect in out


def test_flat_api_resolves_every_name():
    import rewardshaping

    for name in rewardshaping.__all__:
        assert getattr(rewardshaping, name) is not None, name

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


# Import name -> distribution name, for the third-party packages the library may import at
# module level (anything else must be imported lazily, inside the function that needs it).
IMPORT_TO_DIST = {
    "gymnasium": "gymnasium",
    "numpy": "numpy",
    "numba": "numba",
    "llvmlite": "llvmlite",
    "torch": "torch",
    "minigrid": "minigrid",
    "pettingzoo": "pettingzoo",
    "stable_baselines3": "stable-baselines3",
    "mujoco": "mujoco",
    "yaml": "pyyaml",
    "tqdm": "tqdm",
    "matplotlib": "matplotlib",
    "cloudpickle": "cloudpickle",
}


def test_module_level_imports_are_core_dependencies():
    """A fresh `pip install -e .` (no extras) must import every library module: a module-level
    import of a package that only an extra (or the dev tools) installs would break the README's
    main command, as SciPy once did."""
    import ast
    import re

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    core = {re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0].lower() for d in deps}
    stdlib = set(sys.stdlib_module_names)
    bad = []
    for folder in MAPPING.values():
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.parse(path.read_text()).body:  # module level only
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in stdlib or top in {"rewardshaping", "__future__"}:
                        continue
                    if IMPORT_TO_DIST.get(top) not in core:
                        bad.append(f"{path.relative_to(ROOT)}: {name}")
    assert not bad, "module-level imports outside the core dependencies: " + ", ".join(bad)

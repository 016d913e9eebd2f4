"""`./dev`: serving installs the gateway with its mocks only; the dev tools come with `./dev test`.

The script runs for real in a scratch copy of the project whose `.venv/bin/*` are recorders: each
writes the command it was given to a log, so what `./dev` installs and runs is read back exactly.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDER = '#!/bin/sh\necho "$(basename "$0") $*" >> "$(dirname "$0")/../calls.log"\n'


def scratch_project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "dev", tmp_path / "dev")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    for tool in ("python", "ruff", "mypy", "mkdocs"):
        (bin_ / tool).write_text(RECORDER)
        (bin_ / tool).chmod(stat.S_IRWXU)
    return tmp_path


def dev(project: Path, *args: str) -> list[str]:
    """Run `./dev args…`; the commands it ran since the last call."""
    log = project / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    subprocess.run(
        ["bash", str(project / "dev"), *args],
        cwd=project,
        env={**os.environ, "PYTHON": str(project / ".venv" / "bin" / "python")},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return [line.strip() for line in log.read_text().splitlines()] if log.exists() else []


def test_serve_installs_the_gateway_with_its_mocks_and_no_dev_tools(tmp_path: Path) -> None:
    project = scratch_project(tmp_path)
    calls = dev(project, "serve", "--port", "8123")
    assert "python -m pip install --quiet -e .[mocks]" in calls
    assert not any("[dev]" in call for call in calls)
    assert calls[-1] == "python -m gateway serve --port 8123"
    assert dev(project, "mocks", "all", "--base-port", "9101") == [  # installed once: not again
        "python -m mocks all --base-port 9101"
    ]


def test_test_installs_the_dev_tools_once_and_serving_then_reuses_them(tmp_path: Path) -> None:
    project = scratch_project(tmp_path)
    dev(project, "serve")
    calls = dev(project, "test", "tests/domain")
    assert "python -m pip install --quiet -e .[dev]" in calls
    assert calls[-4:] == [
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "python -m pytest tests/domain",
    ]
    assert dev(project, "test", "tests/domain")[0] == "ruff check ."  # no second install
    assert dev(project, "serve") == ["python -m gateway serve"]  # [dev] includes [mocks]


def test_a_changed_pyproject_installs_again(tmp_path: Path) -> None:
    project = scratch_project(tmp_path)
    dev(project, "serve")
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# a new pin\n")
    assert "python -m pip install --quiet -e .[mocks]" in dev(project, "serve")
    assert sorted(p.name for p in (project / ".venv").glob(".installed-*")) == [
        ".installed-mocks-" + stamp_suffix(project)
    ]


def stamp_suffix(project: Path) -> str:
    return hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()[:16]

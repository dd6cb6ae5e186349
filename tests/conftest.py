"""Shared fixtures: a throw-away HOME and the real ``jupyter-emr-roles`` executable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import CLI, RunCli  # noqa: E402  (needs the path above)

# Variables of the developer's shell that would change what the CLI reads.
_LEAKY_ENV = ("JUPYTER_EMR_ROLES_FILE", "AWS_PROFILE", "AWS_DEFAULT_REGION")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home folder that both this process and child processes use."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def cli(home: Path) -> RunCli:
    """Run the installed command line in ``home``; returns the finished process."""

    def run(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL, **kwargs)

    return run

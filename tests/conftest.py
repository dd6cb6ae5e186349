"""Shared fixtures: a throw-away HOME and the real ``jupyter-emr-roles`` executable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))

CLI = shutil.which("jupyter-emr-roles", path=str(Path(sys.executable).parent)) or "jupyter-emr-roles"

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


RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(home: Path) -> RunCli:
    """Run the installed command line in ``home``; returns the finished process."""

    def run(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL, **kwargs)

    return run


def one_paragraph_error(proc: subprocess.CompletedProcess[str]) -> str:
    """Assert the process failed the friendly way and return its message."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    message = proc.stderr.strip()
    assert message.startswith("Error: "), message
    assert "\n" not in message, message
    return message

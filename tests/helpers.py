"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CLI = shutil.which("jupyter-emr-roles", path=str(Path(sys.executable).parent)) or "jupyter-emr-roles"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def one_paragraph_error(proc: subprocess.CompletedProcess[str]) -> str:
    """Assert the process failed the friendly way and return its message."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    message = proc.stderr.strip()
    assert message.startswith("Error: "), message
    assert "\n" not in message, message
    return message

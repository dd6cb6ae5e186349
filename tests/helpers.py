"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
LABEXTENSION = REPO / "labextension"
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


def build_wheel(folder: Path) -> Path:
    """The wheel of this checkout, built without build isolation (nothing is downloaded), so the
    Lab extension inside is the one the test command's install built."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps",
                           "--no-build-isolation", "--quiet", "-w", str(folder)],
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (built,) = folder.glob("jupyter_emr_roles-*.whl")
    return built


def jlpm(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``jlpm ARGS`` in labextension/ as CI runs it, with jlpm (it comes with JupyterLab) and
    node from this interpreter's environment first, and ``env`` added to the environment."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("jlpm", path=path)
    assert found, "jlpm not found: install JupyterLab in this environment"
    return subprocess.run([found, *args], cwd=LABEXTENSION, capture_output=True, text=True,
                          env={**os.environ, "CI": "true", "PATH": path, **env}, timeout=280,
                          check=False)

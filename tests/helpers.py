"""Helpers the tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def doctor_report(cli: RunCli, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    """``jupyter-emr-roles doctor ARGS --json``'s exit status and report, asserting the
    contract every report keeps: no traceback, and every failure with its fix."""
    proc = cli("doctor", "--json", *args, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert all(c["fix"] for c in report["checks"] if c["status"] == "fail"), "every failure's fix"
    return proc.returncode, report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    """A doctor report's status of each check, by id."""
    return {check["id"]: check["status"] for check in report["checks"]}


def by_id(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    """A doctor report's finding of one check."""
    return next(check for check in report["checks"] if check["id"] == check_id)


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


def wait_until(condition: Callable[[], bool], timeout: float = 10, every: float = 0.05) -> bool:
    """Whether ``condition()`` comes true within ``timeout`` seconds, asked every ``every``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True

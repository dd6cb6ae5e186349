"""Starting, finding and stopping the emulator process (what the `local` commands call)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from ..errors import EmrRolesError
from .state import ADMIN_PREFIX, STATE_DIR_ENV, STATE_FILE

if TYPE_CHECKING:
    from .emulator import EmulatorOptions

log = logging.getLogger(__name__)

START_TIMEOUT = 180.0


class EmulatorNotRunning(EmrRolesError):
    """`local status` / `local down` found no emulator."""


def export_lines(env: dict[str, str]) -> str:
    """``export NAME=value`` lines a shell can ``eval``."""
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items()))


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise EmulatorNotRunning(
            f"No local emulator is running (no {path}). Start one with "
            "`jupyter-emr-roles local up --detach`.") from None
    if not _alive(state["pid"]):
        path.unlink(missing_ok=True)
        raise EmulatorNotRunning(
            f"The local emulator (pid {state['pid']}) is no longer running; start a new one with "
            "`jupyter-emr-roles local up --detach`.")
    return state


def admin(state: dict[str, Any], command: str, method: str = "GET") -> dict[str, Any]:
    """Call the running emulator's admin API, beside its AWS endpoint (and trusting that
    endpoint's own CA when it serves HTTPS)."""
    try:
        response = requests.request(method, state["endpoint"] + ADMIN_PREFIX + command,
                                    headers={"Authorization": f"Bearer {state['token']}"},
                                    verify=state["env"].get("AWS_CA_BUNDLE", True), timeout=30)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise EmrRolesError(f"The local emulator at {state['endpoint']} did not answer "
                            f"'{command}': {exc}") from None
    return response.json()


def run_foreground(options: EmulatorOptions, on_ready: Any) -> None:
    """Run until Ctrl-C, SIGTERM or `local down`; ``on_ready(emulator)`` is called once it serves."""

    from .emulator import Emulator

    async def main() -> None:
        options.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        emulator = Emulator(options)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(emulator.stop()))
        try:
            await emulator.start()
        except BaseException:
            await emulator.stop()
            raise
        on_ready(emulator)
        await emulator.stopped.wait()

    asyncio.run(main())


def start_detached(argv: list[str], state_dir: Path) -> dict[str, Any]:
    """Start `local up` without --detach in the background; return its state once it serves."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        state = read_state(state_dir)
    except EmulatorNotRunning:
        pass
    else:
        raise EmrRolesError(f"A local emulator is already running (pid {state['pid']}, "
                            f"{state['endpoint']}); stop it with `jupyter-emr-roles local down`.")
    log_path = state_dir / "emulator.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "jupyter_emr_roles", *argv],
                                   stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                   start_new_session=True,
                                   env={**os.environ, STATE_DIR_ENV: str(state_dir)})
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise EmrRolesError("The local emulator stopped while starting: "
                                + " ".join(tail) + f" (log: {log_path})")
        try:
            state = read_state(state_dir)
        except EmulatorNotRunning:
            time.sleep(0.2)
            continue
        if state["pid"] == process.pid:
            return state
        time.sleep(0.2)
    process.terminate()
    raise EmrRolesError(f"The local emulator did not start within {START_TIMEOUT:.0f} s "
                        f"(log: {log_path}).")


def stop(state_dir: Path, timeout: float = 30.0) -> int:
    """Ask the running emulator to stop, and wait for its process to end; returns its pid."""
    state = read_state(state_dir)
    pid = state["pid"]
    try:
        admin(state, "shutdown", "POST")
    except EmrRolesError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return not _zombie(pid)
    return finished == 0


def _zombie(pid: int) -> bool:
    """Whether the process has ended but waits for its parent to reap it: a detached emulator's
    parent is whatever adopted it, which may take its time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"

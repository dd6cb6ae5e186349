"""`jupyter-emr-roles demo` as a user runs it: a subprocess, reached over HTTP, stopped with a signal.

Each demo runs with its own HOME and Jupyter folders, the fake Spark engine and
a free port; what it started is checked from the outside (HTTP, `local status`,
sockets), never through the command's own objects.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from demo_world import ACCOUNT, MARKETING, PARTNER_ACCOUNT, SALES
from emulators import start_emulator
from helpers import CLI
from kernels import CA_VARIABLES, PROXY_VARIABLES

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)

NOTEBOOK = "emr-roles-demo.ipynb"
START_TIMEOUT = 240.0
STOP_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((parts.hostname or "localhost", parts.port or 80)) == 0


@dataclass
class Demo:
    """A running `jupyter-emr-roles demo`; its stderr lines arrive in ``lines``."""

    process: subprocess.Popen[str]
    home: Path
    state_dir: Path
    env: dict[str, str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.home / "jupyter-emr-roles-demo"

    @property
    def runtime_dir(self) -> Path:
        return Path(self.env["JUPYTER_RUNTIME_DIR"])

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}: {self.seen}") from None
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self, signum: int) -> str:
        """Send the signal and return everything the demo wrote on stderr until it exited."""
        self.process.send_signal(signum)
        assert self.process.wait(STOP_TIMEOUT) == 0, self.seen
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)

    def local(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, "local", *args, "--state-dir", str(self.state_dir)],
                              capture_output=True, text=True, timeout=60, env=self.env,
                              check=False)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    """``demo(*args)`` starts the command; whatever is still running at the end is stopped."""
    started: list[Demo] = []
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AWS_", "JUPYTER", "IPYTHON", "SPARKMAGIC_"))
           and name not in CA_VARIABLES and name.lower() not in PROXY_VARIABLES}
    home = tmp_path / "home"
    for name, sub in (("JUPYTER_CONFIG_DIR", "jupyter/config"), ("JUPYTER_DATA_DIR", "jupyter/data"),
                      ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"), ("IPYTHONDIR", "ipython")):
        (tmp_path / sub).mkdir(parents=True)
        env[name] = str(tmp_path / sub)
    home.mkdir()
    env["HOME"] = str(home)
    state_dir = tmp_path / "emulator"
    env["JUPYTER_EMR_ROLES_LOCAL_DIR"] = str(state_dir)

    def start(*args: str) -> Demo:
        process = subprocess.Popen([CLI, "demo", "--no-browser", "--spark", "fake", *args],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, env=env)
        running = Demo(process, home, state_dir, env)
        assert process.stderr is not None
        threading.Thread(target=lambda: [running.lines.put(line) for line in process.stderr],
                         daemon=True).start()
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.send_signal(signal.SIGINT)
            running.process.wait(STOP_TIMEOUT)
    subprocess.run([CLI, "local", "down", "--state-dir", str(state_dir)], capture_output=True,
                   timeout=60, env=env, check=False)


def lab_session(token: str) -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # no proxy of this machine for 127.0.0.1
    http.headers["Authorization"] = f"token {token}"
    return http


def test_help_explains_the_demo(cli) -> None:
    proc = cli("demo", "--help")
    assert proc.returncode == 0, proc.stderr
    for words in ("emulator", "JupyterLab", "Ctrl-C", "--spark", "--no-browser", "--port",
                  "--ip", "--folder", "shared-analytics"):
        assert words in proc.stdout, words


def test_demo_serves_the_notebook_and_roles_and_ctrl_c_stops_everything(demo) -> None:
    port = free_port()
    running = demo("--port", str(port))
    running.wait_for(r"emulator ready in \d+ s")
    url = running.wait_for(r"JupyterLab at (http://\S+)").group(1)
    parts = urlsplit(url)
    assert parts.port == port and parts.path == f"/lab/tree/{NOTEBOOK}", url
    token = re.search(r"token=(\w+)", parts.query).group(1)
    base = f"http://127.0.0.1:{port}/"
    http = lab_session(token)

    assert (running.folder / NOTEBOOK).is_file()
    assert json.loads((running.folder / NOTEBOOK).read_text())["cells"]
    page = http.get(base + "lab", timeout=30)
    assert page.status_code == 200 and "JupyterLab" in page.text
    assert re.search(r'"news":\s*\{"disabled":\s*true\}', page.text), "no news prompt"
    news = http.get(base + "lab/api/settings/@jupyterlab/apputils-extension:notification",
                    timeout=30)
    assert news.status_code == 200, news.text
    # The overrides are the defaults the page reads; a person's own settings still win.
    assert news.json()["schema"]["properties"]["fetchNews"]["default"] == "false", \
        "JupyterLab would ask about news over the notebook"
    contents = http.get(base + f"api/contents/{NOTEBOOK}", timeout=30)
    assert contents.status_code == 200, contents.text
    roles = http.get(base + "jupyter-emr-roles/roles", timeout=30)
    assert roles.status_code == 200, roles.text
    account, partner = roles.json()["accounts"]
    assert (account["account"], partner["account"]) == (ACCOUNT, PARTNER_ACCOUNT)
    assert account["default_role"] == SALES
    assert {(r["arn"], r["label"]) for r in account["roles"]} == {
        (SALES, "Sales"), (MARKETING, "Marketing")}

    status = running.local("status", "--json")
    assert status.returncode == 0, status.stderr
    emulator = json.loads(status.stdout)
    livy = {c["name"]: c["livy_url"] for c in emulator["clusters"]}
    endpoints = [emulator["endpoint"], livy["shared-analytics"]]
    assert all(listening(endpoint) for endpoint in endpoints)
    endpoints += [url for url in livy.values() if listening(url)]

    stderr = running.stop(signal.SIGINT)
    assert "stopping JupyterLab" in stderr and "stopping the emulator" in stderr, stderr
    assert "Traceback" not in stderr
    assert "No local emulator is running" in running.local("status").stderr
    assert not listening(base), "JupyterLab still listens"
    assert not [e for e in endpoints if listening(e)], "the emulator still listens"
    assert not list(running.runtime_dir.glob("jpserver-*.json")), "JupyterLab did not shut down"


def test_demo_reuses_a_running_emulator_and_keeps_the_users_notebook(
        demo, tmp_path: Path) -> None:
    emulator = start_emulator(tmp_path / "emulator", "--spark", "fake")
    edited = tmp_path / "home" / "jupyter-emr-roles-demo" / NOTEBOOK
    edited.parent.mkdir(parents=True)
    edited.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    before = edited.read_text()

    running = demo("--port", "0")  # the OS's pick, as Jupyter takes it
    reused = running.wait_for(r"using the running emulator at (\S+)").group(1)
    assert reused == emulator.env["AWS_ENDPOINT_URL"]
    running.wait_for(r"JupyterLab at http://")
    stderr = running.stop(signal.SIGTERM)

    assert "keeping your" in stderr and edited.read_text() == before
    assert "stopping the emulator" not in stderr
    assert emulator.cli("status").returncode == 0, "the demo stopped an emulator it did not start"
    assert listening(emulator.env["AWS_ENDPOINT_URL"])

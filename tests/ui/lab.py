"""A real JupyterLab with the extension, and Debian's Chromium to drive it.

Plain code, no pytest: the browser tests' fixtures (conftest.py) and
benchmarks/lab_dialog.py start Lab and the browser the same way. JupyterLab
runs as a subprocess with token auth, its own HOME and Jupyter folders,
sparkmagic configured for its kernels, and the environment of a running
emulator, exactly as `jupyter-emr-roles demo` would run it. The browser is
Debian's Chromium (Playwright's own download is not needed), in a fresh
profile with nothing that calls home.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from emulators import RunningEmulator
from kernels import kernel_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PACKAGE = Path(__file__).resolve().parents[2] / "jupyter_emr_roles"
LAB_START_TIMEOUT = 120.0
KERNEL_TIMEOUT = 60_000  # ms: a fresh kernel imports IPython and answers kernel_info
# Settings that keep JupyterLab from asking about news and updates over the notebook.
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


@dataclass
class Lab:
    """A running JupyterLab: its URL, token, notebook folder and environment."""

    url: str
    token: str
    root: Path
    env: dict[str, str]
    log: Path

    def api(self) -> requests.Session:
        http = requests.Session()
        http.trust_env = False
        http.headers["Authorization"] = f"token {self.token}"
        return http

    def kernel_connection_file(self, notebook: str) -> Path:
        """The connection file of the kernel JupyterLab started for a notebook."""
        sessions = self.api().get(self.url + "api/sessions", timeout=30).json()
        (kernel_id,) = [s["kernel"]["id"] for s in sessions if s["path"] == notebook]
        return Path(self.env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"


@contextmanager
def running_lab(folder: Path, emulator: RunningEmulator) -> Iterator[Lab]:
    """JupyterLab serving ``folder``/notebooks until the block ends; its log is in ``folder``."""
    # A heartbeat seldom enough that a test's plain cells meet none: what Livy is asked for
    # during them is then what the extension asked, and it must ask nothing.
    env = kernel_env(folder, emulator, trust_emulator_ca=False, heartbeat_seconds=600)
    settings = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
    for name, values in LAB_USER_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    root = folder / "notebooks"
    root.mkdir()
    token = secrets.token_hex(24)
    # Port 0: the OS picks a free port as the server binds it (a port probed beforehand could be
    # taken by a parallel test in between); the server's file in the runtime folder names it.
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", "--port=0", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
            "--ServerApp.jpserver_extensions=jupyter_emr_roles=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if (PACKAGE / "labextension" / "package.json").is_file():
        argv.append(f"--LabApp.extra_labextensions_path={PACKAGE}")
    log = folder / "jupyterlab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=output, env=env, cwd=root)
    try:
        url = _wait_until_serving(process, Path(env["JUPYTER_RUNTIME_DIR"]), token, log)
        yield Lab(url, token, root, env, log)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], runtime: Path, token: str,
                        log: Path) -> str:
    """The server's URL once it answers; it is in the server's file once it has bound."""
    http = requests.Session()
    http.trust_env = False
    server_file = runtime / f"jpserver-{process.pid}.json"
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            url = f"http://127.0.0.1:{json.loads(server_file.read_text())['port']}/"
            if http.get(url + "api/status", headers={"Authorization": f"token {token}"},
                        timeout=5).ok:
                return url
        except (OSError, ValueError, KeyError):  # not bound yet, or not answering yet
            pass
        time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not serve within {LAB_START_TIMEOUT} s: "
                         + log.read_text())


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A Playwright browser context of Debian's Chromium with a fresh profile in ``profile``."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), (f"{CHROMIUM} is not installed: run ./scripts/test.sh, or "
                               "apt-get install chromium")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        try:
            yield context
        finally:
            context.close()


def new_notebook(lab: Lab, name: str, cells: list[str]) -> None:
    """A notebook with these code cells, written through the contents API."""
    content = {"nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": source,
                   "outputs": [], "execution_count": None} for i, source in enumerate(cells)]}
    answer = lab.api().put(lab.url + f"api/contents/{name}", timeout=30,
                           json={"type": "notebook", "format": "json", "content": content})
    assert answer.status_code in (200, 201), answer.text


def open_notebook(page: Any, lab: Lab, name: str) -> Any:
    """Open the notebook in JupyterLab and wait until its kernel is idle; returns its panel."""
    # ?reset: a fresh workspace, not the tabs an earlier test left open in this server.
    page.goto(f"{lab.url}lab/tree/{name}?reset&token={lab.token}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").filter(
        has=page.locator(".jp-Notebook"))
    # As JupyterLab's own UI tests (galata) wait: the debugger button is enabled once the
    # kernel has answered kernel_info over the page's websocket; an idle indicator comes sooner.
    panel.locator('.jp-DebuggerBugButton[aria-disabled="false"]').wait_for(timeout=KERNEL_TIMEOUT)
    return panel

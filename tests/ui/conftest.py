"""A real JupyterLab with the extension, driven by a real Chromium through Playwright.

JupyterLab runs as a subprocess with token auth, its own HOME and Jupyter
folders, sparkmagic configured for its kernels, and the environment of a
`local up --spark fake` emulator, exactly as `jupyter-emr-roles demo` would
run it. The browser is Debian's Chromium (Playwright's own download is not
needed), in a fresh profile with nothing that calls home.

Select these tests with ``-m ui``. They fail (not skip) when Chromium is missing:
``./scripts/test.sh`` installs it, so a missing browser is a broken set-up.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from emulators import RunningEmulator, start_emulator
from kernels import kernel_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PACKAGE = Path(__file__).resolve().parents[2] / "jupyter_emr_roles"
LAB_START_TIMEOUT = 120.0
# Settings that keep JupyterLab from asking about news and updates over the notebook.
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ui: drives JupyterLab in a real browser (Chromium)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.ui)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell a failed test at teardown."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


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


@pytest.fixture(scope="session")
def chromium() -> Path:
    assert CHROMIUM.exists(), (f"{CHROMIUM} is not installed: run ./scripts/test.sh, or "
                               "apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start_emulator(tmp_path_factory.mktemp("emulator"), "--spark", "fake")
    yield running
    running.cli("down")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, emulator: RunningEmulator) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("lab")
    env = kernel_env(folder, emulator, trust_emulator_ca=False)
    env["AWS_CA_BUNDLE"] = emulator.env["AWS_CA_BUNDLE"]
    settings = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
    for name, values in LAB_USER_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    root = folder / "notebooks"
    root.mkdir()
    token, port = secrets.token_hex(24), _free_port()
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
            "--ServerApp.jpserver_extensions=jupyter_emr_roles=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if (PACKAGE / "labextension" / "package.json").is_file():
        argv.append(f"--LabApp.extra_labextensions_path={PACKAGE}")
    log = folder / "jupyterlab.log"
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=output, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(process, url, token, log)
        yield Lab(url, token, root, env, log)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, token: str,
                        log: Path) -> None:
    http = requests.Session()
    http.trust_env = False
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if http.get(url + "api/status", headers={"Authorization": f"token {token}"},
                        timeout=5).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"JupyterLab did not serve within {LAB_START_TIMEOUT} s: "
                         + log.read_text())


@pytest.fixture(scope="module")
def browser(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Screenshots and logs of a UI test; the path is printed so a failed run can be inspected."""
    folder = tmp_path / "ui-artifacts"
    folder.mkdir()
    print(f"UI test artifacts: {folder}")
    return folder


@pytest.fixture
def page(browser: Any, artifacts: Path, lab: Lab, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab; when the test fails, a screenshot and JupyterLab's log go to the artifacts."""
    page = browser.new_page()
    page.set_default_timeout(30_000)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(artifacts / "failure.png"), full_page=True)
        shutil.copyfile(lab.log, artifacts / "jupyterlab.log")
    page.close()

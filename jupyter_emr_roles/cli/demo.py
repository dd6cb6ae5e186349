"""`jupyter-emr-roles demo`: the local emulator and JupyterLab, with the example notebook open.

One command for the whole story without an AWS account: the emulator plays EMR,
STS, IAM and S3; JupyterLab runs with the emulator's environment, so the EMR
button, the `%%connect` cell and Spark all reach it exactly as they would reach
AWS. Both run as child processes: JupyterLab in its own process group (so a
terminal's Ctrl-C reaches only this command, which then stops it with SIGTERM
instead of Jupyter's "Shut down this server?" prompt), the emulator detached
the way `local up --detach` starts it, so a running one can be reused.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from ..errors import EmrRolesError
from ._extras import require_local_extra

NOTEBOOK = "emr-roles-demo.ipynb"
DEFAULT_FOLDER = Path("~/jupyter-emr-roles-demo")
LAB_START_TIMEOUT = 120.0
LAB_STOP_TIMEOUT = 30.0
PACKAGE = Path(__file__).resolve().parent.parent


class _Stop(Exception):
    """SIGTERM or SIGHUP arrived: clean up as for Ctrl-C."""


@click.command()
@click.option("--folder", type=click.Path(path_type=Path, file_okay=False),
              default=str(DEFAULT_FOLDER), show_default=True,
              help="JupyterLab's root folder; the example notebook is copied here once and "
                   "never overwritten, so your edits stay.")
@click.option("--spark", type=click.Choice(["real", "fake"]), default="real", show_default=True,
              help="real: PySpark in local mode (needs Java 17); fake: plain Python, no Java.")
@click.option("--port", type=click.IntRange(0, 65535),
              help="JupyterLab's port (default: Jupyter's, 8888 or the next free one).")
@click.option("--ip", help="The address JupyterLab listens on (default: Jupyter's, localhost).")
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False),
              help="The emulator's state folder, as for `local up` (default: "
                   "$JUPYTER_EMR_ROLES_LOCAL_DIR, else Jupyter's runtime folder).")
def demo(folder: Path, spark: str, port: int | None, ip: str | None, no_browser: bool,
         state_dir: Path | None) -> None:
    """Try it all without AWS: the local EMR emulator plus JupyterLab on a demo notebook.

    Starts the local EMR emulator (or reuses the one already running in the
    state folder), then JupyterLab with the emulator's environment, opening
    the example notebook. In it, click EMR in the notebook toolbar, pick the
    cluster shared-analytics and the runtime role Sales, and Connect: Spark
    then runs as that role and reads the sales data, while a second session
    as Marketing is denied it. Ctrl-C stops JupyterLab, and the emulator too
    if this command started it.

    \b
    jupyter-emr-roles demo                 # real PySpark (needs Java 17)
    jupyter-emr-roles demo --spark fake    # no Java: Python plays Spark
    """
    from ..local.state import default_state_dir

    require_local_extra(lab=True)
    state_folder = state_dir or default_state_dir()
    folder = folder.expanduser().resolve()
    try:
        with _stopped_by_signals(), _emulator(state_folder, spark) as env:
            notebook = _prepare_folder(folder)
            with _lab(folder, notebook, env, state_folder / "jupyterlab.log",
                      port=port, ip=ip, no_browser=no_browser) as lab:
                lab.wait()
                _say(f"JupyterLab exited (status {lab.returncode}).")
    except (KeyboardInterrupt, _Stop):
        _say("demo stopped")


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP end the demo as Ctrl-C does, children included."""
    def stop(signum: int, frame: Any) -> None:
        raise _Stop()

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _emulator(state_dir: Path, spark: str) -> Iterator[dict[str, str]]:
    """The running emulator's environment; one is started (and stopped after) if none runs."""
    from ..local import runner
    from ..local.emulator import check_engine

    try:
        state = runner.read_state(state_dir)
    except runner.EmulatorNotRunning:
        state = None
    if state is not None:
        engine = runner.admin(state, "status")["spark"]
        _say(f"using the running emulator at {state['endpoint']} (pid {state['pid']}, "
             f"spark {engine}); it keeps running after the demo")
        yield state["env"]
        return
    check_engine(spark)
    _say(f"starting the local EMR emulator (spark {spark}, as strict as EMR)…")
    started = time.monotonic()
    state = runner.start_detached(["local", "up", "--strict", "--spark", spark,
                                   "--state-dir", str(state_dir)], state_dir)
    _say(f"emulator ready in {time.monotonic() - started:.0f} s at {state['endpoint']}")
    try:
        yield state["env"]
    finally:
        _say("stopping the emulator…")
        runner.stop(state_dir)
        _say("emulator stopped")


def _example_notebook() -> Path:
    """The notebook shipped in the wheel, else the one of a source checkout (editable installs)."""
    for candidate in (PACKAGE / "examples" / NOTEBOOK, PACKAGE.parent / "examples" / NOTEBOOK):
        if candidate.is_file():
            return candidate
    raise EmrRolesError(f"The example notebook {NOTEBOOK} is missing from this installation "
                        f"({PACKAGE}); reinstall jupyter-emr-roles.")


def _prepare_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmrRolesError(f"Could not create the demo folder {folder}: {exc.strerror}; "
                            "choose another one with --folder.") from None
    notebook = folder / NOTEBOOK
    if notebook.exists():
        _say(f"keeping your {notebook}")
    else:
        shutil.copyfile(_example_notebook(), notebook)
        _say(f"copied the example notebook to {notebook}")
    return notebook


# The setting whose default ("none": ask) puts the news question over the notebook.
NEWS_SETTINGS = {"@jupyterlab/apputils-extension:notification": {
    "fetchNews": "false", "checkForUpdates": False}}


def _quiet_settings(folder: Path) -> Path:
    """An app settings folder for the demo's JupyterLab: the environment's own (its page
    config and overrides) plus overrides that answer the news question with no; a person's
    own settings still win."""
    from jupyterlab.commands import get_app_dir

    from ..jsonfile import dumps, write_atomically

    ours, theirs = folder / ".jupyter-emr-roles-lab-settings", Path(get_app_dir()) / "settings"
    ours.mkdir(exist_ok=True)
    for page_config in theirs.glob("page_config.json"):
        shutil.copyfile(page_config, ours / page_config.name)
    overrides = theirs / "overrides.json"
    merged = json.loads(overrides.read_text()) if overrides.is_file() else {}
    for plugin, settings in NEWS_SETTINGS.items():
        merged[plugin] = {**merged.get(plugin, {}), **settings}
    write_atomically(ours / "overrides.json", dumps(merged))
    return ours


def _lab_argv(folder: Path, notebook: Path, port: int | None, ip: str | None,
              no_browser: bool) -> list[str]:
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
            f"--LabApp.default_url=/lab/tree/{quote(notebook.name)}",
            # Enabled here too: an editable install has no etc/jupyter config file for it.
            "--ServerApp.jpserver_extensions=jupyter_emr_roles=True",
            # No news prompt and no update check over the demo notebook (nor calls out): the
            # page config alone still leaves the "official Jupyter news" question to a new user.
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.app_settings_dir={_quiet_settings(folder)}"]
    if (PACKAGE / "labextension" / "package.json").is_file():
        # JupyterLab finds the extension in any folder holding <dir>/package.json, so a
        # source checkout's fresh build is used even before `jupyter labextension develop`.
        argv.append(f"--LabApp.extra_labextensions_path={PACKAGE}")
    argv += [f"--port={port}"] if port is not None else []
    argv += [f"--ip={ip}"] if ip is not None else []
    argv += ["--no-browser"] if no_browser else []
    argv += ["--allow-root"] if os.geteuid() == 0 else []
    return argv


@contextmanager
def _lab(folder: Path, notebook: Path, emulator_env: dict[str, str], log_path: Path,
         port: int | None, ip: str | None, no_browser: bool) -> Iterator[subprocess.Popen[bytes]]:
    """JupyterLab, listening and its URL printed; stopped on the way out, however that comes."""
    _say("starting JupyterLab…")
    with open(log_path, "wb") as log_file:
        lab = subprocess.Popen(_lab_argv(folder, notebook, port, ip, no_browser),
                               stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                               cwd=folder, env={**os.environ, **emulator_env},
                               start_new_session=True)
    try:
        _wait_for_lab(lab, notebook, log_path)
        yield lab
    finally:
        if lab.poll() is None:
            _say("stopping JupyterLab…")
            _stop_lab(lab)


def _wait_for_lab(lab: subprocess.Popen[bytes], notebook: Path, log_path: Path) -> None:
    from jupyter_core.paths import jupyter_runtime_dir

    started = time.monotonic()
    info_file = Path(jupyter_runtime_dir()) / f"jpserver-{lab.pid}.json"
    deadline = time.monotonic() + LAB_START_TIMEOUT
    info: dict[str, Any] | None = None
    while info is None:
        if lab.poll() is not None:
            tail = " ".join(log_path.read_text(errors="replace").strip().splitlines()[-5:])
            raise EmrRolesError(f"JupyterLab stopped while starting: {tail} (log: {log_path})")
        if time.monotonic() > deadline:
            raise EmrRolesError(f"JupyterLab did not start within {LAB_START_TIMEOUT:.0f} s "
                                f"(log: {log_path}).")
        info = _server_info(info_file)
        if info is None:
            time.sleep(0.2)
    url = f"{info['url']}lab/tree/{quote(notebook.name)}?token={info['token']}"
    _say(f"JupyterLab ready in {time.monotonic() - started:.0f} s (log: {log_path})")
    _say(f"JupyterLab at {url}")
    _say("in the notebook, click EMR in its toolbar, pick shared-analytics and Sales, then "
         "Connect; Ctrl-C here stops the demo")


def _server_info(path: Path) -> dict[str, Any] | None:
    """jupyter_server writes this file once it listens; None until then (or while half-written)."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _stop_lab(lab: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets jupyter_server shut its kernels down; SIGKILL only if it hangs."""
    if lab.poll() is None:
        lab.terminate()
        try:
            lab.wait(LAB_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()


def _say(message: str) -> None:
    click.echo(f"==> {message}", err=True)

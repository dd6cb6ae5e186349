"""A notebook's kernel for tests: a real kernel of this venv, driven through jupyter_client.

Each kernel gets its own HOME, IPython and Jupyter folders and sparkmagic
configuration (logging to a file in its folder), the emulator's environment
and nothing of the developer's AWS, CA or proxy settings; its stdout and
stderr are captured in ``kernel.log`` so tests can read everything it wrote.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulators import RunningEmulator
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

# This machine points these at the system bundle; a kernel gets only what a test gives it.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE", "SSL_CERT_FILE")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_TIMEOUT = 90.0
LIVY_CA = "JUPYTER_EMR_ROLES_CA_BUNDLE"

def sparkmagic_config(log_file: Path, heartbeat_seconds: float = 1) -> dict[str, Any]:
    return {
        # sparkmagic calls logging.config.dictConfig for every logger it builds: log to our file,
        # and leave the kernel's own loggers alone.
        "logging_config": {
            "version": 1, "disable_existing_loggers": False,
            "formatters": {"magicsFormatter": {
                "format": "%(asctime)s\t%(levelname)s\t%(message)s"}},
            "handlers": {"magicsHandler": {"class": "logging.FileHandler",
                                           "formatter": "magicsFormatter",
                                           "filename": str(log_file)}},
            "loggers": {"magicsLogger": {"handlers": ["magicsHandler"], "level": "DEBUG",
                                         "propagate": 0}},
        },
        "livy_session_startup_timeout_seconds": 120,
        "wait_for_idle_timeout_seconds": 30,
        # sparkmagic sends heartbeatTimeoutInSecond (Livy kills a session not heard of for that
        # long), and the heartbeat refreshes each session every heartbeat_seconds.
        "livy_server_heartbeat_timeout_seconds": max(60, 4 * heartbeat_seconds),
        "heartbeat_refresh_seconds": heartbeat_seconds,
        "heartbeat_retry_seconds": 1,
        "retry_policy": "configurable",
        "retry_seconds_to_sleep_list": [0.2, 0.5],
        "configurable_retry_policy_max_retries": 3,
        "session_configs": {"driverMemory": "512m",
                            "conf": {"spark.sql.shuffle.partitions": "2"}},
    }


def kernel_env(folder: Path, emulator: RunningEmulator, trust_emulator_ca: bool,
               heartbeat_seconds: float = 1) -> dict[str, str]:
    """This process's environment without AWS, Jupyter, CA or proxy settings, plus the
    emulator's variables as `local up` prints them (AWS_CA_BUNDLE for its AWS endpoint,
    JUPYTER_EMR_ROLES_CA_BUNDLE for Livy) and private folders for everything a kernel and
    sparkmagic write. ``trust_emulator_ca`` also sets REQUESTS_CA_BUNDLE to Livy's CA, which
    is what plain sparkmagic (``%spark add``) needs to trust Livy; ``heartbeat_seconds`` is
    how often each session is refreshed in the background."""
    dropped_prefixes = ("AWS_", "JUPYTER", "IPYTHON", "SPARKMAGIC_", "XDG_")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(dropped_prefixes) and name not in CA_VARIABLES
           and name.lower() not in PROXY_VARIABLES}
    folders = {name: folder / sub for name, sub in (
        ("HOME", "home"), ("IPYTHONDIR", "ipython"), ("JUPYTER_CONFIG_DIR", "jupyter/config"),
        ("JUPYTER_DATA_DIR", "jupyter/data"), ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"),
        ("SPARKMAGIC_CONF_DIR", "sparkmagic"))}
    for name, path in folders.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    (folders["SPARKMAGIC_CONF_DIR"] / "config.json").write_text(
        json.dumps(sparkmagic_config(folder / "sparkmagic.log", heartbeat_seconds), indent=2))
    env.update(emulator.env)
    env["JUPYTER_EMR_ROLES_HEARTBEAT_SECONDS"] = str(heartbeat_seconds)
    if trust_emulator_ca:
        env["REQUESTS_CA_BUNDLE"] = emulator.env[LIVY_CA]
    return env


@dataclass(frozen=True)
class Cell:
    status: str  # the execute_reply's: "ok" or "error"
    output: str  # stream, execute_result, display_data and error outputs, in order, ANSI-free


class NotebookKernel:
    """An IPython kernel of this venv (``python -m ipykernel_launcher``), run by jupyter_client."""

    def __init__(self, folder: Path, env: dict[str, str],
                 module: str = "ipykernel_launcher") -> None:
        """``module`` is what ``python -m`` runs: sparkmagic's wrapper kernels work too
        (``sparkmagic.kernels.pysparkkernel.pysparkkernel``)."""
        self.folder = folder
        self.sparkmagic_log = folder / "sparkmagic.log"
        self.kernel_log = folder / "kernel.log"
        specs = folder / "kernelspecs"
        (specs / "venv-python").mkdir(parents=True)
        (specs / "venv-python" / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", module, "-f", "{connection_file}"],
            "display_name": "Python (test venv)", "language": "python"}))
        # Unix sockets, not TCP ports: a port jupyter_client probed free can be taken by
        # another kernel's own socket before this kernel binds it (twenty kernels starting at
        # once met that), and the kernel then dies while its client waits forever. A short
        # folder of its own: a socket's path may not exceed 107 bytes.
        self._sockets = tempfile.mkdtemp(prefix="k", dir="/tmp")
        self.manager = KernelManager(
            kernel_name="venv-python",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
            connection_file=str(folder / "connection.json"), transport="ipc",
            ip=f"{self._sockets}/s")
        with self.kernel_log.open("ab") as output:
            self.manager.start_kernel(env=env, cwd=str(folder), stdout=output, stderr=output)
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=60)
        except BaseException:
            self.shutdown()
            raise

    def run(self, code: str, timeout: float = CELL_TIMEOUT) -> Cell:
        """Execute one cell; raises TimeoutError if the kernel does not finish it in time."""
        chunks: list[str] = []

        def collect(message: dict[str, Any]) -> None:
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                chunks.append(content["text"])
            elif kind in ("execute_result", "display_data", "update_display_data"):
                data = content.get("data", {})
                chunks.append(data.get("text/html") or data.get("text/plain", ""))
                chunks.append("\n")
            elif kind == "error":
                chunks.append("\n".join([f"{content['ename']}: {content['evalue']}",
                                         *content["traceback"]]) + "\n")

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=collect,
                                                allow_stdin=False, store_history=True)
        return Cell(reply["content"]["status"], ANSI.sub("", "".join(chunks)))

    def messages(self, code: str, timeout: float = CELL_TIMEOUT) -> tuple[str, list[dict[str, Any]]]:
        """Execute one cell; the execute_reply's status and every IOPub message the cell caused
        (widgets' comm_open and comm_msg included), as a front end receives them."""
        received: list[dict[str, Any]] = []
        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=received.append,
                                                allow_stdin=False, store_history=True)
        return reply["content"]["status"], received

    def iopub(self, timeout: float) -> list[dict[str, Any]]:
        """The IOPub messages the kernel sends within ``timeout`` seconds while no cell runs:
        what it pushes by itself (a comm message from a background thread, say)."""
        deadline = time.monotonic() + timeout
        received: list[dict[str, Any]] = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                received.append(self.client.get_iopub_msg(timeout=remaining))
            except queue.Empty:
                break
        return received

    def send_comm(self, comm_id: str, data: dict[str, Any],
                  timeout: float = CELL_TIMEOUT) -> list[dict[str, Any]]:
        """Send a comm_msg as a front end does (a widget's state update, a button click) and
        return the IOPub messages its handling caused, once the kernel is idle again."""
        return self.shell_request("comm_msg", {"comm_id": comm_id, "data": data}, timeout)

    def open_comm(self, target: str,
                  timeout: float = CELL_TIMEOUT) -> tuple[str, list[dict[str, Any]]]:
        """Open a comm to the kernel as a page does; its id and the IOPub messages the
        opening caused, once the kernel is idle again."""
        comm_id = uuid.uuid4().hex
        return comm_id, self.shell_request(
            "comm_open", {"comm_id": comm_id, "target_name": target, "data": {}}, timeout)

    def shell_request(self, msg_type: str, content: dict[str, Any],
                      timeout: float = CELL_TIMEOUT) -> list[dict[str, Any]]:
        """Send a shell message; the IOPub messages its handling caused, until idle."""
        request = self.client.session.msg(msg_type, content)
        self.client.shell_channel.send(request)
        deadline = time.monotonic() + timeout
        received: list[dict[str, Any]] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the kernel did not handle {msg_type} in {timeout} s")
            try:
                message = self.client.get_iopub_msg(timeout=remaining)
            except queue.Empty:
                continue
            if message["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                continue
            if (message["header"]["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"):
                return received
            received.append(message)

    def ok(self, code: str, timeout: float = CELL_TIMEOUT) -> str:
        """Run a cell that must succeed in the notebook's sense; returns its output."""
        cell = self.run(code, timeout)
        assert cell.status == "ok", cell.output
        assert "An error was encountered" not in cell.output, cell.output
        return cell.output

    def refused(self, code: str, timeout: float = CELL_TIMEOUT) -> str:
        """Run a cell that must fail the friendly way (one paragraph, no traceback); returns
        its output."""
        cell = self.run(code, timeout)
        assert cell.status == "error" and "Traceback" not in cell.output, cell.output
        return cell.output

    def shutdown(self, now: bool = True) -> None:
        """``now=False`` asks the kernel to shut down as a front end does, so its exit
        handlers run; ``now=True`` kills it."""
        self.client.stop_channels()
        if self.manager.has_kernel:
            self.manager.shutdown_kernel(now=now)
        shutil.rmtree(self._sockets, ignore_errors=True)


def connected(output: str, role: str, cluster_id: str, name: str) -> int:
    """The Livy id from the final line of a successful %connect."""
    found = re.search(rf"connected as {re.escape(role)} on {cluster_id} \(session {name}, "
                      r"Livy id (\d+)\)", output)
    assert found, output
    return int(found.group(1))


def connect_session_id(output: str, role: str, cluster_id: str, name: str) -> str:
    """The Spark Connect session ID a %connect's done line names."""
    found = re.search(rf"connected as {re.escape(role)} on {cluster_id} \(session {name}, "
                      r"Spark Connect id (is-[A-Z0-9]{13})\)", output)
    assert found, output
    return found.group(1)

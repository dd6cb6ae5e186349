"""The kernel pushes its connections to the Lab extension's status bar when they change, over a
Jupyter comm, as the front end receives them (jupyter_client's IOPub): a plain cell costs no
message and no Livy request, a change arrives by itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from demo_world import SALES
from emulators import RunningEmulator
from kernels import NotebookKernel

from jupyter_emr_roles.vocabulary import TARGET
from jupyter_emr_roles.vocabulary import export


def pushed(messages: list[dict[str, Any]]) -> list[list[str]]:
    """The session names of each snapshot the kernel pushed, in order (sparkmagic's progress
    widgets send comm messages too: they carry no ``connections``)."""
    return [sorted(row["name"] for row in message["content"]["data"]["connections"])
            for message in messages
            if message["header"]["msg_type"] == "comm_msg"
            and "connections" in message["content"]["data"]]


def ours(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages of the status comm: its opening and every snapshot."""
    return [m for m in messages if m["header"]["msg_type"].startswith("comm")
            and (m["content"].get("target_name") == TARGET
                 or "connections" in m["content"].get("data", {}))]


def livy_requests(emulator: RunningEmulator, cluster_id: str) -> int:
    return next(c["livy_requests"] for c in emulator.status()["clusters"] if c["id"] == cluster_id)


def cell(kernel: NotebookKernel, code: str) -> list[dict[str, Any]]:
    status, messages = kernel.messages(code)
    assert status == "ok", messages
    return messages


def test_changes_are_pushed_and_plain_cells_cost_nothing(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator, heartbeat_seconds=600)
    cell(kernel, "%load_ext jupyter_emr_roles")
    first = cell(kernel, f"%connect --cluster-id {cluster} --name one")
    opened = [m for m in ours(first) if m["header"]["msg_type"] == "comm_open"]
    assert len(opened) == 1, "one comm for the status bar"
    assert pushed(first)[-1] == ["one"]
    (row,) = [row for m in first if m["header"]["msg_type"] == "comm_msg"
              for row in m["content"]["data"].get("connections", [])][-1:]
    assert list(row) == list(export()["connection_row"]), "the row vocabulary.json declares"
    second = cell(kernel, f"%connect --cluster-id {cluster} --name two")
    assert pushed(second)[-1] == ["one", "two"]

    before = livy_requests(emulator, cluster)
    quiet = [message for _ in range(20) for message in cell(kernel, "1 + 1")]
    assert not ours(quiet)
    assert livy_requests(emulator, cluster) == before, "no Livy request for a plain cell"

    assert pushed(cell(kernel, "%disconnect one")) == [["two"]]
    assert pushed(cell(kernel, "%spark delete -s two")) == [[]], "sparkmagic's delete seen too"
    forced = cell(kernel, "import jupyter_emr_roles\njupyter_emr_roles.publish_connections()")
    assert pushed(forced) == [[]], "asked once by a front end that meets the kernel"


def test_a_page_that_meets_the_kernel_gets_its_sessions_at_once_and_every_change_after(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """A reloaded tab, or a second one, opens the status comm itself: the kernel answers on it
    with the sessions it holds, and pushes each change on it too, not only on the comm the
    first page had."""
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator, heartbeat_seconds=600)
    cell(kernel, "%load_ext jupyter_emr_roles")
    cell(kernel, f"%connect --cluster-id {cluster} --name one")

    comm_id, answer = kernel.open_comm(TARGET)
    later = cell(kernel, f"%connect --cluster-id {cluster} --name two")

    def on_the_new_comm(messages: list[dict[str, Any]]) -> list[list[str]]:
        return pushed([m for m in messages if m["content"].get("comm_id") == comm_id])

    assert on_the_new_comm(answer) == [["one"]], answer
    assert on_the_new_comm(later) == [["one", "two"]], later
    cell(kernel, "%disconnect --all")


def test_a_session_gone_on_livys_side_is_pushed_by_the_heartbeat(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator, heartbeat_seconds=1)
    cell(kernel, "%load_ext jupyter_emr_roles")
    connected = cell(kernel, f"%connect --cluster-id {cluster} --name doomed")
    livy_id = next(row["session_id"] for m in connected if m["header"]["msg_type"] == "comm_msg"
                   for row in m["content"]["data"].get("connections", []))
    emulator.delete_session(cluster, livy_id, SALES)
    deadline = time.monotonic() + 10
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline and [[]] != pushed(seen)[-1:]:
        seen += kernel.iopub(timeout=1)
    assert pushed(seen)[-1:] == [[]], seen

"""A kernel killed with SIGKILL closes nothing: its sessions are found in its ledger and closed
from another kernel (``%emr_sessions --orphans --close``, and a note at the next
``%connect``) and from the command line (``jupyter-emr-roles sessions --orphans --close``).

What is open is read from the emulator (its status, ListSessions), never from our objects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from demo_world import SALES
from emulators import RunningEmulator
from helpers import RunCli
from kernels import NotebookKernel, connect_session_id, connected


def _runtime(tmp_path: Path) -> dict[str, str]:
    """One runtime folder for every kernel and command of the test, as one user's."""
    return {"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}


def _livy_ids(emulator: RunningEmulator, cluster: str) -> set[int]:
    return {s["id"] for s in emulator.open_sessions(cluster)}


def _listed(cli: RunCli, env: dict[str, str], *names: str, wait: float = 10) -> bool:
    """Whether `jupyter-emr-roles sessions` lists these sessions of a running kernel (its
    ledger is written just after the connect, by a thread of its own)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        rows = json.loads(cli("sessions", "--json", env=env).stdout)
        if set(names) <= {row["name"] for row in rows if row["kernel_running"]}:
            return True
        time.sleep(0.2)
    return False


def test_a_killed_kernels_sessions_are_noted_listed_and_closed_from_a_new_kernel(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path, cli: RunCli,
        notebook: Callable[..., NotebookKernel]) -> None:
    livy, connect = clusters["shared-analytics"], clusters["connect-analytics"]
    dead = notebook(emulator, **_runtime(tmp_path))
    dead.ok("%load_ext jupyter_emr_roles")
    livy_id = connected(dead.ok(f"%connect --cluster-id {livy} --name left_livy"), SALES, livy,
                        "left_livy")
    sc_id = connect_session_id(dead.ok(f"%connect --cluster-id {connect} --engine spark-connect "
                                       "--name left_sc"), SALES, connect, "left_sc")
    assert _listed(cli, {**emulator.env, **_runtime(tmp_path)}, "left_livy", "left_sc")
    dead.shutdown(now=True)  # SIGKILL: no exit handler runs
    assert livy_id in _livy_ids(emulator, livy)
    assert sc_id in {s["Id"] for s in emulator.open_connect_sessions(connect)}

    fresh = notebook(emulator, **_runtime(tmp_path))
    fresh.ok("%load_ext jupyter_emr_roles")
    note = fresh.ok(f"%connect --cluster-id {livy} --name mine")
    listed = fresh.ok("%emr_sessions --orphans")
    closed = fresh.ok("%emr_sessions --orphans --close")
    after = fresh.ok("%emr_sessions --orphans")

    assert "Kernels that are gone left 2 session(s) open" in note, note
    assert f"left_livy: livy session {livy_id} on {livy} as {SALES}" in listed, listed
    assert f"left_sc: spark-connect session {sc_id} on {connect}" in listed, listed
    assert f"closed left_livy ({livy_id} on {livy})" in closed, closed
    assert f"closed left_sc ({sc_id} on {connect})" in closed, closed
    assert "No session is left by a kernel that is gone." in after
    assert livy_id not in _livy_ids(emulator, livy)
    assert emulator.connect_session_ends(connect, sc_id), "TerminateSession ends it (TERMINATING first)"
    assert "mine" in fresh.ok("%disconnect --all"), "the new kernel's own session is its own"


def test_the_command_line_lists_running_kernels_and_closes_only_what_the_dead_left(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path, cli: RunCli,
        notebook: Callable[..., NotebookKernel]) -> None:
    livy = clusters["shared-analytics"]
    env = {**emulator.env, **_runtime(tmp_path)}
    dead, alive = notebook(emulator, **_runtime(tmp_path)), notebook(emulator, **_runtime(tmp_path))
    for kernel, name in ((dead, "dead_one"), (alive, "alive_one")):
        kernel.ok("%load_ext jupyter_emr_roles")
        kernel.ok(f"%connect --cluster-id {livy} --name {name}")
    assert _listed(cli, env, "dead_one", "alive_one")
    dead.shutdown(now=True)

    everything = json.loads(cli("sessions", "--json", env=env).stdout)
    closing = cli("sessions", "--orphans", "--close", env=env)
    orphans_after = cli("sessions", "--orphans", env=env)

    assert {(row["name"], row["kernel_running"]) for row in everything} == {
        ("dead_one", False), ("alive_one", True)}
    assert closing.returncode == 0 and "closed dead_one" in closing.stdout, closing.stderr
    assert "alive_one" not in closing.stdout, "a running kernel's session is its own"
    assert "No session is left by a kernel that is gone." in orphans_after.stdout
    states = {s["name"] for s in json.loads(cli("sessions", "--json", env=env).stdout)}
    assert states == {"alive_one"}
    assert "disconnected alive_one" in alive.ok("%disconnect --all")
    assert cli("sessions", "--close", env=env).returncode == 2

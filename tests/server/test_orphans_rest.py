"""GET orphans and POST orphans/close: the sessions kernels that are gone left open, listed
and closed through the server, as the Lab extension's one-time offer does.

The ledgers are written here as a kernel writes them (a dead kernel's PID, and this
process's for a running one); what is open is read from the emulator's ListSessions.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest
from emulators import RunningEmulator
from rest import RestClient

SALES = "arn:aws:iam::123456789012:role/sales-data-access"


def _ledger(folder: Path, pid: int, started: float, profile: str | None = None,
            **sessions: str) -> None:
    """A kernel's ledger listing Spark Connect sessions (name → cluster/session ID), opened
    with the AWS profile given (None: the environment's credentials)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"name": name, "engine": "spark-connect", "place": place, "session_id": session_id,
             "role_arn": SALES, "opened": "2026-12-07T10:00:00+00:00",
             "region": os.environ["AWS_DEFAULT_REGION"], "profile": profile}
            for name, (place, session_id) in ((n, s.split("/")) for n, s in sessions.items())]
    document = {"pid": pid, "started": started, "host": socket.gethostname(), "sessions": rows}
    (folder / f"kernel-{pid}-{int(started)}.json").write_text(json.dumps(document))


def _dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


@pytest.fixture
def ledgers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runtime folder of the server and of the closing command it runs."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    return tmp_path / "jupyter-emr-roles-ledgers"


async def test_a_dead_kernels_session_is_listed_and_closed_and_a_running_ones_is_not(
        rest: RestClient, emulator: RunningEmulator, cluster_ids: dict[str, str],
        ledgers: Path) -> None:
    cluster = cluster_ids["spark-sessions"]
    left = emulator.client("emr").start_session(ClusterId=cluster, ExecutionRoleArn=SALES)["Id"]
    _ledger(ledgers, _dead_pid(), 1.0, gone=f"{cluster}/{left}")
    running = ledgers / f"kernel-{os.getpid()}-{int(psutil.Process().create_time())}.json"
    _ledger(ledgers, os.getpid(), psutil.Process().create_time(), alive=f"{cluster}/s-kept")

    listed = await rest.get("orphans")
    closed = await rest.post("orphans/close", body="")
    after = await rest.get("orphans")

    assert [(row["name"], row["session_id"], row["place"], row["role_arn"])
            for row in listed.body["orphans"]] == [("gone", left, cluster, SALES)]
    assert closed.status == 200, closed
    assert closed.body == {"lines": [f"closed gone ({left} on {cluster})"], "failed": 0}
    assert after.body == {"orphans": []}
    assert emulator.connect_session_ends(cluster, left), "closed on the cluster"
    assert "s-kept" in running.read_text(), "a running kernel's ledger is not touched"


async def test_a_session_that_cannot_be_closed_is_counted_and_stays_listed(
        rest: RestClient, cluster_ids: dict[str, str], ledgers: Path) -> None:
    """Its kernel's AWS profile is gone from this machine: its line says so, and it stays
    listed for a later try."""
    cluster = cluster_ids["spark-sessions"]
    _ledger(ledgers, _dead_pid(), 1.0, profile="removed-since", lost=f"{cluster}/s-0000000000")

    closed: Any = await rest.post("orphans/close", body="")
    listed = await rest.get("orphans")

    assert closed.status == 200 and closed.body["failed"] == 1, closed
    (line,) = closed.body["lines"]
    assert line.startswith(f"could not close lost (s-0000000000 on {cluster}): "), line
    assert "removed-since" in line and "Traceback" not in line
    assert [row["name"] for row in listed.body["orphans"]] == ["lost"]


async def test_nothing_left_is_an_empty_list(rest: RestClient, ledgers: Path) -> None:
    assert (await rest.get("orphans")).body == {"orphans": []}

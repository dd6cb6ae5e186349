"""Every engine keeps the contract the connect flow, the registry and the faces rely on.

Run for each engine ``--engine`` offers, in a real kernel against the emulator: a
new engine (EMR's Spark Connect sessions) gets this test by being listed. The
session is opened by ``%connect`` and used only through ``engine.EngineSession``;
what is open on the cluster is read from the emulator, never from our objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from demo_world import SALES
from emulators import RunningEmulator
from kernels import NotebookKernel

from jupyter_emr_roles import sessions
from jupyter_emr_roles.connect_request import ENGINES
from jupyter_emr_roles.engines.base import ENDED, GONE


@dataclass(frozen=True)
class EngineCase:
    """Where an engine runs in the emulator's world (a cluster, or with ``serverless`` an
    application), how a cell reaches its session, how the session is ended behind the kernel's
    back, and the state it then has: gone where the service forgot it (Livy), ended with the
    service's reason where it keeps it (EMR). ``expires``: whether its login runs out (a
    session signed with an IAM user's own keys has none that does)."""

    place: str
    cell: str
    end: Callable[[RunningEmulator, str, str | int], None]
    after_end: str
    serverless: bool = False
    expires: bool = True


def _delete_livy(emulator: RunningEmulator, cluster_id: str, session_id: str | int) -> None:
    emulator.delete_session(cluster_id, int(session_id), SALES)


def _terminate(emulator: RunningEmulator, cluster_id: str, session_id: str | int) -> None:
    emulator.client("emr").terminate_session(ClusterId=cluster_id, SessionId=str(session_id))


def _terminate_serverless(emulator: RunningEmulator, application_id: str,
                          session_id: str | int) -> None:
    emulator.client("emr-serverless").terminate_session(applicationId=application_id,
                                                        sessionId=str(session_id))


def _delete_serverless_livy(emulator: RunningEmulator, application_id: str,
                            session_id: str | int) -> None:
    emulator.delete_serverless_session(application_id, int(session_id))


LIVY_CELL = "%%spark -s contract\nprint(6 * 7)"
CONNECT_CELL = "print(contract.range(7).count() * 6)"
CASES = {
    "livy": EngineCase("shared-analytics", LIVY_CELL, _delete_livy, GONE),
    "serverless-livy": EngineCase("serverless-livy", LIVY_CELL, _delete_serverless_livy, GONE,
                                  serverless=True, expires=False),
    "spark-connect": EngineCase("connect-analytics", CONNECT_CELL, _terminate, ENDED),
    "serverless-spark-connect": EngineCase("serverless-spark-connect", CONNECT_CELL,
                                           _terminate_serverless, ENDED, serverless=True),
}

# The first cell: everything a live session answers, then a watch for what comes next. The
# service may learn that the cell's statement ended after the client did (the emulator's front
# when the stream's close reaches it), so idle is awaited, with a deadline.
LIVE = """
import json, time
from jupyter_emr_roles.errors import EmrRolesError
magics = get_ipython().magics_manager.registry['EmrRolesMagics']
session = next(c for c in magics.connections._by_name.values() if c.name == 'contract').session
changes = []
session.watch(lambda: changes.append(session.last_state))
deadline = time.monotonic() + 10
while session.state() != 'idle' and time.monotonic() < deadline:
    time.sleep(0.1)
seen = {'kind': session.kind, 'id': session.id, 'registered': session.registered(),
        'state': session.last_state, 'links': session.links(),
        'expires_later': session.credentials_expire.timestamp() > time.time()
                         if session.credentials_expire else None,
        'two': session.statement('1 + 1', time.monotonic() + 60)}
try:
    session.statement('1 / 0', time.monotonic() + 60)
except EmrRolesError as exc:
    seen['error'] = str(exc)
print(json.dumps(seen))
"""
# The second cell, once the session was deleted behind the kernel's back: the service may pass
# through other states (EMR's TERMINATING) first, so it waits for the state asserted, with a
# deadline, not for the first change.
AFTER_DELETE = """
deadline = time.monotonic() + 30
while not (changes and session.state() in ('gone', 'ended')) and time.monotonic() < deadline:
    time.sleep(0.2)
seen = {'changes': changes, 'state': session.state(), 'reason': session.reason,
        'still_registered': session.registered()}
session.forget()
session.close()
session.close()
seen['registered_after'] = session.registered()
print(json.dumps(seen))
"""


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _session_id(output: str, cluster: str) -> str | int:
    found = re.search(rf"connected as {re.escape(SALES)} on {cluster} \(session contract, "
                      r"(Livy|Spark Connect) id ([\w-]+)\)", output)
    assert found, output
    return int(found.group(2)) if found.group(1) == "Livy" else found.group(2)


@pytest.mark.parametrize("engine", sorted(sessions.ENGINES))
def test_the_engine_session_keeps_its_contract(
        engine: str, emulator: RunningEmulator, clusters: dict[str, str],
        applications: dict[str, str], notebook: Callable[..., NotebookKernel]) -> None:
    case = CASES[engine]
    cluster = (applications if case.serverless else clusters)[case.place]
    flag = "--application-id" if case.serverless else "--cluster-id"
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    session_id = _session_id(kernel.ok(f"%connect {flag} {cluster} --name contract --engine "
                                       f"{engine.removeprefix(sessions.SERVERLESS)}"), cluster)
    assert "42" in kernel.ok(case.cell), "register() reaches cells"
    live = _last_json(kernel.ok(LIVE))
    assert live["kind"] and live["id"] == session_id and live["registered"]
    assert live["state"] == "idle" and isinstance(live["links"], dict)
    assert live["expires_later"] is (True if case.expires else None)
    assert live["two"].strip() == "2"
    assert "ZeroDivisionError" in live["error"] and "\n" not in live["error"].strip()
    case.end(emulator, cluster, session_id)
    gone = _last_json(kernel.ok(AFTER_DELETE))
    assert gone["changes"], "watch() hears the change the deletion makes (at a heartbeat)"
    assert gone["state"] == case.after_end and gone["still_registered"] is True
    assert bool(gone["reason"]) == (case.after_end == ENDED), gone
    assert gone["registered_after"] is False
    if engine == "livy":
        assert not [s for s in emulator.open_sessions(cluster) if s["id"] == session_id]


def test_every_engine_offered_has_an_implementation() -> None:
    """On clusters and applications alike: a Serverless twin is the engine's name with
    sessions.SERVERLESS before it."""
    assert set(sessions.ENGINES) == set(CASES)
    offered = {name.removeprefix(sessions.SERVERLESS) for name in sessions.ENGINES}
    assert offered | {"auto"} == set(ENGINES)

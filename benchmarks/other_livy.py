"""A second Livy-compatible server, for benchmarks only: written from Livy's REST API
documentation, sharing no code with the emulator's gateway, and with timing of its own.

A connect figure that holds only against our own gateway says nothing about a real cluster,
whose Livy starts sessions, runs statements and accepts fresh logins on its own schedule.
This server moves a session from ``not_started`` through ``starting`` to ``idle`` after
``start`` seconds, a statement from ``waiting`` through ``running`` to ``available`` after
``statement`` seconds, and answers 401 to a login for ``propagation`` seconds after it first
sees it (it cannot know when EMR issued it; the first request comes right after). Any login is
accepted after that: the login's validity is the control plane's business, not the timing's.
It serves HTTPS on 127.0.0.1 with a certificate of its own CA, in a process of its own, as
a cluster's Livy would be:

    python benchmarks/other_livy.py [--start 0.23] [--statement 0.031] [--propagation 0.9]

prints ``URL CA_BUNDLE`` on its first line, then serves until it is terminated.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jupyter_emr_roles.local.tls import make_local_tls

_SESSION = re.compile(r"^/sessions/(\d+)(/state|/log)?$")
_STATEMENTS = re.compile(r"^/sessions/(\d+)/statements(?:/(\d+))?$")


@dataclass(frozen=True)
class Timing:
    start: float = 0.23
    statement: float = 0.031
    propagation: float = 0.0


@dataclass
class _Session:
    id: int
    kind: str
    created: float
    statements: dict[int, tuple[str, float]] = field(default_factory=dict)

    def state(self, timing: Timing) -> str:
        age = time.monotonic() - self.created
        if age < timing.start / 3:
            return "not_started"
        return "starting" if age < timing.start else "idle"

    def as_json(self, timing: Timing) -> dict[str, Any]:
        return {"id": self.id, "name": None, "appId": None, "owner": None, "proxyUser": None,
                "kind": self.kind, "state": self.state(timing), "log": [],
                "appInfo": {"driverLogUrl": None, "sparkUiUrl": None}}


class _World:
    """The sessions and the logins seen, behind one lock."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.lock = threading.Lock()
        self.sessions: dict[int, _Session] = {}
        self.first_seen: dict[str, float] = {}
        self.ids = itertools.count()
        self.statement_ids = itertools.count()

    def propagated(self, user: str) -> bool:
        with self.lock:
            seen = self.first_seen.setdefault(user, time.monotonic())
        return time.monotonic() - seen >= self.timing.propagation


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    world: _World

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark prints figures, not requests."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if not self.world.propagated(self._user()):
            self._answer(401, {"msg": "login not known yet"})
            return
        path = self.path.split("?", 1)[0]
        status, answer = _route(self.world, method, path, body)
        self._answer(status, answer)

    def _user(self) -> str:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        if scheme != "Basic":
            return ""
        return base64.b64decode(encoded).decode().partition(":")[0]

    def _answer(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _route(world: _World, method: str, path: str,
           body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    timing = world.timing
    if path == "/sessions":
        if method == "POST":
            with world.lock:
                session = _Session(next(world.ids), body.get("kind", "pyspark"), time.monotonic())
                world.sessions[session.id] = session
            return 201, session.as_json(timing)
        with world.lock:
            listed = [s.as_json(timing) for s in world.sessions.values()]
        return 200, {"from": 0, "total": len(listed), "sessions": listed}
    found = _SESSION.match(path) or _STATEMENTS.match(path)
    session = world.sessions.get(int(found.group(1))) if found else None
    if session is None:
        return 404, {"msg": f"Session '{path}' not found."}
    if _SESSION.match(path):
        return _session_route(world, session, method, found.group(2))
    return _statement_route(world, session, method, found.group(2), body)


def _session_route(world: _World, session: _Session, method: str,
                   part: str | None) -> tuple[int, dict[str, Any]]:
    if method == "DELETE":
        with world.lock:
            world.sessions.pop(session.id, None)
        return 200, {"msg": "deleted"}
    if part == "/state":
        return 200, {"id": session.id, "state": session.state(world.timing)}
    if part == "/log":
        return 200, {"id": session.id, "from": 0, "total": 0, "log": []}
    return 200, session.as_json(world.timing)


def _statement_route(world: _World, session: _Session, method: str, statement_id: str | None,
                     body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if method == "POST":
        with world.lock:
            new_id = next(world.statement_ids)
            session.statements[new_id] = (str(body.get("code", "")), time.monotonic())
        return 201, {"id": new_id, "code": body.get("code"), "state": "waiting", "output": None,
                     "progress": 0.0}
    if statement_id is None or int(statement_id) not in session.statements:
        return 404, {"msg": "statement not found"}
    code, posted = session.statements[int(statement_id)]
    age = time.monotonic() - posted
    if age < world.timing.statement:
        state = "waiting" if age < world.timing.statement / 2 else "running"
        return 200, {"id": int(statement_id), "code": code, "state": state, "output": None,
                     "progress": 0.5}
    return 200, {"id": int(statement_id), "code": code, "state": "available", "progress": 1.0,
                 "output": {"status": "ok", "execution_count": int(statement_id),
                            "data": {"text/plain": "<pyspark.sql.session.SparkSession at 0x7f>"}}}


def serve(timing: Timing) -> None:
    tls = make_local_tls(Path(tempfile.mkdtemp(prefix="other-livy-")), ("localhost",),
                         "other-livy")
    handler = type("Handler", (_Handler,), {"world": _World(timing)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = tls.server_context().wrap_socket(server.socket, server_side=True)
    print(f"https://localhost:{server.server_address[1]} {tls.ca_bundle}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=float, default=Timing.start)
    parser.add_argument("--statement", type=float, default=Timing.statement)
    parser.add_argument("--propagation", type=float, default=Timing.propagation)
    options = parser.parse_args()
    serve(Timing(options.start, options.statement, options.propagation))


if __name__ == "__main__":
    main()

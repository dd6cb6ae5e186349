"""Livy interactive sessions and their statements, each session backed by one worker process.

This module is the state machine behind the REST handlers of ``gateway.py``
and knows nothing of HTTP: the handlers turn a :class:`LivyRefusal` into a
status code and a ``{"msg"}`` body.

Why one OS process per session: every session runs as its own runtime role,
so its AWS credentials live in that process's environment and nowhere else;
a statement is cancelled with SIGINT to that process alone; and deleting a
session is killing a process group, which also takes any JVM it started.

Session states follow Livy: ``not_started -> starting -> idle <-> busy``, then
``shutting_down`` while a DELETE stops it (the session is forgotten after),
or ``dead`` when its worker failed to start, crashed or timed out (the
session stays listed for ``dead_retention`` seconds so ``local status`` can
show what happened). Statement states: ``waiting -> running -> available``,
``cancelling -> cancelled``, and ``error`` when the worker died under it.
A statement whose code raised is ``available`` with an output of status
``error``, exactly as Livy reports it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..issued import Identity

log = logging.getLogger(__name__)

EngineName = Literal["fake", "real"]
WorkerEnv = Callable[[Identity], dict[str, str]]

# Session kinds a client may ask for; statements of a "shared" session name their own kind.
# Any statement kind runs in any session, as in Livy: its interpreter starts when first asked.
SUPPORTED_KINDS = ("pyspark", "spark", "sql")
UNSUPPORTED_KINDS = ("sparkr",)
NO_R = ("SparkR's R package is in no registry this project installs from (Debian has R but "
        "not SparkR, and PyPI's pyspark leaves it out), so R sessions are not emulated; a real "
        "cluster serves them")
SESSION_KINDS = (*SUPPORTED_KINDS, "shared")

RUNNING_STATES = frozenset({"idle", "busy"})
LIVE_STATES = frozenset({"not_started", "starting", "idle", "busy"})
FINAL_STATEMENT_STATES = frozenset({"available", "error", "cancelled"})

# Livy's session JSON carries the tail of the log; GET .../log pages through the rest.
SESSION_JSON_LOG_LINES = 10
# A statement's output (e.g. a large SQL result) is one protocol line; asyncio's default is 64 KiB.
PROTOCOL_LINE_LIMIT = 256 * 1024 * 1024


class LivyRefusal(Exception):
    """A request the gateway refuses, with the HTTP status and the message Livy would send;
    ``document`` and ``headers``, where the refusal is not Livy's but the front's before it
    (EMR Serverless's endpoint refuses a signature in API Gateway's ``{"message"}``)."""

    def __init__(self, status: int, msg: str, document: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg
        self.document = document or {"msg": msg}
        self.headers = headers or {}


@dataclass(frozen=True)
class ClusterBehaviour:
    """How an emulated cluster's Livy behaves beyond the protocol: how busy the cluster is,
    and whether a session belongs to the Livy login that created it, or to its caller alone
    whatever role it runs as (EMR Serverless: "the caller principal that creates the session
    is the only one that can access that session", with its source identity)."""

    start_delay: float = 0.0  # each new session stays "starting" this long (YARN finding room)
    statement_delay: float = 0.0  # each statement waits this long before it runs
    tied_to_login: bool = False  # a renewed login (new user name) cannot reach the session
    owned_by_caller: bool = False  # the caller and its source identity own it, not the role


@dataclass(frozen=True)
class WorkerSpec:
    """How a gateway starts and stops worker processes; shared by all its sessions."""

    engine: EngineName
    python: str
    worker_env: WorkerEnv
    start_timeout: float
    stop_timeout: float
    log_lines: int


@dataclass(frozen=True)
class SessionRequest:
    """The body of ``POST /sessions`` once checked; fields the local engine has no use for are
    ignored, as Livy ignores what it does not know."""

    kind: str
    name: str | None = None
    proxy_user: str | None = None
    driver_memory: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    heartbeat_timeout: float | None = None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> SessionRequest:
        """Validate the fields that matter here; raise LivyRefusal(400) with Livy-like messages."""
        kind = _checked_kind(body.get("kind") or "shared", "Session", SESSION_KINDS)
        for key in ("name", "proxyUser", "driverMemory"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise LivyRefusal(400, f"{key} must be a string")
        conf = body.get("conf") or {}
        if not isinstance(conf, dict):
            raise LivyRefusal(400, "conf must be an object of Spark properties")
        heartbeat = body.get("heartbeatTimeoutInSecond")
        if heartbeat is not None and (isinstance(heartbeat, bool)
                                      or not isinstance(heartbeat, (int, float)) or heartbeat < 0):
            raise LivyRefusal(400, "heartbeatTimeoutInSecond must be a non-negative number")
        return cls(kind=kind, name=body.get("name"), proxy_user=body.get("proxyUser"),
                   driver_memory=body.get("driverMemory"),
                   conf={str(k): str(v) for k, v in conf.items()},
                   heartbeat_timeout=float(heartbeat) if heartbeat else None)


def statement_kind(session_kind: str, requested: Any) -> str:
    """The kind a statement runs as: its own, else its session's (Livy's rule for "shared")."""
    if requested is None:
        if session_kind == "shared":
            raise LivyRefusal(400, "Code type should be specified if session kind is shared")
        return session_kind
    return _checked_kind(requested, "Statement", SUPPORTED_KINDS)


def _checked_kind(value: Any, what: str, allowed: Iterable[str]) -> str:
    if not isinstance(value, str):
        raise LivyRefusal(400, "kind must be a string")
    kind = value.lower()
    if kind in UNSUPPORTED_KINDS:
        raise LivyRefusal(400, f"{what} kind '{kind}' is not supported by the local engine: "
                             f"{NO_R}. Use pyspark, spark (Scala) or sql.")
    if kind not in allowed:
        raise LivyRefusal(400, f"Unknown {what.lower()} kind '{kind}'; "
                             f"expected one of {', '.join(allowed)}")
    return kind


def _epoch_ms() -> int:
    return int(time.time() * 1000)


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds")


@dataclass
class Statement:
    """One piece of code posted to a session, in Livy's statement shape."""

    id: int
    code: str
    kind: str
    state: str = "waiting"
    output: dict[str, Any] | None = None
    started: int = 0
    completed: int = 0

    def finish(self, state: str, output: dict[str, Any] | None) -> None:
        self.state = state
        self.output = output
        self.completed = _epoch_ms()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "state": self.state, "output": self.output,
                "progress": 1.0 if self.state in FINAL_STATEMENT_STATES else 0.0,
                "started": self.started, "completed": self.completed}


def _died_output(statement: Statement, reason: str) -> dict[str, Any]:
    return {"status": "error", "execution_count": statement.id, "ename": "SessionDied",
            "evalue": reason, "traceback": []}


class Session:
    """One Livy session: its worker process, its statements, its log and its heartbeat."""

    def __init__(self, session_id: int, identity: Identity, request: SessionRequest,
                 spec: WorkerSpec, session_timeout: float,
                 behaviour: ClusterBehaviour = ClusterBehaviour()) -> None:
        self.id = session_id
        self.identity = identity
        self.request = request
        self.state = "not_started"
        self.app_id: str | None = None
        self.spark_ui_url: str | None = None
        self.created = time.time()
        self.ended: float | None = None
        self.timeout = (min(request.heartbeat_timeout, session_timeout)
                        if request.heartbeat_timeout else session_timeout)
        self._spec = spec
        self._behaviour = behaviour
        self._log: deque[str] = deque(maxlen=spec.log_lines)
        self._statements: list[Statement] = []
        self._queue: asyncio.Queue[Statement] = asyncio.Queue()
        self._process: asyncio.subprocess.Process | None = None
        self._reply: asyncio.Future[dict[str, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stderr_task: asyncio.Task[None] | None = None
        self._interrupting: asyncio.Task[None] | None = None  # a cancel's SIGINTs
        self._ending: asyncio.Task[None] | None = None
        self.last_activity = time.time()
        self._last_activity_monotonic = time.monotonic()

    # ----- what clients see

    def touch(self) -> None:
        """Any access by the owner counts as Livy's heartbeat."""
        self.last_activity = time.time()
        self._last_activity_monotonic = time.monotonic()

    def idle_for(self) -> float:
        return time.monotonic() - self._last_activity_monotonic

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.request.name, "appId": self.app_id,
                "owner": self.identity.caller_arn, "proxyUser": self.request.proxy_user,
                "state": self.state, "kind": self.request.kind,
                "appInfo": {"driverLogUrl": None, "sparkUiUrl": self.spark_ui_url},
                "log": list(self._log)[-SESSION_JSON_LOG_LINES:]}

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "kind": self.request.kind,
                "role_arn": self.identity.role_arn, "owner": self.identity.caller_arn,
                "created": _iso(self.created), "last_activity": _iso(self.last_activity)}

    def log_page(self, start: int | None, size: int) -> dict[str, Any]:
        """Livy's paging: without ``from``, the last ``size`` lines."""
        lines = list(self._log)
        if start is None:
            start = max(0, len(lines) - size)
        return {"id": self.id, "from": start, "total": len(lines), "log": lines[start:start + size]}

    def statements(self) -> list[Statement]:
        return list(self._statements)

    def statement(self, statement_id: int) -> Statement:
        if 0 <= statement_id < len(self._statements):
            return self._statements[statement_id]
        raise LivyRefusal(404, f"Statement '{statement_id}' not found in session '{self.id}'.")

    # ----- life cycle

    def start(self) -> None:
        """Launch the worker in the background; the session is ``starting`` until it says ready."""
        self.state = "starting"
        self._log.append(f"gateway: starting a {self._spec.engine} engine for "
                      f"{self.identity.role_arn}")
        self._tasks.append(asyncio.create_task(self._run(), name=f"livy-session-{self.id}"))

    def submit(self, code: str, kind: str) -> Statement:
        if self.state not in RUNNING_STATES:
            raise LivyRefusal(400, f"Session is in state {self.state}")
        statement = Statement(id=len(self._statements), code=code, kind=kind)
        self._statements.append(statement)
        self._queue.put_nowait(statement)
        self.state = "busy"
        return statement

    def cancel(self, statement_id: int) -> None:
        """Livy's cancel: a waiting statement is dropped, a running one interrupted with SIGINT."""
        statement = self.statement(statement_id)
        if statement.state == "waiting":
            statement.finish("cancelled", None)
        elif statement.state == "running":
            statement.state = "cancelling"
            self._interrupting = asyncio.get_running_loop().create_task(
                self._interrupt(statement))

    async def _interrupt(self, statement: Statement) -> None:
        """SIGINT to the worker until the statement's reply comes. The statement is running
        from the moment it is sent, and a SIGINT that reaches the worker before it began the
        statement is ignored there, as one between statements is; the reply ends the
        statement before the next one is sent, so no SIGINT of this loop reaches that one."""
        while statement.state == "cancelling" and self._process is not None \
                and self._process.returncode is None:
            os.kill(self._process.pid, signal.SIGINT)
            await asyncio.sleep(0.1)

    def end(self, state: str, reason: str) -> asyncio.Task[None]:
        """Stop the worker and leave the session in ``state``; safe to call more than once."""
        if self._ending is None:
            self._ending = asyncio.create_task(self._end(state, reason))
        return self._ending

    async def _end(self, state: str, reason: str) -> None:
        if self.state in LIVE_STATES:
            self.state = "shutting_down"
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self._stop_worker()
        if self._stderr_task is not None:
            # The worker's last words (a crash's traceback) belong in the log before the reason.
            await asyncio.wait([self._stderr_task], timeout=self._spec.stop_timeout)
            self._stderr_task.cancel()
        for statement in self._statements:
            if statement.state not in FINAL_STATEMENT_STATES:
                statement.finish("error", _died_output(statement, reason))
        self._log.append(f"gateway: {reason}")
        self.state = state
        self.ended = time.time()
        log.info("Livy session %s of %s ended (%s): %s", self.id, self.identity.role_arn,
                 state, reason)

    async def _stop_worker(self) -> None:
        """SIGTERM the worker's process group (the JVM too), SIGKILL it if it lingers; reap it."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                await asyncio.wait_for(process.wait(), self._spec.stop_timeout)
                break
            except TimeoutError:
                continue
        await process.wait()

    async def _run(self) -> None:
        delay = self._behaviour.start_delay
        if delay:
            self._log.append(f"gateway: waiting {delay:g} s for cluster capacity")
            await asyncio.sleep(delay)
        try:
            ready = await self._launch()
        except Exception as exc:  # noqa: BLE001  any failure to start is the session's death
            self.end("dead", str(exc))
            return
        self.app_id = ready.get("appId")
        self.spark_ui_url = ready.get("sparkUiUrl")
        self._tasks.append(asyncio.create_task(self._read_replies()))
        if self.state == "starting":
            self.state = "idle"
        self._log.append("gateway: the session is ready")
        while True:
            statement = await self._queue.get()
            if statement.state == "waiting":
                await self._execute(statement)
            if self._queue.empty():
                self.state = "idle"

    async def _launch(self) -> dict[str, Any]:
        """Start the worker with the role's credentials, send its settings, wait for ``ready``."""
        loop = asyncio.get_running_loop()
        try:
            extra = await loop.run_in_executor(None, self._spec.worker_env, self.identity)
        except Exception as exc:
            raise RuntimeError(f"could not get credentials for {self.identity.role_arn}: "
                               f"{exc}") from exc
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(extra)
        env["PYTHONUNBUFFERED"] = "1"
        self._process = process = await asyncio.create_subprocess_exec(
            self._spec.python, "-m", "jupyter_emr_roles.local.livy.worker",
            "--engine", self._spec.engine,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True,
            limit=PROTOCOL_LINE_LIMIT)
        self._stderr_task = asyncio.create_task(self._read_stderr())
        settings = {"session_id": self.id, "kind": self.request.kind,
                    "driverMemory": self.request.driver_memory, "conf": self.request.conf}
        self._send(settings)
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), self._spec.start_timeout)
        except TimeoutError:
            raise RuntimeError(f"the worker did not start within "
                               f"{self._spec.start_timeout:g} s") from None
        if not line:
            code = await process.wait()
            raise RuntimeError(f"the worker exited with code {code} before it was ready")
        try:
            message = json.loads(line)
        except ValueError:
            message = {}
        if not isinstance(message, dict) or not message.get("ready"):
            raise RuntimeError(f"the worker sent {line[:200]!r} instead of its ready line")
        return message

    async def _execute(self, statement: Statement) -> None:
        if self._behaviour.statement_delay:
            await asyncio.sleep(self._behaviour.statement_delay)
        statement.state = "running"
        statement.started = _epoch_ms()
        self._reply = asyncio.get_running_loop().create_future()
        self._send({"id": statement.id, "code": statement.code, "kind": statement.kind})
        reply = await self._reply
        self._reply = None
        if reply.get("cancelled") or statement.state == "cancelling":
            statement.finish("cancelled", None)  # whatever the worker got to, cancel wins
        else:
            statement.finish("available", reply["output"])
        self.touch()

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")

    async def _read_replies(self) -> None:
        """Hand each reply to the waiting statement; end the session when the worker goes away."""
        process = self._process
        assert process is not None and process.stdout is not None
        while line := await process.stdout.readline():
            try:
                reply = json.loads(line)
            except ValueError:
                self._log.append(f"stdout: {line.decode(errors='replace').rstrip()}")
                continue
            if self._reply is not None and not self._reply.done():
                self._reply.set_result(reply)
        code = await process.wait()
        self.end("dead", f"the worker process exited with code {code}")

    async def _read_stderr(self) -> None:
        process = self._process
        assert process is not None and process.stderr is not None
        while line := await process.stderr.readline():
            self._log.append(line.decode(errors="replace").rstrip("\n"))


class ClusterSessions:
    """All Livy sessions of one emulated cluster, visible only to the identity that created each.

    Ownership is by (role ARN, caller ARN) and not by Livy user name, because
    credentials renew with a new user name and the renewed client must still
    reach its session; a cluster that ties sessions to the login adds the Livy
    user name. Mutations happen on the event loop; ``summaries`` may be called
    from any thread, hence the lock.
    """

    def __init__(self, cluster_id: str, spec: WorkerSpec, session_timeout: float,
                 dead_retention: float, behaviour: ClusterBehaviour = ClusterBehaviour(),
                 kind: str = "cluster_id") -> None:
        self.cluster_id = cluster_id
        self.kind = kind  # what the ID is, as summaries name it (an application's: application_id)
        self.requests = 0  # every request its Livy had, answered or refused
        self._behaviour = behaviour
        self._spec = spec
        self._session_timeout = session_timeout
        self._dead_retention = dead_retention
        self._sessions: dict[int, Session] = {}
        self._next_id = 0
        self._lock = threading.Lock()

    def _owner(self, identity: Identity) -> tuple[str | None, ...]:
        if self._behaviour.owned_by_caller:
            return (identity.caller_arn, identity.source_identity)
        owner = (identity.role_arn, identity.caller_arn)
        return (*owner, identity.login) if self._behaviour.tied_to_login else owner

    def create(self, identity: Identity, request: SessionRequest) -> Session:
        with self._lock:
            if request.name is not None and any(
                    s.request.name == request.name and s.state in LIVE_STATES
                    for s in self._sessions.values()):
                raise LivyRefusal(400, f"Duplicate session name: {request.name}")
            session = Session(self._next_id, identity, request, self._spec, self._session_timeout,
                              self._behaviour)
            self._sessions[session.id] = session
            self._next_id += 1
        log.info("Livy session %s on %s created for %s", session.id, self.cluster_id,
                 identity.role_arn)
        session.start()
        return session

    def get(self, identity: Identity, session_id: int) -> Session:
        """The caller's own session, touched as a heartbeat; 404 for anyone else's."""
        session = self._sessions.get(session_id)
        if session is None or self._owner(session.identity) != self._owner(identity):
            raise LivyRefusal(404, f"Session '{session_id}' not found.")
        session.touch()
        return session

    def owned_by(self, identity: Identity) -> list[Session]:
        with self._lock:
            return [s for s in self._sessions.values()
                    if self._owner(s.identity) == self._owner(identity)]

    async def delete(self, identity: Identity, session_id: int) -> None:
        """Livy's DELETE: stop the worker, then forget the session (later requests get 404)."""
        session = self.get(identity, session_id)
        await session.end("killed", "the session was deleted")
        with self._lock:
            self._sessions.pop(session_id, None)

    def sweep(self) -> None:
        """Kill sessions whose heartbeat lapsed; forget dead ones after the retention time."""
        now = time.time()
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            if session.state in LIVE_STATES and session.idle_for() > session.timeout:
                session.end("dead", f"the session timed out after {session.timeout:g} s "
                                    "without activity")
            elif session.ended is not None and now - session.ended > self._dead_retention:
                with self._lock:
                    self._sessions.pop(session.id, None)

    def summaries(self) -> list[dict[str, Any]]:
        with self._lock:
            sessions = list(self._sessions.values())
        return [{self.kind: self.cluster_id, **s.summary()} for s in sessions]

    def live(self) -> bool:
        """Whether a session is not over (it keeps an EMR Serverless application busy)."""
        with self._lock:
            return any(s.state in LIVE_STATES for s in self._sessions.values())

    async def kill(self, session_id: int, reason: str) -> bool:
        """End and forget one session whoever owns it (an admin's kill); False if unknown."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is not None:
            await session.end("killed", reason)
        return session is not None

    async def forget_all(self, reason: str) -> None:
        """Livy restarted: every session ends, and Livy remembers none of them."""
        await self.close(reason)
        with self._lock:
            self._sessions.clear()

    async def close(self, reason: str = "the gateway shut down") -> None:
        """Stop every worker of this cluster (the sessions end as ``dead``)."""
        with self._lock:
            sessions = list(self._sessions.values())
        await asyncio.gather(*(s.end("dead", reason) for s in sessions))

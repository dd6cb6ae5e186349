"""The Spark Connect engine: an EMR Spark Connect session, used as ``spark`` in the kernel itself.

StartSession runs the session as the runtime role; once EMR says it STARTED,
GetSessionEndpoint gives the endpoint and a token, and a PySpark Connect
session is built in the kernel under the connection's name (``spark`` unless
``--name`` says otherwise). DataFrames are then ordinary PySpark objects of the
user's own kernel. The token renews itself before it expires, or when EMR's
proxy refused it (:class:`SessionToken`). Closing the connection
(``%disconnect``, kernel exit) terminates the EMR session first and only then
lets go of the local client, within a short deadline and with no retries, so
nothing is left running on the cluster and a dead endpoint holds up nothing.
The handle makes its calls through the :class:`SessionCalls` it is given, so
EMR Serverless's sessions (``serverless.py``) are the same handle on other calls.
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...aws.access_roles import person
from .emr_sessions import (
    ENDED_STATES,
    LIVE_STATES,
    EmrSessions,
    SessionCalls,
    SessionEndpoint,
    close_left,
)
from ..base import ENDED, GONE, LeftSession, StartPlan, aws_session_of
from ...errors import AwsCallError, EmrRolesError
from ...identifiers import ClusterId, RoleArn
from ...polling import CONNECT_POLLS

if TYPE_CHECKING:
    from ...aws.clients import Emr

log = logging.getLogger(__name__)

KIND = "Spark Connect"
# A token is renewed when less than this share of its life is left, within these bounds
# (seconds): a one-hour token about 5 minutes before it expires, a 20-second one at 15 s.
RENEW_SHARE, RENEW_FLOOR, RENEW_CEILING = 0.25, 2.0, 300.0
# How often a watched session's state is asked of EMR (GetSession), so the status bar hears of a
# session EMR ended (idle timeout, an admin); sparkmagic's heartbeat does this for Livy.
HEARTBEAT_ENV = "JUPYTER_EMR_ROLES_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT = 30.0
# Seconds the local client gets to close once EMR was told to terminate the session.
RELEASE_DEADLINE = 2.0


class SessionToken:
    """The session's endpoint and current token; :meth:`current` renews a token that is about
    to expire, or that EMR's proxy refused, first. Thread-safe: gRPC asks from its own
    threads."""

    def __init__(self, fetch: Callable[[], SessionEndpoint], renewed: Callable[[], None]) -> None:
        self._fetch = fetch
        self._renewed = renewed
        self._lock = threading.Lock()
        self._refused = False
        self.endpoint = fetch()
        self._issued = time.time()

    @property
    def expires(self) -> datetime | None:
        return self.endpoint.expires

    def current(self) -> str:
        with self._lock:
            if self._refused or self._left() < self._margin():
                self._renew()
            return self.endpoint.token

    def refused(self) -> None:
        with self._lock:
            self._refused = True

    def _left(self) -> float:
        expires = self.endpoint.expires
        return float("inf") if expires is None else expires.timestamp() - time.time()

    def _margin(self) -> float:
        expires = self.endpoint.expires
        lifetime = 0.0 if expires is None else expires.timestamp() - self._issued
        return max(RENEW_FLOOR, min(RENEW_CEILING, lifetime * RENEW_SHARE))

    def _renew(self) -> None:
        """A new token; while the old one still works, a refused renewal is only logged."""
        try:
            fresh = self._fetch()
        except EmrRolesError as exc:
            if self._left() <= 0 or self._refused:
                raise
            log.warning("could not renew the Spark Connect token (the current one works for "
                        "%.0f s more): %s", self._left(), exc)
            return
        self.endpoint, self._issued, self._refused = fresh, time.time(), False
        self._renewed()


class SparkConnectEngine:
    """EMR's Spark Connect sessions, as the runtime role."""

    def early(self, emr: Emr, cluster_id: ClusterId, role: RoleArn) -> None:
        """Nothing: StartSession starts a session, which a connect must not do before it knows
        the cluster can run it."""

    def close_left(self, left: LeftSession) -> bool:
        from ...aws.clients import Emr

        calls = EmrSessions(Emr(aws_session_of(left)), ClusterId(left.place, "the session ledger"))
        return close_left(calls, left.session_id)

    def start(self, plan: StartPlan) -> SparkConnectHandle:
        from .client import missing_client

        problem = missing_client() or EmrSessions.missing_calls(plan.emr)
        if problem:
            raise EmrRolesError(problem)
        cluster_id = plan.request.cluster_id
        if not plan.cluster.get("SessionEnabled"):
            raise EmrRolesError(not_enabled(cluster_id))
        return open_session(EmrSessions(plan.emr, cluster_id), plan)


def open_session(calls: SessionCalls, plan: StartPlan) -> SparkConnectHandle:
    """A session started by ``calls`` as the plan's role, with ``spark`` built on it; nothing
    is left running when this raises."""
    properties = spark_properties(plan.request.config)
    plan.make_room()
    plan.progress(0.0, "asking EMR to start a Spark Connect session")
    # One token per connect: a StartSession botocore retries after a lost answer starts
    # no second driver.
    session_id = calls.start(plan.role, f"jupyter-emr-roles {plan.name}", properties,
                             str(uuid.uuid4()), plan.request.engine_options.get("idle_timeout"))
    handle = SparkConnectHandle(calls, session_id, plan)
    try:
        handle.open()
    except BaseException:
        handle.close()
        raise
    return handle


def spark_properties(config: dict[str, Any]) -> dict[str, str]:
    """The %%connect cell's settings as the session's Spark properties: EMR takes Spark's
    runtime properties only, so only ``conf`` has a meaning here."""
    others = sorted(set(config) - {"conf"})
    conf = config.get("conf") or {}
    if others or not isinstance(conf, dict):
        raise EmrRolesError(
            "A Spark Connect session takes Spark properties only: write the cell body as "
            '{"conf": {"spark.sql.shuffle.partitions": "64"}}'
            + (f" (not {', '.join(others)}, which are Livy's)." if others else "."))
    return {str(key): str(value) for key, value in conf.items()}


def not_enabled(cluster_id: str) -> str:
    return (f"Spark Connect sessions are not enabled on cluster {cluster_id} (its "
            "SessionEnabled is false; they need release emr-spark-8.0.0 or later, and the cluster "
            "created with SessionEnabled). Connect with --engine livy, or ask your admin for a "
            "cluster with sessions enabled.")


class SparkConnectHandle:
    """One EMR Spark Connect session and the PySpark session built on it (an EngineSession)."""

    kind = KIND

    def __init__(self, calls: SessionCalls, session_id: str, plan: StartPlan) -> None:
        self.id = session_id
        self.reason = ""
        self._calls, self._plan = calls, plan
        self._state = "submitted"
        self._watchers: list[Callable[[], None]] = []
        self._closed = False
        self._closing = threading.Event()  # no PySpark call is tried again once set
        self._stop_heartbeat = threading.Event()
        self.token: SessionToken | None = None
        self.spark: Any = None

    def open(self) -> None:
        """Wait for EMR to start the session, then build ``spark``, prove it answers and warn
        when this kernel's client is of another Spark line than the session."""
        from .client import build_session, trusted_roots, version_mismatch

        self._wait_live()
        self._plan.progress(0.0, f"Spark Connect session {self.id}: asking EMR for its endpoint")
        self.token = SessionToken(lambda: self._calls.endpoint(self.id), self._changed)
        self.spark = build_session(self.token.endpoint.url,
                                   self.id if self._calls.id_header else None, self.token,
                                   trusted_roots(self._plan.emr.session), person(), self._closing)
        self._plan.progress(0.0, f"Spark Connect session {self.id}: first action")
        self._run(lambda: self.spark.range(1).count(), "its first action")
        mismatch = version_mismatch(self._run(lambda: self.spark.version, "its version"))
        if mismatch:
            self._plan.warn(mismatch)

    def _wait_live(self) -> None:
        plan = self._plan
        wait = CONNECT_POLLS.start(plan.deadline, lambda elapsed: EmrRolesError(
            f"The Spark Connect session {self.id} on {self._calls.where} was still "
            f"{self._state.upper()} after {elapsed:.0f} s; it has been terminated. Try again "
            "with a longer --timeout, or when EMR is less busy."))
        while True:
            state, reason = self._calls.get(self.id)
            self._state = state.lower()
            if state in LIVE_STATES:
                return
            if state in ENDED_STATES:
                raise EmrRolesError(f"The Spark Connect session {self.id} on "
                                    f"{self._calls.where} is {state}: "
                                    f"{reason.rstrip('.') or 'EMR gave no reason'}.")
            plan.progress(wait.elapsed, f"Spark Connect session {self.id} {state.lower()}")
            wait.again()

    def _run(self, action: Callable[[], Any], what: str) -> Any:
        try:
            return action()
        except Exception as exc:  # a gRPC or Spark error, as one paragraph
            raise EmrRolesError(f"The Spark Connect session {self.id} on {self._calls.where} "
                                f"failed {what}: {_reason(exc)}") from None

    @property
    def last_state(self) -> str:
        return self._state

    @property
    def credentials_expire(self) -> datetime | None:
        return self.token.expires if self.token else None

    def state(self) -> str:
        """EMR's state now; a session EMR ended is :data:`ENDED` with EMR's reason, and its
        client tries no call again (the endpoint is gone)."""
        if self._closed:
            return self._state
        try:
            state, reason = self._calls.get(self.id)
        except EmrRolesError as exc:
            if "not found" not in str(exc).lower() and \
                    not (isinstance(exc, AwsCallError) and exc.code == "NotFound"):
                raise
            state, reason = "TERMINATED", "EMR no longer knows it."
        if state in ENDED_STATES and self._state != ENDED:
            self.reason = reason or f"EMR says {state}."
            self._closing.set()
            # Info, not a warning: the heartbeat's thread has no cell of its own, and Python's
            # last-resort handler printed a warning into whichever cell ran at that moment; the
            # user hears of it once, from the next cell (Connections.endings).
            log.info("Spark Connect session %s on %s ended: %s", self.id, self._calls.where,
                     self.reason)
        self._state = ENDED if state in ENDED_STATES else state.lower()
        return self._state

    def statement(self, code: str, deadline: float) -> str:
        """Run Python ``code`` with ``spark`` bound to this session, in a namespace of its own;
        what it prints and the repr of a last expression are the output."""
        return self._run(lambda: _evaluate(code, {"spark": self.spark}), "a statement")

    @staticmethod
    def whereabouts() -> dict[str, Any]:
        """Nothing besides its place and ID: TerminateSession takes those."""
        return {}

    def links(self) -> dict[str, str]:
        return {}

    def register(self) -> None:
        self._plan.shell.user_ns[self._plan.name] = self.spark

    def registered(self) -> bool:
        return not self._closed

    def watch(self, on_change: Callable[[], None]) -> None:
        self._watchers.append(on_change)
        if len(self._watchers) == 1:
            threading.Thread(target=self._heartbeat, name=f"heartbeat-{self.id}",
                             daemon=True).start()

    def _heartbeat(self) -> None:
        """Ask EMR for the state now and then; tell the watchers when it changed."""
        interval = _heartbeat_seconds()
        while not self._stop_heartbeat.wait(interval) and not self._closed:
            before = self._state
            try:
                now = self.state()
            except EmrRolesError as exc:
                log.debug("heartbeat of %s: %s", self.id, exc)
                continue
            if now != before:
                self._changed()
            if now == ENDED:
                return

    def _changed(self) -> None:
        for watcher in list(self._watchers):
            watcher()

    def forget(self) -> None:
        self._closed = True
        self._closing.set()
        self._stop_heartbeat.set()

    def close(self) -> None:
        """Terminate the EMR session, then let go of the PySpark client (no retries, a short
        deadline: its endpoint may already be gone), and take the name back."""
        if self._closed:
            return
        self.forget()
        try:
            self._calls.terminate(self.id)
        except EmrRolesError as exc:
            log.warning("could not terminate Spark Connect session %s: %s", self.id, exc)
        if self.spark is not None:
            from .client import release

            release(self.spark, RELEASE_DEADLINE)
        namespace = self._plan.shell.user_ns if self._plan.shell is not None else {}
        if self.spark is not None and namespace.get(self._plan.name) is self.spark:
            del namespace[self._plan.name]
        self._state = GONE


def _reason(error: Exception) -> str:
    """Why a call failed, in one sentence: the gRPC status and details where gRPC failed it
    (the first line of PySpark's text is often only the class of a gRPC object)."""
    from .client import grpc_status, token_problem

    status = grpc_status(error)
    if status is not None:
        code, details = status
        said = f"gRPC status {code}" + (f", {details.strip()[:300]}" if details.strip() else "")
        if token_problem(error):
            return (f"EMR's proxy refused the session's token ({said}), once more with a new "
                    "token too: check this machine's clock, then connect again.")
        return f"{said}."
    first = (str(error).strip().splitlines() or [""])[0]
    if not type(error).__module__.startswith(("grpc", "pyspark")):
        first = f"{type(error).__name__}: {first}"  # the user's own error, as Python says
    return f"{first[:300]}."


def _evaluate(code: str, namespace: dict[str, Any]) -> str:
    tree = ast.parse(code, "<statement>")
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tree, "<statement>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<statement>", "eval"), namespace)
            if value is not None:
                print(repr(value))
    return printed.getvalue()


def _heartbeat_seconds() -> float:
    try:
        return max(0.5, float(os.environ.get(HEARTBEAT_ENV, DEFAULT_HEARTBEAT)))
    except ValueError:
        return DEFAULT_HEARTBEAT

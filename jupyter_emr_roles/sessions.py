"""The kernel's connections: name -> cluster, role, and the engine session that runs as it.

A name holds at most one session: connecting a name again deletes the old
session first, and every session this kernel opened is deleted when the kernel
shuts down, so nothing is left running on the shared cluster. Sessions close
all at once, each on a thread of its own, so one whose endpoint is dead holds
up none of the others, and the whole close fits well inside the seconds Jupyter
gives a kernel to shut down. Nothing here holds a password: each engine keeps
its login to itself.
"""

from __future__ import annotations

import atexit
import keyword
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .application_target import find_application
from .applications import engine_refusal
from .aws.access_roles import person
from .aws.calls import retry_notices
from .aws.serverless import idle_stop
from .cluster_target import Target, find_target
from .connect_request import ConnectRequest
from .doctor.cluster_checks import sessions_unsupported
from .doctor.facts import Facts, NotAllowed
from .engines.base import (
    ENDED,
    GONE,
    READY_CHECK,
    Engine,
    EngineSession,
    LeftSession,
    Progress,
    StartPlan,
)
from .errors import EmrRolesError
from .identifiers import ApplicationId, ClusterId, RoleArn, SessionName
from .ledger import Ledger, Orphan, forget
from .engines.livy.engine import LivyEngine
from .engines.livy.serverless import ServerlessLivyEngine
from .engines.spark_connect.engine import SparkConnectEngine
from .engines.spark_connect.serverless import ServerlessSparkConnectEngine
from .vocabulary import PICKED_NAMES, ConnectionRow

if TYPE_CHECKING:
    from .aws.clients import Emr
    from .aws.serverless import Serverless

log = logging.getLogger(__name__)

# Seconds closing every session may take: each engine bounds its own close (AWS's call, then
# its local client), so this only keeps a hung one from holding the kernel.
CLOSE_DEADLINE = 10.0

# The engines by the name a request gives (connect_request.ENGINES describes them; "auto" is
# one of these, picked per cluster by pick_engine), and their twins for EMR Serverless
# applications under SERVERLESS + that name.
SERVERLESS = "serverless-"
ENGINES: dict[str, Callable[[], Engine]] = {"livy": LivyEngine,
                                            "spark-connect": SparkConnectEngine,
                                            SERVERLESS + "livy": ServerlessLivyEngine,
                                            SERVERLESS + "spark-connect":
                                                ServerlessSparkConnectEngine}


@dataclass
class Connection:
    """One named session running as one runtime role, on a cluster or on an EMR Serverless
    application (``cluster_id`` and ``cluster_name`` are then the application's)."""

    name: str
    cluster_id: ClusterId | ApplicationId
    cluster_name: str
    role_arn: RoleArn
    language: str
    session: EngineSession
    created: datetime
    who: str  # the person (access_roles.person): the source identity of access-role sessions
    note: str = ""  # what the connect's last line adds: an application's state and auto-stop
    again: str = ""  # the %connect line that opens this session anew

    def summary(self) -> ConnectionRow:
        """What the status bar shows, from what the kernel already knows: no request."""
        expiry = self.session.credentials_expire
        return {"name": self.name, "cluster": self.cluster_id, "cluster_name": self.cluster_name,
                "role": self.role_arn, "who": self.who, "language": self.language,
                "engine": self.session.kind,
                "session_id": self.session.id, "state": self.session.last_state,
                "reason": self.session.reason,
                "credentials_expire": expiry.isoformat(timespec="seconds") if expiry else ""}

    def row(self) -> dict[str, Any]:
        """What ``%emr_sessions`` shows, the engine asked now; no secret in it."""
        state = self.session.state()
        return {**self.summary(), "state": state, "links": self.links()}

    def links(self) -> dict[str, str]:
        return self.session.links()


class Connections:
    """The connections of one kernel, by name."""

    def __init__(self, shell: Any, on_change: Callable[[], None] = lambda: None) -> None:
        """``on_change`` is called, from any thread, whenever a connection comes, goes, or its
        state or credentials change."""
        self._shell = shell
        self._report_change = on_change
        self._exiting = False
        self._by_name: dict[str, Connection] = {}
        self._guesses: dict[tuple[Any, ...], _Guess] = {}
        self._lock = threading.Lock()
        self._told: set[str] = set()  # names whose ending the cells were told of
        self.ledger = Ledger()
        atexit.register(self._at_exit)
        # A shutdown request sets exit_now: sessions close then, while the kernel still runs,
        # rather than at interpreter exit, after Python has waited for every thread.
        if hasattr(shell, "observe"):
            shell.observe(lambda change: change["new"] and self._at_exit(), names="exit_now")

    def names(self) -> list[str]:
        self.reconcile()
        return list(self._by_name)

    def connect(self, request: ConnectRequest, progress: Progress,
                warn: Callable[[str], None]) -> Connection:
        """Open a session as the request says; an existing session of that name is
        deleted first. ``request.timeout`` bounds all of it."""
        key = _guess_key(request)
        guess = self._guesses.get(key)
        early = ENGINES[guess.engine]().early(guess.emr, request, guess.role) if guess else None
        started = time.monotonic()
        try:
            with retry_notices(lambda text: progress(time.monotonic() - started, text)):
                flow = _ConnectFlow(request, progress, warn)
                found = self._guesses[key] = _Guess(flow.emr, flow.role, flow.implementation)
                session = flow.run(lambda: self.disconnect(flow.name, missing_ok=True),
                                   self._shell, early if found == guess else None)
        finally:
            _discard(early)
        connection = Connection(flow.name, request.where, flow.place_name, flow.role,
                                request.language, session, datetime.now(timezone.utc), person(),
                                flow.note, request.again(flow.name, flow.role))
        with self._lock:
            self._by_name[flow.name] = connection
        self._told.discard(flow.name)
        self.ledger.record(flow.left(session, connection.created))
        # Exit hooks run last registered first: ours goes after those the engine's clients
        # registered while connecting (PySpark's, which would call a terminated session).
        atexit.unregister(self._at_exit)
        atexit.register(self._at_exit)
        session.watch(self._on_change)
        self._on_change()
        return connection

    def endings(self) -> list[str]:
        """Once for each session its service ended since the last call (a heartbeat saw it):
        which, why, and the line that opens a new one, for the next cell to show first."""
        news = []
        for connection in list(self._by_name.values()):
            session = connection.session
            if session.last_state != ENDED or connection.name in self._told:
                continue
            self._told.add(connection.name)
            news.append(f"{session.kind} session {connection.name} ({session.id} on "
                        f"{connection.cluster_id}) ended: {session.reason.rstrip('.')}. "
                        f"{connection.again} opens a new one.")
        return news

    def summaries(self) -> list[ConnectionRow]:
        """Every connection as the status bar shows it, with no Livy request; one Livy no
        longer knows is left out (the next %emr_sessions or %disconnect forgets it)."""
        rows = [connection.summary() for connection in list(self._by_name.values())
                if connection.session.registered()]
        return [row for row in rows if row["state"] != GONE]

    def disconnect(self, name: str, missing_ok: bool = False) -> None:
        self.reconcile()
        with self._lock:
            connection = self._by_name.pop(name, None)
        if connection is None:
            if not missing_ok:
                known = ", ".join(self._by_name) or "none"
                raise EmrRolesError(f"There is no session named {name!r} (open sessions: "
                                    f"{known}); see %emr_sessions.")
            return
        _close(connection, self.ledger)
        self._on_change()

    def close_all(self) -> list[str]:
        """Close every session at once, and name them; one that cannot be closed is logged,
        not raised."""
        self.reconcile()
        with self._lock:
            closing, self._by_name = list(self._by_name.values()), {}
        workers = [threading.Thread(target=_close, args=(connection, self.ledger), daemon=True,
                                    name=f"close-{connection.name}") for connection in closing]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + CLOSE_DEADLINE
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if closing:
            self._on_change()
        return [connection.name for connection in closing]

    def _at_exit(self) -> None:
        """The kernel is going: close everything and tell no front end (its sockets may be
        closed already)."""
        self._exiting = True
        self.close_all()
        self.ledger.flush()

    def _on_change(self) -> None:
        if self._exiting:
            return
        try:
            self._report_change()
        except Exception as exc:  # noqa: BLE001  a front end's socket gone mid-change
            log.debug("could not report a connection change: %s", exc)

    def rows(self) -> list[dict[str, Any]]:
        """What %emr_sessions and the status bar show, as Livy and sparkmagic see it now: a
        session Livy no longer knows is forgotten everywhere."""
        self.reconcile()
        rows = []
        for connection in list(self._by_name.values()):
            row = connection.row()
            if row["state"] == GONE:
                self._forget(connection)
            else:
                rows.append(row)
        return rows

    def reconcile(self) -> None:
        """Forget connections whose session cells can no longer reach: for Livy, sessions
        ``%spark delete`` or ``%spark cleanup`` took out of sparkmagic (and deleted already)."""
        for connection in list(self._by_name.values()):
            if not connection.session.registered():
                self._forget(connection)

    def _forget(self, connection: Connection) -> None:
        with self._lock:
            if self._by_name.get(connection.name) is connection:
                del self._by_name[connection.name]
        connection.session.forget()
        self.ledger.drop(connection.name)
        log.info("session %s (%s id %s) is gone", connection.name, connection.session.kind,
                 connection.session.id)
        self._on_change()


@dataclass(frozen=True)
class _Guess:
    """What a connect of this kernel found for a request: the EMR client that reached the
    cluster, the role and the engine. A cluster's account and what runs on it do not change,
    so the next connect of the same request starts the engine's first call (the Livy login)
    while DescribeCluster runs, and uses it only if the connect finds the same again."""

    emr: Emr
    role: RoleArn
    engine: str


def _guess_key(request: ConnectRequest) -> tuple[Any, ...]:
    """Everything of a request that decides the client, the role and the engine."""
    return (request.where, request.role_arn, request.engine, request.language,
            tuple(sorted(request.config)), request.access_role_arn, request.region,
            request.profile)


class _ConnectFlow:
    """One connect: the cluster and the role (EMR's and the roles files' word on them), then the
    engine's start, then proof that the session answers, then its registration."""

    def __init__(self, request: ConnectRequest, progress: Progress,
                 warn: Callable[[str], None]) -> None:
        self.request = request
        self.progress = progress
        self.warn = warn
        self.deadline = time.monotonic() + request.timeout
        self.serverless: Serverless | None = None
        if request.serverless:
            application = find_application(request, warn)
            self.emr, self.cluster = application.emr, application.application
            self.choices, self.serverless = application.choices, application.serverless
            self.role = application.required_role()
            self.engine = pick_application_engine(request, self.cluster)
        else:
            target = find_target(request, warn)
            self.emr, self.cluster, self.choices = target.emr, target.cluster, target.choices
            self.role = target.required_role()
            self.engine = pick_engine(request, target)
        self.name = request.name or SessionName(
            "spark" if self.engine == "spark-connect" else self.role.name,
            "the role name (give --name)")
        if self.engine == "spark-connect" and request.language != "python":
            raise EmrRolesError(f"A Spark Connect session is Python: --language "
                                f"{request.language} needs --engine livy.")
        if self.engine == "spark-connect" and not _python_name(self.name):
            raise EmrRolesError(f"The session name {self.name!r} is not a Python name, and a Spark "
                                "Connect session is a variable of the kernel: give --name with "
                                "letters, digits and _ (not starting with a digit).")

    @property
    def implementation(self) -> str:
        """The key in ENGINES of what runs the session."""
        return (SERVERLESS if self.serverless else "") + self.engine

    @property
    def note(self) -> str:
        """An application's state once connected, and when it stops by itself: a session
        keeps it up, and its idle timeout then runs from the session's end."""
        if self.serverless is None:
            return ""
        return f"application {self.place_name or self.request.where} is STARTED " \
               f"({idle_stop(self.cluster)})"

    def left(self, session: EngineSession, opened: datetime) -> LeftSession:
        """The session as the ledger keeps it: how another process would reach and close it."""
        request = self.request
        access = request.access_role_arn or (self.choices.access_role if self.choices else None)
        return LeftSession(str(self.name), self.implementation, str(request.where),
                           str(session.id), str(self.role), opened.isoformat(timespec="seconds"),
                           request.region, request.profile, str(access) if access else None,
                           session.whereabouts())

    @property
    def place_name(self) -> str:
        """The cluster's or the application's name."""
        return str(self.cluster.get("Name") or self.cluster.get("name") or "")

    def run(self, make_room: Callable[[], None], shell: Any,
            early: Future[Any] | None = None) -> EngineSession:
        """The registered session; ``make_room()`` deletes an older session of this name,
        called by the engine once everything before the start has worked; ``early`` is the
        engine's first call, made while the cluster was described."""
        plan = StartPlan(self.request, self.name, self.emr, self.cluster, self.role,
                         self.choices, self.deadline, shell, self.progress, self.warn, make_room,
                         early, self.serverless)
        session = ENGINES[self.implementation]().start(plan)
        try:
            session.statement(READY_CHECK, self.deadline)
            session.register()
        except BaseException:
            session.close()
            raise
        return session


def pick_engine(request: ConnectRequest, target: Target) -> str:
    """The engine a request names, or for ``auto``: Spark Connect where the cluster runs
    sessions (enabled, one primary node, no Lake Formation fine-grained access control), the
    session is Python, the cell body sets Spark properties only (no Livy settings) and this
    kernel has the client; else Livy. ``spark-connect`` on a cluster whose setup EMR runs no
    sessions with is refused here, in one paragraph, before anything starts, and so is Livy on
    a cluster without it."""
    enabled = target.cluster.get("SessionEnabled") is True
    unsupported = _sessions_unsupported(request, target) \
        if enabled and request.engine != "livy" else []
    if request.engine == "spark-connect":
        if unsupported:
            raise EmrRolesError(
                f"Cluster {request.cluster_id} cannot run a Spark Connect session: "
                f"{'; and '.join(unsupported)}. Connect with --engine livy (or auto, which picks "
                "Livy here).")
        return "spark-connect"
    if request.engine == "auto" and request.language == "python" and enabled \
            and not unsupported and set(request.config) <= {"conf"}:
        from .engines.spark_connect.client import missing_client

        if missing_client() is None:
            return "spark-connect"
    _livy_installed(request, target, enabled and not unsupported)
    return "livy"


def pick_application_engine(request: ConnectRequest, application: dict[str, Any]) -> str:
    """The engine a request names, or for ``auto``: Spark Connect where the application runs
    sessions, the session is Python, the cell sets Spark properties only and this kernel has
    the client; else Livy. An engine the application cannot run is refused here, in one
    paragraph, with the fix, before anything starts."""
    engine = request.engine
    if engine == "auto":
        engine = "livy"
        if request.language == "python" and set(request.config) <= {"conf"} and \
                engine_refusal(application, "spark-connect") is None:
            from .engines.spark_connect.client import SERVERLESS_CLIENT, missing_client

            if missing_client(SERVERLESS_CLIENT) is None:
                engine = "spark-connect"
    refusal = engine_refusal(application, engine)
    if refusal:
        raise EmrRolesError(f"EMR Serverless application {request.application_id} cannot run a "
                            f"{PICKED_NAMES[engine]} session: {refusal}.")
    return engine


def _livy_installed(request: ConnectRequest, target: Target, sessions: bool) -> None:
    """A Livy session needs Livy among the cluster's applications, unless a Livy URL is given
    (--livy-url, or the roles files' for the cluster)."""
    apps = [app.get("Name", "") for app in target.cluster.get("Applications", [])]
    listed = target.choices.livy_urls.get(request.cluster_id) if target.choices else None
    if request.livy_url is not None or listed is not None or not apps or "Livy" in apps:
        return
    how = ("it runs Spark Connect sessions, which are Python with Spark properties only (conf): "
           "connect with --engine spark-connect and --language python" if sessions else
           "ask your admin for a cluster created with --applications Name=Spark Name=Livy")
    raise EmrRolesError(f"Cluster {request.cluster_id} has no Livy (EMR lists its applications as "
                        f"{', '.join(apps)}), so a Livy session cannot open there; {how}.")


def _sessions_unsupported(request: ConnectRequest, target: Target) -> list[str]:
    """The doctor's reasons EMR runs no sessions on the cluster; none where the caller may not
    read the answers they need (EMR then decides)."""
    try:
        return sessions_unsupported(Facts(target, request))
    except NotAllowed as exc:
        log.info("whether the cluster runs Spark Connect sessions is not known: %s", exc)
        return []


def _discard(early: Future[Any] | None) -> None:
    """Undo what an engine's early call made (a session posted ahead), unless the start took it
    over; once the call is done, without waiting for it."""
    if early is not None:
        early.add_done_callback(_discard_result)


def _discard_result(done: Future[Any]) -> None:
    discard = getattr(done.result(), "discard", None) if done.exception() is None else None
    if discard is not None:
        try:
            discard()
        except Exception as exc:  # noqa: BLE001  a cleanup's failure is not the connect's
            log.warning("could not undo an early call: %s", exc)


def _close(connection: Connection, ledger: Ledger) -> None:
    """Close one session; the ledger keeps one that could not be closed, so it is found as
    an orphan once this kernel is gone."""
    log.info("deleting %s session %s (%s)", connection.session.kind, connection.session.id,
             connection.name)
    try:
        connection.session.close()
    except Exception as exc:  # noqa: BLE001  one session's failure is not another's
        log.warning("could not close session %s (%s): %s", connection.name,
                    connection.session.id, exc)
        return
    ledger.drop(connection.name)


def close_orphans(found: list[Orphan]) -> tuple[list[str], int]:
    """Close each orphan; a line for each (closed, ended already, or why not, one paragraph)
    and how many could not be closed. A living kernel's session is not touched."""
    lines, failed = [], 0
    for orphan in found:
        name = f"{orphan.session.name} ({orphan.session.session_id} on {orphan.session.place})"
        if orphan.alive:
            lines.append(f"left {name} alone: its kernel {orphan.pid} still runs")
            continue
        try:
            closed = close_orphan(orphan)
        except EmrRolesError as exc:
            lines.append(f"could not close {name}: {exc}")
            failed += 1
            continue
        lines.append(f"closed {name}" if closed else f"{name} had ended already; forgotten")
    return lines, failed


def close_orphan(orphan: Orphan) -> bool:
    """Close a session a dead kernel left, with the credentials of its role, and take it out
    of its ledger: True where it was open, False where its service had ended it already."""
    engine = ENGINES.get(orphan.session.engine)
    if engine is None:
        raise EmrRolesError(f"The session ledger {orphan.ledger} names an engine this version "
                            f"does not know ({orphan.session.engine!r}); close session "
                            f"{orphan.session.session_id} on {orphan.session.place} by hand.")
    closed = engine().close_left(orphan.session)
    forget(orphan)
    return closed


def _python_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)

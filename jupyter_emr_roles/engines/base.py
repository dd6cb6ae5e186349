"""What a connect needs of whatever runs the Spark session: the engine interface.

Livy through sparkmagic is the first engine (``engines/livy/``); EMR's own Spark Connect
sessions are the next (``engines/spark_connect/``); each has a twin for EMR Serverless
applications in its package (``serverless.py``). The connect flow (``sessions.py``)
finds the cluster and the role, then hands an engine a :class:`StartPlan`; the engine
starts a session, and the flow proves it answers (a session is ready when ``spark``
evaluates in it, whatever runs it) and registers it. The registry and the faces use a
session only through :class:`EngineSession`, so a new engine is one new package under
``engines/`` and one entry in ``sessions.ENGINES``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..connect_request import ConnectRequest
from ..identifiers import RoleArn, SessionName

if TYPE_CHECKING:
    from ..aws.clients import Emr
    from ..aws.serverless import Serverless
    from ..roles import AccountChoices

# How long a connect has been waiting, and what it waits for ("Livy session starting").
Progress = Callable[[float, str], None]

# The statement that proves a session answers: sparkmagic makes the same check.
READY_CHECK = "spark"
# The state of a session its engine no longer knows (deleted behind our back, or forgotten
# after it died).
GONE = "gone"
# The state of a session its service ended (an idle timeout, a maximum lifetime, an admin): kept,
# with the service's reason, until the user disconnects or reconnects its name, so the status bar
# and %emr_sessions can say which.
ENDED = "ended"


@dataclass(frozen=True)
class StartPlan:
    """Everything an engine gets to start one session: the request as the user gave it, what
    the connect flow decided (name, cluster, role, the roles files' settings for the cluster's
    account), the monotonic deadline of the whole connect, and how to report.

    ``make_room()`` deletes an older session of the same name: an engine calls it once
    everything before starting the session has worked, so a failed connect keeps the old one.
    ``early`` is the engine's first call, made while the cluster was described, where an
    earlier connect of this kernel found the same engine and role (see ``Engine.early``).

    On an EMR Serverless application (``request.application_id``), ``cluster`` is the
    application as GetApplication gives it and ``serverless`` the client that read it."""

    request: ConnectRequest
    name: SessionName
    emr: Emr
    cluster: dict[str, Any]
    role: RoleArn
    account: AccountChoices | None
    deadline: float
    shell: Any
    progress: Progress
    warn: Callable[[str], None]
    make_room: Callable[[], None]
    early: Future[Any] | None = None
    serverless: Serverless | None = None


@dataclass(frozen=True)
class LeftSession:
    """A session as a kernel's ledger keeps it (``ledger.py``): enough for another process to
    close it with the credentials of its role, and no secret. ``engine`` is its key in
    ``sessions.ENGINES``, ``place`` its cluster's or application's ID, ``whereabouts`` what
    its engine needs besides (Livy's URL and what verifies its certificate)."""

    name: str
    engine: str
    place: str
    session_id: str
    role_arn: str
    opened: str
    region: str | None = None
    profile: str | None = None
    access_role_arn: str | None = None
    whereabouts: dict[str, Any] = field(default_factory=dict)


def aws_session_of(left: LeftSession) -> Any:
    """The boto3 session a left session was opened with: its profile, region and access role."""
    from ..aws.clients import make_session

    access = RoleArn(left.access_role_arn, "the session ledger") if left.access_role_arn \
        else None
    return make_session(left.profile, left.region, access)


class EngineSession(Protocol):
    """One started session as the connect flow, the registry and the faces use it.

    ``kind`` is what people call the session and its id ("Livy": "Livy session 3")."""

    kind: str
    id: int | str
    reason: str  # why the service ended the session (state ENDED); "" while it runs

    @property
    def last_state(self) -> str:
        """The state last seen (by a heartbeat or a request): no request is made."""

    @property
    def credentials_expire(self) -> datetime | None:
        """When the login the session uses now runs out (renewed before it does)."""

    def state(self) -> str:
        """The state, asked now; :data:`GONE` when the engine no longer knows the session,
        :data:`ENDED` (with :attr:`reason`) when its service says it ended it."""

    def statement(self, code: str, deadline: float) -> str:
        """Run ``code`` and return its text output by the monotonic ``deadline``; an error or
        a late statement is one paragraph (an EmrRolesError)."""

    def links(self) -> dict[str, str]:
        """Pages a person may open (Spark UI, driver log), by label; empty when none."""

    def register(self) -> None:
        """Make the session usable from cells (``%%spark -s NAME``) under its name."""

    def registered(self) -> bool:
        """Whether cells can still reach it: another tool may have deleted it."""

    def watch(self, on_change: Callable[[], None]) -> None:
        """Call ``on_change``, from any thread, when the state changes or the login renews."""

    def forget(self) -> None:
        """Stop using a session the engine no longer has; safe to call twice."""

    def close(self) -> None:
        """Delete the session and forget it; safe to call twice."""

    def whereabouts(self) -> dict[str, Any]:
        """What its engine needs besides the session's place and ID to close it from another
        process (``Engine.close_left``), as JSON; never a secret."""


class Engine(Protocol):
    """Starts sessions of one kind."""

    def start(self, plan: StartPlan) -> EngineSession:
        """A session started as ``plan`` says, ready for statements but not yet registered;
        nothing is left running when this raises."""

    def early(self, emr: Emr, request: ConnectRequest, role: RoleArn) -> Future[Any] | None:
        """The engine's first call, started now on a thread of its own for a connect whose
        cluster (or application) is still being described, to be handed back in
        ``StartPlan.early``; None where the engine has none worth starting early. A result
        that made something (a session) has ``discard()``, which undoes it unless the start
        took it over: the connect calls it when it ends, used or not."""

    def close_left(self, left: LeftSession) -> bool:
        """Close a session another process opened and left (a killed kernel's), with the
        credentials of its role: True where it was open, False where its service had already
        ended or forgotten it; one paragraph (an EmrRolesError) where it cannot be closed."""

"""The kernel's connections: name -> cluster, role, and the engine session that runs as it.

A name holds at most one session: connecting a name again deletes the old
session first, and every session this kernel opened is deleted when the kernel
exits, so nothing is left running on the shared cluster. Nothing here holds a
password: each engine keeps its login to itself.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import boto3

from . import roles
from .aws import DEFAULT_READ_TIMEOUT, Emr, caller_emr, make_session
from .aws_errors import answer_field, aws_call
from .connect_request import ConnectRequest
from .engine import GONE, READY_CHECK, Engine, EngineSession, Progress, StartPlan
from .errors import AwsCallError, EmrRolesError, RolesFileError
from .identifiers import AccountId, ClusterId, RoleArn, SessionName, account_in_arn
from .livy_engine import LivyEngine
from .roles import AccountChoices

log = logging.getLogger(__name__)

# The engines by the name a request gives (connect_request.ENGINES describes them).
ENGINES: dict[str, Callable[[], Engine]] = {"livy": LivyEngine}


@dataclass
class Connection:
    """One named session running as one runtime role."""

    name: str
    cluster_id: ClusterId
    cluster_name: str
    role_arn: RoleArn
    language: str
    session: EngineSession
    created: datetime

    def summary(self) -> dict[str, Any]:
        """What the status bar shows, from what the kernel already knows: no request."""
        expiry = self.session.credentials_expire
        return {"name": self.name, "cluster": self.cluster_id, "cluster_name": self.cluster_name,
                "role": self.role_arn, "language": self.language, "engine": self.session.kind,
                "session_id": self.session.id, "state": self.session.last_state,
                "credentials_expire": expiry.isoformat(timespec="seconds") if expiry else ""}

    def row(self) -> dict[str, Any]:
        """What ``%emr_sessions`` shows, the engine asked now; no secret in it."""
        return {**self.summary(), "state": self.session.state(), "links": self.links()}

    def links(self) -> dict[str, str]:
        return self.session.links()


class Connections:
    """The connections of one kernel, by name."""

    def __init__(self, shell: Any, on_change: Callable[[], None] = lambda: None) -> None:
        """``on_change`` is called, from any thread, whenever a connection comes, goes, or its
        state or credentials change."""
        self._shell = shell
        self._on_change = on_change
        self._by_name: dict[str, Connection] = {}
        self._lock = threading.Lock()
        atexit.register(self.close_all)

    def names(self) -> list[str]:
        self.reconcile()
        return list(self._by_name)

    def connect(self, request: ConnectRequest, progress: Progress,
                warn: Callable[[str], None]) -> Connection:
        """Open a session as the request says; an existing session of that name is
        deleted first. ``request.timeout`` bounds all of it."""
        flow = _ConnectFlow(request, progress, warn)
        session = flow.run(lambda: self.disconnect(flow.name, missing_ok=True), self._shell)
        connection = Connection(flow.name, request.cluster_id, flow.cluster.get("Name", ""),
                                flow.role, request.language, session, datetime.now(timezone.utc))
        with self._lock:
            self._by_name[flow.name] = connection
        session.watch(self._on_change)
        self._on_change()
        return connection

    def summaries(self) -> list[dict[str, Any]]:
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
        log.info("deleting %s session %s (%s)", connection.session.kind, connection.session.id,
                 name)
        connection.session.close()
        self._on_change()

    def close_all(self) -> None:
        for name in self.names():
            self.disconnect(name, missing_ok=True)

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
        log.info("session %s (%s id %s) is gone", connection.name, connection.session.kind,
                 connection.session.id)
        self._on_change()


class _ConnectFlow:
    """One connect: the cluster and the role (EMR's and the roles files' word on them), then the
    engine's start, then proof that the session answers, then its registration."""

    def __init__(self, request: ConnectRequest, progress: Progress,
                 warn: Callable[[str], None]) -> None:
        self.request = request
        self.progress = progress
        self.warn = warn
        self.deadline = time.monotonic() + request.timeout
        catalog = _load_catalog(request, warn)
        caller, self.emr, self.cluster = _find_cluster(request, catalog)
        account = _cluster_account(self.cluster, caller)
        self.choices = catalog.account(account) if catalog else None
        self.role = _pick_role(request.role_arn, account, self.choices, warn)
        self.name = request.name or SessionName(self.role.name, "the role name (give --name)")

    def run(self, make_room: Callable[[], None], shell: Any) -> EngineSession:
        """The registered session; ``make_room()`` deletes an older session of this name,
        called by the engine once everything before the start has worked."""
        plan = StartPlan(self.request, self.name, self.emr, self.cluster, self.role,
                         self.choices, self.deadline, shell, self.progress, self.warn, make_room)
        session = ENGINES[self.request.engine]().start(plan)
        try:
            session.statement(READY_CHECK, self.deadline)
            session.register()
        except BaseException:
            session.close()
            raise
        return session


def _load_catalog(request: ConnectRequest,
                  warn: Callable[[str], None]) -> roles.RolesCatalog | None:
    """The roles files; a broken one stops a connect only when a role must come from them."""
    try:
        return roles.load_catalog()
    except RolesFileError as exc:
        if request.role_arn is None:
            raise
        warn(f"Your roles files cannot be read, so {request.role_arn} is used as given, with no "
             f"access role, CA bundle or Livy URL from them. {exc}")
        return None


def _find_cluster(request: ConnectRequest, catalog: roles.RolesCatalog | None,
                  ) -> tuple[boto3.Session, Emr, dict[str, Any]]:
    """Describe the cluster as the caller, or through the access role the roles files give.

    A cluster of another account is not visible to the caller, and its account is what the
    roles files key the access role by: so without --access-role-arn the caller tries first,
    then each access role listed."""
    read_timeout = min(DEFAULT_READ_TIMEOUT, request.timeout)
    if request.access_role_arn is not None:
        session = make_session(request.profile, request.region, request.access_role_arn,
                               read_timeout)
        emr = Emr(session, read_timeout)
        return session, emr, emr.describe(request.cluster_id)
    session, emr = caller_emr(request.profile, request.region, read_timeout)
    try:
        return session, emr, emr.describe(request.cluster_id)
    except AwsCallError as first:
        listed = [entry.access_role for entry in catalog.accounts if entry.access_role] \
            if catalog else []
        for access_role in listed:
            try:
                via_session = make_session(request.profile, request.region, access_role,
                                           read_timeout)
                via = Emr(via_session, read_timeout)
                return via_session, via, via.describe(request.cluster_id)
            except AwsCallError:
                continue
        raise first from None


def _cluster_account(cluster: dict[str, Any], session: boto3.Session) -> AccountId:
    """From the cluster's ARN; else the account of whoever could describe it."""
    arn = cluster.get("ClusterArn", "")
    account = account_in_arn(arn, "the cluster's ARN in DescribeCluster")
    if account is not None:
        return account
    identity = aws_call("asking STS who you are",
                        lambda: session.client("sts").get_caller_identity())
    return AccountId(answer_field(identity, "asking STS who you are", "Account"),
                     "STS GetCallerIdentity")


def _pick_role(given: RoleArn | None, account: AccountId, choices: AccountChoices | None,
               warn: Callable[[str], None]) -> RoleArn:
    if given is None:
        if choices is None or choices.default_role is None:
            raise EmrRolesError(
                f"No --role-arn was given and the roles files name no default role for account "
                f"{account}. Pass --role-arn, or mark a default with `jupyter-emr-roles roles add "
                "ARN --default`.")
        return choices.default_role
    if choices is None or given not in {choice.arn for choice in choices.roles}:
        warn(f"{given} is not listed for account {account} in your roles files; trying it "
             "anyway (IAM decides).")
    return given

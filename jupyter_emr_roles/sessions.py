"""The kernel's connections: name -> cluster, role, Livy session, credentials.

A name holds at most one Livy session: connecting a name again deletes the
old session first, and every session this kernel opened is deleted when the
kernel exits, so nothing is left running on the shared cluster. Nothing here
holds a password: the credentials object hands one out per request.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3

from . import roles
from .aws import DEFAULT_READ_TIMEOUT, Emr, caller_emr, make_session
from .aws_errors import answer_field, aws_call
from .credentials import LivyCredentials
from .errors import AwsCallError, EmrRolesError, LivyUnreachable, RolesFileError
from .connect_request import ConnectRequest
from .identifiers import AccountId, ClusterId, RoleArn, SessionName, account_in_arn
from .livy_endpoint import LivyEndpoint, LivyRequest, find_livy, forget
from .livy_tls import LivyTrust, livy_trust
from .roles import AccountChoices
from .sparkmagic_bridge import LivyHandle, LivyTarget, Progress, allow_unverified, open_session

log = logging.getLogger(__name__)

@dataclass
class Connection:
    """One named Livy session running as one runtime role."""

    name: str
    cluster_id: ClusterId
    cluster_name: str
    role_arn: RoleArn
    language: str
    credentials: LivyCredentials
    livy: LivyHandle
    created: datetime

    @property
    def livy_id(self) -> int:
        return self.livy.livy_id

    def summary(self) -> dict[str, Any]:
        """What the status bar shows, from what the kernel already knows: no Livy request."""
        expiry = self.credentials.expires_at
        return {"name": self.name, "cluster": self.cluster_id, "cluster_name": self.cluster_name,
                "role": self.role_arn, "language": self.language, "livy_id": self.livy_id,
                "state": self.livy.last_state,
                "credentials_expire": expiry.isoformat(timespec="seconds") if expiry else ""}

    def row(self) -> dict[str, Any]:
        """What ``%emr_sessions`` shows, Livy asked now; no secret in it."""
        return {**self.summary(), "state": self.livy.state(), "links": self.livy.links()}


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
        """Open a Livy session as the request says; an existing session of that name is
        deleted first. ``request.timeout`` bounds all of it."""
        flow = _ConnectFlow(request, progress, warn)
        name, livy = flow.run(lambda name: self.disconnect(name, missing_ok=True), self._shell)
        connection = Connection(name, request.cluster_id, flow.cluster.get("Name", ""),
                                flow.role, request.language, flow.credentials, livy,
                                datetime.now(timezone.utc))
        with self._lock:
            self._by_name[name] = connection
        livy.watch(self._on_change)
        flow.credentials.on_renewed = self._on_change
        self._on_change()
        return connection

    def summaries(self) -> list[dict[str, Any]]:
        """Every connection as the status bar shows it, with no Livy request; one Livy no
        longer knows is left out (the next %emr_sessions or %disconnect forgets it)."""
        rows = [connection.summary() for connection in list(self._by_name.values())
                if connection.livy.registered()]
        return [row for row in rows if row["state"] != LivyHandle.GONE]

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
        log.info("deleting Livy session %s (%s)", connection.livy_id, name)
        connection.livy.close()
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
            if row["state"] == LivyHandle.GONE:
                self._forget(connection)
            else:
                rows.append(row)
        return rows

    def reconcile(self) -> None:
        """Forget connections whose session sparkmagic no longer holds (``%spark delete``,
        ``%spark cleanup``): sparkmagic deleted them on Livy already."""
        for connection in list(self._by_name.values()):
            if not connection.livy.registered():
                self._forget(connection)

    def _forget(self, connection: Connection) -> None:
        with self._lock:
            if self._by_name.get(connection.name) is connection:
                del self._by_name[connection.name]
        connection.livy.forget()
        log.info("session %s (Livy id %s) is gone", connection.name, connection.livy_id)
        self._on_change()


class _ConnectFlow:
    """One connect: the cluster and role, the first login (EMR's own checks come first, and
    EMR propagates the login while Livy is found), Livy's address and trust, then the session;
    where a remembered Livy address stopped answering, it is found once more."""

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
        self.credentials = LivyCredentials(
            lambda: self.emr.session_credentials(request.cluster_id, self.role))

    def run(self, make_room: Callable[[str], None], shell: Any) -> tuple[str, LivyHandle]:
        """The session's name and its Livy session; ``make_room(name)`` deletes an older
        session of that name once everything before the start has worked."""
        request = self.request
        name = request.name or SessionName(self.role.name, "the role name (give --name)")
        self.credentials.label = f"session {name} on {request.cluster_id}"
        self.credentials.deadline = self.deadline
        try:
            trust = livy_trust(request.ca_bundle, request.no_verify,
                               _account_ca(self.choices) if self.choices else None)
            wanted = _livy_request(request, self.choices)
            self.credentials.for_request()
            endpoint = find_livy(self.emr, self.cluster, trust, wanted)
            make_room(name)
            try:
                return name, self._start(shell, name, endpoint, trust)
            except LivyUnreachable:
                forget(request.cluster_id)
                if not endpoint.remembered:
                    raise
            endpoint = find_livy(self.emr, self.cluster, trust, wanted)
            return name, self._start(shell, name, endpoint, trust)
        finally:
            self.credentials.deadline = None

    def _start(self, shell: Any, name: str, endpoint: LivyEndpoint,
               trust: LivyTrust) -> LivyHandle:
        request = self.request
        if endpoint.insecure_http:
            self.warn(f"Livy at {endpoint.url} speaks plain HTTP: the Livy login and every "
                      "statement cross the network readable (--allow-insecure-http). Enable "
                      "TLS for Livy on this cluster.")
        if request.no_verify:
            allow_unverified(endpoint.url)
        target = LivyTarget(endpoint.url, trust.verify, request.language, request.config,
                            self.deadline, request.timeout, endpoint.insecure_http)
        return open_session(shell, name, target, self.credentials, self.progress)


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


def _account_ca(choices: AccountChoices) -> tuple[str, str] | None:
    if choices.ca_bundle is None:
        return None
    path, source = choices.ca_bundle
    return str(Path(path).expanduser()), f"the ca_bundle of account {choices.account} in {source}"


def _livy_request(request: ConnectRequest, choices: AccountChoices | None) -> LivyRequest:
    listed = choices.livy_urls.get(request.cluster_id) if choices else None
    if request.livy_url is None and listed is not None:
        return LivyRequest(listed[0], f"the livy_url of cluster {request.cluster_id} in "
                           f"{listed[1]}", request.allow_insecure_http)
    return LivyRequest(request.livy_url, "--livy-url", request.allow_insecure_http)

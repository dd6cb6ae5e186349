"""The kernel's connections: name -> cluster, role, Livy session, credentials.

A name holds at most one Livy session: connecting a name again deletes the
old session first, and every session this kernel opened is deleted when the
kernel exits, so nothing is left running on the shared cluster. Nothing here
holds a password: the credentials object hands one out per request.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3

from . import roles
from .aws import Emr, caller_emr, make_session
from .credentials import LivyCredentials
from .errors import AwsCallError, EmrRolesError
from .identifiers import AccountId, ClusterId, RoleArn, account_in_arn
from .sparkmagic_bridge import LivyHandle, Progress, allow_unverified, open_session

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}", re.ASCII)


@dataclass(frozen=True)
class ConnectRequest:
    """Everything ``%connect`` was asked for, identifiers already parsed."""

    cluster_id: ClusterId
    role_arn: RoleArn | None = None
    name: str | None = None
    language: str = "python"
    access_role_arn: RoleArn | None = None
    region: str | None = None
    profile: str | None = None
    verify: str | bool = True
    timeout: float = 180.0
    config: dict[str, Any] = field(default_factory=dict)


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

    def row(self) -> dict[str, Any]:
        """What ``%emr_sessions`` shows; no secret in it."""
        expiry = self.credentials.expires_at
        return {"name": self.name, "cluster": self.cluster_id, "cluster_name": self.cluster_name,
                "role": self.role_arn,
                "language": self.language, "livy_id": self.livy_id, "state": self.livy.state(),
                "credentials_expire": expiry.isoformat(timespec="seconds") if expiry else "",
                "links": self.livy.links()}


def check_name(name: str, source: str) -> str:
    """Session names go into sparkmagic's ``-s`` option and into messages: keep them plain."""
    if not _NAME.fullmatch(name):
        raise EmrRolesError(f"Session name {name!r} from {source} is not valid: use 1 to 64 "
                            "letters, digits or + = , . @ _ -")
    return name


class Connections:
    """The connections of one kernel, by name."""

    def __init__(self, shell: Any) -> None:
        self._shell = shell
        self._by_name: dict[str, Connection] = {}
        self._lock = threading.Lock()
        atexit.register(self.close_all)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return list(self._by_name)

    def connect(self, request: ConnectRequest, progress: Progress,
                warn: Callable[[str], None]) -> Connection:
        """Open a Livy session as the request says; an existing session of that name is
        deleted first."""
        caller, emr, cluster = _find_cluster(request)
        account = _cluster_account(cluster, caller)
        role = _pick_role(request.role_arn, account, warn)
        name = request.name or check_name(role.name, "the role name (give --name)")
        url = emr.livy_url(cluster)
        if request.verify is False:
            allow_unverified(url)
        credentials = LivyCredentials(lambda: emr.session_credentials(request.cluster_id, role))
        credentials.current()  # EMR's own checks (state, release, configuration, IAM) come first
        self.disconnect(name, missing_ok=True)
        livy = open_session(self._shell, name, url, credentials, request.verify, request.language,
                            request.config, request.timeout, progress)
        connection = Connection(name, request.cluster_id, cluster.get("Name", ""), role,
                                request.language, credentials, livy, datetime.now(timezone.utc))
        with self._lock:
            self._by_name[name] = connection
        return connection

    def disconnect(self, name: str, missing_ok: bool = False) -> None:
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

    def close_all(self) -> None:
        for name in self.names():
            self.disconnect(name, missing_ok=True)

    def rows(self) -> list[dict[str, Any]]:
        return [connection.row() for connection in list(self._by_name.values())]


def _find_cluster(request: ConnectRequest) -> tuple[boto3.Session, Emr, dict[str, Any]]:
    """Describe the cluster as the caller, or through the access role the roles files give.

    A cluster of another account is not visible to the caller, and its account is what the
    roles files key the access role by: so without --access-role-arn the caller tries first,
    then each access role listed."""
    if request.access_role_arn is not None:
        session = make_session(request.profile, request.region, request.access_role_arn)
        emr = Emr(session)
        return session, emr, emr.describe(request.cluster_id)
    session, emr = caller_emr(request.profile, request.region)
    try:
        return session, emr, emr.describe(request.cluster_id)
    except AwsCallError as first:
        for access_role in _listed_access_roles():
            try:
                via_session = make_session(request.profile, request.region, access_role)
                via = Emr(via_session)
                return via_session, via, via.describe(request.cluster_id)
            except AwsCallError:
                continue
        raise first from None


def _listed_access_roles() -> list[RoleArn]:
    return [entry.access_role for entry in roles.load_catalog().accounts if entry.access_role]


def _cluster_account(cluster: dict[str, Any], session: boto3.Session) -> AccountId:
    """From the cluster's ARN; else the account of whoever could describe it."""
    arn = cluster.get("ClusterArn", "")
    account = account_in_arn(arn, "the cluster's ARN in DescribeCluster")
    if account is not None:
        return account
    identity = session.client("sts").get_caller_identity()
    return AccountId(identity["Account"], "STS GetCallerIdentity")


def _pick_role(given: RoleArn | None, account: AccountId,
               warn: Callable[[str], None]) -> RoleArn:
    choices = roles.load_catalog().account(account)
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

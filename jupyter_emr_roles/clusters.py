"""Which clusters a notebook can pick, and whether each can take a runtime-role session.

The pickers (the Lab extension through the server, the ipywidgets picker in the
kernel) show a cluster's readiness before the user tries it, so a cluster that
EMR would refuse says why, and what to change, in the list itself. The
prerequisites are the ones EMR checks in GetClusterSessionCredentials; they are
written here once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .aws import READY_STATES, Emr
from .errors import AwsCallError
from .identifiers import ClusterId, account_in_arn

log = logging.getLogger(__name__)

# Runtime roles for interactive (Livy) sessions arrived in emr-6.9.0; for steps in emr-6.7.0.
NOTEBOOK_RELEASE = (6, 9, 0)
STEPS_RELEASE = (6, 7, 0)
NEEDED_APPLICATIONS = ("Spark", "Livy")
_RELEASE = re.compile(r"emr-(\d+)\.(\d+)\.(\d+)")


def release_version(label: str | None) -> tuple[int, ...]:
    """``emr-7.1.0`` → (7, 1, 0); anything else sorts before every release."""
    match = _RELEASE.fullmatch(label or "")
    return tuple(int(part) for part in match.groups()) if match else (0, 0, 0)


@dataclass(frozen=True)
class ClusterSummary:
    """One row of the cluster list: what ListClusters says, nothing secret."""

    id: str
    name: str
    state: str
    arn: str

    @classmethod
    def from_api(cls, summary: dict[str, Any]) -> ClusterSummary:
        return cls(id=summary["Id"], name=summary.get("Name", ""),
                   state=summary.get("Status", {}).get("State", ""),
                   arn=summary.get("ClusterArn", ""))


@dataclass(frozen=True)
class ClusterPage:
    clusters: tuple[ClusterSummary, ...]
    marker: str | None

    def as_json(self) -> dict[str, Any]:
        return {"clusters": [asdict(cluster) for cluster in self.clusters], "marker": self.marker}


@dataclass(frozen=True)
class Check:
    """One prerequisite: passed (True), failed (False) or unknown (None, e.g. not allowed to
    look), with what was found and, when it failed, the fix."""

    key: str
    passed: bool | None
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Readiness:
    """A cluster's details and each runtime-role prerequisite, for the pickers."""

    id: str
    name: str
    state: str
    release: str
    account: str
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        """False when a check failed; an unknown check does not block (EMR decides)."""
        return all(check.passed is not False for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [f"{check.detail} {check.fix}".strip() for check in self.checks
                if check.passed is False]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "state": self.state, "release": self.release,
                "account": self.account, "ready": self.ready, "reasons": self.reasons,
                "checks": [asdict(check) for check in self.checks]}


def list_page(emr: Emr, states: Sequence[str] = READY_STATES,
              marker: str | None = None) -> ClusterPage:
    """One page of clusters in the given states; ``marker`` continues a previous page."""
    answer = emr.list_clusters(states, marker)
    return ClusterPage(tuple(ClusterSummary.from_api(c) for c in answer.get("Clusters", [])),
                       answer.get("Marker") or None)


def assess(emr: Emr, cluster_id: ClusterId) -> Readiness:
    """DescribeCluster plus what it points at, checked against EMR's prerequisites."""
    cluster = emr.describe(cluster_id)
    arn = cluster.get("ClusterArn", "")
    checks = (_state(cluster), _release(cluster), _applications(cluster),
              _unknown_if_denied("primary-nodes", lambda: _primary_nodes(emr, cluster)),
              *_security(emr, cluster))
    return Readiness(id=cluster["Id"], name=cluster.get("Name", ""),
                     state=cluster.get("Status", {}).get("State", ""),
                     release=cluster.get("ReleaseLabel", ""),
                     account=account_in_arn(arn, "the cluster's ARN") or "",
                     checks=checks)


def _state(cluster: dict[str, Any]) -> Check:
    state = cluster.get("Status", {}).get("State", "")
    if state in READY_STATES:
        return Check("state", True, f"The cluster is {state}.")
    return Check("state", False, f"The cluster is {state}.",
                 "A notebook session needs it RUNNING or WAITING.")


def _release(cluster: dict[str, Any]) -> Check:
    label = cluster.get("ReleaseLabel", "")
    wanted = "emr-" + ".".join(map(str, NOTEBOOK_RELEASE))
    if release_version(label) >= NOTEBOOK_RELEASE:
        return Check("release", True, f"Release {label} supports runtime roles in notebooks.")
    return Check("release", False, f"Release {label or '(unknown)'} predates runtime roles for "
                 "notebooks.", f"Use a cluster of {wanted} or later.")


def _applications(cluster: dict[str, Any]) -> Check:
    installed = {app.get("Name", "") for app in cluster.get("Applications", [])}
    missing = [app for app in NEEDED_APPLICATIONS if app not in installed]
    if not missing:
        return Check("applications", True, "Spark and Livy are installed.")
    return Check("applications", False, f"{' and '.join(missing)} not installed.",
                 "Notebook sessions need Spark and Livy on the cluster.")


def _primary_nodes(emr: Emr, cluster: dict[str, Any]) -> Check:
    count = emr.primary_node_count(cluster)
    if count <= 1:
        return Check("primary-nodes", True, "One primary node.")
    return Check("primary-nodes", False, f"The cluster has {count} primary nodes (high "
                 "availability).", "Runtime roles are not supported on multi-primary clusters.")


def _security(emr: Emr, cluster: dict[str, Any]) -> tuple[Check, ...]:
    name = cluster.get("SecurityConfiguration")
    if not name:
        return (Check("runtime-roles", False, "The cluster has no security configuration.",
                      "Runtime roles need one with AuthorizationConfiguration.IAMConfiguration."
                      "EnableApplicationScopedIAMRole set to true."),)
    try:
        document = emr.security_configuration(name)
    except AwsCallError as exc:
        if exc.code != "AccessDenied":
            raise
        return (Check("runtime-roles", None, f"Not allowed to read the security configuration "
                      f"{name!r}; EMR will check it when you connect."),)
    iam = document.get("AuthorizationConfiguration", {}).get("IAMConfiguration", {})
    encryption = document.get("EncryptionConfiguration", {})
    roles = (Check("runtime-roles", True, f"Security configuration {name!r} enables runtime "
                   "roles.") if iam.get("EnableApplicationScopedIAMRole") is True else
             Check("runtime-roles", False, f"Security configuration {name!r} does not enable "
                   "runtime roles.", "Set AuthorizationConfiguration.IAMConfiguration."
                   "EnableApplicationScopedIAMRole to true in a new security configuration."))
    tls = (Check("in-transit-encryption", True, "In-transit encryption (TLS) is on.")
           if encryption.get("EnableInTransitEncryption") is True else
           Check("in-transit-encryption", False, "In-transit encryption is off, so Livy has no "
                 "HTTPS.", "Enable it in the security configuration."))
    return roles, tls


def _unknown_if_denied(key: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except AwsCallError as exc:
        if exc.code != "AccessDenied":
            raise
        log.info("readiness check %s not allowed: %s", key, exc)
        return Check(key, None, "Not allowed to look; EMR will check it when you connect.")

"""Which clusters a notebook can pick, and whether each can take a runtime-role session.

The pickers (the Lab extension through the server, the ipywidgets picker in the
kernel) show a cluster's readiness before the user tries it, so a cluster that
EMR would refuse says why, and what to change, in the list itself. The
prerequisites are the doctor's cluster checks (``doctor/cluster_checks.py``),
written there once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .aws import READY_STATES, Emr
from .cluster_target import Target
from .doctor import cluster_findings
from .identifiers import ClusterId, account_in_arn


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
    session_enabled: bool = False  # EMR's Spark Connect sessions (SessionEnabled)

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
                "checks": [asdict(check) for check in self.checks],
                "session_enabled": self.session_enabled}


def list_page(emr: Emr, states: Sequence[str] = READY_STATES,
              marker: str | None = None) -> ClusterPage:
    """One page of clusters in the given states; ``marker`` continues a previous page."""
    answer = emr.list_clusters(states, marker)
    return ClusterPage(tuple(ClusterSummary.from_api(c) for c in answer.get("Clusters", [])),
                       answer.get("Marker") or None)


def assess(emr: Emr, cluster_id: ClusterId) -> Readiness:
    """DescribeCluster, then the doctor's cluster checks: what the pickers show before a
    user tries the cluster."""
    cluster = emr.describe(cluster_id)
    account = account_in_arn(cluster.get("ClusterArn", ""), "the cluster's ARN")
    findings = cluster_findings(Target(emr.session, emr, cluster, account, None, None))
    return Readiness(id=cluster["Id"], name=cluster.get("Name", ""),
                     state=cluster.get("Status", {}).get("State", ""),
                     release=cluster.get("ReleaseLabel", ""), account=account or "",
                     checks=tuple(Check(f.id, _PASSED[f.status], f.message, f.fix or "")
                                  for f in findings),
                     session_enabled=cluster.get("SessionEnabled") is True)


_PASSED: dict[str, bool | None] = {"pass": True, "warn": True, "fail": False, "unknown": None}

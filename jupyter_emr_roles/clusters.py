"""Which clusters a notebook can pick, and whether each can take a runtime-role session.

The pickers (the Lab extension through the server, the ipywidgets picker in the
kernel) show a cluster's readiness before the user tries it, so a cluster that
EMR would refuse says why, and what to change, in the list itself. The
prerequisites are the doctor's checks (``doctor/cluster_checks.py``, and its
Livy probe), written there once, read per engine: a cluster is ready when at
least one engine can open a session on it, and the pickers offer only those.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from . import roles
from .aws.clients import READY_STATES, Emr
from .cluster_target import Target
from .doctor import Finding, cluster_readiness
from .errors import EmrRolesError
from .identifiers import AccountId, ClusterId, account_in_arn
from .roles import AccountChoices

log = logging.getLogger(__name__)


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
class EngineReadiness:
    """Whether one engine can open a session on the cluster: the doctor's failed findings
    that stop it, none when it can."""

    blockers: tuple[Finding, ...]

    @property
    def ready(self) -> bool:
        return not self.blockers

    @property
    def reasons(self) -> tuple[str, ...]:
        """Each blocker's message with its fix."""
        return tuple(f"{f.message} {f.fix or ''}".strip() for f in self.blockers)


@dataclass(frozen=True)
class Readiness:
    """A cluster's (or an EMR Serverless application's) details, the doctor's findings on each
    runtime-role prerequisite, and per engine whether it can run a session there, for the
    pickers."""

    id: str
    name: str
    state: str
    release: str
    account: str
    checks: tuple[Finding, ...]
    engines: dict[str, EngineReadiness]
    session_enabled: bool = False  # EMR's Spark Connect sessions (SessionEnabled)
    kind: str = "cluster"  # or "serverless": an EMR Serverless application (application_list)

    @property
    def ready(self) -> bool:
        """Usable by at least one engine; an unknown check does not block (EMR decides)."""
        return any(engine.ready for engine in self.engines.values())

    @property
    def reasons(self) -> list[str]:
        """Why no engine can use the cluster (empty when one can)."""
        if self.ready:
            return []
        return list(dict.fromkeys(reason for engine in self.engines.values()
                                  for reason in engine.reasons))

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "state": self.state, "release": self.release,
                "account": self.account, "ready": self.ready, "reasons": self.reasons,
                "checks": [_check_json(finding) for finding in self.checks],
                "engines": {name: {"ready": engine.ready, "reasons": list(engine.reasons)}
                            for name, engine in self.engines.items()},
                "session_enabled": self.session_enabled, "kind": self.kind}


def list_page(emr: Emr, states: Sequence[str] = READY_STATES,
              marker: str | None = None) -> ClusterPage:
    """One page of clusters in the given states; ``marker`` continues a previous page."""
    answer = emr.list_clusters(states, marker)
    return ClusterPage(tuple(ClusterSummary.from_api(c) for c in answer.get("Clusters", [])),
                       answer.get("Marker") or None)


def assess(emr: Emr, cluster_id: ClusterId) -> Readiness:
    """DescribeCluster, then the doctor's cluster checks and Livy's probe: what the pickers
    show before a user tries the cluster. Livy is verified with what %connect would use (the
    CA bundle of the cluster's account in the roles files, if any)."""
    cluster = emr.describe(cluster_id)
    account = account_in_arn(cluster.get("ClusterArn", ""), "the cluster's ARN")
    found = cluster_readiness(Target(emr.session, emr, cluster, account, _choices(account), None))
    return Readiness(id=cluster["Id"], name=cluster.get("Name", ""),
                     state=cluster.get("Status", {}).get("State", ""),
                     release=cluster.get("ReleaseLabel", ""), account=account or "",
                     checks=found.findings,
                     engines={engine: EngineReadiness(blockers)
                              for engine, blockers in found.blockers.items()},
                     session_enabled=cluster.get("SessionEnabled") is True)


def _choices(account: AccountId | None) -> AccountChoices | None:
    """What the roles files say of the account (its CA bundle, Livy URLs); None when they
    cannot be read: the readiness then verifies Livy as a connect without them would."""
    if account is None:
        return None
    try:
        return roles.load_catalog().account(account)
    except EmrRolesError as exc:
        log.info("readiness without the roles files: %s", exc)
        return None


def _check_json(finding: Finding) -> dict[str, Any]:
    """A finding as the REST API's readiness gives it (docs/rest-api.md): ``passed`` is
    true, false, or null for a check that could not look; ``fix`` "" where there is none."""
    return {"key": finding.id, "passed": _PASSED[finding.status], "detail": finding.message,
            "fix": finding.fix or ""}


_PASSED: dict[str, bool | None] = {"pass": True, "warn": True, "fail": False, "unknown": None}

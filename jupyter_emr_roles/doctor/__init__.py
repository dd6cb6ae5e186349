"""The pre-flight doctor: is this cluster (or EMR Serverless application) and role ready, and
what governs the role's data.

One report, every check at once: the checks run concurrently over shared facts
(``facts.py``), and a check that may not read what it needs says ``unknown`` and
names the permission rather than failing the report. The CLI, ``%emr_doctor``
and the REST API show the same :class:`~.report.Report`.

A check is declared once, as one row of ``CHECKS``: its id (the report's contract, in
the report's order) and the function that finds its outcome. The function does not
name itself, and every report runs every row, so a check added there is run and shown
with nothing else to change. The pickers' readiness and a step's checks read some of
the rows again, by id. An EMR Serverless application (``--application-id``) has a table of
its own, ``APPLICATION_CHECKS``: it has no security configuration, instance profile or Livy
to probe, and its own facts (``application_facts.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..application_target import find_application
from ..cluster_target import Target, find_target
from ..connect_request import ConnectRequest
from ..errors import EmrRolesError
from ..identifiers import ClusterId
from . import application_checks, cluster_checks, governance_checks, role_checks
from .application_facts import ApplicationFacts
from .facts import Facts, NotAllowed
from .report import Finding, Outcome, Report

Check = Callable[[Facts], Outcome]
ApplicationCheck = Callable[[ApplicationFacts], Outcome]

CHECKS: dict[str, Check] = {
    "cluster-state": cluster_checks.cluster_state,
    "release": cluster_checks.release,
    "applications": cluster_checks.applications,
    "single-primary": cluster_checks.single_primary,
    "runtime-roles": cluster_checks.runtime_roles,
    "in-transit-encryption": cluster_checks.in_transit_encryption,
    "role-exists": role_checks.role_exists,
    "role-trust": role_checks.role_trust,
    "gcsc": role_checks.gcsc,
    "livy": role_checks.livy,
    "spark-connect": cluster_checks.spark_connect,
    "session-permissions": role_checks.session_permissions,
    "source-identity": governance_checks.source_identity,
    "lake-formation": governance_checks.lake_formation,
    "s3-access-grants": governance_checks.s3_access_grants,
    "emrfs-credentials-provider": cluster_checks.emrfs_credentials_provider,
}
# Every report holds each check exactly once, in this order.
CHECK_IDS = tuple(CHECKS)

# The checks of an EMR Serverless application's report, in its order.
APPLICATION_CHECKS: dict[str, ApplicationCheck] = {
    "application-state": application_checks.application_state,
    "livy": application_checks.livy,
    "spark-connect": application_checks.spark_connect,
    "role-exists": role_checks.role_exists,
    "role-trust": application_checks.role_trust,
    "livy-permissions": application_checks.livy_permissions,
    "session-permissions": application_checks.session_permissions,
    "network": application_checks.network,
}
APPLICATION_CHECK_IDS = tuple(APPLICATION_CHECKS)


# The checks the pickers' readiness shows (clusters.assess): the cluster's, and how each engine
# finds it (Livy answering with a verified certificate, Spark Connect sessions).
READINESS_IDS = ("cluster-state", "release", "applications", "single-primary", "runtime-roles",
                 "in-transit-encryption", "livy", "spark-connect")
_COMMON_IDS = ("cluster-state", "release", "single-primary", "runtime-roles")

# What each engine needs besides the checks both share, as that engine sees it: the doctor's
# applications and livy checks let a Spark Connect cluster go without Livy, Livy cannot.
ENGINE_CHECKS: dict[str, dict[str, Check]] = {
    "livy": {"applications": cluster_checks.livy_applications,
             "in-transit-encryption": cluster_checks.in_transit_encryption,
             "livy": role_checks.livy},
    "spark-connect": {"spark-connect": cluster_checks.sessions},
}


# What a cluster needs before it takes a step under a runtime role (no Livy; release 6.7).
STEP_CHECKS: dict[str, Check] = {
    "cluster-state": cluster_checks.cluster_state,
    "release": cluster_checks.steps_release,
    "single-primary": cluster_checks.single_primary,
    "runtime-roles": cluster_checks.runtime_roles,
}


@dataclass(frozen=True)
class ClusterReadiness:
    """The readiness checks as the doctor shows them, and per engine the ones that stop it."""

    findings: tuple[Finding, ...]
    blockers: dict[str, tuple[Finding, ...]]


def cluster_readiness(target: Target) -> ClusterReadiness:
    """The readiness checks of ``target``'s cluster, one after another (they share answers: the
    security configuration, the primary instance groups); each check runs once, Livy's probe
    (a TLS handshake, as %connect makes it) among them. An unknown check blocks nothing."""
    facts = Facts(target, ConnectRequest(cluster_id=ClusterId(target.cluster["Id"],
                                                              "DescribeCluster")))
    done: dict[Check, Finding] = {}

    def run(check_id: str, check: Check) -> Finding:
        if check not in done:
            done[check] = _run(check_id, check, facts)
        return done[check]

    findings = tuple(run(check_id, CHECKS[check_id]) for check_id in READINESS_IDS)
    blockers = {engine: tuple(finding for finding in (
        *(run(check_id, CHECKS[check_id]) for check_id in _COMMON_IDS),
        *(run(check_id, check) for check_id, check in own.items())) if finding.status == "fail")
        for engine, own in ENGINE_CHECKS.items()}
    return ClusterReadiness(findings, blockers)


def step_blockers(target: Target) -> list[str]:
    """What stops ``target``'s cluster from running a step under a runtime role: each failed
    step check, with its fix. A check that could not look (unknown) blocks nothing: EMR
    decides."""
    facts = Facts(target, ConnectRequest(cluster_id=ClusterId(target.cluster["Id"],
                                                              "DescribeCluster")))
    findings = [_run(check_id, check, facts) for check_id, check in STEP_CHECKS.items()]
    return [f"{finding.message} Fix: {finding.fix}" if finding.fix else finding.message
            for finding in findings if finding.status == "fail"]


def diagnose(request: ConnectRequest, warn: Callable[[str], None]) -> Report:
    """The report for the request's cluster or EMR Serverless application and role (else the
    account's default role).

    A cluster or application that cannot be read at all is an error, not a report: nothing
    else can be checked without it."""
    if request.serverless:
        found = find_application(request, warn)
        facts: Facts | ApplicationFacts = ApplicationFacts(found, request)
        rows: list[tuple[str, Callable[[Any], Outcome]]] = list(APPLICATION_CHECKS.items())
    else:
        target = find_target(request, warn)
        facts, rows = Facts(target, request), list(CHECKS.items())
    with ThreadPoolExecutor(max_workers=len(rows), thread_name_prefix="doctor") as pool:
        findings = tuple(pool.map(lambda row: _run(*row, facts), rows))
    return Report(str(request.where), facts.role_arn, findings, serverless=request.serverless)


def _run(check_id: str, check: Callable[[Any], Outcome], facts: Facts | ApplicationFacts
         ) -> Finding:
    """The check's outcome under the id its row gives it; one that could not look is
    unknown, and says why."""
    try:
        return check(facts).finding(check_id)
    except NotAllowed as exc:
        return Finding(check_id, "unknown", str(exc), f"Ask your admin to allow {exc.action}.")
    except EmrRolesError as exc:
        return Finding(check_id, "unknown", f"Not checked: {exc}")


__all__ = ["APPLICATION_CHECKS", "APPLICATION_CHECK_IDS", "CHECKS", "CHECK_IDS", "ENGINE_CHECKS",
           "READINESS_IDS", "ApplicationCheck", "Check", "ClusterReadiness", "Finding", "Outcome",
           "Report", "cluster_readiness", "diagnose", "step_blockers"]

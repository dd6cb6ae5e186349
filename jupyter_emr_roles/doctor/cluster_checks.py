"""The doctor's checks of the cluster itself: its state, release, applications, primary
nodes, security configuration and the S3 settings its configurations carry.

Each returns one finding from the facts. The pickers' readiness badges are these
same checks (``clusters.assess``), so a picker and the doctor never disagree; the
emulator keeps EMR's side of the rules in its own words, and a test compares them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..aws import READY_STATES
from .facts import Facts
from .report import Finding

# Runtime roles came to steps in emr-6.7.0 and to interactive (Livy) sessions in emr-6.9.0.
NOTEBOOK_RELEASE = (6, 9, 0)
STEPS_RELEASE = (6, 7, 0)
NEEDED_APPLICATIONS = ("Spark", "Livy")
GRANTS_RELEASE = (6, 15, 0)
LIVY_TLS_RELEASE = (7, 4, 0)
# EMR's own Spark Connect sessions (StartSession) came with emr-8.0.0.
SESSIONS_RELEASE = (8, 0, 0)
_SPARK_PREFIX = "spark.hadoop."
_PROVIDER_KEY = "fs.s3.customAWSCredentialsProvider"


_RELEASE = re.compile(r"emr-(\d+)\.(\d+)\.(\d+)")


def release_version(label: str | None) -> tuple[int, ...]:
    """``emr-7.1.0`` → (7, 1, 0); anything else sorts before every release."""
    match = _RELEASE.fullmatch(label or "")
    return tuple(int(part) for part in match.groups()) if match else (0, 0, 0)


def _version(release: tuple[int, ...]) -> str:
    return "emr-" + ".".join(map(str, release))


def cluster_state(facts: Facts) -> Finding:
    state = facts.cluster.get("Status", {}).get("State", "")
    if state in READY_STATES:
        return Finding("cluster-state", "pass", f"The cluster is {state}.")
    return Finding("cluster-state", "fail", f"The cluster is {state or 'in no known state'}; "
                   "a session or a step needs it RUNNING or WAITING.",
                   "Pick a running cluster (`jupyter-emr-roles` pickers list them), or start one.")


def release(facts: Facts) -> Finding:
    label = facts.cluster.get("ReleaseLabel", "")
    version = release_version(label)
    supports = [what for minimum, what in (
        (STEPS_RELEASE, "steps under a runtime role (6.7+)"),
        (NOTEBOOK_RELEASE, "notebook sessions (6.9+)"),
        (GRANTS_RELEASE, "S3 Access Grants and Lake Formation with runtime roles (6.15+)"),
        (LIVY_TLS_RELEASE, "TLS for Livy from in-transit encryption alone (7.4+)"))
        if version >= minimum]
    can = f" It supports {', '.join(supports)}." if supports else ""
    if version >= NOTEBOOK_RELEASE:
        return Finding("release", "pass", f"Release {label}.{can}")
    return Finding("release", "fail", f"Release {label or '(unknown)'} predates runtime roles for "
                   f"notebooks, which need {_version(NOTEBOOK_RELEASE)}.{can}",
                   f"Run notebooks on a cluster of {_version(NOTEBOOK_RELEASE)} or later "
                   f"({_version(GRANTS_RELEASE)} or later for S3 Access Grants).")


def steps_release(facts: Facts) -> Finding:
    """The release check as a step sees it: runtime roles came to steps before notebooks."""
    label = facts.cluster.get("ReleaseLabel", "")
    if release_version(label) >= STEPS_RELEASE:
        return Finding("release", "pass", f"Release {label} runs steps under a runtime role.")
    return Finding("release", "fail", f"Release {label or '(unknown)'} predates runtime roles "
                   f"for steps, which need {_version(STEPS_RELEASE)}.",
                   f"Submit the step to a cluster of {_version(STEPS_RELEASE)} or later.")


def applications(facts: Facts) -> Finding:
    installed = {app.get("Name", "") for app in facts.cluster.get("Applications", [])}
    missing = [name for name in NEEDED_APPLICATIONS if name not in installed]
    if not missing:
        return Finding("applications", "pass", "Spark and Livy are installed.")
    return Finding("applications", "fail", f"{' and '.join(missing)} not installed: notebook "
                   "sessions run Spark through Livy.",
                   "Create the cluster with --applications Name=Spark Name=Livy.")


def single_primary(facts: Facts) -> Finding:
    count = facts.primary_node_count()
    if count <= 1:
        return Finding("single-primary", "pass", "One primary node.")
    return Finding("single-primary", "fail", f"The cluster has {count} primary nodes (high "
                   "availability); EMR does not support runtime roles there.",
                   "Use a cluster with one primary node for runtime-role sessions.")


def runtime_roles(facts: Facts) -> Finding:
    name = facts.cluster.get("SecurityConfiguration")
    snippet = json.dumps({"AuthorizationConfiguration": {"IAMConfiguration": {
        "EnableApplicationScopedIAMRole": True}}})
    if not name:
        return Finding("runtime-roles", "fail", "The cluster has no security configuration, so "
                       "runtime roles are off.", f"Start it with a security configuration "
                       f"holding {snippet}.")
    if facts.iam_configuration().get("EnableApplicationScopedIAMRole") is True:
        return Finding("runtime-roles", "pass", f"Security configuration {name!r} enables "
                       "runtime roles.")
    return Finding("runtime-roles", "fail", f"Security configuration {name!r} does not enable "
                   "runtime roles.", f"A security configuration holding {snippet} (a cluster's "
                   "security configuration is set when it starts).")


def in_transit_encryption(facts: Facts) -> Finding:
    document = facts.security_configuration() or {}
    if document.get("EncryptionConfiguration", {}).get("EnableInTransitEncryption") is True:
        return Finding("in-transit-encryption", "pass", "In-transit encryption (TLS) is on.")
    return Finding("in-transit-encryption", "fail", "In-transit encryption is off, so Livy "
                   "speaks plain HTTP and the Livy login crosses the network readable.",
                   '{"EncryptionConfiguration": {"EnableInTransitEncryption": true, '
                   '"InTransitEncryptionConfiguration": {"TLSCertificateConfiguration": '
                   '{"CertificateProviderType": "PEM", "S3Object": "s3://BUCKET/certs.zip"}}}}')


def spark_connect(facts: Facts) -> Finding:
    """Whether %connect can use EMR's Spark Connect sessions here, and this Python their client.
    StartSession itself is not tried: it would start a session (a driver) on the cluster."""
    enabled = facts.cluster.get("SessionEnabled") is True
    version = release_version(facts.cluster.get("ReleaseLabel"))
    if not enabled:
        why = (f"they need {_version(SESSIONS_RELEASE)} or later" if version < SESSIONS_RELEASE
               else "the cluster was created without SessionEnabled")
        return Finding("spark-connect", "pass", f"Spark Connect sessions are not enabled ({why}); "
                       "%connect uses Livy here.")
    if version < SESSIONS_RELEASE:
        return Finding("spark-connect", "fail", "The cluster says SessionEnabled, but Spark "
                       f"Connect sessions need {_version(SESSIONS_RELEASE)} or later.",
                       "Use --engine livy on this cluster.")
    from ..spark_connect_client import INSTALL_LINE, missing_client

    problem = missing_client()
    if problem:
        return Finding("spark-connect", "warn", "Spark Connect sessions are enabled, but "
                       f"{problem[0].lower()}{problem[1:]}", INSTALL_LINE)
    return Finding("spark-connect", "pass", "Spark Connect sessions are enabled, and this Python "
                   "has their client: %connect (--engine auto) uses them. StartSession is not "
                   "tried, since it would start a session.")


def source_identity(facts: Facts) -> Finding:
    if not facts.cluster.get("SecurityConfiguration"):
        return Finding("source-identity", "warn", "No security configuration, so no source "
                       "identity reaches CloudTrail.")
    scoped = facts.iam_configuration().get("ApplicationScopedIAMRoleConfiguration", {})
    if scoped.get("PropagateSourceIdentity") is True:
        return Finding("source-identity", "pass", "PropagateSourceIdentity is on: CloudTrail "
                       "shows the person behind each session, not only the runtime role.")
    return Finding("source-identity", "warn", "PropagateSourceIdentity is off: CloudTrail shows "
                   "the runtime role, not the person who used it.",
                   '"ApplicationScopedIAMRoleConfiguration": {"PropagateSourceIdentity": true} '
                   "in the security configuration's IAMConfiguration, and sts:SetSourceIdentity "
                   "in the runtime roles' trust policies")


def configured(facts: Facts, key: str) -> str | None:
    """A property of emrfs-site, or its ``spark.hadoop.`` form in spark-defaults."""
    for entry in facts.cluster.get("Configurations", []):
        properties: dict[str, Any] = entry.get("Properties") or {}
        if entry.get("Classification") == "emrfs-site" and key in properties:
            return str(properties[key])
        if entry.get("Classification") == "spark-defaults" and _SPARK_PREFIX + key in properties:
            return str(properties[_SPARK_PREFIX + key])
    return None


def emrfs_credentials_provider(facts: Facts) -> Finding:
    provider = configured(facts, _PROVIDER_KEY)
    if provider is None:
        return Finding("emrfs-credentials-provider", "pass", "No custom EMRFS credentials "
                       "provider: S3 is reached with the runtime role's own credentials.")
    return Finding("emrfs-credentials-provider", "warn", f"EMRFS uses the custom credentials "
                   f"provider {provider}: it picks S3 credentials by its own rules (often a role "
                   "per bucket), so a session may reach data its runtime role alone could not, "
                   "or be refused data the role may read.",
                   "Give each runtime role the S3 access it needs (or use S3 Access Grants) and "
                   f"remove {_PROVIDER_KEY} from emrfs-site.")

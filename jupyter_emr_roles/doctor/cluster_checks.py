"""The doctor's checks of the cluster itself: its state, release, applications, primary
nodes, security configuration and the S3 settings its configurations carry.

Each returns one finding from the facts. The pickers' readiness badges are these
same checks (``clusters.assess``), so a picker and the doctor never disagree; the
emulator keeps EMR's side of the rules in its own words, and a test compares them.
"""

from __future__ import annotations

import json
from typing import Any

from ..aws.clients import READY_STATES
from ..releases import (
    GRANTS,
    LIVY_TLS,
    NOTEBOOKS,
    SESSIONS,
    STEPS,
    Release,
    label_of,
    parse_release,
    predates_sessions,
    unknown_label,
)
from .facts import Facts
from .report import Outcome

NEEDED_APPLICATIONS = ("Spark", "Livy")
_SPARK_PREFIX = "spark.hadoop."
_PROVIDER_KEY = "fs.s3.customAWSCredentialsProvider"
_NO_LIVY_FIX = "Create the cluster with --applications Name=Spark Name=Livy."


def cluster_state(facts: Facts) -> Outcome:
    state = facts.cluster.get("Status", {}).get("State", "")
    if state in READY_STATES:
        return Outcome("pass", f"The cluster is {state}.")
    return Outcome("fail", f"The cluster is {state or 'in no known state'}; "
                   "a session or a step needs it RUNNING or WAITING.",
                   "Pick a running cluster (`jupyter-emr-roles` pickers list them), or start one.")


def _release(facts: Facts) -> tuple[str, Release | None]:
    label = facts.cluster.get("ReleaseLabel", "")
    return label, parse_release(label)


def release(facts: Facts) -> Outcome:
    label, found = _release(facts)
    if found is None:
        return Outcome("unknown", f"{unknown_label(label)}: whether it runs runtime "
                       "roles is not known here; EMR decides when you connect.")
    supports = [what for minimum, what in (
        (STEPS, "steps under a runtime role (6.7+)"),
        (NOTEBOOKS, "notebook sessions and Lake Formation with runtime roles (6.9+)"),
        (GRANTS, "S3 Access Grants (6.15+)"),
        (LIVY_TLS, "TLS for Livy from in-transit encryption alone (7.4+)"))
        if found.at_least(minimum)]
    if found.runs_sessions:
        supports.append(f"Spark Connect sessions ({label_of(SESSIONS)}+)")
    can = f" It supports {', '.join(supports)}." if supports else ""
    if found.at_least(NOTEBOOKS):
        return Outcome("pass", f"Release {label}.{can}")
    return Outcome("fail", f"Release {label} predates runtime roles for notebooks, "
                   f"which need {label_of(NOTEBOOKS)}.{can}",
                   f"Run notebooks on a cluster of {label_of(NOTEBOOKS)} or later "
                   f"({label_of(GRANTS)} or later for S3 Access Grants).")


def steps_release(facts: Facts) -> Outcome:
    """The release check as a step sees it: runtime roles came to steps before notebooks."""
    label, found = _release(facts)
    if found is None:
        return Outcome("unknown", f"{unknown_label(label)}; EMR decides whether it "
                       "runs steps under a runtime role.")
    if found.at_least(STEPS):
        return Outcome("pass", f"Release {label} runs steps under a runtime role.")
    return Outcome("fail", f"Release {label} predates runtime roles for steps, which "
                   f"need {label_of(STEPS)}.",
                   f"Submit the step to a cluster of {label_of(STEPS)} or later.")


def _installed(facts: Facts) -> set[str]:
    return {app.get("Name", "") for app in facts.cluster.get("Applications", [])}


def livy_applications(facts: Facts) -> Outcome:
    """The applications as the Livy engine needs them: Spark and Livy."""
    missing = [name for name in NEEDED_APPLICATIONS if name not in _installed(facts)]
    if not missing:
        return Outcome("pass", "Spark and Livy are installed.")
    return Outcome("fail", f"{' and '.join(missing)} not installed: Livy "
                   "sessions run Spark through Livy.", _NO_LIVY_FIX)


def applications(facts: Facts) -> Outcome:
    """Spark and Livy; a cluster that runs Spark Connect sessions needs no Livy for them."""
    finding = livy_applications(facts)
    if finding.status == "fail" and "Spark" in _installed(facts) and \
            sessions_problem(facts) is None:
        return Outcome("warn", "Livy is not installed: not needed for Spark "
                       "Connect, whose sessions this cluster runs (%connect uses them); Livy "
                       "sessions (--engine livy, Scala, R, SQL) cannot open here.",
                       f"Only to have Livy too: {_NO_LIVY_FIX[0].lower()}{_NO_LIVY_FIX[1:]}")
    return finding


def single_primary(facts: Facts) -> Outcome:
    count = facts.primary_node_count()
    if count <= 1:
        return Outcome("pass", "One primary node.")
    return Outcome("fail", f"The cluster has {count} primary nodes (high "
                   "availability); EMR does not support runtime roles there.",
                   "Use a cluster with one primary node for runtime-role sessions.")


def runtime_roles(facts: Facts) -> Outcome:
    name = facts.cluster.get("SecurityConfiguration")
    snippet = json.dumps({"AuthorizationConfiguration": {"IAMConfiguration": {
        "EnableApplicationScopedIAMRole": True}}})
    if not name:
        return Outcome("fail", "The cluster has no security configuration, so "
                       "runtime roles are off.", f"Start it with a security configuration "
                       f"holding {snippet}.")
    if facts.iam_configuration().get("EnableApplicationScopedIAMRole") is True:
        return Outcome("pass", f"Security configuration {name!r} enables "
                       "runtime roles.")
    return Outcome("fail", f"Security configuration {name!r} does not enable "
                   "runtime roles.", f"A security configuration holding {snippet} (a cluster's "
                   "security configuration is set when it starts).")


def in_transit_encryption(facts: Facts) -> Outcome:
    document = facts.security_configuration() or {}
    if document.get("EncryptionConfiguration", {}).get("EnableInTransitEncryption") is True:
        return Outcome("pass", "In-transit encryption (TLS) is on.")
    fix = ('{"EncryptionConfiguration": {"EnableInTransitEncryption": true, '
           '"InTransitEncryptionConfiguration": {"TLSCertificateConfiguration": '
           '{"CertificateProviderType": "PEM", "S3Object": "s3://BUCKET/certs.zip"}}}}')
    if "Livy" not in _installed(facts) and sessions_problem(facts) is None:
        return Outcome("warn", "In-transit encryption is off: not "
                       "needed for Spark Connect, whose sessions reach you through AWS's TLS "
                       "endpoint (there is no Livy here), but traffic inside the cluster is "
                       "not encrypted.", fix)
    return Outcome("fail", "In-transit encryption is off, so Livy "
                   "speaks plain HTTP and the Livy login crosses the network readable.", fix)


def sessions_unsupported(facts: Facts) -> list[str]:
    """What of the cluster's setup EMR does not run Spark Connect sessions with: several primary
    nodes, and Lake Formation fine-grained access control (a LakeFormationConfiguration in the
    security configuration). Raises NotAllowed where the caller may not read one of them."""
    found = []
    authorization = (facts.security_configuration() or {}).get("AuthorizationConfiguration", {})
    if "LakeFormationConfiguration" in authorization:
        found.append("EMR does not run Spark Connect sessions with Lake Formation fine-grained "
                     f"access control, and security configuration "
                     f"{facts.cluster.get('SecurityConfiguration')!r} turns it on "
                     "(LakeFormationConfiguration)")
    count = facts.primary_node_count()
    if count > 1:
        found.append("EMR does not run Spark Connect sessions on a cluster with several primary "
                     f"nodes (high availability; it has {count})")
    return found


def sessions_problem(facts: Facts) -> str | None:
    """Why EMR would not run a Spark Connect session here, or None when it would."""
    label = facts.cluster.get("ReleaseLabel", "")
    if predates_sessions(label):
        return (f"Spark Connect sessions need {label_of(SESSIONS)} or later, and the cluster "
                f"runs {label}.")
    if facts.cluster.get("SessionEnabled") is not True:
        return "The cluster was created without SessionEnabled, so it runs no Spark Connect " \
               "sessions."
    unsupported = sessions_unsupported(facts)
    return "; ".join(unsupported) + "." if unsupported else None


def sessions(facts: Facts) -> Outcome:
    """Spark Connect as an engine needs it (the pickers' readiness per engine): sessions
    enabled on a release and a setup EMR runs them on."""
    problem = sessions_problem(facts)
    if problem is None:
        return Outcome("pass", "The cluster runs Spark Connect sessions.")
    return Outcome("fail", problem, "Use --engine livy on this cluster.")


def spark_connect(facts: Facts) -> Outcome:
    """Whether %connect can use EMR's Spark Connect sessions here, and this Python their client.
    StartSession itself is not tried: it would start a session (a driver) on the cluster."""
    too_old = predates_sessions(facts.cluster.get("ReleaseLabel"))
    if facts.cluster.get("SessionEnabled") is not True:
        why = (f"they need {label_of(SESSIONS)} or later" if too_old
               else "the cluster was created without SessionEnabled")
        return Outcome("pass", f"Spark Connect sessions are not enabled ({why}); "
                       "%connect uses Livy here.")
    if too_old:
        return Outcome("fail", "The cluster says SessionEnabled, but Spark "
                       f"Connect sessions need {label_of(SESSIONS)} or later.",
                       "Use --engine livy on this cluster.")
    unsupported = sessions_unsupported(facts)
    if unsupported:
        return Outcome("warn", "Spark Connect sessions are enabled, but "
                       f"{'; and '.join(unsupported)}: %connect uses Livy here, and refuses "
                       "--engine spark-connect.", "Use Livy here; for Spark Connect, a cluster "
                       "with one primary node and no LakeFormationConfiguration.")
    from ..engines.spark_connect.client import INSTALL_LINE, missing_client

    problem = missing_client()
    if problem:
        return Outcome("warn", "Spark Connect sessions are enabled, but "
                       f"{problem[0].lower()}{problem[1:]}", INSTALL_LINE)
    return Outcome("pass", "Spark Connect sessions are enabled, and this Python "
                   "has their client: %connect (--engine auto) uses them. StartSession is not "
                   "tried, since it would start a session.")


def configured(facts: Facts, key: str) -> str | None:
    """A property of emrfs-site, or its ``spark.hadoop.`` form in spark-defaults."""
    for entry in facts.cluster.get("Configurations", []):
        properties: dict[str, Any] = entry.get("Properties") or {}
        if entry.get("Classification") == "emrfs-site" and key in properties:
            return str(properties[key])
        if entry.get("Classification") == "spark-defaults" and _SPARK_PREFIX + key in properties:
            return str(properties[_SPARK_PREFIX + key])
    return None


def emrfs_credentials_provider(facts: Facts) -> Outcome:
    provider = configured(facts, _PROVIDER_KEY)
    if provider is None:
        return Outcome("pass", "No custom EMRFS credentials "
                       "provider: S3 is reached with the runtime role's own credentials.")
    return Outcome("warn", f"EMRFS uses the custom credentials "
                   f"provider {provider}: it picks S3 credentials by its own rules (often a role "
                   "per bucket), so a session may reach data its runtime role alone could not, "
                   "or be refused data the role may read.",
                   "Give each runtime role the S3 access it needs (or use S3 Access Grants) and "
                   f"remove {_PROVIDER_KEY} from emrfs-site.")

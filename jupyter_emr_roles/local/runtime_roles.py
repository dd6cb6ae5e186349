"""The checks EMR makes before it lets a runtime role run on a cluster, in the emulator's words.

These are AWS's side of the rules. The client has its own copy (the pickers'
readiness in ``jupyter_emr_roles.clusters``) on purpose: if the two shared one
table, a wrong minimum in the client could never fail a test.

EMR refuses late where it assumes the role late: GetClusterSessionCredentials and
AddJobFlowSteps check only that the role exists, and a role the cluster's instance
profile may not assume fails the Livy session or the step when it starts (``refusal``),
which is the failure a user sees.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.emr.models import emr_backends
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends

from .callers import AwsError
from .issued import Identity

# Runtime roles came to steps in emr-6.7.0 and to interactive (Livy) sessions in emr-6.9.0.
NOTEBOOK_RELEASE = (6, 9, 0)
STEPS_RELEASE = (6, 7, 0)
READY_STATES = ("RUNNING", "WAITING")
# EMR's release labels: emr-4.0.0 to emr-7.x.y, then the "AWS runtime for Apache Spark" line,
# emr-spark-8.0.0 and later (there is no emr-8.0.0).
_RELEASES = (re.compile(r"emr-([4-7])\.(\d+)\.(\d+)"),
             re.compile(r"emr-spark-(\d+)\.(\d+)\.(\d+)"))


def _release(label: str | None) -> tuple[int, ...]:
    """The version a label names; (0, 0, 0), older than every minimum, for a label EMR never
    released (EMR knows its own labels: it refuses what it cannot place)."""
    for pattern in _RELEASES:
        match = pattern.fullmatch(label or "")
        if match:
            return tuple(int(part) for part in match.groups())
    return (0, 0, 0)


def _label(version: tuple[int, ...]) -> str:
    return ("emr-spark-" if version >= (8, 0, 0) else "emr-") + ".".join(map(str, version))


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidRequestException", message)


def check_ready(cluster: Any, minimum: tuple[int, ...], what: str) -> None:
    """State, release, one primary node and a security configuration enabling runtime roles."""
    if cluster.state not in READY_STATES:
        raise _invalid(f"Cluster {cluster.id} is in state {cluster.state}; it must be RUNNING "
                       "or WAITING.")
    if _release(cluster.release_label) < minimum:
        raise _invalid(f"Runtime roles for {what} need release {_label(minimum)} or later; "
                       f"cluster {cluster.id} runs {cluster.release_label}.")
    backend = cluster.emr_backend
    primaries = sum(group.num_instances for group in backend.instance_groups.values()
                    if group.cluster_id == cluster.id and group.role == "MASTER")
    if primaries > 1:
        raise _invalid(f"Runtime roles are not supported on cluster {cluster.id}: it has "
                       f"{primaries} primary nodes (high availability).")
    if not cluster.security_configuration:
        raise _invalid(f"Cluster {cluster.id} has no security configuration, so runtime roles "
                       "are not enabled on it.")
    if not _runtime_roles_enabled(backend, cluster.security_configuration):
        raise _invalid(f"Cluster {cluster.id} does not have runtime roles enabled: its security "
                       "configuration must set AuthorizationConfiguration.IAMConfiguration."
                       "EnableApplicationScopedIAMRole to true.")


def check_sessions_supported(cluster: Any) -> None:
    """What StartSession refuses besides ``check_ready``'s: Spark Connect sessions are not
    supported with Lake Formation fine-grained access control (AWS's "Interactive sessions
    with Spark Connect" page), which a LakeFormationConfiguration in the cluster's security
    configuration turns on."""
    if "LakeFormationConfiguration" in _authorization(cluster.emr_backend,
                                                      cluster.security_configuration):
        raise _invalid(f"Spark Connect sessions are not supported on cluster {cluster.id}: its "
                       f"security configuration {cluster.security_configuration} enables Lake "
                       "Formation fine-grained access control.")


def check_role_exists(cluster: Any, role_arn: str) -> None:
    """What EMR checks of the role when it is asked (GetClusterSessionCredentials,
    AddJobFlowSteps, StartSession): the role and the cluster's instance profile exist. Whether the profile
    may assume the role is found out later, when the cluster assumes it (``refusal``)."""
    _role_and_profile(cluster, role_arn)


def refusal(cluster: Any, role_arn: str, source_identity: str | None) -> str | None:
    """Why the cluster's instance profile role cannot assume the runtime role for a session or
    a step, as STS says it; None when it can.

    EMR's prerequisites for runtime roles: the role's trust lets the profile role
    sts:AssumeRole and sts:TagSession (with the security configuration's ExternalId where the
    trust demands one), the profile role's own policy allows both on the role, and where a
    source identity is passed on, sts:SetSourceIdentity in both too."""
    role, profile = _role_and_profile(cluster, role_arn)
    external_id = _iam_configuration(cluster.emr_backend, cluster.security_configuration).get(
        "ApplicationScopedIAMRoleConfiguration", {}).get("ExternalId")
    context = {"sts:ExternalId": external_id} if external_id else {}
    if source_identity:
        context["sts:SourceIdentity"] = source_identity
    actions = ("sts:AssumeRole", "sts:TagSession") + (
        ("sts:SetSourceIdentity",) if source_identity else ())
    for profile_role in profile.roles:
        missing = _not_allowed(role, profile_role, actions, context)
        if missing is None:
            return None
    return (f"User: arn:aws:sts::{cluster.emr_backend.account_id}:assumed-role/"
            f"{profile.roles[0].name if profile.roles else cluster.role}/{cluster.id} is not "
            f"authorized to perform: {missing} on resource: {role_arn}")


def refusal_of(identity: Identity) -> str | None:
    """``refusal`` for the cluster and role of a session or step as it starts (its cluster
    found in whichever account and region holds it)."""
    for _, accounts in list(emr_backends.items()):
        for backend in list(accounts.values()):
            cluster = backend.clusters.get(identity.cluster_id)
            if cluster is not None:
                return refusal(cluster, identity.role_arn, identity.source_identity)
    return f"There is no cluster {identity.cluster_id} to assume {identity.role_arn} on."


def _role_and_profile(cluster: Any, role_arn: str) -> tuple[Any, Any]:
    parts = role_arn.split(":")
    try:
        role = iam_backends[parts[4]]["aws"].get_role_by_arn(role_arn)
        profile = iam_backends[cluster.emr_backend.account_id]["aws"].get_instance_profile(
            cluster.role)
    except Exception:  # moto's IAMNotFoundException, or an ARN without an account
        raise _invalid(f"The execution role {role_arn} does not exist or cannot be assumed by "
                       f"cluster {cluster.id}.") from None
    return role, profile


def _not_allowed(role: Any, profile_role: Any, actions: tuple[str, ...],
                 context: dict[str, str]) -> str | None:
    """The first action the role's trust or the profile role's identity policies do not
    allow; None when both allow all."""
    trust = IAMPolicy(_about_aws_principals(role.assume_role_policy_document))
    own = [IAMPolicy(policy) for policy in
           (*profile_role.policies.values(), *profile_role.managed_policies.values())]
    for action in actions:
        trusted = trust.is_action_permitted(action, principal=profile_role.arn,
                                            incoming_condition_values=context)
        granted = [policy.is_action_permitted(action, role.arn, incoming_condition_values=context)
                   for policy in own]
        if trusted != PermissionResult.PERMITTED or PermissionResult.DENIED in granted \
                or PermissionResult.PERMITTED not in granted:
            return action
    return None


def _about_aws_principals(document: str) -> str:
    """The trust policy's statements about AWS principals (the instance profile role is one):
    moto's evaluation fails on a statement naming a service alone (a job role's trust in
    emr-serverless.amazonaws.com), which has nothing to say about the profile anyway."""
    policy = json.loads(document)
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [statement for statement in statements if not isinstance(
        statement.get("Principal"), dict) or "AWS" in statement["Principal"]]
    return json.dumps({**policy, "Statement": kept})


def propagates_source_identity(cluster: Any) -> bool:
    """Whether the cluster's security configuration passes the caller's source identity on to
    the runtime role's session."""
    return _iam_configuration(cluster.emr_backend, cluster.security_configuration).get(
        "ApplicationScopedIAMRoleConfiguration", {}).get("PropagateSourceIdentity") is True


def _runtime_roles_enabled(backend: Any, name: str) -> bool:
    return _iam_configuration(backend, name).get("EnableApplicationScopedIAMRole") is True


def _iam_configuration(backend: Any, name: str | None) -> dict[str, Any]:
    """The IAMConfiguration of a security configuration; {} when there is none."""
    return _authorization(backend, name).get("IAMConfiguration", {})


def _authorization(backend: Any, name: str | None) -> dict[str, Any]:
    """The AuthorizationConfiguration of a security configuration; {} when there is none or it
    is not valid JSON."""
    if not name or name not in backend.security_configurations:
        return {}
    try:
        config = json.loads(backend.security_configurations[name].security_configuration)
    except (TypeError, ValueError):
        return {}
    return config.get("AuthorizationConfiguration", {})

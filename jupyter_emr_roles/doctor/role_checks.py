"""The doctor's checks of the runtime role: it exists, trusts the cluster the way EMR needs,
EMR hands out a login for it, and Livy answers as ``%connect`` would find and verify it.

IAM answers GetRole only for roles of its own account, and EMR's refusal of
GetClusterSessionCredentials does not say whether the role is missing or the
caller may not pass it: the messages say which one it is where the answers allow.
"""

from __future__ import annotations

import json

from ..aws import DOCTOR_USER_AGENT, Emr
from ..errors import AwsCallError, EmrRolesError
from ..livy_endpoint import find_livy, trust_for, wanted_for
from .facts import Facts
from .report import Finding
from .cluster_checks import sessions_problem
from .trust import Trust, trust_for_principal

NO_ROLE = ("No runtime role to check: none was given and the roles files name no default for "
           "the cluster's account.")
NO_ROLE_FIX = "jupyter-emr-roles doctor --cluster-id ID --role-arn arn:aws:iam::ACCOUNT:role/NAME"


def _no_role(check_id: str) -> Finding:
    return Finding(check_id, "unknown", NO_ROLE, NO_ROLE_FIX)


def _other_account(facts: Facts) -> bool:
    return facts.role_arn is not None and facts.role_arn.account != facts.target.account


def role_exists(facts: Facts) -> Finding:
    arn = facts.role_arn
    if arn is None:
        return _no_role("role-exists")
    if _other_account(facts):
        return Finding("role-exists", "unknown", f"{arn} is a role of account {arn.account}, "
                       f"and IAM of account {facts.target.account} cannot read it; the gcsc "
                       "check says whether EMR can use it.")
    if facts.role() is None:
        return Finding("role-exists", "fail", f"There is no role {arn.name} in account "
                       f"{arn.account}: the ARN is wrong, or the role was deleted.",
                       f"aws iam get-role --role-name {arn.name}")
    return Finding("role-exists", "pass", f"The role {arn.name} exists.")


def profile_trust(facts: Facts) -> tuple[str, Trust] | None:
    """The instance profile role the runtime role trusts best, and how; None when the role
    cannot be read (another account, or missing)."""
    role = facts.role() if facts.role_arn is not None and not _other_account(facts) else None
    if role is None:
        return None
    profile_roles = facts.profile_role_arns()
    trusts = [(arn, trust_for_principal(role.get("AssumeRolePolicyDocument"), arn))
              for arn in profile_roles]
    return max(trusts, key=lambda pair: (bool(pair[1].statements), not pair[1].through_account),
               default=None)


def role_trust(facts: Facts) -> Finding:
    if facts.role_arn is None:
        return _no_role("role-trust")
    found = profile_trust(facts)
    if found is None:
        return Finding("role-trust", "unknown", "The role's trust policy could not be read (see "
                       "role-exists).")
    profile_arn, trust = found
    iam = facts.iam_configuration()
    wanted = ["sts:AssumeRole", "sts:TagSession"]
    if iam.get("ApplicationScopedIAMRoleConfiguration", {}).get("PropagateSourceIdentity"):
        wanted.append("sts:SetSourceIdentity")
    missing = [action for action in wanted if not trust.allows(action)]
    statement = json.dumps({"Effect": "Allow", "Principal": {"AWS": profile_arn},
                            "Action": wanted})
    if missing:
        return Finding("role-trust", "fail", f"The trust policy of {facts.role_arn.name} does not "
                       f"allow {', '.join(missing)} to the cluster's instance profile role "
                       f"{profile_arn}, so EMR cannot run the session as it.",
                       f"Add to its trust policy: {statement}")
    return _external_id(facts, trust, profile_arn)


def _external_id(facts: Facts, trust: Trust, profile_arn: str) -> Finding:
    ours = facts.iam_configuration().get("ApplicationScopedIAMRoleConfiguration", {}).get(
        "ExternalId")
    demanded = trust.condition_values("sts:AssumeRole", "sts:ExternalId")
    if demanded and ours not in demanded:
        shown = ours or "none (the security configuration has no ExternalId)"
        return Finding("role-trust", "fail", f"The trust policy of {facts.role_arn.name} demands "
                       f"the ExternalId {', '.join(sorted(demanded))}, but the cluster's security "
                       f"configuration passes {shown}.",
                       f'"Condition": {{"StringEquals": {{"sts:ExternalId": "{ours}"}}}}'
                       if ours else "Remove the sts:ExternalId condition from the trust policy.")
    how = " (through the account's root: the profile role's own policy must allow it)" \
        if trust.through_account else ""
    return Finding("role-trust", "warn" if trust.through_account else "pass",
                   f"{facts.role_arn.name} trusts {profile_arn}{how} as EMR needs.")


def gcsc(facts: Facts) -> Finding:
    arn = facts.role_arn
    if arn is None:
        return _no_role("gcsc")
    try:
        # Under the doctor's own user agent, so the audit does not count the probe as a login.
        Emr(facts.target.session, user_agent_extra=DOCTOR_USER_AGENT).session_credentials(
            facts.request.cluster_id, arn)
    except AwsCallError as exc:
        if _known_missing(facts):
            return Finding("gcsc", "fail", f"GetClusterSessionCredentials was refused, and the "
                           f"role {arn.name} does not exist (see role-exists): no permission "
                           f"makes EMR issue a login for it. EMR said: {exc}",
                           f"Create the role, or check the ARN: aws iam get-role --role-name "
                           f"{arn.name}")
        return Finding("gcsc", "fail", f"GetClusterSessionCredentials was refused: {exc}",
                       _gcsc_fix(facts, exc))
    return Finding("gcsc", "pass", f"EMR issues a Livy login for {arn.name} on this cluster "
                   "(the login was dropped unused).")


def _known_missing(facts: Facts) -> bool:
    """Whether IAM said the role does not exist (False when it could not be asked)."""
    if _other_account(facts):
        return False
    try:
        return facts.role() is None
    except EmrRolesError:
        return False


def _gcsc_fix(facts: Facts, exc: AwsCallError) -> str | None:
    if exc.code != "AccessDenied":
        return None
    return json.dumps({"Effect": "Allow", "Action":
                       "elasticmapreduce:GetClusterSessionCredentials", "Resource":
                       facts.cluster.get("ClusterArn", "*"), "Condition": {"StringEquals": {
                           "elasticmapreduce:ExecutionRoleArn": facts.role_arn}}})


def livy(facts: Facts) -> Finding:
    request, account = facts.request, facts.target.choices
    try:
        endpoint = find_livy(facts.target.emr, facts.cluster, trust_for(request, account),
                             wanted_for(request, account), fresh=True)
    except EmrRolesError as exc:
        return Finding("livy", "fail", str(exc))
    if endpoint.insecure_http:
        return Finding("livy", "warn", f"Livy answers at {endpoint.url} in plain HTTP "
                       "(--allow-insecure-http).")
    return Finding("livy", "pass", f"Livy answers at {endpoint.url}, its certificate verified as "
                   "%connect verifies it.")
    if "Livy" not in {app.get("Name") for app in facts.cluster.get("Applications", [])}:
        if sessions_problem(facts) is None:
            return Finding("livy", "warn", "Livy is not installed on this cluster: not needed for "
                           "Spark Connect, whose sessions %connect opens here instead.")
        return Finding("livy", "fail", "Livy is not installed on this cluster, so no Livy "
                       "session can open.", "Create the cluster with --applications Name=Spark "
                       "Name=Livy.")

"""The doctor's checks of the runtime role: it exists, trusts the cluster the way EMR needs,
EMR hands out a login for it, and Livy answers as ``%connect`` would find and verify it.

IAM answers GetRole only for roles of its own account, and EMR's refusal of
GetClusterSessionCredentials does not say whether the role is missing or the
caller may not pass it: the messages say which one it is where the answers allow.
"""

from __future__ import annotations

import json
import re

from ..aws.clients import DOCTOR_USER_AGENT, Emr
from ..engines.livy.credentials import session_login
from ..errors import AwsCallError, EmrRolesError
from ..engines.livy.endpoint import find_livy, trust_for, wanted_for
from .cluster_checks import sessions_problem
from .facts import AccountFacts, Facts
from .report import Outcome
from .trust import Trust, trust_for_principal

NO_ROLE = ("No runtime role to check: none was given and the roles files name no default for "
           "the account of the {}.")
# What EMR's instance profile role must be allowed on a runtime role, in its trust and its policy.
ASSUME_ACTIONS = ("sts:AssumeRole", "sts:TagSession")
SESSION_ACTIONS = ("elasticmapreduce:GetSession", "elasticmapreduce:GetSessionEndpoint",
                   "elasticmapreduce:TerminateSession")
# Where a message's remedy starts: the first sentence that tells the user what to do.
_REMEDY = re.compile(r"(?<=[.;]) (?=(?:Check|Enable|If|Ask|Pick|Use|Give|Wait|wait|Try|Start|"
                     r"Create|Connect|Leave|Set|Run|Add)\b)")


def no_role(facts: AccountFacts) -> Outcome:
    what, where = (("application", "--application-id ID") if facts.request.serverless
                   else ("cluster", "--cluster-id ID"))
    return Outcome("unknown", NO_ROLE.format(what), f"jupyter-emr-roles doctor {where} "
                   f"--role-arn arn:{facts.partition}:iam::ACCOUNT:role/NAME")


def split_remedy(text: str) -> tuple[str, str | None]:
    """A one-paragraph error as (what was found, the remedy it gives), so a report's ``fix``
    carries the remedy; the whole text and no fix where it names none."""
    found = _REMEDY.search(text)
    if found is None:
        return text, None
    return text[:found.start()].rstrip(";.") + ".", text[found.end():]


def other_account(facts: AccountFacts) -> bool:
    return facts.role_arn is not None and facts.role_arn.account != facts.account


def role_exists(facts: AccountFacts) -> Outcome:
    arn = facts.role_arn
    if arn is None:
        return no_role(facts)
    if other_account(facts):
        decides = ("EMR Serverless decides when a session starts" if facts.request.serverless
                   else "the gcsc check says whether EMR can use it")
        return Outcome("unknown", f"{arn} is a role of account {arn.account}, "
                       f"and IAM of account {facts.account} cannot read it; {decides}.")
    if facts.role() is None:
        return Outcome("fail", f"There is no role {arn.name} in account "
                       f"{arn.account}: the ARN is wrong, or the role was deleted.",
                       f"aws iam get-role --role-name {arn.name}")
    return Outcome("pass", f"The role {arn.name} exists.")


def profile_trust(facts: Facts) -> tuple[str, Trust] | None:
    """The instance profile role the runtime role trusts best, and how; None when the role
    cannot be read (another account, or missing)."""
    role = facts.role() if facts.role_arn is not None and not other_account(facts) else None
    if role is None:
        return None
    profile_roles = facts.profile_role_arns()
    trusts = [(arn, trust_for_principal(role.get("AssumeRolePolicyDocument"), arn))
              for arn in profile_roles]
    return max(trusts, key=lambda pair: (bool(pair[1].statements), not pair[1].through_account),
               default=None)


def role_trust(facts: Facts) -> Outcome:
    """EMR's prerequisites for assuming the role: its trust lets the instance profile role
    sts:AssumeRole and sts:TagSession (with the security configuration's ExternalId), and the
    profile role's own policy allows both on it."""
    if facts.role_arn is None:
        return no_role(facts)
    found = profile_trust(facts)
    if found is None:
        return Outcome("unknown", "The role's trust policy could not be read (see "
                       "role-exists).")
    profile_arn, trust = found
    missing = [action for action in ASSUME_ACTIONS if not trust.allows(action)]
    if missing:
        statement = json.dumps({"Effect": "Allow", "Principal": {"AWS": profile_arn},
                                "Action": list(ASSUME_ACTIONS)})
        return Outcome("fail", f"The trust policy of {facts.role_arn.name} does not "
                       f"allow {', '.join(missing)} to the cluster's instance profile role "
                       f"{profile_arn}, so the session or step fails when EMR assumes it.",
                       f"Add to its trust policy: {statement}")
    return _external_id(facts, trust, profile_arn) or profile_policy(
        facts, profile_arn, ASSUME_ACTIONS) or Outcome(
        "pass", f"{facts.role_arn.name} trusts {profile_arn}, and its policy "
        "allows sts:AssumeRole and sts:TagSession on the role, as EMR needs.")


def _external_id(facts: Facts, trust: Trust, profile_arn: str) -> Outcome | None:
    ours = facts.iam_configuration().get("ApplicationScopedIAMRoleConfiguration", {}).get(
        "ExternalId")
    demanded = trust.condition_values("sts:AssumeRole", "sts:ExternalId")
    if not demanded or ours in demanded:
        return None
    shown = ours or "none (the security configuration has no ExternalId)"
    return Outcome("fail", f"The trust policy of {facts.role_arn.name} demands "
                   f"the ExternalId {', '.join(sorted(demanded))}, but the cluster's security "
                   f"configuration passes {shown}, so {profile_arn} cannot assume it.",
                   f'"Condition": {{"StringEquals": {{"sts:ExternalId": "{ours}"}}}}'
                   if ours else "Remove the sts:ExternalId condition from the trust policy.")


def profile_policy(facts: Facts, profile_arn: str,
                   actions: tuple[str, ...]) -> Outcome | None:
    """A failure when the instance profile role's own policy does not allow ``actions`` on
    the runtime role (IAM's policy simulator decides); None when it does."""
    assert facts.role_arn is not None
    decisions = facts.decisions(profile_arn, list(actions), facts.role_arn)
    refused = [action for action in actions if decisions.get(action) != "allowed"]
    if not refused:
        return None
    name = profile_arn.rpartition("/")[2]
    statement = json.dumps({"Effect": "Allow", "Action": list(actions),
                            "Resource": facts.role_arn})
    return Outcome("fail", f"The policy of the cluster's instance profile role {name} "
                   f"does not allow {', '.join(refused)} on {facts.role_arn.name}, so EMR cannot "
                   "assume it for a session or step, whatever its trust says.",
                   f"aws iam put-role-policy --role-name {name} --policy-name runtime-roles "
                   f"--policy-document '{{\"Version\": \"2012-10-17\", \"Statement\": "
                   f"[{statement}]}}'")


def gcsc(facts: Facts) -> Outcome:
    arn = facts.role_arn
    if arn is None:
        return no_role(facts)
    try:
        # Under the doctor's own user agent, so the audit does not count the probe as a login.
        session_login(Emr(facts.target.session, user_agent_extra=DOCTOR_USER_AGENT),
                      facts.request.cluster_id, arn)
    except AwsCallError as exc:
        if _known_missing(facts):
            return Outcome("fail", f"GetClusterSessionCredentials was refused, and the "
                           f"role {arn.name} does not exist (see role-exists): no permission "
                           f"makes EMR issue a login for it. EMR said: {exc}",
                           f"Create the role, or check the ARN: aws iam get-role --role-name "
                           f"{arn.name}")
        return Outcome("fail", f"GetClusterSessionCredentials was refused: {exc}",
                       _gcsc_fix(facts, exc))
    return Outcome("pass", f"EMR issues a Livy login for {arn.name} on this cluster "
                   "(the login was dropped unused).")


def _known_missing(facts: Facts) -> bool:
    """Whether IAM said the role does not exist (False when it could not be asked)."""
    if other_account(facts):
        return False
    try:
        return facts.role() is None
    except EmrRolesError:
        return False


def _gcsc_fix(facts: Facts, exc: AwsCallError) -> str:
    if exc.code != "AccessDenied":
        return split_remedy(str(exc))[1] or ("Check the cluster and the role with the checks "
                                             "above; EMR's answer says which it refused.")
    return json.dumps({"Effect": "Allow", "Action":
                       "elasticmapreduce:GetClusterSessionCredentials", "Resource":
                       facts.cluster_arn(), "Condition": {"StringEquals": {
                           "elasticmapreduce:ExecutionRoleArn": facts.role_arn}}})


def livy(facts: Facts) -> Outcome:
    request, account = facts.request, facts.target.choices
    if "Livy" not in {app.get("Name") for app in facts.cluster.get("Applications", [])}:
        if sessions_problem(facts) is None:
            return Outcome("warn", "Livy is not installed on this cluster: not needed for "
                           "Spark Connect, whose sessions %connect opens here instead.")
        return Outcome("fail", "Livy is not installed on this cluster, so no Livy "
                       "session can open.", "Create the cluster with --applications Name=Spark "
                       "Name=Livy.")
    try:
        endpoint = find_livy(facts.target.emr, facts.cluster, trust_for(request, account),
                             wanted_for(request, account), fresh=True)
    except EmrRolesError as exc:
        return Outcome("fail", *split_remedy(str(exc)))
    if endpoint.insecure_http:
        return Outcome("warn", f"Livy answers at {endpoint.url} in plain HTTP "
                       "(--allow-insecure-http).")
    return Outcome("pass", f"Livy answers at {endpoint.url}, its certificate verified as "
                   "%connect verifies it.")


def session_permissions(facts: Facts) -> Outcome:
    """What a Spark Connect session needs of the caller's IAM (IAM's policy simulator on the
    caller's policies; StartSession itself would start a session): StartSession with the role
    and ListSessions on the cluster, iam:PassRole of the role to EMR, and the session calls on
    ``cluster/ID/session/*``."""
    arn = facts.role_arn
    if facts.cluster.get("SessionEnabled") is not True:
        return Outcome("pass", "Spark Connect sessions are not enabled "
                       "on this cluster, so it needs no session permissions.")
    if arn is None:
        return no_role(facts)
    caller, cluster = facts.caller_principal(), facts.cluster_arn()
    refused = facts.refused([
        (["elasticmapreduce:StartSession"], cluster, {"elasticmapreduce:ExecutionRoleArn": arn}),
        (["elasticmapreduce:ListSessions"], cluster, None),
        (list(SESSION_ACTIONS), f"{cluster}/session/*", None),
        (["iam:PassRole"], arn, {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})])
    if not refused:
        return Outcome("pass", f"IAM allows {caller} to start Spark "
                       f"Connect sessions as {arn.name} here and to use them.")
    return Outcome("fail", f"IAM does not allow {caller} "
                   f"{', '.join(refused)} (its policy simulator says), so %connect cannot open "
                   f"a Spark Connect session as {arn.name} here.",
                   json.dumps(_session_statements(facts, arn)))


def _session_statements(facts: Facts, arn: str) -> list[dict[str, object]]:
    """The caller policy's statements for sessions, as AWS's Spark Connect page gives them."""
    clusters = facts.cluster_arn().rpartition("/")[0] + "/*"
    return [{"Effect": "Allow", "Action": "elasticmapreduce:StartSession", "Resource": clusters,
             "Condition": {"StringEquals": {"elasticmapreduce:ExecutionRoleArn": arn}}},
            {"Effect": "Allow", "Action": "elasticmapreduce:ListSessions", "Resource": clusters},
            {"Effect": "Allow", "Action": list(SESSION_ACTIONS),
             "Resource": f"{clusters}/session/*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": arn, "Condition": {
                "StringEquals": {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}}}]

"""The doctor's checks of an EMR Serverless application: its state, which engines it offers,
the job role's trust in EMR Serverless, what IAM lets the caller do there, and its network.

There is no GetClusterSessionCredentials to try and no Livy to probe before a session: the
Livy endpoint and StartSession would open one. So the role's trust is read (IAM GetRole) and
the caller's rights simulated (IAM SimulatePrincipalPolicy), as the cluster checks do for
Spark Connect sessions. ``state_outcome`` and ``engine_outcome`` need nothing but
GetApplication's answer, so a picker can show the same verdicts without a call of its own.
"""

from __future__ import annotations

import json
from typing import Any

from ..applications import ENGINES, engine_refusal
from ..aws.serverless import STARTABLE, WAITED_FOR, auto_start, idle_stop, start_fix
from ..vocabulary import ENGINE_NAMES
from .application_facts import ApplicationFacts
from .facts import NotAllowed
from .report import Outcome
from .role_checks import no_role, other_account
from .trust import trust_for_service

# The principal EMR Serverless assumes a job's or a session's execution role as.
SERVICE = "emr-serverless.amazonaws.com"
_OFFERS = {"livy": "Livy endpoint", "spark-connect": ENGINE_NAMES["spark-connect"]}
_SETTINGS = {"livy": "livyEndpointEnabled", "spark-connect": "sessionEnabled"}
SESSION_ACTIONS = ("emr-serverless:GetSession", "emr-serverless:GetSessionEndpoint",
                   "emr-serverless:TerminateSession")


def state_outcome(application: dict[str, Any]) -> Outcome:
    """Whether a connect can bring the application to STARTED: it is, it is on its way, or
    auto-start lets a connect start it; deleted, or stopped with auto-start off, it cannot."""
    application_id, state = application.get("applicationId", ""), application.get("state", "")
    stops = idle_stop(application)
    if state == "STARTED" or state in WAITED_FOR:
        waits = "" if state == "STARTED" else "; a connect waits until it is STARTED"
        return Outcome("pass", f"The application is {state}{waits} ({stops}).")
    if state in STARTABLE and auto_start(application):
        return Outcome("pass", f"The application is {state}, and its auto-start is on: a "
                       f"connect starts it (StartApplication) and waits for it ({stops}).")
    if state in STARTABLE:
        return Outcome("fail", f"The application is {state} and its auto-start is off, so a "
                       "notebook does not start it.", f"{start_fix(application_id)}.")
    return Outcome("fail", f"The application is {state or 'in no known state'}: it is deleted, "
                   "and runs nothing.", "Pick another application (aws emr-serverless "
                   "list-applications).")


def application_state(facts: ApplicationFacts) -> Outcome:
    """The state as a connect meets it, and for one the connect must start, whether IAM lets
    the caller start it."""
    found = state_outcome(facts.application)
    if found.status != "pass" or facts.application.get("state") not in STARTABLE:
        return found
    try:
        refused = facts.refused([(["emr-serverless:StartApplication"],
                                  facts.application_arn(), None)])
    except NotAllowed as exc:
        return Outcome("pass", f"{found.message} Whether you may start it was not checked: "
                       f"you may not call {exc.action}.")
    if not refused:
        return found
    return Outcome("fail", f"The application is {facts.application.get('state')}, and IAM does "
                   f"not allow {facts.caller_principal()} emr-serverless:StartApplication on it "
                   "(its policy simulator says), so a connect cannot start it.",
                   json.dumps({"Effect": "Allow", "Action": "emr-serverless:StartApplication",
                               "Resource": facts.application_arn()}))


def engine_outcome(application: dict[str, Any], engine: str) -> Outcome:
    """Whether the application's type, release and interactive configuration offer ``engine``
    ("livy", "spark-connect"), as that engine alone sees it: fail when they do not. The fix is
    the refusal's remedy for the application, without the other engine a connect could use
    (the report says whether there is one)."""
    refusal = engine_refusal(application, engine)
    release = application.get("releaseLabel", "release unknown")
    if refusal is None:
        return Outcome("pass", f"It offers {_OFFERS[engine]} ({release}, {_SETTINGS[engine]}).")
    why, _, fix = refusal.partition("; ")
    fix = fix.split(", or ", 1)[1] if fix.startswith("connect with --engine") else fix
    return Outcome("fail", f"No {_OFFERS[engine]} here: {why}.",
                   f"{fix[:1].upper()}{fix[1:]}." if fix else "Pick a Spark application.")


def _engine(facts: ApplicationFacts, engine: str) -> Outcome:
    """An engine as the report shows it: one not offered only warns where the other engine
    is, since %connect then uses that one."""
    found = engine_outcome(facts.application, engine)
    others = [other for other in ENGINES if other != engine
              and engine_refusal(facts.application, other) is None]
    if found.status == "fail" and others:
        fix = found.fix or ""
        return Outcome("warn", f"{found.message} %connect uses {ENGINE_NAMES[others[0]]} here.",
                       f"Only to have it too: {fix[:1].lower()}{fix[1:]}")
    return found


def livy(facts: ApplicationFacts) -> Outcome:
    return _engine(facts, "livy")


def spark_connect(facts: ApplicationFacts) -> Outcome:
    """Spark Connect sessions as offered, and this Python their client."""
    found = _engine(facts, "spark-connect")
    if found.status != "pass":
        return found
    from ..engines.spark_connect.client import SERVERLESS_CLIENT, missing_client

    problem = missing_client(SERVERLESS_CLIENT)
    if problem:
        return Outcome("warn", f"{found.message} But {problem[0].lower()}{problem[1:]}",
                       SERVERLESS_CLIENT.install)
    return Outcome("pass", f"{found.message} This Python has their client. StartSession is "
                   "not tried, since it would start a session.")


def role_trust(facts: ApplicationFacts) -> Outcome:
    """EMR Serverless assumes the job role as the service emr-serverless.amazonaws.com: the
    role's trust policy must allow it sts:AssumeRole, and where it demands a source account
    (aws:SourceAccount, against the confused deputy), the application's."""
    arn = facts.role_arn
    if arn is None:
        return no_role(facts)
    role = None if other_account(facts) else facts.role()
    if role is None:
        return Outcome("unknown", "The role's trust policy could not be read (see "
                       "role-exists); EMR Serverless decides when a session starts.")
    trust = trust_for_service(role.get("AssumeRolePolicyDocument"), SERVICE)
    if not trust.allows("sts:AssumeRole"):
        statement = {"Effect": "Allow", "Principal": {"Service": SERVICE},
                     "Action": "sts:AssumeRole"}
        return Outcome("fail", f"The trust policy of {arn.name} does not allow "
                       f"sts:AssumeRole to {SERVICE}, so a session or job run as it fails when "
                       "EMR Serverless assumes it.",
                       f"Add to its trust policy: {json.dumps(statement)}")
    accounts = trust.condition_values("sts:AssumeRole", "aws:SourceAccount")
    if accounts and facts.account not in accounts:
        return Outcome("fail", f"The trust policy of {arn.name} lets {SERVICE} assume it only "
                       f"for account {', '.join(sorted(accounts))} (aws:SourceAccount), and the "
                       f"application is of account {facts.account}.",
                       f'"Condition": {{"StringEquals": {{"aws:SourceAccount": '
                       f'"{facts.account}"}}}}')
    return Outcome("pass", f"{arn.name} trusts {SERVICE} (sts:AssumeRole), as EMR Serverless "
                   "needs.")


def _permissions(facts: ApplicationFacts, engine: str,
                 statements: list[dict[str, Any]]) -> Outcome:
    """What the caller's IAM lets it do for ``engine``'s sessions as the role (IAM's policy
    simulator on ``statements``' actions and resources, with iam:PassRole of the role to EMR
    Serverless); nothing needed where the application does not offer the engine."""
    arn = facts.role_arn
    if engine_refusal(facts.application, engine) is not None:
        return Outcome("pass", f"No {_OFFERS[engine]} here, so it needs no permissions of "
                       "yours.")
    if arn is None:
        return no_role(facts)
    statements = [*statements, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": arn,
                                "Condition": {"StringEquals": {"iam:PassedToService": SERVICE}}}]
    refused = facts.refused([_asked(statement) for statement in statements])
    if not refused:
        return Outcome("pass", f"IAM allows {facts.caller_principal()} to use "
                       f"{ENGINE_NAMES[engine]} here as {arn.name}.")
    return Outcome("fail", f"IAM does not allow {facts.caller_principal()} {', '.join(refused)} "
                   f"(its policy simulator says), so %connect cannot use {ENGINE_NAMES[engine]} "
                   f"here as {arn.name}.", json.dumps(statements))


def _asked(statement: dict[str, Any]) -> tuple[list[str], str, dict[str, str] | None]:
    """A policy statement as a question to IAM's simulator: its actions, resource, context."""
    actions = statement["Action"]
    return ([actions] if isinstance(actions, str) else actions, statement["Resource"],
            statement.get("Condition", {}).get("StringEquals"))


def livy_permissions(facts: ApplicationFacts) -> Outcome:
    """The Livy endpoint: emr-serverless:AccessLivyEndpoints on the application."""
    return _permissions(facts, "livy", [{"Effect": "Allow", "Action":
                                         "emr-serverless:AccessLivyEndpoints",
                                         "Resource": facts.application_arn()}])


def session_permissions(facts: ApplicationFacts) -> Outcome:
    """Spark Connect sessions: StartSession on the application, and the session calls on its
    sessions."""
    application = facts.application_arn()
    return _permissions(facts, "spark-connect", [
        {"Effect": "Allow", "Action": "emr-serverless:StartSession", "Resource": application},
        {"Effect": "Allow", "Action": list(SESSION_ACTIONS),
         "Resource": f"{application}/sessions/*"}])


def network(facts: ApplicationFacts) -> Outcome:
    """Where the application's Spark reaches S3 from. Without a networkConfiguration it runs
    outside your VPCs: it reaches S3 and the region's AWS services, not your VPC's endpoints
    or resources (AWS's "Configuring VPC access"). Whether a bucket admits only a VPC endpoint
    is in its policy, which the doctor does not read; where this notebook itself reads S3
    through an interface VPC endpoint, such buckets are likely, so it warns."""
    configuration = facts.application.get("networkConfiguration") or {}
    subnets = configuration.get("subnetIds") or []
    if subnets:
        groups = ", ".join(configuration.get("securityGroupIds") or []) or "none"
        return Outcome("pass", f"Spark runs in your VPC (subnets {', '.join(subnets)}; security "
                       f"groups {groups}): it reaches S3 through that VPC's S3 gateway endpoint "
                       "or NAT gateway, one of which a private subnet needs.")
    endpoint = facts.s3_vpc_endpoint()
    if endpoint is None:
        return Outcome("pass", "The application has no VPC (networkConfiguration): Spark reaches "
                       "S3 and the region's AWS services from outside your VPCs, and nothing "
                       "inside them. A bucket whose policy admits only a VPC endpoint "
                       "(aws:SourceVpce) refuses it.")
    return Outcome("warn", "The application has no VPC (networkConfiguration), while this "
                   f"notebook reads S3 through the VPC endpoint {endpoint}: Spark there reaches "
                   "S3 from outside your VPC, so a bucket whose policy admits only your VPC "
                   "endpoint (aws:SourceVpce) or VPC (aws:SourceVpc) refuses it, and your VPC's "
                   "own resources (a Hive metastore, databases) are out of its reach.",
                   f"While the application is stopped: aws emr-serverless update-application "
                   f"--application-id {facts.application_id} --network-configuration "
                   "'{\"subnetIds\": [\"subnet-...\"], \"securityGroupIds\": [\"sg-...\"]}' "
                   "(private subnets of the notebook's VPC, whose S3 traffic goes through the "
                   "VPC endpoint your buckets' policies name).")

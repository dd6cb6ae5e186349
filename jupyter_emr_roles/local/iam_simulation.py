"""IAM's SimulatePrincipalPolicy, which moto does not have.

The doctor asks IAM what a principal's identity policies allow (may the caller
StartSession as a role, may the cluster's instance profile role assume it) the
way an admin would in IAM's policy simulator: per action, on given resources,
with context keys. Here the principal's inline and attached policies (a user's
groups' too) are judged by moto's policy evaluator: ``explicitDeny`` where a
statement denies, ``allowed`` where one allows, else ``implicitDeny``. Like IAM's
simulator it reads identity policies only (no trust or resource policy, SCP or
permissions boundary).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends

from .callers import AwsError

ACTION = "SimulatePrincipalPolicy"
_PRINCIPAL = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):(user|role)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)")
_DECISIONS = {PermissionResult.DENIED: "explicitDeny", PermissionResult.PERMITTED: "allowed"}


def is_iam(environ: dict[str, Any]) -> bool:
    """A request signed for IAM."""
    return "/iam/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")


def is_simulation(body: bytes) -> bool:
    """An IAM query-protocol body asking for SimulatePrincipalPolicy."""
    return _form(body).get("Action") == [ACTION]


def principal_of(body: bytes) -> str:
    """The PolicySourceArn the simulation is about (IAM authorizes the call on it)."""
    return _form(body).get("PolicySourceArn", [""])[0]


def simulate(body: bytes) -> bytes:
    """The simulation's answer, as IAM's XML."""
    form = _form(body)
    policies = _policies(principal_of(body))
    actions = _members(form, "ActionNames")
    resources = _members(form, "ResourceArns") or ["*"]
    context = _context(form)
    members = "".join(
        f"<member><EvalActionName>{html.escape(action)}</EvalActionName><EvalResourceName>"
        f"{html.escape(resource)}</EvalResourceName><EvalDecision>"
        f"{_decision(policies, action, resource, context)}</EvalDecision>"
        "<MatchedStatements/><MissingContextValues/></member>"
        for action in actions for resource in resources)
    return (f'<{ACTION}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            f"<{ACTION}Result><IsTruncated>false</IsTruncated><EvaluationResults>{members}"
            f"</EvaluationResults></{ACTION}Result><ResponseMetadata><RequestId>"
            f"00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>"
            f"</{ACTION}Response>").encode()


def iam_error(error: AwsError) -> bytes:
    """IAM's query-protocol error body."""
    return ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
            f"<Type>Sender</Type><Code>{html.escape(error.code)}</Code>"
            f"<Message>{html.escape(error.message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            ).encode()


def _policies(arn: str) -> list[Any]:
    """The identity policies of a user or role, by its ARN."""
    match = _PRINCIPAL.fullmatch(arn)
    if match is None:
        raise AwsError("InvalidInput", f"Invalid ARN: {arn}")
    backend = iam_backends[match.group(1)]["aws"]
    try:
        if match.group(2) == "role":
            holders = [backend.get_role_by_arn(arn)]
        else:
            holders = [backend.get_user(match.group(3)),
                       *backend.get_groups_for_user(match.group(3))]
    except Exception:  # moto's IAMNotFoundException
        raise AwsError("NoSuchEntity", f"The principal {arn} cannot be found.", 404) from None
    return [IAMPolicy(policy) for holder in holders
            for policy in (*holder.policies.values(), *holder.managed_policies.values())]


def _decision(policies: list[Any], action: str, resource: str, context: dict[str, str]) -> str:
    results = {policy.is_action_permitted(action, resource, incoming_condition_values=context)
               for policy in policies}
    for result in (PermissionResult.DENIED, PermissionResult.PERMITTED):
        if result in results:
            return _DECISIONS[result]
    return "implicitDeny"


def _form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode("utf-8", "replace"))


def _members(form: dict[str, list[str]], name: str) -> list[str]:
    found = sorted((int(key.rsplit(".", 1)[1]), values[0]) for key, values in form.items()
                   if re.fullmatch(rf"{name}\.member\.\d+", key))
    return [value for _, value in found]


def _context(form: dict[str, list[str]]) -> dict[str, str]:
    """ContextEntries: each key's first value (the doctor passes one per key)."""
    context = {}
    for index in range(1, 21):
        name = form.get(f"ContextEntries.member.{index}.ContextKeyName")
        values = form.get(f"ContextEntries.member.{index}.ContextKeyValues.member.1")
        if name is None:
            break
        context[name[0]] = values[0] if values else ""
    return context

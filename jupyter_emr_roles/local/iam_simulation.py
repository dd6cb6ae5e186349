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

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends

from .callers import AwsError
from .operations import Call, Operation, QueryService, rows

ACTION = "SimulatePrincipalPolicy"
_PRINCIPAL = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):(user|role)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)")
_DECISIONS = {PermissionResult.DENIED: "explicitDeny", PermissionResult.PERMITTED: "allowed"}


def principal_of(call: Call) -> str:
    """The PolicySourceArn the simulation is about (IAM authorizes the call on it)."""
    return call.params.get("PolicySourceArn", "")


def simulate(service: Any, call: Call) -> bytes:
    """The simulation's answer, as IAM's XML."""
    form = call.params
    policies = _policies(principal_of(call))
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


def _members(form: dict[str, str], name: str) -> list[str]:
    found = sorted((int(key.rsplit(".", 1)[1]), value) for key, value in form.items()
                   if re.fullmatch(rf"{name}\.member\.\d+", key))
    return [value for _, value in found]


def _context(form: dict[str, str]) -> dict[str, str]:
    """ContextEntries: each key's first value (the doctor passes one per key)."""
    context = {}
    for index in range(1, 21):
        name = form.get(f"ContextEntries.member.{index}.ContextKeyName")
        if name is None:
            break
        context[name] = form.get(f"ContextEntries.member.{index}.ContextKeyValues.member.1", "")
    return context


class Iam(QueryService):
    """IAM's SimulatePrincipalPolicy, authorized on the principal it simulates; every other
    IAM call is moto's."""

    name = "iam"
    error_body = staticmethod(iam_error)
    operations = rows(Operation(ACTION, simulate, principal_of))

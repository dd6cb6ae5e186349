"""Reading a runtime role's trust policy the way STS reads it, for the few questions the
doctor asks: does it let the cluster's instance profile role (or EMR Serverless, a service
principal) assume it, tag the session and set a source identity, and which ExternalId (or
source account) does it demand.

A general IAM evaluator is far more than this needs; these are Allow statements of one
principal, their actions with wildcards, and a few condition keys, read literally.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import unquote

_EQUALS = ("StringEquals", "StringLike")


@dataclass(frozen=True)
class Trust:
    """The Allow statements of a trust policy that name one principal."""

    statements: tuple[dict[str, Any], ...]
    through_account: bool  # trusted as the account's root, not by its own ARN

    def allows(self, action: str) -> bool:
        return any(_matches(statement.get("Action"), action) for statement in self.statements)

    def condition_values(self, action: str, key: str) -> set[str]:
        """The values a condition on ``key`` demands in the statements allowing ``action``."""
        values: set[str] = set()
        for statement in self.statements:
            if not _matches(statement.get("Action"), action):
                continue
            for operator in _EQUALS:
                found = (statement.get("Condition") or {}).get(operator, {}).get(key)
                values.update(_listed(found))
        return values


def trust_for_principal(document: Any, principal_arn: str) -> Trust:
    """The statements that trust ``principal_arn`` (an IAM role ARN), by its ARN or through
    its account's root, of the principal's own partition."""
    parts = principal_arn.split(":") if principal_arn.count(":") >= 5 else ["", "aws", "", "", ""]
    partition, account = parts[1], parts[4]
    own, rooted = [], []
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        principals = _listed((statement.get("Principal") or {}).get("AWS")
                             if isinstance(statement.get("Principal"), dict)
                             else statement.get("Principal"))
        if principal_arn in principals or "*" in principals:
            own.append(statement)
        elif f"arn:{partition}:iam::{account}:root" in principals or account in principals:
            rooted.append(statement)
    return Trust(tuple(own or rooted), through_account=not own and bool(rooted))


def trust_for_service(document: Any, service: str) -> Trust:
    """The statements that trust the AWS service principal ``service``
    (``emr-serverless.amazonaws.com``), which assumes a job role as a service, not as a role
    of an account."""
    found = [statement for statement in _statements(document)
             if statement.get("Effect") == "Allow" and isinstance(statement.get("Principal"), dict)
             and service in _listed(statement["Principal"].get("Service"))]
    return Trust(tuple(found), through_account=False)


def _statements(document: Any) -> list[dict[str, Any]]:
    """IAM answers a policy URL-encoded; boto3 decodes it to a dict, other clients may not."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = (document or {}).get("Statement", [])
    return [s for s in ([statements] if isinstance(statements, dict) else statements)
            if isinstance(s, dict)]


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in (value if isinstance(value, list) else [value])]


def _matches(actions: Any, action: str) -> bool:
    return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(actions))

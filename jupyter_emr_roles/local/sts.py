"""STS AssumeRole as AWS answers it, in front of moto's.

moto's STS hands out credentials for any role to anyone: it reads no trust
policy, ignores ``SourceIdentity`` and lets keys live as long as asked. AWS
refuses a caller the role's trust policy does not name (cross-account access
roles trust another account), refuses ``SourceIdentity`` unless the trust
allows ``sts:SetSourceIdentity``, and an access role's keys expire (an hour
by default). Here the same rules apply, and ``access_role_ttl`` shortens the
lifetime of every key handed out, so a client's renewal of an access role can
be tested in minutes.
"""

from __future__ import annotations

import fnmatch
import html
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from .callers import AwsError, Caller

_ROOT = re.compile(r"arn:aws:iam::(\d{12}):root")
_ASSUMED = re.compile(r"arn:aws:sts::(\d{12}):assumed-role/([^/]+)/.+")
_ACCESS_KEY = re.compile(rb"<AccessKeyId>([A-Z0-9]+)</AccessKeyId>")
_EXPIRATION = re.compile(rb"<Expiration>[^<]*</Expiration>")


def is_sts(environ: dict[str, Any]) -> bool:
    """A request signed for STS with a form body (the query protocol)."""
    return ("/sts/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")
            and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"))


def is_assume_role(body: bytes) -> bool:
    """An STS AssumeRole request: a form body with Action=AssumeRole."""
    return parse_qs(body.decode("utf-8", "replace")).get("Action") == ["AssumeRole"]


def check_assume_role(caller: Caller, body: bytes) -> None:
    """Refuse what AWS refuses: a role whose trust policy does not allow this caller, or a
    source identity the trust does not allow to be set."""
    form = form_of(body)
    role_arn = form.get("RoleArn", "")
    role = _role(role_arn)
    if role is None:
        raise _denied(caller, "sts:AssumeRole", role_arn)
    policy = json.loads(role.assume_role_policy_document)
    if not trusts(policy, caller.arn, "sts:AssumeRole"):
        raise _denied(caller, "sts:AssumeRole", role_arn)
    if "SourceIdentity" in form and not trusts(policy, caller.arn, "sts:SetSourceIdentity"):
        raise _denied(caller, "sts:SetSourceIdentity", role_arn)


def shorten(answer: bytes, ttl: float) -> bytes:
    """Make the keys of an AssumeRole answer expire ``ttl`` seconds from now, in moto's record
    and in the answer the client reads."""
    match = _ACCESS_KEY.search(answer)
    if match is None:
        return answer
    key_id = match.group(1).decode()
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=ttl)
    for backend in (account["aws"] for _, account in list(sts_backends.items())):
        assumed = backend.get_assumed_role_from_access_key(key_id)
        if assumed is not None:
            assumed.expiration = expires.replace(tzinfo=None)
    stamp = expires.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return _EXPIRATION.sub(b"<Expiration>" + stamp + b"</Expiration>", answer, count=1)


def with_source_identity(answer: bytes, source_identity: str | None) -> bytes:
    """STS's answer names the session's source identity (moto leaves it out)."""
    if not source_identity:
        return answer
    element = f"<SourceIdentity>{html.escape(source_identity)}</SourceIdentity>".encode()
    return answer.replace(b"</AssumeRoleResult>", element + b"</AssumeRoleResult>", 1)


def issued_key(answer: bytes) -> str | None:
    """The access key ID an AssumeRole answer issued."""
    match = _ACCESS_KEY.search(answer)
    return match.group(1).decode() if match else None


def form_of(body: bytes) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}


def trusts(policy: dict[str, Any], caller_arn: str, action: str) -> bool:
    """Whether a trust policy allows ``caller_arn`` the ``action`` (and no statement denies it).

    A principal matches by its exact ARN, its account (as an ID or a ``:root`` ARN), or, for
    an assumed-role session, the role's ARN."""
    allowed = False
    for statement in _listed(policy.get("Statement")):
        if not (_names_action(statement, action) and _names_principal(statement, caller_arn)):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _names_action(statement: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower())
               for pattern in _listed(statement.get("Action")))


def _names_principal(statement: dict[str, Any], caller_arn: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    names = _listed(principal.get("AWS")) if isinstance(principal, dict) else []
    account = caller_arn.split(":")[4] if caller_arn.count(":") >= 5 else ""
    assumed = _ASSUMED.fullmatch(caller_arn)
    for name in names:
        root = _ROOT.fullmatch(name)
        if name in (caller_arn, account, "*") or (root and root.group(1) == account):
            return True
        if assumed and name.startswith(f"arn:aws:iam::{assumed.group(1)}:role/") \
                and name.rsplit("/", 1)[-1] == assumed.group(2):
            return True
    return False


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _role(role_arn: str) -> Any:
    parts = role_arn.split(":")
    if len(parts) < 6:
        return None
    try:
        return iam_backends[parts[4]]["aws"].get_role_by_arn(role_arn)
    except Exception:  # moto's IAMNotFoundException
        return None


def _denied(caller: Caller, action: str, role_arn: str) -> AwsError:
    return AwsError("AccessDenied", f"User: {caller.arn} is not authorized to perform: {action} "
                    f"on resource: {role_arn}", status=403)


def sts_error(error: AwsError) -> bytes:
    """STS's query-protocol error body (XML), as botocore parses it."""
    return (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>{html.escape(error.code)}</Code>"
            f"<Message>{html.escape(error.message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            ).encode()

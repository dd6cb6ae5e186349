"""Who signed a request to the emulated control plane, in which account, and whether AWS
would still accept the key.

moto knows the keys it issued (IAM users' keys, and the temporary keys of
STS AssumeRole), and which account each belongs to; it does not refuse an
assumed role's keys once they expire. AWS does (``ExpiredTokenException``), and
a client that froze one AssumeRole answer into static keys works for an hour
and then fails every call: so the emulator refuses them too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.access_control import create_access_key
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

ANONYMOUS_CALLER = "arn:aws:iam::{account}:user/local-user"
_CREDENTIAL_RE = re.compile(r"Credential=([A-Za-z0-9]+)/")


class AwsError(Exception):
    """An error answered in AWS's JSON protocol shape."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Caller:
    """The identity behind a request: its account, ARN and identity policies, and the key it
    signed with (botocore's credentials, secret and all: never shown), by which an endpoint
    that checks the signature itself (the Serverless Livy endpoint) recomputes it."""

    account: str
    arn: str
    policies: list[Any]
    credentials: Any = field(default=None, repr=False, compare=False)


def access_key_id(environ: dict[str, Any]) -> str:
    match = _CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else ""


def caller_of(environ: dict[str, Any], enforce: bool) -> Caller:
    """The signer of the request; a key the emulator never issued is refused when IAM is
    enforced, else it acts as an anonymous user (in the account seeding names)."""
    key_id = access_key_id(environ)
    account = _account_of(key_id)
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    if token is not None:
        _refuse_expired(account, key_id)
    headers = {"X-Amz-Security-Token": token} if token is not None else {}
    try:
        key = create_access_key(account, "aws", key_id, headers)
    except Exception:  # moto's CreateAccessKeyFailure: a key the emulator never issued
        if enforce:
            raise AwsError("UnrecognizedClientException",
                           "The security token included in the request is invalid.") from None
        anonymous = environ.get("HTTP_X_MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
        return Caller(anonymous, ANONYMOUS_CALLER.format(account=anonymous), [])
    return Caller(account, key.arn, key.collect_policies(), key.create_credentials())


def _account_of(key_id: str) -> str:
    """The account that issued the key, looked up in the one partition the emulator serves:
    moto's ``get_account_id_from`` looks in all six, building each account's IAM there (AWS's
    1,600 managed policies and all) on first sight: a third of an emulator's start."""
    for account_id, account in list(iam_backends.items()):
        if key_id in account["aws"].access_keys:
            return account_id
    return DEFAULT_ACCOUNT_ID


def _refuse_expired(account: str, key_id: str) -> None:
    assumed = sts_backends[account]["aws"].get_assumed_role_from_access_key(key_id)
    if assumed is None:
        return
    expiration = assumed.expiration.replace(tzinfo=timezone.utc) \
        if assumed.expiration.tzinfo is None else assumed.expiration
    if expiration <= datetime.now(timezone.utc):
        raise AwsError("ExpiredTokenException",
                       "The security token included in the request is expired")

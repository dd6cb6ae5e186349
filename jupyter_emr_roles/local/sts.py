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
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from .callers import AwsError, Caller
from .issued import Identity
from .moto_bridge import Moto
from .operations import Call, Operation, QueryService, rows
from .protocols import Raw
from .trail import TrailEvent

_ROOT = re.compile(r"arn:aws:iam::(\d{12}):root")
_ASSUMED = re.compile(r"arn:aws:sts::(\d{12}):assumed-role/([^/]+)/.+")
_ACCESS_KEY = re.compile(rb"<AccessKeyId>([A-Z0-9]+)</AccessKeyId>")
_EXPIRATION = re.compile(rb"<Expiration>[^<]*</Expiration>")


class SourceIdentities:
    """The source identity of every key STS issued (moto forgets it): set by AssumeRole,
    inherited along a role chain and not to be changed there, as STS rules."""

    def __init__(self) -> None:
        self._identities: dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, access_key: str) -> str | None:
        with self._lock:
            return self._identities.get(access_key)

    def remember(self, access_key: str, source_identity: str | None) -> None:
        if source_identity:
            with self._lock:
                self._identities[access_key] = source_identity

    def chained(self, caller_key: str, asked: str | None) -> str | None:
        """The source identity a new session gets: the one its caller's session carries
        (which cannot be changed along a chain), else the one asked for."""
        carried = self.of(caller_key)
        if carried and asked and asked != carried:
            raise AwsError("AccessDenied", f"The source identity {carried!r} of this session "
                           f"cannot be changed to {asked!r} when assuming another role.", 403)
        return carried or asked


def check_assume_role(caller: Caller, form: dict[str, str]) -> None:
    """Refuse what AWS refuses: a role whose trust policy does not allow this caller, or a
    source identity the trust does not allow to be set."""
    role_arn = form.get("RoleArn", "")
    role = role_of(role_arn)
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


def trusts(policy: dict[str, Any], caller_arn: str, action: str) -> bool:
    """Whether a trust policy allows ``caller_arn`` the ``action`` (and no statement denies it).

    A principal matches by its exact ARN, its account (as an ID or a ``:root`` ARN), or, for
    an assumed-role session, the role's ARN; a service (``emr-serverless.amazonaws.com``) by
    its name among the statement's ``Service`` principals."""
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
    if isinstance(principal, dict) and caller_arn in _listed(principal.get("Service")):
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


def role_of(role_arn: str) -> Any:
    """moto's role of that ARN, or None where there is none."""
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


class Sts(QueryService):
    """STS: AssumeRole with AWS's trust rules in front of moto's, its keys' source identity
    kept, and every other call moto's. IAM's identity policies for sts:AssumeRole are moto's
    to check; the role's trust policy is checked here."""

    name = "sts"
    status_word = "Forbidden"
    error_body = staticmethod(sts_error)

    def __init__(self, moto: Moto, identities: SourceIdentities,
                 access_role_ttl: float | None = None) -> None:
        self.moto = moto
        self.identities = identities
        self.access_role_ttl = access_role_ttl

    def admit(self, call: Call, enforce: bool) -> None:
        """A source identity may not change along a chain; the role must trust the caller."""
        self.identities.chained(call.access_key, call.params.get("SourceIdentity"))
        if enforce:
            check_assume_role(call.caller, call.params)

    def assume_role(self, call: Call) -> Raw:
        """moto's keys, with the lifetime ``access_role_ttl`` gives them and the session's
        source identity (set here, or carried from the caller's session)."""
        assert call.environ is not None
        source_identity = self.identities.chained(call.access_key,
                                                  call.params.get("SourceIdentity"))
        answer = self.moto.answer(call.environ)
        if not answer.ok:
            return answer
        body = answer.body if self.access_role_ttl is None else \
            shorten(answer.body, self.access_role_ttl)
        body = with_source_identity(body, source_identity)
        self.identities.remember(issued_key(body) or "", source_identity)
        headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
        return Raw(answer.status, headers + [("Content-Length", str(len(body)))], body)

    operations = rows(Operation("AssumeRole", assume_role, identity_policies=False,
                                recorded=True))

    def events(self, call: Call, row: Operation, answer: Any,
               error: str | None) -> list[TrailEvent]:
        """A granted AssumeRole, in the trail of the role's account and of the caller's."""
        if error is not None or not answer.ok:
            return []
        role_arn, form = call.params.get("RoleArn", ""), call.params
        request = {"roleArn": role_arn, "roleSessionName": form.get("RoleSessionName")}
        if "SourceIdentity" in form:
            request["sourceIdentity"] = form["SourceIdentity"]
        issued = issued_key(answer.body)
        response = {"assumedRoleUser": {"arn": f"arn:aws:sts::{role_arn.split(':')[4]}:assumed-"
                                                f"role/{role_arn.rsplit('/', 1)[-1]}/"
                                                f"{form.get('RoleSessionName')}"},
                    "credentials": {"accessKeyId": issued},
                    "sourceIdentity": self.identities.of(issued or "")}
        return [TrailEvent("AssumeRole", "sts.amazonaws.com", account, call.caller,
                           call.access_key, self.identities.of(call.access_key), request,
                           response, resources=(("AWS::IAM::Role", role_arn),))
                for account in {role_arn.split(":")[4], call.caller.account}]

    def runtime_role_assumed(self, identity: Identity, session_name: str,
                             issued: str) -> TrailEvent:
        """EMR's own AssumeRole of a runtime role for a session, made as the cluster's
        instance profile role, with the caller's source identity where it propagates."""
        account = identity.role_arn.split(":")[4]
        self.identities.remember(issued, identity.source_identity)
        profile = Caller(account, f"arn:aws:sts::{account}:assumed-role/emr-instance-profile/"
                         f"{identity.cluster_id}", [])
        request = {"roleArn": identity.role_arn, "roleSessionName": session_name}
        if identity.source_identity:
            request["sourceIdentity"] = identity.source_identity
        return TrailEvent(
            "AssumeRole", "sts.amazonaws.com", account, profile, "", None, request,
            {"credentials": {"accessKeyId": issued},
             "sourceIdentity": identity.source_identity},
            resources=(("AWS::IAM::Role", identity.role_arn),))

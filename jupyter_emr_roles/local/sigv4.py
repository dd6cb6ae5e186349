"""A request's SigV4 signature checked as an AWS endpoint that is not behind the control
plane checks it (EMR Serverless's Livy endpoint): its words are API Gateway's for IAM
authorization (AWS's knowledge-center page "troubleshoot signature mismatch errors ... IAM
authentication to API Gateway").

The signer must be a key the emulator issued (an IAM user's, or an STS session's that has not
expired: ``callers.caller_of``), the credential scope must name the endpoint's region and
service, the time of signing must be within five minutes of now, and the signature must be
the one botocore's own signer computes over the request as it came: its method, path, query,
the headers it says it signed, and its body (or the ``x-amz-content-sha256`` it signed, which
must then be the body's, unless it is ``UNSIGNED-PAYLOAD`` as AWS's own sample client sends).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest

from .callers import AwsError, Caller, caller_of

SKEW = timedelta(minutes=5)
_STAMP = "%Y%m%dT%H%M%SZ"
_AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*"
                            r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]+)")
_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
             "Check your AWS Secret Access Key and signing method. Consult the service "
             "documentation for details.")


@dataclass(frozen=True)
class SignedRequest:
    """A request as it came over the wire: ``headers`` maps each lower-case name to its
    values, ``url`` is the scheme, host and the path and query exactly as sent."""

    method: str
    url: str
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return ",".join(values) if values else None


def _refused(code: str, message: str) -> AwsError:
    return AwsError(code, message, 403)


def verify(request: SignedRequest, region: str, service: str) -> Caller:
    """The signer of ``request``; AwsError (403, API Gateway's code and words) for a request
    that is unsigned, signed by a key never issued or expired, for another region or service,
    too far from now, or whose signature is not the one its key makes."""
    found = _AUTHORIZATION.fullmatch((request.header("authorization") or "").strip())
    if found is None:
        if request.header("authorization") is None:
            raise _refused("MissingAuthenticationTokenException", "Missing Authentication Token")
        raise _refused("IncompleteSignatureException", "Authorization header requires "
                       "'Credential', 'SignedHeaders' and 'Signature' parameters.")
    key_id, day, scope_region, scope_service = (found["credential"].split("/") + [""] * 4)[:4]
    if scope_service != service:
        raise _refused("InvalidSignatureException",
                       f"Credential should be scoped to correct service: '{service}'.")
    if scope_region != region:
        raise _refused("InvalidSignatureException", f"Credential should be scoped to a valid "
                       f"region, not '{scope_region}'. ")
    stamp = _signed_at(request)
    caller = _signer(request, found["credential"])
    expected = _signature(request, caller, found["signed"].split(";"), stamp, (region, service))
    if stamp[:8] != day or not hmac.compare_digest(expected, found["signature"]):
        raise _refused("InvalidSignatureException", _MISMATCH)
    return caller


def _signed_at(request: SignedRequest) -> str:
    """X-Amz-Date, when it is within five minutes of now."""
    stamp = request.header("x-amz-date") or ""
    try:
        signed = datetime.strptime(stamp, _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        raise _refused("IncompleteSignatureException", "Authorization header requires "
                       "existence of either a 'X-Amz-Date' or a 'Date' header.") from None
    now = datetime.now(timezone.utc)
    if signed < now - SKEW:
        raise _refused("InvalidSignatureException", f"Signature expired: {stamp} is now "
                       f"earlier than {(now - SKEW).strftime(_STAMP)} ({now.strftime(_STAMP)} "
                       "- 5 min.)")
    if signed > now + SKEW:
        raise _refused("InvalidSignatureException", f"Signature not yet current: {stamp} is "
                       f"still later than {(now + SKEW).strftime(_STAMP)} "
                       f"({now.strftime(_STAMP)} + 5 min.)")
    return stamp


def _signer(request: SignedRequest, credential: str) -> Caller:
    """The key's owner, as the control plane finds it (a key never issued, or an STS key
    past its expiry or with another session token, is refused)."""
    environ = {"HTTP_AUTHORIZATION": f"Credential={credential}"}
    token = request.header("x-amz-security-token")
    if token is not None:
        environ["HTTP_X_AMZ_SECURITY_TOKEN"] = token
    try:
        return caller_of(environ, enforce=True)
    except AwsError as error:
        raise _refused(error.code, error.message) from None


def _signature(request: SignedRequest, caller: Caller, signed: list[str], stamp: str,
               scope: tuple[str, str]) -> str:
    """The signature the caller's key makes over the request, by botocore's signer."""
    content_hash = request.header("x-amz-content-sha256")
    if content_hash not in (None, UNSIGNED_PAYLOAD) and \
            content_hash != hashlib.sha256(request.body).hexdigest():
        raise _refused("InvalidSignatureException", _MISMATCH)
    headers: dict[str, Any] = {name: request.header(name) for name in signed
                               if request.header(name) is not None}
    aws_request = AWSRequest(method=request.method, url=request.url, headers=headers,
                             data=request.body)
    aws_request.context["timestamp"] = stamp
    auth = SigV4Auth(caller.credentials, scope[1], scope[0])
    canonical = auth.canonical_request(aws_request)
    return str(auth.signature(auth.string_to_sign(aws_request, canonical), aws_request))

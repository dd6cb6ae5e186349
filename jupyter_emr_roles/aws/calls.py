"""Every way an AWS call fails, as one paragraph that says what to do.

botocore raises a ClientError for what AWS answered and a family of
BotoCoreError classes for everything before an answer (credentials, region,
TLS, network, timeouts, an answer it cannot read). A user meets all of them
through the notebook, the CLI and the REST API, so each becomes an
:class:`~jupyter_emr_roles.errors.AwsCallError` with a code the front ends can
sort by and a message that names the call, the cause and the fix. No message
holds a credential: botocore's messages name endpoints and profiles, never keys.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import botocore.exceptions as boto
from botocore.parsers import ResponseParserError

from ..errors import AwsCallError

T = TypeVar("T")
log = logging.getLogger(__name__)

ATTEMPTS = 5
_BAD_CREDENTIALS = ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
                    "ExpiredTokenException", "InvalidSignatureException",
                    "SignatureDoesNotMatch")
_THROTTLED = ("Throttling", "ThrottlingException", "TooManyRequestsException",
              "RequestLimitExceeded", "SlowDown")
_LIVY_CA_HINT = ("AWS_CA_BUNDLE is botocore's whole trust store when it is set: it must name "
                 "the CA that signs the AWS endpoint (a TLS-inspecting proxy's, say), never "
                 "the cluster's Livy CA, which belongs in JUPYTER_EMR_ROLES_CA_BUNDLE or "
                 "--ca-bundle.")


# Where a retry botocore is about to make is told (a connect's progress line); unset, the log.
_RETRY_NOTICES: ContextVar[Callable[[str], None] | None] = ContextVar("retry_notices",
                                                                     default=None)


@contextlib.contextmanager
def retry_notices(show: Callable[[str], None]) -> Iterator[None]:
    """Within the block, this thread's AWS retries are shown with ``show``: a wait of seconds
    on a throttled account should not look like a hung cell."""
    token = _RETRY_NOTICES.set(show)
    try:
        yield
    finally:
        _RETRY_NOTICES.reset(token)


def observe_retries(client: Any) -> Any:
    """``client`` with its retries announced (botocore's standard mode makes them silently)."""
    total = (client.meta.config.retries or {}).get("total_max_attempts", ATTEMPTS)
    client.meta.events.register("needs-retry", functools.partial(_announce_retry, total))
    return client


def _announce_retry(total: int, response: Any = None, attempts: int | None = None,
                    operation: Any = None, caught_exception: Exception | None = None,
                    **kwargs: Any) -> None:
    """Say why a call is tried again; decides nothing (botocore's own handler does)."""
    if attempts is None or attempts >= total:
        return None
    error = (response[1] or {}).get("Error", {}) if response else {}
    status = response[0].status_code if response else None
    name = getattr(operation, "name", "the call")
    if error.get("Code") in _THROTTLED:
        text = f"AWS is throttling this account ({error['Code']} on {name}); retrying"
    elif caught_exception is not None or (status or 0) >= 500:
        text = f"AWS did not answer {name} ({caught_exception or f'HTTP {status}'}); retrying"
    else:
        return None
    text += f", attempt {attempts + 1} of {total}"
    show = _RETRY_NOTICES.get()
    if show is None:
        log.warning("%s", text)
    else:
        show(text)
    return None


def aws_call(what: str, call: Callable[[], T], denied_fix: str = "") -> T:
    """Run one AWS call (or a client's creation); every failure becomes an AwsCallError."""
    try:
        return call()
    except boto.ClientError as exc:
        raise _answered(what, exc, denied_fix) from None
    except boto.BotoCoreError as exc:
        raise _not_answered(what, exc) from None
    except ResponseParserError as exc:
        raise AwsCallError(_unreadable(what, exc), "BadAnswer") from None


def answer_field(answer: Any, what: str, *path: str) -> Any:
    """``answer[path[0]][path[1]]...``, or a BadAnswer paragraph when AWS's answer lacks it
    (botocore does not check an answer against its model)."""
    value = answer
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise AwsCallError(_unreadable(what, f"no {'.'.join(path)} in the answer"),
                               "BadAnswer")
        value = value[key]
    return value


def _answered(what: str, exc: boto.ClientError, denied_fix: str) -> AwsCallError:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Error"), error.get("Message", str(exc))
    if "AccessDenied" in code or code in ("UnauthorizedOperation", "AuthorizationError"):
        return AwsCallError(f"AWS denied {what}: {message} "
                            f"{denied_fix or 'Ask your admin for the permission.'}",
                            "AccessDenied")
    if code in _BAD_CREDENTIALS:
        return AwsCallError(f"AWS did not accept your credentials when {what} ({code}: "
                            f"{message}). Refresh them (e.g. `aws sso login`, or new keys) and "
                            "try again.", "BadCredentials")
    if code in _THROTTLED:
        return AwsCallError(f"AWS throttled {what} ({code}) and kept doing so after "
                            f"{ATTEMPTS} attempts with backoff. Wait a minute and try again; if "
                            "it persists, other jobs of this account are using up the API rate, "
                            "or ask your admin to raise the quota.", "Throttled")
    not_found = code in ("ResourceNotFoundException", "NoSuchEntity", "NoSuchKey",
                         "AccessGrantsInstanceNotExistsError") or (
        code == "InvalidRequestException" and "is not valid" in message)
    return AwsCallError(f"AWS refused {what}: {message} ({code}).",
                        "NotFound" if not_found else "Refused")


def _not_answered(what: str, exc: boto.BotoCoreError) -> AwsCallError:
    for kinds, code, template in _CAUSES:
        if isinstance(exc, kinds):
            return AwsCallError(template.format(what=what, exc=exc, attempts=ATTEMPTS,
                                                livy_ca=_LIVY_CA_HINT), code)
    return AwsCallError(f"The AWS call for {what} failed before AWS answered: {exc}.",
                        "Unreachable")


def _unreadable(what: str, exc: object) -> str:
    return _UNREADABLE.format(what=what, exc=exc)


_UNREADABLE = ("The answer to {what} was not in a shape botocore knows ({exc}). Something other "
               "than AWS answered: check AWS_ENDPOINT_URL and any proxy between you and AWS, and "
               "that boto3 is up to date (pip install -U boto3).")
# Each failure before an answer: botocore's exception classes, our code, and the paragraph.
_CAUSES: tuple[tuple[type | tuple[type, ...], str, str], ...] = (
    ((boto.SSOError, boto.TokenRetrievalError, boto.LoginError), "SsoExpired",
     "Your AWS SSO sign-in has expired or is missing, so {what} could not be signed ({exc}). "
     "Sign in again with `aws sso login` (with --profile if you use one), then run this again."),
    (boto.NoCredentialsError, "NoCredentials",
     "No AWS credentials were found for {what}. Configure them (aws configure, AWS_PROFILE or "
     "--profile), or start the local emulator: eval \"$(jupyter-emr-roles local up --detach)\"."),
    ((boto.PartialCredentialsError, boto.CredentialRetrievalError,
      boto.RefreshWithMFAUnsupportedError), "BadCredentials",
     "Your AWS credentials could not be loaded for {what} ({exc}). Check the profile in your AWS "
     "config files (`aws configure list`), or sign in again."),
    (boto.NoRegionError, "NoRegion",
     "No AWS region is set for {what}; pass --region or set AWS_DEFAULT_REGION (or region in "
     "your AWS profile)."),
    (boto.SSLError, "Tls",
     "The TLS certificate of the AWS endpoint could not be verified for {what} ({exc}). "
     "{livy_ca}"),
    ((boto.ReadTimeoutError, boto.ConnectTimeoutError), "Timeout",
     "AWS did not answer in time for {what} ({exc}), after {attempts} attempts. Check the "
     "network path to the endpoint (a proxy or firewall that holds connections), then try "
     "again, with a longer --timeout if you gave one."),
    ((boto.EndpointConnectionError, boto.ConnectionError, boto.ConnectionClosedError),
     "Unreachable",
     "AWS could not be reached for {what}: {exc}. Check the network and proxy, the region, and "
     "AWS_ENDPOINT_URL if you set one."),
    ((boto.ProfileNotFound, boto.ConfigNotFound, boto.ConfigParseError, boto.InvalidConfigError,
      boto.InvalidRegionError, boto.UnknownEndpointError, boto.ServiceNotInRegionError),
     "Configuration",
     "Your AWS configuration cannot be used for {what}: {exc}. Fix it in your AWS config files "
     "or environment (`aws configure list` shows what is used)."),
)

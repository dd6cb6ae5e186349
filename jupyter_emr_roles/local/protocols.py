"""AWS's wire protocols, as far as the emulated services speak them: reading a request
(its body, the region it was signed for, a query form) and writing an answer or an error in
JSON 1.1 (EMR, CloudTrail, SageMaker) or XML (STS, IAM, S3 Control)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .callers import AwsError

WsgiStartResponse = Callable[..., Any]
_SIGNED_REGION = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/")


@dataclass(frozen=True)
class Raw:
    """An answer as it goes on the wire (moto's, or one a backend wrote itself)."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status.startswith("200")

    def send(self, start_response: WsgiStartResponse) -> list[bytes]:
        start_response(self.status, self.headers)
        return [self.body]


def body_of(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for moto to read again."""
    body: bytes = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def signed_for(environ: dict[str, Any], service: str) -> bool:
    """Whether the request is signed for ``service`` (its SigV4 credential scope)."""
    return f"/{service}/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")


def signed_region(environ: dict[str, Any]) -> str:
    """The region of the request's SigV4 credential scope."""
    region = _SIGNED_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    return region.group(1) if region else "us-east-1"


def form_of(body: bytes) -> dict[str, str]:
    """A query-protocol body's fields, each with its first value."""
    return {name: values[0] for name, values in parse_qs(body.decode("utf-8", "replace")).items()}


def json_answer(document: dict[str, Any]) -> Raw:
    body = json.dumps(document, default=str).encode()
    return Raw("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                          ("Content-Length", str(len(body)))], body)


def json_error(error: AwsError) -> Raw:
    body = json.dumps({"__type": error.code, "Message": error.message}).encode()
    return Raw(f"{error.status} Bad Request", [
        ("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", error.code),
        ("Content-Length", str(len(body)))], body)


def json_error_code(answer: Raw) -> str:
    """The error code of a JSON error answer (moto's among them)."""
    try:
        return str(json.loads(answer.body).get("__type", "Error"))
    except (ValueError, AttributeError):
        return "Error"


def xml(content_type: str, body: bytes, status: str = "200 OK") -> Raw:
    return Raw(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))], body)


def xml_error(content_type: str, error: AwsError, error_body: Callable[[AwsError], bytes],
              status_word: str = "Error") -> Raw:
    """An XML service's error; a denial is said as IAM and S3 say it (``AccessDenied``, 403),
    not in EMR's words."""
    if error.code == "AccessDeniedException":
        error = AwsError("AccessDenied", error.message, 403)
    return xml(content_type, error_body(error), f"{error.status} {status_word}")

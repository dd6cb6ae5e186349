"""SigV4 on every request to an EMR Serverless Livy endpoint, with the caller's own keys.

A Serverless Livy endpoint takes no Livy login: each request is signed for the service
``emr-serverless`` by the caller, whose keys (an SSO role, an assumed access role) renew
themselves through botocore. So the keys are asked for per request (botocore refreshes them
ahead of their expiry) and never kept, and the signature covers the method, the URL, the
content type and the body: a request changed on the way is refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from ...errors import LivyError

log = logging.getLogger(__name__)

SERVICE = "emr-serverless"
_SIGNED_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class SignedRequests:
    """The signer of one session's requests (see ``sparkmagic_bridge.Signer``); thread-safe, as
    botocore's credentials are."""

    def __init__(self, session: boto3.Session, region: str, application_id: str) -> None:
        credentials = session.get_credentials()
        if credentials is None:
            raise LivyError("No AWS credentials were found to sign requests to the EMR "
                            "Serverless Livy endpoint; configure them as for the AWS CLI.")
        self._credentials = credentials
        self._region = region
        self._application_id = application_id
        self._last_key: str | None = None
        self.on_renewed: Callable[[], None] = lambda: None

    @property
    def expires_at(self) -> datetime | None:
        """When the caller's keys run out; None for keys that do not (an IAM user's)."""
        expiry = getattr(self._credentials, "_expiry_time", None)
        return expiry if isinstance(expiry, datetime) else None

    def for_request(self) -> ReadOnlyCredentials:
        keys = self._credentials.get_frozen_credentials()
        if self._last_key is not None and keys.access_key != self._last_key:
            log.info("the keys signing Serverless Livy requests were renewed")
            self.on_renewed()
        self._last_key = keys.access_key
        return keys

    def sign(self, request: Any, login: ReadOnlyCredentials) -> None:
        """SigV4 over the request as it will be sent (a requests PreparedRequest)."""
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() == "content-type"}
        signed = AWSRequest(method=request.method, url=request.url, data=request.body or b"",
                            headers=headers)
        SigV4Auth(login, SERVICE, self._region).add_auth(signed)
        for name in _SIGNED_HEADERS:
            if name in signed.headers:
                request.headers[name] = signed.headers[name]

    def after_response(self, login: ReadOnlyCredentials, status: int) -> None:
        """A signed request is sent once: botocore renews the keys before they expire."""
        return None

    def refusal(self, url: str, status: int, text: str) -> str:
        return (f"The EMR Serverless Livy endpoint {url} refused your signed request (HTTP "
                f"{status}: {_aws_message(text)}). Your AWS identity needs "
                "emr-serverless:AccessLivyEndpoints on the application and iam:PassRole on the "
                "role; `jupyter-emr-roles doctor --application-id "
                f"{self._application_id}` checks both.")

    def __repr__(self) -> str:
        return f"SignedRequests(region={self._region!r}, expires_at={self.expires_at})"


def _aws_message(text: str, limit: int = 600) -> str:
    """AWS's own sentence from a refusal's body (``{"Message": ...}``), whole up to ``limit``:
    it names the identity, the action and the resource, and a cut ARN would mislead."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        text = str(body.get("Message") or body.get("message") or text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rstrip() + "…"

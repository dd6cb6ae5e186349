"""What the doctor's checks of an EMR Serverless application read: the application as
GetApplication gave it (found once, by ``application_target.find_application``), and the
account's answers every report shares (``facts.AccountFacts``: the role, the caller, IAM's
simulator).

An application is not a cluster: it has no security configuration, instance profile or
primary node, so its facts are its own rather than a cluster's with fields left empty.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..application_target import ApplicationTarget
from ..connect_request import ConnectRequest
from .facts import AccountFacts

# The host of an S3 interface VPC endpoint (AWS PrivateLink), as its endpoint-specific DNS names
# read: [bucket.|accesspoint.|control.]vpce-ID[-SUFFIX].s3.REGION.vpce.amazonaws.com
_S3_INTERFACE_ENDPOINT = re.compile(
    r"(?:^|\.)vpce-[0-9a-z]+(?:-[0-9a-z]+)?\.s3\.[a-z0-9-]+\.vpce\.amazonaws\.com(?:\.cn)?$")


class ApplicationFacts(AccountFacts):
    """The application, role and account facts of one report; thread-safe."""

    def __init__(self, target: ApplicationTarget, request: ConnectRequest) -> None:
        super().__init__(target.session, target.account, target.role, request)
        self.target = target
        self.application: dict[str, Any] = target.application

    @property
    def application_id(self) -> str:
        return str(self.application.get("applicationId", self.request.where))

    @property
    def partition(self) -> str:
        return self.partition_of(self.application_arn())

    def application_arn(self) -> str:
        return str(self.application.get("arn") or (
            f"arn:aws:emr-serverless:{self.target.serverless.region}:{self.account}:"
            f"/applications/{self.application.get('applicationId', '')}"))

    def s3_vpc_endpoint(self) -> str | None:
        """The S3 interface VPC endpoint this notebook sends its own S3 requests to (boto3's
        endpoint for S3: ``AWS_ENDPOINT_URL_S3``, the profile's ``endpoint_url``), or None
        when it uses another endpoint. A gateway endpoint, or an interface endpoint with
        private DNS, leaves no trace here: S3's usual name resolves to it inside the VPC."""
        host = urlsplit(self._client("s3").meta.endpoint_url or "").hostname or ""
        return host if _S3_INTERFACE_ENDPOINT.search(host) else None

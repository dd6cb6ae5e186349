"""The Serverless Livy engine: a Livy session on an EMR Serverless application's Livy endpoint.

The application is started first where it is stopped (as AWS's notebook client does: the
endpoint opens no session on a stopped application), then sparkmagic runs the session as for
a cluster, with two differences: every request is SigV4-signed by the caller
(``signed.py``) instead of carrying a Livy login, and the job role is the session's Spark
conf ``emr-serverless.session.executionRoleArn``, which EMR Serverless checks the caller may
pass. The endpoint is an AWS endpoint, so botocore's trust (AWS_CA_BUNDLE, else its CAs)
verifies it, not a cluster's Livy CA.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from botocore.httpsession import get_cert_path

from ..base import StartPlan
from ...aws.serverless import wait_started
from .signed import SignedRequests
from .sparkmagic_bridge import LivyHandle, LivyTarget, start_session

if TYPE_CHECKING:
    import boto3

    from ...aws.clients import Emr
    from ...identifiers import ClusterId, RoleArn

# Where an application's Livy endpoint is: AWS's name for it, or another (an emulator, a
# private endpoint) given as the same template in this variable.
URL_ENV = "JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL"
AWS_URL = "https://{application_id}.livy.emr-serverless-services.{region}.amazonaws.com"
ROLE_CONF = "emr-serverless.session.executionRoleArn"


class ServerlessLivyEngine:
    """Livy sessions on an EMR Serverless application's Livy endpoint, as the job role."""

    def early(self, emr: Emr, cluster_id: ClusterId, role: RoleArn) -> Future[Any] | None:
        return None

    def start(self, plan: StartPlan) -> LivyHandle:
        assert plan.serverless is not None
        request, serverless = plan.request, plan.serverless
        application_id = str(request.application_id)
        wait_started(serverless, plan.cluster, plan.deadline, plan.progress)
        plan.make_room()
        url = livy_url(request.livy_url, application_id, serverless.region)
        target = LivyTarget(url, aws_trust(serverless.session), request.language,
                            with_role(request.config, plan.role), plan.deadline,
                            request.timeout)
        signer = SignedRequests(serverless.session, serverless.region, application_id)
        return start_session(plan.shell, plan.name, target, signer, plan.progress)


def livy_url(given: str | None, application_id: str, region: str) -> str:
    """The endpoint: ``--livy-url`` as given, else the template (URL_ENV, else AWS's)."""
    if given:
        return given.rstrip("/")
    template = os.environ.get(URL_ENV) or AWS_URL
    return template.format(application_id=application_id, region=region).rstrip("/")


def aws_trust(session: boto3.Session) -> str:
    """The CA bundle botocore trusts for this session (AWS_CA_BUNDLE or the profile's
    ca_bundle, else botocore's own), always as a path: requests would let REQUESTS_CA_BUNDLE
    replace ``verify=True``."""
    configured = session._session.get_config_variable("ca_bundle")
    return str(configured or get_cert_path(True))


def with_role(config: dict[str, Any], role: RoleArn) -> dict[str, Any]:
    """The cell's session settings with the job role in its Spark conf (the role given wins
    over one the cell names)."""
    conf = {**config.get("conf", {}), ROLE_CONF: str(role)}
    return {**config, "conf": conf}

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

import logging
import os
import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from botocore.httpsession import get_cert_path

from ..base import LeftSession, StartPlan, aws_session_of
from ...aws.serverless import wait_started
from ...errors import EmrRolesError
from ...identifiers import show
from .signed import SignedRequests
from .sparkmagic_bridge import Fixes, LivyHandle, LivyTarget, Posted, delete_left, start_session

if TYPE_CHECKING:
    import boto3

    from ...aws.clients import Emr
    from ...connect_request import ConnectRequest
    from ...identifiers import RoleArn

log = logging.getLogger(__name__)

# Where an application's Livy endpoint is: AWS's name for it, or another (an emulator, a
# private endpoint) given as the same template in this variable.
URL_ENV = "JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL"
AWS_URL = "https://{application_id}.livy.emr-serverless-services.{region}.amazonaws.com"
ROLE_CONF = "emr-serverless.session.executionRoleArn"
# An application's endpoint is AWS's, reached and trusted as AWS is.
FIXES = Fixes(
    tls="The endpoint is an AWS endpoint, verified with botocore's trust: where a TLS-inspecting "
        "proxy stands between this notebook and AWS, AWS_CA_BUNDLE (or the profile's ca_bundle) "
        "must name its CA.",
    network=f"Check this notebook's route to AWS (a proxy; a VPC without internet access needs "
            f"an EMR Serverless endpoint in it) and {URL_ENV} if it is set.")


class ServerlessLivyEngine:
    """Livy sessions on an EMR Serverless application's Livy endpoint, as the job role."""

    def early(self, emr: Emr, request: ConnectRequest, role: RoleArn) -> Future[Posted]:
        """The session's POST, sent while GetApplication runs, where the connect before found
        this application STARTED with the same engine and role: the endpoint itself refuses
        it where the application cannot take it now, so nothing starts that AWS would not
        start, and a POST the connect does not use is deleted again (``Posted.discard``)."""
        future: Future[Posted] = Future()

        def post() -> None:
            try:
                target = _target(request, emr.session, role, time.monotonic() + request.timeout)
                name = str(request.name or role.name)  # the connect's default name
                future.set_result(Posted(target, _signer(request, emr.session), name))
            except BaseException as exc:  # the connect posts again, with its own message
                future.set_exception(exc)

        threading.Thread(target=post, name="emr-roles-early-post", daemon=True).start()
        return future

    def close_left(self, left: LeftSession) -> bool:
        """A signed DELETE on the application's Livy endpoint, as the caller that opened it."""
        session = aws_session_of(left)
        return delete_left(left.whereabouts, left.session_id,
                           SignedRequests(session, session.region_name, left.place))

    def start(self, plan: StartPlan) -> LivyHandle:
        assert plan.serverless is not None
        request, session = plan.request, plan.serverless.session
        wait_started(plan.serverless, plan.cluster, plan.deadline, plan.progress)
        plan.make_room()
        target = _target(request, session, plan.role, plan.deadline)
        return start_session(plan.shell, plan.name, target, _signer(request, session),
                             plan.progress, _posted(plan.early))


def _target(request: ConnectRequest, session: boto3.Session, role: RoleArn,
            deadline: float) -> LivyTarget:
    url = livy_url(request.livy_url, str(request.application_id), session.region_name)
    return LivyTarget(url, aws_trust(session), request.language,
                      with_role(request.config, role), deadline, request.timeout, fixes=FIXES)


def _signer(request: ConnectRequest, session: boto3.Session) -> SignedRequests:
    return SignedRequests(session, session.region_name, str(request.application_id))


def _posted(early: Future[Any] | None) -> Posted | None:
    """The POST sent ahead, where it went out (else the connect posts now)."""
    if early is None:
        return None
    try:
        return early.result()
    except Exception as exc:  # noqa: BLE001  a speculative POST's failure is not the connect's
        log.info("the session's POST sent ahead failed (%s); posting again", exc)
        return None


def livy_url(given: str | None, application_id: str, region: str) -> str:
    """The endpoint: ``--livy-url`` as given, else the template (URL_ENV, else AWS's)."""
    if given:
        return given.rstrip("/")
    template = os.environ.get(URL_ENV) or AWS_URL
    try:
        return template.format(application_id=application_id, region=region).rstrip("/")
    except (KeyError, IndexError, ValueError):
        raise EmrRolesError(f"{URL_ENV} is {show(template)}, which is not a URL template of "
                            "{application_id} and {region} alone (write a literal brace as {{ "
                            "or }}); fix or unset it.") from None


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

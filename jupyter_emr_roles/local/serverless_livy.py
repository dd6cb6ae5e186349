"""EMR Serverless's Livy endpoint, as AWS serves it (the user guide's "Run interactive
workloads with EMR Serverless through an Apache Livy endpoint"), in front of the emulator's
Livy gateway.

On AWS each application with ``interactiveConfiguration.livyEndpointEnabled`` (release
emr-6.14.0 and later) answers Apache Livy's REST API at
``https://<applicationId>.livy.emr-serverless-services.<region>.amazonaws.com``. Here names
under a wildcard do not resolve, so one port serves every application, the application's ID
being the first segment of the path (``https://127.0.0.1:PORT/<applicationId>/sessions``),
over HTTPS with the AWS endpoint's certificate, and plain HTTP only where that endpoint is.

Every request must be SigV4-signed for ``emr-serverless`` in the application's region by a
key STS or IAM issued (``sigv4.py``), and the signer needs
``emr-serverless:AccessLivyEndpoints`` on the application's ARN; the application must be in
the signer's account, have its Livy endpoint enabled and be STARTED: "you must manually
start your application before connecting to the Apache Livy endpoint", and AWS's own
notebook client treats "Application must be started to access livy endpoint" as the answer
to a stopped one. ``POST /sessions`` names the session's role in its Spark conf
``emr-serverless.session.executionRoleArn`` and needs ``iam:PassRole`` on it (passed to
emr-serverless.amazonaws.com); a role that service may not assume is found when the session
starts, which then ends dead with STS's refusal in its log. A session belongs to the caller
that created it (with its source identity), whatever role it runs as; live sessions keep the
application from stopping idle, and stopping the application ends them.
"""

from __future__ import annotations

import asyncio
import re

from tornado.httputil import HTTPServerRequest

from .callers import AwsError, Caller
from .issued import Identity
from .livy.gateway import LivyGateway
from .livy.sessions import ClusterBehaviour, ClusterSessions, LivyRefusal, SessionRequest, WorkerEnv
from .operations import Backends
from .router import Router, allowed
from .serverless import SERVICE_PRINCIPAL, ServerlessApplication, ServerlessApplications
from .sigv4 import SignedRequest, verify
from .sts import SourceIdentities

SERVICE = "emr-serverless"
# The path's first segment: the application's ID (the emulator's stand-in for its host name).
PREFIX = r"/(?P<endpoint>[0-9a-z]+)"
ROLE_CONF = "emr-serverless.session.executionRoleArn"
NOT_STARTED = "Application must be started to access livy endpoint"
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
_BEHAVIOUR = ClusterBehaviour(owned_by_caller=True)


def _refusal(error: AwsError, key: str = "message") -> LivyRefusal:
    """An AWS error as the endpoint's front answers it: API Gateway's JSON (``message`` for a
    refused signature, ``Message`` for an IAM denial) and its error type header."""
    return LivyRefusal(error.status, error.message, {key: error.message},
                       {"x-amzn-ErrorType": error.code})


def _signed(request: HTTPServerRequest) -> SignedRequest:
    headers = {name.lower(): request.headers.get_list(name) for name in request.headers}
    return SignedRequest(request.method or "GET", f"{request.protocol}://{request.host}"
                         f"{request.uri}", headers, request.body)


class ServerlessLivy:
    """The Livy endpoint of every EMR Serverless application (a ``LivyFront`` of the gateway,
    and the applications' ``Interactive`` work)."""

    def __init__(self, gateway: LivyGateway, applications: Backends[ServerlessApplications],
                 region: str, router: Router, identities: SourceIdentities,
                 worker_env: WorkerEnv) -> None:
        self.gateway = gateway
        self.applications = applications
        self.region = region
        self.router = router
        self.identities = identities
        self.worker_env = worker_env
        self._sessions: dict[str, ClusterSessions] = {}
        self._loop = asyncio.get_running_loop()

    def admit(self, request: HTTPServerRequest, endpoint: str | None) -> tuple[
            ClusterSessions, Identity]:
        """A signed request for an application the signer may reach, which is ready."""
        caller = self._signer(request)
        if endpoint is None:
            raise LivyRefusal(404, f"no such resource: {request.path}")
        self._authorize(caller, "emr-serverless:AccessLivyEndpoints",
                        f"arn:aws:{SERVICE}:{self.region}:{caller.account}:/applications/"
                        f"{endpoint}", {})
        self._check_ready(self._application(caller, endpoint))
        if endpoint not in self._sessions:
            self._sessions[endpoint] = self.gateway.sessions(endpoint, _BEHAVIOUR,
                                                             self.worker_env, "application_id")
        key = caller.credentials.access_key
        return self._sessions[endpoint], Identity(endpoint, "", caller.arn,
                                                  self.identities.of(key), login=key)

    def creating(self, request: HTTPServerRequest, identity: Identity,
                 session: SessionRequest) -> Identity:
        """The session runs as the role its conf names, which the signer must be allowed to
        pass to EMR Serverless."""
        role_arn = session.conf.get(ROLE_CONF)
        if role_arn is None:
            raise LivyRefusal(400, f"The Spark conf {ROLE_CONF} is required: the session's "
                                   "execution role.")
        if not _ROLE_ARN.fullmatch(role_arn):
            raise LivyRefusal(400, f"{ROLE_CONF} {role_arn!r} is not an IAM role ARN "
                                   "(arn:aws:iam::ACCOUNT:role/NAME).")
        self._authorize(self._signer(request), "iam:PassRole", role_arn,
                        {"iam:PassedToService": SERVICE_PRINCIPAL})
        return Identity(identity.cluster_id, role_arn, identity.caller_arn,
                        identity.source_identity, identity.login)

    def live(self, application_id: str) -> bool:
        sessions = self._sessions.get(application_id)
        return sessions is not None and sessions.live()

    def stop(self, application_id: str) -> None:
        sessions = self._sessions.get(application_id)
        if sessions is not None:
            asyncio.run_coroutine_threadsafe(sessions.close("the application was stopped"),
                                             self._loop)

    def _signer(self, request: HTTPServerRequest) -> Caller:
        try:
            return verify(_signed(request), self.region, SERVICE)
        except AwsError as error:
            raise _refusal(error) from None

    def _authorize(self, caller: Caller, action: str, resource: str,
                   conditions: dict[str, str]) -> None:
        """IAM's verdict on the signer's identity policies, where the emulator enforces IAM."""
        if not self.router.enforce_iam:
            return
        try:
            allowed(caller, action, resource, conditions)
        except AwsError as error:
            raise _refusal(AwsError(error.code, error.message, 403), "Message") from None

    def _application(self, caller: Caller, application_id: str) -> ServerlessApplication:
        try:
            return self.applications[caller.account, self.region].current(application_id)
        except AwsError as error:
            raise _refusal(error) from None

    @staticmethod
    def _check_ready(application: ServerlessApplication) -> None:
        if not application.interactive.get("livyEndpointEnabled"):
            raise _refusal(AwsError("ValidationException", f"Application {application.id} "
                                    "does not have a Livy endpoint: its "
                                    "interactiveConfiguration.livyEndpointEnabled is false."))
        if application.state != "STARTED":
            raise _refusal(AwsError("ValidationException", NOT_STARTED))

"""The Serverless Spark Connect engine: a Spark Connect session of an EMR Serverless application.

The same session as on a cluster (``engine.py``: the handle, the renewing token, the PySpark
client), reached through ``emr-serverless``'s calls instead of EMR's: StartSession with the
job role as ``executionRoleArn``, GetSession until STARTED or IDLE, GetSessionEndpoint for
the endpoint (``https://<sessionId>.s.emr-serverless-services.<region>.amazonaws.com``) and a
token that expires (``authTokenExpiresAt``), TerminateSession on close. EMR Serverless's proxy
takes the token alone as ``x-aws-proxy-auth``: no ``authorization`` entry. The application is
started first where it is stopped, with progress, as the Livy twin does (``livy/serverless.py``).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ..base import LeftSession, StartPlan, aws_session_of
from ...aws.serverless import Serverless, wait_started
from ...errors import EmrRolesError
from ...identifiers import ApplicationId, RoleArn
from .emr_sessions import Names, SessionCalls, close_left
from .engine import SparkConnectHandle, open_session

if TYPE_CHECKING:
    from ...aws.clients import Emr
    from ...identifiers import ClusterId

# The botocore release Apache Airflow's EMR Serverless session operator requires (its hook
# checks for it at run time): the first whose emr-serverless model has the session calls.
SESSIONS_BOTOCORE = "1.43.0"


class ServerlessSessions(SessionCalls):
    """The session calls of one EMR Serverless client on one application."""

    names = Names("applicationId", "sessionId", "sessionId", "session", "state", "stateDetails",
                  "endpoint", "authToken", "authTokenExpiresAt")
    id_header = False

    def __init__(self, serverless: Serverless, application_id: ApplicationId) -> None:
        super().__init__(serverless.client, application_id,
                         f"EMR Serverless application {application_id}")

    @staticmethod
    def missing_calls(serverless: Serverless) -> str | None:
        """Why this Python's botocore cannot start EMR Serverless sessions, or None."""
        return SessionCalls.missing(serverless.client, "EMR Serverless", SESSIONS_BOTOCORE)

    def start_parameters(self, role_arn: RoleArn, name: str, properties: dict[str, str],
                         request_token: str, idle_minutes: int | None) -> dict[str, Any]:
        """Spark properties as configurationOverrides' spark-defaults; ``request_token`` is the
        clientToken, ``idle_minutes`` idleTimeoutMinutes."""
        params: dict[str, Any] = {"applicationId": self._place_id, "executionRoleArn": role_arn,
                                  "name": name, "clientToken": request_token}
        if properties:
            params["configurationOverrides"] = {"runtimeConfiguration": [
                {"classification": "spark-defaults", "properties": properties}]}
        if idle_minutes is not None:
            params["idleTimeoutMinutes"] = idle_minutes
        return params

    def denied_fix(self, role_arn: RoleArn) -> str:
        return ("Your identity needs emr-serverless:StartSession on this application and "
                f"iam:PassRole for {role_arn} (to emr-serverless.amazonaws.com); ask your "
                "admin, or pick a role you are allowed to use.")


class ServerlessSparkConnectEngine:
    """EMR Serverless's Spark Connect sessions, as the job role."""

    def early(self, emr: Emr, cluster_id: ClusterId, role: RoleArn) -> Future[Any] | None:
        """Nothing: StartSession starts a session, which waits for the application."""
        return None

    def close_left(self, left: LeftSession) -> bool:
        serverless = Serverless(aws_session_of(left))
        return close_left(ServerlessSessions(serverless, ApplicationId(
            left.place, "the session ledger")), left.session_id)

    def start(self, plan: StartPlan) -> SparkConnectHandle:
        from .client import SERVERLESS_CLIENT, missing_client

        assert plan.serverless is not None and plan.request.application_id is not None
        serverless = plan.serverless
        problem = missing_client(SERVERLESS_CLIENT) or ServerlessSessions.missing_calls(serverless)
        if problem:
            raise EmrRolesError(problem)
        wait_started(serverless, plan.cluster, plan.deadline, plan.progress)
        return open_session(ServerlessSessions(serverless, plan.request.application_id), plan)

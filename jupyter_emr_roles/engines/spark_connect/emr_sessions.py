"""EMR's Spark Connect session calls (botocore's StartSession and the four around it).

A session runs as the runtime role given at StartSession; GetSessionEndpoint
hands out the Spark Connect endpoint and a token that expires
(``AuthTokenExpirationTime``) and is asked again for a new one. Every call is
one paragraph when AWS refuses it (``aws.calls.aws_call``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import botocore

from ...aws.clients import Emr
from ...aws.calls import aws_call
from ...errors import AwsCallError
from ...identifiers import ClusterId, RoleArn

# The states of a session that can take calls, and those it never leaves.
LIVE_STATES = ("STARTED", "IDLE", "BUSY")
ENDED_STATES = ("TERMINATED", "FAILED")
# The first botocore whose EMR model has the session calls: an older one has no start_session,
# and drops SessionEnabled from DescribeCluster's answer without a word.
SESSIONS_BOTOCORE = "1.43.23"


@dataclass(frozen=True)
class SessionEndpoint:
    """Where a session's Spark Connect server answers, and the token it takes until
    ``expires``."""

    url: str
    token: str = ""
    expires: datetime | None = None

    def __repr__(self) -> str:
        return f"SessionEndpoint(url={self.url!r}, token='***', expires={self.expires!r})"


class EmrSessions:
    """The session calls of one EMR client (the caller's, or an access role's)."""

    def __init__(self, emr: Emr) -> None:
        self._client = emr.client

    @staticmethod
    def missing_calls(emr: Emr) -> str | None:
        """Why this Python's botocore cannot start sessions, or None when it can."""
        if "StartSession" in emr.client.meta.service_model.operation_names:
            return None
        return (f"This kernel's botocore {botocore.__version__} has no EMR session calls "
                f"(StartSession came with botocore {SESSIONS_BOTOCORE}): `pip install "
                f"'boto3>={SESSIONS_BOTOCORE}' 'botocore>={SESSIONS_BOTOCORE}'`, then restart "
                "the kernel, or connect with --engine livy.")

    def start(self, cluster_id: ClusterId, role_arn: RoleArn, name: str,
              configurations: list[dict[str, Any]], request_token: str,
              idle_minutes: int | None = None) -> str:
        """StartSession as ``role_arn`` with Spark properties (EngineConfigurations); the new
        session's ID. ``request_token`` (ClientRequestToken) is the same for every try of one
        connect, so EMR starts one session however often the call is sent. ``idle_minutes``
        (SessionIdleTimeoutInMinutes): how long EMR lets the session idle; None is EMR's
        default."""
        what = f"StartSession as {role_arn} on {cluster_id}"
        params: dict[str, Any] = {"ClusterId": cluster_id, "ExecutionRoleArn": role_arn,
                                  "Name": name, "ClientRequestToken": request_token}
        if configurations:
            params["EngineConfigurations"] = configurations
        if idle_minutes is not None:
            params["SessionIdleTimeoutInMinutes"] = idle_minutes
        answer = aws_call(what, lambda: self._client.start_session(**params), denied_fix=(
            "Your identity needs elasticmapreduce:StartSession on this cluster, with its "
            f"elasticmapreduce:ExecutionRoleArn condition allowing {role_arn}, and iam:PassRole "
            "for the role; ask your admin, or pick a role you are allowed to use."))
        session_id = answer.get("Id")
        if not isinstance(session_id, str) or not session_id:
            raise AwsCallError(f"The answer to {what} has no session ID.", "BadAnswer")
        return session_id

    def get(self, cluster_id: ClusterId, session_id: str) -> dict[str, Any]:
        answer = aws_call(f"GetSession {session_id} on {cluster_id}",
                          lambda: self._client.get_session(ClusterId=cluster_id,
                                                           SessionId=session_id))
        session: dict[str, Any] = answer.get("Session") or {}
        return session

    def endpoint(self, cluster_id: ClusterId, session_id: str) -> SessionEndpoint:
        what = f"GetSessionEndpoint of {session_id} on {cluster_id}"
        answer = aws_call(what, lambda: self._client.get_session_endpoint(
            ClusterId=cluster_id, SessionId=session_id))
        url = answer.get("Endpoint")
        if not isinstance(url, str) or not url:
            raise AwsCallError(f"The answer to {what} has no endpoint.", "BadAnswer")
        expires = answer.get("AuthTokenExpirationTime")
        if isinstance(expires, datetime) and expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        return SessionEndpoint(url, answer.get("AuthToken") or "",
                               expires if isinstance(expires, datetime) else None)

    def terminate(self, cluster_id: ClusterId, session_id: str) -> None:
        aws_call(f"TerminateSession {session_id} on {cluster_id}",
                 lambda: self._client.terminate_session(ClusterId=cluster_id,
                                                        SessionId=session_id))

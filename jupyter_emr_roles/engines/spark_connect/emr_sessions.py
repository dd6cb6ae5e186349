"""EMR's Spark Connect session calls (botocore's StartSession and the four around it).

A session runs as the runtime role given at StartSession; GetSessionEndpoint
hands out the Spark Connect endpoint and a token that expires
(``AuthTokenExpirationTime``) and is asked again for a new one. Every call is
one paragraph when AWS refuses it (``aws.calls.aws_call``). :class:`SessionCalls`
is what the session's handle needs of them, bound to one place; EMR Serverless's
calls (``serverless.py``) are its other kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
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


@dataclass(frozen=True)
class Names:
    """How one service names a session call's parameters (the place's ID, the session's) and
    its answers' fields: EMR in PascalCase, EMR Serverless in camelCase."""

    place: str
    session: str
    started: str
    described: str
    state: str
    reason: str
    url: str
    token: str
    expires: str


EMR_NAMES = Names("ClusterId", "SessionId", "Id", "Session", "State", "StateChangeReason",
                  "Endpoint", "AuthToken", "AuthTokenExpirationTime")


class SessionCalls(ABC):
    """The session calls of one client on one place (a cluster, an application), as a handle
    makes them; GetSession, GetSessionEndpoint and TerminateSession differ between EMR and EMR
    Serverless by their names only (:class:`Names`), StartSession by its parameters.

    ``where`` names the place in messages; ``id_header`` says whether the place's proxy wants
    the session's ID as gRPC ``authorization`` beside the token (EMR on EC2's does, EMR
    Serverless's takes the token alone)."""

    names: Names
    id_header: bool

    def __init__(self, client: Any, place_id: str, where: str) -> None:
        self._client = client
        self._place_id = place_id
        self.where = where

    def start(self, role_arn: RoleArn, name: str, properties: dict[str, str],
              request_token: str, idle_minutes: int | None = None) -> str:
        """A new session's ID: StartSession as ``role_arn`` with Spark ``properties``;
        ``request_token`` is the same for every try of one connect, so the service starts one
        session however often the call is sent; ``idle_minutes``, None for its default."""
        what = f"StartSession as {role_arn} on {self.where}"
        params = self.start_parameters(role_arn, name, properties, request_token, idle_minutes)
        answer = aws_call(what, lambda: self._client.start_session(**params),
                          denied_fix=self.denied_fix(role_arn))
        session_id = answer.get(self.names.started)
        if not isinstance(session_id, str) or not session_id:
            raise AwsCallError(f"The answer to {what} has no session ID.", "BadAnswer")
        return session_id

    @abstractmethod
    def start_parameters(self, role_arn: RoleArn, name: str, properties: dict[str, str],
                         request_token: str, idle_minutes: int | None) -> dict[str, Any]:
        """StartSession's parameters in the service's words."""

    @abstractmethod
    def denied_fix(self, role_arn: RoleArn) -> str:
        """What a caller StartSession was denied to needs, and from whom."""

    @staticmethod
    def missing(client: Any, service: str, first: str) -> str | None:
        """Why this Python's botocore has no session calls for ``client`` (of ``service``,
        whose calls came with botocore ``first``), or None when it has them."""
        if "StartSession" in client.meta.service_model.operation_names:
            return None
        return (f"This kernel's botocore {botocore.__version__} has no {service} session calls "
                f"(StartSession came with botocore {first}): `pip install 'boto3>={first}' "
                f"'botocore>={first}'`, then restart the kernel, or connect with --engine livy.")

    def _ids(self, session_id: str) -> dict[str, str]:
        return {self.names.place: self._place_id, self.names.session: session_id}

    def get(self, session_id: str) -> tuple[str, str]:
        """The session's state (upper case) and the service's word on it."""
        answer = aws_call(f"GetSession {session_id} on {self.where}",
                          lambda: self._client.get_session(**self._ids(session_id)))
        session: dict[str, Any] = answer.get(self.names.described) or {}
        return (str(session.get(self.names.state, "")).upper(),
                str(session.get(self.names.reason) or ""))

    def endpoint(self, session_id: str) -> SessionEndpoint:
        """The session's endpoint and a new token (an expiry without a zone is UTC)."""
        what = f"GetSessionEndpoint of {session_id} on {self.where}"
        answer = aws_call(what, lambda: self._client.get_session_endpoint(
            **self._ids(session_id)))
        url, expires = answer.get(self.names.url), answer.get(self.names.expires)
        if not isinstance(url, str) or not url:
            raise AwsCallError(f"The answer to {what} has no endpoint.", "BadAnswer")
        if isinstance(expires, datetime) and expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        return SessionEndpoint(url, answer.get(self.names.token) or "",
                               expires if isinstance(expires, datetime) else None)

    def terminate(self, session_id: str) -> None:
        """End the session at the service."""
        aws_call(f"TerminateSession {session_id} on {self.where}",
                 lambda: self._client.terminate_session(**self._ids(session_id)))


def close_left(calls: SessionCalls, session_id: str) -> bool:
    """TerminateSession on a session another process left; False where the service had ended
    (or forgotten) it already."""
    try:
        state, _ = calls.get(session_id)
    except AwsCallError as exc:
        if exc.code == "NotFound" or "not found" in str(exc).lower():
            return False
        raise
    if state in ENDED_STATES or state == "TERMINATING":
        return False
    calls.terminate(session_id)
    return True


class EmrSessions(SessionCalls):
    """The session calls of one EMR client (the caller's, or an access role's) on one
    cluster."""

    names = EMR_NAMES
    id_header = True

    def __init__(self, emr: Emr, cluster_id: ClusterId) -> None:
        super().__init__(emr.client, cluster_id, str(cluster_id))

    @staticmethod
    def missing_calls(emr: Emr) -> str | None:
        """Why this Python's botocore cannot start sessions, or None when it can."""
        return SessionCalls.missing(emr.client, "EMR", SESSIONS_BOTOCORE)

    def start_parameters(self, role_arn: RoleArn, name: str, properties: dict[str, str],
                         request_token: str, idle_minutes: int | None) -> dict[str, Any]:
        """Spark properties as EngineConfigurations; ``request_token`` is the
        ClientRequestToken, ``idle_minutes`` SessionIdleTimeoutInMinutes."""
        params: dict[str, Any] = {"ClusterId": self._place_id, "ExecutionRoleArn": role_arn,
                                  "Name": name, "ClientRequestToken": request_token}
        if properties:
            params["EngineConfigurations"] = [{"Classification": "spark-defaults",
                                               "Properties": properties}]
        if idle_minutes is not None:
            params["SessionIdleTimeoutInMinutes"] = idle_minutes
        return params

    def denied_fix(self, role_arn: RoleArn) -> str:
        return ("Your identity needs elasticmapreduce:StartSession on this cluster, with its "
                f"elasticmapreduce:ExecutionRoleArn condition allowing {role_arn}, and "
                "iam:PassRole for the role; ask your admin, or pick a role you are allowed to "
                "use.")

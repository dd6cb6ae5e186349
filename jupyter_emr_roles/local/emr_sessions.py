"""EMR's Spark Connect sessions as the emulator's EMR answers for them: StartSession and
the four calls around it, over the session book (``connect/book.py``) that runs each
session's server. IAM authorizes StartSession and ListSessions on the cluster and the
other three on the session (``cluster/ID/session/SESSION_ID``), as AWS's "Interactive
sessions with Spark Connect" page gives their policy; StartSession passes the runtime role
to EMR, so iam:PassRole is wanted for it too."""

from __future__ import annotations

from typing import Any

from .callers import AwsError
from .connect.book import SessionBook
from .emr import (
    EmrService,
    check_role_parameter,
    cluster_arn,
    cluster_of,
    emr_row,
    session_identity,
)
from .operations import Call, rows


def session_arn(call: Call) -> str:
    """A session's ARN under its cluster's, which IAM authorizes GetSession and its kin on."""
    resource = cluster_arn(call)
    return resource if resource == "*" else f"{resource}/session/{call.params.get('SessionId')}"


class EmrSessions(EmrService):
    """The sessions of every cluster, kept by the one book (session IDs are unique)."""

    def book(self) -> SessionBook:
        if self.settings.sessions is None:
            raise AwsError("InvalidRequestException", "This emulator serves no Spark Connect "
                                                      "sessions.")
        return self.settings.sessions

    def start_session(self, call: Call) -> dict[str, Any]:
        cluster = cluster_of(call)
        return self.book().start(cluster, call.params,
                                 session_identity(self.settings, call, cluster), call.region)

    def get_session(self, call: Call) -> dict[str, Any]:
        return self.book().get(cluster_of(call).id, call.params.get("SessionId"))

    def list_sessions(self, call: Call) -> dict[str, Any]:
        return self.book().list(cluster_of(call).id, call.params)

    def get_session_endpoint(self, call: Call) -> dict[str, Any]:
        return self.book().endpoint(cluster_of(call).id, call.params.get("SessionId"))

    def terminate_session(self, call: Call) -> dict[str, Any]:
        return self.book().terminate(cluster_of(call).id, call.params.get("SessionId"))

    operations = rows(
        emr_row("StartSession", start_session, conditions=("elasticmapreduce:ExecutionRoleArn",),
                passes_role=True,
                validate=lambda params: check_role_parameter(params)
                if "ExecutionRoleArn" in params else None,
                trail_response=lambda answer: {"id": answer.get("Id"), "arn": answer.get("Arn")}),
        emr_row("ListSessions", list_sessions),
        emr_row("GetSession", get_session, resource=session_arn),
        emr_row("GetSessionEndpoint", get_session_endpoint, resource=session_arn),
        emr_row("TerminateSession", terminate_session, resource=session_arn),
    )

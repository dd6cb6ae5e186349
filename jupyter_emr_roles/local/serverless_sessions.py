"""EMR Serverless's Spark Connect sessions, as the emulator's ``emr-serverless`` answers for them.

StartSession, GetSession, ListSessions, GetSessionEndpoint and TerminateSession under
``/applications/{applicationId}/sessions``, with the rules AWS's API reference and its "Run
interactive sessions with Amazon EMR Serverless through Spark Connect" page give: release
emr-7.13.0 or later, interactive sessions enabled on the application, the application STARTED
or with auto-start on (a stopped one starts for the session, which stays SUBMITTED until it
has), ``executionRoleArn`` required and passed (iam:PassRole), a ``clientToken`` that makes
the call idempotent. IAM authorizes StartSession and ListSessions on the application's ARN and
the other three on the session's (``.../applications/ID/sessions/SESSION_ID``, the ARN the
API gives a session).

Each session is one of the session book's (``connect/book.py``): SUBMITTED, STARTING, then
IDLE and BUSY as statements come, TERMINATING and TERMINATED by TerminateSession, its idle
timeout (``idleTimeoutMinutes``, 60 unless asked; a minute lasts the applications' minute) or
its application stopping, FAILED with ``stateDetails`` when EMR Serverless may not assume its
role. Its server runs with the execution role's own credentials, as EMR Serverless assumes
it, behind a front that admits the token alone (``x-aws-proxy-auth``; EMR on EC2's proxy also
wants the session's ID). A live session keeps its application from stopping idle. The endpoint
is ``https://<sessionId>.s.emr-serverless-services.<region>`` under ``.localhost`` on the
front's port, where AWS's is under ``.amazonaws.com`` on 443.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from .callers import AwsError
from .connect.book import ENDED_STATES, Session, SessionBook
from .operations import Call, Operation, rows
from .serverless import (
    EmrServerless,
    ServerlessApplication,
    ServerlessSettings,
    application_arn,
    check_ids,
    newest_page,
    release_version,
    role_refusal,
)

# "With Amazon EMR release emr-7.13.0 and later" (the user guide's Spark Connect page).
SESSIONS_RELEASE = (7, 13)
DEFAULT_IDLE_MINUTES = 60
_IDLE_MAX = 1_000_000  # botocore's Duration: 0 to 1,000,000 minutes
# Where a session's endpoint answers: a name under .localhost (loopback), which the AWS
# endpoint's certificate names by a wildcard.
ENDPOINT_DOMAIN = "s.emr-serverless-services.{region}.localhost"
_ID_CHARACTERS = string.ascii_lowercase + string.digits
_ID_LENGTH = 16
_ROLE_ARN = re.compile(r"^arn:(aws[a-zA-Z0-9-]*):iam::([0-9]{12}):role/([\x21-\x7f]+/)?"
                       r"[\w+=,.@-]+$")
# stateDetails is never empty on AWS: what each state says before anything else is known.
_DETAILS = {"SUBMITTED": "Session submitted.", "STARTING": "Session is starting.",
            "STARTED": "Session started.", "IDLE": "Session is idle.",
            "BUSY": "Session is running a statement.", "TERMINATING": "Session is terminating.",
            "TERMINATED": "Session terminated.", "FAILED": "Session failed."}


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


@dataclass
class ServerlessSession(Session):
    """A session of the book, with what EMR Serverless tells of it beyond EMR's fields."""

    created_by: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def session_arn(call: Call) -> str:
    """A session's ARN under its application's, which IAM authorizes GetSession and its kin
    on."""
    return f"{application_arn(call)}/sessions/{call.params.get('sessionId')}"


def check_start(params: dict[str, Any]) -> None:
    """StartSession's parameters, validated before anything else as AWS validates first."""
    check_path_ids(params)
    role_arn = params.get("executionRoleArn")
    if not role_arn:
        raise _invalid("1 validation error detected: Value null at 'executionRoleArn' failed "
                       "to satisfy constraint: Member must not be null")
    if not isinstance(role_arn, str) or not _ROLE_ARN.match(role_arn):
        raise _invalid(f"1 validation error detected: Value '{role_arn}' at 'executionRoleArn' "
                       "failed to satisfy constraint: Member must satisfy regular expression "
                       "pattern: arn:(aws[a-zA-Z0-9-]*):iam::([0-9]{12}):role/...")
    idle = params.get("idleTimeoutMinutes")
    if idle is not None and (not isinstance(idle, int) or not 0 <= idle <= _IDLE_MAX):
        raise _invalid(f"1 validation error detected: Value '{idle}' at 'idleTimeoutMinutes' "
                       "failed to satisfy constraint: Member must have value less than or "
                       f"equal to {_IDLE_MAX} and greater than or equal to 0")


def check_path_ids(params: dict[str, Any]) -> None:
    """The application's and the session's IDs where the path has them."""
    check_ids(params, "applicationId", "sessionId")


def _described(session: ServerlessSession) -> dict[str, Any]:
    """GetSession's shape of a session (ListSessions shows the first eleven fields)."""
    answer: dict[str, Any] = {
        "applicationId": session.cluster_id, "sessionId": session.id, "arn": session.arn,
        "state": session.state, "stateDetails": session.reason or _DETAILS[session.state],
        "releaseLabel": session.release, "executionRoleArn": session.role_arn,
        "createdBy": session.created_by, "createdAt": session.created,
        "updatedAt": session.updated, "idleTimeoutMinutes": session.idle_minutes,
        "configurationOverrides": session.overrides, "tags": session.labels}
    if session.name:
        answer["name"] = session.name
    for key, value in (("startedAt", session.started), ("endedAt", session.ended),
                       ("idleSince", session.idle_since)):
        if value is not None:
            answer[key] = value
    return answer


_SUMMARY = ("applicationId", "sessionId", "arn", "name", "state", "stateDetails",
            "releaseLabel", "executionRoleArn", "createdBy", "createdAt", "updatedAt")


def _spark_properties(overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """The spark-defaults of ``configurationOverrides.runtimeConfiguration``, in the book's
    shape (each property a Spark property of the session's server)."""
    return [{"Classification": "spark-defaults", "Properties": item.get("properties") or {}}
            for item in overrides.get("runtimeConfiguration") or []
            if item.get("classification") == "spark-defaults"]


class EmrServerlessSessions(EmrServerless):
    """The five session calls of ``emr-serverless``, beside the applications' service (whose
    applications they find), over the emulator's session book; also the applications'
    ``Interactive`` work: live sessions keep an application from stopping idle, and an
    application that stops ends them."""

    def __init__(self, applications: EmrServerless, book: SessionBook | None,
                 settings: ServerlessSettings) -> None:
        self.backends = applications.backends
        self._book = book
        self.settings = settings
        settings.interactive.append(self)

    def backend(self, call: Call) -> Any:
        return self

    def book(self) -> SessionBook:
        if self._book is None:
            raise AwsError("ValidationException", "This emulator serves no Spark Connect "
                                                  "sessions.")
        return self._book

    def application(self, call: Call) -> ServerlessApplication:
        return self.backends[call.caller.account, call.region].current(
            call.params["applicationId"])

    def start_session(self, call: Call) -> dict[str, Any]:
        """A session SUBMITTED (or the one an earlier call with this client token started),
        once the application may run it; a stopped application with auto-start starts."""
        params = {key: value for key, value in call.params.items() if key != "query"}
        book = self.book()
        application = self.application(call)
        earlier = book.earlier(application.id, params.get("clientToken"))
        if earlier is not None:
            if earlier[0] != params:
                raise AwsError("ConflictException", "The client token was already used with "
                                                    "a different request.", 409)
            return _started(earlier[1])
        check_sessions(application)
        application.submitted()
        session = self._new_session(call, application, params)
        book.add(session, params.get("clientToken"), params)
        book.launch(session, lambda: self._role_credentials(session),
                    before=lambda: self._wait_started(call, application.id))
        return _started(session)

    def _new_session(self, call: Call, application: ServerlessApplication,
                     params: dict[str, Any]) -> ServerlessSession:
        session_id = "".join(secrets.choice(_ID_CHARACTERS) for _ in range(_ID_LENGTH))
        overrides = params.get("configurationOverrides") or {}
        idle = params.get("idleTimeoutMinutes")
        return ServerlessSession(
            session_id, application.id, f"{application.arn}/sessions/{session_id}",
            call.caller.account, call.region, application.release_label,
            params["executionRoleArn"], params.get("name"),
            DEFAULT_IDLE_MINUTES if idle is None else idle, _spark_properties(overrides), [],
            id_header=None, minute=self.settings.minute, created_by=call.caller.arn,
            overrides=overrides, labels=params.get("tags") or {})

    def _role_credentials(self, session: ServerlessSession) -> dict[str, str]:
        """The execution role's credentials, as EMR Serverless assumes it: refused where the
        role's trust does not let the service assume it (the session then FAILS)."""
        refused = role_refusal(session.role_arn)
        if refused is not None or self.settings.role_credentials is None:
            raise PermissionError(refused or "this emulator assumes no job roles")
        return self.settings.role_credentials(session.role_arn, session.id)

    def _wait_started(self, call: Call, application_id: str) -> None:
        """Until the application has STARTED (it may be starting for this session); a session
        whose application stops or never starts fails."""
        deadline = time.monotonic() + self.book().settings.start_timeout
        while True:
            state = self.backends[call.caller.account, call.region].current(
                application_id).state
            if state == "STARTED":
                return
            if state not in ("CREATED", "STARTING") or time.monotonic() > deadline:
                raise RuntimeError(f"Application {application_id} did not start for the "
                                   f"session (it is {state}).")
            time.sleep(0.1)

    def session(self, call: Call) -> ServerlessSession:
        """The session the call names, on an application that exists."""
        application = self.application(call)
        session = self.book().lookup(application.id, call.params.get("sessionId"))
        if not isinstance(session, ServerlessSession):
            raise AwsError("ResourceNotFoundException",
                           f"Session {call.params.get('sessionId')} does not exist", 404)
        return session

    def get_session(self, call: Call) -> dict[str, Any]:
        return {"session": _described(self.session(call))}

    def list_sessions(self, call: Call) -> dict[str, Any]:
        """Newest first, in the asked states and creation times, a page at a time."""
        application = self.application(call)
        page, token = newest_page(
            [s for s in self.book().sessions_of(application.id)
             if isinstance(s, ServerlessSession)], call.params["query"],
            lambda session: session.state, lambda session: session.created)
        answer: dict[str, Any] = {"sessions": [
            {key: value for key, value in _described(s).items() if key in _SUMMARY}
            for s in page]}
        if token is not None:
            answer["nextToken"] = token
        return answer

    def get_session_endpoint(self, call: Call) -> dict[str, Any]:
        """The endpoint and a new token of a live session."""
        session = self.session(call)
        issued = self.book().token(session)
        if issued is None:
            raise _invalid(f"Session {session.id} is in {session.state} state; its endpoint is "
                           "available once the session has started.")
        token, expires, port = issued
        host = f"{session.id}.{ENDPOINT_DOMAIN.format(region=session.region)}"
        return {"applicationId": session.cluster_id, "sessionId": session.id,
                "endpoint": f"https://{host}:{port}", "authToken": token,
                "authTokenExpiresAt": expires}

    def terminate_session(self, call: Call) -> dict[str, Any]:
        session = self.session(call)
        self.book().end(session, "Session terminated by the user (TerminateSession).")
        return {"applicationId": session.cluster_id, "sessionId": session.id}

    def live(self, application_id: str) -> bool:
        """Whether a session of the application is not over (``Interactive``)."""
        return self._book is not None and any(
            session.state not in ENDED_STATES for session in self._book.sessions_of(
                application_id) if isinstance(session, ServerlessSession))

    def stop(self, application_id: str) -> None:
        """End the application's sessions: it is stopping (``Interactive``)."""
        for session in self._book.sessions_of(application_id) if self._book else []:
            if isinstance(session, ServerlessSession):
                self._book.end(session, f"Application {application_id} stopped.")

    operations = rows(
        Operation("StartSession", start_session, resource=application_arn, validate=check_start,
                  passes_role=True, role_parameter="executionRoleArn",
                  route=("POST", "/applications/{applicationId}/sessions")),
        Operation("ListSessions", list_sessions, resource=application_arn,
                  validate=check_path_ids,
                  route=("GET", "/applications/{applicationId}/sessions")),
        Operation("GetSession", get_session, resource=session_arn, validate=check_path_ids,
                  route=("GET", "/applications/{applicationId}/sessions/{sessionId}")),
        Operation("GetSessionEndpoint", get_session_endpoint, resource=session_arn,
                  validate=check_path_ids,
                  route=("GET", "/applications/{applicationId}/sessions/{sessionId}/endpoint")),
        Operation("TerminateSession", terminate_session, resource=session_arn,
                  validate=check_path_ids,
                  route=("DELETE", "/applications/{applicationId}/sessions/{sessionId}")),
    )


def check_sessions(application: ServerlessApplication) -> None:
    """What StartSession asks of the application beyond its state: not terminated, a release
    that has sessions, and interactive sessions enabled."""
    if application.state == "TERMINATED":
        raise _invalid(f"Application {application.id} is terminated. Cannot start session.")
    if release_version(application.release_label) < SESSIONS_RELEASE:
        raise _invalid(f"Spark Connect sessions are not supported for release label "
                       f"{application.release_label}; they need emr-7.13.0 or later.")
    if not application.interactive.get("sessionEnabled"):
        raise _invalid(f"Interactive sessions are not enabled on application {application.id}; "
                       "update it with interactiveConfiguration.sessionEnabled set to true.")


def _started(session: Session) -> dict[str, Any]:
    return {"applicationId": session.cluster_id, "sessionId": session.id, "arn": session.arn}

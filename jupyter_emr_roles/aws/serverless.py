"""The EMR Serverless calls on applications, and bringing an application to STARTED.

A Serverless application has no cluster to describe: GetApplication says its release, its
state (CREATING, CREATED, STARTING, STARTED, STOPPING, STOPPED, TERMINATED), whether it
starts by itself when work comes (``autoStartConfiguration``) and how long it stays up idle
(``autoStopConfiguration``). Both ways into it (its Livy endpoint, its Spark Connect
sessions) want it STARTED, as AWS's own notebook client does before it opens a session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import boto3

from .calls import answer_field, aws_call
from .clients import DEFAULT_READ_TIMEOUT, service_client
from ..errors import EmrRolesError
from ..identifiers import ApplicationId
from ..polling import PollPolicy

log = logging.getLogger(__name__)

# Starting an application takes a minute or two on AWS: look every few seconds at most.
STARTS = PollPolicy(floor=0.05, ceiling=3.0)
# The states an application passes through by itself, and those a StartApplication leaves.
WAITED_FOR = ("CREATING", "STARTING", "STOPPING")
STARTABLE = ("CREATED", "STOPPED")


class Serverless:
    """The ``emr-serverless`` calls on applications a connection, a picker and the doctor
    make."""

    def __init__(self, session: boto3.Session,
                 read_timeout: float = DEFAULT_READ_TIMEOUT) -> None:
        self.session = session
        self.client = aws_call("creating an EMR Serverless client",
                               lambda: service_client(session, "emr-serverless", read_timeout))

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name)

    def application(self, application_id: ApplicationId) -> dict[str, Any]:
        """GetApplication's application."""
        what = f"reading EMR Serverless application {application_id}"
        answer = aws_call(what, lambda: self.client.get_application(
            applicationId=application_id))
        application: dict[str, Any] = answer_field(answer, what, "application")
        answer_field(application, what, "state")
        return application

    def list_applications(self, next_token: str | None = None) -> dict[str, Any]:
        """One ListApplications page (``applications`` and maybe ``nextToken``); terminated
        applications are not asked for."""
        params: dict[str, Any] = {"states": ["CREATED", "STARTING", "STARTED", "STOPPING",
                                             "STOPPED"]}
        if next_token:
            params["nextToken"] = next_token
        return aws_call("listing EMR Serverless applications",
                        lambda: self.client.list_applications(**params))

    def start(self, application_id: ApplicationId) -> None:
        aws_call(f"starting EMR Serverless application {application_id}",
                 lambda: self.client.start_application(applicationId=application_id))


def auto_start(application: dict[str, Any]) -> bool:
    """Whether work submitted to the stopped application starts it (AWS's default: yes)."""
    return bool(application.get("autoStartConfiguration", {}).get("enabled", True))


def start_fix(application_id: str) -> str:
    """How to start an application whose auto-start is off: the command, or the admin's
    setting that lets work start it."""
    return (f"aws emr-serverless start-application --application-id {application_id} (or ask "
            "your admin to turn auto-start on: update-application --auto-start-configuration "
            "enabled=true)")


def idle_stop(application: dict[str, Any]) -> str:
    """How the application stops by itself, in words: "stops after 15 idle minutes"."""
    stop = application.get("autoStopConfiguration", {})
    if not stop.get("enabled", True):
        return "auto-stop off: it runs until stopped"
    return f"stops after {stop.get('idleTimeoutMinutes', 15)} idle minutes"


def wait_started(serverless: Serverless, application: dict[str, Any], deadline: float,
                 progress: Callable[[float, str], None]) -> dict[str, Any]:
    """The application, STARTED: a created or stopped one with auto-start on is started
    (StartApplication) and waited for, with progress, until the monotonic ``deadline``. One
    with auto-start off is left as the admin left it, and said so with the fix."""
    application_id = ApplicationId(application.get("applicationId", ""), "GetApplication")
    began = time.monotonic()
    wait = STARTS.start(deadline, lambda elapsed: _late(application_id, elapsed))
    asked = False
    while True:
        state = application["state"]
        if state == "STARTED":
            return application
        if state == "TERMINATED":
            raise EmrRolesError(f"EMR Serverless application {application_id} is deleted "
                                "(TERMINATED); pick another one (`jupyter-emr-roles clusters`).")
        if state in STARTABLE and not asked:
            _check_auto_start(application_id, application)
            log.info("starting EMR Serverless application %s", application_id)
            serverless.start(application_id)
            asked = True
        progress(time.monotonic() - began, f"application {application_id} {state}"
                 + ("" if state in WAITED_FOR else ", starting it"))
        wait.again()
        application = serverless.application(application_id)


def _check_auto_start(application_id: ApplicationId, application: dict[str, Any]) -> None:
    if not auto_start(application):
        raise EmrRolesError(
            f"EMR Serverless application {application_id} is {application['state']} and its "
            f"auto-start is off, so a notebook does not start it. Start it: "
            f"{start_fix(application_id)}.")


def _late(application_id: ApplicationId, elapsed: float) -> EmrRolesError:
    return EmrRolesError(f"EMR Serverless application {application_id} did not reach STARTED "
                         f"within {elapsed:.0f} s (AWS's notebook client waits 180 s). It may "
                         "still be starting: connect again in a minute, or give a longer "
                         "--timeout.")

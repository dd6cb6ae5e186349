"""Which EMR Serverless applications a notebook can pick, and what each can run: the pickers'
twin of ``clusters.py``, so the Lab dialog, ``%emr_picker`` and ``GET applications`` list
applications beside clusters with the same readiness shape.

ListApplications' summaries say no interactive configuration and no auto-start, so each row
is read with GetApplication: what an application offers (``applications.offered_engines``)
and whether a connect can bring it to STARTED (``aws.serverless.auto_start``) are known only
from there. An account holds few applications, so a page costs a handful of calls; the
readiness comes with the row and needs no call of its own. Its verdicts are the doctor's
(``doctor.application_checks``: the state and each engine, from GetApplication alone); the
doctor's other application checks need a role, which a picker has not chosen yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .applications import ENGINES, offered_engines
from .aws.serverless import Serverless
from .clusters import EngineReadiness, Readiness
from .doctor.application_checks import engine_outcome, state_outcome
from .errors import AwsCallError
from .identifiers import ApplicationId, account_in_arn

log = logging.getLogger(__name__)

# What a list row and a readiness say an application is, beside a cluster's "cluster".
KIND = "serverless"


@dataclass(frozen=True)
class ApplicationSummary:
    """One row of the application list: what GetApplication says, nothing secret."""

    id: str
    name: str
    state: str
    release: str
    arn: str
    engines: tuple[str, ...]
    readiness: Readiness

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "state": self.state, "release": self.release,
                "arn": self.arn, "kind": KIND, "engines": list(self.engines),
                "readiness": self.readiness.as_json()}


@dataclass(frozen=True)
class ApplicationPage:
    applications: tuple[ApplicationSummary, ...]
    marker: str | None

    def as_json(self) -> dict[str, Any]:
        return {"applications": [row.as_json() for row in self.applications],
                "marker": self.marker}


def summary(application: dict[str, Any]) -> ApplicationSummary:
    """The row of a GetApplication answer."""
    return ApplicationSummary(
        id=application.get("applicationId", ""), name=application.get("name", ""),
        state=application.get("state", ""), release=application.get("releaseLabel", ""),
        arn=application.get("arn", ""), engines=tuple(offered_engines(application)),
        readiness=readiness(application))


def list_page(serverless: Serverless, marker: str | None = None) -> ApplicationPage:
    """One ListApplications page (every state but TERMINATED), each row read again with
    GetApplication; one deleted in between is left out. ``marker`` continues a page."""
    answer = serverless.list_applications(marker)
    rows = []
    for listed in answer.get("applications", []):
        application_id = ApplicationId(listed.get("id", ""), "ListApplications")
        try:
            rows.append(summary(serverless.application(application_id)))
        except AwsCallError as exc:
            if exc.code != "NotFound":
                raise
            log.info("application %s went away while it was listed", application_id)
    return ApplicationPage(tuple(rows), answer.get("nextToken") or None)


def assess(serverless: Serverless, application_id: ApplicationId) -> Readiness:
    """GetApplication, then its readiness: what the pickers show before a user tries it."""
    return readiness(serverless.application(application_id))


def readiness(application: dict[str, Any]) -> Readiness:
    """Whether each engine can open a session on the application: its state lets a connect
    bring it to STARTED, and its release and interactive configuration offer the engine."""
    state = state_outcome(application).finding("application-state")
    offered = {engine: engine_outcome(application, engine).finding(engine)
               for engine in ENGINES}
    engines = {engine: EngineReadiness(tuple(f for f in (state, finding) if f.status == "fail"))
               for engine, finding in offered.items()}
    interactive = application.get("interactiveConfiguration", {})
    return Readiness(id=application.get("applicationId", ""), name=application.get("name", ""),
                     state=application.get("state", ""),
                     release=application.get("releaseLabel", ""),
                     account=account_in_arn(application.get("arn", ""),
                                            "the application's ARN") or "",
                     checks=(state, *offered.values()), engines=engines,
                     session_enabled=interactive.get("sessionEnabled") is True, kind=KIND)

"""Who ran what on a cluster, as which runtime role: sessions and steps, by person.

EMR knows a cluster's steps and the runtime role of each, but not who submitted
them, and it keeps no list of notebook sessions at all. CloudTrail knows both:
each ``GetClusterSessionCredentials`` (a notebook login, first or renewed) and
each ``AddJobFlowSteps``, with the caller and, where a role chain carried one,
the ``SourceIdentity`` of the person behind it. The audit joins the two; where
the caller may not read CloudTrail it says so and shows what EMR alone knows.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .aws import service_client
from .aws_errors import aws_call
from .cluster_target import Target
from .errors import AwsCallError, EmrRolesError
from .steps import ClusterSteps, StepView
from .text_table import text_table

AUDITED_EVENTS = ("GetClusterSessionCredentials", "AddJobFlowSteps")
# CloudTrail's event history reaches back 90 days, and delivers an event minutes after it.
MAX_HISTORY = timedelta(days=90)
_SPAN = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_STEPS_READ = 1000


@dataclass(frozen=True)
class AuditEntry:
    """A session login or a step: when, as which role, for whom, and how it went."""

    time: str
    kind: str  # "session" (a Livy login from GetClusterSessionCredentials) or "step"
    role_arn: str | None
    who: str | None  # the source identity, else the caller's own name; None when unknown
    caller_arn: str | None
    step_id: str | None = None
    state: str | None = None  # a step's state; "refused: CODE" for a refused call

    @property
    def role_name(self) -> str:
        return (self.role_arn or "-").rpartition("/")[2]


@dataclass(frozen=True)
class AuditReport:
    cluster_id: str
    since: str
    entries: tuple[AuditEntry, ...]
    notes: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id, "since": self.since,
                "entries": [asdict(entry) for entry in self.entries], "notes": list(self.notes)}

    def text(self) -> str:
        lines = [f"Sessions and steps on {self.cluster_id} since {self.since}, by runtime role:"]
        if not self.entries:
            lines.append("  none found")
        rows = [("TIME", "KIND", "ROLE", "WHO", "STEP / STATE")] + [
            (entry.time, entry.kind, entry.role_name, entry.who or "(unknown)",
             " ".join(part for part in (entry.step_id, entry.state) if part) or "-")
            for entry in sorted(self.entries, key=lambda e: (e.role_name, e.time))]
        if self.entries:
            lines += text_table(rows, indent="  ")
        return "\n".join(lines + [f"Note: {note}" for note in self.notes])


def parse_since(value: str) -> timedelta:
    """``90s``, ``30m``, ``1h``, ``7d`` (or a sum such as ``1h30m``), at most 90 days."""
    parts = _SPAN.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise EmrRolesError(f"--since {value!r} is not a time span; give e.g. 30m, 1h, 2d or "
                            "1h30m.")
    span = sum((timedelta(**{_UNITS[unit]: int(number)}) for number, unit in parts), timedelta())
    if not timedelta(0) < span <= MAX_HISTORY:
        raise EmrRolesError(f"--since {value} is outside CloudTrail's event history, which "
                            "reaches back 90 days.")
    return span


def audit(target: Target, since: timedelta, since_text: str) -> AuditReport:
    """The cluster's sessions and steps since ``since`` ago, with the person behind each."""
    cluster_id = target.cluster["Id"]
    start = datetime.now(timezone.utc) - since
    notes: list[str] = []
    try:
        events = _events(target, cluster_id, start)
    except AwsCallError as exc:
        events = []
        notes.append(f"CloudTrail could not be read, so notebook sessions are not listed and "
                     f"steps show no person: {exc}")
    steps = ClusterSteps(target).list(_STEPS_READ, since=start)
    notes.append("CloudTrail shows a call about 5 minutes after it is made (at most 15): the "
                 "newest sessions and steps may be missing.")
    return AuditReport(cluster_id, since_text, tuple(_entries(events, steps)), tuple(notes))


def _events(target: Target, cluster_id: str, start: datetime) -> list[dict[str, Any]]:
    """The audited CloudTrail events of the cluster: one LookupEvents query per event name
    (it takes one attribute), every page; CloudTrail allows 2 such calls a second, which
    botocore's standard retries absorb."""
    client = service_client(target.session, "cloudtrail")
    found = []
    for name in AUDITED_EVENTS:
        pages = aws_call(f"reading CloudTrail's {name} events", lambda: list(
            client.get_paginator("lookup_events").paginate(
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
                StartTime=start)),
            denied_fix="The audit needs cloudtrail:LookupEvents in the cluster's account.")
        for page in pages:
            for event in page.get("Events", []):
                record = json.loads(event.get("CloudTrailEvent") or "{}")
                parameters = record.get("requestParameters") or {}
                if cluster_id in (parameters.get("clusterId"), parameters.get("jobFlowId")):
                    found.append(record)
    return found


def _entries(events: list[dict[str, Any]], steps: list[StepView]) -> list[AuditEntry]:
    """Session logins from CloudTrail; steps from EMR, with their submitter from CloudTrail."""
    submitters: dict[str, dict[str, Any]] = {}
    entries = []
    for record in events:
        identity = record.get("userIdentity") or {}
        parameters = record.get("requestParameters") or {}
        if record.get("eventName") == "AddJobFlowSteps" and not record.get("errorCode"):
            for step_id in (record.get("responseElements") or {}).get("stepIds", []):
                submitters[step_id] = identity
            continue
        entries.append(AuditEntry(
            record.get("eventTime", ""),
            "session" if record.get("eventName") == "GetClusterSessionCredentials" else "step",
            parameters.get("executionRoleArn"), _who(identity), identity.get("arn"),
            state=f"refused: {record['errorCode']}" if record.get("errorCode") else None))
    for view in steps:
        identity = submitters.get(view.id, {})
        entries.append(AuditEntry(
            view.created.strftime("%Y-%m-%dT%H:%M:%SZ") if view.created else "",
            "step", view.role_arn, _who(identity) if identity else None, identity.get("arn"),
            view.id, view.state))
    return entries


def _who(identity: dict[str, Any]) -> str | None:
    """The person: the source identity a role chain carried, else an IAM user's name or an
    assumed role's session name (which jupyter-emr-roles sets to the person)."""
    source = (identity.get("sessionContext") or {}).get("sourceIdentity")
    if source:
        return str(source)
    arn = identity.get("arn") or ""
    return arn.rsplit("/", 1)[-1] or None

"""Who ran what on a cluster, as which runtime role: sessions and steps, by person.

EMR knows a cluster's steps and the runtime role of each, but not who submitted
them, and it keeps no list of Livy sessions at all. CloudTrail knows both: each
``GetClusterSessionCredentials`` (a Livy login, first or renewed), each
``StartSession`` (an EMR Spark Connect session) and each ``AddJobFlowSteps``,
with the caller, the user agent and, where a role chain carried one, the
``SourceIdentity`` of the person behind it. The audit joins them; where the
caller may not read CloudTrail it says so and shows what EMR alone knows.

A Livy session logs in again before its login expires, so one session is many
GetClusterSessionCredentials events: logins of the same role, person and
cluster, each made while the previous one was still valid, count as one
session. The doctor's own login (its ``gcsc`` check, made under its own user
agent) is listed as a probe, not as a session.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from .aws.clients import DOCTOR_USER_AGENT, service_client
from .aws.calls import aws_call
from .cluster_target import Target
from .errors import AwsCallError, EmrRolesError
from .steps import ClusterSteps, StepView
from .text_table import text_table

_GCSC = "GetClusterSessionCredentials"
AUDITED_EVENTS = (_GCSC, "StartSession", "AddJobFlowSteps")
# CloudTrail's event history reaches back 90 days, and delivers an event minutes after it.
MAX_HISTORY = timedelta(days=90)
# How long a Livy login lasts when its event does not say (GetClusterSessionCredentials'
# ExpiresAt is an hour after the call unless the cluster says otherwise).
LOGIN_LIFETIME = timedelta(hours=1)
_SPAN = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_STEPS_READ = 1000


@dataclass(frozen=True)
class AuditEntry:
    """A Livy session, a Spark Connect session, a step or a doctor's probe: when, as which
    role, for whom, and how it went."""

    time: str
    kind: str  # "livy", "spark-connect", "step" or "doctor-probe"
    role_arn: str | None
    who: str | None  # the source identity, else the caller's own name; None when unknown
    caller_arn: str | None
    step_id: str | None = None
    state: str | None = None  # a step's state; "refused: CODE" for a refused call
    session_id: str | None = None  # a Spark Connect session's ID, where the event has it
    logins: int = 1  # a Livy session's logins: the first and each renewal
    last_login: str | None = None  # a Livy session's last renewal, if it renewed

    @property
    def role_name(self) -> str:
        return (self.role_arn or "-").rpartition("/")[2]

    def detail(self) -> str:
        """The last column of the text table."""
        if self.kind == "livy" and self.logins > 1:
            return f"{self.logins} logins, the last at {self.last_login}"
        parts = (self.step_id, self.session_id, self.state)
        return " ".join(part for part in parts if part) or "-"


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
        rows = [("TIME", "KIND", "ROLE", "WHO", "DETAIL")] + [
            (entry.time, entry.kind, entry.role_name, entry.who or "(unknown)", entry.detail())
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
    """Livy sessions and Spark Connect sessions from CloudTrail; steps from EMR, with their
    submitter from CloudTrail (and the AddJobFlowSteps CloudTrail saw refused)."""
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(events, key=lambda r: str(r.get("eventTime", ""))):
        by_name[str(record.get("eventName"))].append(record)
    entries = _livy_sessions(by_name[_GCSC])
    entries += [replace(_entry(record, "spark-connect"), session_id=_session_id(record))
                for record in by_name["StartSession"]]
    submitters: dict[str, dict[str, Any]] = {}
    for record in by_name["AddJobFlowSteps"]:
        if record.get("errorCode"):
            entries.append(_entry(record, "step"))
        for step_id in (record.get("responseElements") or {}).get("stepIds", []):
            submitters[step_id] = record.get("userIdentity") or {}
    for view in steps:
        identity = submitters.get(view.id, {})
        entries.append(AuditEntry(
            view.created.strftime("%Y-%m-%dT%H:%M:%SZ") if view.created else "",
            "step", view.role_arn, _who(identity) if identity else None, identity.get("arn"),
            view.id, view.state))
    return entries


def _livy_sessions(records: list[dict[str, Any]]) -> list[AuditEntry]:
    """GetClusterSessionCredentials events, oldest first, as Livy sessions: a login of the
    same role and person made while that pair's previous login was still valid is a renewal
    of the same session. Refused logins and the doctor's probes stand alone."""
    entries: list[AuditEntry] = []
    current: dict[tuple[Any, ...], tuple[int, datetime]] = {}  # pair -> (entry index, expiry)
    for record in records:
        if record.get("errorCode") or _by_the_doctor(record):
            entries.append(_entry(record, "doctor-probe" if _by_the_doctor(record) else "livy"))
            continue
        entry = _entry(record, "livy")
        made, pair = _time(entry.time), (entry.role_arn, entry.who, entry.caller_arn)
        index, valid_until = current.get(pair, (-1, datetime.min.replace(tzinfo=timezone.utc)))
        if index >= 0 and made is not None and made <= valid_until:
            entries[index] = replace(entries[index], logins=entries[index].logins + 1,
                                     last_login=entry.time)
        else:
            index = len(entries)
            entries.append(entry)
        if made is not None:
            current[pair] = (index, max(valid_until, _expiry(record, made)))
    return entries


def _entry(record: dict[str, Any], kind: str) -> AuditEntry:
    identity = record.get("userIdentity") or {}
    parameters = record.get("requestParameters") or {}
    return AuditEntry(str(record.get("eventTime", "")), kind, parameters.get("executionRoleArn"),
                      _who(identity), identity.get("arn"),
                      state=f"refused: {record['errorCode']}" if record.get("errorCode") else None)


def _by_the_doctor(record: dict[str, Any]) -> bool:
    return DOCTOR_USER_AGENT in str(record.get("userAgent") or "")


def _session_id(record: dict[str, Any]) -> str | None:
    answer = record.get("responseElements") or {}
    found = answer.get("id") or answer.get("sessionId")
    return str(found) if found else None


def _time(value: Any) -> datetime | None:
    """CloudTrail's ``eventTime`` (``2024-05-01T12:00:00Z``) as a UTC time."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _expiry(record: dict[str, Any], made: datetime) -> datetime:
    """When the login expires: the event's ``expiresAt`` (seconds since 1970, ISO 8601, or
    CloudTrail's ``Jan 17, 2024, 7:34:55 AM``), else an hour after it was made."""
    value = (record.get("responseElements") or {}).get("expiresAt")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    text = str(value or "").replace("Z", "+00:00")
    for parse in (datetime.fromisoformat,
                  lambda t: datetime.strptime(t, "%b %d, %Y, %I:%M:%S %p"),
                  lambda t: datetime.strptime(t, "%b %d, %Y %I:%M:%S %p")):
        try:
            parsed = parse(text)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return made + LOGIN_LIFETIME


def _who(identity: dict[str, Any]) -> str | None:
    """The person: the source identity a role chain carried, else an IAM user's name or an
    assumed role's session name (which jupyter-emr-roles sets to the person)."""
    source = (identity.get("sessionContext") or {}).get("sourceIdentity")
    if source:
        return str(source)
    arn = identity.get("arn") or ""
    return arn.rsplit("/", 1)[-1] or None

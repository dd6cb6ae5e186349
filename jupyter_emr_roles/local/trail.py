"""CloudTrail as the emulator keeps it: the management events of the calls it answered, the
person behind each (``SourceIdentity``), the user agent that made each call, and
``LookupEvents`` over them.

The audit trail of runtime roles lives in two things moto lacks: STS forgets the
``SourceIdentity`` an AssumeRole set (``sts.py`` keeps it for every key it issued),
and there is no ``LookupEvents``. Here each call whose row says CloudTrail records it
(every EMR call, a granted AssumeRole) is kept in CloudTrail's event shape, with the
person behind it, and ``LookupEvents`` (``cloudtrail.py``) answers with CloudTrail's
filters, pages and errors. Events become visible ``delay`` seconds after the call, as
CloudTrail delivers them minutes late.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .callers import AwsError, Caller

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
_ATTRIBUTES = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
               "EventSource", "AccessKeyId")
_KEPT = 20_000
_PAGE = 50


@dataclass(frozen=True)
class TrailEvent:
    """One management event, as CloudTrail records it."""

    name: str
    source: str
    account: str
    caller: Caller
    access_key: str
    source_identity: str | None
    request: dict[str, Any]
    response: dict[str, Any] | None = None
    error_code: str | None = None
    resources: tuple[tuple[str, str], ...] = ()
    user_agent: str = ""  # the caller's User-Agent header, which CloudTrail keeps as userAgent
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: float = field(default_factory=time.time)

    @property
    def read_only(self) -> bool:
        return self.name.startswith(("Describe", "List", "Get")) and self.name not in (
            "GetClusterSessionCredentials",)

    @property
    def username(self) -> str:
        """An IAM user's name, or an assumed role's session name."""
        return self.caller.arn.rsplit("/", 1)[-1]

    def lookup_shape(self) -> dict[str, Any]:
        return {"EventId": self.id, "EventName": self.name,
                "ReadOnly": "true" if self.read_only else "false",
                "AccessKeyId": self.access_key, "EventTime": self.time,
                "EventSource": self.source, "Username": self.username,
                "Resources": [{"ResourceType": kind, "ResourceName": name}
                              for kind, name in self.resources],
                "CloudTrailEvent": json.dumps(self._record())}

    def _record(self) -> dict[str, Any]:
        assumed = ":assumed-role/" in self.caller.arn
        identity: dict[str, Any] = {
            "type": "AssumedRole" if assumed else "IAMUser", "arn": self.caller.arn,
            "accountId": self.caller.account, "accessKeyId": self.access_key}
        if not assumed:
            identity["userName"] = self.username
        if assumed or self.source_identity:
            identity["sessionContext"] = {"sourceIdentity": self.source_identity} \
                if self.source_identity else {}
        record = {
            "eventVersion": "1.09", "userIdentity": identity,
            "eventTime": datetime.fromtimestamp(self.time, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": self.source, "eventName": self.name, "awsRegion": "us-east-1",
            "sourceIPAddress": "127.0.0.1", "userAgent": self.user_agent,
            "requestParameters": self.request,
            "responseElements": self.response, "eventID": self.id,
            "readOnly": self.read_only, "eventType": "AwsApiCall", "managementEvent": True,
            "recipientAccountId": self.account, "eventCategory": "Management"}
        if self.error_code:
            record["errorCode"] = self.error_code
        return record


class Trail:
    """Each account's events (the latest ``_KEPT``), newest last."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._events: dict[str, deque[TrailEvent]] = {}
        self._lock = threading.Lock()

    def record(self, event: TrailEvent) -> None:
        with self._lock:
            self._events.setdefault(event.account, deque(maxlen=_KEPT)).append(event)

    def lookup(self, account: str, params: dict[str, Any]) -> dict[str, Any]:
        """LookupEvents for ``account``: at most one lookup attribute, a time range, pages of
        up to 50, newest first."""
        matches = _matcher(params.get("LookupAttributes") or [])
        start, end = _time_range(params)
        limit = _max_results(params.get("MaxResults"))
        visible_until = min(end, time.time() - self.delay)
        with self._lock:
            found = [event for event in reversed(self._events.get(account, ()))
                     if start <= event.time <= visible_until and matches(event)]
        offset = int(params.get("NextToken") or 0)
        page = found[offset:offset + limit]
        answer: dict[str, Any] = {"Events": [event.lookup_shape() for event in page]}
        if offset + limit < len(found):
            answer["NextToken"] = str(offset + limit)
        return answer


def _matcher(attributes: list[dict[str, str]]) -> Any:
    if len(attributes) > 1:
        raise AwsError("InvalidLookupAttributesException",
                       "You cannot specify more than one lookup attribute.")
    if not attributes:
        return lambda event: True
    key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue", "")
    if key not in _ATTRIBUTES:
        raise AwsError("InvalidLookupAttributesException", f"{key} is not a lookup attribute.")
    fields = {"EventId": lambda e: e.id, "EventName": lambda e: e.name,
              "ReadOnly": lambda e: "true" if e.read_only else "false",
              "Username": lambda e: e.username, "EventSource": lambda e: e.source,
              "AccessKeyId": lambda e: e.access_key,
              "ResourceType": lambda e: [kind for kind, _ in e.resources],
              "ResourceName": lambda e: [name for _, name in e.resources]}
    get = fields[key]

    def matches(event: TrailEvent) -> bool:
        found = get(event)
        return value in found if isinstance(found, list) else found == value

    return matches


def _time_range(params: dict[str, Any]) -> tuple[float, float]:
    start = float(params.get("StartTime") or 0)
    end = float(params.get("EndTime") or time.time())
    if start > end:
        raise AwsError("InvalidTimeRangeException",
                       "Start time must be before end time.")
    return start, end


def _max_results(value: Any) -> int:
    if value is None:
        return _PAGE
    if not isinstance(value, int) or not 1 <= value <= _PAGE:
        raise AwsError("InvalidMaxResultsException",
                       f"MaxResults must be between 1 and {_PAGE}.")
    return value

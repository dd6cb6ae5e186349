"""CloudTrail as the emulated endpoint serves it: LookupEvents over the events the router
recorded (``trail.py``), for the signer's account; every other CloudTrail call is moto's."""

from __future__ import annotations

from typing import Any

from .operations import Call, JsonService, Operation, rows
from .trail import TARGET_PREFIX, Trail


class CloudTrail(JsonService):
    """LookupEvents, which moto lacks, needing cloudtrail:LookupEvents."""

    name = "cloudtrail"
    target = TARGET_PREFIX.rstrip(".")

    def __init__(self, trail: Trail) -> None:
        self.trail = trail

    def lookup_events(self, call: Call) -> dict[str, Any]:
        return self.trail.lookup(call.caller.account, call.params)

    operations = rows(Operation("LookupEvents", lookup_events))

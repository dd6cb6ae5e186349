"""Steps as the emulated EMR runs them: PENDING, then RUNNING, then COMPLETED or FAILED.

moto records AddJobFlowSteps but keeps every step PENDING, drops the
``ExecutionRoleArn`` and filters ``ListSteps`` by that frozen state. Here each
step remembers its runtime role and moves on with time, and a step whose
script is not in S3 fails with the reason EMR would give.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from moto.s3.models import s3_backends

# Seconds a step spends PENDING, then RUNNING, before it ends.
STEP_PENDING_SECONDS = 1.0
STEP_RUNNING_SECONDS = 2.0


@dataclass
class StepRecord:
    cluster_id: str
    execution_role_arn: str | None
    created: float
    failure: str | None


class StepBook:
    """What the emulator knows of each step beyond moto's record."""

    def __init__(self) -> None:
        self.steps: dict[str, StepRecord] = {}

    def record(self, params: dict[str, Any], answer: dict[str, Any], account: str) -> None:
        for step_id, step in zip(answer.get("StepIds", []), params.get("Steps", [])):
            self.steps[step_id] = StepRecord(params["JobFlowId"], params.get("ExecutionRoleArn"),
                                             time.monotonic(), _failure(step, account))

    def view(self, step: dict[str, Any]) -> dict[str, Any]:
        """A step's API shape with its state as of now and its runtime role."""
        record = self.steps.get(step["Id"])
        if record is None:
            return step
        elapsed = time.monotonic() - record.created
        if elapsed < STEP_PENDING_SECONDS:
            state = "PENDING"
        elif elapsed < STEP_PENDING_SECONDS + STEP_RUNNING_SECONDS:
            state = "RUNNING"
        else:
            state = "FAILED" if record.failure else "COMPLETED"
        step["Status"]["State"] = state
        if state == "FAILED":
            step["Status"]["FailureDetails"] = {"Reason": "Step failed", "Message": record.failure}
        if record.execution_role_arn:
            step["ExecutionRoleArn"] = record.execution_role_arn
        return step

    def list_steps(self, cluster: Any, params: dict[str, Any]) -> dict[str, Any]:
        """ListSteps, served here because moto filters StepStates by its own frozen state."""
        steps = [self.view({
            "Id": step.id, "Name": step.name, "ActionOnFailure": step.action_on_failure,
            "Config": {"Jar": step.jar, "Args": step.args, "Properties": step.properties},
            "Status": {"State": step.state, "StateChangeReason": {},
                       "Timeline": {"CreationDateTime": step.creation_date_time.timestamp()}},
        }) for step in reversed(cluster.steps)]
        wanted, ids = params.get("StepStates"), params.get("StepIds")
        return {"Steps": [step for step in steps
                          if (not wanted or step["Status"]["State"] in wanted)
                          and (not ids or step["Id"] in ids)]}


def _failure(step: dict[str, Any], account: str) -> str | None:
    """A step fails the way it would on EMR when the script it names is not in S3."""
    for arg in step.get("HadoopJarStep", {}).get("Args", []):
        if isinstance(arg, str) and arg.startswith("s3://"):
            bucket, _, key = arg.removeprefix("s3://").partition("/")
            found = s3_backends[account]["aws"].buckets.get(bucket)
            if found is None or key not in found.keys:
                return f"{arg} does not exist."
    return None

"""Steps as the emulated EMR runs them: one at a time per cluster, PENDING, RUNNING, then an
end, with their logs put where the cluster's log URI says.

moto records AddJobFlowSteps but keeps every step PENDING, drops the
``ExecutionRoleArn``, filters ``ListSteps`` by that frozen state and has no
CancelSteps. Here each step remembers its runtime role and moves on with time
behind the steps before it (a cluster runs one step at a time unless told
otherwise), can be cancelled while it waits or runs, and fails as EMR's would
when its script is not in S3 or its runtime role may not read it. The step's
command itself is not run.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends

from .callers import AwsError

# Seconds a step spends PENDING at the least, then RUNNING, before it ends.
STEP_PENDING_SECONDS = 1.0
STEP_RUNNING_SECONDS = 2.0
# Seconds a running step spends CANCEL_PENDING after a cancel, before it is CANCELLED.
CANCEL_SECONDS = 0.5
FINAL = ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED")


@dataclass
class StepRecord:
    """What EMR knows of a step beyond moto's record."""

    cluster_id: str
    account: str
    execution_role_arn: str | None
    args: list[str]
    log_uri: str | None
    created: float
    failure: str | None
    cancelled: float | None = None
    start: float = 0.0
    end: float = 0.0
    logged: bool = False

    def state(self, now: float) -> str:
        if self.cancelled is not None and self.cancelled <= now:
            if self.cancelled < self.start:
                return "CANCELLED"
            return "CANCELLED" if now >= self.end else "CANCEL_PENDING"
        if now < self.start:
            return "PENDING"
        if now < self.end:
            return "RUNNING"
        return "FAILED" if self.failure else "COMPLETED"


class StepBook:
    """Every step the emulator was given, and the order each cluster runs them in."""

    def __init__(self) -> None:
        self.steps: dict[str, StepRecord] = {}

    def record(self, params: dict[str, Any], answer: dict[str, Any], cluster: Any,
               account: str) -> None:
        for step_id, step in zip(answer.get("StepIds", []), params.get("Steps", [])):
            args = list(step.get("HadoopJarStep", {}).get("Args", []))
            role = params.get("ExecutionRoleArn")
            self.steps[step_id] = StepRecord(cluster.id, account, role, args, cluster.log_uri,
                                             time.time(), _failure(args, account, role))
        self._schedule(cluster.id)

    def cancel(self, cluster: Any, params: dict[str, Any]) -> dict[str, Any]:
        """CancelSteps: a step not yet ended is cancelled; one that has ended is not."""
        now, answers = time.time(), []
        for step_id in params.get("StepIds", []):
            record = self.steps.get(step_id)
            if record is None or record.cluster_id != cluster.id:
                answers.append({"StepId": step_id, "Status": "FAILED",
                                "Reason": f"Step {step_id} is not a step of {cluster.id}."})
                continue
            state = record.state(now)
            if state in FINAL or state == "CANCEL_PENDING":
                answers.append({"StepId": step_id, "Status": "FAILED",
                                "Reason": f"Step {step_id} is already {state}."})
                continue
            record.cancelled = now
            if state == "RUNNING":
                record.end = now + CANCEL_SECONDS
            self._schedule(cluster.id)
            answers.append({"StepId": step_id, "Status": "SUBMITTED"})
        return {"CancelStepsInfoList": answers}

    def _schedule(self, cluster_id: str) -> None:
        """One step at a time: each starts once it has waited its least and the one before
        it has ended; a step cancelled before its start never runs, and holds nothing up."""
        free_at = 0.0
        for record in (r for r in self.steps.values() if r.cluster_id == cluster_id):
            record.start = max(record.created + STEP_PENDING_SECONDS, free_at)
            if record.cancelled is not None and record.cancelled < record.start:
                record.end = record.cancelled
                continue
            if record.cancelled is None:
                record.end = record.start + STEP_RUNNING_SECONDS
            free_at = record.end

    def describe(self, params: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        """DescribeStep: moto answers an unknown step with null; EMR refuses it."""
        if not answer.get("Step"):
            raise AwsError("InvalidRequestException",
                           f"Step id '{params.get('StepId')}' is not valid.")
        return {"Step": self.view(answer["Step"])}

    def view(self, step: dict[str, Any]) -> dict[str, Any]:
        """A step's API shape with its state as of now, its times and its runtime role."""
        record = self.steps.get(step["Id"])
        if record is None:
            return step
        now = time.time()
        state = record.state(now)
        status = step["Status"]
        status["State"] = state
        timeline = status.setdefault("Timeline", {})
        timeline["CreationDateTime"] = record.created
        if record.start <= now and (record.cancelled is None or record.cancelled >= record.start):
            timeline["StartDateTime"] = record.start
        if state in FINAL:
            timeline["EndDateTime"] = record.end
            self._write_logs(step["Id"], record, state)
        if state == "FAILED":
            status["FailureDetails"] = {"Reason": "Step failed", "Message": record.failure,
                                        **_log_file(record, step["Id"])}
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

    def _write_logs(self, step_id: str, record: StepRecord, state: str) -> None:
        """The step's stderr and controller log, gzipped under the log URI, as EMR uploads
        them when a step ends (a bucket that does not exist gets nothing, as on EMR)."""
        location = _log_location(record, step_id)
        if record.logged or location is None:
            return
        record.logged = True
        bucket, prefix = location
        backend = s3_backends[record.account]["aws"]
        if bucket not in backend.buckets:
            return
        command = " ".join(record.args)
        logs = {
            "stderr": record.failure or f"ran as {record.execution_role_arn}: {command}\n"
                                        "(the emulator checks a step's script and role; it does "
                                        "not run the command)",
            "controller": f"{step_id} {state}\ncommand-runner.jar {command}",
        }
        for stream, text in logs.items():
            backend.put_object(bucket, f"{prefix}{stream}.gz", gzip.compress(
                (text + "\n").encode()))


def _log_location(record: StepRecord, step_id: str) -> tuple[str, str] | None:
    """(bucket, key prefix) of the step's logs under the cluster's log URI, if it has one."""
    scheme, _, rest = (record.log_uri or "").partition("://")
    if scheme not in ("s3", "s3n") or not rest:
        return None
    bucket, _, prefix = rest.partition("/")
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    return bucket, f"{prefix}{record.cluster_id}/steps/{step_id}/"


def _log_file(record: StepRecord, step_id: str) -> dict[str, str]:
    location = _log_location(record, step_id)
    return {"LogFile": f"s3://{location[0]}/{location[1]}stderr.gz"} if location else {}


def _failure(args: list[str], account: str, role_arn: str | None) -> str | None:
    """Why the step will fail, as EMR would say it: its script (the first S3 path among its
    arguments) is not in S3, or its runtime role may not read it."""
    script = next((arg for arg in args if isinstance(arg, str) and arg.startswith("s3://")), None)
    if script is None:
        return None
    bucket, _, key = script.removeprefix("s3://").partition("/")
    found = s3_backends[account]["aws"].buckets.get(bucket)
    if found is None or key not in found.keys:
        return f"{script} does not exist."
    if role_arn and not _role_may(account, role_arn, "s3:GetObject",
                                  f"arn:aws:s3:::{bucket}/{key}"):
        return (f"Access Denied reading {script}: {role_arn} may not s3:GetObject it, and the "
                "step runs as that role.")
    return None


def _role_may(account: str, role_arn: str, action: str, resource: str) -> bool:
    """Whether the role's identity policies allow ``action`` on ``resource``."""
    backend = iam_backends[account]["global"]
    try:
        name = backend.get_role_by_arn(role_arn).name
    except Exception:  # moto's IAMNotFoundException: a role of another account, or none
        return False
    policies: list[Any] = [backend.get_role_policy(name, policy)[1]
                           for policy in backend.list_role_policies(name)]
    policies += backend.list_attached_role_policies(name)[0]
    results = [IAMPolicy(policy).is_action_permitted(action, resource) for policy in policies]
    return PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results


"""Steps of an EMR cluster under a runtime role: add one, follow it to its end, list, cancel,
read its log.

A step added with ``ExecutionRoleArn`` runs its command as that role, as a
``%connect`` session does, so the cluster is found and the role chosen the same
way (``cluster_target``: the caller or the account's access role, the role given
or the account's default). Before a step is added, the doctor's step checks run:
a cluster EMR would refuse gets one paragraph and no step. ``ListSteps`` does not
say which role a step runs as, so a list reads each step with ``DescribeStep``,
concurrently.

With a runtime role, command-runner.jar reads a step's arguments again as one
command line (AWS: "you must escape your Bash command arguments", e.g.
``["bash", "-c", "\"aws s3 ls\""]``), so each argument that has spaces, quotes
or backslashes is sent in double quotes: ``bash -c "echo a b"`` keeps ``echo a b``
one argument. A cancel stops the step's own process: a ``spark-submit`` in
cluster mode leaves its YARN application running, and the cancel says which.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from ..aws.calls import answer_field, aws_call
from ..cluster_target import Target
from ..errors import AwsCallError, StepError
from ..identifiers import RoleArn, StepId
from .common import RunView, follow, log_prefix, read_gzip, upload_script, utc

log = logging.getLogger(__name__)

LOG_STREAMS = ("stderr", "stdout", "controller", "syslog")
COMMAND_RUNNER = "command-runner.jar"
# Steps a list shows unless asked for more: one ListSteps page, and as many DescribeStep calls.
DEFAULT_LIST_LIMIT = 50
_MAX_NAME = 256
_DESCRIBERS = 8
_NEEDS_QUOTES = re.compile(r"[\s\"'\\]")
_APPLICATION = re.compile(r"\bapplication_\d+_\d+\b")
# spark-submit's options that take no value (every other option takes one).
_SPARK_SUBMIT_FLAGS = ("--verbose", "-v", "--supervise", "--version", "--help", "-h")


class StepView(RunView):
    """One step as EMR describes it."""

    @classmethod
    def from_api(cls, step: dict[str, Any]) -> StepView:
        status = step.get("Status", {})
        timeline = status.get("Timeline", {})
        failure = status.get("FailureDetails", {})
        reason = ": ".join(part for part in (failure.get("Reason"), failure.get("Message"))
                          if part) or status.get("StateChangeReason", {}).get("Message")
        return cls(step.get("Id", ""), step.get("Name", ""), status.get("State", ""),
                   step.get("ExecutionRoleArn"), tuple(step.get("Config", {}).get("Args", [])),
                   utc(timeline.get("CreationDateTime")), utc(timeline.get("StartDateTime")),
                   utc(timeline.get("EndDateTime")), reason or None,
                   failure.get("LogFile") or None)


class ClusterSteps:
    """The steps of one cluster, reached as ``target`` reached the cluster. ``where`` and
    ``FLAG`` name the cluster as a command line does, as ``ApplicationJobs`` names its
    application: the faces use either through the same calls."""

    FLAG = "--cluster-id"
    NOUN = "step"

    def __init__(self, target: Target) -> None:
        self.target = target
        self.cluster_id: str = target.cluster["Id"]
        self.where = self.cluster_id
        self._client = target.emr.client

    def submit(self, args: Sequence[str], name: str | None = None,
               log_uri: str | None = None) -> StepId:
        """Add one step that runs ``args`` with command-runner.jar as the target's role.

        The cluster is checked first, so a step EMR would refuse is not added; a role IAM
        refuses comes back from AddJobFlowSteps as one paragraph, and nothing is added. A
        cluster's steps log where the cluster was told to when it was created: no
        ``log_uri``."""
        from ..doctor import step_blockers

        if log_uri:
            raise StepError(f"--log-uri is for job runs of an EMR Serverless application; the "
                            f"steps of {self.cluster_id} log under the log URI the cluster was "
                            "created with. No step was added.")
        role = self.target.required_role()
        blockers = step_blockers(self.target)
        if blockers:
            raise StepError(f"No step was added: cluster {self.cluster_id} cannot run steps "
                            f"under a runtime role. {' '.join(blockers)}")
        what = f"adding a step to {self.cluster_id} as {role}"
        escaped = command_runner_args(args)
        answer = aws_call(what, lambda: self._client.add_job_flow_steps(
            JobFlowId=self.cluster_id, ExecutionRoleArn=role, Steps=[{
                "Name": name or step_name(escaped), "ActionOnFailure": "CONTINUE",
                "HadoopJarStep": {"Jar": COMMAND_RUNNER, "Args": escaped}}]),
            denied_fix=_denied_fix(role))
        step_ids = answer_field(answer, what, "StepIds")
        log.info("added step %s to %s as %s", step_ids[0], self.cluster_id, role)
        return StepId(step_ids[0], "AddJobFlowSteps")

    def describe(self, step_id: str) -> StepView:
        what = f"describing step {step_id} of {self.cluster_id}"
        answer = aws_call(what, lambda: self._client.describe_step(ClusterId=self.cluster_id,
                                                                   StepId=step_id))
        return StepView.from_api(answer_field(answer, what, "Step"))

    def follow(self, step_id: str, show: Callable[[RunView], None]) -> RunView:
        """Describe the step until it ends, showing each look (``common.follow``)."""
        return follow(self.describe, step_id, show)

    def list(self, limit: int = DEFAULT_LIST_LIMIT,
             since: datetime | None = None) -> list[StepView]:
        """The newest ``limit`` steps (created ``since`` then, if given), each described (for
        its runtime role) concurrently."""
        step_ids = self._newest_ids(limit, since)
        with ThreadPoolExecutor(max_workers=_DESCRIBERS, thread_name_prefix="steps") as pool:
            return list(pool.map(self.describe, step_ids))

    def _newest_ids(self, limit: int, since: datetime | None) -> list[str]:
        """ListSteps pages, newest first, until ``limit`` or a step older than ``since``."""
        step_ids: list[str] = []
        marker: dict[str, str] = {}
        while len(step_ids) < limit:
            page = aws_call(f"listing the steps of {self.cluster_id}", lambda: self._client
                            .list_steps(ClusterId=self.cluster_id, **marker))
            for step in page.get("Steps", []):
                created = utc(step.get("Status", {}).get("Timeline", {}).get("CreationDateTime"))
                if since is not None and created is not None and created < since:
                    return step_ids[:limit]
                step_ids.append(step["Id"])
            if not page.get("Marker"):
                break
            marker = {"Marker": page["Marker"]}
        return step_ids[:limit]

    def cancel(self, step_id: StepId) -> str:
        """Ask EMR to cancel the step (a pending one is dropped, a running one interrupted)."""
        what = f"cancelling step {step_id} of {self.cluster_id}"
        answer = aws_call(what, lambda: self._client.cancel_steps(
            ClusterId=self.cluster_id, StepIds=[step_id], StepCancellationOption="SEND_INTERRUPT"))
        infos = answer_field(answer, what, "CancelStepsInfoList")
        info = infos[0] if infos else {}
        if info.get("Status") != "SUBMITTED":
            raise StepError(f"EMR did not cancel step {step_id} of {self.cluster_id}: "
                            f"{info.get('Reason') or 'it gave no reason'}.")
        text = (f"Cancel of step {step_id} submitted; `jupyter-emr-roles steps list --cluster-id "
                f"{self.cluster_id}` shows it CANCELLED once EMR has stopped it.")
        view = self.describe(step_id)
        return f"{text} {self._application_left_running(view)}" if cluster_mode(view.args) \
            else text

    def _application_left_running(self, view: StepView) -> str:
        """What a cancel of a cluster-mode spark-submit does not stop, and how to stop it."""
        application = self.application_id(view)
        text = (f"The step runs spark-submit in cluster mode: EMR stops the step's own process "
                f"(spark-submit), not the YARN application it submitted, whose driver goes on "
                f"running as {view.role_arn or 'the role of the step'}.")
        if application:
            return (f"{text} Stop {application} with `yarn application -kill {application}` on "
                    "the cluster's primary node.")
        return (f"{text} Its application ID (a line `Submitted application application_...`) is "
                f"in the step's stderr once EMR has uploaded it (`jupyter-emr-roles steps logs "
                f"--cluster-id {self.cluster_id} {view.id}`); stop it with `yarn application "
                "-kill ID` on the cluster's primary node.")

    def application_id(self, view: StepView) -> str | None:
        """The YARN application a spark-submit step submitted, as its stderr names it (None
        while EMR has not uploaded that log, or where it may not be read)."""
        try:
            found = _APPLICATION.search(self._read(self._log_object(view.id, "stderr")))
        except (AwsCallError, StepError):
            return None
        return found.group(0) if found else None

    def log(self, step_id: StepId, stream: str = "stderr") -> str:
        """The step's log ``stream`` as EMR keeps it under the cluster's log URI in S3."""
        view = self.describe(step_id)
        bucket, key = self._log_object(step_id, stream)
        try:
            return self._read((bucket, key))
        except AwsCallError as exc:
            if exc.code != "NotFound":
                raise
            raise StepError(_not_uploaded(view, bucket, key, stream)) from None

    def driver_logs(self, step_id: StepId) -> str | None:
        """Where a cluster-mode spark-submit's driver logs, which is not the step's log: the
        application's first container under ``<LogUri>/<clusterId>/containers/``."""
        view = self.describe(step_id)
        if not cluster_mode(view.args):
            return None
        bucket, prefix = self._log_prefix()
        application = self.application_id(view)
        where = f"s3://{bucket}/{prefix}containers/{application or 'APPLICATION_ID'}/"
        return (f"This step ran spark-submit in cluster mode: the driver's own output is in "
                f"{where} (its first container, ..._01_000001: stdout.gz and stderr.gz), put "
                "there once the application has ended." + (
                    "" if application else " The application ID is a line `Submitted "
                    "application application_...` of the step's stderr."))

    def _read(self, location: tuple[str, str]) -> str:
        return read_gzip(self.target.session, *location)

    def upload_script(self, upload_to: str, body: str, name: str | None = None) -> str:
        """A notebook cell as a PySpark script in S3 (``common.upload_script``)."""
        return upload_script(self.target.session, upload_to, body, name)

    @staticmethod
    def script_command(script_uri: str, script_args: Sequence[str] = ()) -> list[str]:
        """The step command that runs an uploaded PySpark script on the cluster's YARN."""
        return ["spark-submit", "--deploy-mode", "cluster", script_uri, *script_args]

    def _log_object(self, step_id: str, stream: str) -> tuple[str, str]:
        bucket, prefix = self._log_prefix()
        return bucket, f"{prefix}steps/{step_id}/{stream}.gz"

    def _log_prefix(self) -> tuple[str, str]:
        """(bucket, ``<prefix>/<clusterId>/``) of the cluster's logs under its log URI."""
        location = log_prefix(self.target.cluster.get("LogUri") or "")
        if location is None:
            raise StepError(f"Cluster {self.cluster_id} keeps no logs in S3 (it was created "
                            "without a log URI), so EMR kept step logs on the cluster only. "
                            "See them in the cluster's Spark history server, or create "
                            "clusters with --log-uri s3://BUCKET/logs/.")
        return location[0], f"{location[1]}{self.cluster_id}/"


def command_runner_args(args: Sequence[str]) -> list[str]:
    """The arguments as command-runner.jar needs them under a runtime role: it joins them into
    one command line and splits it again, so an argument with spaces, quotes or backslashes
    goes in double quotes, its own quotes and backslashes escaped (AWS's example:
    ``["bash", "-c", "\"aws s3 ls\""]``)."""
    return [arg if arg and not _NEEDS_QUOTES.search(arg) else
            '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"' for arg in args]


def cluster_mode(args: Sequence[str]) -> bool:
    """Whether a step's command is a spark-submit in cluster mode (its driver a YARN
    application of its own), read from its options before the application."""
    if not args or args[0] != "spark-submit":
        return False
    words, index = list(args), 1
    while index < len(words) and words[index].startswith("-"):
        name, equals, value = words[index].partition("=")
        if not equals and words[index] not in _SPARK_SUBMIT_FLAGS:
            index += 1
            value = words[index] if index < len(words) else ""
        if (name, value) in (("--deploy-mode", "cluster"), ("--master", "yarn-cluster")):
            return True
        index += 1
    return False


def step_name(args: Sequence[str]) -> str:
    """A step's name when none is given: its command line, as EMR's console shows it."""
    return " ".join(args)[:_MAX_NAME] or "step"


def _denied_fix(role: RoleArn) -> str:
    return ("Adding a step as a runtime role needs elasticmapreduce:AddJobFlowSteps on the "
            f"cluster with the elasticmapreduce:ExecutionRoleArn condition allowing {role}, and "
            "iam:PassRole on that role; ask your admin (examples/admin/caller-policy.json), or "
            "pick a role you are allowed to use. No step was added.")


def _not_uploaded(view: StepView, bucket: str, key: str, stream: str) -> str:
    if not view.final:
        return (f"Step {view.id} is {view.state}: EMR puts its {stream} in s3://{bucket}/{key} "
                "while it runs, every few minutes, and once it ends. Try again later.")
    return (f"s3://{bucket}/{key} does not exist: the step ended {view.state} without writing "
            f"to {stream}, or EMR has not uploaded it yet (it does within about five minutes "
            f"of the end). Other streams: {', '.join(LOG_STREAMS)}.")

"""Job runs of an EMR Serverless application under a role: submit one, follow it to its end,
list, cancel, read its driver's log; the Serverless twin of a cluster's steps, behind the same
calls.

A job run names its role (StartJobRun's ``executionRoleArn``, required on every release: there
is no release too old for it), and EMR Serverless assumes the role itself, so the role must
trust ``emr-serverless.amazonaws.com`` and the caller may pass it (iam:PassRole). The
application is found and the role chosen as a connect finds and chooses them
(``application_target``). A stopped application with auto-start on starts for the job by
itself; one with auto-start off is said so, with the fix, and nothing is submitted. Each
StartJobRun carries a client token of its own, so a call botocore retries starts no second
job. The job's entry point is a Python script in S3 (``-- s3://BUCKET/job.py ARG...``), run by
spark-submit; its driver's stdout and stderr go where ``--log-uri`` says, as
``LOGURI/applications/APP/jobs/JOBRUN/SPARK_DRIVER/STREAM.gz`` (AWS's "Logging" page).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ..application_target import ApplicationTarget
from ..aws.calls import answer_field, aws_call
from ..aws.serverless import auto_start, start_fix
from ..errors import AwsCallError, StepError
from ..identifiers import JobRunId, RoleArn
from .common import RunView, follow, log_prefix, parse_s3_prefix, read_gzip, upload_script, utc

log = logging.getLogger(__name__)

DRIVER_STREAMS = ("stderr", "stdout")
DEFAULT_LIST_LIMIT = 50
_MAX_NAME = 256
_NOT_STARTED = ("CREATED", "STOPPED", "STOPPING")


class JobView(RunView):
    """One job run as EMR Serverless describes it (GetJobRun, or ListJobRuns' summary)."""

    KIND = "Job run"
    SUCCESS = "SUCCESS"
    FINAL = ("SUCCESS", "FAILED", "CANCELLED")

    @classmethod
    def from_api(cls, run: dict[str, Any], log_file: str | None = None) -> JobView:
        submit = run.get("jobDriver", {}).get("sparkSubmit", {})
        args = tuple(part for part in (submit.get("entryPoint"),) if part) + tuple(
            submit.get("entryPointArguments", []))
        ended = run.get("endedAt") or (run.get("updatedAt")
                                       if run.get("state") in cls.FINAL else None)
        return cls(run.get("jobRunId") or run.get("id", ""), run.get("name", ""),
                   run.get("state", ""), run.get("executionRole"), args,
                   utc(run.get("createdAt")), utc(run.get("startedAt")), utc(ended),
                   run.get("stateDetails") or None, log_file)


class ApplicationJobs:
    """The job runs of one EMR Serverless application, reached as ``target`` reached it: the
    calls of ``ClusterSteps``, so the faces use either alike."""

    FLAG = "--application-id"
    NOUN = "job run"

    def __init__(self, target: ApplicationTarget) -> None:
        self.target = target
        self.where: str = target.application["applicationId"]
        self._client = target.serverless.client

    def submit(self, args: Sequence[str], name: str | None = None,
               log_uri: str | None = None) -> JobRunId:
        """Start a job run of ``args`` (the entry point in S3, then its arguments) as the
        target's role, its driver's logs under ``log_uri``; the application is checked first,
        so a job it would refuse is not submitted."""
        role = self.target.required_role()
        entry, arguments = _entry_point(args)
        self._check_application()
        request: dict[str, Any] = {
            "applicationId": self.where, "executionRoleArn": role,
            "clientToken": uuid.uuid4().hex, "name": (name or " ".join(args))[:_MAX_NAME],
            "jobDriver": {"sparkSubmit": {"entryPoint": entry,
                                          "entryPointArguments": list(arguments)}}}
        if log_uri:
            parse_s3_prefix(log_uri, "--log-uri")
            request["configurationOverrides"] = {"monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": log_uri}}}
        what = f"starting a job run on EMR Serverless application {self.where} as {role}"
        answer = aws_call(what, lambda: self._client.start_job_run(**request),
                          denied_fix=_denied_fix(self.where, role))
        job_run_id = answer_field(answer, what, "jobRunId")
        log.info("started job run %s on %s as %s", job_run_id, self.where, role)
        return JobRunId(job_run_id, "StartJobRun")

    def _check_application(self) -> None:
        """What EMR Serverless would refuse of the application, said before it refuses."""
        application = self.target.application
        state, kind = application.get("state", ""), str(application.get("type", "Spark"))
        if kind.upper() != "SPARK":
            raise StepError(f"EMR Serverless application {self.where} is a {kind} application: "
                            "it runs no spark-submit job. Pick a Spark application. Nothing "
                            "was submitted.")
        if state == "TERMINATED":
            raise StepError(f"EMR Serverless application {self.where} is deleted (TERMINATED); "
                            "pick another one. Nothing was submitted.")
        if state in _NOT_STARTED and not auto_start(application):
            raise StepError(
                f"EMR Serverless application {self.where} is {state} and its auto-start is "
                f"off, so it would refuse the job. Start it: {start_fix(self.where)}. Nothing "
                "was submitted.")

    def _get(self, job_run_id: str) -> dict[str, Any]:
        what = f"reading job run {job_run_id} of {self.where}"
        answer = aws_call(what, lambda: self._client.get_job_run(applicationId=self.where,
                                                                 jobRunId=job_run_id))
        run: dict[str, Any] = answer_field(answer, what, "jobRun")
        return run

    def describe(self, job_run_id: str) -> JobView:
        run = self._get(job_run_id)
        location = self._log_object(run, "stderr")
        return JobView.from_api(run, f"s3://{location[0]}/{location[1]}" if location else None)

    def follow(self, job_run_id: str, show: Callable[[RunView], None]) -> RunView:
        """Describe the job run until it ends, showing each look (``common.follow``)."""
        return follow(self.describe, job_run_id, show)

    def list(self, limit: int = DEFAULT_LIST_LIMIT) -> list[JobView]:
        """The newest ``limit`` job runs, as ListJobRuns pages them (newest first)."""
        views: list[JobView] = []
        token: dict[str, str] = {}
        while len(views) < limit:
            page = aws_call(f"listing the job runs of {self.where}", lambda: self._client
                            .list_job_runs(applicationId=self.where, **token))
            views += [JobView.from_api(run) for run in page.get("jobRuns", [])]
            if not page.get("nextToken"):
                break
            token = {"nextToken": page["nextToken"]}
        return views[:limit]

    def cancel(self, job_run_id: JobRunId) -> str:
        """Ask EMR Serverless to cancel the job run (its driver is stopped)."""
        aws_call(f"cancelling job run {job_run_id} of {self.where}",
                 lambda: self._client.cancel_job_run(applicationId=self.where,
                                                     jobRunId=job_run_id))
        return (f"Cancel of job run {job_run_id} submitted; `jupyter-emr-roles steps list "
                f"--application-id {self.where}` shows it CANCELLED once EMR Serverless has "
                "stopped its driver.")

    def log(self, job_run_id: JobRunId, stream: str = "stderr") -> str:
        """The driver's log ``stream`` as EMR Serverless keeps it under the job's log URI."""
        if stream not in DRIVER_STREAMS:
            raise StepError(f"EMR Serverless keeps a job run's driver logs as "
                            f"{' and '.join(DRIVER_STREAMS)}; there is no {stream}.")
        run = self._get(job_run_id)
        location = self._log_object(run, stream)
        if location is None:
            raise StepError(_no_log_uri(self.where, job_run_id))
        try:
            return read_gzip(self.target.session, *location)
        except AwsCallError as exc:
            if exc.code != "NotFound":
                raise
            raise StepError(_not_uploaded(JobView.from_api(run), location, stream)) from None

    def driver_logs(self, job_run_id: JobRunId) -> str | None:
        """A job run's log is its driver's: nothing else to point to."""
        return None

    def upload_script(self, upload_to: str, body: str, name: str | None = None) -> str:
        """A notebook cell as a PySpark script in S3 (``common.upload_script``)."""
        return upload_script(self.target.session, upload_to, body, name)

    @staticmethod
    def script_command(script_uri: str, script_args: Sequence[str] = ()) -> list[str]:
        """A job run of an uploaded PySpark script: its entry point and arguments."""
        return [script_uri, *script_args]

    def _log_object(self, run: dict[str, Any], stream: str) -> tuple[str, str] | None:
        """(bucket, key) of the driver's ``stream`` under the job's S3 log URI, if it has one."""
        monitoring = run.get("configurationOverrides", {}).get("monitoringConfiguration", {})
        location = log_prefix(monitoring.get("s3MonitoringConfiguration", {}).get("logUri", ""))
        if location is None:
            return None
        return location[0], (f"{location[1]}applications/{self.where}/jobs/"
                             f"{run.get('jobRunId')}/SPARK_DRIVER/{stream}.gz")


def _entry_point(args: Sequence[str]) -> tuple[str, Sequence[str]]:
    """The job's entry point (a script in S3) and its arguments."""
    if not args or not args[0].startswith("s3://"):
        raise StepError("A job run on EMR Serverless runs a script in S3: give it after --, "
                        "with its arguments, e.g. `-- s3://bucket/scripts/job.py s3://bucket/"
                        f"out/`{f' (not {args[0]!r})' if args else ''}. Nothing was submitted.")
    return args[0], args[1:]


def _denied_fix(application_id: str, role: RoleArn) -> str:
    return ("Starting a job run as a role needs emr-serverless:StartJobRun on application "
            f"{application_id} and iam:PassRole on {role} (to emr-serverless.amazonaws.com); "
            "ask your admin, or pick a role you are allowed to use. Nothing was submitted.")


def _no_log_uri(application_id: str, job_run_id: str) -> str:
    return (f"Job run {job_run_id} keeps no logs in S3: it was submitted without --log-uri, so "
            "EMR Serverless kept them in its managed storage. See them in the job's Spark UI "
            f"(`aws emr-serverless get-dashboard-for-job-run --application-id {application_id} "
            f"--job-run-id {job_run_id}`), or submit with --log-uri s3://BUCKET/logs/.")


def _not_uploaded(view: JobView, location: tuple[str, str], stream: str) -> str:
    where = f"s3://{location[0]}/{location[1]}"
    if not view.final:
        return (f"Job run {view.id} is {view.state}: EMR Serverless puts its driver's {stream} "
                f"in {where} while it runs and once it ends. Try again later.")
    return (f"{where} does not exist: the job run ended {view.state} before its driver wrote "
            f"to {stream}, or EMR Serverless has not uploaded it yet. Other stream: "
            f"{', '.join(s for s in DRIVER_STREAMS if s != stream)}.")

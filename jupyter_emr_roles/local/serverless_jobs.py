"""EMR Serverless's batch job runs, as the emulator's ``emr-serverless`` answers for them.

StartJobRun, GetJobRun, ListJobRuns and CancelJobRun under
``/applications/{applicationId}/jobruns``, with the rules of AWS's API reference: the
``executionRoleArn`` passed (iam:PassRole), a ``clientToken`` that makes StartJobRun idempotent
(the same token and request are the same job run; another request is a conflict), a stopped
application started for the job where its auto-start is on and the job refused where it is
off, ListJobRuns newest first, a page at a time, filtered by states and creation times, and
CancelJobRun refused for a job run that has ended. IAM authorizes StartJobRun and ListJobRuns
on the application's ARN, GetJobRun and CancelJobRun on the job run's
(``.../applications/ID/jobruns/JOB_RUN_ID``, the ARN the API gives a job run).

Each job run really runs (``serverless_job_runner.py``), and one that has not ended keeps its
application from stopping idle and StopApplication from stopping it.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .callers import AwsError
from .operations import Call, Operation, rows
from .serverless import (
    EmrServerless,
    ServerlessApplication,
    ServerlessSettings,
    application_arn,
    check_application_id,
    check_ids,
    newest_page,
    role_refusal,
)
from .serverless_job_runner import ENDED, GRACE_SECONDS, JobRun, JobRunner

_ID_CHARACTERS = string.ascii_lowercase + string.digits
_ID_LENGTH = 16
# Seconds a job waits for its application to start (EMR Serverless fails it after that).
START_TIMEOUT = 300.0
_JOB_RUNS = "/applications/{applicationId}/jobruns"
_SUMMARY = ("applicationId", "name", "mode", "arn", "createdBy", "createdAt", "updatedAt",
            "executionRole", "state", "stateDetails", "releaseLabel", "attempt",
            "attemptCreatedAt", "attemptUpdatedAt")


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def job_run_arn(call: Call) -> str:
    """A job run's ARN under its application's, which IAM authorizes GetJobRun and CancelJobRun
    on."""
    return f"{application_arn(call)}/jobruns/{call.params.get('jobRunId')}"


def check_job_run_id(params: dict[str, Any]) -> None:
    check_ids(params, "applicationId", "jobRunId")


def _row(name: str, answer: Callable[[Any, Call], Any], method: str,
         resource: Callable[[Call], str], **rules: Any) -> Operation:
    """A job run call: on the application's job runs, or on one job run (then its ID is the
    path's last segment, checked as AWS checks it)."""
    one = resource is job_run_arn
    return Operation(name, answer, resource=resource,
                     validate=check_job_run_id if one else check_application_id,
                     route=(method, _JOB_RUNS + ("/{jobRunId}" if one else "")), **rules)


def check_driver(application: ServerlessApplication, params: dict[str, Any]) -> None:
    """A Spark application runs a sparkSubmit job with an entry point."""
    driver = params.get("jobDriver") or {}
    if application.type.upper() == "SPARK" and not (driver.get("sparkSubmit") or {}).get(
            "entryPoint"):
        raise _invalid("Job driver must be sparkSubmit with an entryPoint for a Spark "
                       "application.")


def described(job: JobRun) -> dict[str, Any]:
    """GetJobRun's shape of a job run."""
    answer: dict[str, Any] = {
        "applicationId": job.application_id, "jobRunId": job.id, "arn": job.arn,
        "createdBy": job.created_by, "createdAt": job.created, "updatedAt": job.updated,
        "executionRole": job.role_arn, "state": job.state, "stateDetails": job.details,
        "releaseLabel": job.release, "jobDriver": job.request.get("jobDriver") or {},
        "configurationOverrides": job.request.get("configurationOverrides") or {},
        "tags": job.request.get("tags") or {}, "mode": job.request.get("mode", "BATCH"),
        "executionTimeoutMinutes": job.request.get("executionTimeoutMinutes", 720),
        "attempt": 1, "attemptCreatedAt": job.created, "attemptUpdatedAt": job.updated}
    for key, value in (("name", job.request.get("name")), ("startedAt", job.started),
                       ("endedAt", job.ended)):
        if value is not None:
            answer[key] = value
    if job.ended is not None and job.started is not None:
        answer["totalExecutionDurationSeconds"] = int(job.ended - job.started)
    return answer


class EmrServerlessJobs(EmrServerless):
    """The four job run calls of ``emr-serverless``, beside the applications' service (whose
    applications they find); also the applications' ``Interactive`` work: a job run that has not
    ended keeps its application from stopping idle."""

    def __init__(self, applications: EmrServerless, settings: ServerlessSettings) -> None:
        self.backends = applications.backends
        self.settings = settings
        self.jobs: dict[tuple[str, str], JobRun] = {}
        self._tokens: dict[tuple[str, str], JobRun] = {}
        self._lock = threading.Lock()
        self.runner = JobRunner(settings.role_credentials, settings.engine,
                                settings.folder or Path("job-runs"), role_refusal,
                                self._wait_started)
        settings.interactive.append(self)
        settings.stop_refusals.append(self.stop_refusal)

    def backend(self, call: Call) -> Any:
        return self

    def application(self, call: Call) -> ServerlessApplication:
        return self.backends[call.caller.account, call.region].current(
            call.params["applicationId"])

    def start_job_run(self, call: Call) -> dict[str, Any]:
        """A job run SUBMITTED (or the one an earlier call with this client token started); a
        stopped application with auto-start starts for it."""
        params = {key: value for key, value in call.params.items() if key != "query"}
        application = self.application(call)
        token = (application.id, params.get("clientToken") or "")
        with self._lock:
            earlier = self._tokens.get(token) if token[1] else None
        if earlier is not None:
            if earlier.request != params:
                raise AwsError("ConflictException", "The client token was already used with "
                                                    "a different request.", 409)
            return _started(earlier)
        application.submitted()
        check_driver(application, params)
        job = self._new_job(call, application, params)
        with self._lock:
            self.jobs[job.application_id, job.id] = job
            if token[1]:
                self._tokens[token] = job
        self.runner.launch(job)
        return _started(job)

    def _new_job(self, call: Call, application: ServerlessApplication,
                 params: dict[str, Any]) -> JobRun:
        job_id = "".join(secrets.choice(_ID_CHARACTERS) for _ in range(_ID_LENGTH))
        return JobRun(job_id, application.id, f"{application.arn}/jobruns/{job_id}",
                      call.caller.account, call.region, application.release_label,
                      params["executionRoleArn"], call.caller.arn, params)

    def _wait_started(self, job: JobRun) -> None:
        """Until the job's application has STARTED (it may be starting for this job), or the
        job is cancelled; a job whose application stops or never starts fails."""
        deadline = time.monotonic() + START_TIMEOUT
        while not job.cancelled.is_set():
            state = self.backends[job.account, job.region].current(job.application_id).state
            if state == "STARTED":
                return
            if state not in ("CREATED", "STARTING") or time.monotonic() > deadline:
                raise RuntimeError(f"Application {job.application_id} did not start for the "
                                   f"job run (it is {state}).")
            job.cancelled.wait(0.1)

    def job(self, call: Call) -> JobRun:
        """The job run the call names, of an application that exists (job run IDs are the
        application's own)."""
        key = (self.application(call).id, call.params.get("jobRunId", ""))
        with self._lock:
            found = self.jobs.get(key)
        if found is None:
            raise AwsError("ResourceNotFoundException", f"Job run {key[1]} does not exist", 404)
        return found

    def get_job_run(self, call: Call) -> dict[str, Any]:
        return {"jobRun": described(self.job(call))}

    def list_job_runs(self, call: Call) -> dict[str, Any]:
        """Newest first, in the asked states and creation times, a page at a time."""
        application = self.application(call)
        with self._lock:
            mine = [job for job in self.jobs.values() if job.application_id == application.id]
        page, token = newest_page(mine, call.params["query"], lambda job: job.state,
                                  lambda job: job.created)
        answer: dict[str, Any] = {"jobRuns": [_summary(job) for job in page]}
        if token is not None:
            answer["nextToken"] = token
        return answer

    def cancel_job_run(self, call: Call) -> dict[str, Any]:
        """A job run that has not ended is cancelled; one that has cannot be."""
        job = self.job(call)
        grace = call.params["query"].get("shutdownGracePeriodInSeconds", [str(GRACE_SECONDS)])[0]
        if job.state in ENDED or job.state == "CANCELLING":
            raise _invalid(f"Job run {job.id} is not in a cancellable state: it is {job.state}.")
        job.cancel(float(grace) if grace.isdigit() else GRACE_SECONDS)
        return {"applicationId": job.application_id, "jobRunId": job.id}

    def live(self, application_id: str) -> bool:
        """Whether a job run of the application has not ended (``Interactive``)."""
        with self._lock:
            return any(job.application_id == application_id and job.state not in ENDED
                       for job in self.jobs.values())

    def stop(self, application_id: str) -> None:
        """The application is stopping (``Interactive``): StopApplication refused it while a job
        run had not ended (``stop_refusal``), and it stops idle only once none is left."""

    def stop_refusal(self, application_id: str) -> str | None:
        """Why StopApplication may not stop the application: "All scheduled and running jobs
        must be completed or cancelled before stopping an application" (its API reference)."""
        with self._lock:
            live = sorted(job.id for job in self.jobs.values()
                          if job.application_id == application_id and job.state not in ENDED)
        if not live:
            return None
        return (f"Application {application_id} has job runs that have not completed "
                f"({', '.join(live)}); cancel them or wait for them to complete before "
                "stopping the application.")

    def close(self) -> None:
        with self._lock:
            jobs = list(self.jobs.values())
        self.runner.close(jobs)

    operations = rows(
        _row("StartJobRun", start_job_run, "POST", application_arn, passes_role=True,
             role_parameter="executionRoleArn"),
        _row("ListJobRuns", list_job_runs, "GET", application_arn),
        _row("GetJobRun", get_job_run, "GET", job_run_arn),
        _row("CancelJobRun", cancel_job_run, "DELETE", job_run_arn),
    )


def _started(job: JobRun) -> dict[str, Any]:
    return {"applicationId": job.application_id, "jobRunId": job.id, "arn": job.arn}


def _summary(job: JobRun) -> dict[str, Any]:
    """ListJobRuns' shape of a job run: GetJobRun's first fields, its ID as ``id``, its
    engine as ``type``."""
    summary = {key: value for key, value in described(job).items() if key in _SUMMARY}
    summary.update({"id": job.id, "type": "Spark"})
    return summary

"""An EMR Serverless job run as the emulator runs it: a real process under the job's execution
role, its states moving as AWS's user guide ("Job run states") tells them, its driver's logs
put where AWS puts them.

A job is SUBMITTED until its application has STARTED (a stopped one with auto-start starts for
it), then PENDING and SCHEDULED while EMR Serverless finds it workers, RUNNING once its Spark
driver runs, and SUCCESS or FAILED by the driver's exit. CancelJobRun makes it CANCELLING,
then CANCELLED once its driver has stopped (SIGTERM, then SIGKILL after the grace period).
EMR Serverless assumes the execution role itself (the role must trust
emr-serverless.amazonaws.com, or the job FAILS with STS's refusal as its ``stateDetails``), and
the driver reads ``jobDriver.sparkSubmit.entryPoint`` as that role: the emulator's
spark-submit (``command_runner.py``, in client mode, the driver being the process) runs it with
``entryPointArguments`` and ``sparkSubmitParameters``, with real PySpark or the fake engine.
With ``configurationOverrides.monitoringConfiguration.s3MonitoringConfiguration.logUri`` the
driver's stdout and stderr land gzipped in
``LOGURI/applications/APP/jobs/JOBRUN/SPARK_DRIVER/`` (AWS's "Logging" page), while the job
runs and once it has ended.
"""

from __future__ import annotations

import gzip
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.s3.models import s3_backends

from .command_runner import MODULE

log = logging.getLogger(__name__)

ENDED = ("SUCCESS", "FAILED", "CANCELLED")
# Seconds a job spends at the least in each state before RUNNING (EMR Serverless takes seconds
# to schedule a job and bring its driver up).
STAGE_SECONDS = 0.3
# Seconds between two uploads of a running job's driver logs.
LOG_PUSH_SECONDS = 1.0
# CancelJobRun's shutdownGracePeriodInSeconds when not given (the API reference: 120 for batch).
GRACE_SECONDS = 120
# What a failed job's stateDetails begins with, as EMR Serverless words it.
FAILED_DETAILS = "Job failed, please check complete logs in configured logging destination."


@dataclass
class JobRun:
    """One job run: what StartJobRun asked for, where the run is, and its driver's process."""

    id: str
    application_id: str
    arn: str
    account: str
    region: str
    release: str
    role_arn: str
    created_by: str
    request: dict[str, Any]
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    state: str = "SUBMITTED"
    details: str = ""
    started: float | None = None
    ended: float | None = None
    grace: float = GRACE_SECONDS
    cancelled: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen[bytes] | None = None

    def move(self, state: str, details: str = "") -> None:
        """Enter ``state``; an ended run stays as it ended."""
        if self.state in ENDED:
            return
        self.state, self.details, self.updated = state, details, time.time()
        if state == "RUNNING":
            self.started = self.updated
        if state in ENDED:
            self.ended = self.updated

    def cancel(self, grace: float) -> None:
        """CancelJobRun: CANCELLING, its driver asked to stop (and killed after ``grace``)."""
        self.grace = grace
        self.move("CANCELLING")
        self.cancelled.set()
        if self.process is not None:
            _signal(self.process, signal.SIGTERM)

    def spark_submit(self) -> list[str]:
        """spark-submit's words for the job: its parameters, entry point and arguments."""
        submit = (self.request.get("jobDriver") or {}).get("sparkSubmit") or {}
        parameters = shlex.split(submit.get("sparkSubmitParameters") or "")
        return ["spark-submit", *parameters, submit.get("entryPoint", ""),
                *(str(arg) for arg in submit.get("entryPointArguments") or [])]

    def log_location(self) -> tuple[str, str] | None:
        """(bucket, key prefix) of the driver's logs under the job's S3 log URI, if any."""
        monitoring = (self.request.get("configurationOverrides") or {}).get(
            "monitoringConfiguration") or {}
        uri = (monitoring.get("s3MonitoringConfiguration") or {}).get("logUri") or ""
        scheme, _, rest = uri.partition("://")
        if scheme not in ("s3", "s3n", "s3a") or not rest:
            return None
        bucket, _, prefix = rest.partition("/")
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        return bucket, (f"{prefix}applications/{self.application_id}/jobs/{self.id}/"
                        "SPARK_DRIVER/")


@dataclass
class JobRunner:
    """Runs job runs, each on a thread of its own. ``credentials(role_arn, session_name)``: the
    environment of a process that runs as the role (None: this emulator runs no jobs);
    ``started(job)``: waits until the job's application has STARTED, raising RuntimeError with
    the reason where it will not."""

    credentials: Callable[[str, str], dict[str, str]] | None
    engine: str
    folder: Path
    refusal: Callable[[str], str | None]
    started: Callable[[JobRun], None]

    def launch(self, job: JobRun) -> None:
        threading.Thread(target=self._run, args=(job,), daemon=True,
                         name=f"job-run-{job.id}").start()

    def _run(self, job: JobRun) -> None:
        try:
            self._stages(job)
            if not job.cancelled.is_set():
                self._execute(job)
        except RuntimeError as exc:
            job.move("FAILED", str(exc))
        except Exception as exc:  # noqa: BLE001  a job that cannot start fails, as on AWS
            log.exception("job run %s could not run", job.id)
            job.move("FAILED", f"Job could not start: {exc}")
        if job.cancelled.is_set():
            job.move("CANCELLED", "Job run cancelled.")

    def _stages(self, job: JobRun) -> None:
        """SUBMITTED until the application has started, then PENDING and SCHEDULED; the role
        is assumed as the driver is scheduled."""
        self.started(job)
        for state in ("PENDING", "SCHEDULED"):
            if job.cancelled.wait(STAGE_SECONDS):
                return
            job.move(state)
        refused = self.refusal(job.role_arn)
        if refused is not None:
            raise RuntimeError(refused)
        if self.credentials is None:
            raise RuntimeError("This emulator runs no job runs.")

    def _execute(self, job: JobRun) -> None:
        """The driver as a real process, as the execution role; its exit ends the job."""
        assert self.credentials is not None
        work = self.folder / job.id
        work.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update(self.credentials(job.role_arn, job.id))
        command = [shlex.quote(word) for word in job.spark_submit()]
        with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
            job.process = subprocess.Popen(
                [sys.executable, "-m", MODULE, "run", "--engine", self.engine, "--work",
                 str(work), "--", *command], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env=env, cwd=work, start_new_session=True)
        job.move("RUNNING")
        if job.cancelled.is_set():
            _signal(job.process, signal.SIGTERM)
        code = self._wait(job, work)
        if code != 0 and not job.cancelled.is_set():
            last = _last_line(work / "stderr")
            job.move("FAILED", f"{FAILED_DETAILS} ExitCode: {code}."
                               + (f" Last few exceptions: {last}" if last else ""))
        elif not job.cancelled.is_set():
            job.move("SUCCESS")
        _upload(job, work)

    def _wait(self, job: JobRun, work: Path) -> int:
        """The driver's exit code; its logs uploaded while it runs, and a cancelled driver
        killed once its grace period is over."""
        assert job.process is not None
        cancelled_at: float | None = None
        while True:
            try:
                return job.process.wait(LOG_PUSH_SECONDS)
            except subprocess.TimeoutExpired:
                _upload(job, work)
            if job.cancelled.is_set():
                cancelled_at = cancelled_at or time.monotonic()
                if time.monotonic() - cancelled_at >= job.grace:
                    _signal(job.process, signal.SIGKILL)

    def close(self, jobs: list[JobRun]) -> None:
        """Stop every driver still running."""
        for job in jobs:
            job.cancelled.set()
            if job.process is not None and job.process.poll() is None:
                _signal(job.process, signal.SIGKILL)


def _upload(job: JobRun, work: Path) -> None:
    """The driver's stdout and stderr so far, gzipped under the log URI (a bucket that does not
    exist gets nothing)."""
    location = job.log_location()
    if location is None:
        return
    bucket, prefix = location
    backend = s3_backends[job.account]["aws"]
    if bucket not in backend.buckets:
        return
    for stream in ("stdout", "stderr"):
        if (work / stream).exists():
            backend.put_object(bucket, prefix + f"{stream}.gz",
                               gzip.compress((work / stream).read_bytes()))


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the driver and whatever it started (its own process group)."""
    try:
        os.killpg(process.pid, signum)
    except OSError:
        pass

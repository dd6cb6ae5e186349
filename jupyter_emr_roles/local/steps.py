"""Steps as the emulated EMR runs them: one at a time per cluster, PENDING, RUNNING, then an
end decided by the command's exit code, with their logs put where the cluster's log URI says.

moto records AddJobFlowSteps but keeps every step PENDING, drops the
``ExecutionRoleArn``, filters ``ListSteps`` by that frozen state and has no
CancelSteps. Here each step remembers its runtime role and runs for real, behind
the steps before it (a cluster runs one step at a time unless told otherwise):
command-runner.jar's arguments become a real process (``command_runner.py``)
with the role's temporary credentials in its environment, as EMR runs a step
under its runtime role; its exit code makes the step COMPLETED or FAILED, with
the last line of its stderr as the failure's message. A cancel of a running
step interrupts its process (SIGTERM) and nothing it started elsewhere. EMR
puts a step's logs, gzipped, under ``<LogUri>/<clusterId>/steps/<stepId>/``
(stdout, stderr, controller) every few minutes while it runs and once it ends,
and a YARN application's container logs under ``<LogUri>/<clusterId>/containers/``
once it ends; the emulator does the same, every second. The steps run on the
machine of the emulator, as the user who started it: it serves 127.0.0.1 only.
"""

from __future__ import annotations

import gzip
import logging
import os
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

from .callers import AwsError
from .command_runner import EXIT_FILE, MODULE, PID_FILE
from .issued import Identity

log = logging.getLogger(__name__)

# Seconds a step spends PENDING at the least, and RUNNING at the least (EMR's controller takes
# seconds to start a step's process and to wind it down).
STEP_PENDING_SECONDS = 1.0
STEP_RUNNING_SECONDS = 1.0
# Seconds between two uploads of a running step's logs (EMR: about five minutes).
LOG_PUSH_SECONDS = 1.0
FINAL = ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED")


@dataclass
class StepSettings:
    """How steps run: the runtime role's credentials (``credentials(identity)``: the
    environment the emulator's AssumeRole gives), the Spark engine, and the folder the steps'
    processes work and log in."""

    credentials: Callable[[Identity], dict[str, str]]
    engine: str
    folder: Path
    python: str = sys.executable


@dataclass
class StepRecord:
    """What EMR knows of a step beyond moto's record, and the process that runs it."""

    step_id: str
    cluster_id: str
    account: str
    identity: Identity | None
    args: list[str]
    log_uri: str | None
    created: float = field(default_factory=time.time)
    state: str = "PENDING"
    start: float | None = None
    end: float | None = None
    failure: str | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen[bytes] | None = None


class StepBook:
    """Every step the emulator was given, each run by a thread of its own once the step
    before it on its cluster is done."""

    def __init__(self, settings: StepSettings | None = None) -> None:
        self.settings = settings
        self.steps: dict[str, StepRecord] = {}
        self._last: dict[str, StepRecord] = {}
        self._lock = threading.Lock()

    def record(self, params: dict[str, Any], answer: dict[str, Any], cluster: Any,
               account: str, identity: Identity | None = None) -> None:
        for step_id, step in zip(answer.get("StepIds", []), params.get("Steps", [])):
            args = [str(arg) for arg in step.get("HadoopJarStep", {}).get("Args", [])]
            record = StepRecord(step_id, cluster.id, account, identity, args, cluster.log_uri)
            with self._lock:
                before = self._last.get(cluster.id)
                self.steps[step_id] = self._last[cluster.id] = record
            threading.Thread(target=self._run, args=(record, before), daemon=True,
                             name=f"step-{step_id}").start()

    def cancel(self, cluster: Any, params: dict[str, Any]) -> dict[str, Any]:
        """CancelSteps: a step not yet ended is cancelled (a running one interrupted); one
        that has ended is not."""
        answers = []
        for step_id in params.get("StepIds", []):
            record = self.steps.get(step_id)
            if record is None or record.cluster_id != cluster.id:
                answers.append({"StepId": step_id, "Status": "FAILED",
                                "Reason": f"Step {step_id} is not a step of {cluster.id}."})
                continue
            with self._lock:
                state = record.state
                if state not in FINAL and state != "CANCEL_PENDING":
                    record.cancelled.set()
                    record.state = "CANCELLED" if state == "PENDING" else "CANCEL_PENDING"
                    record.end = time.time() if state == "PENDING" else None
            if state in FINAL or state == "CANCEL_PENDING":
                answers.append({"StepId": step_id, "Status": "FAILED",
                                "Reason": f"Step {step_id} is already {state}."})
                continue
            if record.process is not None:
                record.process.send_signal(signal.SIGTERM)
            answers.append({"StepId": step_id, "Status": "SUBMITTED"})
        return {"CancelStepsInfoList": answers}

    def close(self) -> None:
        """Stop every step's process and every application driver still running."""
        for record in list(self.steps.values()):
            record.cancelled.set()
            if record.process is not None and record.process.poll() is None:
                record.process.kill()
        if self.settings is not None:
            for pid_file in self.settings.folder.glob(f"*/containers/*/*/{PID_FILE}"):
                if not (pid_file.parent / EXIT_FILE).exists():
                    _kill_group(int(pid_file.read_text()))

    def _run(self, record: StepRecord, before: StepRecord | None) -> None:
        """Wait for the step before and the least pending time, then run the command."""
        if before is not None:
            before.done.wait()
        record.cancelled.wait(max(0.0, record.created + STEP_PENDING_SECONDS - time.time()))
        try:
            if not record.cancelled.is_set():
                self._execute(record)
        except PermissionError as exc:  # the cluster may not assume the role: EMR fails late
            self._finish(record, 1, f"The step could not assume its runtime role: {exc}")
        except Exception as exc:  # noqa: BLE001  a step that cannot start fails, as on EMR
            log.exception("step %s could not run", record.step_id)
            self._finish(record, 1, f"The step could not start: {exc}")
        finally:
            record.done.set()

    def _execute(self, record: StepRecord) -> None:
        """The command as a real process, as the step's runtime role, its logs uploaded while
        it runs; its exit code is the step's end."""
        if self.settings is None:
            raise RuntimeError("this emulator runs no steps")
        work = self.settings.folder / record.step_id
        work.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        if record.identity is not None and record.identity.role_arn:
            env.update(self.settings.credentials(record.identity))
        with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
            record.process = subprocess.Popen(
                [self.settings.python, "-m", MODULE, "run", "--engine", self.settings.engine,
                 "--work", str(work), "--", *record.args],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=work)
        with self._lock:
            record.start = time.time()
            record.state = "CANCEL_PENDING" if record.cancelled.is_set() else "RUNNING"
        if record.cancelled.is_set():
            record.process.send_signal(signal.SIGTERM)
        code = self._wait(record, work)
        record.cancelled.wait(max(0.0, record.start + STEP_RUNNING_SECONDS - time.time()))
        if record.cancelled.is_set():  # its applications go on, and hold no later step up
            threading.Thread(target=self._upload_containers, args=(record, work), daemon=True,
                             name=f"containers-{record.step_id}").start()
        else:
            self._upload_containers(record, work)
        self._finish(record, code, _last_line(work / "stderr"))

    def _wait(self, record: StepRecord, work: Path) -> int:
        assert record.process is not None
        while True:
            try:
                return record.process.wait(LOG_PUSH_SECONDS)
            except subprocess.TimeoutExpired:
                self._upload_logs(record, work)

    def _finish(self, record: StepRecord, code: int, reason: str | None) -> None:
        with self._lock:
            record.end = time.time()
            if record.cancelled.is_set():
                record.state = "CANCELLED"
            elif code == 0:
                record.state = "COMPLETED"
            else:
                record.state = "FAILED"
                record.failure = reason or f"The command exited with code {code}."
        if self.settings is None:
            return
        work = self.settings.folder / record.step_id
        if record.process is None and reason:  # it never started: the reason is its stderr
            work.mkdir(parents=True, exist_ok=True)
            (work / "stderr").write_text(reason + "\n")
        self._upload_logs(record, work, final=True)

    def _upload_containers(self, record: StepRecord, work: Path) -> None:
        """The logs of the YARN applications the step submitted, once each has ended (a
        cancelled step's application goes on: its logs come when it ends)."""
        for container in sorted(work.glob("containers/*/*")):
            while not (container / EXIT_FILE).exists():
                time.sleep(LOG_PUSH_SECONDS)
            relative = container.relative_to(work / "containers")
            for stream in ("stdout", "stderr"):
                if (container / stream).exists():
                    _put(record, f"containers/{relative.as_posix()}/{stream}.gz",
                         (container / stream).read_bytes())

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
        with self._lock:
            state, start, end, failure = record.state, record.start, record.end, record.failure
        status = step["Status"]
        status["State"] = state
        timeline = status.setdefault("Timeline", {})
        timeline["CreationDateTime"] = record.created
        if start is not None:
            timeline["StartDateTime"] = start
        if state in FINAL and end is not None:
            timeline["EndDateTime"] = end
        if state == "FAILED":
            status["FailureDetails"] = {"Reason": "Unknown Error.", "Message": failure,
                                        **_log_file(record)}
        if record.identity is not None and record.identity.role_arn:
            step["ExecutionRoleArn"] = record.identity.role_arn
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

    def _upload_logs(self, record: StepRecord, work: Path, final: bool = False) -> None:
        """The step's stdout and stderr as they are so far, and its controller log, gzipped
        under the log URI as EMR uploads them."""
        command = " ".join(record.args)
        controller = [f"INFO startExec 'hadoop jar command-runner.jar {command}'"]
        if final:
            controller.append(f"INFO Step {record.step_id} ended {record.state}")
        logs = {"controller": "\n".join(controller).encode() + b"\n"}
        for stream in ("stdout", "stderr"):
            if (work / stream).exists():
                logs[stream] = (work / stream).read_bytes()
        for stream, body in logs.items():
            _put(record, f"steps/{record.step_id}/{stream}.gz", body)


def _log_location(record: StepRecord) -> tuple[str, str] | None:
    """(bucket, key prefix) of the cluster's logs under its log URI, if it has one."""
    scheme, _, rest = (record.log_uri or "").partition("://")
    if scheme not in ("s3", "s3n") or not rest:
        return None
    bucket, _, prefix = rest.partition("/")
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    return bucket, f"{prefix}{record.cluster_id}/"


def _put(record: StepRecord, key: str, body: bytes) -> None:
    """One log object, gzipped, under the cluster's log URI (a bucket that does not exist
    gets nothing, as on EMR)."""
    location = _log_location(record)
    if location is None:
        return
    bucket, prefix = location
    backend = s3_backends[record.account]["aws"]
    if bucket in backend.buckets:
        backend.put_object(bucket, prefix + key, gzip.compress(body))


def _log_file(record: StepRecord) -> dict[str, str]:
    location = _log_location(record)
    return {"LogFile": f"s3://{location[0]}/{location[1]}steps/{record.step_id}/stderr.gz"} \
        if location else {}


def _last_line(path: Path) -> str | None:
    """The last line a failed command wrote to stderr: what EMR's FailureDetails show."""
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return None
    return lines[-1].strip() if lines else None


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass

"""What a step on a cluster and a job run on an EMR Serverless application share: one run seen as
a person follows it, following it to its end, and the scripts and logs they keep in S3."""

from __future__ import annotations

import gzip
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

import boto3

from ..aws.calls import aws_call
from ..aws.clients import service_client
from ..errors import StepError
from ..polling import PollPolicy

# A run's progress is looked at after a tenth of the time followed so far, at least every 10 s.
FOLLOW_POLLS = PollPolicy(floor=0.25, ceiling=10.0)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PYSPARK_PREAMBLE = (
    "# Submitted by %%emr_step (jupyter-emr-roles): spark and sc, as a Livy session makes them.\n"
    "from pyspark.sql import SparkSession\n\n"
    "spark = SparkSession.builder.getOrCreate()\n"
    "sc = spark.sparkContext\n\n")


@dataclass(frozen=True)
class RunView:
    """One run (a step, a job run) as a person follows it: what it runs, as which role, where
    it is, and why it ended the way it did. ``KIND`` names it, ``SUCCESS`` is its good end and
    ``FINAL`` its ends."""

    KIND: ClassVar[str] = "Step"
    SUCCESS: ClassVar[str] = "COMPLETED"
    FINAL: ClassVar[tuple[str, ...]] = ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED")

    id: str
    name: str
    state: str
    role_arn: str | None
    args: tuple[str, ...]
    created: datetime | None
    started: datetime | None
    ended: datetime | None
    reason: str | None
    log_file: str | None

    @property
    def final(self) -> bool:
        return self.state in self.FINAL

    @property
    def succeeded(self) -> bool:
        return self.state == self.SUCCESS

    def elapsed(self, now: datetime | None = None) -> float:
        """Seconds since the run was submitted, up to its end."""
        if self.created is None:
            return 0.0
        end = self.ended or now or datetime.now(timezone.utc)
        return max(0.0, (end - self.created).total_seconds())

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "state": self.state,
                "role_arn": self.role_arn, "args": list(self.args),
                "created": _iso(self.created), "started": _iso(self.started),
                "ended": _iso(self.ended), "reason": self.reason, "log_file": self.log_file}

    def progress(self) -> str:
        return f"{self.KIND.lower()} {self.id} {self.state}, {_duration(self.elapsed())}"

    def outcome(self) -> str:
        """The last line a follower shows: how it ended, why, and where its log is."""
        text = (f"{self.KIND} {self.id} ({self.name}) {self.state} after "
                f"{_duration(self.elapsed())}")
        if self.succeeded:
            return text + "."
        text += f": {self.reason}" if self.reason else "."
        if self.log_file:
            text += f" Log: {self.log_file}"
        return text


def follow(describe: Callable[[str], RunView], run_id: str, show: Callable[[RunView], None],
           sleep: Callable[[float], None] = time.sleep) -> RunView:
    """Describe the run until it ends, showing each look; polled after a tenth of the time
    followed so far (at least every 10 s), as a connect waits."""
    wait = FOLLOW_POLLS.start(sleep=sleep)
    while True:
        view = describe(run_id)
        show(view)
        if view.final:
            return view
        wait.again()


def read_gzip(session: boto3.Session, bucket: str, key: str) -> str:
    """An S3 object that EMR gzipped (a log), as text."""
    answer = aws_call(f"reading s3://{bucket}/{key}", lambda: service_client(
        session, "s3").get_object(Bucket=bucket, Key=key))
    return gzip.decompress(answer["Body"].read()).decode("utf-8", "replace")


def upload_script(session: boto3.Session, upload_to: str, body: str, name: str | None) -> str:
    """Put a notebook cell in S3 as a PySpark script that makes ``spark`` and ``sc`` first, as
    a Livy session does; named after its content, so the same cell is one object."""
    bucket, prefix = parse_s3_prefix(upload_to, "--upload-to")
    script = _PYSPARK_PREAMBLE + body.rstrip() + "\n"
    digest = hashlib.sha256(script.encode()).hexdigest()[:12]
    key = f"{prefix}{_slug(name)}-{digest}.py"
    aws_call(f"uploading the script to s3://{bucket}/{key}", lambda: service_client(
        session, "s3").put_object(Bucket=bucket, Key=key, Body=script.encode()),
        denied_fix=f"Uploading needs s3:PutObject on s3://{bucket}/{prefix}*; ask your admin, "
                   "or give an --upload-to you may write. Nothing was submitted.")
    return f"s3://{bucket}/{key}"


def parse_s3_prefix(value: str, source: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → (``bucket``, ``some/prefix/``)."""
    bucket, _, prefix = value.removeprefix("s3://").partition("/")
    if not value.startswith("s3://") or not _BUCKET.fullmatch(bucket):
        raise StepError(f"{source} {value!r} is not an S3 prefix; give s3://BUCKET/PREFIX/, "
                        "e.g. s3://my-bucket/steps/.")
    return bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def log_prefix(uri: str) -> tuple[str, str] | None:
    """(bucket, ``prefix/``) of a log URI EMR writes to (s3://, s3n://, s3a://), if it is one."""
    scheme, _, rest = uri.partition("://")
    if scheme not in ("s3", "s3n", "s3a") or not rest:
        return None
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _slug(name: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name or "").strip("-.")[:64] or "emr-step"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"

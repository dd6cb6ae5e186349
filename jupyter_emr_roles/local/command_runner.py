"""command-runner.jar as the emulated cluster runs a step:
``python -m jupyter_emr_roles.local.command_runner run --engine fake --work DIR -- ARG...``.

The step book starts one of these per step, with the runtime role's temporary
credentials in its environment. AWS documents that with runtime roles the
arguments of command-runner.jar are read again as one command line, so an
argument with spaces must come escaped (``["bash", "-c", "\\"aws s3 ls\\""]``):
here they are joined with spaces and split by the shell's word rules (quotes
group words and are removed; nothing is expanded). The command then runs as a
real process, except ``spark-submit``, which this machine may not have: its
script is read from S3 as the role (a missing script, or one the role may not
read, fails the step as on EMR) and run with the emulator's engine (PySpark on a
local master, or the fake engine's stand-ins for ``spark`` and ``sc``). In client
mode the driver is the step's own process; in cluster mode it is a YARN
application's driver, a process of its own whose output goes to the
application's container logs, and which outlives the step when the step is
cancelled, as EMR stops the step's spark-submit and not the application.
"""

from __future__ import annotations

import argparse
import os
import runpy
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path
from typing import Any

# spark-submit's options that take no value; every other option takes one.
_FLAGS = ("--verbose", "-v", "--supervise")
# Seconds between the YARN client's application reports while it waits (EMR: one a second).
REPORT_SECONDS = 1.0
EXIT_FILE = "exit"
MODULE = "jupyter_emr_roles.local.command_runner"
PID_FILE = "pid"


def split_command(args: list[str]) -> list[str]:
    """command-runner's reading of a step's arguments: one line, split into words again."""
    return shlex.split(" ".join(args))


def run(args: list[str], engine: str, work: Path) -> int:
    """Run the step's command; its exit code decides COMPLETED or FAILED."""
    try:
        words = split_command(args)
    except ValueError as exc:
        print(f"command-runner: cannot read the command line {' '.join(args)!r}: {exc}",
              file=sys.stderr)
        return 1
    if not words:
        print("command-runner: no command was given", file=sys.stderr)
        return 1
    if words[0] == "spark-submit":
        return spark_submit(words[1:], engine, work)
    sys.stdout.flush()
    try:
        os.execvp(words[0], words)
    except OSError as exc:
        print(f'Cannot run program "{words[0]}" (in directory "."): error={exc.errno}, '
              f"{exc.strerror}", file=sys.stderr)
    return 1


def spark_submit(words: list[str], engine: str, work: Path) -> int:
    """spark-submit: its options, the application (a Python file) and the application's
    arguments; the driver here (client mode) or as a YARN application (cluster mode)."""
    options, confs, rest = _options(words)
    if "--version" in options:
        print(f"spark-submit of the jupyter-emr-roles emulator ({engine} engine)", file=sys.stderr)
        return 0
    if not rest:
        print("Error: Missing application resource.", file=sys.stderr)
        return 1
    script = _fetch(rest[0], work)
    if script is None:
        return 1
    deploy = "cluster" if options.get("--master") == "yarn-cluster" else \
        options.get("--deploy-mode", "client")
    if deploy != "cluster":
        return run_driver(script, rest[1:], engine, confs)
    return _yarn_application(script, rest[1:], engine, confs, work)


def _options(words: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """spark-submit's options (``--conf`` may repeat), then the application and its args."""
    options: dict[str, str] = {}
    confs: list[str] = []
    index = 0
    while index < len(words) and words[index].startswith("-"):
        word = words[index]
        name, equals, value = word.partition("=")
        if word in _FLAGS or word == "--version":
            options[word], index = "", index + 1
            continue
        if not equals:
            value = words[index + 1] if index + 1 < len(words) else ""
            index += 1
        index += 1
        if name == "--conf":
            confs.append(value)
        options[name] = value
    return options, confs, words[index:]


def _fetch(resource: str, work: Path) -> Path | None:
    """The application's file: from S3 as the step's role, or a path on the primary node."""
    if not resource.startswith(("s3://", "s3n://", "s3a://")):
        if Path(resource).is_file():
            return Path(resource)
        print(f'Exception in thread "main" java.io.FileNotFoundException: File file:{resource} '
              "does not exist", file=sys.stderr)
        return None
    import boto3
    import botocore.exceptions

    bucket, _, key = resource.partition("://")[2].partition("/")
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as exc:
        print(_s3_failure(resource, exc.response.get("Error", {})), file=sys.stderr)
        return None
    work.mkdir(parents=True, exist_ok=True)
    local = work / (Path(key).name or "application")
    local.write_bytes(body)
    return local


def _s3_failure(resource: str, error: dict[str, Any]) -> str:
    """What EMRFS says when the application cannot be read."""
    code = error.get("Code", "")
    if code in ("NoSuchKey", "NoSuchBucket", "404"):
        return f'Exception in thread "main" java.io.FileNotFoundException: File {resource} ' \
               "does not exist."
    if code in ("AccessDenied", "403"):
        return (f'Exception in thread "main" java.nio.file.AccessDeniedException: {resource}: '
                f"getFileStatus on {resource}: com.amazonaws.services.s3.model.AmazonS3Exception:"
                " Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)")
    return f'Exception in thread "main" java.io.IOException: {resource}: {code} ' \
           f"{error.get('Message', '')}"


def _yarn_application(script: Path, args: list[str], engine: str, confs: list[str],
                      work: Path) -> int:
    """Cluster mode: submit the driver as an application and report on it until it ends, as
    spark-submit's YARN client does (spark.yarn.submit.waitAppCompletion)."""
    stamp = int(time.time() * 1000)
    app_id = f"application_{stamp}_{os.getpid() % 10000:04d}"
    container = work / "containers" / app_id / \
        f"container_{stamp}_{os.getpid() % 10000:04d}_01_000001"
    container.mkdir(parents=True)
    command = [sys.executable, "-m", MODULE, "driver", "--engine", engine, "--exit-file",
               str(container / EXIT_FILE), *(f"--conf={conf}" for conf in confs), "--",
               str(script), *args]
    with open(container / "stdout", "wb") as out, open(container / "stderr", "wb") as err:
        driver = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
    (container / PID_FILE).write_text(str(driver.pid))
    print(f"INFO Client: Submitted application {app_id}", file=sys.stderr, flush=True)
    while True:
        try:
            code = driver.wait(REPORT_SECONDS)
            break
        except subprocess.TimeoutExpired:
            print(f"INFO Client: Application report for {app_id} (state: RUNNING)",
                  file=sys.stderr, flush=True)
    status = "SUCCEEDED" if code == 0 else "FAILED"
    print(f"INFO Client: \n\t final status: {status}\n\t tracking URL: "
          f"http://localhost:20888/proxy/{app_id}/", file=sys.stderr)
    if code:
        print(f'Exception in thread "main" org.apache.spark.SparkException: Application '
              f"{app_id} finished with failed status", file=sys.stderr)
    return 0 if code == 0 else 1


def run_driver(script: Path, args: list[str], engine: str, confs: list[str]) -> int:
    """Run the application in this process, as its driver; its exit code is the driver's."""
    if engine == "real":
        os.environ["PYSPARK_SUBMIT_ARGS"] = " ".join(
            ["--master local[1]", *(f"--conf {shlex.quote(conf)}" for conf in confs),
             "pyspark-shell"])
    else:
        _fake_pyspark()
    sys.argv = [str(script), *args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # as Python prints sys.exit("message")
        return 1
    except BaseException:  # noqa: BLE001  the application's failure is the driver's exit
        traceback.print_exc()
        return 1
    return 0


class _Builder:
    """``SparkSession.builder`` of the fake engine: every setting is taken and ignored."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def getOrCreate(self) -> Any:  # noqa: N802  PySpark's name
        return self._session

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


def _fake_pyspark() -> None:
    """``pyspark.sql.SparkSession`` whose session is the fake engine's ``spark`` (with its
    ``sc`` as ``sparkContext``): a script starts and stops as under Spark, and any Spark
    work says it needs the real engine."""
    from .livy.worker import FakeEngine

    names = FakeEngine({}).namespace
    session = names["spark"]
    session.sparkContext = names["sc"]
    session.stop = lambda: None
    package, sql = types.ModuleType("pyspark"), types.ModuleType("pyspark.sql")
    sql.SparkSession = type("SparkSession", (), {"builder": _Builder(session)})  # type: ignore[attr-defined]
    package.sql = sql  # type: ignore[attr-defined]
    sys.modules.update({"pyspark": package, "pyspark.sql": sql})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description="command-runner.jar of the emulator "
                                                 "(internal); the command follows --.")
    parser.add_argument("mode", choices=("run", "driver"))
    parser.add_argument("--engine", choices=("fake", "real"), required=True)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--exit-file", type=Path, default=None)
    parser.add_argument("--conf", action="append", default=[])
    options, args = parser.parse_args(argv[:split]), argv[split + 1:]
    if options.mode == "run":
        return run(args, options.engine, options.work or Path(tempfile.mkdtemp()))
    code = run_driver(Path(args[0]), args[1:], options.engine, options.conf)
    sys.stdout.flush()
    sys.stderr.flush()
    if options.exit_file is not None:
        options.exit_file.write_text(str(code))
    return code


if __name__ == "__main__":
    sys.exit(main())

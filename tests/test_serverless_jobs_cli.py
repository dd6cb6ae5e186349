"""`jupyter-emr-roles steps ... --application-id` through the real CLI against the emulator, whose
EMR Serverless runs each job run's entry point as its execution role and puts its driver's logs
in S3: submit (and --wait's exit), list, cancel, logs, and the one-paragraph errors; and
`%%emr_step --application-id` in a real kernel."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable

import pytest
from demo_world import ELECTRONICS, SALES
from emulators import RunningEmulator
from helpers import RunCli, one_paragraph_error
from kernels import NotebookKernel

SCRIPTS = "s3://demo-steps/scripts/"
LOG_URI = "s3://demo-logs/serverless-jobs/"
SOURCES = {
    "count-orders.py": "import sys, boto3\n"
                       "who = boto3.client('sts').get_caller_identity()['Arn']\n"
                       "body = boto3.client('s3').get_object(Bucket='demo-data', "
                       "Key='sales/orders.csv')['Body'].read()\n"
                       "print(who, len(body.splitlines()) - 1, 'orders', sys.argv[1:])\n",
    "broken.py": "import sys\nprint('no table \"orders\"', file=sys.stderr)\nsys.exit(3)\n",
    "waits.py": "import time\nprint('waiting', flush=True)\ntime.sleep(600)\n",
}


@pytest.fixture(scope="module", autouse=True)
def scripts(emulator: RunningEmulator) -> None:
    """The entry points, uploaded by the demo user where the sales role may read them."""
    bucket, _, prefix = SCRIPTS.removeprefix("s3://").partition("/")
    for name, source in SOURCES.items():
        emulator.client("s3").put_object(Bucket=bucket, Key=prefix + name, Body=source.encode())


@pytest.fixture(scope="module")
def application(applications: dict[str, str]) -> str:
    return applications["serverless-livy"]


def steps(cli: RunCli, emulator: RunningEmulator, *args: str):
    return cli("steps", *args, env=emulator.env)


def submit(cli: RunCli, emulator: RunningEmulator, application: str, script: str, *args: str,
           options: tuple[str, ...] = ("--wait",)):
    return steps(cli, emulator, "submit", "--application-id", application, "--role-arn", SALES,
                 "--log-uri", LOG_URI, *options, "--", SCRIPTS + script, *args)


def state_of(emulator: RunningEmulator, application: str, job_run_id: str) -> str:
    return emulator.client("emr-serverless").get_job_run(
        applicationId=application, jobRunId=job_run_id)["jobRun"]["state"]


def reaches(emulator: RunningEmulator, application: str, job_run_id: str, state: str,
            timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while state_of(emulator, application, job_run_id) != state:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_submit_wait_exits_0_on_success_and_logs_print_the_drivers_stdout(
        cli: RunCli, emulator: RunningEmulator, application: str) -> None:
    proc = submit(cli, emulator, application, "count-orders.py", "s3://demo-data/sales/out/")
    assert proc.returncode == 0, proc.stderr
    job_run_id = proc.stdout.strip()
    assert f"job run {job_run_id} RUNNING" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"Job run {job_run_id} (")
    assert "SUCCESS after" in proc.stderr.strip().splitlines()[-1]
    run = emulator.client("emr-serverless").get_job_run(applicationId=application,
                                                        jobRunId=job_run_id)["jobRun"]
    assert run["executionRole"] == SALES
    assert run["jobDriver"]["sparkSubmit"]["entryPointArguments"] == ["s3://demo-data/sales/out/"]
    logs = steps(cli, emulator, "logs", "--application-id", application, "--stream", "stdout",
                 job_run_id)
    assert logs.returncode == 0, logs.stderr
    assert f"assumed-role/sales-data-access/{job_run_id}" in logs.stdout
    assert "4 orders ['s3://demo-data/sales/out/']" in logs.stdout


def test_submit_wait_exits_1_on_a_failing_script_with_the_reason_and_the_log(
        cli: RunCli, emulator: RunningEmulator, application: str) -> None:
    proc = submit(cli, emulator, application, "broken.py")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    job_run_id = proc.stdout.strip()
    outcome = proc.stderr.strip().splitlines()[-1]
    assert outcome.startswith(f"Job run {job_run_id}") and "FAILED" in outcome
    assert "ExitCode: 3" in outcome and 'no table "orders"' in outcome
    assert (f"Log: {LOG_URI}applications/{application}/jobs/{job_run_id}/SPARK_DRIVER/"
            "stderr.gz") in outcome
    logs = steps(cli, emulator, "logs", "--application-id", application, job_run_id)
    assert logs.returncode == 0 and logs.stdout == 'no table "orders"\n'


def test_list_shows_the_job_runs_with_their_role_newest_first(
        cli: RunCli, emulator: RunningEmulator, application: str) -> None:
    names = [f"listed-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    ids = [submit(cli, emulator, application, "broken.py", options=("--name", name)).stdout
           .strip() for name in names]
    proc = steps(cli, emulator, "list", "--application-id", application)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["JOB", "RUN", "STATE"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert all("sales-data-access" in rows[job_run_id] for job_run_id in ids)
    order = [line.split()[0] for line in lines[1:]]
    assert order.index(ids[1]) < order.index(ids[0]), "newest first"


def test_cancel_stops_a_running_job(cli: RunCli, emulator: RunningEmulator,
                                    application: str) -> None:
    proc = submit(cli, emulator, application, "waits.py", options=("--json",))
    assert proc.returncode == 0, proc.stderr
    job_run_id = json.loads(proc.stdout)["job_run_id"]
    assert reaches(emulator, application, job_run_id, "RUNNING")
    cancel = steps(cli, emulator, "cancel", "--application-id", application, job_run_id)
    assert cancel.returncode == 0, cancel.stderr
    assert f"Cancel of job run {job_run_id} submitted" in cancel.stdout
    assert reaches(emulator, application, job_run_id, "CANCELLED")
    again = steps(cli, emulator, "cancel", "--application-id", application, job_run_id)
    assert "not in a cancellable state" in one_paragraph_error(again)


def test_an_unknown_application_is_one_paragraph(cli: RunCli, emulator: RunningEmulator) -> None:
    proc = steps(cli, emulator, "submit", "--application-id", "00fnosuchapp0000", "--",
                 SCRIPTS + "broken.py")
    assert "00fnosuchapp0000" in one_paragraph_error(proc)


def test_a_stopped_application_without_auto_start_gets_the_fix(
        cli: RunCli, emulator: RunningEmulator) -> None:
    admin = emulator.admin("emr-serverless")
    application = admin.create_application(name=f"no-auto-start-{uuid.uuid4().hex[:6]}",
                                           releaseLabel="emr-7.1.0", type="SPARK",
                                           autoStartConfiguration={"enabled": False})[
        "applicationId"]
    while admin.get_application(applicationId=application)["application"]["state"] != "CREATED":
        time.sleep(0.05)
    message = one_paragraph_error(submit(cli, emulator, application, "broken.py"))
    assert "auto-start is off" in message and "start-application" in message
    assert not admin.list_job_runs(applicationId=application)["jobRuns"], "nothing submitted"


def test_a_role_the_user_may_not_pass_is_one_paragraph(
        cli: RunCli, emulator: RunningEmulator, application: str) -> None:
    proc = steps(cli, emulator, "submit", "--application-id", application, "--role-arn",
                 ELECTRONICS, "--", SCRIPTS + "broken.py")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    warning, message = proc.stderr.strip().splitlines()
    assert warning.startswith("Warning: ") and "is not listed" in warning
    assert message.startswith("Error: ") and f"iam:PassRole on resource: {ELECTRONICS}" in message
    assert "emr-serverless:StartJobRun" in message and "Nothing was submitted" in message


def test_the_entry_point_must_be_in_s3_one_of_the_two_given_and_ids_parsed(
        cli: RunCli, emulator: RunningEmulator, application: str) -> None:
    local = steps(cli, emulator, "submit", "--application-id", application, "--", "job.py")
    assert "script in S3" in one_paragraph_error(local)
    both = steps(cli, emulator, "list")
    assert "--cluster-id" in one_paragraph_error(both) and "--application-id" in both.stderr
    step_id = steps(cli, emulator, "cancel", "--application-id", application, "s-1XYZ2ABC3DEF4")
    assert step_id.returncode == 2 and "Job run ID 's-1XYZ2ABC3DEF4'" in step_id.stderr
    assert "EMR step ID" in step_id.stderr and "Traceback" not in step_id.stderr


def test_logs_of_a_job_without_a_log_uri_say_where_they_are(
        cli: RunCli, emulator: RunningEmulator, application: str) -> None:
    proc = steps(cli, emulator, "submit", "--application-id", application, "--json", "--",
                 SCRIPTS + "broken.py")
    job_run_id = json.loads(proc.stdout)["job_run_id"]
    message = one_paragraph_error(steps(cli, emulator, "logs", "--application-id", application,
                                        job_run_id))
    assert "get-dashboard-for-job-run" in message and "--log-uri" in message


def test_a_spark_cell_becomes_a_job_run_of_the_application(
        emulator: RunningEmulator, application: str,
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    body = ('import boto3\n'
            'orders = boto3.client("s3").get_object(Bucket="demo-data", Key="sales/orders.csv")\n'
            'print(len(orders["Body"].read().splitlines()) - 1, "orders", sc is not None)')
    shown = kernel.ok(f"%%emr_step --application-id {application} --upload-to {SCRIPTS} "
                      f"--log-uri {LOG_URI} --name cell-orders --wait -- --day 1\n{body}\n")
    serverless = emulator.client("emr-serverless")
    [job] = [run for run in serverless.list_job_runs(applicationId=application)["jobRuns"]
             if run.get("name") == "cell-orders"]
    assert f"Job run {job['id']} (cell-orders) SUCCESS" in shown
    submit = serverless.get_job_run(applicationId=application, jobRunId=job["id"])[
        "jobRun"]["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"].startswith(SCRIPTS + "cell-orders-")
    assert submit["entryPointArguments"] == ["--day", "1"]
    bucket, _, prefix = LOG_URI.removeprefix("s3://").partition("/")
    stdout = emulator.client("s3").get_object(
        Bucket=bucket, Key=f"{prefix}applications/{application}/jobs/{job['id']}/SPARK_DRIVER/"
        "stdout.gz")["Body"].read()
    assert gzip.decompress(stdout) == b"4 orders True\n", "run as the sales role, sc made"

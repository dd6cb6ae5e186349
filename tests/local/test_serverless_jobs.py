"""EMR Serverless job runs on the emulator, called with boto3 over HTTPS as any AWS client calls
them: a job really runs its entry point as its execution role, through AWS's states, its driver's
logs where AWS puts them; ListJobRuns, CancelJobRun and the client token as AWS has them.

The emulator may be shared with other modules: each test submits jobs of its own and looks at
those alone."""

from __future__ import annotations

import gzip
import time
import uuid
from pathlib import Path

import botocore.exceptions
import pytest
from demo_world import NOT_TRUSTED_BY_SERVERLESS, SALES
from emulators import RunningEmulator, start_emulator

SCRIPTS = "s3://demo-steps/scripts/"
LOGS = "s3://demo-logs/serverless/"
ENDED = ("SUCCESS", "FAILED", "CANCELLED")
# Each prints who it runs as and what it was given, then does what its name says.
SOURCES = {
    "who.py": "import sys, boto3\n"
              "from pyspark.sql import SparkSession\n"
              "spark = SparkSession.builder.getOrCreate()\n"
              "print(boto3.client('sts').get_caller_identity()['Arn'], sys.argv[1:])\n"
              "orders = boto3.client('s3').get_object(Bucket='demo-data', "
              "Key='sales/orders.csv')['Body'].read()\n"
              "print(len(orders.splitlines()) - 1, 'orders')\n",
    "fails.py": "raise ValueError('no table orders')\n",
    "exits.py": "import sys\nsys.exit('bad input: no orders')\n",
    "sleeps.py": "import time\nprint('started', flush=True)\ntime.sleep(float(__import__('sys')"
                 ".argv[1]))\nprint('slept', flush=True)\n",
}


@pytest.fixture(scope="module", autouse=True)
def scripts(emulator: RunningEmulator) -> None:
    """The entry points, uploaded as the demo user where the sales role may read them."""
    upload(emulator)


def upload(emulator: RunningEmulator) -> None:
    s3 = emulator.client("s3")
    bucket, _, prefix = SCRIPTS.removeprefix("s3://").partition("/")
    for name, source in SOURCES.items():
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=source.encode())


@pytest.fixture(scope="module")
def serverless(emulator: RunningEmulator):
    return emulator.client("emr-serverless")


def submit(client, application_id: str, script: str, *args: str, role: str = SALES,
           **request) -> str:
    """A job run of ``script`` (a name in SCRIPTS, or an S3 URI) with its logs under LOGS."""
    entry = script if script.startswith("s3://") else SCRIPTS + script
    return client.start_job_run(
        applicationId=application_id, executionRoleArn=role,
        jobDriver={"sparkSubmit": {"entryPoint": entry, "entryPointArguments": list(args),
                                   "sparkSubmitParameters": "--conf spark.executor.cores=1"}},
        configurationOverrides={"monitoringConfiguration": {
            "s3MonitoringConfiguration": {"logUri": LOGS}}}, **request)["jobRunId"]


def states(client, application_id: str, job_run_id: str, until: tuple[str, ...] = ENDED,
           timeout: float = 60.0) -> list[str]:
    """Every state GetJobRun shows until one of ``until``; fails when the deadline passes."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] not in until:
        assert time.monotonic() < deadline, f"job run {job_run_id} never {until}: {seen}"
        state = job_run(client, application_id, job_run_id)["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        time.sleep(0.05)
    return seen


def states_of_application(client, application_id: str, state: str,
                          timeout: float = 60.0) -> bool:
    """Whether the application reaches ``state`` before the deadline."""
    deadline = time.monotonic() + timeout
    while client.get_application(applicationId=application_id)["application"]["state"] != state:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def job_run(client, application_id: str, job_run_id: str) -> dict:
    return client.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"]


def driver_log(emulator: RunningEmulator, application_id: str, job_run_id: str,
               stream: str) -> str:
    bucket, _, prefix = LOGS.removeprefix("s3://").partition("/")
    key = f"{prefix}applications/{application_id}/jobs/{job_run_id}/SPARK_DRIVER/{stream}.gz"
    body = emulator.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body).decode()


def refused(call, *args, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_a_job_runs_its_entry_point_as_its_role_through_aws_states(
        emulator: RunningEmulator, serverless, applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    job_run_id = submit(serverless, application_id, "who.py", "s3://demo-data/sales/out/",
                        name="orders")
    seen = states(serverless, application_id, job_run_id)
    assert seen[-1] == "SUCCESS", job_run(serverless, application_id, job_run_id)
    order = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "SUCCESS"]
    assert [order.index(state) for state in seen] == sorted(order.index(s) for s in seen)
    run = job_run(serverless, application_id, job_run_id)
    assert run["executionRole"] == SALES and run["name"] == "orders"
    assert run["arn"].endswith(f":/applications/{application_id}/jobruns/{job_run_id}")
    assert run["createdBy"].endswith(":user/demo-analyst")
    assert run["startedAt"] <= run["endedAt"]
    stdout = driver_log(emulator, application_id, job_run_id, "stdout")
    assert f"assumed-role/sales-data-access/{job_run_id}" in stdout, stdout
    assert "['s3://demo-data/sales/out/']" in stdout and "4 orders" in stdout


def test_a_failing_entry_point_fails_the_job_with_its_exit_and_exception(
        emulator: RunningEmulator, serverless, applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    job_run_id = submit(serverless, application_id, "fails.py")
    assert states(serverless, application_id, job_run_id)[-1] == "FAILED"
    details = job_run(serverless, application_id, job_run_id)["stateDetails"]
    assert details.startswith("Job failed, please check complete logs in configured logging "
                              "destination. ExitCode: 1.")
    assert "ValueError: no table orders" in details
    assert "ValueError: no table orders" in driver_log(emulator, application_id, job_run_id,
                                                        "stderr")


def test_an_entry_point_that_exits_with_a_message_fails_with_it_in_its_log(
        emulator: RunningEmulator, serverless, applications: dict[str, str]) -> None:
    """sys.exit("message") is exit code 1, the message on stderr, as Python has it."""
    application_id = applications["serverless-livy"]
    job_run_id = submit(serverless, application_id, "exits.py")
    assert states(serverless, application_id, job_run_id)[-1] == "FAILED"
    assert "ExitCode: 1." in job_run(serverless, application_id, job_run_id)["stateDetails"]
    assert "bad input: no orders" in driver_log(emulator, application_id, job_run_id, "stderr")


def test_a_missing_entry_point_fails_the_job(serverless, applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    job_run_id = submit(serverless, application_id, "s3://demo-steps/scripts/no-such-job.py")
    assert states(serverless, application_id, job_run_id)[-1] == "FAILED"
    details = job_run(serverless, application_id, job_run_id)["stateDetails"]
    assert "FileNotFoundException" in details and "no-such-job.py" in details


def test_a_role_emr_serverless_may_not_assume_fails_the_job(
        emulator: RunningEmulator, applications: dict[str, str]) -> None:
    admin = emulator.admin("emr-serverless")
    application_id = applications["serverless-livy"]
    job_run_id = submit(admin, application_id, "who.py", role=NOT_TRUSTED_BY_SERVERLESS)
    assert states(admin, application_id, job_run_id)[-1] == "FAILED"
    assert job_run(admin, application_id, job_run_id)["stateDetails"] == (
        "User: emr-serverless.amazonaws.com is not authorized to perform: sts:AssumeRole on "
        f"resource: {NOT_TRUSTED_BY_SERVERLESS}")


def test_cancel_stops_a_running_job_and_an_ended_one_is_not_cancellable(
        serverless, applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    job_run_id = submit(serverless, application_id, "sleeps.py", "600")
    states(serverless, application_id, job_run_id, until=("RUNNING",))
    answer = serverless.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)
    assert (answer["applicationId"], answer["jobRunId"]) == (application_id, job_run_id)
    assert states(serverless, application_id, job_run_id)[-1] == "CANCELLED"
    code, message = refused(serverless.cancel_job_run, applicationId=application_id,
                            jobRunId=job_run_id)
    assert code == "ValidationException" and "not in a cancellable state" in message


def test_an_application_with_a_running_job_is_not_stopped(emulator: RunningEmulator) -> None:
    """AWS's StopApplication: "All scheduled and running jobs must be completed or cancelled
    before stopping an application"."""
    admin = emulator.admin("emr-serverless")
    application_id = admin.create_application(name=f"busy-{uuid.uuid4().hex[:8]}",
                                              releaseLabel="emr-7.1.0", type="SPARK")[
        "applicationId"]
    assert states_of_application(admin, application_id, "CREATED")
    job_run_id = submit(admin, application_id, "sleeps.py", "600")
    states(admin, application_id, job_run_id, until=("RUNNING",))
    code, message = refused(admin.stop_application, applicationId=application_id)
    assert code == "ValidationException" and job_run_id in message
    admin.cancel_job_run(applicationId=application_id, jobRunId=job_run_id)
    assert states(admin, application_id, job_run_id)[-1] == "CANCELLED"
    admin.stop_application(applicationId=application_id)
    assert states_of_application(admin, application_id, "STOPPED")


def test_list_job_runs_newest_first_by_state_a_page_at_a_time(
        serverless, applications: dict[str, str]) -> None:
    application_id = applications["serverless-spark-connect"]
    mine = [submit(serverless, application_id, "fails.py") for _ in range(3)]
    for job_run_id in mine:
        states(serverless, application_id, job_run_id)
    listed: list[dict] = []
    token: dict[str, str] = {}
    while True:
        page = serverless.list_job_runs(applicationId=application_id, maxResults=2, **token)
        assert len(page["jobRuns"]) <= 2
        listed += page["jobRuns"]
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    ids = [run["id"] for run in listed]
    assert [i for i in ids if i in mine] == mine[::-1], "newest first"
    assert all(run["executionRole"] == SALES for run in listed if run["id"] in mine)
    running = serverless.list_job_runs(applicationId=application_id, states=["RUNNING"])
    assert not set(mine) & {run["id"] for run in running["jobRuns"]}
    failed = serverless.list_job_runs(applicationId=application_id, states=["FAILED"])
    assert set(mine) <= {run["id"] for run in failed["jobRuns"]}


def test_a_client_token_starts_one_job(serverless, applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    token = uuid.uuid4().hex
    first = submit(serverless, application_id, "fails.py", clientToken=token)
    assert submit(serverless, application_id, "fails.py", clientToken=token) == first
    code, _ = refused(submit, serverless, application_id, "who.py", clientToken=token)
    assert code == "ConflictException"


def test_an_unknown_job_run_is_not_found(serverless, applications: dict[str, str]) -> None:
    code, message = refused(serverless.get_job_run, jobRunId="00fnosuchjobrun0",
                            applicationId=applications["serverless-livy"])
    assert (code, message) == ("ResourceNotFoundException", "Job run 00fnosuchjobrun0 does not "
                                                            "exist")


def test_a_running_job_keeps_its_application_from_stopping_idle(tmp_path: Path) -> None:
    """On an emulator whose minute of idle time is a tenth of a second, a job that runs for
    twenty idle timeouts: the application is STARTED whenever the job is seen running, and
    stops idle once the job has ended."""
    with start_emulator(tmp_path, "--spark", "fake", "--serverless-minute", "0.1") as fast:
        upload(fast)
        admin = fast.admin("emr-serverless")
        application_id = admin.create_application(
            name="jobs-keep-it-up", releaseLabel="emr-7.1.0", type="SPARK",
            autoStopConfiguration={"enabled": True, "idleTimeoutMinutes": 1})["applicationId"]
        assert states_of_application(admin, application_id, "CREATED")
        job_run_id = submit(admin, application_id, "sleeps.py", "2")
        seen: list[tuple[str, str]] = []
        while not seen or seen[-1][0] not in ENDED:
            state = job_run(admin, application_id, job_run_id)["state"]
            seen.append((state, admin.get_application(applicationId=application_id)[
                "application"]["state"]))
            time.sleep(0.05)
        assert seen[-1][0] == "SUCCESS", seen
        assert {app for job, app in seen if job == "RUNNING"} == {"STARTED"}, seen
        assert states_of_application(admin, application_id, "STOPPED")

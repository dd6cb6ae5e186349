"""`jupyter-emr-roles steps` through the real CLI against the emulator, whose EMR runs steps one
at a time as real processes under their runtime role, enforces the runtime-role condition and
iam:PassRole, and puts step logs (and a cluster-mode job's container logs) in S3, gzipped."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from demo_world import ELECTRONICS, SALES
from emulators import RunningEmulator
from helpers import RunCli, one_paragraph_error

# Gives a user a policy that lacks iam:PassRole: a world of its own.
pytestmark = pytest.mark.own_world

JOB = "s3://demo-steps/scripts/orders-job.py"  # a script the sales role may read (uploaded below)
JOB_SOURCE = """import sys
import boto3
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("orders").getOrCreate()
orders = boto3.client("s3").get_object(Bucket="demo-data", Key="sales/orders.csv")["Body"].read()
print(len(orders.splitlines()) - 1, "orders, arguments", sys.argv[1:])
spark.stop()
"""
# A cluster-mode driver that outlives a cancel of its step by a few seconds.
LONG_DRIVER = "s3://demo-steps/scripts/long-driver.py"
LONG_DRIVER_SOURCE = """import time
print("driver started", flush=True)
time.sleep(4)
print("driver finished", flush=True)
"""
MISSING = "s3://demo-data/sales/no-such-job.py"
MARKETING_ONLY = "s3://demo-data/marketing/customers.csv"
LOGS = "demo-logs"
LOG_PREFIX = "elasticmapreduce"


@pytest.fixture(scope="module", autouse=True)
def scripts(emulator: RunningEmulator) -> None:
    """The jobs the steps run, uploaded as the demo user, where the sales role may read them."""
    s3 = emulator.client("s3")
    for uri, source in ((JOB, JOB_SOURCE), (LONG_DRIVER, LONG_DRIVER_SOURCE)):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        s3.put_object(Bucket=bucket, Key=key, Body=source.encode())


def steps(cli: RunCli, emulator: RunningEmulator, *args: str, env: dict[str, str] | None = None):
    return cli("steps", *args, env=env or emulator.env)


def step_ids(emulator: RunningEmulator, cluster: str) -> set[str]:
    return {step["Id"] for step in emulator.client("emr").list_steps(ClusterId=cluster)["Steps"]}


def test_submit_wait_completes_as_the_role_with_the_arguments_given(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster, "--role-arn", SALES,
                 "--name", "orders", "--wait", "--", "spark-submit", "--deploy-mode", "cluster",
                 JOB, "s3://demo-data/sales/out/")
    assert proc.returncode == 0, proc.stderr
    step_id = proc.stdout.strip()
    step = emulator.client("emr").describe_step(ClusterId=cluster, StepId=step_id)["Step"]
    assert step["ExecutionRoleArn"] == SALES and step["Name"] == "orders"
    assert step["ActionOnFailure"] == "CONTINUE" and step["Config"]["Jar"] == "command-runner.jar"
    assert step["Config"]["Args"] == ["spark-submit", "--deploy-mode", "cluster", JOB,
                                      "s3://demo-data/sales/out/"]
    assert step["Status"]["State"] == "COMPLETED"
    assert f"step {step_id} PENDING" in proc.stderr and f"step {step_id} RUNNING" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"Step {step_id} (orders) COMPLETED")
    logs = steps(cli, emulator, "logs", "--cluster-id", cluster, step_id)
    assert logs.returncode == 0 and "Submitted application application_" in logs.stdout
    application = logs.stdout.split("Submitted application ")[1].split()[0]
    containers = f"s3://{LOGS}/{LOG_PREFIX}/{cluster}/containers/{application}/"
    assert "cluster mode" in logs.stderr and containers in logs.stderr, logs.stderr
    driver = _wait_for_log(emulator, f"{containers.removeprefix(f's3://{LOGS}/')}", "stdout.gz")
    assert "4 orders, arguments ['s3://demo-data/sales/out/']" in driver, "run as the sales role"


def test_an_argument_with_spaces_stays_one_and_the_log_shows_the_output(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    """AWS: command-runner arguments with spaces must be escaped; `echo a b` stays one word of
    bash -c, so bash prints `a b` (an unescaped one would run `echo` alone: an empty line)."""
    cluster = clusters["shared-analytics"]
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster, "--wait", "--",
                 "bash", "-c", "echo a b")
    assert proc.returncode == 0, proc.stderr
    step_id = proc.stdout.strip()
    step = emulator.client("emr").describe_step(ClusterId=cluster, StepId=step_id)["Step"]
    assert step["Config"]["Args"] == ["bash", "-c", '"echo a b"']
    assert step["Name"] == 'bash -c "echo a b"'
    logs = steps(cli, emulator, "logs", "--cluster-id", cluster, "--stream", "stdout", step_id)
    assert logs.returncode == 0 and logs.stdout == "a b\n", logs
    assert logs.stderr == "", "no driver to point to: not a cluster-mode spark-submit"


def test_a_failing_command_fails_the_step_with_its_stderr(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster, "--wait", "--",
                 "bash", "-c", "echo 'no table \"orders\"' >&2; exit 3")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    step_id = proc.stdout.strip()
    assert proc.stderr.strip().splitlines()[-1].startswith(f"Step {step_id}")
    assert 'FAILED' in proc.stderr and 'no table "orders"' in proc.stderr
    logs = steps(cli, emulator, "logs", "--cluster-id", cluster, step_id)
    assert logs.returncode == 0 and logs.stdout == 'no table "orders"\n'


def test_without_a_role_the_accounts_default_and_json(cli: RunCli, emulator: RunningEmulator,
                                                     clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster, "--json", "--",
                 "hive-script", "--run-hive-script", "--args", "-f", JOB)
    assert proc.returncode == 0, proc.stderr
    step_id = json.loads(proc.stdout)["step_id"]
    step = emulator.client("emr").describe_step(ClusterId=cluster, StepId=step_id)["Step"]
    assert step["ExecutionRoleArn"] == SALES, "the demo user's default role"
    assert step["Name"] == f"hive-script --run-hive-script --args -f {JOB}"


def test_a_failed_step_exits_1_with_the_reason_and_its_log(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster, "--wait", "--",
                 "spark-submit", MISSING)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    step_id = proc.stdout.strip()
    outcome = proc.stderr.strip().splitlines()[-1]
    assert f"Step {step_id}" in outcome and "FAILED" in outcome
    assert f"{MISSING} does not exist" in outcome
    log_file = f"s3://demo-logs/elasticmapreduce/{cluster}/steps/{step_id}/stderr.gz"
    assert outcome.endswith(f"Log: {log_file}")
    logs = steps(cli, emulator, "logs", "--cluster-id", cluster, step_id)
    assert logs.returncode == 0, logs.stderr
    assert f"{MISSING} does not exist" in logs.stdout


def test_a_step_fails_when_its_role_may_not_read_the_script(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster,
                 "--role-arn", SALES, "--wait", "--", "spark-submit", MARKETING_ONLY)
    assert proc.returncode == 1
    assert "Access Denied" in proc.stderr and MARKETING_ONLY in proc.stderr
    step = emulator.client("emr").describe_step(ClusterId=cluster,
                                                StepId=proc.stdout.strip())["Step"]
    assert step["ExecutionRoleArn"] == SALES


def test_a_role_the_caller_may_not_pass_adds_no_step(cli: RunCli, emulator: RunningEmulator,
                                                     clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    before = step_ids(emulator, cluster)
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster, "--role-arn", ELECTRONICS,
                 "--", "spark-submit", JOB)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    warning, message = proc.stderr.strip().splitlines()
    assert warning.startswith("Warning: ") and "is not listed" in warning
    assert message.startswith("Error: ") and "elasticmapreduce:AddJobFlowSteps" in message
    assert ELECTRONICS in message
    assert "elasticmapreduce:ExecutionRoleArn" in message and "No step was added" in message
    assert step_ids(emulator, cluster) == before


def test_without_iam_pass_role_no_step_is_added(cli: RunCli, emulator: RunningEmulator,
                                                clusters: dict[str, str]) -> None:
    """A user allowed AddJobFlowSteps for the role, but not iam:PassRole on it (made by the
    platform admin through IAM, as an admin would)."""
    iam = emulator.client("iam", **_keys(emulator.env_of("platform-admin")))
    iam.create_user(UserName="no-pass-role")
    iam.put_user_policy(UserName="no-pass-role", PolicyName="steps", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["elasticmapreduce:Describe*",
                                           "elasticmapreduce:List*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "elasticmapreduce:AddJobFlowSteps", "Resource": "*",
             "Condition": {"StringEquals": {"elasticmapreduce:ExecutionRoleArn": SALES}}}]}))
    key = iam.create_access_key(UserName="no-pass-role")["AccessKey"]
    env = {**emulator.env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
           "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    cluster = clusters["shared-analytics"]
    before = step_ids(emulator, cluster)
    message = one_paragraph_error(steps(cli, emulator, "submit", "--cluster-id", cluster,
                                        "--role-arn", SALES, "--", "spark-submit", JOB, env=env))
    assert "iam:PassRole" in message and "No step was added" in message
    assert step_ids(emulator, cluster) == before


@pytest.mark.parametrize(("name", "reason"), [
    ("no-security-configuration", "no security configuration"),
    ("no-runtime-roles", "does not enable runtime roles"),
    ("multi-primary", "primary nodes"),
    ("terminated", "TERMINATED"),
])
def test_a_cluster_not_ready_for_runtime_roles_gets_no_step(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str], name: str,
        reason: str) -> None:
    cluster = clusters[name]
    before = step_ids(emulator, cluster)
    message = one_paragraph_error(steps(cli, emulator, "submit", "--cluster-id", cluster,
                                        "--role-arn", SALES, "--", "spark-submit", JOB))
    assert "No step was added" in message and reason in message
    assert step_ids(emulator, cluster) == before


def test_steps_need_emr_6_7_not_the_notebooks_6_9(cli: RunCli, emulator: RunningEmulator,
                                                  clusters: dict[str, str]) -> None:
    """release-too-old is emr-6.8.0: too old for a notebook session, new enough for a step."""
    proc = steps(cli, emulator, "submit", "--cluster-id", clusters["release-too-old"],
                 "--role-arn", SALES, "--", "spark-submit", JOB)
    assert proc.returncode == 0, proc.stderr


def test_a_step_on_the_newest_release_line_is_added(cli: RunCli, emulator: RunningEmulator,
                                                   clusters: dict[str, str]) -> None:
    """spark-sessions is emr-spark-8.0.0, Spark only: a label the client once read as version 0."""
    cluster = clusters["spark-sessions"]
    before = step_ids(emulator, cluster)
    proc = steps(cli, emulator, "submit", "--cluster-id", cluster, "--role-arn", SALES, "--",
                 "spark-submit", JOB)
    assert proc.returncode == 0, proc.stderr
    assert len(step_ids(emulator, cluster) - before) == 1


def test_cancel_a_pending_step_and_list_shows_who_and_what(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path) -> None:
    """A cluster runs one step at a time, so a second step waits while the first runs (until
    the test lets it end: a loaded machine may take seconds between two commands)."""
    cluster = clusters["livy-plain-http"]
    go = tmp_path / "first-may-end"
    first = steps(cli, emulator, "submit", "--cluster-id", cluster, "--", "bash", "-c",
                  f"until [ -e {go} ]; do sleep 0.1; done")
    second = steps(cli, emulator, "submit", "--cluster-id", cluster, "--name", "later", "--",
                   "spark-submit", JOB)
    first_id, second_id = first.stdout.strip(), second.stdout.strip()
    cancelled = steps(cli, emulator, "cancel", "--cluster-id", cluster, second_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Cancel of step {second_id} submitted" in cancelled.stdout
    emr = emulator.client("emr")
    assert emr.describe_step(ClusterId=cluster, StepId=second_id)["Step"]["Status"][
        "State"] == "CANCELLED"
    listed = json.loads(steps(cli, emulator, "list", "--cluster-id", cluster, "--json").stdout)
    assert [(s["id"], s["state"], s["role_arn"]) for s in listed][:2] == [
        (second_id, "CANCELLED", SALES), (first_id, listed[1]["state"], SALES)]
    assert listed[0]["name"] == "later" and listed[0]["created"] and listed[0]["ended"]
    assert listed[1]["state"] in ("PENDING", "RUNNING", "COMPLETED")
    again = one_paragraph_error(steps(cli, emulator, "cancel", "--cluster-id", cluster,
                                      second_id))
    assert "already CANCELLED" in again
    go.touch()
    _wait_until(lambda: emr.describe_step(ClusterId=cluster, StepId=first_id)["Step"]["Status"][
        "State"] == "COMPLETED")
    text = steps(cli, emulator, "list", "--cluster-id", cluster).stdout.splitlines()
    assert text[0].split() == ["STEP", "STATE", "ROLE", "CREATED", "ENDED", "NAME"]
    assert any(line.startswith(first_id) and "COMPLETED" in line and "sales-data-access" in line
               for line in text)


def test_cancel_a_running_step(cli: RunCli, emulator: RunningEmulator,
                               clusters: dict[str, str]) -> None:
    cluster = clusters["livy-port-on-instance-group"]
    step_id = steps(cli, emulator, "submit", "--cluster-id", cluster, "--", "bash", "-c",
                    "sleep 600").stdout.strip()
    emr = emulator.client("emr")
    _wait_until(lambda: emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]["Status"][
        "State"] == "RUNNING")
    cancelled = steps(cli, emulator, "cancel", "--cluster-id", cluster, step_id)
    assert cancelled.returncode == 0 and "YARN" not in cancelled.stdout, cancelled
    _wait_until(lambda: emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]["Status"][
        "State"] == "CANCELLED")


def test_cancel_of_a_cluster_mode_job_names_the_application_it_leaves_running(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    """EMR interrupts the step's spark-submit, not the YARN application: the driver goes on."""
    cluster = clusters["shared-analytics"]
    step_id = steps(cli, emulator, "submit", "--cluster-id", cluster, "--", "spark-submit",
                    "--deploy-mode", "cluster", LONG_DRIVER).stdout.strip()
    stderr = f"{LOG_PREFIX}/{cluster}/steps/{step_id}/"
    application = _wait_for_log(emulator, stderr, "stderr.gz", "Submitted application ").split(
        "Submitted application ")[1].split()[0]
    cancelled = steps(cli, emulator, "cancel", "--cluster-id", cluster, step_id)
    assert cancelled.returncode == 0, cancelled.stderr
    text = cancelled.stdout.strip()
    assert "\n" not in text and "not the YARN application" in text
    assert f"yarn application -kill {application}" in text
    emr = emulator.client("emr")
    _wait_until(lambda: emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]["Status"][
        "State"] == "CANCELLED")
    driver = _wait_for_log(emulator, f"{LOG_PREFIX}/{cluster}/containers/{application}/",
                           "stdout.gz", "driver finished")
    assert "driver started" in driver, "the application ran on after its step was cancelled"


def test_logs_of_a_cluster_without_a_log_uri_say_so(cli: RunCli, emulator: RunningEmulator,
                                                    clusters: dict[str, str]) -> None:
    cluster = clusters["release-too-old"]
    step_id = steps(cli, emulator, "submit", "--cluster-id", cluster, "--", "spark-submit",
                    JOB).stdout.strip()
    message = one_paragraph_error(steps(cli, emulator, "logs", "--cluster-id", cluster, step_id))
    assert "keeps no logs in S3" in message and "--log-uri" in message


@pytest.mark.parametrize("args", [
    ("submit", "--cluster-id", "j-lower", "--", "x"),
    ("submit", "--cluster-id", "J-1"),
    ("submit", "--cluster-id", "j-ABC", "--role-arn", "sales", "--", "x"),
    ("cancel", "--cluster-id", "j-ABC", "step-1"),
    ("logs", "--cluster-id", "j-ABC", "s-abc;rm"),
    ("list", "--cluster-id", "j-ABC", "--limit", "0"),
])
def test_usage_errors_exit_2_without_a_traceback(cli: RunCli, emulator: RunningEmulator,
                                                 args: tuple[str, ...]) -> None:
    proc = steps(cli, emulator, *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_help_explains_each_command(cli: RunCli) -> None:
    for command, words in (("submit", "command-runner.jar"), ("list", "runtime role"),
                           ("cancel", "pending"), ("logs", "log URI")):
        proc = cli("steps", command, "--help")
        assert proc.returncode == 0 and words in proc.stdout, proc.stdout


def _keys(env: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}


def _wait_for_log(emulator: RunningEmulator, prefix: str, name: str, words: str = "") -> str:
    """The first log named ``name`` under ``prefix`` of the log bucket once it holds ``words``
    (EMR uploads logs while a step runs and once it ends), gunzipped; read by the admin."""
    s3 = emulator.client("s3", **_keys(emulator.env_of("platform-admin")))
    found: list[str] = []

    def uploaded() -> bool:
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=LOGS, Prefix=prefix).get(
            "Contents", []) if item["Key"].endswith("/" + name)]
        found[:] = [gzip.decompress(s3.get_object(Bucket=LOGS, Key=key)["Body"].read()).decode()
                    for key in sorted(keys)[:1]]
        return bool(found) and words in found[0]

    _wait_until(uploaded)
    return found[0]


def _wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)



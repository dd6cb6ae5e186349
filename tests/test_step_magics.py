"""`%emr_step` and `%%emr_step` in a real IPython kernel against the emulator: a cell written
for `%%spark` becomes a step by changing its first line."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable

import pytest
from demo_world import SALES
from emulators import RunningEmulator
from kernels import NotebookKernel

# Reads every driver log of a cluster's steps: a world of its own, so no other module's
# steps leave logs there.
pytestmark = pytest.mark.own_world

# A %%spark cell the emulator's fake engine can run (it has no Spark): it reads as the step's role.
BODY = ('import boto3\n'
        'orders = boto3.client("s3").get_object(Bucket="demo-data", Key="sales/orders.csv")\n'
        'print(len(orders["Body"].read().splitlines()) - 1, "orders", sc is not None)')


@pytest.fixture
def kernel(emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> NotebookKernel:
    """A kernel with the extension loaded."""
    started = notebook(emulator)
    started.ok("%load_ext jupyter_emr_roles")
    return started


def test_a_spark_cell_becomes_a_step_uploaded_and_followed(
        emulator: RunningEmulator, clusters: dict[str, str], kernel: NotebookKernel) -> None:
    cluster = clusters["shared-analytics"]
    shown = kernel.ok(f"%%emr_step --cluster-id {cluster} --upload-to s3://demo-steps/scripts "
                      f"--name orders --wait -- --day 2024-01-01\n{BODY}\n")
    emr = emulator.client("emr")
    step = emr.list_steps(ClusterId=cluster)["Steps"][0]
    step = emr.describe_step(ClusterId=cluster, StepId=step["Id"])["Step"]
    args = step["Config"]["Args"]
    assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    assert args[4:] == ["--day", "2024-01-01"] and step["ExecutionRoleArn"] == SALES
    bucket, _, key = args[3].removeprefix("s3://").partition("/")
    script = emulator.client("s3", **_admin(emulator)).get_object(
        Bucket=bucket, Key=key)["Body"].read().decode()
    assert bucket == "demo-steps" and key.startswith("scripts/orders-")
    assert key.endswith(hashlib.sha256(script.encode()).hexdigest()[:12] + ".py")
    assert script.endswith(BODY + "\n") and "spark = SparkSession.builder.getOrCreate()" in script
    assert f"Step {step['Id']} (orders) COMPLETED" in shown
    logs = emulator.client("s3", **_admin(emulator))
    [driver] = [item["Key"] for item in logs.list_objects_v2(
        Bucket="demo-logs", Prefix=f"elasticmapreduce/{cluster}/containers/")["Contents"]
        if item["Key"].endswith("/stdout.gz")]
    assert gzip.decompress(logs.get_object(Bucket="demo-logs", Key=driver)["Body"].read()) == \
        b"4 orders True\n", "the cell ran as the sales role, with sc made for it"
    again = kernel.ok(f"%%emr_step --cluster-id {cluster} --upload-to s3://demo-steps/scripts "
                      f"--name orders\n{BODY}\n")
    newest = emr.list_steps(ClusterId=cluster)["Steps"][0]["Id"]
    assert f"Added step {newest}" in again
    assert emr.describe_step(ClusterId=cluster, StepId=newest)["Step"]["Config"]["Args"][3] == \
        args[3], "the same cell is the same object"


def test_a_command_keeps_its_quoted_words_as_the_shell_split_them(
        emulator: RunningEmulator, clusters: dict[str, str], kernel: NotebookKernel) -> None:
    cluster = clusters["shared-analytics"]
    kernel.ok(f'%emr_step --cluster-id {cluster} --wait -- bash -c "echo a b"')
    emr = emulator.client("emr")
    step_id = emr.list_steps(ClusterId=cluster)["Steps"][0]["Id"]
    assert emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]["Config"]["Args"] == [
        "bash", "-c", '"echo a b"']
    stdout = emulator.client("s3", **_admin(emulator)).get_object(
        Bucket="demo-logs", Key=f"elasticmapreduce/{cluster}/steps/{step_id}/stdout.gz")
    assert gzip.decompress(stdout["Body"].read()) == b"a b\n"


def test_a_failed_step_fails_the_cell_and_bad_input_is_one_line(
        clusters: dict[str, str], kernel: NotebookKernel) -> None:
    cluster = clusters["shared-analytics"]
    failed = kernel.run(f"%emr_step --cluster-id {cluster} --wait -- spark-submit "
                        "s3://demo-data/sales/no-such-job.py")
    assert failed.status == "error" and "FAILED" in failed.output
    assert "no-such-job.py does not exist" in failed.output and "Traceback" not in failed.output
    for line, words in (
            (f"%emr_step --cluster-id {cluster}", "after --"),
            (f"%%emr_step --cluster-id {cluster}\n{BODY}", "--upload-to"),
            (f"%%emr_step --cluster-id {cluster} --upload-to demo-steps/x\n{BODY}",
             "is not an S3 prefix"),
            (f"%emr_step --cluster-id {cluster} --role-arn sales -- x", "Role ARN"),
            (f"%emr_step --cluster-id {clusters['no-runtime-roles']} -- spark-submit x",
             "No step was added")):
        cell = kernel.run(line)
        assert cell.status == "error" and words in cell.output, (line, cell.output)
        assert "Traceback" not in cell.output


def _admin(emulator: RunningEmulator) -> dict[str, str]:
    env = emulator.env_of("platform-admin")
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}

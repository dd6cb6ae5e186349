"""EMR Serverless's Spark Connect sessions through `%connect --application-id`, in a real kernel
against the strict emulator, whose sessions are real Spark Connect servers run as the job role
behind a front that admits the token alone (``x-aws-proxy-auth``, no ``authorization``).

What runs where is read from the emulator (emr-serverless ListSessions) and from inside the
session (a UDF asks STS who it is), never from our own objects. The token's renewal is
tests/test_long_notebook.py's, with the other engines'.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from demo_world import (
    ELECTRONICS,
    MARKETING,
    MARKETING_ARN,
    NOT_TRUSTED_BY_SERVERLESS,
    SALES,
    SALES_ARN,
)
from emulators import RunningEmulator
from kernels import NotebookKernel

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)

# The states of a session nobody asked to end (TerminateSession answers TERMINATING, and EMR
# Serverless gets to TERMINATED on its own time).
LIVE = ("SUBMITTED", "STARTING", "STARTED", "IDLE", "BUSY")
# A UDF runs in the session's Python workers, with the session's credentials.
WHO = """
from pyspark.sql import functions as F
@F.udf("string")
def who(_):
    import boto3
    return boto3.client("sts").get_caller_identity()["Arn"]
print({name}.range(1).select(who("id")).first()[0])
"""


@pytest.fixture(scope="module")
def application(applications: dict[str, str]) -> str:
    return applications["serverless-spark-connect"]


def live_sessions(emulator: RunningEmulator, application_id: str) -> list[str]:
    """IDs of the application's sessions that are not over, as ListSessions has them."""
    pages = emulator.admin("emr-serverless").get_paginator("list_sessions").paginate(
        applicationId=application_id)
    return [s["sessionId"] for page in pages for s in page["sessions"] if s["state"] in LIVE]


@pytest.fixture(autouse=True)
def no_session_left(emulator: RunningEmulator, application: str) -> Iterator[None]:
    """A test that failed midway (its kernel killed, not shut down) leaves no session for the
    next one to find."""
    yield
    serverless = emulator.admin("emr-serverless")
    for session_id in live_sessions(emulator, application):
        serverless.terminate_session(applicationId=application, sessionId=session_id)


def session_id(output: str, role: str, application_id: str, name: str) -> str:
    """The session ID a %connect's done line names."""
    found = re.search(rf"connected as {re.escape(role)} on {application_id} \(session {name}, "
                      r"Spark Connect id ([0-9a-z]+)\)", output)
    assert found, output
    return found.group(1)


def kernel_of(emulator: RunningEmulator, notebook: Callable[..., NotebookKernel],
              **env: str | None) -> NotebookKernel:
    kernel = notebook(emulator, **env)
    kernel.ok("%load_ext jupyter_emr_roles")
    return kernel


def test_auto_opens_a_session_as_the_role_and_two_roles_do_not_cross_talk(
        emulator: RunningEmulator, application: str,
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = kernel_of(emulator, notebook)

    output = kernel.ok(f"%connect --application-id {application} --role-arn {SALES}")

    sid = session_id(output, SALES, application, "spark")
    assert live_sessions(emulator, application) == [sid]
    assert kernel.ok("print(spark.range(5).count())").strip() == "5"
    listed = kernel.ok("%emr_sessions")
    assert "Spark Connect" in listed and sid in listed and application in listed
    kernel.ok(f"%connect --application-id {application} --role-arn {MARKETING} "
              "--engine spark-connect --name marketing")
    assert len(live_sessions(emulator, application)) == 2
    assert kernel.ok(WHO.format(name="spark")).strip().startswith(SALES_ARN)
    assert kernel.ok(WHO.format(name="marketing")).strip().startswith(MARKETING_ARN)
    kernel.ok("spark.createDataFrame([(1,)], ['x']).createOrReplaceTempView('mine')")
    assert "TABLE_OR_VIEW_NOT_FOUND" in kernel.run("marketing.table('mine').count()").output
    kernel.ok("%disconnect spark")
    assert live_sessions(emulator, application) != [] and "NameError" in kernel.run(
        "spark").output
    assert "disconnected marketing" in kernel.ok("%disconnect --all")
    assert live_sessions(emulator, application) == []


def test_settings_reach_the_session_and_shutdown_terminates_it(
        emulator: RunningEmulator, application: str,
        notebook: Callable[..., NotebookKernel]) -> None:
    """--idle-timeout and the cell's Spark properties reach StartSession; a kernel that shuts
    down terminates its session."""
    kernel = kernel_of(emulator, notebook)
    sid = session_id(kernel.ok(
        f"%%connect --application-id {application} --engine spark-connect --idle-timeout 5\n"
        '{"conf": {"spark.sql.shuffle.partitions": "7"}}'), SALES, application, "spark")
    described = emulator.admin("emr-serverless").get_session(
        applicationId=application, sessionId=sid)["session"]
    assert described["idleTimeoutMinutes"] == 5 and described["executionRoleArn"] == SALES
    assert kernel.ok("print(spark.conf.get('spark.sql.shuffle.partitions'))").strip() == "7"

    kernel.shutdown(now=False)

    assert live_sessions(emulator, application) == []


def test_a_stopped_application_is_started_and_a_client_of_another_line_warned(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    """A created application is started by the connect. EMR Serverless runs Spark 3.5; here a
    kernel with pyspark-client 4.0 meets the emulator's Spark of another line: one line says
    so, and the session works."""
    client_4_0 = Path(sys.prefix) / "pyspark-client-4.0"
    assert (client_4_0 / "pyspark").is_dir(), "scripts/test.sh installs pyspark-client 4.0 there"
    from pyspark.version import __version__ as server_version  # the emulator's Spark

    assert not server_version.startswith("4.0."), "the emulator's Spark must be of another line"
    serverless = emulator.admin("emr-serverless")
    created = new_application(emulator, sessionEnabled=True)
    kernel = kernel_of(emulator, notebook, PYTHONPATH=str(client_4_0))

    output = kernel.ok(f"%connect --application-id {created} --engine spark-connect")

    session_id(output, SALES, created, "spark")
    assert serverless.get_application(applicationId=created)["application"]["state"] == "STARTED"
    assert re.search(r"This kernel's PySpark client is 4\.0\.\d+ and the session's Spark is "
                     + re.escape(server_version), output), output
    assert kernel.ok("print(spark.range(2).count())").strip() == "2"
    kernel.ok("%disconnect --all")
    assert live_sessions(emulator, created) == []


def new_application(emulator: RunningEmulator, **interactive: bool) -> str:
    """An application of the test's own, emr-7.13.0, as an admin's script creates it (CREATED,
    never started)."""
    return str(emulator.admin("emr-serverless").create_application(
        name=f"test-{uuid.uuid4().hex[:10]}", releaseLabel="emr-7.13.0", type="SPARK",
        interactiveConfiguration=interactive)["applicationId"])


@pytest.mark.parametrize(("name", "said"), [
    ("serverless-release-too-old", "runs no Spark Connect sessions (they need emr-7.13.0"),
    ("serverless-livy", "runs no Spark Connect sessions (they need emr-7.13.0"),
    (None, "interactive sessions are not enabled"),
])
def test_an_application_without_sessions_is_one_paragraph_with_the_fix(
        name: str | None, said: str, emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """The world's applications of older releases, and one of 7.13 with its Livy endpoint on
    and sessions off."""
    application_id = applications[name] if name else new_application(
        emulator, livyEndpointEnabled=True, sessionEnabled=False)
    kernel = kernel_of(emulator, notebook)

    output = kernel.refused(f"%connect --application-id {application_id} --engine spark-connect")

    assert "cannot run a Spark Connect session" in output and said in output, output
    assert name or "sessionEnabled=true" in output
    assert live_sessions(emulator, application_id) == []


def test_a_role_the_user_may_not_pass_is_refused_and_starts_nothing(
        emulator: RunningEmulator, application: str,
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = kernel_of(emulator, notebook)

    output = kernel.refused(f"%connect --application-id {application} --role-arn {ELECTRONICS} "
                            "--engine spark-connect")

    assert "AWS denied StartSession" in output and "iam:PassRole" in output, output
    assert live_sessions(emulator, application) == []


def test_a_role_emr_serverless_may_not_assume_fails_the_session_with_its_reason(
        emulator: RunningEmulator, application: str,
        notebook: Callable[..., NotebookKernel]) -> None:
    """The platform admin may pass any role: EMR Serverless then fails the session, as it
    cannot assume a role whose trust leaves it out."""
    admin = emulator.env_of("platform-admin")
    kernel = kernel_of(emulator, notebook, AWS_ACCESS_KEY_ID=admin["AWS_ACCESS_KEY_ID"],
                       AWS_SECRET_ACCESS_KEY=admin["AWS_SECRET_ACCESS_KEY"])

    output = kernel.refused(f"%connect --application-id {application} --role-arn {NOT_TRUSTED_BY_SERVERLESS} "
                            "--engine spark-connect")

    assert re.search(rf"The Spark Connect session [0-9a-z]+ on EMR Serverless application "
                     rf"{application} is FAILED: .*emr-serverless\.amazonaws\.com", output), output
    assert live_sessions(emulator, application) == []

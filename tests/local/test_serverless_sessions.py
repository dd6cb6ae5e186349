"""EMR Serverless's Spark Connect sessions in the emulator, over the wire: boto3's
``emr-serverless`` calls, and PySpark's own client at each session's endpoint with the token as
``x-aws-proxy-auth`` alone.

The applications, roles and users here are the tests' own (made through the AWS API as an
admin's script makes them), so the shared emulator's world is left as it was seeded."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.exceptions
import pytest
from emulators import RunningEmulator, start_emulator
from spark_connect_clients import remote_spark

ACCOUNT = "123456789012"
ENDED = ("TERMINATED", "FAILED")


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def role(emulator: RunningEmulator, trusted_by: str) -> str:
    """A job role of the test's own whose trust lets ``trusted_by`` (a service) assume it."""
    name = f"job-{uuid.uuid4().hex[:10]}"
    return emulator.admin("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": trusted_by}}]}))[
        "Role"]["Arn"]


def user(emulator: RunningEmulator, passes: list[str]):
    """An ``emr-serverless`` client of a user who may call every emr-serverless action and pass
    ``passes`` to EMR Serverless."""
    iam = emulator.admin("iam")
    name = f"analyst-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "emr-serverless:*", "Resource": "*"}]
    if passes:
        statements.append({"Effect": "Allow", "Action": "iam:PassRole", "Resource": passes,
                           "Condition": {"StringEquals": {
                               "iam:PassedToService": "emr-serverless.amazonaws.com"}}})
    iam.put_user_policy(UserName=name, PolicyName="serverless", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return emulator.client("emr-serverless", aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"])


def application(emulator: RunningEmulator, **overrides: Any) -> str:
    """A Spark Connect application of the test's own, CREATED (auto-start on unless asked)."""
    admin = emulator.admin("emr-serverless")
    application_id = admin.create_application(**{
        "name": f"sessions-{uuid.uuid4().hex[:8]}", "releaseLabel": "emr-7.13.0",
        "type": "SPARK", "interactiveConfiguration": {"sessionEnabled": True}, **overrides})[
        "applicationId"]
    deadline = time.monotonic() + 30
    while admin.get_application(applicationId=application_id)["application"][
            "state"] != "CREATED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return application_id


def state_of(client, application_id: str, session_id: str, wanted: tuple[str, ...],
             wait: float = 180) -> dict[str, Any]:
    """GetSession's session once it is in one of ``wanted``; fails when it ends otherwise."""
    deadline = time.monotonic() + wait
    while True:
        session = client.get_session(applicationId=application_id,
                                     sessionId=session_id)["session"]
        if session["state"] in wanted:
            return session
        assert session["state"] not in ENDED and time.monotonic() < deadline, session
        time.sleep(0.2)


def who_and_version(endpoint: str, metadata: dict[str, str], ca_bundle: str) -> tuple[str, str]:
    """Who a UDF in the session runs as, and the session's Spark version."""
    from pyspark.sql.connect.functions import udf
    from pyspark.sql.types import StringType

    def who(_):  # no type hints: PySpark would read them as a pandas UDF's
        """A UDF, run in the session's Python workers with the session's credentials (a
        nested function: the worker gets it by value, as it cannot import this module)."""
        import boto3

        return boto3.client("sts").get_caller_identity()["Arn"]

    with remote_spark(endpoint, metadata, ca_bundle) as spark:
        return spark.range(1).select(udf(who, StringType())("id")).first()[0], spark.version


def port_closed(endpoint: str) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", urlsplit(endpoint).port or 443)) != 0


@pytest.fixture(scope="module")
def job_role(emulator: RunningEmulator) -> str:
    return role(emulator, "emr-serverless.amazonaws.com")


@pytest.fixture(scope="module")
def analyst(emulator: RunningEmulator, job_role: str):
    return user(emulator, [job_role])


@pytest.fixture
def sessions_ended(analyst) -> Iterator[list[tuple[str, str]]]:
    """(application, session) pairs the test started: terminated after it, whatever it did."""
    started: list[tuple[str, str]] = []
    yield started
    for application_id, session_id in started:
        analyst.terminate_session(applicationId=application_id, sessionId=session_id)


def test_a_session_runs_as_its_role_behind_a_front_that_takes_its_token_alone(
        emulator: RunningEmulator, analyst, job_role: str,
        sessions_ended: list[tuple[str, str]]) -> None:
    """StartSession starts the stopped application (auto-start), a retried call (same client
    token) starts no second session, the session's Spark runs as the job role, and its front
    admits the session's own tokens only."""
    application_id = application(emulator)
    token = uuid.uuid4().hex
    first = analyst.start_session(applicationId=application_id, executionRoleArn=job_role,
                                  clientToken=token, name="notebook")
    again = analyst.start_session(applicationId=application_id, executionRoleArn=job_role,
                                  clientToken=token, name="notebook")
    second = analyst.start_session(applicationId=application_id, executionRoleArn=job_role)
    sessions_ended += [(application_id, first["sessionId"]), (application_id,
                                                              second["sessionId"])]
    assert again["sessionId"] == first["sessionId"] != second["sessionId"]
    assert first["arn"] == (f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/"
                            f"{application_id}/sessions/{first['sessionId']}")
    described = state_of(analyst, application_id, first["sessionId"], ("IDLE",))
    state_of(analyst, application_id, second["sessionId"], ("IDLE",))
    assert analyst.get_application(applicationId=application_id)["application"][
        "state"] == "STARTED"
    assert (described["executionRoleArn"], described["name"], described["idleTimeoutMinutes"],
            described["releaseLabel"]) == (job_role, "notebook", 60, "emr-7.13.0")
    listed = analyst.list_sessions(applicationId=application_id, states=["IDLE"])["sessions"]
    assert {s["sessionId"] for s in listed} == {first["sessionId"], second["sessionId"]}

    one = analyst.get_session_endpoint(applicationId=application_id,
                                       sessionId=first["sessionId"])
    other = analyst.get_session_endpoint(applicationId=application_id,
                                         sessionId=second["sessionId"])
    assert re.fullmatch(rf"https://{first['sessionId']}\.s\.emr-serverless-services\.us-east-1"
                        r"\.localhost:\d+", one["endpoint"]), one["endpoint"]
    ca_bundle = emulator.env["AWS_CA_BUNDLE"]
    arn, version = who_and_version(one["endpoint"], {"x-aws-proxy-auth": one["authToken"]},
                                   ca_bundle)
    assert arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/{job_role.split('/')[-1]}/")
    assert version
    for metadata in ({}, {"x-aws-proxy-auth": "not-a-token"},
                     {"authorization": f"Bearer {one['authToken']}"},
                     {"x-aws-proxy-auth": other["authToken"]}):
        with pytest.raises(Exception, match="UNAUTHENTICATED") as refused:
            who_and_version(one["endpoint"], metadata, ca_bundle)
        assert "x-aws-proxy-auth" in str(refused.value)


def test_terminate_and_a_stopping_application_end_sessions_and_their_servers(
        emulator: RunningEmulator, analyst, job_role: str) -> None:
    admin = emulator.admin("emr-serverless")
    application_id = application(emulator)
    admin.start_application(applicationId=application_id)
    ids = [analyst.start_session(applicationId=application_id, executionRoleArn=job_role)[
        "sessionId"] for _ in range(2)]
    endpoints = []
    for session_id in ids:
        state_of(analyst, application_id, session_id, ("IDLE",))
        endpoints.append(analyst.get_session_endpoint(applicationId=application_id,
                                                      sessionId=session_id)["endpoint"])

    analyst.terminate_session(applicationId=application_id, sessionId=ids[0])
    admin.stop_application(applicationId=application_id)

    ended = [state_of(analyst, application_id, session_id, ("TERMINATED",), wait=60)
             for session_id in ids]
    assert "TerminateSession" in ended[0]["stateDetails"]
    assert f"Application {application_id} stopped" in ended[1]["stateDetails"]
    assert all(port_closed(endpoint) for endpoint in endpoints)
    code, message = error_of(analyst.get_session_endpoint, applicationId=application_id,
                             sessionId=ids[0])
    assert code == "ValidationException" and "TERMINATED" in message


def test_a_role_emr_serverless_may_not_assume_fails_the_session(
        emulator: RunningEmulator) -> None:
    untrusted = role(emulator, "ec2.amazonaws.com")
    analyst = user(emulator, [untrusted])
    application_id = application(emulator)
    session_id = analyst.start_session(applicationId=application_id,
                                       executionRoleArn=untrusted)["sessionId"]
    failed = state_of(analyst, application_id, session_id, ("FAILED",), wait=60)
    assert "emr-serverless.amazonaws.com is not authorized to perform: sts:AssumeRole" in \
        failed["stateDetails"] and untrusted in failed["stateDetails"]


def test_emr_serverless_refuses_sessions_where_it_would(emulator: RunningEmulator, analyst,
                                                        job_role: str) -> None:
    admin = emulator.admin("emr-serverless")
    old = application(emulator, releaseLabel="emr-7.12.0")
    no_sessions = application(emulator, interactiveConfiguration={"sessionEnabled": False})
    no_auto_start = application(emulator, autoStartConfiguration={"enabled": False})
    start = analyst.start_session

    too_old = error_of(start, applicationId=old, executionRoleArn=job_role)
    disabled = error_of(start, applicationId=no_sessions, executionRoleArn=job_role)
    stopped = error_of(start, applicationId=no_auto_start, executionRoleArn=job_role)
    unknown = error_of(start, applicationId="00fnosuchapp0000", executionRoleArn=job_role)
    no_pass_role = error_of(user(emulator, []).start_session, applicationId=no_auto_start,
                            executionRoleArn=job_role)
    no_session = error_of(analyst.get_session, applicationId=no_sessions,
                          sessionId="00fnosuchsession")

    assert too_old[0] == "ValidationException" and "emr-7.13.0" in too_old[1]
    assert disabled[0] == "ValidationException" and "sessionEnabled" in disabled[1]
    assert stopped[0] == "ValidationException" and "auto-start is disabled" in stopped[1]
    assert unknown == ("ResourceNotFoundException", "Application 00fnosuchapp0000 does not exist")
    assert no_pass_role[0] == "AccessDeniedException"
    assert f"iam:PassRole on resource: {job_role}" in no_pass_role[1]
    assert "emr-serverless.amazonaws.com" in no_pass_role[1]
    assert no_session[0] == "ResourceNotFoundException"
    for application_id in (old, no_sessions, no_auto_start):
        assert admin.get_application(applicationId=application_id)["application"][
            "state"] == "CREATED"
        assert analyst.list_sessions(applicationId=application_id)["sessions"] == []


@pytest.mark.long
def test_a_session_ends_idle_holds_its_application_and_its_tokens_expire(
        tmp_path: Path) -> None:
    """On an emulator whose minute lasts half a second and whose tokens live 5 s: the
    application (auto-stop after one minute) stays STARTED while its session lives; a token
    past its time is answered as AWS's proxy answers it; the session ends idle after its
    idleTimeoutMinutes, and then the application stops; the emulator's shutdown ends a session
    still live."""
    with start_emulator(tmp_path, "--spark", "fake", "--serverless-minute", "0.5",
                        "--session-token-ttl", "5") as fast:
        job_role = role(fast, "emr-serverless.amazonaws.com")
        analyst = user(fast, [job_role])
        application_id = application(fast, autoStopConfiguration={
            "enabled": True, "idleTimeoutMinutes": 1})
        session_id = analyst.start_session(applicationId=application_id,
                                           executionRoleArn=job_role,
                                           idleTimeoutMinutes=20)["sessionId"]
        state_of(analyst, application_id, session_id, ("IDLE",))
        endpoint = analyst.get_session_endpoint(applicationId=application_id,
                                                sessionId=session_id)
        metadata = {"x-aws-proxy-auth": endpoint["authToken"]}
        ca_bundle = fast.env["AWS_CA_BUNDLE"]
        with remote_spark(endpoint["endpoint"], metadata, ca_bundle) as spark:
            assert spark.version
        while time.time() < endpoint["authTokenExpiresAt"].timestamp():
            time.sleep(0.2)
        with pytest.raises(Exception, match="Stream removed"), \
                remote_spark(endpoint["endpoint"], metadata, ca_bundle) as spark:
            assert spark.version
        assert analyst.get_application(applicationId=application_id)["application"][
            "state"] == "STARTED"
        ended = state_of(analyst, application_id, session_id, ("TERMINATED",), wait=120)
        assert "idle" in ended["stateDetails"]
        assert port_closed(endpoint["endpoint"])
        deadline = time.monotonic() + 60
        while analyst.get_application(applicationId=application_id)["application"][
                "state"] != "STOPPED":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        live = analyst.start_session(applicationId=application_id,
                                     executionRoleArn=job_role)["sessionId"]
        state_of(analyst, application_id, live, ("IDLE",))
        left = analyst.get_session_endpoint(applicationId=application_id,
                                            sessionId=live)["endpoint"]
    assert port_closed(left)

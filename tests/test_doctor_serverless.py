"""`jupyter-emr-roles doctor --application-id` through the real CLI against the strict emulator:
an EMR Serverless application's state, its engines, the job role's trust in EMR Serverless,
what IAM lets the caller do there, and the application's network."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest
from demo_world import ACCOUNT, NOT_TRUSTED_BY_SERVERLESS, SALES
from emulators import RunningEmulator
from helpers import RunCli, by_id, doctor_report, one_paragraph_error, statuses
from kernels import NotebookKernel

from jupyter_emr_roles.doctor import APPLICATION_CHECK_IDS

# Creates applications and IAM users: a world of its own.
pytestmark = pytest.mark.own_world

# An S3 interface VPC endpoint's own name, as a notebook's AWS_ENDPOINT_URL_S3 gives it.
S3_INTERFACE_ENDPOINT = ("https://bucket.vpce-0a1b2c3d4e5f67890-abcd1234.s3.us-east-1"
                         ".vpce.amazonaws.com")


def doctor(cli: RunCli, env: dict[str, str], application_id: str,
           *args: str) -> tuple[int, dict]:
    code, report = doctor_report(cli, env, "--application-id", application_id, *args)
    assert [check["id"] for check in report["checks"]] == list(APPLICATION_CHECK_IDS)
    return code, report


def created(emulator: RunningEmulator, **request: object) -> str:
    """An application of this test's own, created by the platform admin and CREATED."""
    admin = emulator.admin("emr-serverless")
    application_id = admin.create_application(
        name=f"doctor-{uuid.uuid4().hex[:8]}", releaseLabel="emr-7.13.0", type="SPARK",
        interactiveConfiguration={"livyEndpointEnabled": True, "sessionEnabled": True},
        **request)["applicationId"]
    deadline = time.monotonic() + 30
    while admin.get_application(applicationId=application_id)["application"]["state"] != \
            "CREATED":
        assert time.monotonic() < deadline, f"{application_id} was never CREATED"
        time.sleep(0.05)
    return application_id


def test_a_ready_application_and_the_default_role_pass(
        cli: RunCli, emulator: RunningEmulator, applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    code, report = doctor(cli, emulator.env, application_id)
    assert code == 0 and report["ready"] is True, report
    assert set(report) == {"application_id", "role_arn", "ready", "checks"}
    assert report["application_id"] == application_id and report["role_arn"] == SALES
    assert statuses(report) == {**dict.fromkeys(APPLICATION_CHECK_IDS, "pass"),
                                "spark-connect": "warn"}
    assert "STARTED" in by_id(report, "application-state")["message"]
    assert "uses Livy here" in by_id(report, "spark-connect")["message"]
    assert "no VPC" in by_id(report, "network")["message"]
    text = cli("doctor", "--application-id", application_id, env=emulator.env).stdout
    assert text.startswith(f"{application_id} with {SALES}: ready") and "livy-permissions:" in text
    assert emulator.open_serverless_sessions(application_id) == [], "the doctor opens none"


def test_an_application_with_sessions_offers_spark_connect_not_livy(
        cli: RunCli, emulator: RunningEmulator, applications: dict[str, str]) -> None:
    code, report = doctor(cli, emulator.env, applications["serverless-spark-connect"])
    assert code == 0 and report["ready"] is True, report
    livy, sessions = by_id(report, "livy"), by_id(report, "spark-connect")
    assert livy["status"] == "warn" and "Livy endpoint is not enabled" in livy["message"], livy
    assert "livyEndpointEnabled=true" in livy["fix"]
    assert sessions["status"] != "fail" and "It offers Spark Connect sessions (emr-7.13.0, " in \
        sessions["message"], sessions
    assert statuses(report)["livy-permissions"] == "pass", "no Livy endpoint: nothing to need"
    assert statuses(report)["session-permissions"] == "pass"


def test_a_release_too_old_fails_both_engines(
        cli: RunCli, emulator: RunningEmulator, applications: dict[str, str]) -> None:
    code, report = doctor(cli, emulator.env, applications["serverless-release-too-old"])
    assert code == 1 and report["ready"] is False
    livy, sessions = by_id(report, "livy"), by_id(report, "spark-connect")
    assert livy["status"] == sessions["status"] == "fail", report
    assert "emr-6.9.0" in livy["message"] and "emr-6.14.0" in livy["message"]
    assert "emr-6.9.0" in sessions["message"] and "emr-7.13.0" in sessions["message"]
    assert "--engine" not in livy["fix"] + sessions["fix"], "neither engine is offered here"
    assert statuses(report)["application-state"] == "pass"


def test_a_role_emr_serverless_may_not_assume_fails_the_trust_check(
        cli: RunCli, emulator: RunningEmulator, applications: dict[str, str]) -> None:
    code, report = doctor(cli, emulator.env, applications["serverless-livy"],
                          "--role-arn", NOT_TRUSTED_BY_SERVERLESS)
    assert code == 1
    trust = by_id(report, "role-trust")
    assert trust["status"] == "fail" and "emr-serverless.amazonaws.com" in trust["message"]
    assert json.loads(trust["fix"].removeprefix("Add to its trust policy: ")) == {
        "Effect": "Allow", "Principal": {"Service": "emr-serverless.amazonaws.com"},
        "Action": "sts:AssumeRole"}
    assert statuses(report)["role-exists"] == "pass"


def user_env(emulator: RunningEmulator, actions: list[str]) -> dict[str, str]:
    """The emulator's settings as a new user (made by the platform admin through IAM) who may
    call ``actions`` on anything, pass any role, and nothing else."""
    iam = emulator.admin("iam")
    user = f"doctor-user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": [*actions, "iam:PassRole"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {**emulator.env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def test_a_caller_without_access_to_livy_endpoints_fails_that_check(
        cli: RunCli, emulator: RunningEmulator, applications: dict[str, str]) -> None:
    env = user_env(emulator, ["emr-serverless:GetApplication", "emr-serverless:StartSession",
                              "iam:GetRole", "iam:SimulatePrincipalPolicy"])
    application_id = applications["serverless-livy"]
    code, report = doctor(cli, env, application_id, "--role-arn", SALES)
    assert code == 1
    finding = by_id(report, "livy-permissions")
    assert finding["status"] == "fail", finding
    assert "emr-serverless:AccessLivyEndpoints" in finding["message"]
    assert "iam:PassRole" not in finding["message"], "the user may pass any role"
    assert {"Effect": "Allow", "Action": "emr-serverless:AccessLivyEndpoints",
            "Resource": f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/"
                        f"{application_id}"} in json.loads(finding["fix"])
    assert statuses(report)["role-trust"] == "pass"
    _, blind = doctor(cli, user_env(emulator, ["emr-serverless:GetApplication"]),
                      application_id, "--role-arn", SALES)
    unknown = by_id(blind, "livy-permissions")
    assert unknown["status"] == "unknown" and "iam:SimulatePrincipalPolicy" in unknown["message"]


def test_the_state_says_whether_a_connect_can_bring_it_up(
        cli: RunCli, emulator: RunningEmulator, applications: dict[str, str]) -> None:
    stopped = applications["serverless-stopped-auto-start"]
    _, auto = doctor(cli, emulator.env, stopped)
    state = by_id(auto, "application-state")
    assert state["status"] == "pass" and "a connect starts it" in state["message"], state
    _, unstartable = doctor(cli, user_env(emulator, ["emr-serverless:GetApplication",
                                                     "iam:SimulatePrincipalPolicy"]), stopped)
    state = by_id(unstartable, "application-state")
    assert state["status"] == "fail" and "emr-serverless:StartApplication" in state["message"]
    assert json.loads(state["fix"])["Action"] == "emr-serverless:StartApplication"
    manual = created(emulator, autoStartConfiguration={"enabled": False})
    code, report = doctor(cli, emulator.env, manual)
    state = by_id(report, "application-state")
    assert code == 1 and state["status"] == "fail" and "auto-start is off" in state["message"]
    assert state["fix"].startswith(f"aws emr-serverless start-application --application-id "
                                   f"{manual}")
    emulator.admin("emr-serverless").delete_application(applicationId=manual)
    state = by_id(doctor(cli, emulator.env, manual)[1], "application-state")
    assert state["status"] == "fail" and "TERMINATED" in state["message"], state


def test_no_vpc_warns_where_the_notebook_reads_s3_through_a_vpc_endpoint(
        cli: RunCli, emulator: RunningEmulator, applications: dict[str, str]) -> None:
    application_id = applications["serverless-livy"]
    code, report = doctor(cli, {**emulator.env, "AWS_ENDPOINT_URL_S3": S3_INTERFACE_ENDPOINT},
                          application_id)
    finding = by_id(report, "network")
    assert code == 0 and finding["status"] == "warn", finding
    assert "vpce-0a1b2c3d4e5f67890" in finding["message"] and "aws:SourceVpce" in \
        finding["message"]
    assert f"update-application --application-id {application_id} --network-configuration" in \
        finding["fix"]
    in_vpc = created(emulator, networkConfiguration={"subnetIds": ["subnet-0123abcd"],
                                                     "securityGroupIds": ["sg-0123abcd"]})
    _, report = doctor(cli, {**emulator.env, "AWS_ENDPOINT_URL_S3": S3_INTERFACE_ENDPOINT},
                       in_vpc)
    finding = by_id(report, "network")
    assert finding["status"] == "pass" and "subnet-0123abcd" in finding["message"], finding


def test_an_unknown_application_is_one_paragraph(cli: RunCli,
                                                 emulator: RunningEmulator) -> None:
    message = one_paragraph_error(cli("doctor", "--application-id", "00fabcdefghij012",
                                      env=emulator.env))
    assert "00fabcdefghij012" in message


def test_the_magic_shows_the_applications_report(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    application_id = applications["serverless-spark-connect"]
    shown = kernel.ok(f"%emr_doctor --application-id {application_id}")
    assert "<table>" in shown and "session-permissions" in shown and ": ready" in shown
    assert f"{application_id} with {SALES}" in shown
    too_old = applications["serverless-release-too-old"]
    failed = kernel.run(f"%connect --application-id {too_old}").output
    assert f"%emr_doctor --application-id {too_old}" in failed, failed

"""The emulated EMR Serverless control plane, called with boto3 over HTTPS as any AWS client
calls it: applications through their states, auto-start on submitted work, auto-stop after the
idle timeout, IAM on the application's ARN, and AWS's errors.

The emulator may be shared with other modules, so a test that changes an application's state
creates its own, and none asserts on every application there is."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import botocore.exceptions
import pytest
from demo_world import SALES
from emulators import RunningEmulator, start_emulator

ACCOUNT = "123456789012"
SEEDED = {
    "serverless-livy": ("emr-7.1.0", "STARTED", True, False),
    "serverless-spark-connect": ("emr-7.13.0", "STARTED", False, True),
    "serverless-stopped-auto-start": ("emr-7.13.0", "STOPPED", True, True),
    "serverless-release-too-old": ("emr-6.9.0", "STARTED", False, False),
}


def error_of(call, **kwargs) -> tuple[str, str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    answer = caught.value.response
    return (answer["Error"]["Code"], answer["Error"]["Message"],
            answer["ResponseMetadata"]["HTTPStatusCode"])


def states_until(client, application_id: str, state: str, timeout: float = 30.0) -> list[str]:
    """Every state GetApplication shows until ``state``; fails when the deadline passes first."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not seen or seen[-1] != state:
        assert time.monotonic() < deadline, f"{application_id} never {state}: {seen}"
        found = client.get_application(applicationId=application_id)["application"]["state"]
        if not seen or seen[-1] != found:
            seen.append(found)
        time.sleep(0.05)
    return seen


def create(client, **overrides) -> str:
    """A Spark application of this test's own, as an admin's script creates it."""
    request = {"name": f"test-{uuid.uuid4().hex[:12]}", "releaseLabel": "emr-7.13.0",
               "type": "SPARK", **overrides}
    return client.create_application(**request)["applicationId"]


@pytest.fixture(scope="module")
def admin(emulator: RunningEmulator):
    return emulator.admin("emr-serverless")


@pytest.fixture(scope="module")
def seeded(admin) -> dict[str, str]:
    """The world's applications by name (among whatever else the emulator holds)."""
    pages = admin.get_paginator("list_applications").paginate()
    return {app["name"]: app["id"] for page in pages for app in page["applications"]
            if app["name"] in SEEDED}


def test_the_world_has_an_application_for_each_way_in(admin, seeded: dict[str, str]) -> None:
    assert set(seeded) == set(SEEDED)
    for name, (release, state, livy, sessions) in SEEDED.items():
        application = admin.get_application(applicationId=seeded[name])["application"]
        assert len(application["applicationId"]) == 16
        assert application["applicationId"].isalnum() and application["applicationId"].islower()
        assert application["arn"] == (f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:"
                                      f"/applications/{seeded[name]}")
        assert (application["releaseLabel"], application["state"]) == (release, state)
        assert application["type"] == "Spark"
        interactive = application["interactiveConfiguration"]
        assert (interactive["livyEndpointEnabled"], interactive["sessionEnabled"]) == (
            livy, sessions)
    stopped = admin.get_application(applicationId=seeded["serverless-stopped-auto-start"])
    assert stopped["application"]["autoStartConfiguration"] == {"enabled": True}


def test_an_application_goes_through_its_states_to_terminated(admin) -> None:
    application_id = create(admin)
    assert states_until(admin, application_id, "CREATED")[0] in ("CREATING", "CREATED")
    admin.start_application(applicationId=application_id)
    assert set(states_until(admin, application_id, "STARTED")) <= {"STARTING", "STARTED"}
    admin.stop_application(applicationId=application_id)
    assert set(states_until(admin, application_id, "STOPPED")) <= {"STOPPING", "STOPPED"}
    admin.delete_application(applicationId=application_id)
    assert states_until(admin, application_id, "TERMINATED") == ["TERMINATED"]
    listed = [app["id"] for page in admin.get_paginator("list_applications").paginate()
              for app in page["applications"]]
    assert application_id not in listed, "a terminated application leaves the list"
    terminated = admin.list_applications(states=["TERMINATED"])["applications"]
    assert application_id in [app["id"] for app in terminated]


def test_update_changes_a_stopped_application(admin) -> None:
    application_id = create(admin)
    states_until(admin, application_id, "CREATED")
    answer = admin.update_application(
        applicationId=application_id, autoStopConfiguration={"idleTimeoutMinutes": 30},
        interactiveConfiguration={"livyEndpointEnabled": True})["application"]
    assert answer["autoStopConfiguration"] == {"enabled": True, "idleTimeoutMinutes": 30}
    assert answer["interactiveConfiguration"] == {"livyEndpointEnabled": True}
    got = admin.get_application(applicationId=application_id)["application"]
    assert got["autoStopConfiguration"] == answer["autoStopConfiguration"]


def test_list_applications_pages_as_aws_pages(admin) -> None:
    mine = {create(admin) for _ in range(3)}
    ids: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = admin.list_applications(maxResults=2, **token)
        assert len(page["applications"]) <= 2
        ids += [app["id"] for app in page["applications"]]
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    assert mine <= set(ids) and len(ids) == len(set(ids)), "each application on one page"
    paged = [app["id"] for page in admin.get_paginator("list_applications").paginate(
        PaginationConfig={"PageSize": 1}) for app in page["applications"]]
    assert mine <= set(paged)
    code, _, _ = error_of(admin.list_applications, nextToken="nosuchtoken")
    assert code == "ValidationException"


def test_submitted_work_starts_a_stopped_application_with_auto_start(admin) -> None:
    application_id = create(admin)
    states_until(admin, application_id, "CREATED")
    job = admin.start_job_run(applicationId=application_id, executionRoleArn=SALES,
                              jobDriver={"sparkSubmit": {"entryPoint": "s3://demo-steps/a.py"}})
    assert states_until(admin, application_id, "STARTED")[0] in ("STARTING", "STARTED")
    run = admin.get_job_run(applicationId=application_id, jobRunId=job["jobRunId"])["jobRun"]
    assert run["executionRole"] == SALES


def test_submitted_work_is_refused_where_auto_start_is_off(admin) -> None:
    application_id = create(admin, autoStartConfiguration={"enabled": False})
    states_until(admin, application_id, "CREATED")
    code, message, _ = error_of(admin.start_job_run, applicationId=application_id,
                                executionRoleArn=SALES)
    assert code == "ValidationException" and "auto-start is disabled" in message
    assert admin.get_application(applicationId=application_id)["application"]["state"] == \
        "CREATED"


def user_client(emulator: RunningEmulator, actions: str):
    """An emr-serverless client of a new user (made by the platform admin through IAM) who may
    call ``actions`` on anything, and nothing else."""
    iam = emulator.admin("iam")
    user = f"serverless-user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return emulator.client("emr-serverless", aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"])


def test_a_user_without_the_action_is_refused(emulator: RunningEmulator,
                                              seeded: dict[str, str]) -> None:
    """A user with EMR's actions but no emr-serverless one: IAM refuses it on the
    application's ARN."""
    serverless = user_client(emulator, "elasticmapreduce:*")
    application_id = seeded["serverless-livy"]
    code, message, _ = error_of(serverless.get_application, applicationId=application_id)
    assert code == "AccessDeniedException"
    assert (f"emr-serverless:GetApplication on resource: arn:aws:emr-serverless:us-east-1:"
            f"{ACCOUNT}:/applications/{application_id}") in message
    code, _, _ = error_of(serverless.start_application, applicationId=application_id)
    assert code == "AccessDeniedException"


def test_submitted_work_needs_iam_pass_role_on_its_role(emulator: RunningEmulator,
                                                        admin) -> None:
    """A user who may run jobs but not pass the role: IAM refuses the job, and the stopped
    application is not started for it."""
    serverless = user_client(emulator, "emr-serverless:*")
    application_id = create(admin)
    states_until(admin, application_id, "CREATED")
    code, message, _ = error_of(serverless.start_job_run, applicationId=application_id,
                                executionRoleArn=SALES)
    assert code == "AccessDeniedException"
    assert f"iam:PassRole on resource: {SALES}" in message
    assert "emr-serverless.amazonaws.com" in message
    assert serverless.get_application(applicationId=application_id)["application"][
        "state"] == "CREATED"


def test_the_demo_user_may_use_applications_and_pass_its_roles(
        emulator: RunningEmulator, seeded: dict[str, str]) -> None:
    """The world gives notebook users the emr-serverless actions a notebook needs, and
    iam:PassRole of their roles to EMR Serverless."""
    serverless = emulator.client("emr-serverless")
    application_id = seeded["serverless-livy"]
    assert serverless.get_application(applicationId=application_id)["application"]["state"] \
        == "STARTED"
    run = serverless.start_job_run(applicationId=application_id, executionRoleArn=SALES,
                                   jobDriver={"sparkSubmit": {"entryPoint": "s3://x/y.py"}})
    assert run["applicationId"] == application_id


def test_an_unknown_application_is_not_found(admin) -> None:
    assert error_of(admin.get_application, applicationId="00fabcdefghij012") == (
        "ResourceNotFoundException", "Application 00fabcdefghij012 does not exist", 404)


def test_an_application_id_of_another_shape_is_invalid(admin) -> None:
    code, message, status = error_of(admin.get_application, applicationId="Not-An-Id")
    assert (code, status) == ("ValidationException", 400)
    assert "[0-9a-z]+" in message


@pytest.mark.parametrize("call", ["delete_application", "update_application"])
def test_a_started_application_is_neither_deleted_nor_updated(admin, seeded: dict[str, str],
                                                              call: str) -> None:
    application_id = seeded["serverless-livy"]
    code, message, _ = error_of(getattr(admin, call), applicationId=application_id)
    assert code == "ValidationException"
    assert message == (f"Application {application_id} must be in one of the following statuses "
                       "[CREATED, STOPPED]. Current status: STARTED")


def test_a_livy_endpoint_needs_release_6_14(admin) -> None:
    code, message, _ = error_of(admin.create_application, name="old-livy",
                                releaseLabel="emr-6.9.0", type="SPARK",
                                interactiveConfiguration={"livyEndpointEnabled": True})
    assert code == "ValidationException" and "emr-6.14.0" in message


def test_an_unknown_engine_is_invalid(admin) -> None:
    code, message, _ = error_of(admin.create_application, releaseLabel="emr-7.13.0",
                                type="PRESTO")
    assert (code, message) == ("ValidationException", "Unsupported engine PRESTO")


def test_a_client_token_is_one_request(admin) -> None:
    token = uuid.uuid4().hex
    first = create(admin, clientToken=token, name="idempotent")
    assert create(admin, clientToken=token, name="idempotent") == first
    code, _, status = error_of(admin.create_application, clientToken=token, name="another",
                               releaseLabel="emr-7.13.0", type="SPARK")
    assert (code, status) == ("ConflictException", 409)


def test_a_terminated_application_does_not_start(admin) -> None:
    application_id = create(admin)
    states_until(admin, application_id, "CREATED")
    admin.delete_application(applicationId=application_id)
    code, message, _ = error_of(admin.start_application, applicationId=application_id)
    assert code == "ValidationException" and "Current status: TERMINATED" in message


def test_an_idle_started_application_stops_after_its_idle_timeout(tmp_path: Path) -> None:
    """On an emulator whose minute of idle time is a fifth of a second."""
    with start_emulator(tmp_path, "--spark", "fake", "--serverless-minute", "0.2") as fast:
        admin = fast.admin("emr-serverless")
        idle = create(admin, autoStopConfiguration={"enabled": True, "idleTimeoutMinutes": 2})
        kept = create(admin, autoStopConfiguration={"enabled": False})
        for application_id in (idle, kept):
            states_until(admin, application_id, "CREATED")
            admin.start_application(applicationId=application_id)
        states_until(admin, kept, "STARTED")
        assert states_until(admin, idle, "STOPPED")[-2:] == ["STOPPING", "STOPPED"]
        assert admin.get_application(applicationId=kept)["application"]["state"] == "STARTED"
        stopped = [app["id"] for app in
                   admin.list_applications(states=["STOPPED"])["applications"]]
        assert idle in stopped and kept not in stopped

"""``%connect --application-id`` on an EMR Serverless application's Livy endpoint, in a real
kernel with real sparkmagic, against the emulator: every request SigV4-signed by the notebook's
own AWS identity, the session running as the job role named in its conf.

What is open on the endpoint is read from the endpoint (a signed GET /sessions), never from our
objects.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from demo_world import (
    ACCOUNT,
    ELECTRONICS,
    MARKETING,
    MARKETING_ARN,
    NOT_TRUSTED_BY_SERVERLESS,
    SALES,
    SALES_ARN,
    WHO_AM_I,
)
from emulators import RunningEmulator
from kernels import NotebookKernel, connected



def _kernel(emulator: RunningEmulator, notebook: Callable[..., NotebookKernel],
            **env: str | None) -> NotebookKernel:
    kernel = notebook(emulator, **env)
    kernel.ok("%load_ext jupyter_emr_roles")
    return kernel


def _new_application(emulator: RunningEmulator, **settings: object) -> str:
    """An application of this test's own, as an admin's script creates it (CREATED, never
    started), with the Livy endpoint on."""
    admin = emulator.admin("emr-serverless")
    application_id = admin.create_application(
        name=f"test-{uuid.uuid4().hex[:10]}", releaseLabel="emr-7.1.0", type="SPARK",
        interactiveConfiguration={"livyEndpointEnabled": True}, **settings)["applicationId"]
    return str(application_id)


def _state(emulator: RunningEmulator, application_id: str) -> str:
    return str(emulator.admin("emr-serverless").get_application(
        applicationId=application_id)["application"]["state"])


def test_two_roles_on_one_application_each_its_identity_and_none_left_running(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    application = applications["serverless-livy"]
    kernel = _kernel(emulator, notebook)
    sales_id = connected(kernel.ok(f"%connect --application-id {application}"), SALES,
                         application, "sales-data-access")
    marketing_id = connected(kernel.ok(f"%connect --application-id {application} --role-arn "
                                       f"{MARKETING} --name mkt"), MARKETING, application, "mkt")
    sales = kernel.ok("%%spark -s sales-data-access\n" + WHO_AM_I)
    marketing = kernel.ok("%%spark -s mkt\n" + WHO_AM_I)
    assert SALES_ARN in sales and MARKETING_ARN not in sales
    assert MARKETING_ARN in marketing and SALES_ARN not in marketing
    open_ids = {s["id"] for s in emulator.open_serverless_sessions(application)}
    assert {sales_id, marketing_id} <= open_ids
    table = kernel.ok("%emr_sessions")
    assert "mkt" in table and application in table

    kernel.ok("%disconnect --all")
    assert not {s["id"] for s in emulator.open_serverless_sessions(application)} & {
        sales_id, marketing_id}


def _roles_file(path: Path, default: str) -> str:
    path.write_text(json.dumps({"version": 1, "accounts": {ACCOUNT: {"roles": [
        {"arn": SALES, "default": default == SALES},
        {"arn": MARKETING, "default": default == MARKETING}]}}}))
    return str(path)


def test_a_session_posted_ahead_and_not_used_is_deleted(
        emulator: RunningEmulator, applications: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    """A repeat connect posts its session while GetApplication runs, as the role the connect
    before found; when the roles file's default role changed meanwhile, that session is not
    the one wanted, and it is deleted, not left running."""
    application = applications["serverless-livy"]
    roles = tmp_path / "roles.json"
    kernel = _kernel(emulator, notebook, JUPYTER_EMR_ROLES_FILE=_roles_file(roles, SALES))
    before = {s["id"] for s in emulator.open_serverless_sessions(application)}
    first = connected(kernel.ok(f"%connect --application-id {application} --name ahead"),
                      SALES, application, "ahead")
    _roles_file(roles, MARKETING)
    second = connected(kernel.ok(f"%connect --application-id {application} --name ahead"),
                       MARKETING, application, "ahead")
    deadline = time.monotonic() + 15
    while (left := {s["id"] for s in emulator.open_serverless_sessions(application)} - before) \
            != {second} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == {second}, (first, second, left)
    kernel.ok("%disconnect ahead")


def test_kernel_shutdown_leaves_no_session(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    application = applications["serverless-livy"]
    kernel = _kernel(emulator, notebook)
    session_id = connected(kernel.ok(f"%connect --application-id {application} --name bye"),
                           SALES, application, "bye")
    kernel.shutdown(now=False)
    assert session_id not in {s["id"] for s in emulator.open_serverless_sessions(application)}


def test_a_stopped_application_is_started_by_the_connect(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    application = _new_application(emulator)
    assert _state(emulator, application) in ("CREATING", "CREATED")
    kernel = _kernel(emulator, notebook)
    output = kernel.ok(f"%connect --application-id {application} --name started")
    connected(output, SALES, application, "started")
    assert "is STARTED (stops after 15 idle minutes)" in output, "AWS's default auto-stop"
    assert _state(emulator, application) == "STARTED"
    assert SALES_ARN in kernel.ok("%%spark -s started\n" + WHO_AM_I)


def test_a_stopped_application_with_auto_start_off_is_left_alone(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    application = _new_application(emulator, autoStartConfiguration={"enabled": False})
    kernel = _kernel(emulator, notebook)
    output = kernel.refused(f"%connect --application-id {application}")
    assert "auto-start is off" in output and "start-application" in output
    assert _state(emulator, application) in ("CREATING", "CREATED")


@pytest.mark.parametrize(("name", "engine", "said"), [
    ("serverless-release-too-old", "livy", "has no Livy endpoint (it needs emr-6.14.0"),
    ("serverless-spark-connect", "livy", "livyEndpointEnabled=true"),
])
def test_an_application_that_cannot_run_the_engine_is_one_paragraph(
        name: str, engine: str, said: str, emulator: RunningEmulator,
        applications: dict[str, str], notebook: Callable[..., NotebookKernel]) -> None:
    kernel = _kernel(emulator, notebook)
    output = kernel.refused(f"%connect --application-id {applications[name]} --engine {engine}")
    assert said in output and f"%emr_doctor --application-id {applications[name]}" in output


def test_an_unknown_application_and_a_malformed_id_are_one_paragraph(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    kernel = _kernel(emulator, notebook)
    output = kernel.refused("%connect --application-id 00fabcdefghij999")
    assert "00fabcdefghij999" in output and "does not exist" in output
    output = kernel.refused("%connect --application-id 00FABCDEFGHIJ999")
    assert "upper-case" in output
    output = kernel.refused("%connect --application-id 00fabcdefghij999 --cluster-id j-ABC")
    assert "one of them, not both" in output
    output = kernel.refused("%connect --application-id 00fabcdefghij999 --no-verify")
    assert "--no-verify concern a cluster's Livy" in output and "AWS_CA_BUNDLE" in output


def test_an_endpoint_unreachable_or_untrusted_is_one_paragraph_about_aws(
        emulator: RunningEmulator, applications: dict[str, str], clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """The endpoint is AWS's: the fix is this notebook's route to AWS and botocore's trust,
    never a cluster's security group or Livy CA. A cluster's Livy stands in for an endpoint
    whose certificate AWS_CA_BUNDLE does not trust."""
    application = applications["serverless-livy"]
    livy_port = urlsplit(emulator.livy_url(clusters["shared-analytics"])).port
    for template, said in (("https://127.0.0.1:9/{application_id}", "route to AWS"),
                           (f"https://127.0.0.1:{livy_port}/{{application_id}}",
                            "AWS_CA_BUNDLE (or the profile's ca_bundle) must name its CA")):
        kernel = _kernel(emulator, notebook, JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL=template)
        output = kernel.refused(f"%connect --application-id {application} --engine livy")
        assert said in output and "security group" not in output, output


def test_a_malformed_endpoint_template_is_one_paragraph(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = _kernel(emulator, notebook,
                     JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL="https://livy.example/{app}")
    output = kernel.refused(f"%connect --application-id {applications['serverless-livy']} "
                            "--engine livy")
    assert "JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL is 'https://livy.example/{app}'" in output


def test_a_role_the_caller_may_not_pass_is_refused_by_the_endpoint(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    application = applications["serverless-livy"]
    kernel = _kernel(emulator, notebook)
    before = {s["id"] for s in emulator.open_serverless_sessions(application)}
    output = kernel.refused(f"%connect --application-id {application} --role-arn {ELECTRONICS}")
    assert "iam:PassRole" in output and "refused your signed request" in output
    assert {s["id"] for s in emulator.open_serverless_sessions(application)} <= before


def test_a_caller_without_access_to_livy_endpoints_is_refused(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    iam = emulator.admin("iam")
    user = f"no-livy-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["emr-serverless:GetApplication", "iam:PassRole"],
             "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    kernel = _kernel(emulator, notebook, AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                     AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    output = kernel.refused(f"%connect --application-id {applications['serverless-livy']} "
                            f"--role-arn {SALES}")
    assert "AccessLivyEndpoints" in output and "refused your signed request" in output
    resource = f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/" \
               f"{applications['serverless-livy']}"
    assert f"on resource: {resource}" in output and '"Message"' not in output, \
        "AWS's own sentence, whole"
    assert "To check the application and role at once" in output


def test_a_role_emr_serverless_may_not_assume_ends_the_session_with_its_reason(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    admin = emulator.env_of("platform-admin")
    kernel = _kernel(emulator, notebook, AWS_ACCESS_KEY_ID=admin["AWS_ACCESS_KEY_ID"],
                     AWS_SECRET_ACCESS_KEY=admin["AWS_SECRET_ACCESS_KEY"])
    output = kernel.refused(f"%connect --application-id {applications['serverless-livy']} "
                            f"--role-arn {NOT_TRUSTED_BY_SERVERLESS}")
    assert "emr-serverless.amazonaws.com" in output, output

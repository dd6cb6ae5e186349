"""GET applications and applications/{id}: the EMR Serverless applications beside the clusters,
each with the engines it offers and a readiness shaped as a cluster's; POST check takes one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest
from demo_world import (
    ACCOUNT,
    MARKETING,
    PARTNER_ACCESS,
    PARTNER_ACCOUNT,
    PARTNER_ARN,
    PARTNER_ROLE,
    SALES,
    WHO_AM_I,
)
from emulators import RunningEmulator, start_changed_world
from kernels import NotebookKernel, connected
from rest import RestClient, assert_error, point_at

WORLD = {"serverless-livy": ["livy"], "serverless-spark-connect": ["spark-connect"],
         "serverless-stopped-auto-start": ["spark-connect", "livy"],
         "serverless-release-too-old": []}
ROW_KEYS = {"id", "name", "state", "release", "arn", "kind", "engines", "readiness"}


async def test_the_worlds_applications_with_the_engines_each_offers(
        rest: RestClient, emulator: RunningEmulator) -> None:
    answer = await rest.get("applications")
    assert answer.status == 200, answer
    assert answer.body["marker"] is None
    rows = {row["name"]: row for row in answer.body["applications"]}
    assert {name: row["engines"] for name, row in rows.items()} == WORLD
    ids = emulator.application_ids()
    for name, row in rows.items():
        assert set(row) == ROW_KEYS and row["kind"] == "serverless"
        assert row["id"] == ids[name] and row["arn"].startswith(
            f"arn:aws:emr-serverless:us-east-1:{ACCOUNT}:/applications/{row['id']}")
        readiness = row["readiness"]
        assert (readiness["id"], readiness["kind"], readiness["account"]) == (
            row["id"], "serverless", ACCOUNT)
        offered = {engine for engine, ready in readiness["engines"].items() if ready["ready"]}
        assert offered == set(row["engines"]) and readiness["ready"] is bool(offered)
    assert rows["serverless-livy"]["release"] == "emr-7.1.0"
    assert rows["serverless-stopped-auto-start"]["state"] == "STOPPED"


async def test_a_readiness_says_what_a_cluster_readiness_says(
        rest: RestClient, applications: dict[str, str], cluster_ids: dict[str, str]) -> None:
    """The same keys as GET clusters/{id}, so a picker reads both alike; the checks say why an
    engine is missing and how to fix it, and that a stopped application is started."""
    cluster = await rest.get("clusters", cluster_ids["shared-analytics"])
    old = await rest.get("applications", applications["serverless-release-too-old"])
    assert old.status == 200 and set(old.body) == set(cluster.body)
    assert old.body["ready"] is False and old.body["release"] == "emr-6.9.0"
    assert [check["key"] for check in old.body["checks"]] == [
        "application-state", "livy", "spark-connect"]
    assert any("emr-6.14.0 or later" in reason for reason in old.body["reasons"])
    assert any("emr-7.13.0 or later" in reason for reason in old.body["reasons"])
    assert all(check["fix"] for check in old.body["checks"] if check["passed"] is False)

    stopped = await rest.get("applications", applications["serverless-stopped-auto-start"])
    state = stopped.body["checks"][0]
    assert state["passed"] is True and "a connect starts it" in state["detail"], state
    assert stopped.body["ready"] is True and stopped.body["session_enabled"] is True
    livy = await rest.get("applications", applications["serverless-spark-connect"])
    (why,) = livy.body["engines"]["livy"]["reasons"]
    assert "not enabled" in why and "update-application" in why, why


@pytest.mark.parametrize("value", ["00ABC", "j-ABCDEF123", "x" * 65])
async def test_a_malformed_application_id_is_400_naming_it(rest: RestClient,
                                                          value: str) -> None:
    message = assert_error(await rest.get("applications", value), 400, "InvalidIdentifier")
    assert repr(value) in message


async def test_an_unknown_application_is_404(rest: RestClient) -> None:
    message = assert_error(await rest.get("applications", "00nosuchapp00000"), 404, "NotFound")
    assert "00nosuchapp00000" in message


async def test_check_takes_an_application_and_its_listed_role(
        rest: RestClient, applications: dict[str, str]) -> None:
    application = applications["serverless-livy"]
    answer = await rest.post("check", body={"application_id": application, "role_arn": MARKETING})
    assert answer.status == 200, answer
    assert answer.body["application"]["id"] == application
    assert answer.body["role"]["arn"] == MARKETING
    unlisted = f"arn:aws:iam::{ACCOUNT}:role/not-listed"
    message = assert_error(await rest.post("check", body={
        "application_id": application, "role_arn": unlisted}), 403, "RoleNotListed")
    assert f"application {application}" in message and SALES in message
    both = await rest.post("check", body={"application_id": application, "role_arn": SALES,
                                          "cluster_id": "j-ABC"})
    assert "give one of them" in assert_error(both, 400, "BadRequest")


async def test_another_account_through_its_access_role_and_one_without(
        rest: RestClient) -> None:
    """The world's access role may list clusters but no EMR Serverless application: that is
    the reason given, not an empty list."""
    partner = assert_error(await rest.get("applications", account=PARTNER_ACCOUNT), 403,
                           "AccessDenied")
    assert "emr-notebook-access" in partner and "emr-serverless:ListApplications" in partner
    message = assert_error(await rest.get("applications", account="999999999999"), 400,
                           "BadRequest")
    assert "no access role" in message and "applications of account" in message


async def test_a_user_who_may_not_list_applications_gets_403_naming_the_action(
        rest: RestClient, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    iam = emulator.admin("iam")
    user = f"clusters-only-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "elasticmapreduce:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    message = assert_error(await rest.get("applications"), 403, "AccessDenied")
    assert "emr-serverless:ListApplications" in message


FILLERS = 55
PARTNER_APPLICATION = "partner-serverless"
# What a partner account's access role needs to list its applications and open Livy sessions
# on them as one of its roles (passing the role is the access role's already).
PARTNER_SERVERLESS_ACTIONS = ["emr-serverless:ListApplications", "emr-serverless:GetApplication",
                              "emr-serverless:AccessLivyEndpoints"]


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The default world plus 55 created applications (two ListApplications pages), and an
    application in the partner account, whose access role may list it and open sessions."""
    def fill(world: dict) -> None:
        world["serverless_applications"] += [
            {"name": f"filler-{n:02d}", "state": "CREATED"} for n in range(FILLERS)]
        (partner,) = world["partner_accounts"]
        partner["serverless_applications"] = [{
            "name": PARTNER_APPLICATION, "release": "emr-7.1.0", "livy_endpoint": True,
            "auto_stop_minutes": None}]
        partner["access_role_serverless_actions"] = PARTNER_SERVERLESS_ACTIONS

    with start_changed_world(tmp_path_factory.mktemp("crowded-applications"), fill,
                             "--spark", "fake") as running:
        yield running


async def test_following_markers_gives_every_application_once(
        rest: RestClient, crowded: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, crowded)
    names: list[str] = []
    pages, marker = 0, None
    while True:
        answer = await rest.get("applications", **({"marker": marker} if marker else {}))
        assert answer.status == 200, answer
        names += [row["name"] for row in answer.body["applications"]]
        pages += 1
        marker = answer.body["marker"]
        if marker is None:
            break
    assert pages == 2 and len(names) == len(set(names)) == len(WORLD) + FILLERS
    assert set(names) == set(crowded.application_ids())
    refused = await rest.get("applications", marker="not-a-real-marker")
    assert "first page" in assert_error(refused, 400, "BadRequest")


async def test_another_accounts_applications_through_its_access_role(
        rest: RestClient, crowded: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, crowded)
    answer = await rest.get("applications", account=PARTNER_ACCOUNT)
    assert answer.status == 200, answer
    (row,) = answer.body["applications"]
    assert (row["name"], row["engines"], row["kind"]) == (PARTNER_APPLICATION, ["livy"],
                                                          "serverless")
    assert row["arn"].startswith(f"arn:aws:emr-serverless:us-east-1:{PARTNER_ACCOUNT}:")
    readiness = row["readiness"]
    assert readiness["account"] == PARTNER_ACCOUNT and readiness["ready"] is True, readiness
    assert PARTNER_APPLICATION not in {app["name"] for app in (
        await rest.get("applications")).body["applications"]}, "the caller's own account"
    checked = await rest.post("check", body={"application_id": row["id"], "role_arn": PARTNER_ROLE,
                                             "access_role_arn": PARTNER_ACCESS})
    assert checked.status == 200 and checked.body["application"]["account"] == PARTNER_ACCOUNT


def test_a_kernel_connects_to_another_accounts_application_through_its_access_role(
        crowded: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    """The roles file names the partner account's access role: `%connect --application-id`
    finds the application through it and signs the Livy endpoint's requests with it, and the
    session runs as the partner's role."""
    keys = crowded.client("sts").assume_role(RoleArn=PARTNER_ACCESS,
                                             RoleSessionName="test")["Credentials"]
    partner = crowded.client("emr-serverless", aws_access_key_id=keys["AccessKeyId"],
                             aws_secret_access_key=keys["SecretAccessKey"],
                             aws_session_token=keys["SessionToken"])
    (application,) = [app["id"] for app in partner.list_applications()["applications"]]
    kernel = notebook(crowded)
    kernel.ok("%load_ext jupyter_emr_roles")
    connected(kernel.ok(f"%connect --application-id {application} --role-arn {PARTNER_ROLE} "
                        "--name partner"), PARTNER_ROLE, application, "partner")
    assert PARTNER_ARN in kernel.ok("%%spark -s partner\n" + WHO_AM_I)
    assert "disconnected partner" in kernel.ok("%disconnect --all")

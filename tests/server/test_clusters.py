"""GET clusters: one ListClusters page per request, in the states asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rest import RestClient, assert_error, point_at
from emulators import RunningEmulator, module_emulator, start_changed_world

WORLD_ACTIVE = {"shared-analytics", "connect-analytics", "spark-sessions",
                "lake-formation-sessions", "no-runtime-roles",
                "no-security-configuration", "release-too-old", "multi-primary",
                "livy-unreachable", "livy-plain-http",
                "livy-port-on-instance-group", "s3-access-grants", "emrfs-credentials-provider"}


async def test_by_default_only_running_and_waiting_clusters(rest: RestClient) -> None:
    answer = await rest.get("clusters")
    assert answer.status == 200
    assert answer.body["marker"] is None
    rows = answer.body["clusters"]
    assert {row["name"] for row in rows} == WORLD_ACTIVE
    assert all(set(row) == {"id", "name", "state", "arn"} for row in rows)
    assert {row["state"] for row in rows} <= {"RUNNING", "WAITING"}
    assert all(row["arn"].endswith(f":cluster/{row['id']}") for row in rows)


async def test_states_select_the_clusters(rest: RestClient) -> None:
    answer = await rest.get("clusters", states="STARTING,TERMINATING")
    assert answer.status == 200
    assert answer.body == {"clusters": [], "marker": None}


@pytest.mark.parametrize("states", ["TERMINATED", "RUNNING,", "running", "RUNNING;WAITING", ""])
async def test_states_outside_the_list_are_400(rest: RestClient, states: str) -> None:
    message = assert_error(await rest.get("clusters", states=states), 400, "BadRequest")
    assert "STARTING, BOOTSTRAPPING, RUNNING, WAITING, TERMINATING" in message


@pytest.mark.parametrize("marker", ["has space", "x" * 5000, "caf\u00e9"])
async def test_a_marker_of_the_wrong_shape_is_400(rest: RestClient, marker: str) -> None:
    message = assert_error(await rest.get("clusters", marker=marker), 400, "BadRequest")
    assert "marker" in message


async def test_a_marker_emr_refuses_is_400(rest: RestClient) -> None:
    message = assert_error(await rest.get("clusters", marker="not-a-real-marker"), 400,
                           "BadRequest")
    assert "'not-a-real-marker'" in message and "first page" in message


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The default world plus 1000 filler clusters (seeding takes about ten seconds)."""
    yield from module_emulator(tmp_path_factory, "crowded", "--clusters", "1000")


async def test_following_markers_gives_every_cluster_once(
        rest: RestClient, crowded: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, crowded)
    ids: list[str] = []
    pages, marker = 0, None
    while True:
        answer = await rest.get("clusters", **({"marker": marker} if marker else {}))
        assert answer.status == 200, answer
        ids += [row["id"] for row in answer.body["clusters"]]
        pages += 1
        marker = answer.body["marker"]
        if marker is None:
            break
    expected = {c["Id"] for page in crowded.client("emr").get_paginator("list_clusters").paginate(
        ClusterStates=["RUNNING", "WAITING"]) for c in page["Clusters"]}
    assert len(ids) == len(set(ids)) == len(expected) == 1013  # 13 active world clusters + 1000
    assert set(ids) == expected
    assert pages > 1


@pytest.fixture(scope="module")
def no_emr_rights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The default world, but its user may call no EMR action beyond its roles' credentials."""
    with start_changed_world(tmp_path_factory.mktemp("no-emr-rights"),
                             lambda world: world["demo_user"].update(emr_actions=[]),
                             "--spark", "fake") as running:
        yield running


async def test_a_user_who_may_not_list_clusters_gets_403_access_denied(
        rest: RestClient, no_emr_rights: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    point_at(monkeypatch, no_emr_rights)
    message = assert_error(await rest.get("clusters"), 403, "AccessDenied")
    assert "elasticmapreduce:ListClusters" in message, "names the IAM action, not 'no clusters'"


async def test_a_key_aws_does_not_know_is_502_bad_credentials(
        rest: RestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    message = assert_error(await rest.get("clusters"), 502, "BadCredentials")
    assert "did not accept your credentials" in message


PARTNER = "210987654321"


async def test_another_accounts_clusters_through_its_access_role(
        rest: RestClient, emulator: RunningEmulator) -> None:
    answer = await rest.get("clusters", account=PARTNER)
    assert answer.status == 200, answer
    rows = answer.body["clusters"]
    assert [row["name"] for row in rows] == ["partner-analytics"]
    assert rows[0]["arn"].startswith(f"arn:aws:elasticmapreduce:us-east-1:{PARTNER}:")
    readiness = await rest.get(f"clusters/{rows[0]['id']}", account=PARTNER)
    assert readiness.status == 200 and readiness.body["account"] == PARTNER
    assert readiness.body["ready"] is True
    unseen = await rest.get(f"clusters/{rows[0]['id']}")
    assert unseen.status == 404, "the caller itself does not see the partner's cluster"


async def test_an_account_without_an_access_role_is_not_the_callers_own(
        rest: RestClient) -> None:
    message = assert_error(await rest.get("clusters", account="999999999999"), 400,
                           "BadRequest")
    assert "no access role" in message and "999999999999" in message
    own = await rest.get("clusters", account="123456789012")
    assert own.status == 200 and {r["name"] for r in own.body["clusters"]} == WORLD_ACTIVE
    assert_error(await rest.get("clusters", account="12345"), 400, "InvalidIdentifier")


async def test_an_access_role_that_cannot_be_assumed_is_403_with_the_reason(
        rest: RestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roles_file = tmp_path / "roles.json"
    roles_file.write_text(json.dumps({"version": 1, "accounts": {PARTNER: {
        "roles": [{"arn": f"arn:aws:iam::{PARTNER}:role/partner-analytics-access"}],
        "access_role": f"arn:aws:iam::{PARTNER}:role/no-such-access-role"}}}))
    monkeypatch.setenv("JUPYTER_EMR_ROLES_FILE", str(roles_file))
    message = assert_error(await rest.get("clusters", account=PARTNER), 403, "AccessDenied")
    assert "no-such-access-role" in message

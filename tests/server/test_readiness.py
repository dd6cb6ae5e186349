"""GET clusters/{id}: each prerequisite checked, with the reason and the fix."""

from __future__ import annotations

import json

import pytest
from rest import Answer, RestClient, assert_error
from emulators import RunningEmulator

CHECK_KEYS = ["cluster-state", "release", "applications", "single-primary", "runtime-roles",
              "in-transit-encryption", "livy", "spark-connect"]


async def test_shared_analytics_is_ready(rest: RestClient, cluster_ids: dict[str, str]) -> None:
    answer = await rest.get("clusters", cluster_ids["shared-analytics"])
    assert answer.status == 200
    body = answer.body
    assert (body["id"], body["name"], body["state"]) == (
        cluster_ids["shared-analytics"], "shared-analytics", "WAITING")
    assert body["account"] == "123456789012" and body["release"].startswith("emr-")
    assert body["ready"] is True and body["reasons"] == []
    assert [check["key"] for check in body["checks"]] == CHECK_KEYS
    assert all(check["passed"] is True for check in body["checks"])
    assert body["session_enabled"] is False
    assert body["engines"]["livy"] == {"ready": True, "reasons": []}
    assert body["engines"]["spark-connect"]["ready"] is False
    assert "need emr-spark-8.0.0 or later" in body["engines"]["spark-connect"]["reasons"][0]


async def test_a_cluster_with_spark_connect_sessions_says_so(
        rest: RestClient, cluster_ids: dict[str, str]) -> None:
    answer = await rest.get("clusters", cluster_ids["connect-analytics"])
    assert answer.status == 200
    assert answer.body["release"] == "emr-spark-8.0.0" and answer.body["ready"] is True
    assert answer.body["session_enabled"] is True
    assert {name: engine["ready"] for name, engine in answer.body["engines"].items()} == {
        "livy": True, "spark-connect": True}


def engines(answer: Answer) -> dict[str, bool]:
    return {name: engine["ready"] for name, engine in answer.body["engines"].items()}


async def test_a_session_cluster_without_livy_is_ready_for_spark_connect_only(
        rest: RestClient, cluster_ids: dict[str, str]) -> None:
    answer = await rest.get("clusters", cluster_ids["spark-sessions"])
    assert answer.status == 200 and answer.body["ready"] is True, answer.body
    assert answer.body["reasons"] == [] and engines(answer) == {"livy": False,
                                                                "spark-connect": True}
    (why,) = answer.body["engines"]["livy"]["reasons"]
    assert why.startswith("Livy not installed") and "Name=Livy" in why, why
    shown = {check["key"]: check for check in answer.body["checks"]}
    assert "not needed for Spark Connect" in shown["applications"]["detail"]
    assert shown["applications"]["passed"] is shown["livy"]["passed"] is True


async def test_a_lake_formation_cluster_is_ready_for_livy_only(
        rest: RestClient, cluster_ids: dict[str, str]) -> None:
    answer = await rest.get("clusters", cluster_ids["lake-formation-sessions"])
    assert answer.body["ready"] is True and answer.body["session_enabled"] is True
    assert engines(answer) == {"livy": True, "spark-connect": False}
    (why,) = answer.body["engines"]["spark-connect"]["reasons"]
    assert "Lake Formation fine-grained access control" in why, why


@pytest.mark.parametrize(("cluster", "words"), [
    ("livy-plain-http", "plain HTTP"),
    ("livy-unreachable", "Livy"),
])
async def test_a_cluster_whose_livy_the_doctor_fails_is_not_ready(
        rest: RestClient, cluster_ids: dict[str, str], cluster: str, words: str) -> None:
    """The badge means what the doctor means: Livy is probed as %connect finds it."""
    answer = await rest.get("clusters", cluster_ids[cluster])
    assert answer.body["ready"] is False and engines(answer) == {"livy": False,
                                                                "spark-connect": False}
    livy = next(check for check in answer.body["checks"] if check["key"] == "livy")
    assert livy["passed"] is False and words in livy["detail"], livy
    assert livy["detail"] in " ".join(answer.body["reasons"])


@pytest.mark.parametrize(("cluster", "failed", "words"), [
    ("no-runtime-roles", "runtime-roles", "does not enable runtime roles"),
    ("no-security-configuration", "runtime-roles", "has no security configuration"),
    ("release-too-old", "release", "predates runtime roles"),
    ("multi-primary", "single-primary", "3 primary nodes"),
    ("terminated", "cluster-state", "The cluster is TERMINATED"),
])
async def test_each_broken_cluster_says_why(rest: RestClient, cluster_ids: dict[str, str],
                                            cluster: str, failed: str, words: str) -> None:
    answer = await rest.get("clusters", cluster_ids[cluster])
    assert answer.status == 200
    assert answer.body["ready"] is False
    assert failed in {check["key"] for check in answer.body["checks"] if check["passed"] is False}
    assert any(words in reason for reason in answer.body["reasons"]), answer.body["reasons"]
    failing = next(c for c in answer.body["checks"] if c["key"] == failed)
    assert failing["fix"]


@pytest.mark.parametrize("value", ["j-lowercase1", "i-0123ABC", "j-ABC;rm"])
async def test_a_malformed_cluster_id_is_400_naming_it(rest: RestClient, value: str) -> None:
    message = assert_error(await rest.get("clusters", value), 400, "InvalidIdentifier")
    assert repr(value) in message and "j-" in message


async def test_an_unknown_cluster_is_404(rest: RestClient) -> None:
    message = assert_error(await rest.get("clusters", "j-NOSUCHCLUSTER1"), 404, "NotFound")
    assert "j-NOSUCHCLUSTER1" in message


async def test_readiness_is_kept_for_a_while(rest: RestClient, emulator: RunningEmulator,
                                             cluster_ids: dict[str, str]) -> None:
    """A second look within 30 seconds does not describe the cluster again."""

    def describes() -> int:
        status = json.loads(emulator.cli("status", "--json").stdout)
        return status["calls"].get("DescribeCluster", 0)

    cluster = cluster_ids["livy-unreachable"]
    before = describes()
    first = await rest.get("clusters", cluster)
    second = await rest.get("clusters", cluster)
    assert first.status == second.status == 200 and first.body == second.body
    assert describes() == before + 1

"""GET clusters/{id}: each prerequisite checked, with the reason and the fix."""

from __future__ import annotations

import json

import pytest
from rest import RestClient, assert_error
from emulators import RunningEmulator

CHECK_KEYS = ["cluster-state", "release", "applications", "single-primary", "runtime-roles",
              "in-transit-encryption"]


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


async def test_a_cluster_with_spark_connect_sessions_says_so(
        rest: RestClient, cluster_ids: dict[str, str]) -> None:
    answer = await rest.get("clusters", cluster_ids["connect-analytics"])
    assert answer.status == 200
    assert answer.body["release"] == "emr-8.0.0" and answer.body["ready"] is True
    assert answer.body["session_enabled"] is True


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

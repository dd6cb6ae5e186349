"""GET doctor: the doctor's report through the server extension, as the CLI prints it."""

from __future__ import annotations

import json

from rest import RestClient, assert_error

from jupyter_emr_roles.doctor import CHECK_IDS

SALES = "arn:aws:iam::123456789012:role/sales-data-access"
NO_TAG_SESSION = "arn:aws:iam::123456789012:role/no-tag-session"


async def test_the_report_of_a_ready_cluster(rest: RestClient,
                                             cluster_ids: dict[str, str]) -> None:
    answer = await rest.get("doctor", cluster_id=cluster_ids["shared-analytics"])
    assert answer.status == 200, answer
    body = answer.body
    assert body["ready"] is True and body["role_arn"] == SALES
    assert [check["id"] for check in body["checks"]] == list(CHECK_IDS)
    assert "Password" not in json.dumps(body)


async def test_a_broken_role_is_a_report_not_an_error(rest: RestClient,
                                                      cluster_ids: dict[str, str]) -> None:
    answer = await rest.get("doctor", cluster_id=cluster_ids["shared-analytics"],
                            role_arn=NO_TAG_SESSION)
    assert answer.status == 200 and answer.body["ready"] is False
    trust = next(c for c in answer.body["checks"] if c["id"] == "role-trust")
    assert trust["status"] == "fail" and "sts:TagSession" in trust["fix"]


async def test_a_malformed_or_missing_identifier_is_400(rest: RestClient) -> None:
    assert_error(await rest.get("doctor", cluster_id="j-bad;id"), 400, "InvalidIdentifier")
    assert_error(await rest.get("doctor"), 400, "InvalidIdentifier")
    assert_error(await rest.get("doctor", cluster_id="j-1K48XXXXXXHCB", role_arn="sales"), 400,
                 "InvalidIdentifier")


async def test_an_unknown_cluster_is_404(rest: RestClient) -> None:
    assert_error(await rest.get("doctor", cluster_id="j-NOSUCHCLUSTER1"), 404, "NotFound")


async def test_every_failing_check_carries_its_fix(rest: RestClient,
                                                   cluster_ids: dict[str, str]) -> None:
    """The REST badge and --json readers get the remedy in ``fix``, not inside the message."""
    answer = await rest.get("doctor", cluster_id=cluster_ids["livy-plain-http"])
    assert answer.status == 200 and answer.body["ready"] is False
    failed = [check for check in answer.body["checks"] if check["status"] == "fail"]
    livy = next(check for check in failed if check["id"] == "livy")
    assert livy["fix"].startswith("Enable TLS for Livy") and "Enable TLS" not in livy["message"]
    assert all(check["fix"] for check in failed), failed

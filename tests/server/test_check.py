"""POST check: a cluster and a role the Lab extension is about to put in a %%connect cell."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest import RestClient, assert_error

ACCOUNT = "123456789012"
SALES = f"arn:aws:iam::{ACCOUNT}:role/sales-data-access"
ELECTRONICS = f"arn:aws:iam::{ACCOUNT}:role/electronics-data-access"


async def test_a_listed_role_on_a_ready_cluster(rest: RestClient,
                                                cluster_ids: dict[str, str]) -> None:
    cluster = cluster_ids["shared-analytics"]
    answer = await rest.post("check", body={"cluster_id": cluster, "role_arn": SALES,
                                            "access_role_arn": None})
    assert answer.status == 200, answer
    assert answer.body["role"] == {"arn": SALES, "label": "Sales", "default": True,
                                   "sources": ["emr-roles.json"]}
    assert answer.body["cluster"]["id"] == cluster and answer.body["cluster"]["ready"] is True


async def test_a_listed_role_on_a_broken_cluster_gives_the_reasons(
        rest: RestClient, cluster_ids: dict[str, str]) -> None:
    answer = await rest.post("check", body={"cluster_id": cluster_ids["multi-primary"],
                                            "role_arn": SALES})
    assert answer.status == 200
    assert answer.body["cluster"]["ready"] is False
    assert any("3 primary nodes" in reason for reason in answer.body["cluster"]["reasons"])


async def test_a_role_not_in_the_roles_files_is_403(rest: RestClient,
                                                    cluster_ids: dict[str, str]) -> None:
    """electronics-data-access exists in the account, but the user's files do not offer it."""
    answer = await rest.post("check", body={"cluster_id": cluster_ids["shared-analytics"],
                                            "role_arn": ELECTRONICS})
    message = assert_error(answer, 403, "RoleNotListed")
    assert ELECTRONICS in message and ACCOUNT in message and SALES in message


@pytest.mark.parametrize(("field", "value"), [
    ("role_arn", "arn:aws:iam::123456789012:user/sales-data-access"),
    ("role_arn", "sales-data-access"),
    ("role_arn", None),
    ("cluster_id", "j-abc"),
    ("access_role_arn", "arn:aws:iam::12345:role/access"),
])
async def test_a_malformed_identifier_is_400_naming_it(rest: RestClient,
                                                       cluster_ids: dict[str, str],
                                                       field: str, value: object) -> None:
    body = {"cluster_id": cluster_ids["shared-analytics"], "role_arn": SALES, field: value}
    message = assert_error(await rest.post("check", body=body), 400, "InvalidIdentifier")
    assert field in message and ascii(value)[:40] in message


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"cluster_id": "j-1", "role": "x"}', ""])
async def test_a_body_that_is_not_the_request_is_400(rest: RestClient, body: str) -> None:
    message = assert_error(await rest.post("check", body=body, allow_nonstandard_methods=True),
                           400, "BadRequest")
    assert "cluster_id" in message


async def test_an_unknown_cluster_is_404(rest: RestClient) -> None:
    answer = await rest.post("check", body={"cluster_id": "j-NOSUCHCLUSTER2", "role_arn": SALES})
    assert_error(answer, 404, "NotFound")


async def test_aws_denial_is_403_access_denied(rest: RestClient,
                                               cluster_ids: dict[str, str]) -> None:
    """The demo user may not call sts:AssumeRole, so going through an access role is denied."""
    answer = await rest.post("check", body={
        "cluster_id": cluster_ids["shared-analytics"], "role_arn": SALES,
        "access_role_arn": f"arn:aws:iam::{ACCOUNT}:role/marketing-data-access"})
    message = assert_error(answer, 403, "AccessDenied")
    assert "sts:AssumeRole" in message


async def test_a_broken_roles_file_is_422(rest: RestClient, cluster_ids: dict[str, str],
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "emr-roles.json"
    broken.write_text('{"version": 2}')
    monkeypatch.setenv("JUPYTER_EMR_ROLES_FILE", str(broken))
    answer = await rest.post("check", body={"cluster_id": cluster_ids["shared-analytics"],
                                            "role_arn": SALES})
    assert_error(answer, 422, "RolesFileError")
    assert answer.body["problems"]


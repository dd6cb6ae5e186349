"""GET roles: the merged roles files as the pickers show them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_world import ACCOUNT, MARKETING, PARTNER_ACCESS, PARTNER_ACCOUNT, SALES
from rest import RestClient, assert_error



async def test_roles_are_those_of_the_roles_file(rest: RestClient) -> None:
    answer = await rest.get("roles")
    assert answer.status == 200
    account, partner = answer.body["accounts"]
    assert account["account"] == ACCOUNT
    assert partner["account"] == PARTNER_ACCOUNT and partner["access_role"] == PARTNER_ACCESS
    assert account["default_role"] == SALES
    assert [(r["arn"], r["label"], r["default"]) for r in account["roles"]] == [
        (SALES, "Sales", True), (MARKETING, "Marketing", False)]
    own = next(s for s in answer.body["sources"] if s["name"] == "emr-roles.json")
    assert own["files"][0]["exists"] is True
    assert answer.body["conflicts"] == []


async def test_a_broken_roles_file_is_422_with_its_problems(
        rest: RestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "emr-roles.json"
    broken.write_text(json.dumps({"version": 1, "accounts": {"12345": {"roles": [
        {"arn": "arn:aws:iam::12345:role/x"}]}}}))
    monkeypatch.setenv("JUPYTER_EMR_ROLES_FILE", str(broken))
    answer = await rest.get("roles")
    message = assert_error(answer, 422, "RolesFileError")
    assert str(broken) in message or "emr-roles.json" in message
    problems = answer.body["problems"]
    assert problems and all(set(p) == {"file", "key", "message", "fix"} for p in problems)
    assert any("12345" in p["message"] or "12345" in p["key"] for p in problems)


async def test_a_roles_file_that_is_not_json(
        rest: RestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "emr-roles.json"
    broken.write_text('{"version": 1, "accounts": ')
    monkeypatch.setenv("JUPYTER_EMR_ROLES_FILE", str(broken))
    answer = await rest.get("roles")
    assert_error(answer, 422, "RolesFileError")
    assert len(answer.body["problems"]) == 1

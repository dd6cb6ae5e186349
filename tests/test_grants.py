"""`jupyter-emr-roles grants` through the real CLI against the emulator's S3 Access Grants,
seeded for the demo roles as an admin or a policy engine would create them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_world import ACCOUNT, MARKETING, SALES
from emulators import RunningEmulator, start_changed_world
from helpers import RunCli, one_paragraph_error

ELECTRONICS = f"arn:aws:iam::{ACCOUNT}:role/electronics-data-access"
PARTNER = "arn:aws:iam::210987654321:role/partner-analytics-access"


def grants(cli: RunCli, emulator: RunningEmulator, *args: str):
    return cli("grants", *args, env=emulator.env)


def test_the_roles_grants_with_scope_and_permission(cli: RunCli,
                                                    emulator: RunningEmulator) -> None:
    proc = grants(cli, emulator, "--role-arn", SALES, "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["account"] == ACCOUNT and answer["instance_arn"].endswith(":access-grants/default")
    assert [(g["scope"], g["permission"], g["grantee"]) for g in answer["grants"]] == [
        ("s3://demo-data/sales/*", "READ", SALES)], "only the grants made to this role"
    marketing = json.loads(grants(cli, emulator, "--role-arn", MARKETING, "--json").stdout)
    assert [g["permission"] for g in marketing["grants"]] == ["READWRITE"]


@pytest.mark.parametrize(("prefix", "covered"), [("s3://demo-data/sales/2024/", True),
                                                 ("s3://demo-data/sales/", True),
                                                 ("s3://demo-data/marketing/", False),
                                                 ("s3://demo-data/", False)])
def test_a_prefix_is_covered_or_not(cli: RunCli, emulator: RunningEmulator, prefix: str,
                                    covered: bool) -> None:
    proc = grants(cli, emulator, "--role-arn", SALES, "--prefix", prefix, "--json")
    assert proc.returncode == (0 if covered else 1), proc.stderr
    answer = json.loads(proc.stdout)["prefix"]
    assert answer["s3_prefix"] == prefix and answer["covered"] is covered
    assert (answer["grant"] is not None) is covered
    text = grants(cli, emulator, "--role-arn", SALES, "--prefix", prefix).stdout
    assert ("is covered by grant" if covered else "is covered by no grant") in text


def test_a_role_without_grants_gets_one_line(cli: RunCli, emulator: RunningEmulator) -> None:
    proc = grants(cli, emulator, "--role-arn", ELECTRONICS)
    assert proc.returncode == 0
    assert proc.stdout.strip().count("\n") == 0 and "No S3 Access Grants apply" in proc.stdout


def test_access_denied_is_one_paragraph_naming_the_permission(
        cli: RunCli, emulator: RunningEmulator) -> None:
    message = one_paragraph_error(grants(cli, emulator, "--role-arn", PARTNER))
    assert "s3:GetAccessGrantsInstance" in message and "210987654321" in message


def test_a_malformed_prefix_or_role_is_a_usage_error(cli: RunCli,
                                                     emulator: RunningEmulator) -> None:
    for args in (("--role-arn", SALES, "--prefix", "demo-data/sales/"), ("--role-arn", "sales")):
        proc = grants(cli, emulator, *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_an_account_without_an_instance_says_so_and_the_doctor_fails_the_check(
        cli: RunCli, tmp_path: Path) -> None:
    with start_changed_world(tmp_path / "no-grants", lambda world: world.update(
            s3_access_grants=[]), "--spark", "fake") as bare:
        message = one_paragraph_error(grants(cli, bare, "--role-arn", SALES))
        cluster = bare.cluster_ids()["s3-access-grants"]
        doctor = cli("doctor", "--cluster-id", cluster, "--json", env=bare.env)
    assert "has no S3 Access Grants instance" in message
    assert f"create-access-grants-instance --account-id {ACCOUNT}" in message
    finding = next(c for c in json.loads(doctor.stdout)["checks"]
                   if c["id"] == "s3-access-grants")
    assert doctor.returncode == 1 and finding["status"] == "fail"
    assert "create-access-grants-instance" in finding["fix"]

"""Studio's own EmrSettings as a source of roles: DescribeUserProfile, else DescribeDomain, of
the domain and profile Studio's metadata file names; the emulator serves both for its domain."""

from __future__ import annotations

import json
from pathlib import Path

from demo_world import MARKETING, PARTNER_ACCESS, PARTNER_ACCOUNT, PARTNER_ROLE, SALES
from emulators import RunningEmulator
from helpers import RunCli

DOMAIN = "d-demo00000000"
ELECTRONICS = "arn:aws:iam::123456789012:role/electronics-data-access"


def studio_env(emulator: RunningEmulator, tmp_path: Path, profile: str | None,
               user: str | None = None, space: str | None = None) -> dict[str, str]:
    """A Studio app of ``profile`` (in ``space``): its metadata file, and no roles file of ours."""
    metadata = tmp_path / f"metadata-{profile}-{space}.json"
    named = {"UserProfileName": profile} if profile else {}
    metadata.write_text(json.dumps({"DomainId": DOMAIN, **named,
                                    **({"SpaceName": space} if space else {})}))
    env = emulator.env_of(user) if user else dict(emulator.env)
    return {**env, "JUPYTER_EMR_ROLES_STUDIO_METADATA": str(metadata),
            "JUPYTER_EMR_ROLES_FILE": str(tmp_path / "none.json")}


def listed(cli: RunCli, env: dict[str, str]) -> dict[str, dict]:
    proc = cli("roles", "list", "--json", env=env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return {entry["account"]: entry for entry in json.loads(proc.stdout)["accounts"]}


def test_the_user_profiles_runtime_and_access_roles(cli: RunCli, emulator: RunningEmulator,
                                                    tmp_path: Path) -> None:
    accounts = listed(cli, studio_env(emulator, tmp_path, "studio-analyst"))
    assert [(r["arn"], r["sources"]) for r in accounts["123456789012"]["roles"]] == [
        (MARKETING, ["studio-domain"])]
    partner = accounts[PARTNER_ACCOUNT]
    assert [r["arn"] for r in partner["roles"]] == [PARTNER_ROLE]
    assert partner["access_role"] == PARTNER_ACCESS
    text = cli("roles", "list", env=studio_env(emulator, tmp_path, "studio-analyst")).stdout
    assert "studio-domain" in text


def test_a_profile_without_emr_settings_inherits_the_domains(
        cli: RunCli, emulator: RunningEmulator, tmp_path: Path) -> None:
    accounts = listed(cli, studio_env(emulator, tmp_path, "studio-newcomer"))
    assert [r["arn"] for r in accounts["123456789012"]["roles"]] == [SALES]


def test_the_clusters_of_the_access_role_account_are_reached(
        cli: RunCli, emulator: RunningEmulator, tmp_path: Path) -> None:
    partner = emulator.livy_cluster_ids()["partner-analytics"]
    proc = cli("doctor", "--cluster-id", partner, "--role-arn", PARTNER_ROLE, "--json",
               env=studio_env(emulator, tmp_path, "studio-analyst"))
    assert "Traceback" not in proc.stderr, proc.stderr
    checks = {check["id"]: check["status"] for check in json.loads(proc.stdout)["checks"]}
    assert checks["cluster-state"] == "pass", "described through the profile's access role"
    assert checks["gcsc"] == "pass"


def test_a_refused_api_is_a_warning_and_the_files_still_count(
        cli: RunCli, emulator: RunningEmulator, tmp_path: Path) -> None:
    env = studio_env(emulator, tmp_path, "studio-analyst", user="new-analyst")
    own = tmp_path / "own.json"
    own.write_text(json.dumps({"version": 1, "accounts": {"123456789012": {
        "roles": [{"arn": SALES, "default": True}]}}}))
    env["JUPYTER_EMR_ROLES_FILE"] = str(own)
    proc = cli("roles", "list", env=env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert SALES in proc.stdout
    warning = [line for line in proc.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and "sagemaker:DescribeUserProfile" in warning[0]
    assert "could not be read" in warning[0]


def test_outside_studio_nothing_is_asked(cli: RunCli, emulator: RunningEmulator,
                                         tmp_path: Path) -> None:
    env = {**emulator.env, "JUPYTER_EMR_ROLES_STUDIO_METADATA": str(tmp_path / "missing.json"),
           "AWS_ENDPOINT_URL": "https://127.0.0.1:9"}
    proc = cli("roles", "list", "--json", env=env)
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr


def test_a_shared_space_takes_the_domains_default_space_settings(
        cli: RunCli, emulator: RunningEmulator, tmp_path: Path) -> None:
    shared = listed(cli, studio_env(emulator, tmp_path, "studio-analyst", space="analytics-team"))
    assert [r["arn"] for r in shared["123456789012"]["roles"]] == [ELECTRONICS]
    assert PARTNER_ACCOUNT not in shared, "the profile's own settings do not apply there"
    anonymous = listed(cli, studio_env(emulator, tmp_path, None, space="analytics-team"))
    assert [r["arn"] for r in anonymous["123456789012"]["roles"]] == [ELECTRONICS]


def test_a_private_space_takes_its_owners_settings(cli: RunCli, emulator: RunningEmulator,
                                                   tmp_path: Path) -> None:
    accounts = listed(cli, studio_env(emulator, tmp_path, "studio-analyst",
                                      space="studio-analyst-space"))
    assert [r["arn"] for r in accounts["123456789012"]["roles"]] == [MARKETING]
    assert accounts[PARTNER_ACCOUNT]["access_role"] == PARTNER_ACCESS


def test_the_profile_given_is_the_one_that_asks_sagemaker(
        cli: RunCli, emulator: RunningEmulator, tmp_path: Path) -> None:
    """The environment's keys (new-analyst's) may not read the domain; --profile names the
    demo user's, who may: with them the profile's access role is found and the partner's
    cluster reached through it."""
    env = studio_env(emulator, tmp_path, "studio-analyst", user="new-analyst")
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[analyst]\naws_access_key_id = {emulator.env['AWS_ACCESS_KEY_ID']}\n"
                           "aws_secret_access_key = "
                           f"{emulator.env['AWS_SECRET_ACCESS_KEY']}\n")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
    partner = emulator.livy_cluster_ids()["partner-analytics"]
    args = ("doctor", "--cluster-id", partner, "--role-arn", PARTNER_ROLE, "--json")
    as_env = cli(*args, env=env)
    assert as_env.returncode == 1 and f"describing cluster {partner}" in as_env.stderr
    as_profile = cli(*args, "--profile", "analyst", env=env)
    assert "Traceback" not in as_profile.stderr, as_profile.stderr
    checks = {check["id"]: check["status"] for check in json.loads(as_profile.stdout)["checks"]}
    assert checks["cluster-state"] == "pass" and checks["gcsc"] == "pass"

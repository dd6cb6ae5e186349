"""Studio's own EmrSettings as a source of roles: DescribeUserProfile, else DescribeDomain, of
the domain and profile Studio's metadata file names; the emulator serves both for its domain."""

from __future__ import annotations

import json
from pathlib import Path

from demo_world import MARKETING, PARTNER_ACCESS, PARTNER_ACCOUNT, PARTNER_ROLE, SALES
from emulators import RunningEmulator
from helpers import RunCli

DOMAIN = "d-demo00000000"


def studio_env(emulator: RunningEmulator, tmp_path: Path, profile: str,
               user: str | None = None) -> dict[str, str]:
    """A Studio app of ``profile``: its metadata file, and no roles file of ours."""
    metadata = tmp_path / f"metadata-{profile}.json"
    metadata.write_text(json.dumps({"DomainId": DOMAIN, "UserProfileName": profile,
                                    "SpaceName": "default"}))
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

"""The `jupyter-emr-roles roles` commands, run as a user runs them, in a throw-away HOME."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import jsonschema
import pytest
from helpers import REPO, RunCli, one_paragraph_error

from jupyter_emr_roles import __version__
from jupyter_emr_roles.roles import STUDIO_CROSS_ACCOUNT_FILE, STUDIO_ROLES_FILE

ACCOUNT = "123456789012"
SALES = f"arn:aws:iam::{ACCOUNT}:role/sales-data-access"
MARKETING = f"arn:aws:iam::{ACCOUNT}:role/marketing-data-access"
ELECTRONICS = f"arn:aws:iam::{ACCOUNT}:role/electronics-data-access"
FOREIGN = "arn:aws:iam::210987654321:role/shared-analytics"
ACCESS = "arn:aws:iam::444455556666:role/emr-access"


def listed(cli: RunCli, *args: str) -> dict:
    proc = cli("roles", "list", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def write_studio(home: Path, roles: dict[str, list[str]], access: dict[str, str] | None = None) -> None:
    """Write Studio's files exactly as its lifecycle configurations do."""
    path = home / STUDIO_ROLES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"emr-execution-role-arns": roles}))
    if access is not None:
        cross = home / STUDIO_CROSS_ACCOUNT_FILE
        cross.parent.mkdir(parents=True, exist_ok=True)
        cross.write_text(json.dumps(access))


def test_add_list_remove_round_trip(home: Path, cli: RunCli) -> None:
    assert cli("roles", "add", SALES, "--label", "Sales (EU)", "--default").returncode == 0
    assert cli("roles", "add", MARKETING).returncode == 0
    assert cli("roles", "add", FOREIGN, "--account", ACCOUNT, "--label", "Shared").returncode == 0

    [account] = listed(cli)["accounts"]
    assert account["account"] == ACCOUNT
    assert account["default_role"] == SALES
    assert [(r["arn"], r["label"], r["default"], r["sources"]) for r in account["roles"]] == [
        (SALES, "Sales (EU)", True, ["emr-roles.json"]),
        (MARKETING, None, False, ["emr-roles.json"]),
        (FOREIGN, "Shared", False, ["emr-roles.json"]),
    ]

    assert cli("roles", "add", MARKETING, "--default").returncode == 0
    assert listed(cli)["accounts"][0]["default_role"] == MARKETING
    assert cli("roles", "remove", SALES).returncode == 0
    assert [r["arn"] for r in listed(cli)["accounts"][0]["roles"]] == [MARKETING, FOREIGN]
    assert cli("roles", "remove", MARKETING).returncode == 0
    assert cli("roles", "remove", FOREIGN).returncode == 0
    assert listed(cli)["accounts"] == []
    assert json.loads((home / ".jupyter/emr-roles.json").read_text()) == {
        "version": 1, "accounts": {}}


def test_written_file_has_the_documented_bytes_and_is_stable(home: Path, cli: RunCli) -> None:
    cli("roles", "add", SALES, "--label", "Ventes \u00e9t\u00e9", "--default")
    path = home / ".jupyter/emr-roles.json"
    expected = json.dumps({"version": 1, "accounts": {ACCOUNT: {"roles": [
        {"arn": SALES, "label": "Ventes \u00e9t\u00e9", "default": True}]}}},
        indent=2, ensure_ascii=False) + "\n"
    assert path.read_text(encoding="utf-8") == expected
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    mtime = path.stat().st_mtime_ns
    assert cli("roles", "add", SALES).returncode == 0  # nothing changes: not rewritten
    assert path.stat().st_mtime_ns == mtime
    assert path.read_text(encoding="utf-8") == expected


def test_writes_keep_the_mode_and_follow_a_symlink(home: Path, cli: RunCli, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "emr-roles.json"
    real.parent.mkdir()
    real.write_text(json.dumps({"version": 1, "accounts": {}}))
    real.chmod(0o600)
    link = home / ".jupyter/emr-roles.json"
    link.parent.mkdir()
    link.symlink_to(real)
    assert cli("roles", "add", SALES).returncode == 0
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert SALES in real.read_text()


def test_env_var_names_another_file(home: Path, cli: RunCli, tmp_path: Path) -> None:
    other = tmp_path / "team-roles.json"
    env = {"JUPYTER_EMR_ROLES_FILE": str(other)}
    assert cli("roles", "add", SALES, env=env).returncode == 0
    assert SALES in other.read_text()
    assert not (home / ".jupyter/emr-roles.json").exists()
    proc = cli("roles", "path", "--json", env=env)
    assert json.loads(proc.stdout)[0]["files"] == [{"path": str(other), "exists": True}]


def test_studio_files_are_read_as_studio_writes_them(home: Path, cli: RunCli) -> None:
    write_studio(home, {ACCOUNT: [SALES, ELECTRONICS], "444455556666": [FOREIGN]},
                 {"444455556666": ACCESS})
    data = listed(cli)
    by_account = {a["account"]: a for a in data["accounts"]}
    assert [r["arn"] for r in by_account[ACCOUNT]["roles"]] == [SALES, ELECTRONICS]
    assert by_account[ACCOUNT]["roles"][0]["sources"] == ["studio"]
    assert by_account["444455556666"]["access_role"] == ACCESS
    assert by_account[ACCOUNT]["access_role"] is None
    assert listed(cli, "--account", "444455556666")["accounts"] == [by_account["444455556666"]]
    text = cli("roles", "list").stdout
    assert "Clusters in account 123456789012:" in text and "studio" in text
    assert "access role (assumed first): " + ACCESS in text


def test_own_file_takes_precedence_and_duplicates_collapse(home: Path, cli: RunCli) -> None:
    write_studio(home, {ACCOUNT: [SALES, ELECTRONICS]})
    cli("roles", "add", SALES, "--label", "Sales", "--default")
    cli("roles", "add", MARKETING)
    [account] = listed(cli)["accounts"]
    assert [(r["arn"], r["label"], r["sources"]) for r in account["roles"]] == [
        (SALES, "Sales", ["emr-roles.json", "studio"]),
        (MARKETING, None, ["emr-roles.json"]),
        (ELECTRONICS, None, ["studio"]),
    ]
    assert account["default_role"] == SALES


def test_removing_a_role_that_only_studio_lists_says_where_it_comes_from(
        home: Path, cli: RunCli) -> None:
    write_studio(home, {ACCOUNT: [ELECTRONICS]})
    message = one_paragraph_error(cli("roles", "remove", ELECTRONICS))
    assert "SageMaker Studio" in message and "lifecycle script" in message
    assert not (home / ".jupyter/emr-roles.json").exists()


def test_conflicting_access_roles_are_reported_not_guessed(home: Path, cli: RunCli) -> None:
    write_studio(home, {}, {"444455556666": ACCESS})
    own = home / ".jupyter/emr-roles.json"
    own.parent.mkdir()
    own.write_text(json.dumps({"version": 1, "accounts": {"444455556666": {
        "roles": [{"arn": FOREIGN}], "access_role": "arn:aws:iam::444455556666:role/other"}}}))
    proc = cli("roles", "list", "--json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert data["accounts"][0]["access_role"] is None
    [conflict] = data["conflicts"]
    assert "disagree on the access role" in conflict["message"]
    assert "Warning: " in proc.stderr
    validated = cli("roles", "validate")
    assert validated.returncode == 1 and "disagree" in validated.stdout


def test_offer_caller_role_is_listed(home: Path, cli: RunCli) -> None:
    own = home / ".jupyter/emr-roles.json"
    own.parent.mkdir()
    own.write_text(json.dumps({"version": 1, "accounts": {ACCOUNT: {
        "roles": [{"arn": SALES}], "offer_caller_role": True}}}))
    assert listed(cli)["accounts"][0]["offer_caller_role"] is True
    assert "your own (caller) role is offered too" in cli("roles", "list").stdout


def test_empty_list_says_what_to_do(cli: RunCli) -> None:
    proc = cli("roles", "list")
    assert proc.returncode == 0
    assert "No runtime roles are configured" in proc.stdout and "roles add" in proc.stdout


def test_path_shows_files_in_precedence_order(home: Path, cli: RunCli) -> None:
    write_studio(home, {ACCOUNT: [SALES]})
    proc = cli("roles", "path")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("1. emr-roles.json") and "absent" in lines[0]
    assert lines[1].startswith("2. studio") and "exists" in lines[1]
    assert "DO_NOT_DELETE" in lines[2] and "absent" in lines[2]


@pytest.mark.parametrize("args", [
    ["roles", "add", "arn:aws:iam::123456789012:role/x;reboot"],
    ["roles", "add", SALES, "--account", "12345"],
    ["roles", "list", "--account", "abc"],
    ["roles", "remove", "not-an-arn"],
    ["roles", "frobnicate"],
    ["roles", "add"],
    ["--no-such-option"],
])
def test_usage_errors_exit_2_without_traceback(home: Path, cli: RunCli, args: list[str]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Error:" in proc.stderr
    assert not (home / ".jupyter/emr-roles.json").exists()


def test_bad_arn_argument_names_the_argument_and_shape(cli: RunCli) -> None:
    proc = cli("roles", "add", "arn:aws:iam::123456789012:role/$(reboot)")
    assert "from the argument ARN" in proc.stderr
    assert "arn:<aws|aws-cn|aws-us-gov>:iam::" in proc.stderr


def test_debug_shows_the_traceback(home: Path, cli: RunCli) -> None:
    own = home / ".jupyter/emr-roles.json"
    own.parent.mkdir()
    own.write_text("{")
    assert "Traceback" not in cli("roles", "list").stderr
    proc = cli("--debug", "roles", "list")
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "RolesFileError" in proc.stderr


@pytest.mark.parametrize("args", [[], ["roles"], ["roles", "list"], ["roles", "add"],
                                  ["roles", "remove"], ["roles", "validate"], ["roles", "path"],
                                  ["roles", "schema"]])
def test_help_everywhere(cli: RunCli, args: list[str]) -> None:
    proc = cli(*args, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: jupyter-emr-roles")


def test_version(cli: RunCli) -> None:
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"jupyter-emr-roles, version {__version__}"


def test_python_m_is_the_same_command(home: Path) -> None:
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "jupyter_emr_roles", "roles", "list", "--json"],
                          capture_output=True, text=True, timeout=60, env=os.environ)
    assert proc.returncode == 0 and json.loads(proc.stdout)["accounts"] == []


def test_published_schema_is_the_models_schema(cli: RunCli) -> None:
    published = REPO / "jupyter_emr_roles/schemas/emr-roles.v1.schema.json"
    printed = json.loads(cli("roles", "schema").stdout)
    assert json.loads(published.read_text()) == printed


def test_schema_accepts_what_we_write_and_rejects_what_we_reject(home: Path, cli: RunCli) -> None:
    schema = json.loads(cli("roles", "schema").stdout)
    cli("roles", "add", SALES, "--label", "Sales", "--default")
    cli("roles", "add", FOREIGN, "--account", ACCOUNT)
    jsonschema.validate(json.loads((home / ".jupyter/emr-roles.json").read_text()), schema)
    example = json.loads((REPO / "examples/emr-roles.json").read_text())
    jsonschema.validate(example, schema)
    for broken in [
        {"version": 1, "accounts": {"12345": {"roles": []}}},
        {"version": 1, "accounts": {ACCOUNT: {"roles": [{"arn": "arn:aws:iam::1:role/x"}]}}},
        {"version": 1, "accounts": {ACCOUNT: {"rolez": []}}},
        {"version": 2, "accounts": {}},
    ]:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_example_file_lists_through_the_env_var(cli: RunCli) -> None:
    proc = cli("roles", "list", env={"JUPYTER_EMR_ROLES_FILE": str(REPO / "examples/emr-roles.json")})
    assert proc.returncode == 0, proc.stderr
    assert "sales-data-access" in proc.stdout

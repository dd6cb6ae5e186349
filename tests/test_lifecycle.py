"""The lifecycle script lifecycle-configs/emr-roles-lcc.sh under real bash, and the JupyterHub hook.

Every test runs the script as a child process with an environment built from
scratch (no EMR_* or AWS_* variable of the developer's shell leaks in) and a
throw-away home folder, and checks the bytes it leaves there.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import pwd
import random
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from identifier_cases import BAD_ACCOUNTS, BAD_ROLE_ARNS, GOOD_ACCOUNTS, GOOD_ROLE_ARNS
from lifecycle_script import (A1, A2, ACCESS, CROSS, ELECTRONICS, HOOK, OLD_OWN, OLD_STUDIO, OWN,
                              PLAIN, REPO, SALES, SCRIPT, SHARED, SOURCE, STUDIO,
                              STUDIO_LCC_LIMIT, TARGETS, dumps, fake_aws, make_home, one_error,
                              run, script_env, snapshot, write_mapping, write_old_files)

from jupyter_emr_roles.roles.formats import parse_own, render

pytestmark = pytest.mark.lifecycle


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path)


@pytest.fixture
def old_files(home: Path) -> dict[str, tuple[bytes | None, int]]:
    """The three files as an earlier run left them (our own file with mode 0600)."""
    return write_old_files(home)


# --- inline configuration ----------------------------------------------------------------

INLINE = "\n".join([
    "# sales team",
    "",
    f"{A1} {SALES}   Sales team  ",
    f"  {A1}\t{ELECTRONICS} Électronique ✓ 😀",
    f'{A2} {SHARED} Say "hi" \\ bye\r',
    f"{A1} {SALES} a duplicate's label is dropped",
    f"{A2} {PLAIN}",
])
INLINE_ENV = {
    "EMR_ROLES": INLINE,
    "EMR_DEFAULT_ROLES": f"# preselected\n{A1} {ELECTRONICS}\n",
    "EMR_ACCESS_ROLES": f"{A2} {ACCESS}",
    "EMR_OFFER_CALLER_ROLE": "true",
}
INLINE_OWN = {"version": 1, "accounts": {
    A1: {"roles": [{"arn": SALES, "label": "Sales team"},
                   {"arn": ELECTRONICS, "label": "Électronique ✓ 😀", "default": True}],
         "offer_caller_role": True},
    A2: {"roles": [{"arn": SHARED, "label": 'Say "hi" \\ bye'}, {"arn": PLAIN}],
         "access_role": ACCESS, "offer_caller_role": True},
}}
INLINE_STUDIO = {"emr-execution-role-arns": {A1: [SALES, ELECTRONICS], A2: [SHARED, PLAIN]}}
INLINE_CROSS = {A2: ACCESS}


def test_inline_roles_write_the_three_files_exactly(home: Path) -> None:
    proc = run(home, INLINE_ENV)

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == (f"emr-roles-lcc: wrote 4 roles for 2 accounts to {home}/.jupyter/"
                           "emr-roles.json and the Studio files\n")
    own = (home / OWN).read_text(encoding="utf-8")
    assert own == dumps(INLINE_OWN)
    assert (home / STUDIO).read_text(encoding="utf-8") == dumps(INLINE_STUDIO)
    assert (home / CROSS).read_text(encoding="utf-8") == dumps(INLINE_CROSS)
    # The package's own reader accepts the file and would render the very same bytes.
    assert render(parse_own(json.loads(own), str(OWN))) == own
    modes = {str(p.relative_to(home)): stat.S_IMODE(p.stat().st_mode) for p in home.rglob("*")}
    assert modes[".jupyter"] == 0o755
    assert modes[str(OWN)] == modes[str(STUDIO)] == modes[str(CROSS)] == 0o644
    assert modes[str(STUDIO.parent)] == modes[str(CROSS.parent)] == 0o700


def test_no_roles_renders_empty_objects_and_leaves_the_cross_account_file_alone(home: Path) -> None:
    (home / CROSS.parent).mkdir()
    (home / CROSS).write_text("not ours\n")

    proc = run(home, {"EMR_ROLES": "# nobody may pick a role yet\n"})

    assert proc.returncode == 0, proc.stderr
    assert (home / OWN).read_text() == dumps({"version": 1, "accounts": {}}) == \
        '{\n  "version": 1,\n  "accounts": {}\n}\n'
    assert (home / STUDIO).read_text() == dumps({"emr-execution-role-arns": {}})
    assert (home / CROSS).read_text() == "not ours\n"


def test_dropping_the_last_access_role_removes_studios_cross_account_file(home: Path) -> None:
    assert run(home, INLINE_ENV).returncode == 0
    assert (home / CROSS).exists()
    without = {**INLINE_ENV, "EMR_ACCESS_ROLES": ""}

    proc = run(home, without)

    assert proc.returncode == 0, proc.stderr
    assert not (home / CROSS).exists(), "Studio would go on using the dropped access role"
    assert "access_role" not in (home / OWN).read_text()
    again = run(home, without)
    assert again.returncode == 0 and "already in" in again.stdout


def test_access_role_without_roles_gives_an_account_with_an_empty_list(home: Path) -> None:
    proc = run(home, {"EMR_ROLES": f"{A1} {SALES}", "EMR_ACCESS_ROLES": f"{A2} {ACCESS}"})

    assert proc.returncode == 0, proc.stderr
    assert (home / OWN).read_text() == dumps({"version": 1, "accounts": {
        A1: {"roles": [{"arn": SALES}]}, A2: {"roles": [], "access_role": ACCESS}}})
    assert (home / STUDIO).read_text() == dumps({"emr-execution-role-arns": {A1: [SALES]}})


def test_a_second_run_changes_nothing(home: Path) -> None:
    assert run(home, INLINE_ENV).returncode == 0
    before = {t: ((home / t).read_bytes(), (home / t).stat().st_mtime_ns) for t in TARGETS}
    time.sleep(0.02)

    proc = run(home, INLINE_ENV)

    assert proc.returncode == 0, proc.stderr
    assert "already in" in proc.stdout
    assert {t: ((home / t).read_bytes(), (home / t).stat().st_mtime_ns) for t in TARGETS} == before


def test_several_runs_at_once_each_leave_whole_files(home: Path, tmp_path: Path) -> None:
    """Eight runs at once (a restart storm), two configurations in turn: every run succeeds,
    and each file is whole, one configuration's or the other's, with no temporary left."""
    other_env = {"EMR_ROLES": f"{A1} {SALES} Sales only"}
    expected = {}
    for name, env in (("inline", INLINE_ENV), ("other", other_env)):
        (tmp_path / name).mkdir()
        alone = make_home(tmp_path / name)
        assert run(alone, env).returncode == 0
        expected[name] = {t: (alone / t).read_bytes() for t in (OWN, STUDIO)}
    runs = [subprocess.Popen(["bash", str(SCRIPT)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=script_env(home, INLINE_ENV if n % 2 else other_env))
            for n in range(8)]
    finished = [(proc.wait(timeout=120), proc.communicate()[1]) for proc in runs]

    assert [status for status, _ in finished] == [0] * 8, finished
    left = {t: (home / t).read_bytes() for t in (OWN, STUDIO)}
    assert left[OWN] in (expected["inline"][OWN], expected["other"][OWN])
    assert left[STUDIO] in (expected["inline"][STUDIO], expected["other"][STUDIO])
    assert not [p for p in home.rglob("*") if p.name.endswith(".tmp")], "no temporary left"


def test_a_rewritten_file_keeps_its_mode(home: Path, old_files: dict) -> None:
    assert run(home, INLINE_ENV).returncode == 0

    assert (home / OWN).read_text() == dumps(INLINE_OWN)
    assert stat.S_IMODE((home / OWN).stat().st_mode) == 0o600


def test_stale_temporary_files_are_removed_recent_ones_kept(home: Path) -> None:
    (home / ".jupyter").mkdir()
    stale = home / ".jupyter/.emr-roles.json.Ab12Cd"
    recent = home / ".jupyter/.emr-roles.json.Xy34Zw"
    stale.write_text("half")
    recent.write_text("half")
    old = time.time() - 11 * 60
    os.utime(stale, (old, old))

    assert run(home, INLINE_ENV).returncode == 0

    assert not stale.exists()
    assert recent.exists()


@pytest.mark.parametrize("label, shown", [
    ("x" * 101, "x" * 100 + "..."),
    ("é" * 101, "\\303\\251"),
    ("zero\u200bwidth", "\\342\\200\\213"),
    ("right-to-left \u202e override", "\\342\\200\\256"),
    ("C1 \u0085 control", "\\302\\205"),
    ("bell \x07", "\\a"),
    ("tab\tinside", "\\t"),
    ("Latin-1 Gr\udcfc\udcdfe", "\\374\\337"),
])
def test_a_bad_label_is_an_error(home: Path, old_files: dict, label: str, shown: str) -> None:
    message = one_error(run(home, {"EMR_ROLES": f"{A1} {SALES} {label}"}))

    assert message.startswith("emr-roles-lcc: error: EMR_ROLES line 1: label ")
    assert shown in message
    assert snapshot(home) == old_files


def test_a_label_of_100_characters_and_one_of_spaces(home: Path) -> None:
    label = "é" * 99 + "😀"
    roles = [{"arn": SALES, "label": label}, {"arn": ELECTRONICS, "label": "   "}]
    mapping = write_mapping(home.parent / "m.json",
                            {"version": 1, "users": {"alice": {A1: {"roles": roles}}}})

    proc = run(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice"})

    assert proc.returncode == 0, proc.stderr
    assert json.loads((home / OWN).read_text())["accounts"][A1]["roles"] == [
        {"arn": SALES, "label": label}, {"arn": ELECTRONICS}]


# --- every identifier of the shared table -------------------------------------------------

def _fits_a_line(value: str) -> bool:
    """Whether the value can be one token of an EMR_ROLES line (white space separates tokens)."""
    return not any(char.isspace() or char == "\0" for char in value)


INLINE_BAD_ARNS = [v for v in BAD_ROLE_ARNS if _fits_a_line(v)]
INLINE_BAD_ACCOUNTS = [v for v in BAD_ACCOUNTS if _fits_a_line(v)]


@pytest.mark.parametrize("arn", INLINE_BAD_ARNS)
@pytest.mark.parametrize("variable", ["EMR_ROLES", "EMR_DEFAULT_ROLES", "EMR_ACCESS_ROLES"])
def test_a_bad_role_arn_in_a_variable_is_one_error_and_changes_nothing(
        home: Path, old_files: dict, variable: str, arn: str) -> None:
    env = {"EMR_ROLES": f"{A1} {SALES}", variable: f"# first line\n{A1} {arn}"}

    message = one_error(run(home, env))

    assert message.startswith(f"emr-roles-lcc: error: {variable} line 2: ")
    assert snapshot(home) == old_files


@pytest.mark.parametrize("account", INLINE_BAD_ACCOUNTS)
def test_a_bad_account_in_a_variable_is_one_error_and_changes_nothing(
        home: Path, old_files: dict, account: str) -> None:
    message = one_error(run(home, {"EMR_ROLES": f"{account} {SALES} Sales"}))

    assert message.startswith("emr-roles-lcc: error: EMR_ROLES line 1: ")
    assert snapshot(home) == old_files


def _mapping_with(account: str = A1, arn: str = SALES, access: str | None = None) -> dict:
    entry: dict[str, Any] = {"roles": [{"arn": SALES}, {"arn": arn, "label": "L"}]}
    if access is not None:
        entry["access_role"] = access
    return {"version": 1, "users": {"alice": {account: entry}}}


@pytest.mark.parametrize("arn", BAD_ROLE_ARNS)
@pytest.mark.parametrize("key", ["roles[1].arn", "access_role"])
def test_a_bad_role_arn_in_a_mapping_is_one_error_naming_the_key(
        home: Path, old_files: dict, key: str, arn: str) -> None:
    document = _mapping_with(arn=arn) if key == "roles[1].arn" else _mapping_with(access=arn)
    mapping = write_mapping(home.parent / "m.json", document)

    message = one_error(run(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice"}))

    assert f"mapping {mapping} key users.alice.{A1}.{key}: " in message
    assert snapshot(home) == old_files


@pytest.mark.parametrize("account", BAD_ACCOUNTS)
def test_a_bad_account_in_a_mapping_is_one_error_and_changes_nothing(
        home: Path, old_files: dict, account: str) -> None:
    mapping = write_mapping(home.parent / "m.json", _mapping_with(account=account))

    message = one_error(run(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice"}))

    assert f"mapping {mapping} key users.alice" in message
    assert snapshot(home) == old_files


@pytest.mark.parametrize("arn", GOOD_ROLE_ARNS)
def test_every_good_role_arn_is_accepted(home: Path, arn: str) -> None:
    proc = run(home, {"EMR_ROLES": f"{A1} {arn}", "EMR_DEFAULT_ROLES": f"{A1} {arn}"})

    assert proc.returncode == 0, proc.stderr
    assert json.loads((home / OWN).read_text())["accounts"][A1]["roles"] == [
        {"arn": arn, "default": True}]


@pytest.mark.parametrize("account", GOOD_ACCOUNTS)
def test_every_good_account_is_accepted(home: Path, account: str) -> None:
    access = f"arn:aws:iam::{account}:role/emr-access"
    proc = run(home, {"EMR_ROLES": f"{account} {SALES}", "EMR_ACCESS_ROLES": f"{account} {access}"})

    assert proc.returncode == 0, proc.stderr
    assert json.loads((home / CROSS).read_text()) == {account: access}


def test_a_role_path_of_512_characters_is_accepted_513_is_not(home: Path) -> None:
    ok = f"arn:aws:iam::{A1}:role/{'p' * 510}/name"
    too_long = f"arn:aws:iam::{A1}:role/{'p' * 511}/name"

    assert run(home, {"EMR_ROLES": f"{A1} {ok}"}).returncode == 0
    assert "role ARN" in one_error(run(home, {"EMR_ROLES": f"{A1} {too_long}"}))


# --- rules across lines -------------------------------------------------------------------

@pytest.mark.parametrize("env, expected", [
    ({"EMR_ROLES": f"{A1} {SALES}", "EMR_DEFAULT_ROLES": f"{A1} {ELECTRONICS}"},
     f"EMR_DEFAULT_ROLES line 1: the default {ELECTRONICS} is not a role of {A1}"),
    ({"EMR_ROLES": f"{A1} {SALES}\n{A1} {ELECTRONICS}",
      "EMR_DEFAULT_ROLES": f"{A1} {SALES}\n{A1} {ELECTRONICS}"},
     f"EMR_DEFAULT_ROLES line 2: {ELECTRONICS} is a 2nd default for {A1}"),
    ({"EMR_ROLES": f"{A1} {SALES}", "EMR_ACCESS_ROLES": f"{A1} {ACCESS}"},
     f"EMR_ACCESS_ROLES line 1: access role {ACCESS} is not in {A1}"),
    ({"EMR_ROLES": f"{A1} {SALES}",
      "EMR_ACCESS_ROLES": f"{A2} {ACCESS}\n{A2} arn:aws:iam::{A2}:role/other"},
     f"EMR_ACCESS_ROLES line 2: arn:aws:iam::{A2}:role/other is a 2nd access role"),
    ({"EMR_ROLES": f"{A1} {SALES}", "EMR_DEFAULT_ROLES": f"{A1} {SALES} extra"},
     "EMR_DEFAULT_ROLES line 1: line "),
    ({"EMR_ROLES": f"{A1}"}, "EMR_ROLES line 1: line 123456789012 is not valid"),
    ({"EMR_ROLES": f"{A1} {SALES}", "EMR_ROLES_MAPPING": "/etc/mapping.json"},
     "EMR_ROLES_MAPPING and EMR_ROLES"),
    ({"EMR_ACCESS_ROLES": f"{A2} {ACCESS}", "EMR_ROLES_MAPPING": "/etc/mapping.json"},
     "EMR_ROLES_MAPPING and EMR_ROLES"),
    ({}, "EMR_ROLES and EMR_ROLES_MAPPING are empty"),
    ({"EMR_ROLES": f"{A1} {SALES}", "EMR_OFFER_CALLER_ROLE": "yes"},
     "EMR_OFFER_CALLER_ROLE: value yes is not valid; expected true or false"),
    ({"EMR_ROLES": f"{A1} {SALES}", "EMR_ROLES_HOME": "relative/home"},
     "EMR_ROLES_HOME: folder relative/home is not valid"),
    ({"EMR_ROLES_MAPPING": "https://example.com/m.json"}, "EMR_ROLES_MAPPING: location "),
    ({"EMR_ROLES_MAPPING": "s3://Upper_Case/m.json"}, "EMR_ROLES_MAPPING: location "),
])
def test_configuration_errors(home: Path, old_files: dict, env: dict, expected: str) -> None:
    message = one_error(run(home, env))

    assert expected in message
    assert snapshot(home) == old_files


def test_a_missing_home_folder_is_an_operational_error(tmp_path: Path) -> None:
    proc = run(tmp_path / "home", {"EMR_ROLES": f"{A1} {SALES}",
                                   "EMR_ROLES_HOME": str(tmp_path / "gone")})

    assert "does not exist" in one_error(proc, status=1)


# --- mappings -----------------------------------------------------------------------------

MAPPING = {
    "version": 1,
    "users": {
        "alice": {
            A1: {"roles": [{"arn": SALES, "label": "Sales", "default": True},
                           {"arn": ELECTRONICS}],
                 "offer_caller_role": True},
            A2: {"roles": [{"arn": SHARED, "label": " Shared "}], "access_role": ACCESS},
        },
        "bob@example.com": {A1: {"roles": [{"arn": ELECTRONICS, "label": "Electronics"}]}},
    },
    "default": {A1: {"roles": [{"arn": PLAIN}]}},
}
ALICE = {"version": 1, "accounts": {
    A1: {"roles": [{"arn": SALES, "label": "Sales", "default": True}, {"arn": ELECTRONICS}],
         "offer_caller_role": True},
    A2: {"roles": [{"arn": SHARED, "label": "Shared"}], "access_role": ACCESS},
}}
BOB = {"version": 1, "accounts": {A1: {"roles": [{"arn": ELECTRONICS, "label": "Electronics"}]}}}
DEFAULT = {"version": 1, "accounts": {A1: {"roles": [{"arn": PLAIN}]}}}


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    return write_mapping(tmp_path / "mapping.json", MAPPING)


def metadata(tmp_path: Path, **values: str) -> str:
    path = tmp_path / "resource-metadata.json"
    path.write_text(json.dumps({"AppType": "JupyterLab", "DomainId": "d-xxxxxxxx", **values}))
    return str(path)


@pytest.mark.parametrize("who, expected", [
    ({"EMR_USER": "alice", "JUPYTERHUB_USER": "bob@example.com"}, ALICE),
    ({"METADATA": {"UserProfileName": "alice", "SpaceName": "bob@example.com"},
      "JUPYTERHUB_USER": "bob@example.com"}, ALICE),
    ({"METADATA": {"UserProfileName": "", "SpaceName": "bob@example.com"}}, BOB),
    ({"METADATA": {"SpaceName": "alice"}}, ALICE),
    ({"JUPYTERHUB_USER": "bob@example.com"}, BOB),
    ({"EMR_USER": "carol"}, DEFAULT),
])
def test_the_mapping_entry_of_the_user(home: Path, tmp_path: Path, mapping: Path,
                                       who: dict, expected: dict) -> None:
    env = {"EMR_ROLES_MAPPING": f"file://{mapping}", **who}
    if "METADATA" in env:
        env["EMR_RESOURCE_METADATA"] = metadata(tmp_path, **env.pop("METADATA"))

    proc = run(home, env)

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert (home / OWN).read_text() == dumps(expected)


def test_mapping_output_matches_the_inline_path_and_the_package(home: Path, mapping: Path) -> None:
    proc = run(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice"})

    assert proc.returncode == 0, proc.stderr
    own = (home / OWN).read_text()
    assert render(parse_own(json.loads(own), str(OWN))) == own
    assert (home / STUDIO).read_text() == dumps(
        {"emr-execution-role-arns": {A1: [SALES, ELECTRONICS], A2: [SHARED]}})
    assert (home / CROSS).read_text() == dumps({A2: ACCESS})


def test_a_user_not_in_a_mapping_without_default_gets_no_roles(home: Path, tmp_path: Path) -> None:
    document = {key: value for key, value in MAPPING.items() if key != "default"}
    mapping = write_mapping(tmp_path / "mapping.json", document)

    proc = run(home, {"EMR_ROLES_MAPPING": str(mapping), "JUPYTERHUB_USER": "carol"})

    assert proc.returncode == 0
    notice = (f"emr-roles-lcc: notice: mapping {mapping}: no entry for carol and no default; "
              "writing no roles")
    assert proc.stderr.splitlines() == [notice]
    assert (home / OWN).read_text() == dumps({"version": 1, "accounts": {}})
    assert (home / STUDIO).read_text() == dumps({"emr-execution-role-arns": {}})
    assert not (home / CROSS).exists()


@pytest.mark.parametrize("who, expected", [
    ({}, 'JUPYTERHUB_USER: user "" is not valid'),
    ({"EMR_USER": "../etc"}, 'EMR_USER: user "../etc" is not valid'),
    ({"JUPYTERHUB_USER": "al ice"}, 'JUPYTERHUB_USER: user "al ice" is not valid'),
    ({"METADATA": {"UserProfileName": "x\ny"}}, 'UserProfileName in '),
])
def test_a_bad_or_missing_user_name(home: Path, tmp_path: Path, mapping: Path, old_files: dict,
                                    who: dict, expected: str) -> None:
    env = {"EMR_ROLES_MAPPING": str(mapping), **who}
    if "METADATA" in env:
        env["EMR_RESOURCE_METADATA"] = metadata(tmp_path, **env.pop("METADATA"))

    assert expected in one_error(run(home, env))
    assert snapshot(home) == old_files


def alice_roles(*roles: str) -> str:
    """Mapping text in which alice has these JSON role objects for account A1."""
    listed = ", ".join(roles)
    return '{"version": 1, "users": {"alice": {"' + A1 + '": {"roles": [' + listed + "]}}}}"


def role_x(more: str) -> str:
    """A JSON role object for ...:role/x with the ``more`` members."""
    return '{"arn": "arn:aws:iam::' + A1 + ':role/x", ' + more + "}"


@pytest.mark.parametrize("text, expected", [
    ('{"version": 1, "users": {', "is not valid JSON: Expecting"),
    ("", "is not valid JSON"),
    ("\ufeff{}", "is not valid JSON: Unexpected UTF-8 BOM"),
    ('{"version": 1, "users": {}, "users": {}}', "a key is twice in one object"),
    ('{"version": 1, "users": {"alice": {"123456789012": {"roles": [], "x": NaN}}}}', "holds NaN"),
    ("[]", "expected an object"),
    ('{"users": {}}', "the key version is missing"),
    ('{"version": 2, "users": {}}', "key version: expected 1, found 2"),
    ('{"version": true, "users": {}}', "key version: expected a number"),
    ('{"version": 1, "users": {}, "groups": {}}', "key groups: unknown key"),
    ('{"version": 1, "users": {"bob": {"123456789012": {"roles": [{"arn": 1}]}}}}',
     "key users.bob.123456789012.roles[0].arn: expected a string"),
    (alice_roles('{"arn": "x", "lable": "y"}'),
     "roles[0].lable: unknown key; expected one of arn, label, default"),
    ('{"version": 1, "users": {"bob": {"123456789012": {}}}}',
     "key users.bob.123456789012: the key roles is missing"),
    ('{"version": 1, "users": {}, "default": {"1": {"roles": [], "offer_caller_role": 1}}}',
     "key default.1.offer_caller_role: expected true/false"),
    ('{"version": 1, "users": {"alice": {"1234\\n": {"roles": []}}}}',
     'key users.alice."1234\\n": account ID'),
    (alice_roles(role_x('"label": "a\\u0000b"')), "holds a NUL"),
    (alice_roles(role_x('"label": "two\\nlines"')),
     "roles[0].label: label $'two\\nlines' is not valid"),
    (alice_roles(role_x('"label": "\\ud800"')),
     "label $'\\355\\240\\200' is not valid; expected UTF-8"),
    (alice_roles(role_x('"default": true'), role_x('"default": true').replace("/x", "/b")),
     f"roles[1].default: arn:aws:iam::{A1}:role/b is a 2nd default"),
])
def test_a_bad_mapping_is_one_error_and_changes_nothing(
        home: Path, tmp_path: Path, old_files: dict, text: str, expected: str) -> None:
    mapping = write_mapping(tmp_path / "mapping.json", text)

    message = one_error(run(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice"}))

    assert message.startswith(f"emr-roles-lcc: error: mapping {mapping}")
    assert expected in message
    assert snapshot(home) == old_files


def test_a_missing_mapping_file_is_an_operational_error(home: Path, tmp_path: Path,
                                                        old_files: dict) -> None:
    proc = run(home, {"EMR_ROLES_MAPPING": str(tmp_path / "nowhere.json"), "EMR_USER": "alice"})

    assert "No such file or directory" in one_error(proc, status=1)
    assert snapshot(home) == old_files


# --- mappings fetched with the aws CLI -----------------------------------------------------

@pytest.mark.parametrize("location, argv", [
    ("s3://my-bucket/emr/mapping.json", ["s3", "cp", "s3://my-bucket/emr/mapping.json", "-"]),
    ("ssm:/emr/roles-mapping", ["ssm", "get-parameter", "--name", "/emr/roles-mapping",
                                "--with-decryption", "--query", "Parameter.Value",
                                "--output", "text"]),
    ("ssm:emr-roles-mapping", ["ssm", "get-parameter", "--name", "emr-roles-mapping",
                               "--with-decryption", "--query", "Parameter.Value",
                               "--output", "text"]),
])
def test_a_mapping_fetched_with_the_aws_cli(home: Path, tmp_path: Path, mapping: Path,
                                            location: str, argv: list[str]) -> None:
    fake_aws(tmp_path / "bin", argv, f"cat {shlex.quote(str(mapping))}")

    proc = run(home, {"EMR_ROLES_MAPPING": location, "EMR_USER": "alice"}, bin_dir=tmp_path / "bin")

    assert proc.returncode == 0, proc.stderr
    assert (home / OWN).read_text() == dumps(ALICE)
    assert list((tmp_path / "tmp").iterdir()) == []  # the downloaded copy is removed


def test_an_aws_cli_failure_is_one_operational_error(home: Path, tmp_path: Path,
                                                     old_files: dict) -> None:
    fake_aws(tmp_path / "bin", ["s3", "cp", "s3://my-bucket/mapping.json", "-"],
             'printf "\\nAn error occurred (AccessDenied) when calling the GetObject operation: '
             'Access Denied\\n" >&2; exit 255')

    proc = run(home, {"EMR_ROLES_MAPPING": "s3://my-bucket/mapping.json", "EMR_USER": "alice"},
               bin_dir=tmp_path / "bin")

    message = one_error(proc, status=1)
    assert message == ("emr-roles-lcc: error: cannot fetch the mapping s3://my-bucket/mapping.json "
                       "with the aws CLI: An error occurred (AccessDenied) when calling the "
                       "GetObject operation: Access Denied")
    assert snapshot(home) == old_files
    assert list((tmp_path / "tmp").iterdir()) == []


def test_sigterm_while_fetching_removes_the_temporary_copy(home: Path, tmp_path: Path) -> None:
    started = tmp_path / "started"
    fake_aws(tmp_path / "bin", ["s3", "cp", "s3://my-bucket/mapping.json", "-"],
             f"touch {shlex.quote(str(started))}; exec sleep 30")
    process = subprocess.Popen(
        ["bash", str(SCRIPT)], start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=script_env(home, {"EMR_ROLES_MAPPING": "s3://my-bucket/mapping.json",
                              "EMR_USER": "alice"}, tmp_path / "bin"))
    try:
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(list((tmp_path / "tmp").iterdir())) == 1
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 143
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list(home.iterdir()) == []


# --- a run killed at any moment ------------------------------------------------------------

def test_killed_mid_write_leaves_old_or_new_files_never_torn(home: Path, tmp_path: Path) -> None:
    roles = [{"arn": f"arn:aws:iam::{A1}:role/team-{i:04d}", "label": f"Team {i} ✓"}
             for i in range(800)]
    roles[3]["default"] = True
    entry = {"roles": roles, "access_role": f"arn:aws:iam::{A1}:role/emr-access"}
    mapping = write_mapping(tmp_path / "big.json", {"version": 1, "users": {"alice": {A1: entry}}})
    env = script_env(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice"})
    new = {OWN: dumps({"version": 1, "accounts": {A1: entry}}),
           STUDIO: dumps({"emr-execution-role-arns": {A1: [r["arn"] for r in roles]}}),
           CROSS: dumps({A1: entry["access_role"]})}
    old = {OWN: OLD_OWN, STUDIO: OLD_STUDIO, CROSS: None}

    def reset() -> None:
        for target, text in old.items():
            (home / target).parent.mkdir(exist_ok=True)
            (home / target).unlink(missing_ok=True)
            if text is not None:
                (home / target).write_text(text)

    reset()
    began = time.monotonic()
    assert subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True,
                          check=False).returncode == 0
    duration = time.monotonic() - began
    rng = random.Random(20240611)
    for attempt in range(20):
        reset()
        process = subprocess.Popen(["bash", str(SCRIPT)], env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Most kills aim at the end of the run, where the files are written.
        time.sleep(rng.uniform(0, duration) if attempt < 5 else rng.uniform(0.6, 1.1) * duration)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for target in TARGETS:
            path = home / target
            text = path.read_text(encoding="utf-8") if path.exists() else None
            assert text in (old[target], new[target]), (attempt, target, (text or "")[:200])
    assert run(home, {"EMR_ROLES_MAPPING": str(mapping), "EMR_USER": "alice"}).returncode == 0
    assert all((home / t).read_text() == new[t] for t in TARGETS)


# --- running as root for another user ------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")


@needs_root
def test_as_root_the_files_belong_to_the_owner_of_the_home_folder(home: Path) -> None:
    os.chown(home, 65534, 65534)

    assert run(home, INLINE_ENV).returncode == 0

    for path in [home / ".jupyter", home / OWN, home / ".jupyter/emr-roles.json.lock",
                 home / STUDIO.parent, home / STUDIO, home / CROSS.parent, home / CROSS]:
        info = path.lstat()
        assert (info.st_uid, info.st_gid) == (65534, 65534), path


@needs_root
def test_as_root_a_symbolic_link_in_another_users_home_is_refused(home: Path,
                                                                  tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / ".jupyter").symlink_to(elsewhere)
    os.chown(home, 65534, 65534)

    message = one_error(run(home, INLINE_ENV), status=1)

    assert ".jupyter is a symbolic link" in message
    assert list(elsewhere.iterdir()) == []


# --- the script file itself ----------------------------------------------------------------

@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("path", [SCRIPT, SOURCE], ids=["attachable", "source"])
def test_shellcheck_finds_nothing(path: Path) -> None:
    proc = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True, check=False)

    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_the_script_leaves_room_for_inline_roles_in_a_studio_lifecycle_configuration() -> None:
    """Studio takes the script base64-encoded, at most 16,384 characters (12,288 bytes)."""
    text = SCRIPT.read_text(encoding="utf-8")
    lines = "".join(f"{A1} arn:aws:iam::{A1}:role/team-{i:02d}-data-access Team {i}\n"
                    for i in range(5))
    configured = text.replace('EMR_ROLES="${EMR_ROLES:-}"',
                              'EMR_ROLES="${EMR_ROLES:-\n' + lines + '}"')

    assert configured != text
    assert len(base64.b64encode(configured.encode("utf-8"))) <= STUDIO_LCC_LIMIT


def test_the_attachable_script_is_what_the_readable_source_builds() -> None:
    """lifecycle-configs/build.py strips the source and minifies its mapping reader; the
    attachable script must be that build, with room for inline roles in Studio's limit."""
    proc = subprocess.run([sys.executable, str(REPO / "lifecycle-configs" / "build.py"),
                           "--check"], capture_output=True, text=True, check=False)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    source = SOURCE.read_text()
    assert source.count("\n#") > SCRIPT.read_text().count("\n#"), "the source keeps its comments"


# --- the JupyterHub hook -------------------------------------------------------------------

def load_hook_module() -> Any:
    spec = importlib.util.spec_from_file_location("emr_roles_spawner_hook", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_spawner(name: str) -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(name=name), environment={})


def test_the_hook_writes_the_users_files_into_their_home(tmp_path: Path, mapping: Path) -> None:
    hooks = load_hook_module()
    homes = {"bob@example.com": tmp_path / "bob"}
    homes["bob@example.com"].mkdir()
    hook = hooks.make_pre_spawn_hook(script=SCRIPT, env={"EMR_ROLES_MAPPING": str(mapping)},
                                     home_for=lambda name: str(homes[name]))

    asyncio.run(hook(fake_spawner("bob@example.com")))

    assert (homes["bob@example.com"] / OWN).read_text() == dumps(BOB)


def test_the_hook_raises_with_the_scripts_error_line(tmp_path: Path) -> None:
    hooks = load_hook_module()
    (tmp_path / "alice").mkdir()
    hook = hooks.make_pre_spawn_hook(script=SCRIPT, env={"EMR_ROLES": f"{A1} not-an-arn"},
                                     home_for=lambda name: str(tmp_path / name))

    with pytest.raises(hooks.EmrRolesHookError) as caught:
        asyncio.run(hook(fake_spawner("alice")))

    assert "exit status 2" in str(caught.value)
    assert ("emr-roles-lcc: error: EMR_ROLES line 1: role ARN not-an-arn is not valid"
            in str(caught.value))
    assert list((tmp_path / "alice").iterdir()) == []


def test_the_hook_stops_a_script_that_takes_too_long(tmp_path: Path) -> None:
    hooks = load_hook_module()
    slow = tmp_path / "slow.sh"
    slow.write_text("sleep 30\n")
    hook = hooks.make_pre_spawn_hook(script=slow, home_for=lambda name: str(tmp_path),
                                     timeout=0.2)
    began = time.monotonic()

    with pytest.raises(hooks.EmrRolesHookError, match="did not finish within 0.2 s for 'alice'"):
        asyncio.run(hook(fake_spawner("alice")))
    assert time.monotonic() - began < 20, "stopped, not waited for until its sleep ends"


def test_the_hook_passes_only_its_own_environment() -> None:
    hooks = load_hook_module()
    env = hooks.script_environment(
        "alice", "/home/alice", {"EMR_ROLES_MAPPING": "ssm:/emr/map", "JUPYTERHUB_USER": "mallory"},
        inherited={"PATH": "/usr/bin", "HOME": "/root", "AWS_REGION": "eu-west-1",
                   "EMR_ROLES": "left over", "JUPYTERHUB_API_TOKEN": "secret"})

    assert env == {"PATH": "/usr/bin", "HOME": "/root", "AWS_REGION": "eu-west-1",
                   "EMR_ROLES_MAPPING": "ssm:/emr/map", "EMR_ROLES_HOME": "/home/alice",
                   "JUPYTERHUB_USER": "alice"}


def test_the_default_home_is_the_system_accounts() -> None:
    hooks = load_hook_module()
    me = pwd.getpwuid(os.getuid())

    assert hooks.default_home(me.pw_name) == me.pw_dir
    with pytest.raises(hooks.EmrRolesHookError, match="no system account"):
        hooks.default_home("no-such-user-emr-roles")

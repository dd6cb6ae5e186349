"""Hostile and odd input to `jupyter-emr-roles roles ...`: a refusal, and nothing changed.

Every case runs the installed command in a throw-away HOME, takes a picture
of the whole HOME tree (paths, kinds, modes, bytes) before, and checks after
the refusal that the picture is the same: no new folder, no lock file, no
temporary file, not one byte or mode bit changed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import RunCli, one_paragraph_error

from jupyter_emr_roles.roles import STUDIO_CROSS_ACCOUNT_FILE, STUDIO_ROLES_FILE

SALES = "arn:aws:iam::123456789012:role/sales-data-access"
OTHER = "arn:aws:iam::123456789012:role/marketing-data-access"
OWN_FILE = Path(".jupyter", "emr-roles.json")
FILES = {"own": OWN_FILE, "studio": STUDIO_ROLES_FILE,
         "studio-cross-account": STUDIO_CROSS_ACCOUNT_FILE}
Tree = dict[str, tuple[object, ...]]


def tree(root: Path) -> Tree:
    """Every path under ``root`` (links not followed) with its kind, mode and bytes or target."""
    found: Tree = {".": _entry(root)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = _entry(path)
    return found


def _entry(path: Path) -> tuple[object, ...]:
    info = os.lstat(path)
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return ("dir", mode)
    return ("file", mode, path.read_bytes())


def usage_error(proc: subprocess.CompletedProcess[str]) -> str:
    """Assert a bad-usage refusal: status 2, click's usage hint, then one paragraph 'Error: ...'."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    message = proc.stderr.strip().split("\n\n")[-1]
    assert message.startswith("Error: ") and "\n" not in message, proc.stderr
    return message


def validate_problem(proc: subprocess.CompletedProcess[str]) -> str:
    """`roles validate` reports problems on stdout, one a line, and exits with status 1."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    problems = [line for line in proc.stdout.splitlines() if line.startswith("problem: ")]
    assert problems, proc.stdout
    return "\n".join(problems)


def put(home: Path, relative: Path, data: bytes) -> Path:
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# (id, whole content of a roles file, words the refusal must contain)
BROKEN_DOCUMENTS = [
    ("null", b"null", "holds only null"),
    ("null-among-spaces", b" \n null \n", "holds only null"),
    ("integer-of-5000-digits", b'{"x": ' + b"9" * 5000 + b"}", "too large"),
    ("negative-integer-of-5000-digits-in-a-list", b'{"x": [1, -' + b"1" * 5000 + b"]}",
     "too large"),
    ("float-beyond-infinity", b'{"version": 1e999999}', "too large"),
    ("negative-float-beyond-infinity", b"[-1e999999]", "too large"),
    ("top-level-number", b"5", "should be an object"),
    ("top-level-true", b"true", "should be an object"),
    ("top-level-string", b'"roles"', "should be an object"),
    ("nul-byte-after-the-object", b'{"version": 1}\x00', "not valid JSON"),
    ("nul-byte-in-a-key", b'{"k\x00": 1}', "not valid JSON"),
]
DOCUMENT_IDS = [case[0] for case in BROKEN_DOCUMENTS]
DOCUMENTS = [case[1:] for case in BROKEN_DOCUMENTS]


@pytest.mark.parametrize("which", list(FILES))
@pytest.mark.parametrize(("data", "words"), DOCUMENTS, ids=DOCUMENT_IDS)
def test_a_broken_document_in_any_roles_file_is_one_paragraph_naming_it(
        home: Path, cli: RunCli, which: str, data: bytes, words: str) -> None:
    path = put(home, FILES[which], data)
    before = tree(home)

    message = one_paragraph_error(cli("roles", "list"))
    assert words in message and f"~/{FILES[which]}" in message
    assert words in validate_problem(cli("roles", "validate"))
    named = validate_problem(cli("roles", "validate", str(path), "--format", "auto"))
    assert "no such file" not in named
    assert tree(home) == before


@pytest.mark.parametrize(("data", "words"), DOCUMENTS, ids=DOCUMENT_IDS)
def test_writers_refuse_to_overwrite_a_broken_own_file(
        home: Path, cli: RunCli, data: bytes, words: str) -> None:
    put(home, OWN_FILE, data)
    before = tree(home)
    for command in (["add", OTHER, "--label", "Marketing"], ["remove", SALES]):
        message = one_paragraph_error(cli("roles", *command))
        assert words in message and "~/.jupyter/emr-roles.json" in message
    assert tree(home) == before


BAD_LABELS = {
    "empty": "", "space-before": " Sales", "space-after": "Sales ", "101-characters": "x" * 101,
    "right-to-left-override": "Sales\u202e", "bell": "Sa\x07les", "newline": "Sales\nEU",
    "zero-width-space": "Sa\u200bles", "invalid-utf-8-byte": "Sa\udcffles",
}


@pytest.mark.parametrize("label", list(BAD_LABELS.values()), ids=list(BAD_LABELS))
@pytest.mark.parametrize("own_file", [None, b'{"version": 1, "accounts": {}}'],
                         ids=["no-jupyter-folder", "own-file-exists"])
def test_a_bad_label_is_a_usage_error_and_changes_nothing(
        home: Path, cli: RunCli, label: str, own_file: bytes | None) -> None:
    if own_file is not None:
        put(home, OWN_FILE, own_file).chmod(0o600)
    before = tree(home)
    message = usage_error(cli("roles", "add", SALES, "--label", label))
    assert "'--label'" in message and "the label" in message
    assert tree(home) == before


def studio_lists_sales(home: Path) -> None:
    put(home, STUDIO_ROLES_FILE, json.dumps({"emr-execution-role-arns": {
        "123456789012": [SALES]}}).encode())


def own_file(text: str, mode: int = 0o644) -> Callable[[Path], None]:
    def make(home: Path) -> None:
        put(home, OWN_FILE, text.encode()).chmod(mode)
    return make


def jupyter_is_a_file(home: Path) -> None:
    (home / ".jupyter").write_text("not a folder")


def own_file_is_a_folder(home: Path) -> None:
    (home / OWN_FILE).mkdir(parents=True)


# (id, how HOME looks, the refused command, words of the refusal)
REFUSED_WRITES = [
    ("remove-with-no-files-at-all", None, ["remove", SALES], "nothing to remove"),
    ("remove-a-role-only-studio-lists", studio_lists_sales, ["remove", SALES], "SageMaker Studio"),
    ("remove-a-role-not-in-the-own-file",
     own_file('{"version": 1, "accounts": {}}', 0o640), ["remove", SALES], "nothing to remove"),
    ("add-to-a-newer-format", own_file('{"version": 2, "accounts": {}}', 0o600), ["add", SALES],
     "newer than this"),
    ("add-to-a-file-with-two-defaults", own_file(json.dumps({"version": 1, "accounts": {
        "123456789012": {"roles": [{"arn": SALES, "default": True},
                                   {"arn": OTHER, "default": True}]}}})),
     ["add", "arn:aws:iam::123456789012:role/third"], "2 roles are marked as the default"),
    ("add-where-the-jupyter-folder-is-a-file", jupyter_is_a_file, ["add", SALES],
     "Not a directory"),
    ("remove-where-the-jupyter-folder-is-a-file", jupyter_is_a_file, ["remove", SALES],
     "Not a directory"),
    ("add-where-the-own-file-is-a-folder", own_file_is_a_folder, ["add", SALES],
     "not a regular file"),
]


@pytest.mark.parametrize(("make", "command", "words"), [case[1:] for case in REFUSED_WRITES],
                         ids=[case[0] for case in REFUSED_WRITES])
def test_a_refused_write_leaves_no_folder_lock_or_temporary_file(
        home: Path, cli: RunCli, make: Callable[[Path], None] | None, command: list[str],
        words: str) -> None:
    if make is not None:
        make(home)
    before = tree(home)
    message = one_paragraph_error(cli("roles", *command))
    assert words in message
    assert tree(home) == before


def test_a_label_that_cannot_be_saved_is_refused_everywhere(home: Path, cli: RunCli) -> None:
    """A lone surrogate (\\ud800 in JSON) can be parsed but neither printed nor written as UTF-8."""
    put(home, OWN_FILE, json.dumps({"version": 1, "accounts": {"123456789012": {
        "roles": [{"arn": SALES, "label": "Sales \ud800"}]}}}).encode())
    before = tree(home)
    for command in (["list"], ["add", OTHER], ["remove", SALES]):
        message = one_paragraph_error(cli("roles", *command))
        assert "key accounts.123456789012.roles[0].label" in message and "\\ud800" in message
    assert "invisible formatting" in validate_problem(cli("roles", "validate"))
    assert tree(home) == before


def test_own_file_of_an_unknown_users_home_is_one_paragraph(home: Path, cli: RunCli) -> None:
    env = {"JUPYTER_EMR_ROLES_FILE": "~no-such-user-of-jupyter-emr-roles/roles.json"}
    before = tree(home)
    for command in (["list"], ["add", SALES], ["remove", SALES], ["path"], ["path", "--json"]):
        message = one_paragraph_error(cli("roles", *command, env=env))
        assert "$JUPYTER_EMR_ROLES_FILE" in message and "does not exist" in message
    assert "$JUPYTER_EMR_ROLES_FILE" in validate_problem(cli("roles", "validate", env=env))
    assert tree(home) == before


def test_own_file_name_too_long_is_absent_to_path_and_refused_to_add(
        home: Path, cli: RunCli) -> None:
    too_long = str(home / ("x" * 300 + ".json"))
    env = {"JUPYTER_EMR_ROLES_FILE": too_long}
    before = tree(home)
    shown = cli("roles", "path", env=env)
    assert shown.returncode == 0 and "absent" in shown.stdout.splitlines()[0], shown.stderr
    listed = cli("roles", "path", "--json", env=env)
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["files"][0]["exists"] is False
    assert "File name too long" in one_paragraph_error(cli("roles", "add", SALES, env=env))
    assert tree(home) == before


def test_own_file_where_nothing_can_be_written_is_one_paragraph(home: Path, cli: RunCli) -> None:
    """/proc takes no new files, not even from root: the lock file cannot be made there."""
    env = {"JUPYTER_EMR_ROLES_FILE": "/proc/emr-roles.json"}
    before = tree(home)
    message = one_paragraph_error(cli("roles", "add", SALES, env=env))
    assert "/proc/emr-roles.json cannot be written" in message
    assert tree(home) == before and not os.path.lexists("/proc/emr-roles.json")

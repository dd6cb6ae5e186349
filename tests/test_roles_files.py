"""Broken and hostile roles files: each one gets a clear paragraph, and writers change nothing.

Everything here goes through the installed ``jupyter-emr-roles`` executable,
as a user would meet it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import CLI, RunCli, one_paragraph_error

from jupyter_emr_roles.roles import STUDIO_CROSS_ACCOUNT_FILE, STUDIO_ROLES_FILE

SALES = "arn:aws:iam::123456789012:role/sales-data-access"
OTHER = "arn:aws:iam::123456789012:role/marketing-data-access"


def own(home: Path) -> Path:
    return home / ".jupyter" / "emr-roles.json"


def doc(**account: object) -> str:
    return json.dumps({"version": 1, "accounts": {"123456789012": account}})


def write_text(text: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_text(text, encoding="utf-8")
    return make


def write_bytes(data: bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(data)
    return make


def huge(path: Path) -> None:
    with open(path, "wb") as stream:  # 100 MB, sparse: quick to make, still 100 MB to a reader
        stream.truncate(100 * 1024 * 1024)


def symlink_loop(path: Path) -> None:
    other = path.with_name("loop-b")
    other.symlink_to(path)
    path.symlink_to(other)


def dangling(path: Path) -> None:
    path.symlink_to(path.with_name("nowhere.json"))


def directory(path: Path) -> None:
    path.mkdir()


# (id, how to make the broken file, words the error must contain)
OWN_FILE_CASES = [
    ("invalid-json", write_text('{"version": 1,}'), "not valid JSON"),
    ("empty", write_text(""), "empty"),
    ("blank", write_text("  \n\t"), "empty"),
    ("top-level-list", write_text("[]"), "should be an object"),
    ("top-level-string", write_text('"roles"'), "should be an object"),
    ("no-version", write_text('{"accounts": {}}'), '"version" is missing'),
    ("newer-version", write_text('{"version": 2, "accounts": {}}'), "newer than this"),
    ("string-version", write_text('{"version": "1", "accounts": {}}'), "is not known"),
    ("accounts-list", write_text('{"version": 1, "accounts": []}'), "should be an object"),
    ("short-account", write_text('{"version": 1, "accounts": {"12345": {"roles": []}}}'),
     "Account ID '12345'"),
    ("command-in-arn", write_text(doc(roles=[{"arn": SALES[:-5] + "$(id)"}])), "role name"),
    ("newline-in-arn", write_text(doc(roles=[{"arn": SALES + "\n"}])), "control"),
    ("lookalike-in-arn", write_text(doc(roles=[{"arn": SALES.replace("a", "\u0430")}])),
     "non-ASCII"),
    ("user-arn", write_text(doc(roles=[{"arn": "arn:aws:iam::123456789012:user/bob"}])),
     "not a role"),
    ("roles-not-list", write_text(doc(roles={"arn": SALES})), "should be a list"),
    ("string-bool", write_text(doc(roles=[], offer_caller_role="yes")), "true or false"),
    ("unknown-key", write_text(doc(rolez=[])), "'rolez' is not part of the format"),
    ("two-defaults", write_text(doc(roles=[{"arn": SALES, "default": True},
                                           {"arn": OTHER, "default": True}])),
     "2 roles are marked as the default"),
    ("contradicting-duplicate", write_text(doc(roles=[{"arn": SALES, "label": "A"},
                                                      {"arn": SALES, "label": "B"}])),
     "listed twice"),
    ("access-role-wrong-account",
     write_text(doc(roles=[], access_role="arn:aws:iam::999999999999:role/access")),
     "is in account 999999999999"),
    ("label-control-char", write_text(doc(roles=[{"arn": SALES, "label": "a\u0007b"}])),
     "control"),
    ("duplicate-keys", write_text('{"version": 1, "accounts": {}, "accounts": {}}'),
     '"accounts" appears twice'),
    ("bom", write_bytes(b"\xef\xbb\xbf" + b'{"version": 1, "accounts": {}}'), "byte-order mark"),
    ("latin-1", write_bytes('{"version": 1, "x": "caf\u00e9"}'.encode("latin-1")), "not UTF-8"),
    ("nan", write_text('{"version": 1, "accounts": {}, "n": NaN}'), "NaN"),
    ("deep-nesting", write_text("[" * 100_000 + "]" * 100_000), "nested too deeply"),
    ("100-MB", huge, "104,857,600 bytes"),
    ("symlink-loop", symlink_loop, "loop"),
    ("dangling-symlink", dangling, "does not exist"),
    ("directory", directory, "not a regular file"),
]


@pytest.mark.parametrize(("make", "words"), [c[1:] for c in OWN_FILE_CASES],
                         ids=[c[0] for c in OWN_FILE_CASES])
def test_broken_own_file_is_one_clear_error_and_left_as_it_was(
        home: Path, cli: RunCli, make: Callable[[Path], None], words: str) -> None:
    path = own(home)
    path.parent.mkdir()
    make(path)
    before = snapshot(path)

    listed = one_paragraph_error(cli("roles", "list"))
    assert words in listed
    assert "~/.jupyter/emr-roles.json" in listed

    added = one_paragraph_error(cli("roles", "add", OTHER, "--label", "Marketing"))
    assert words in added
    removed = one_paragraph_error(cli("roles", "remove", SALES))
    assert words in removed
    assert snapshot(path) == before
    assert sorted(p.name for p in path.parent.iterdir()
                  if not p.name.endswith(".lock")) == sorted(before_names(path, before))


def snapshot(path: Path) -> tuple[object, ...]:
    """Bytes (or link target) and mode of what is at ``path``, without following links."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return ("dir", stat.S_IMODE(info.st_mode))
    with open(path, "rb") as stream:
        head = stream.read(1 << 20)
    return ("file", head, info.st_size, stat.S_IMODE(info.st_mode))


def before_names(path: Path, before: tuple[object, ...]) -> list[str]:
    names = [path.name]
    if before[0] == "link" and str(before[1]).endswith("loop-b"):
        names.append("loop-b")
    return names


def test_unreadable_file_is_a_clear_error(home: Path, cli: RunCli) -> None:
    path = own(home)
    path.parent.mkdir()
    path.write_text(doc(roles=[{"arn": SALES}]))
    path.chmod(0)
    command = ["roles", "list"]
    if os.geteuid() == 0:
        # Root reads every file; without these two capabilities root meets the mode as others do.
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test an unreadable file as root"
        command = ["--bounding-set", "-dac_override,-dac_read_search", "--", CLI, *command]
        proc = subprocess.run([setpriv, *command], capture_output=True, text=True, timeout=60)
    else:
        proc = cli(*command)
    message = one_paragraph_error(proc)
    assert "cannot be read" in message and "Permission denied" in message
    assert "chmod" in message


STUDIO_CASES = [
    ("studio-invalid-json", STUDIO_ROLES_FILE, '{"emr-execution-role-arns": ', "not valid JSON"),
    ("studio-list-not-object", STUDIO_ROLES_FILE, f'{{"emr-execution-role-arns": ["{SALES}"]}}',
     "should be an object"),
    ("studio-no-key", STUDIO_ROLES_FILE, '{"roles": {}}', '"emr-execution-role-arns" is missing'),
    ("studio-bad-account", STUDIO_ROLES_FILE,
     f'{{"emr-execution-role-arns": {{"12345678901": ["{SALES}"]}}}}', "leading zero"),
    ("studio-bad-arn", STUDIO_ROLES_FILE,
     '{"emr-execution-role-arns": {"123456789012": ["arn:aws:iam::123456789012:role/a b"]}}',
     "role name 'a b'"),
    ("cross-account-wrong-account", STUDIO_CROSS_ACCOUNT_FILE,
     '{"123456789012": "arn:aws:iam::210987654321:role/access"}', "is in account 210987654321"),
    ("cross-account-not-string", STUDIO_CROSS_ACCOUNT_FILE, '{"123456789012": ["x"]}',
     "should be a string"),
]


@pytest.mark.parametrize(("relative", "text", "words"), [c[1:] for c in STUDIO_CASES],
                         ids=[c[0] for c in STUDIO_CASES])
def test_broken_studio_file_is_one_clear_error(
        home: Path, cli: RunCli, relative: Path, text: str, words: str) -> None:
    path = home / relative
    path.parent.mkdir()
    path.write_text(text)
    message = one_paragraph_error(cli("roles", "list"))
    assert words in message and path.name in message
    validated = cli("roles", "validate")
    assert validated.returncode == 1 and words in validated.stdout
    assert path.read_text() == text


def test_validate_lists_every_problem_with_key_and_fix(home: Path, cli: RunCli) -> None:
    path = own(home)
    path.parent.mkdir()
    path.write_text(json.dumps({"version": 1, "accounts": {
        "123456789012": {"roles": [{"arn": "arn:aws:iam::123456789012:role/a;b"},
                                   {"arn": SALES, "labl": "x"}]},
        "1234": {"roles": []},
    }}))
    proc = cli("roles", "validate")
    assert proc.returncode == 1
    lines = [line for line in proc.stdout.splitlines() if line.startswith("problem: ")]
    assert len(lines) == 3, proc.stdout
    assert any("key accounts.123456789012.roles[0].arn" in line and "'a;b'" in line
               for line in lines)
    assert any("key accounts.123456789012.roles[1].labl" in line and "allowed here: arn, label, "
               "default" in line for line in lines)
    assert any("key accounts.1234" in line for line in lines)
    assert all("~/.jupyter/emr-roles.json" in line for line in lines)
    assert "Traceback" not in proc.stderr


def test_validate_a_named_file_by_its_format(tmp_path: Path, cli: RunCli) -> None:
    studio = tmp_path / "emr-configurations-DO_NOT_DELETE.json"
    studio.write_text(json.dumps({"emr-execution-role-arns": {"123456789012": [SALES]}}))
    assert cli("roles", "validate", str(studio)).returncode == 0
    cross = tmp_path / "anything.json"
    cross.write_text(json.dumps({"123456789012": "arn:aws:iam::123456789012:role/access"}))
    assert cli("roles", "validate", str(cross)).returncode == 0
    broken = tmp_path / "mine.json"
    broken.write_text('{"version": 1, "accounts": {"123456789012": {"roles": [{"arn": 1}]}}}')
    proc = cli("roles", "validate", str(broken))
    assert proc.returncode == 1 and "should be a string" in proc.stdout
    missing = cli("roles", "validate", str(tmp_path / "absent.json"))
    assert missing.returncode == 1 and "no such file" in missing.stdout


def test_concurrent_writers_never_tear_or_lose_the_file(home: Path, cli: RunCli) -> None:
    """Twelve `roles add` at once: the file is whole JSON at the end and holds all twelve."""
    arns = [f"arn:aws:iam::123456789012:role/team-{n}" for n in range(12)]
    procs = [subprocess.Popen([CLI, "roles", "add", arn],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for arn in arns]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    data = json.loads(own(home).read_text())
    assert sorted(role["arn"] for role in data["accounts"]["123456789012"]["roles"]) == sorted(arns)
    leftovers = [p.name for p in own(home).parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []

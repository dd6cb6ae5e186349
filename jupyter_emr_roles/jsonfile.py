"""Reading and writing small JSON configuration files without surprises.

Roles files are written by scripts, by hand and by this package, and read by
several processes at once (the kernel, the server extension, the CLI). So a
read is bounded and strict (a 100 MB file, a symlink loop, a BOM or a
duplicated key is a clear error, never a hang or a silent last-key-wins), and
a write goes to a temporary file in the same folder that is renamed over the
target, under an advisory lock, so no reader ever sees half a file and two
writers never interleave.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import Problem
from .identifiers import show

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024
NEW_FILE_MODE = 0o644


class JsonFileProblem(Exception):
    """Internal: carries one Problem from the readers here to the roles layer."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def display_path(path: Path) -> str:
    """A path as a user would type it: under the home folder it starts with ``~``."""
    home = Path.home()
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def read_json(path: Path) -> Any | None:
    """Parse the JSON file at ``path``; None if there is no file there.

    Raises JsonFileProblem for anything that makes the file unusable, including
    a file that holds only ``null``: that is a broken file, not a missing one.
    """
    shown = display_path(path)

    def fail(message: str, fix: str) -> JsonFileProblem:
        return JsonFileProblem(Problem(shown, "", message, fix))

    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise fail("it is a symbolic link to a file that does not exist.",
                       "point the link at the real file, or remove it.") from None
        return None
    except OSError as exc:
        raise fail(f"it cannot be opened ({exc.strerror}).", _os_fix(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise fail("it is not a regular file.", "replace it with a JSON file.")
    if info.st_size > MAX_BYTES:
        raise fail(f"it is {info.st_size:,} bytes; a roles file is at most {MAX_BYTES:,} bytes.",
                   "check that the right file is named; a roles file is a few kilobytes.")
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise fail(f"it cannot be read ({exc.strerror}).", _os_fix(exc)) from None
    if len(data) > MAX_BYTES:
        raise fail(f"it grew past {MAX_BYTES:,} bytes while being read.",
                   "check what is writing to it.")
    return _parse(data, fail)


def _parse(data: bytes, fail: Any) -> Any:
    if data.startswith(b"\xef\xbb\xbf"):
        raise fail("it starts with a UTF-8 byte-order mark (BOM).",
                   "save it as UTF-8 without BOM.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"it is not UTF-8 text (byte {exc.start} is invalid).",
                   "save it as UTF-8.") from None
    if not text.strip():
        raise fail("it is empty.", 'write a JSON object into it, or delete it.')
    document = _loads(text, fail)
    if document is None:
        raise fail("it holds only null.", "write a JSON object into it, or delete it.")
    return document


def _loads(text: str, fail: Any) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant,
                          parse_int=_bounded_int, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise fail(f"it is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                   "correct the JSON syntax (a JSON validator or `python -m json.tool` shows "
                   "the spot).") from None
    except _DuplicateKey as exc:
        raise fail(f"the key {json.dumps(exc.key)} appears twice in one object, so it is "
                   "unclear which value is meant.", "keep one of them.") from None
    except _NonStandardNumber as exc:
        raise fail(f"it holds {exc.token}, which is not JSON.", "remove it.") from None
    except _NumberTooLarge as exc:
        raise fail(f"it holds the number {show(exc.token, 30)} ({len(exc.token):,} characters), "
                   "too large to be read.", "correct or remove it; a roles file holds no "
                   "large numbers.") from None
    except RecursionError:
        raise fail("it is nested too deeply to be a roles file.",
                   "check that the right file is named.") from None


def _os_fix(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "make it readable by your user (chmod u+r), or ask the admin who wrote it."
    if exc.errno == errno.ELOOP:
        return "the symbolic links form a loop; point the link at the real file."
    return "check the path and its permissions."


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        self.key = key


class _NonStandardNumber(ValueError):
    def __init__(self, token: str) -> None:
        self.token = token


class _NumberTooLarge(ValueError):
    def __init__(self, token: str) -> None:
        self.token = token


def _bounded_int(token: str) -> int:
    """An integer, unless it has more digits than Python converts (a ValueError deep in json)."""
    try:
        return int(token)
    except ValueError:
        raise _NumberTooLarge(token) from None


def _finite_float(token: str) -> float:
    """A number such as 1e999999 would become infinity, which is not JSON: refuse it."""
    value = float(token)
    if not math.isfinite(value):
        raise _NumberTooLarge(token)
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constant(token: str) -> Any:
    raise _NonStandardNumber(token)


def dumps(document: Any) -> str:
    """The one JSON rendering of every file we write (the lifecycle scripts match it byte for byte)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<path>.lock`` (shared with the lifecycle scripts' flock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, NEW_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text`` in one rename, keeping its mode; False if nothing changed.

    A symbolic link is followed, so a roles file kept in a dotfiles repository
    stays a link.
    """
    target = path.resolve()
    data = text.encode("utf-8")
    try:
        if target.read_bytes() == data:
            return False
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    log.info("wrote %s", display_path(target))
    return True


def lab_export_text(module: str, data: dict[str, Any]) -> str:
    """The text of ``labextension/src/NAME.json``, the export of the module
    ``jupyter_emr_roles.NAME`` that the Lab extension imports: ``data`` under a note saying
    where it comes from, exactly as committed (a test compares the two)."""
    name = module.rpartition(".")[2]
    about = (f"Generated from jupyter_emr_roles/{name}.py by `python -m {module} > "
             f"labextension/src/{name}.json`: edit that module, not this file.")
    return json.dumps({"about": about, **data}, indent=2) + "\n"

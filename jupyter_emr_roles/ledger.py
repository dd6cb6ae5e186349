"""What a kernel opened, kept on disk, so what a killed kernel left can be found and closed.

A kernel killed by SIGKILL, the OOM killer or a restart from the UI runs no exit handler:
its sessions stay open, and billed, until Livy's or EMR's idle timeout. So each kernel
keeps a small ledger of the sessions it opened in the user's Jupyter runtime folder, one
file per kernel process, holding no secret: where each session is, its engine, ID and
role, and how it was reached (profile, region, access role, Livy's URL). A ledger whose
process is gone, or whose PID now names another process, lists orphans; any kernel of the
user (``%emr_sessions --orphans``) or the CLI (``jupyter-emr-roles sessions --orphans``)
closes them with the credentials of their role.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .engines.base import LeftSession
from .jsonfile import JsonFileProblem, read_json, write_atomically

log = logging.getLogger(__name__)

FOLDER_NAME = "jupyter-emr-roles-ledgers"
NONE_LEFT = "No session is left by a kernel that is gone."


def ledger_folder() -> Path:
    """The user's ledgers: a folder of the Jupyter runtime folder (``JUPYTER_RUNTIME_DIR``)."""
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir()) / FOLDER_NAME


def _started(pid: int) -> float | None:
    """When process ``pid`` started (None: there is none), which tells a PID reused."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


class Ledger:
    """This process's ledger: rewritten after every change by a thread of its own (a synced
    write costs milliseconds a connect need not wait for), removed once it lists nothing;
    ``flush`` writes it now (at exit)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or ledger_folder()
        pid = os.getpid()
        self._head = {"pid": pid, "started": _started(pid), "host": socket.gethostname()}
        # The start time too: a PID reused later must not overwrite a dead kernel's ledger.
        self.path = self.folder / f"kernel-{pid}-{int(self._head['started'] or 0)}.json"
        self._sessions: dict[str, LeftSession] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._writer: threading.Thread | None = None

    def record(self, session: LeftSession) -> None:
        with self._lock:
            self._sessions[session.name] = session
        self._later()

    def drop(self, name: str) -> None:
        with self._lock:
            dropped = self._sessions.pop(name, None) is not None
        if dropped:
            self._later()

    def flush(self) -> None:
        """Write the ledger as it is now, in this thread."""
        self._changed.clear()
        self._write()

    def _later(self) -> None:
        self._changed.set()
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_changes, daemon=True,
                                            name="jupyter-emr-roles-ledger")
            self._writer.start()

    def _write_changes(self) -> None:
        while self._changed.wait():
            self._changed.clear()
            self._write()

    def _write(self) -> None:
        """A failure to write costs the user nothing now: it is logged, not raised."""
        with self._lock:
            sessions = [dataclasses.asdict(s) for s in self._sessions.values()]
            try:
                if not sessions:
                    self.path.unlink(missing_ok=True)
                    return
                self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                _write_ledger(self.path, {**self._head, "sessions": sessions})
            except OSError as exc:
                log.warning("Could not update the session ledger %s: %s", self.path, exc)


@dataclass(frozen=True)
class Orphan:
    """A session a kernel's ledger lists, the ledger, and whether that kernel still runs (an
    orphan is a session whose kernel does not)."""

    session: LeftSession
    ledger: Path
    pid: int
    alive: bool = False

    def describe(self) -> str:
        left = self.session
        kernel = "running" if self.alive else "gone"
        return (f"{left.name}: {left.engine} session {left.session_id} on {left.place} as "
                f"{left.role_arn}, opened {left.opened} by kernel {self.pid} ({kernel})")


def orphans(folder: Path | None = None, with_living: bool = False) -> list[Orphan]:
    """Every session of a ledger whose kernel is gone, on this host (``with_living``: of
    running kernels too); unreadable ledgers are skipped (and logged)."""
    found: list[Orphan] = []
    folder = folder or ledger_folder()
    for path in sorted(folder.glob("kernel-*.json")) if folder.is_dir() else []:
        document = _read(path)
        if document is None or document.get("host") != socket.gethostname() or \
                not isinstance(document.get("pid"), int):
            continue
        alive = _alive(document)
        if alive and not with_living:
            continue
        found += [Orphan(session, path, document["pid"], alive)
                  for session in _sessions(document, path)]
    return found


def forget(orphan: Orphan) -> None:
    """Take a closed orphan out of its ledger; the ledger goes with its last session."""
    document = _read(orphan.ledger)
    if document is None:
        return
    document["sessions"] = [s for s in document.get("sessions", [])
                            if s.get("name") != orphan.session.name]
    if document["sessions"]:
        _write_ledger(orphan.ledger, document)
    else:
        orphan.ledger.unlink(missing_ok=True)


def _alive(document: dict[str, Any]) -> bool:
    pid, started = document.get("pid"), document.get("started")
    now = _started(pid) if isinstance(pid, int) else None
    return now is not None and (started is None or abs(now - float(started)) < 1.0)


def _write_ledger(path: Path, document: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(document, indent=1))


def _read(path: Path) -> dict[str, Any] | None:
    """The ledger at ``path``, read as every file of ours is (bounded, strict); None where it
    is gone or unusable (logged)."""
    try:
        document = read_json(path)
    except JsonFileProblem as exc:
        log.warning("Skipping the session ledger: %s", exc)
        return None
    return document if isinstance(document, dict) else None


def _sessions(document: dict[str, Any], path: Path) -> list[LeftSession]:
    fields = {f.name for f in dataclasses.fields(LeftSession)}
    try:
        return [LeftSession(**{k: v for k, v in entry.items() if k in fields})
                for entry in document.get("sessions", [])]
    except TypeError as exc:
        log.warning("Skipping the session ledger %s: %s", path, exc)
        return []

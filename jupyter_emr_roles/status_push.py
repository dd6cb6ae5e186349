"""The kernel's side of the Lab extension's status bar: connections pushed when they change.

The status bar used to ask the kernel after every executed cell (a silent
execution, and two Livy requests per session), so a plain ``1 + 1`` paid for
it and the answer waited behind a long cell. Now the kernel tells: it opens a
Jupyter comm (target ``jupyter-emr-roles.connections``, the channel ipywidgets
uses, which every Jupyter front end carries and which needs no server route)
and sends a snapshot of the connections whenever one comes, goes, changes
state or renews its login. A snapshot is made from what the kernel already
knows, so sending one costs no Livy request; an unchanged one is not sent.

A front end without the extension answers the comm's opening by closing it;
the next change opens it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

TARGET = "jupyter-emr-roles.connections"

Snapshot = Callable[[], list[dict[str, Any]]]


class StatusPush:
    """Sends ``snapshot()`` over the comm when it differs from the last one sent; any thread
    may call ``publish`` (ipykernel's IOPub socket is thread-safe)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._lock = threading.Lock()
        self._comm: Any = None
        self._sent: list[dict[str, Any]] | None = None

    def publish(self, force: bool = False) -> None:
        """Send the connections if they changed (or always, with ``force``)."""
        rows = self._snapshot()
        with self._lock:
            if rows == self._sent and not force:
                return
            comm = self._open()
            if comm is None:
                return
            comm.send({"connections": rows})
            self._sent = rows

    def _open(self) -> Any:
        if self._comm is None:
            try:
                from comm import create_comm

                self._comm = create_comm(target_name=TARGET, data={})
            except Exception as exc:  # noqa: BLE001  not in a kernel that carries comms
                log.debug("no comm for the status bar: %s", exc)
                return None
            self._comm.on_close(self._closed)
        return self._comm

    def _closed(self, message: Any) -> None:
        with self._lock:
            self._comm, self._sent = None, None

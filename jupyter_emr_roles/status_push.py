"""The kernel's side of the Lab extension's status bar: connections pushed when they change.

The status bar used to ask the kernel after every executed cell (a silent
execution, and two Livy requests per session), so a plain ``1 + 1`` paid for
it and the answer waited behind a long cell. Now the kernel tells, over a
Jupyter comm (target ``jupyter-emr-roles.connections``, the channel ipywidgets
uses, which every Jupyter front end carries and which needs no server route):
a snapshot of the connections whenever one comes, goes, changes state or
renews its login. A snapshot is made from what the kernel already knows, so
sending one costs no Livy request; an unchanged one is not sent.

A page that meets the kernel opens the comm itself (a first visit, a reloaded
tab, a second tab) and gets the snapshot at once; every comm a page opened
gets each change. Where no page has opened one (the page met the kernel before
the extension was loaded), the kernel opens its own; a front end without the
extension answers that by closing it, and the next change opens it again.
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
        self._comm: Any = None  # the one the kernel opened
        self._attached: list[Any] = []  # those pages opened
        self._sent: list[dict[str, Any]] | None = None

    def listen(self) -> None:
        """Take the comms pages open to this kernel (where the kernel carries comms)."""
        try:
            from comm import get_comm_manager

            get_comm_manager().register_target(TARGET, self._attach)
        except Exception as exc:  # noqa: BLE001  not in a kernel that carries comms
            log.debug("no comm target for the status bar: %s", exc)

    def publish(self, force: bool = False) -> None:
        """Send the connections if they changed (or always, with ``force``)."""
        rows = self._snapshot()
        with self._lock:
            if rows == self._sent and not force:
                return
            comms = list(self._attached) or [comm for comm in (self._open(),) if comm]
            for comm in comms:
                comm.send({"connections": rows})
            self._sent = rows if comms else None

    def _attach(self, comm: Any, _open_message: Any) -> None:
        """A page met the kernel: it gets the snapshot now, and every change after."""
        rows = self._snapshot()
        with self._lock:
            self._attached.append(comm)
            comm.on_close(lambda _message: self._detach(comm))
            comm.send({"connections": rows})

    def _detach(self, comm: Any) -> None:
        with self._lock:
            if comm in self._attached:
                self._attached.remove(comm)

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

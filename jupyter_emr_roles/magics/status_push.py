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

``connections_json`` and ``publish_connections`` (``jupyter_emr_roles``'s own, for scripts and
tests) reach the push of the magics ``%load_ext`` registered by their class name, so this module
needs no import of the magics that use it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from ..vocabulary import MAGICS_CLASS, TARGET

log = logging.getLogger(__name__)


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

    def rows(self) -> list[dict[str, Any]]:
        """The connections as the status bar gets them now (no request to any service)."""
        return self._snapshot()

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


def _push_of(shell: Any) -> StatusPush | None:
    """The push of the magics loaded in ``shell``; None before ``%load_ext``."""
    magics = shell.magics_manager.registry.get(MAGICS_CLASS) if shell else None
    return magics.status if magics is not None else None


def connections_json(shell: Any) -> str:
    """The kernel's connections as JSON, as the Lab extension's status bar shows them: names,
    cluster, role, last known state; no secret, and no Livy request."""
    push = _push_of(shell)
    return json.dumps(push.rows() if push is not None else [])


def publish_connections(shell: Any) -> None:
    """Send the status bar the connections now, changed or not (``jupyter_emr_roles.
    publish_connections``; pages get them by opening the status comm)."""
    push = _push_of(shell)
    if push is not None:
        push.publish(force=True)

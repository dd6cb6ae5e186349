"""The notebook's side: ``%connect``, ``%%connect``, ``%disconnect``, ``%emr_sessions``,
``%emr_picker``, ``%emr_doctor``, ``%emr_grants``.

Loading the extension only registers these magics: boto3 and sparkmagic are
imported on the first ``%connect``, so ``%load_ext jupyter_emr_roles`` is
instant and works offline. Every failure the user can fix is shown as one
paragraph (IPython's UsageError, no traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import HTML, Pretty, display

from .. import options
from ..errors import EmrRolesError
from ..options import magic_options
from .reporting import ProgressLine, Sessions, connected_line, connecting, links_html
from .status_push import StatusPush

if TYPE_CHECKING:
    from ..connect_request import ConnectRequest
    from ..doctor.report import Report
    from ..sessions import Connection, Connections

log = logging.getLogger(__name__)


@contextmanager
def _as_usage_errors() -> Iterator[None]:
    """The project's errors become IPython UsageErrors: the message, no traceback."""
    try:
        yield
    except EmrRolesError as exc:
        raise UsageError(str(exc)) from None


def _cell_config(cell: str) -> dict[str, Any]:
    """The optional JSON body of %%connect: Livy's POST /sessions fields (driverMemory, conf, ...)."""
    if not cell.strip():
        return {}
    try:
        config = json.loads(cell)
    except json.JSONDecodeError as exc:
        raise EmrRolesError(
            f"The body of the %%connect cell is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}). Write a JSON object of Livy session settings, e.g. "
            '{"driverMemory": "2g", "conf": {"spark.sql.shuffle.partitions": "64"}}, or leave '
            "the body empty.") from None
    if not isinstance(config, dict):
        raise EmrRolesError(
            f"The body of the %%connect cell is a JSON {type(config).__name__}, but Livy session "
            'settings are a JSON object, e.g. {"driverMemory": "2g"}.')
    if "kind" in config:
        raise EmrRolesError('The cell body sets "kind"; choose the language with --language '
                            "instead.")
    return config


def _kernel_language(shell: Any) -> str:
    """The language of sparkmagic's wrapper kernel this is (its Spark kernel's plain cells
    are Scala, so its sessions are), else python. By module, not name: ipykernel has a
    ``KernelMagics`` of its own."""
    magics = shell.magics_manager.registry.get("KernelMagics")
    if not type(magics).__module__.startswith("sparkmagic."):
        return "python"
    return {"scala": "scala", "r": "r"}.get(getattr(magics, "language", ""), "python")


def _progress(what: str) -> ProgressLine:
    """The progress line in a cell's output: one display, updated by its id."""
    handle = display(Pretty(""), display_id=True)
    return ProgressLine(what, lambda text: handle.update(Pretty(text)) if handle else None)


@magics_class
class EmrRolesMagics(Magics):
    """Spark sessions on EMR under a runtime role, through sparkmagic."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._connections: Connections | None = None
        self.status = StatusPush(lambda: self.connections.summaries() if self._connections
                                 else [])
        self.status.listen()

    @property
    def connections(self) -> Connections:
        if self._connections is None:
            from ..sessions import Connections
            connections = Connections(self.shell, on_change=self.status.publish)
            # After each cell, in memory only: a session `%spark delete` or `%spark cleanup`
            # removed is forgotten here too, and the status bar told.
            self.shell.events.register("post_run_cell", lambda _: connections.reconcile())
            # Before each cell: a session that ended since (its idle timeout, an admin, a
            # terminated cluster) is named once, with the line that opens a new one.
            self.shell.events.register("pre_run_cell", lambda _: [
                _warn(news) for news in connections.endings()])
            self._connections = connections
        return self._connections

    @magic_arguments()
    @magic_options(options.CONNECT)
    @line_cell_magic
    def connect(self, line: str, cell: str = "") -> None:
        """Open a Spark session on an EMR cluster that runs as an IAM runtime role.

        The kernel asks EMR for the session as the role (its short-lived login or
        token never leaves the kernel and renews itself) and waits until it
        answers. --engine chooses what runs it (auto: per cluster). livy: the
        kernel calls GetClusterSessionCredentials, starts a Livy session over
        HTTPS and registers it with sparkmagic, so `%%spark`, `%%spark -s NAME`,
        `%%sql`, `%spark info` and `%manage_spark` use it. spark-connect (EMR 8
        clusters with sessions enabled): StartSession, and the session is a
        PySpark session named `spark` (or --name) in this kernel's own cells. A
        name holds one session: connecting it again deletes the old session
        first. `%disconnect NAME` deletes one, kernel shutdown deletes all. The
        optional cell body is a JSON object of Livy session settings (a Spark
        Connect session takes its "conf" only)::

            %%connect --cluster-id j-1K48XXXXXXHCB --role-arn arn:aws:iam::123456789012:role/sales
            {"driverMemory": "2g", "conf": {"spark.sql.shuffle.partitions": "64"}}

        --application-id instead of --cluster-id opens the session on an EMR
        Serverless application, as its job role: Livy on its Livy endpoint (every
        request signed with your own AWS keys), or Spark Connect (emr-7.13.0 and
        later); a stopped application is started first.
        """
        args = self._connect_arguments(line)
        with _as_usage_errors():
            request = options.request(args, options.CONNECT, _cell_config(cell or ""))
            if request.no_verify:
                _warn("--no-verify: Livy's TLS certificate is NOT checked, so anyone on the "
                      "network path can impersonate the cluster and read your session. Use "
                      "--ca-bundle PATH instead.")
            progress = _progress(connecting(request.who(), request.where))
            try:
                connection = self.connections.connect(request, progress, _warn)
            except EmrRolesError as exc:
                raise EmrRolesError(f"{exc} To check the {request.place_kind} and role at once, "
                                    f"run {_doctor_line(request)}") from None
            progress.done(connected_line(connection))
            self._show_links(connection)
            _note_orphans()

    def _connect_arguments(self, line: str) -> Any:
        """The line's options; --language defaults to the kernel's (sparkmagic's Spark kernel
        is Scala)."""
        self.connect.parser.set_defaults(  # type: ignore[attr-defined]
            language=_kernel_language(self.shell))
        return parse_argstring(self.connect, line)

    @staticmethod
    def _show_links(connection: Connection) -> None:
        links = connection.links()
        if links:
            display(HTML(links_html(links)))

    @magic_arguments()
    @argument("name", nargs="?", help="The session to delete.")
    @argument("--all", action="store_true", help="Delete every session this kernel opened.")
    @line_magic
    def disconnect(self, line: str) -> None:
        """Delete a session opened by %connect (or all of them with --all): a Livy session is
        deleted, a Spark Connect session terminated."""
        args = parse_argstring(self.disconnect, line)
        if bool(args.name) == bool(args.all):
            raise UsageError("Give either a session name or --all, e.g. `%disconnect sales`.")
        with _as_usage_errors():
            if args.all:
                names = self.connections.close_all()
            else:
                self.connections.disconnect(args.name)
                names = [args.name]
        for name in names:
            print(f"disconnected {name}")

    @magic_arguments()
    @argument("--orphans", action="store_true",
              help="List instead the sessions kernels that are gone (killed, out of memory, "
                   "restarted) left open, from their ledgers in Jupyter's runtime folder.")
    @argument("--close", action="store_true",
              help="With --orphans: close them, each with the credentials of its role.")
    @line_magic
    def emr_sessions(self, line: str) -> Sessions | None:
        """The sessions %connect opened in this kernel: cluster, role, engine and session id,
        state, links. The value is kept by `sessions = %emr_sessions` (its `rows`)."""
        args = parse_argstring(self.emr_sessions, line)
        if args.close and not args.orphans:
            raise UsageError("--close closes what --orphans lists: `%emr_sessions --orphans "
                             "--close`; `%disconnect` closes this kernel's sessions.")
        if args.orphans:
            with _as_usage_errors():
                print("\n".join(_orphans(args.close)))
            return None
        return Sessions(self.connections.rows() if self._connections else [])

    @magic_arguments()
    @magic_options(options.DOCTOR)
    @line_magic
    def emr_doctor(self, line: str) -> Report:
        """Check a cluster (or, with --application-id, an EMR Serverless application) and a
        runtime role before connecting, as `jupyter-emr-roles doctor` does: every check with
        pass, warn, fail or unknown, and the fix. The report is kept by
        `report = %emr_doctor ...` (`report.ready`, `report.as_json()`)."""
        args = parse_argstring(self.emr_doctor, line)
        with _as_usage_errors():
            from ..doctor import diagnose
            return diagnose(options.request(args, options.DOCTOR), _warn)

    @magic_arguments()
    @magic_options(options.GRANTS)
    @line_magic
    def emr_grants(self, line: str) -> None:
        """The S3 Access Grants that apply to a runtime role, as `jupyter-emr-roles grants`."""
        args = parse_argstring(self.emr_grants, line)
        with _as_usage_errors():
            from ..grants import role_grants
            given = options.parse(args, options.GRANTS)
            print(role_grants(given["role_arn"], given["prefix"], given["profile"],
                              given["region"], given["access_role_arn"]).text())

    @magic_arguments()
    @magic_options(options.PICKER)
    @line_magic
    def emr_picker(self, line: str) -> None:
        """Pick a cluster and a runtime role with widgets, then connect: %connect for
        front ends without the Lab extension (Notebook 7, VS Code).

        Shows the RUNNING and WAITING clusters ("More clusters…" loads the next page)
        and after them the account's EMR Serverless applications (kind serverless,
        with the engines each offers; Connect then starts a stopped one),
        whether the selected one can take a runtime-role session and why not, the
        runtime roles your roles files list for its account (the default one
        preselected), the language and the session name (empty: the role name).
        Connect opens the session exactly as %connect does (Livy's certificate is
        checked against $JUPYTER_EMR_ROLES_CA_BUNDLE, else your roles file's ca_bundle
        for the account, else the system's CAs); progress, the result or the reason
        it failed appear below the button.
        Then use the session with `%%spark -s NAME`. The widgets hold no credential,
        so saving the notebook with widget state saves no secret.
        """
        args = parse_argstring(self.emr_picker, line)
        with _as_usage_errors():
            from .picker import Picker
            display(Picker(self.connections, args.profile, args.region).widget)


def _doctor_line(request: ConnectRequest) -> str:
    role = f" --role-arn {request.role_arn}" if request.role_arn else ""
    where = f"--application-id {request.application_id}" if request.serverless else \
        f"--cluster-id {request.cluster_id}"
    return f"`%emr_doctor {where}{role}`."


def _orphans(close: bool) -> list[str]:
    """What dead kernels left: a line each, or what closing each did."""
    from ..ledger import NONE_LEFT, orphans
    from ..sessions import close_orphans

    found = orphans()
    if not found:
        return [NONE_LEFT]
    return close_orphans(found)[0] if close else [orphan.describe() for orphan in found]


def _note_orphans() -> None:
    """After a connect: once per connect, what kernels that are gone left open."""
    from ..ledger import orphans

    try:
        found = orphans()
    except OSError as exc:  # an unreadable runtime folder costs the connect nothing
        log.debug("could not look for orphaned sessions: %s", exc)
        return
    if found:
        names = ", ".join(f"{o.session.name} on {o.session.place}" for o in found)
        _warn(f"Kernels that are gone left {len(found)} session(s) open ({names}); "
              "`%emr_sessions --orphans --close` closes them.")


def _warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)

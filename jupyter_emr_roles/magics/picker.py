"""``%emr_picker``: the Lab extension's cluster and role choice as ipywidgets.

For front ends without the Lab extension (Notebook 7 pages, VS Code): the same
choice (the account, your own or one reached through its access role; cluster
or EMR Serverless application with its kind and readiness, runtime role of its
account, language, engine, session name), and Connect goes through the very
``Connections.connect`` that ``%connect`` calls, so both behave alike.

Everything happens on the kernel's shell thread, in the handlers of the
widgets' messages. Cluster pages after the first come from a "More clusters…"
button rather than a background thread: traitlets and widget comms are not
thread-safe, a thread replacing the options could reset a selection the user
is making at that moment, and one ListClusters page (50) holds every RUNNING
or WAITING cluster of most accounts, so the button rarely shows at all.

The account's EMR Serverless applications follow its clusters in the same list,
all of them at once (an account holds few; ListApplications pages are followed
to the end), each labelled with its kind and the engines it offers; an account
whose applications cannot be listed says why under the list, and its clusters
stay usable.

Widget state can be saved into the notebook file, so the widgets hold only
cluster and application IDs, names and states, role ARNs and labels, and messages. The output
area is written by the kernel through its ``outputs`` state (not captured from
print), so what a front end shows is exactly what that state holds.
"""

from __future__ import annotations

import html
import logging
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .. import application_list, roles
from ..application_list import ApplicationSummary
from ..aws.clients import READY_STATES, Emr
from ..aws.serverless import Serverless
from ..cluster_target import account_emr
from ..clusters import ClusterSummary, Readiness, assess, list_page
from ..errors import EmrRolesError
from ..identifiers import AccountId, ApplicationId, ClusterId, RoleArn, account_in_arn
from ..connect_request import LANGUAGES, ConnectRequest
from ..identifiers import SessionName
from ..options import option
from .reporting import ProgressLine, connected_line, connecting, links_html, links_text
from ..sessions import Connections
from ..vocabulary import ENGINE_LABELS, ENGINE_NAMES, auto_label

log = logging.getLogger(__name__)

# How many clusters of the first page (EMR's ListClusters gives 50) are checked, as the doctor
# checks them, in list order until one passes: the one preselected, so a user who clicks Connect
# at once gets a cluster that takes the session.
PRESELECT_PROBES = 50
_STYLE = {"description_width": "8em"}
_WIDE = {"width": "44em"}


def _stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": text + "\n"}


def _links(links: dict[str, str]) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": links_html(links), "text/plain": links_text(links)}}


def _output_progress(output: widgets.Output, what: str) -> ProgressLine:
    """The progress line as one line of the Output widget, replaced in ``outputs``: a display
    updated by its id, as the magic's is, is ignored by jupyterlab-widgets' Output."""
    slot = len(output.outputs)
    output.outputs += (_stream(""),)

    def show(text: str) -> None:
        outputs = list(output.outputs)
        outputs[slot] = _stream(text)
        output.outputs = tuple(outputs)

    return ProgressLine(what, show)


def _engine_options(usable: dict[str, bool]) -> list[tuple[str, str]]:
    """The engines that can open a session on the cluster (its readiness per engine);
    "Automatic" says which one %connect will pick."""
    sessions = usable.get("spark-connect", False)
    offered = [(auto_label("spark-connect" if sessions else "livy"), "auto")]
    offered += [(ENGINE_LABELS[engine], engine) for engine in ("livy", "spark-connect")
                if usable.get(engine, False)]
    return offered


def _languages(engine: str, usable: dict[str, bool]) -> tuple[str, ...]:
    """Livy serves every language; a Spark Connect session is Python (%connect refuses another
    language there), and Automatic is Livy wherever the cluster can run Livy."""
    livy = engine == "livy" or (engine == "auto" and usable.get("livy", False))
    return LANGUAGES if livy else ("python",)


# The order the readiness line names the engines a cluster can run in.
_NAMED_FIRST = ("spark-connect", "livy")


def _cluster_label(cluster: ClusterSummary) -> str:
    return f"{cluster.name} ({cluster.id}) — cluster, {cluster.state}"


def _application_label(application: ApplicationSummary) -> str:
    """An application's row: its kind, state and the engines it offers."""
    offered = " and ".join(ENGINE_NAMES[name] for name in application.engines)
    return (f"{application.name} ({application.id}) — serverless, {application.state}, "
            f"{offered or 'no notebook engine'}")


def _readiness_html(cluster: ClusterSummary | ApplicationSummary, readiness: Readiness) -> str:
    """The readiness line: which engines can run a session here, or why none can."""
    if not readiness.ready:
        return "<b>not ready</b>: " + html.escape(" ".join(readiness.reasons))
    usable = [ENGINE_NAMES[name] for name in _NAMED_FIRST if readiness.engines[name].ready]
    where = "EMR Serverless, " if isinstance(cluster, ApplicationSummary) else ""
    return "<b>ready</b>: " + html.escape(
        f"{cluster.name} ({where}{readiness.release}) can run runtime-role sessions "
        f"({' and '.join(usable)}).")


def _account_options() -> list[tuple[str, str]]:
    """Your own account (""), and each account your roles files reach through an access
    role."""
    try:
        catalog = roles.load_catalog()
    except EmrRolesError:
        return [("Your own account", "")]
    return [("Your own account", "")] + [
        (f"{entry.account} (through {entry.access_role.name})", entry.account)
        for entry in catalog.accounts if entry.access_role is not None]


class Picker:
    """The widgets of one ``%emr_picker`` and what their events do."""

    def __init__(self, connections: Connections, profile: str | None = None,
                 region: str | None = None) -> None:
        """Loads the first page of clusters before any widget exists, so a failure (no
        credentials, access denied) is the magic's one paragraph, not a half-built picker."""
        self._connections = connections
        self._profile = profile
        self._region = region
        self._marker: str | None = None
        self._account: AccountId | None = None
        self._refilling = False
        self._role_note = ""
        self._applications: list[ApplicationSummary] = []
        self._usable: dict[str, bool] = {"livy": True}
        first = self._next_clusters()
        self._build()
        self._load_applications()
        self.account.observe(self._on_account, names="value")
        self.cluster.observe(self._on_cluster, names="value")
        self.role.observe(self._on_role, names="value")
        self.engine.observe(lambda _: self._offer_languages(), names="value")
        self.language.observe(self._on_language, names="value")
        self.more.on_click(self._guarded(self._on_more))
        self.connect.on_click(self._guarded(self._on_connect))
        self._add_clusters(first)

    def _build(self) -> None:
        """The widgets, each with a CSS class a front end (or a test) can find it by."""
        accounts = _account_options()
        self.account = widgets.Dropdown(description="Account", options=accounts, value="",
                                        style=_STYLE, layout=widgets.Layout(**_WIDE))
        self.account.layout.display = None if len(accounts) > 1 else "none"
        self.cluster = widgets.Dropdown(description="Cluster", options=[],
                                        style=_STYLE, layout=widgets.Layout(**_WIDE))
        self.more = widgets.Button(description="More clusters…",
                                   tooltip="Load the next page of clusters")
        self.applications_note = widgets.HTML()
        self.readiness = widgets.HTML()
        self.role = widgets.Dropdown(description="Runtime role", options=[],
                                     style=_STYLE, layout=widgets.Layout(**_WIDE))
        self.role_note = widgets.HTML()
        language = option("--language")
        self.language = widgets.Dropdown(description="Language", options=language.choices,
                                         value=language.default, style=_STYLE)
        self._language: str = language.default
        self._relisting = False
        self.engine = widgets.Dropdown(description="Engine",
                                       options=_engine_options({"livy": True}),
                                       value=option("--engine").default, style=_STYLE)
        self.name = widgets.Text(description="Session name", style=_STYLE,
                                 tooltip="Empty: the role name (spark for Spark Connect)")
        self.connect = widgets.Button(description="Connect", button_style="primary",
                                      tooltip="Open a Spark session under the runtime role")
        self.output = widgets.Output()
        for widget, css in ((self.account, "account"), (self.cluster, "cluster"),
                            (self.more, "more"), (self.applications_note, "applications-note"),
                            (self.readiness, "readiness"), (self.role, "role"),
                            (self.role_note, "role-note"), (self.language, "language"),
                            (self.engine, "engine"),
                            (self.name, "name"), (self.connect, "connect"),
                            (self.output, "output")):
            widget.add_class(f"jp-EmrRoles-{css}")
        self.widget = widgets.VBox([
            self.account, widgets.HBox([self.cluster, self.more]), self.applications_note,
            self.readiness, self.role,
            self.role_note, self.language, self.engine, self.name, self.connect, self.output])

    def _emr(self) -> Emr:
        return account_emr(self._account, self._profile, self._region)[0]

    def _on_account(self, change: dict[str, Any]) -> None:
        """Another account's clusters, through its access role; one that cannot be listed
        (the role refused) says why where the clusters were."""
        self._account = AccountId(change["new"], "the Account list") if change["new"] else None
        self._marker = None
        self._applications = []
        self.applications_note.value = ""
        self._refilling = True
        self.cluster.options = []
        self._refilling = False
        try:
            found = self._next_clusters()
        except EmrRolesError as exc:
            self.more.layout.display = "none"
            self.readiness.value = html.escape(f"The clusters of account {self._account} could "
                                               f"not be listed: {exc}")
            self._show_roles("")
            return
        self._load_applications()
        self._add_clusters(found)

    def _load_applications(self) -> None:
        """Every EMR Serverless application of the account, to follow its clusters in the
        list; one that cannot be listed (no emr-serverless permission) is said under the
        list, and the clusters stay usable."""
        found: list[ApplicationSummary] = []
        marker: str | None = None
        try:
            serverless = Serverless(self._emr().session)
            while True:
                page = application_list.list_page(serverless, marker)
                found += page.applications
                marker = page.marker
                if marker is None:
                    break
        except EmrRolesError as exc:
            self.applications_note.value = html.escape(
                f"The EMR Serverless applications of {self._account or 'your account'} are "
                f"not listed: {exc}")
        self._applications = found

    def _next_clusters(self) -> list[ClusterSummary]:
        """The next non-empty page (EMR may answer an empty page that still has a marker)."""
        while True:
            page = list_page(self._emr(), READY_STATES, self._marker)
            self._marker = page.marker
            if page.clusters or page.marker is None:
                return list(page.clusters)

    def _add_clusters(self, found: list[ClusterSummary]) -> None:
        """Append a page to the dropdown, keeping the current selection; on the first page,
        the clusters found ready come first and the first of them is selected."""
        current = self.cluster.value
        ready: dict[str, Readiness] = {} if current is not None else self._ready_among(found)
        found = sorted(found, key=lambda cluster: cluster.id not in ready)
        options = [*((label, c) for label, c in self.cluster.options
                     if isinstance(c, ClusterSummary)),
                   *((_cluster_label(c), c) for c in found),
                   *((_application_label(a), a) for a in self._applications)]
        self._refilling = True
        try:
            self.cluster.options = options
            if current is not None:
                self.cluster.value = current
            elif options:
                self.cluster.index = 0
        finally:
            self._refilling = False
        self.more.layout.display = None if self._marker else "none"
        if current is None:
            chosen = self.cluster.value
            self._show_cluster(chosen, ready.get(chosen.id) if chosen is not None else None)

    def _ready_among(self, found: list[ClusterSummary]) -> dict[str, Readiness]:
        """The first cluster of ``found`` that passes the doctor's checks (Livy probed as the
        doctor probes it), by ID with its readiness; empty when none does."""
        ready: dict[str, Readiness] = {}
        for cluster in found[:PRESELECT_PROBES]:
            try:
                readiness = assess(self._emr(), ClusterId(cluster.id, "ListClusters"))
            except EmrRolesError as exc:
                log.debug("not preselecting %s: %s", cluster.id, exc)
                continue
            if readiness.ready:
                ready[cluster.id] = readiness
                break
        return ready

    def _on_cluster(self, change: dict[str, Any]) -> None:
        if not self._refilling:
            self._show_cluster(change["new"])

    def _show_cluster(self, cluster: ClusterSummary | ApplicationSummary | None,
                      known: Readiness | None = None) -> None:
        """The readiness line and the roles of the account of the cluster (or application);
        ``known``: its readiness, checked a moment ago."""
        if cluster is None:
            self.readiness.value = html.escape(
                f"No {' or '.join(READY_STATES)} cluster was found. Start one, or check the "
                "region and credentials the kernel uses (run %emr_picker --region REGION).")
            self._show_roles("")
            return
        account: str = account_in_arn(cluster.arn, "the list's ARN") or ""
        try:
            readiness = known or self._assess(cluster)
        except EmrRolesError as exc:
            self.readiness.value = html.escape(f"Could not check this one: {exc}")
        else:
            account = readiness.account or account
            self._offer_engines({name: engine.ready for name, engine in readiness.engines.items()})
            self.readiness.value = _readiness_html(cluster, readiness)
        self._show_roles(account)

    def _assess(self, chosen: ClusterSummary | ApplicationSummary) -> Readiness:
        """The chosen row's readiness now: a cluster described, an application read again."""
        if isinstance(chosen, ApplicationSummary):
            serverless = Serverless(self._emr().session)
            return application_list.assess(serverless, ApplicationId(chosen.id, "the list"))
        return assess(self._emr(), ClusterId(chosen.id, "ListClusters"))

    def _offer_engines(self, usable: dict[str, bool]) -> None:
        """Only the engines that can open a session on the cluster."""
        chosen = self.engine.value
        self.engine.options = _engine_options(usable)
        self.engine.value = chosen if chosen in dict(self.engine.options).values() else "auto"
        self._usable = usable
        self._offer_languages()

    def _offer_languages(self) -> None:
        """Only the languages the engine can run: the user's choice comes back once it can."""
        offered = _languages(self.engine.value, self._usable)
        self._relisting = True
        try:
            if tuple(self.language.options) != offered:
                self.language.options = offered
            self.language.value = self._language if self._language in offered else "python"
        finally:
            self._relisting = False

    def _on_language(self, change: dict[str, Any]) -> None:
        """The user's choice (not one made by relisting the languages)."""
        if not self._relisting and change["new"] is not None:
            self._language = change["new"]

    def _show_roles(self, account: str) -> None:
        """The account's roles from the roles files, the default one selected."""
        choices, note = None, ""
        try:
            if account:
                choices = roles.load_catalog().account(AccountId(account, "the cluster's ARN"))
        except EmrRolesError as exc:
            note = str(exc)
        listed = choices.roles if choices else ()
        if account and not listed and not note:
            note = (f"No runtime role is listed for account {account} in your roles files. "
                    "Add one in a terminal with `jupyter-emr-roles roles add "
                    f"arn:aws:iam::{account}:role/NAME --label LABEL --default` (or ask your "
                    "admin), then run %emr_picker again.")
        self.role.options = [(f"{c.label or c.arn.name} ({c.arn})", c.arn) for c in listed]
        if listed:
            default = choices.default_role if choices else None
            self.role.value = default if default in {c.arn for c in listed} else listed[0].arn
        self._role_note = note
        self.role_note.value = html.escape(note)

    def _on_role(self, change: dict[str, Any]) -> None:
        role: RoleArn | None = change["new"]
        self.name.placeholder = role.name if role else ""

    def _on_more(self) -> None:
        self._add_clusters(self._next_clusters())

    def _on_connect(self) -> None:
        self.output.outputs = ()
        request = self._request()
        progress = _output_progress(self.output, connecting(request.who(), request.where))
        connection = self._connections.connect(request, progress, self._warn)
        progress.done(connected_line(connection))
        links = connection.links()
        if links:
            self.output.outputs += (_links(links),)
        self.output.outputs += (_stream(
            f"Use it as {connection.name} in this kernel's cells"
            if connection.session.kind == "Spark Connect"
            else f"Run cells in it with %%spark -s {connection.name}"),)

    def _request(self) -> ConnectRequest:
        chosen: ClusterSummary | ApplicationSummary | None = self.cluster.value
        if chosen is None:
            raise EmrRolesError("Pick a cluster first.")
        role: RoleArn | None = self.role.value
        if role is None:
            raise EmrRolesError(self._role_note or "Pick a runtime role first.")
        name = self.name.value.strip()
        where: dict[str, Any] = {"application_id": ApplicationId(chosen.id, "the Cluster list")} \
            if isinstance(chosen, ApplicationSummary) \
            else {"cluster_id": ClusterId(chosen.id, "the Cluster list")}
        return ConnectRequest(
            **where, role_arn=RoleArn(role, "the Runtime role list"),
            name=SessionName(name, "the Session name box") if name else None,
            language=self.language.value, engine=self.engine.value, region=self._region,
            profile=self._profile,
            access_role_arn=account_emr(self._account, self._profile, self._region)[1])

    def _warn(self, message: str) -> None:
        self.output.outputs += (_stream(f"WARNING: {message}", "stderr"),)

    def _guarded(self, action: Callable[[], None]) -> Callable[[widgets.Button], None]:
        """A button handler: the project's errors as one paragraph in the output area,
        anything else with its traceback there (a front end shows nothing a widget
        handler prints outside it); the buttons are off while it runs."""

        def handler(_button: widgets.Button) -> None:
            buttons = (self.more, self.connect)
            for button in buttons:
                button.disabled = True
            try:
                action()
            except EmrRolesError as exc:
                self.output.outputs += (_stream(str(exc), "stderr"),)
            except Exception as exc:
                log.exception("%emr_picker failed")
                self.output.outputs += ({
                    "output_type": "error", "ename": type(exc).__name__, "evalue": str(exc),
                    "traceback": traceback.format_exception(exc)},)
            finally:
                for button in buttons:
                    button.disabled = False

        return handler

"""The Lab extension in a real browser: EMR button, dialog, `%%connect` cell, status bar.

The flow is the README's: open a notebook, click EMR, pick shared-analytics and
a runtime role, Connect, then run `%%spark` cells and see Spark answer as that
role, for two roles side by side. Everything the page received (REST bodies,
kernel websocket frames, the final DOM) is searched for the Livy passwords and
the emulator's AWS secret key. DOM names come from /tmp/ui-contract.md.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import psutil
import pytest
from demo_world import (
    MARKETING,
    MARKETING_ARN,
    PARTNER_ACCESS,
    PARTNER_ARN,
    PARTNER_ROLE,
    SALES,
    SALES_ARN,
    WHO_AM_I,
)
from jupyter_client import BlockingKernelClient
from lab import new_notebook, open_notebook
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)

CONNECT_TIMEOUT = 120_000  # ms: the kernel imports boto3 and sparkmagic, Livy starts a session
CELL_TIMEOUT = 60_000
PEEK_LIVY_LOGINS = (
    "import json\nmagics = get_ipython().magics_manager.registry['EmrRolesMagics']\n"
    "logins = [c.session._credentials.for_request() for c in magics.connections._by_name.values()]\n"
    "open({path!r}, 'w').write(json.dumps([[l.username, l.password] for l in logins]))")


class NetworkLog:
    """What the page received from JupyterLab: REST bodies and websocket frames, until stopped."""

    def __init__(self, page: Any) -> None:
        self.responses: list[Any] = []
        self.frames: list[bytes] = []
        self.sent: list[bytes] = []
        self.recording = True
        page.on("response", self._response)
        page.on("websocket", self._websocket)

    def _response(self, response: Any) -> None:
        if self.recording and ("/jupyter-emr-roles/" in response.url or "/api/" in response.url):
            self.responses.append(response)

    def _websocket(self, socket: Any) -> None:
        socket.on("framereceived", self._frame)
        socket.on("framesent", self._sent)

    def _frame(self, payload: str | bytes) -> None:
        if self.recording:
            self.frames.append(payload.encode() if isinstance(payload, str) else payload)

    def _sent(self, payload: str | bytes) -> None:
        self._frame(payload)
        if self.recording:
            self.sent.append(self.frames[-1])

    def silent_executions(self) -> int:
        """Silent execute requests the page sent its kernels (the old status bar's asking)."""
        return sum(b"execute_request" in frame and re.search(rb'"silent":\s*true', frame)
                   is not None for frame in self.sent)

    def stop(self) -> bytes:
        """Stop recording; return everything recorded as one byte string."""
        self.recording = False
        bodies = []
        for response in self.responses:
            try:
                bodies.append(response.body())
            except PlaywrightError:  # redirects have no body: nothing to search
                pass
        return b"\n".join(bodies + self.frames)

    @property
    def emr_calls(self) -> list[str]:
        return [r.url for r in self.responses if "/jupyter-emr-roles/" in r.url]


def cell_with(panel: Any, text: str) -> Any:
    return panel.locator(".jp-Cell").filter(has=panel.page.locator(".jp-InputArea", has_text=text))


def select_cell(page: Any, panel: Any, text: str) -> Any:
    """The cell with ``text``, selected in command mode, so the dialog inserts below it."""
    cell = cell_with(panel, text)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    return cell


def run_cell(cell: Any, expected: str, timeout: int = CELL_TIMEOUT) -> str:
    """Run a cell as a user does (click it, Shift+Enter); returns its output once it shows."""
    cell.locator(".jp-InputArea-editor").click()
    cell.page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output", has_text=expected)
    output.first.wait_for(timeout=timeout)
    return cell.locator(".jp-OutputArea").inner_text()


def connect(page: Any, panel: Any, role_label: str, artifacts: Path, session: str = "",
            settings: str = "", cluster: str = "shared-analytics", engine: str = "") -> None:
    """Click EMR, pick the cluster and the role (and a session name, Livy settings, the engine
    by its label), and Connect; a screenshot of the filled-in dialog goes to the artifacts."""
    panel.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="EMR").click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Connect to EMR")
    clusters = dialog.get_by_role("listbox", name="Clusters")
    option = clusters.get_by_role("option").filter(has_text=cluster)
    option.click()
    expect(option).to_have_attribute("aria-selected", "true")
    expect(option.locator(".jp-EmrRoles-badge")).to_have_text("ready")
    dialog.get_by_label("Runtime role").select_option(label=role_label)
    if session:
        dialog.get_by_label("Session name").fill(session)
    if settings:
        dialog.get_by_label("Livy session settings (JSON)").fill(settings)
    if engine:
        dialog.get_by_label("Engine").select_option(label=engine)
    dialog.screenshot(path=str(artifacts / f"dialog-{role_label.lower()}.png"))
    dialog.get_by_role("button", name="Connect", exact=True).click()
    dialog.wait_for(state="detached")


def connected_cell(panel: Any, role: str) -> str:
    """The source of the cell the extension inserted for the role, once it ran and said it
    connected (a failed run fails here, with the cell's output)."""
    cell = cell_with(panel, f"--role-arn {role}")
    expect(cell.locator(".jp-InputArea-prompt")).to_have_text(re.compile(r"\[\d+\]:"),
                                                             timeout=CONNECT_TIMEOUT)
    output = cell.locator(".jp-OutputArea").inner_text()
    assert f"connected as {role} on " in output, output
    return cell.locator(".jp-InputArea").inner_text()


def test_the_notebook_toolbar_has_the_emr_button_and_the_status_bar_says_not_connected(
        lab: Any, page: Any) -> None:
    new_notebook(lab, "fresh.ipynb", ["print(40 + 2)"])
    panel = open_notebook(page, lab, "fresh.ipynb")
    assert "42" in run_cell(cell_with(panel, "40 + 2"), "42")
    button = panel.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="EMR")
    expect(button).to_be_visible()
    expect(page.locator(".jp-EmrRoles-status")).to_have_text("EMR: not connected")


def test_connect_two_roles_from_the_dialog_and_no_secret_reaches_the_page(
        lab: Any, emulator: Any, page: Any, artifacts: Path, tmp_path: Path) -> None:
    name = "two-roles.ipynb"
    new_notebook(lab, name, ["%%spark -s sales-data-access\n" + WHO_AM_I,
                             "%%spark -s marketing\n" + WHO_AM_I])
    network = NetworkLog(page)
    panel = open_notebook(page, lab, name)
    first = select_cell(page, panel, "-s sales-data-access")

    connect(page, panel, "Sales", artifacts)
    source = connected_cell(panel, SALES)
    assert "connect --cluster-id j-" in source and f"--role-arn {SALES}" in source, source
    status = page.locator(".jp-EmrRoles-status")
    expect(status).to_contain_text("Sales @ shared-analytics", timeout=CELL_TIMEOUT)
    sales = run_cell(first, SALES_ARN)
    assert MARKETING_ARN not in sales

    second = select_cell(page, panel, "-s marketing")
    connect(page, panel, "Marketing", artifacts, session="marketing",
            settings='{"driverMemory": "1g"}')
    source = connected_cell(panel, MARKETING)
    assert "%%connect" in source and "--name marketing" in source and "1g" in source, source
    marketing = run_cell(second, MARKETING_ARN)
    assert SALES_ARN not in marketing
    expect(status).to_contain_text("Marketing @ shared-analytics", timeout=CELL_TIMEOUT)
    expect(status).to_contain_text("Sales @ shared-analytics")
    page.screenshot(path=str(artifacts / "result.png"), full_page=True)

    received = network.stop()
    dom = page.content()
    (artifacts / "dom.html").write_text(dom)
    assert any(url.split("?")[0].endswith("/jupyter-emr-roles/roles") for url in network.emr_calls)
    # The log did record what the page got: the cluster list and the kernel's outputs.
    assert b"shared-analytics" in received and f"connected as {SALES}".encode() in received

    logins = _peek_livy_logins(lab, name, tmp_path / "livy-logins.json")
    assert len(logins) == 2
    secrets = [emulator.env["AWS_SECRET_ACCESS_KEY"]]
    for user, password in logins:
        secrets += [password, base64.b64encode(f"{user}:{password}".encode()).decode()]
    for secret in secrets:
        assert secret.encode() not in received, "a secret reached the browser over the network"
        assert secret not in dom, "a secret is in the page"


def test_a_cluster_of_another_account_is_listed_and_connected_through_its_access_role(
        lab: Any, page: Any, artifacts: Path) -> None:
    name = "partner.ipynb"
    new_notebook(lab, name, ["%%spark -s partner-analytics-access\n" + WHO_AM_I])
    panel = open_notebook(page, lab, name)
    cell = select_cell(page, panel, "-s partner-analytics-access")
    panel.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="EMR").click()
    options = page.locator(".jp-Dialog").get_by_role("listbox", name="Clusters").get_by_role(
        "option")
    for listed in ("shared-analytics.*123456789012", "partner-analytics.*210987654321"):
        expect(options.filter(has_text=re.compile(listed))).to_have_count(1)
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    connect(page, panel, "Partner analytics", artifacts, cluster="partner-analytics")
    source = connected_cell(panel, PARTNER_ROLE)
    assert f"--access-role-arn {PARTNER_ACCESS}" in source, source
    assert PARTNER_ARN in run_cell(cell, PARTNER_ARN)


def test_a_spark_connect_session_from_the_dialog_is_spark_in_the_kernel(
        lab: Any, page: Any, artifacts: Path) -> None:
    name = "spark-connect.ipynb"
    new_notebook(lab, name, ["print(spark.range(5).count() * 8)"])
    panel = open_notebook(page, lab, name)
    cell = select_cell(page, panel, "spark.range(5)")

    connect(page, panel, "Sales", artifacts, cluster="connect-analytics",
            engine="Spark Connect (spark in this kernel)")

    source = connected_cell(panel, SALES)
    assert "--engine spark-connect" in source, source
    output = cell_with(panel, "--engine spark-connect").locator(".jp-OutputArea").inner_text()
    assert "(session spark, Spark Connect id is-" in output, output
    assert "40" in run_cell(cell, "40")
    expect(page.locator(".jp-EmrRoles-status")).to_contain_text("Sales @ connect-analytics",
                                                                 timeout=CELL_TIMEOUT)


def test_the_dialog_lists_the_applications_and_connects_serverless_livy(
        lab: Any, emulator: Any, page: Any, artifacts: Path) -> None:
    """The account's EMR Serverless applications follow its clusters, each of kind serverless
    with its readiness; connecting to serverless-livy writes --application-id (no
    --cluster-id), runs the cell, and a %%spark cell then runs as the role chosen."""
    applications = emulator.application_ids()
    name = "serverless.ipynb"
    new_notebook(lab, name, ["%%spark -s on-serverless\n" + WHO_AM_I])
    panel = open_notebook(page, lab, name)
    cell = select_cell(page, panel, "-s on-serverless")
    panel.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="EMR").click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Connect to EMR")
    options = dialog.get_by_role("listbox", name="Clusters").get_by_role("option")
    for listed in ("serverless-livy", "serverless-spark-connect",
                   "serverless-stopped-auto-start", "serverless-release-too-old"):
        row = options.filter(has_text=applications[listed])
        expect(row.locator(".jp-EmrRoles-clusterKind")).to_have_text("serverless")
    expect(options.filter(has_text="shared-analytics").locator(
        ".jp-EmrRoles-clusterKind")).to_have_text("cluster")
    expect(options.filter(has_text="serverless-release-too-old").locator(
        ".jp-EmrRoles-badge")).to_have_text("not ready")
    dialog.screenshot(path=str(artifacts / "applications.png"))
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    connect(page, panel, "Marketing", artifacts, session="on-serverless",
            cluster="serverless-livy", engine="Livy (%%spark cells, through sparkmagic)")
    source = connected_cell(panel, MARKETING)
    assert f"--application-id {applications['serverless-livy']}" in source, source
    assert "--cluster-id" not in source, source
    assert MARKETING_ARN in run_cell(cell, MARKETING_ARN, CONNECT_TIMEOUT)


def test_a_first_open_preselects_a_usable_cluster_and_offers_only_its_engines(
        lab: Any, page: Any, artifacts: Path) -> None:
    """The badge means what the doctor means: livy-plain-http (whose Livy %connect refuses) is
    not ready and never preselected, a Livy-less session cluster is ready for Spark Connect
    alone, and a ready cluster is selected at once, so Connect works on a first click."""
    new_notebook(lab, "first-open.ipynb", ["print(1)"])
    panel = open_notebook(page, lab, "first-open.ipynb")
    panel.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="EMR").click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Connect to EMR")
    options = dialog.get_by_role("listbox", name="Clusters").get_by_role("option")
    chosen = options.and_(page.locator('[aria-selected="true"]'))
    expect(chosen).to_have_count(1, timeout=CELL_TIMEOUT)
    expect(chosen.locator(".jp-EmrRoles-badge")).to_have_text("ready")
    plain = options.filter(has_text="livy-plain-http")
    expect(plain).to_have_attribute("aria-selected", "false")
    dialog.screenshot(path=str(artifacts / "first-open.png"))

    plain.click()
    badge = plain.locator(".jp-EmrRoles-badge")
    expect(badge).to_have_text("not ready", timeout=CELL_TIMEOUT)
    expect(badge).to_have_attribute("title", re.compile("plain HTTP"))
    sessions = options.filter(has_text="spark-sessions")
    sessions.click()
    expect(sessions.locator(".jp-EmrRoles-badge")).to_have_text("ready", timeout=CELL_TIMEOUT)
    expect(dialog.get_by_label("Engine").locator("option")).to_have_text(
        ["Automatic (Spark Connect)", "Spark Connect (spark in this kernel)"])
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")


def _peek_livy_logins(lab: Any, notebook: str, path: Path) -> list[list[str]]:
    """Ask the notebook's kernel for its Livy logins, on a connection of our own and silently,
    so the answer never travels over the page's websocket."""
    client = BlockingKernelClient(connection_file=str(lab.kernel_connection_file(notebook)))
    client.load_connection_file()
    client.start_channels()
    try:
        reply = client.execute_interactive(PEEK_LIVY_LOGINS.format(path=str(path)), silent=True,
                                           store_history=False, timeout=30)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    return json.loads(path.read_text())


def test_plain_cells_cost_the_status_bar_nothing_and_a_disconnect_shows_at_once(
        lab: Any, emulator: Any, page: Any, artifacts: Path) -> None:
    """Two sessions, then 20 plain cells: no Livy request and no silent kernel execution for
    the status bar (counted at the emulator and in the page's websocket frames); then a
    disconnect reaches the status bar within a second, pushed by the kernel. Then the page is
    loaded again, as a reload or a second tab: it shows the session the kernel still holds
    before any cell runs, and a connect made there."""
    cluster = emulator.cluster_ids()["shared-analytics"]
    plain = ["x = 0", *(f"x += {n}" for n in range(1, 19)), "print('sum', x)"]
    new_notebook(lab, "quiet.ipynb", ["%load_ext jupyter_emr_roles\nprint('loaded')",
                                      f"%connect --cluster-id {cluster} --name quiet-one",
                                      f"%connect --cluster-id {cluster} --name quiet-two",
                                      *plain, "%disconnect quiet-one"])
    network = NetworkLog(page)
    panel = open_notebook(page, lab, "quiet.ipynb")
    run_cell(cell_with(panel, "%load_ext"), "loaded")
    run_cell(cell_with(panel, "--name quiet-one"), "connected as", CONNECT_TIMEOUT)
    run_cell(cell_with(panel, "--name quiet-two"), "connected as", CONNECT_TIMEOUT)
    status = page.locator(".jp-EmrRoles-status")
    expect(status).to_have_attribute("title", re.compile("quiet-one.*\n.*quiet-two"))

    asked = network.silent_executions()
    assert asked == 0, "the status bar opens a comm; it executes nothing in the kernel"
    before = livy_requests(emulator, cluster)
    cell_with(panel, "x = 0").locator(".jp-InputArea-editor").click()
    for _ in plain:
        page.keyboard.press("Shift+Enter")
    cell_with(panel, "print('sum'").locator(".jp-OutputArea-output", has_text="sum 171").wait_for(
        timeout=CELL_TIMEOUT)
    assert livy_requests(emulator, cluster) == before, "the 20 cells made Livy requests"
    assert network.silent_executions() == asked, "the status bar asked the kernel"

    run_cell(cell_with(panel, "%disconnect quiet-one"), "disconnected quiet-one")
    expect(status).not_to_have_attribute("title", re.compile("quiet-one"), timeout=1000)
    expect(status).to_have_attribute("title", re.compile("quiet-two"))
    page.screenshot(path=str(artifacts / "quiet.png"), full_page=True)
    network.stop()

    panel = open_notebook(page, lab, "quiet.ipynb")
    expect(status).to_have_attribute("title", re.compile("quiet-two"), timeout=CELL_TIMEOUT)
    run_cell(cell_with(panel, "--name quiet-one"), "connected as", CONNECT_TIMEOUT)
    expect(status).to_have_attribute("title", re.compile("quiet-one.*\n.*quiet-two|"
                                                         "quiet-two.*\n.*quiet-one"))
    page.screenshot(path=str(artifacts / "quiet-reloaded.png"), full_page=True)


def livy_requests(emulator: Any, cluster_id: str) -> int:
    return next(c["livy_requests"] for c in emulator.status()["clusters"]
                if c["id"] == cluster_id)


def _kernel_process(lab: Any, notebook: str) -> psutil.Process:
    """The process of the kernel JupyterLab started for a notebook (its command line names
    its connection file)."""
    connection = lab.kernel_connection_file(notebook).name
    (process,) = [p for p in psutil.process_iter(["cmdline"])
                  if any(connection in part for part in p.info["cmdline"] or [])]
    return process


def test_a_killed_kernels_session_is_offered_once_and_closed_from_the_notification(
        lab: Any, emulator: Any, page: Any, artifacts: Path) -> None:
    """The kernel is killed as the OOM killer does (SIGKILL: it closes nothing); JupyterLab
    restarts it, and the page offers once to close the session it left, which the click
    closes on the cluster; the page remembers it offered it (jest tests that a reload does not
    offer it again)."""
    cluster = emulator.cluster_ids()["shared-analytics"]
    new_notebook(lab, "killed.ipynb", ["%load_ext jupyter_emr_roles\nprint('loaded')",
                                       f"%connect --cluster-id {cluster} --name left-behind"])
    panel = open_notebook(page, lab, "killed.ipynb")
    before = {s["id"] for s in emulator.open_sessions(cluster)}
    run_cell(cell_with(panel, "%load_ext"), "loaded")
    run_cell(cell_with(panel, "--name left-behind"), "connected as", CONNECT_TIMEOUT)
    (left,) = {s["id"] for s in emulator.open_sessions(cluster)} - before

    _kernel_process(lab, "killed.ipynb").kill()
    offer = page.locator(".jp-Notification-Toast-warning", has_text="A kernel that is gone "
                         "left 1 EMR session open (left-behind), billed until its idle timeout.")
    offer.wait_for(timeout=CELL_TIMEOUT)
    restarting = page.locator(".jp-Dialog", has_text="Kernel Restarting")
    restarting.get_by_role("button", name="Ok").click()
    restarting.wait_for(state="detached")
    page.screenshot(path=str(artifacts / "orphan-offer.png"), full_page=True)
    offer.get_by_role("button", name="Close them").click()
    page.get_by_text("Closed 1 EMR session a kernel that is gone left.").wait_for(
        timeout=CELL_TIMEOUT)

    assert left not in {s["id"] for s in emulator.open_sessions(cluster)}
    assert lab.api().get(lab.url + "jupyter-emr-roles/orphans", timeout=30).json() == {
        "orphans": []}
    offered = page.evaluate("localStorage.getItem('jupyter-emr-roles:orphans-offered')")
    assert [key.split("/")[-1] for key in json.loads(offered)] == ["left-behind"], \
        "remembered, so a reload does not offer it again"

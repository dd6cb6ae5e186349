"""``%emr_picker`` in a real kernel, driven as a front end drives ipywidgets.

The test is the front end: it keeps the widget models from the kernel's
comm_open and update messages, sends the updates a browser sends when the user
picks an option or types, and the "click" a Button sends. What is open on the
cluster is read from ``local status --json`` and from ``%%spark`` in the same
kernel, never from our objects.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulators import RunningEmulator, start_emulator
from kernels import NotebookKernel
from demo_world import ACCOUNT, MARKETING, MARKETING_ARN, SALES, WHO_AM_I

FILLERS = 50  # with the default world's clusters: two ListClusters pages


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(tmp_path_factory.mktemp("emulator"), "--spark", "fake",
                        "--clusters", str(FILLERS)) as running:
        yield running


class FrontEnd:
    """The widget side of a notebook front end: the models the kernel opened, kept current
    from comm_open and update messages. Every message is kept, for the secret check."""

    def __init__(self, kernel: NotebookKernel) -> None:
        self.kernel = kernel
        self.models: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []

    def run(self, code: str) -> str:
        cell_status, messages = self.kernel.messages(code)
        self._absorb(messages)
        return cell_status

    def _absorb(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.received.append(message)
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "comm_open" and content["target_name"] == "jupyter.widget":
                self.models[content["comm_id"]] = dict(content["data"]["state"])
            elif kind == "comm_msg" and content["data"].get("method") in ("update",
                                                                          "echo_update"):
                self.models[content["comm_id"]].update(content["data"]["state"])

    def _id(self, part: str) -> str:
        found = [comm_id for comm_id, state in self.models.items()
                 if f"jp-EmrRoles-{part}" in state.get("_dom_classes", ())]
        assert len(found) == 1, (part, found)
        return found[0]

    def state(self, part: str) -> dict[str, Any]:
        return self.models[self._id(part)]

    def labels(self, part: str) -> list[str]:
        return list(self.state(part)["_options_labels"])

    def selected(self, part: str) -> str:
        state = self.state(part)
        return state["_options_labels"][state["index"]]

    def shown(self, part: str) -> bool:
        layout = self.models[self.state(part)["layout"].removeprefix("IPY_MODEL_")]
        return layout.get("display") != "none"

    def update(self, part: str, **state: Any) -> None:
        """What a browser sends when the user changes a control."""
        comm_id = self._id(part)
        self.models[comm_id].update(state)
        self._absorb(self.kernel.send_comm(comm_id, {"method": "update", "state": state,
                                                     "buffer_paths": []}))

    def choose(self, part: str, text: str) -> None:
        matching = [n for n, label in enumerate(self.labels(part)) if text in label]
        assert len(matching) == 1, (text, self.labels(part))
        self.update(part, index=matching[0])

    def click(self, part: str) -> None:
        self._absorb(self.kernel.send_comm(self._id(part), {
            "method": "custom", "content": {"event": "click"}}))

    def output(self) -> list[dict[str, Any]]:
        return list(self.state("output")["outputs"])

    def output_text(self) -> str:
        return "".join(entry.get("text") or entry.get("data", {}).get("text/plain", "")
                       or "\n".join([entry.get("evalue", ""), *entry.get("traceback", [])])
                       for entry in self.output())

    def all_pages(self) -> None:
        while self.shown("more"):
            self.click("more")


def picker(kernel: NotebookKernel) -> FrontEnd:
    kernel.ok("%load_ext jupyter_emr_roles")
    front = FrontEnd(kernel)
    assert front.run("%emr_picker") == "ok"
    return front


def test_load_ext_stays_lazy_and_the_magic_documents_itself(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    loaded = kernel.ok("import sys\nprint(sorted(m for m in ('boto3', 'ipywidgets', "
                       "'jupyter_emr_roles.widgets') if m in sys.modules))")
    assert loaded.strip() == "[]", loaded
    help_text = kernel.ok("print(get_ipython().find_line_magic('emr_picker').__doc__)")
    assert "--region" in help_text and "%%spark -s NAME" in help_text, help_text


def test_picker_pages_clusters_and_connects_the_chosen_role_as_connect_does(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator)
    front = picker(kernel)

    first = front.selected("cluster")
    assert len(front.labels("cluster")) == 50 and front.shown("more")
    front.click("more")
    listed = front.labels("cluster")
    assert len(listed) == len(clusters) - 1 and not front.shown("more"), "all but the terminated"
    assert not [label for label in listed if label.startswith("terminated ")]
    assert front.selected("cluster") == first, "loading a page keeps the selection"
    assert front.labels("language") == ["python", "scala", "r", "sql"]

    front.choose("cluster", f"shared-analytics ({cluster})")
    assert front.state("readiness")["value"].startswith("<b>ready</b>")
    assert front.labels("role") == [f"Sales ({SALES})", f"Marketing ({MARKETING})"]
    assert front.selected("role") == f"Sales ({SALES})", "the default role is preselected"
    assert front.state("name")["placeholder"] == "sales-data-access"
    front.choose("role", "Marketing")
    assert front.state("name")["placeholder"] == "marketing-data-access"
    front.update("name", value="picked")
    front.click("connect")

    text = front.output_text()
    found = re.search(rf"connected as {re.escape(MARKETING)} on {cluster} \(session picked, "
                      r"Livy id (\d+)\)", text)
    assert found, front.output()
    assert "Traceback" not in text and not front.state("connect")["disabled"]
    assert MARKETING_ARN in kernel.ok("%%spark -s picked\n" + WHO_AM_I)
    assert (int(found.group(1)), MARKETING) in {
        (s["id"], s["role_arn"]) for s in emulator.open_sessions(cluster)}
    assert "picked" in kernel.ok("%emr_sessions")

    # The test's own peek at the Livy login, written outside every folder the kernel uses.
    peek = tmp_path / "livy-login.json"
    kernel.ok("import json\nmagics = get_ipython().magics_manager.registry['EmrRolesMagics']\n"
              "login = magics.connections._by_name['picked'].session._credentials.for_request()\n"
              f"open({str(peek)!r}, 'w').write(json.dumps([login.username, login.password]))")
    user, password = json.loads(peek.read_text())
    secrets = [password, base64.b64encode(f"{user}:{password}".encode()).decode(), user,
               emulator.env["AWS_SECRET_ACCESS_KEY"]]
    widget_side = json.dumps([front.received, front.models], default=str)
    assert f"connected as {MARKETING}" in widget_side
    for secret in secrets:
        assert secret not in widget_side
    kernel.ok("%disconnect --all")


def test_not_ready_cluster_shows_its_reasons_and_connect_says_one_paragraph(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    before = emulator.status()["sessions"]
    front = picker(notebook(emulator))
    front.all_pages()
    front.choose("cluster", f"multi-primary ({clusters['multi-primary']})")
    readiness = front.state("readiness")["value"]
    assert readiness.startswith("<b>not ready</b>") and "primary nodes" in readiness, readiness
    assert front.selected("role") == f"Sales ({SALES})"

    front.click("connect")
    assert [entry["output_type"] for entry in front.output()] == ["stream", "stream"]
    failure = front.output()[-1]
    assert failure["name"] == "stderr" and "primary nodes" in failure["text"], front.output()
    assert "Traceback" not in front.output_text()

    front.choose("cluster", f"shared-analytics ({clusters['shared-analytics']})")
    front.update("name", value="a b")
    front.click("connect")
    assert [entry["name"] for entry in front.output()] == ["stderr"]
    assert "from the Session name box is not valid" in front.output_text(), front.output()
    assert not front.state("connect")["disabled"]
    assert emulator.status()["sessions"] == before, "a failed Connect opens no Livy session"


def test_without_listed_roles_the_picker_says_how_to_add_one(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator, JUPYTER_EMR_ROLES_FILE=str(tmp_path / "no-roles.json"))
    front = picker(kernel)
    front.all_pages()
    front.choose("cluster", f"shared-analytics ({clusters['shared-analytics']})")
    hint = f"jupyter-emr-roles roles add arn:aws:iam::{ACCOUNT}:role/NAME"
    assert front.labels("role") == [] and hint in front.state("role-note")["value"]
    front.click("connect")
    assert hint in front.output_text() and "Traceback" not in front.output_text()

    kernel.ok("%env AWS_ENDPOINT_URL=http://127.0.0.1:9")
    unreachable = kernel.run("%emr_picker")
    assert unreachable.status == "error" and "UsageError: " in unreachable.output
    assert "could not be reached" in unreachable.output, unreachable.output
    assert "Traceback" not in unreachable.output

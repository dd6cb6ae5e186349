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

import pytest
from emulators import RunningEmulator, start_changed_world, start_emulator
from kernels import NotebookKernel
from widget_front_end import FrontEnd, picker
from demo_world import (
    ACCOUNT,
    MARKETING,
    MARKETING_ARN,
    PARTNER_ACCOUNT,
    PARTNER_ARN,
    PARTNER_ROLE,
    SALES,
    WHO_AM_I,
)

FILLERS = 50  # with the default world's clusters: two ListClusters pages


def cluster_rows(front: FrontEnd) -> list[str]:
    """The list's clusters (its EMR Serverless applications left out), by their kind."""
    return [label for label in front.labels("cluster") if " — cluster, " in label]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(tmp_path_factory.mktemp("emulator"), "--spark", "fake",
                        "--clusters", str(FILLERS)) as running:
        yield running


def test_load_ext_stays_lazy_and_the_magic_documents_itself(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    loaded = kernel.ok("import sys\nprint(sorted(m for m in ('boto3', 'ipywidgets', 'pyspark', "
                       "'grpc', 'jupyter_emr_roles.magics.picker') if m in sys.modules))")
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
    assert len(cluster_rows(front)) == 50 and front.shown("more")
    front.click("more")
    listed = cluster_rows(front)
    assert len(listed) == len(clusters) - 1 and not front.shown("more"), "all but the terminated"
    assert not [label for label in listed if label.startswith("terminated ")]
    assert front.labels("cluster")[:len(listed)] == listed, "the applications come after"
    assert front.selected("cluster") == first, "loading a page keeps the selection"

    front.choose("cluster", f"shared-analytics ({cluster})")
    assert front.state("readiness")["value"].startswith("<b>ready</b>")
    assert front.labels("language") == ["python", "scala", "r", "sql"], "Livy runs them all"
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


def test_a_first_open_preselects_a_cluster_that_takes_a_session(
        tmp_path: Path, notebook: Callable[..., NotebookKernel]) -> None:
    """One cluster that takes a session among 30 that cannot (fillers without Livy or runtime
    roles): EMR lists them by ID, so the ready one is seldom the first listed."""
    def one_ready_cluster(world: dict) -> None:
        world["clusters"] = [c for c in world["clusters"] if c["name"] == "shared-analytics"]

    with start_changed_world(tmp_path / "one-ready", one_ready_cluster, "--spark", "fake",
                             "--clusters", "30") as running:
        front = picker(notebook(running))

        assert front.selected("cluster").startswith("shared-analytics ("), front.labels(
            "cluster")[:3]
        assert front.labels("cluster")[0] == front.selected("cluster"), "listed first"
        assert front.state("readiness")["value"].startswith("<b>ready</b>")


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


def test_another_accounts_clusters_through_its_access_role(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    front = picker(notebook(emulator))
    assert front.shown("account")
    assert front.labels("account") == ["Your own account",
                                       f"{PARTNER_ACCOUNT} (through emr-notebook-access)"]
    front.choose("account", PARTNER_ACCOUNT)
    assert [label.split(" (")[0] for label in front.labels("cluster")] == ["partner-analytics"]
    note = front.state("applications-note")["value"]
    assert f"applications of {PARTNER_ACCOUNT} are not listed" in note, note
    assert "emr-serverless:ListApplications" in note, "the access role's missing permission"
    assert front.state("readiness")["value"].startswith("<b>ready</b>")
    assert [label.split(" (")[1] for label in front.labels("role")] == [f"{PARTNER_ROLE})"]
    front.click("connect")
    assert "connected as " + PARTNER_ROLE in front.output_text(), front.output()
    assert PARTNER_ARN in front.kernel.ok("%%spark -s partner-analytics-access\n" + WHO_AM_I)
    front.kernel.ok("%disconnect --all")


def test_an_account_whose_access_role_is_refused_says_why(
        emulator: RunningEmulator, tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    roles_file = tmp_path / "roles.json"
    roles_file.write_text(json.dumps({"version": 1, "accounts": {PARTNER_ACCOUNT: {
        "roles": [{"arn": PARTNER_ROLE}],
        "access_role": f"arn:aws:iam::{PARTNER_ACCOUNT}:role/no-such-access-role"}}}))
    front = picker(notebook(emulator, JUPYTER_EMR_ROLES_FILE=str(roles_file)))
    front.choose("account", PARTNER_ACCOUNT)
    assert front.labels("cluster") == [] and not front.shown("more")
    reason = front.state("readiness")["value"]
    assert f"The clusters of account {PARTNER_ACCOUNT} could not be listed" in reason
    assert "no-such-access-role" in reason


def test_the_engine_choice_follows_the_cluster_and_connects_spark_connect(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    front = picker(kernel)
    front.all_pages()
    front.choose("cluster", f"connect-analytics ({clusters['connect-analytics']})")
    assert "(Spark Connect sessions and Livy)" in front.state("readiness")["value"]
    assert front.labels("engine") == ["Automatic (Spark Connect)",
                                      "Livy (%%spark cells, through sparkmagic)",
                                      "Spark Connect (spark in this kernel)"]
    front.choose("engine", "spark in this kernel")
    front.update("name", value="sc")
    front.click("connect")

    text = front.output_text()
    assert "(session sc, Spark Connect id is-" in text, front.output()
    assert "Use it as sc in this kernel's cells" in text
    assert kernel.ok("print(sc.range(3).count())").strip() == "3"

    front.choose("cluster", f"shared-analytics ({clusters['shared-analytics']})")
    assert front.labels("engine") == ["Automatic (Livy)",
                                      "Livy (%%spark cells, through sparkmagic)"]
    assert front.selected("engine") == "Automatic (Livy)"
    kernel.ok("%disconnect --all")


def test_only_the_engines_that_work_on_the_cluster_are_offered(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """A session cluster without Livy offers Spark Connect alone; one with Lake Formation's
    fine-grained access control, where EMR runs no sessions, Livy alone; a cluster whose Livy
    the doctor fails offers nothing and says why."""
    front = picker(notebook(emulator))
    front.all_pages()
    front.choose("cluster", f"spark-sessions ({clusters['spark-sessions']})")
    assert "(emr-spark-8.0.0) can run runtime-role sessions (Spark Connect sessions)." in \
        front.state("readiness")["value"]
    assert front.labels("engine") == ["Automatic (Spark Connect)",
                                      "Spark Connect (spark in this kernel)"]
    assert front.labels("language") == ["python"], "a Spark Connect session is Python"

    front.choose("cluster", f"lake-formation-sessions ({clusters['lake-formation-sessions']})")
    assert front.state("readiness")["value"].endswith("sessions (Livy).")
    assert front.labels("engine") == ["Automatic (Livy)",
                                      "Livy (%%spark cells, through sparkmagic)"]
    assert front.labels("language") == ["python", "scala", "r", "sql"]
    front.choose("language", "scala")
    front.choose("cluster", f"spark-sessions ({clusters['spark-sessions']})")
    assert front.selected("language") == "python"
    front.choose("cluster", f"lake-formation-sessions ({clusters['lake-formation-sessions']})")
    assert front.selected("language") == "scala", "the user's choice comes back with Livy"

    front.choose("cluster", f"livy-plain-http ({clusters['livy-plain-http']})")
    readiness = front.state("readiness")["value"]
    assert readiness.startswith("<b>not ready</b>") and "plain HTTP" in readiness, readiness
    assert front.labels("engine") == ["Automatic (Livy)"]


def test_applications_follow_the_clusters_with_their_kind_and_engines_and_connect(
        emulator: RunningEmulator, applications: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """The account's EMR Serverless applications are rows of the same list, each with its kind
    and the engines it offers; one that offers none says why, and Connect on one opens the
    session there with --application-id's request, as the role chosen."""
    kernel = notebook(emulator)
    front = picker(kernel)
    front.all_pages()
    world = ("serverless-livy", "serverless-spark-connect", "serverless-stopped-auto-start",
             "serverless-release-too-old")  # other modules may add applications of their own
    rows = [label for label in front.labels("cluster")
            if " — serverless, " in label and label.split(" (")[0] in world]
    assert rows == [
        f"serverless-livy ({applications['serverless-livy']}) — serverless, STARTED, Livy",
        f"serverless-spark-connect ({applications['serverless-spark-connect']}) — serverless, "
        "STARTED, Spark Connect sessions",
        f"serverless-stopped-auto-start ({applications['serverless-stopped-auto-start']}) — "
        "serverless, STOPPED, Spark Connect sessions and Livy",
        f"serverless-release-too-old ({applications['serverless-release-too-old']}) — "
        "serverless, STARTED, no notebook engine"]

    front.choose("cluster", "serverless-release-too-old")
    readiness = front.state("readiness")["value"]
    assert readiness.startswith("<b>not ready</b>") and "emr-6.14.0 or later" in readiness
    assert front.labels("engine") == ["Automatic (Livy)"]
    front.choose("cluster", "serverless-spark-connect")
    assert front.labels("engine") == ["Automatic (Spark Connect)",
                                      "Spark Connect (spark in this kernel)"]

    front.choose("cluster", "serverless-livy")
    assert "(EMR Serverless, emr-7.1.0) can run runtime-role sessions (Livy)." in front.state(
        "readiness")["value"]
    assert front.selected("role") == f"Sales ({SALES})"
    front.choose("role", "Marketing")
    front.update("name", value="on-serverless")
    front.click("connect")
    text = front.output_text()
    application = applications["serverless-livy"]
    assert f"connected as {MARKETING} on {application} (session on-serverless" in text, \
        front.output()
    assert "Traceback" not in text
    assert MARKETING_ARN in kernel.ok("%%spark -s on-serverless\n" + WHO_AM_I)
    kernel.ok("%disconnect --all")

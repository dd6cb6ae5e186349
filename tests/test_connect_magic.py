"""``%connect`` in a real kernel with real sparkmagic, against `local up --spark fake`.

The kernel is this venv's ipykernel (and sparkmagic's PySpark wrapper kernel),
driven through jupyter_client as a notebook front end drives it; what is open
on the cluster is read from ``local status --json``, never from our objects.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from demo_world import (
    ACCOUNT,
    ELECTRONICS,
    MARKETING,
    MARKETING_ARN,
    PARTNER_ACCESS,
    PARTNER_ARN,
    SALES,
    SALES_ARN,
    WHO_AM_I,
)
from emulators import RunningEmulator, start_changed_world
from helpers import RunCli
from kernels import NotebookKernel, connected

PYSPARK_KERNEL = "sparkmagic.kernels.pysparkkernel.pysparkkernel"


def test_load_ext_makes_no_network_call_and_imports_neither_boto3_nor_sparkmagic(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator, AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID=None,
                      AWS_SECRET_ACCESS_KEY=None, AWS_DEFAULT_REGION=None, AWS_REGION=None,
                      AWS_CA_BUNDLE=None)
    kernel.ok("%load_ext jupyter_emr_roles")
    loaded = kernel.ok("import sys\nprint(sorted(m for m in ('boto3', 'botocore', 'sparkmagic') "
                       "if m in sys.modules))")
    assert loaded.strip() == "[]", loaded
    help_text = kernel.ok("print(get_ipython().find_line_magic('connect').__doc__)")
    assert "--cluster-id" in help_text and "--ca-bundle" in help_text, help_text
    assert "`%%spark -s NAME`" in help_text and "for %%sql cells" in help_text, \
        "the help names the cell magics, not sparkmagic's line magic %spark"


def test_default_role_then_a_second_role_each_with_its_own_identity(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator, JUPYTERHUB_USER="alice")
    kernel.ok("%load_ext jupyter_emr_roles")
    first = kernel.ok(f'%%connect --cluster-id {cluster}\n{{"driverMemory": "1g"}}')
    sales_id = connected(first, SALES, cluster, "sales-data-access")
    assert SALES_ARN in kernel.ok("%%spark\n" + WHO_AM_I), "the only session is the default one"

    second = kernel.ok(f"%connect --cluster-id {cluster} --role-arn {MARKETING} --name mkt")
    marketing_id = connected(second, MARKETING, cluster, "mkt")
    sales = kernel.ok("%%spark -s sales-data-access\n" + WHO_AM_I)
    marketing = kernel.ok("%%spark -s mkt\n" + WHO_AM_I)
    assert SALES_ARN in sales and MARKETING_ARN not in sales
    assert MARKETING_ARN in marketing and SALES_ARN not in marketing
    assert {(s["id"], s["role_arn"]) for s in emulator.open_sessions(cluster)} >= {
        (sales_id, SALES), (marketing_id, MARKETING)}

    table = kernel.ok("%emr_sessions")
    assert "sales-data-access" in table and "mkt" in table and "idle" in table
    assert "<td>alice</td>" in table, "the person, as JupyterHub names them"
    info = kernel.ok("%spark info")
    assert "Name: mkt" in info and "Name: sales-data-access" in info

    kernel.ok("%disconnect --all")
    left = {s["id"] for s in emulator.open_sessions(cluster)}
    assert not left & {sales_id, marketing_id}
    assert "Name: mkt" not in kernel.ok("%spark info")


def test_reconnecting_a_name_leaves_one_session_and_shutdown_leaves_none(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    before = {s["id"] for s in emulator.open_sessions(cluster)}
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    ids = [connected(kernel.ok(f"%connect --cluster-id {cluster} --name again"), SALES, cluster,
                     "again") for _ in range(10)]
    assert len(set(ids)) == 10
    mine = [s for s in emulator.open_sessions(cluster) if s["id"] not in before]
    assert [s["id"] for s in mine] == [ids[-1]]
    assert SALES_ARN in kernel.ok("%%spark -s again\n" + WHO_AM_I)
    kernel.shutdown(now=False)
    assert not [s for s in emulator.open_sessions(cluster) if s["id"] not in before]


def _error_cases(clusters: dict[str, str]) -> list[tuple[str, str]]:
    good = clusters["shared-analytics"]
    return [
        (f"%connect --cluster-id {clusters['no-runtime-roles']}", "does not have runtime roles"),
        (f"%connect --cluster-id {clusters['no-security-configuration']}",
         "has no security configuration"),
        (f"%connect --cluster-id {clusters['release-too-old']}", "emr-6.9.0 or later"),
        (f"%connect --cluster-id {clusters['multi-primary']}", "primary nodes"),
        (f"%connect --cluster-id {clusters['terminated']}", "RUNNING or WAITING"),
        (f"%connect --cluster-id {good} --role-arn {ELECTRONICS}", "ExecutionRoleArn"),
        ("%connect --cluster-id j-AAAAAAAAAAAAA", "is not valid"),
        ("%connect --cluster-id j-lower", "from the --cluster-id option is not valid"),
        (f"%connect --cluster-id {good} --role-arn arn:aws:iam::123:role/x",
         "from the --role-arn option is not valid"),
        (f"%%connect --cluster-id {good}\n{{not json", "is not valid JSON"),
        (f"%%connect --cluster-id {good}\n[1, 2]", "a JSON list"),
        (f"%connect --cluster-id {good} --name 'a b'", "from the --name option is not valid"),
        (f"%connect --cluster-id {clusters['livy-unreachable']}",
         "could not be reached at any of its names"),
        (f"%connect --cluster-id {clusters['livy-plain-http']}", "answered plain HTTP"),
        (f'%%connect --cluster-id {good} --name broken\n{{"driverMemory": "lots"}}',
         "Invalid driverMemory 'lots'"),
    ]


def test_every_error_is_one_paragraph_and_leaves_no_session(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    before = {(s.get("cluster_id"), s["id"]) for s in emulator.status()["sessions"]}
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    for cell, expected in _error_cases(clusters):
        result = kernel.run(cell)
        assert result.status == "error", (cell, result.output)
        assert "UsageError: " in result.output and expected in result.output, (cell, result.output)
        assert "Traceback" not in result.output, (cell, result.output)

    listed = kernel.run(f"%connect --cluster-id {clusters['shared-analytics']} "
                        f"--role-arn {ELECTRONICS}")
    assert "not listed for account 123456789012" in listed.output, "a warning, not a refusal"
    kernel.ok("%env AWS_SECRET_ACCESS_KEY=not-the-key")
    bad_key = kernel.run(f"%connect --cluster-id {clusters['shared-analytics']}")
    assert bad_key.status == "error" and "UsageError: " in bad_key.output, bad_key.output
    assert "Traceback" not in bad_key.output
    after = {(s.get("cluster_id"), s["id"]) for s in emulator.status()["sessions"]}
    assert after == before, "no Livy session was created by a failed %connect"


def test_livy_is_trusted_by_its_own_ca_and_never_by_aws_ca_bundle(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    """The kernel has AWS_CA_BUNDLE (the AWS endpoint's CA) but not Livy's: the system store
    does not verify Livy, and the paragraph says where Livy's CA goes."""
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator, JUPYTER_EMR_ROLES_CA_BUNDLE=None)
    kernel.ok("%load_ext jupyter_emr_roles")
    failed = kernel.run(f"%connect --cluster-id {cluster} --name tls")
    assert failed.status == "error" and "Traceback" not in failed.output, failed.output
    assert "the system's CA store" in failed.output and "--ca-bundle" in failed.output
    assert "not AWS_CA_BUNDLE" in failed.output, failed.output
    output = kernel.ok(f"%connect --cluster-id {cluster} --name tls --ca-bundle {emulator.livy_ca}")
    connected(output, SALES, cluster, "tls")
    assert SALES_ARN in kernel.ok("%%spark -s tls\n" + WHO_AM_I)
    insecure = kernel.ok(f"%connect --cluster-id {cluster} --name tls --no-verify")
    assert "WARNING: --no-verify" in insecure
    kernel.ok("%disconnect --all")


def test_the_roles_file_gives_the_accounts_livy_ca(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    """What a lifecycle script can write: the account's ca_bundle, so neither the notebook nor
    the Lab dialog needs a CA field."""
    roles_file = json.loads(Path(emulator.env["JUPYTER_EMR_ROLES_FILE"]).read_text())
    roles_file["accounts"][ACCOUNT]["ca_bundle"] = emulator.livy_ca
    path = tmp_path / "emr-roles.json"
    path.write_text(json.dumps(roles_file))
    kernel = notebook(emulator, JUPYTER_EMR_ROLES_CA_BUNDLE=None, JUPYTER_EMR_ROLES_FILE=str(path))
    kernel.ok("%load_ext jupyter_emr_roles")
    cluster = clusters["shared-analytics"]
    connected(kernel.ok(f"%connect --cluster-id {cluster} --name by-file"), SALES, cluster,
              "by-file")
    kernel.ok("%disconnect --all")


SECRETS_FILE = "secrets.json"
PEEK_LIVY_LOGINS = (
    "magics = get_ipython().magics_manager.registry['EmrRolesMagics']\n"
    "logins = [c.session._credentials.for_request() for c in magics.connections._by_name.values()]\n"
    "secrets = [[l.username, l.password] for l in logins]\n")
# The access role's session token sits in the boto3 client the credentials object calls.
PEEK_SESSION_TOKENS = (
    "emrs = [cell.cell_contents.emr for c in magics.connections._by_name.values()\n"
    "        for cell in c.session._credentials._fetch.__closure__\n"
    "        if hasattr(cell.cell_contents, 'emr')]\n"
    "tokens = [emr.client._request_signer._credentials.get_frozen_credentials().token\n"
    "          for emr in emrs]\n")


def peek_secrets(kernel: NotebookKernel, folder: Path, code: str) -> dict[str, Any]:
    """The test's own look at the kernel's secrets, written outside every folder the kernel
    uses; ``code`` leaves ``secrets`` (and maybe ``tokens``) defined."""
    peek = folder / SECRETS_FILE
    kernel.ok(f"import json\n{code}open({str(peek)!r}, 'w').write(json.dumps("
              "{'logins': secrets, 'tokens': globals().get('tokens', [])}))")
    return json.loads(peek.read_text())


def assert_no_secret_anywhere(kernel: NotebookKernel, outputs: list[str],
                              found: dict[str, Any]) -> None:
    """Not in a cell's output, nor in any file under the kernel's folders (its log, HOME,
    sparkmagic's config and log); Livy user names not in outputs or sparkmagic's log."""
    logins = found["logins"]
    secrets = [password for _, password in logins] + [
        base64.b64encode(f"{user}:{password}".encode()).decode() for user, password in logins]
    secrets += found["tokens"]
    assert all(secrets), found
    notebook_side = "\n".join(outputs)
    files = [p for p in kernel.folder.rglob("*") if p.is_file()]
    everything = notebook_side + "".join(p.read_text(errors="replace") for p in files)
    for secret in secrets:
        assert secret not in everything
    for user, _ in logins:
        assert user not in notebook_side and user not in kernel.sparkmagic_log.read_text()
    assert not re.search(r"(?i)authorization: basic|\"password\"\s*:", everything)


def test_no_secret_in_outputs_logs_config_or_home(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator)
    outputs = [kernel.ok(
        "import logging, sys\nhandler = logging.StreamHandler(sys.__stderr__)\n"
        "for name in ('jupyter_emr_roles', 'urllib3', 'requests'):\n"
        "    logging.getLogger(name).setLevel(logging.DEBUG)\n"
        "    logging.getLogger(name).addHandler(handler)")]
    outputs.append(kernel.ok("%load_ext jupyter_emr_roles"))
    outputs.append(kernel.ok(f"%connect --cluster-id {cluster}"))
    outputs.append(kernel.ok(f"%connect --cluster-id {cluster} --role-arn {MARKETING}"))
    outputs.append(kernel.ok("%%spark -s sales-data-access\n" + WHO_AM_I))
    outputs += [kernel.ok(cell) for cell in ("%emr_sessions", "%spark info", "%spark logs -s "
                                             "marketing-data-access")]
    found = peek_secrets(kernel, tmp_path, PEEK_LIVY_LOGINS)
    kernel.ok("%disconnect --all")
    kernel.shutdown(now=False)
    assert len(found["logins"]) == 2
    assert_no_secret_anywhere(kernel, outputs, found)


def test_access_role_session_token_stays_in_the_kernel(
        emulator: RunningEmulator, tmp_path: Path, notebook: Callable[..., NotebookKernel]) -> None:
    """Through an access role (the partner account's cluster) the kernel holds an STS session
    token as well; it must not leak either."""
    cluster = emulator.livy_cluster_ids()["partner-analytics"]
    kernel = notebook(emulator)
    outputs = [kernel.ok("%load_ext jupyter_emr_roles")]
    outputs.append(kernel.ok(f"%connect --cluster-id {cluster} --access-role-arn {PARTNER_ACCESS}"))
    outputs.append(kernel.ok("%%spark\n" + WHO_AM_I))
    outputs.append(kernel.ok("%emr_sessions"))
    found = peek_secrets(kernel, tmp_path, PEEK_LIVY_LOGINS + PEEK_SESSION_TOKENS)
    kernel.ok("%disconnect --all")
    kernel.shutdown(now=False)
    assert PARTNER_ARN in outputs[2]
    assert len(found["tokens"]) == 1
    assert_no_secret_anywhere(kernel, outputs, found)


def test_a_session_that_does_not_start_in_time_is_deleted(
        tmp_path: Path, notebook: Callable[..., NotebookKernel]) -> None:
    one_busy_cluster = {"clusters": [{"name": "busy", "session_start_seconds": 600}]}
    with start_changed_world(tmp_path / "busy", lambda world: world.update(one_busy_cluster),
                             "--spark", "fake") as busy:
        cluster = busy.client("emr").list_clusters()["Clusters"][0]["Id"]
        kernel = notebook(busy)
        kernel.ok("%load_ext jupyter_emr_roles")
        result = kernel.run(f"%connect --cluster-id {cluster} --timeout 2")
        assert result.status == "error" and "Traceback" not in result.output, result.output
        assert "still 'starting' after 2 s, so the session was deleted" in result.output, result.output
        assert "--timeout" in result.output and "cluster capacity" in result.output
        assert busy.open_sessions(cluster) == []


def test_pyspark_wrapper_kernel_runs_plain_cells_in_the_connected_session(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator, module=PYSPARK_KERNEL)
    kernel.ok("%load_ext jupyter_emr_roles")
    connected(kernel.ok(f"%connect --cluster-id {cluster} --role-arn {MARKETING}"), MARKETING,
              cluster, "marketing-data-access")
    assert MARKETING_ARN in kernel.ok(WHO_AM_I)
    kernel.ok("%disconnect --all")


def test_connects_in_an_ipython_8_kernel_too(emulator: RunningEmulator, clusters: dict[str, str],
                                             notebook: Callable[..., NotebookKernel]) -> None:
    """The venv has IPython 9; scripts/test.sh puts IPython 8 beside it, first on the path."""
    ipython8 = Path(sys.prefix) / "ipython8"
    assert (ipython8 / "IPython").is_dir(), f"./scripts/test.sh puts IPython 8 in {ipython8}"
    kernel = notebook(emulator, PYTHONPATH=str(ipython8))
    assert kernel.ok("import IPython\nprint(IPython.__version__)").startswith("8."), "IPython 8"
    kernel.ok("%load_ext jupyter_emr_roles")
    cluster = clusters["shared-analytics"]
    connected(kernel.ok(f"%connect --cluster-id {cluster} --name eight --language sql"), SALES,
              cluster, "eight")
    assert "<td>sql</td>" in kernel.ok("%emr_sessions"), "a PySpark session for %%sql cells"
    assert SALES_ARN in kernel.ok("%%spark -s eight\n" + WHO_AM_I)
    bad = kernel.run("%connect --cluster-id j-lower")
    assert "UsageError: " in bad.output and "Traceback" not in bad.output, bad.output
    kernel.ok("%disconnect --all")


def status_names(kernel: NotebookKernel) -> list[str]:
    """The session names the Lab extension's status bar is given."""
    shown = kernel.ok("import jupyter_emr_roles\nprint(jupyter_emr_roles.connections_json())")
    return sorted(row["name"] for row in json.loads(shown.strip().splitlines()[-1]))


def test_every_view_agrees_with_livy_after_spark_delete_a_kill_and_cleanup(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    ids = {name: connected(kernel.ok(f"%connect --cluster-id {cluster} --name {name}"), SALES,
                           cluster, name) for name in ("one", "two", "three", "four")}
    kernel.ok("%spark delete -s one")
    assert status_names(kernel) == ["four", "three", "two"]
    emulator.delete_session(cluster, ids["two"], SALES)
    text = kernel.ok("%emr_sessions")  # asks Livy now (the status bar learns at a heartbeat)
    assert "three" in text and "two" not in text and "one" not in text
    assert status_names(kernel) == ["four", "three"]
    assert "UsageError" in kernel.run("%disconnect two").output
    kernel.ok("%disconnect three")
    kernel.ok("%spark cleanup")
    assert status_names(kernel) == []
    assert "No sessions" in kernel.ok("%emr_sessions")
    assert not {s["id"] for s in emulator.open_sessions(cluster)} & set(ids.values())


def test_emr_sessions_has_a_text_form_for_terminals(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    kernel.ok(f"%connect --cluster-id {cluster} --name texty")
    shown = kernel.ok("%emr_sessions")
    plain = kernel.ok("from IPython.lib.pretty import pretty\n"
                      "sessions = get_ipython().run_line_magic('emr_sessions', '')\n"
                      "print(pretty(sessions))")
    rows = kernel.ok("print([row['name'] for row in sessions._repr_json_()], sessions.rows[0]"
                     "['state'])")
    assert "<table>" in shown
    assert "texty" in plain and "idle" in plain and "<" not in plain, plain
    assert "IPython.core.display" not in plain and "reporting.Sessions" not in plain
    assert rows.strip() == "['texty'] idle", rows
    kernel.ok("%disconnect --all")


def test_a_repeat_connect_asks_for_one_login_and_follows_a_changed_default_role(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel], cli: RunCli) -> None:
    """A repeat connect asks for its Livy login while the cluster is described, on the word of
    the connect before: still one login per connect, and where that word no longer holds (the
    roles file now names another default role) the session runs as the role the connect found."""
    roles_file = tmp_path / "roles.json"
    shutil.copy(emulator.env["JUPYTER_EMR_ROLES_FILE"], roles_file)
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator, JUPYTER_EMR_ROLES_FILE=str(roles_file))
    kernel.ok("%load_ext jupyter_emr_roles")
    connect = f"%connect --cluster-id {cluster} --name repeat"
    connected(kernel.ok(connect), SALES, cluster, "repeat")
    for _ in range(2):
        before = emulator.calls("GetClusterSessionCredentials")
        connected(kernel.ok(connect), SALES, cluster, "repeat")
        assert emulator.calls("GetClusterSessionCredentials") - before == 1
    assert SALES_ARN in kernel.ok("%%spark -s repeat\n" + WHO_AM_I)
    assert cli("roles", "add", MARKETING, "--default",
               env={"JUPYTER_EMR_ROLES_FILE": str(roles_file)}).returncode == 0
    connected(kernel.ok(connect), MARKETING, cluster, "repeat")
    assert MARKETING_ARN in kernel.ok("%%spark -s repeat\n" + WHO_AM_I)
    kernel.ok("%disconnect --all")


def test_without_real_spark_scala_is_one_paragraph_and_r_is_passed_through_as_sparkr(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """The fake engine says Scala needs real Spark instead of pretending; an R connect asks
    Livy for a `sparkr` session, which a real cluster serves and this emulator refuses,
    saying why."""
    cluster = clusters["shared-analytics"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    before = emulator.open_sessions(cluster)

    scala = kernel.run(f"%connect --cluster-id {cluster} --language scala --name fake-scala")
    r = kernel.run(f"%connect --cluster-id {cluster} --language r --name r")
    connect = kernel.run(f"%connect --cluster-id {cluster} --language scala "
                         "--engine spark-connect")

    assert "Scala needs real Spark" in scala.output and "--spark real" in scala.output
    assert "Session kind 'sparkr' is not supported by the local engine: SparkR's R package" \
        in r.output, r.output
    assert "A Spark Connect session is Python: --language scala needs --engine livy." \
        in connect.output, connect.output
    for cell in (scala, r, connect):
        assert "Traceback" not in cell.output and "\n\n" not in cell.output.strip(), cell.output
    assert emulator.open_sessions(cluster) == before, "nothing left running"

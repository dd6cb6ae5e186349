"""One declaration per option (jupyter_emr_roles/options.py), seen from the faces built of it.

The Lab extension's committed options.json is the table's export; every cell the extension's
cell builder (cell.ts, run under jest) can write is accepted by %connect's own argument
parser; the options a face gained by the table (%emr_doctor's --ca-bundle, %emr_grants'
--access-role-arn) reach AWS as the command line's do; and --idle-timeout, added as one row
and the Spark Connect engine's use of it, reaches StartSession.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from demo_world import PARTNER_ACCESS, SALES
from emulators import RunningEmulator
from helpers import LABEXTENSION, REPO, RunCli, jlpm
from kernels import NotebookKernel, connect_session_id

from jupyter_emr_roles import options
from jupyter_emr_roles.magics.connect import EmrRolesMagics

OPTIONS_JSON = LABEXTENSION / "src" / "options.json"


def test_the_committed_options_json_is_the_tables_export() -> None:
    written = subprocess.run([sys.executable, "-m", "jupyter_emr_roles.options"], cwd=REPO,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert OPTIONS_JSON.read_text(encoding="utf-8") == written, (
        "labextension/src/options.json is stale: run `python -m jupyter_emr_roles.options > "
        "labextension/src/options.json`, then rebuild the extension")
    assert json.loads(written)["flags"] == {
        option.field: option.flag for option, _ in options.on_face(options.LAB_CELL)}


def _cells_the_lab_writes(tmp_path: Path) -> list[str]:
    """Every cell cell.ts's builder writes, from its jest spec."""
    out = tmp_path / "cells.json"
    result = jlpm("jest", "src/__tests__/cellFlags.spec.ts", EMR_ROLES_CELLS_OUT=str(out))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_cell_the_lab_extension_writes_is_accepted_by_connect(tmp_path: Path) -> None:
    cells = _cells_the_lab_writes(tmp_path)
    assert len(cells) == 192, ("4 languages x 3 engines x name x access role x settings x "
                               "cluster or EMR Serverless application")
    for cell in cells:
        line, _, body = cell.partition("\n")
        magic, _, argstring = line.partition(" ")
        assert magic == ("%%connect" if body else "%connect"), cell
        args = EmrRolesMagics.connect.parser.parse_argstring(argstring)
        request = options.request(args, options.CONNECT, json.loads(body) if body else None)
        assert request.where in ("j-1K48XXXXXXHCB", "00fabcdefghij012"), cell
        assert request.role_arn == SALES and request.serverless == ("--application-id" in line)
        assert f"--language {request.language}" in line
        assert (f"--engine {request.engine}" in line) == (request.engine != "auto"), cell
        assert request.name in (None, "sales_eu-2") and request.access_role_arn in (
            None, "arn:aws:iam::210987654321:role/emr-notebook-access")
        assert request.config == ({"conf": {"spark.sql.shuffle.partitions": "64"}} if body
                                  else {})


def test_emr_grants_takes_the_access_role_as_the_command_line_does(
        cli: RunCli, emulator: RunningEmulator,
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    assert "s3://demo-data/sales/*" in kernel.ok(f"%emr_grants --role-arn {SALES}")
    # Through the partner's access role, which may not read this account's grants: AWS's
    # refusal names who asked.
    through = kernel.refused(f"%emr_grants --role-arn {SALES} --access-role-arn {PARTNER_ACCESS}")
    assert "assumed-role/emr-notebook-access/" in through, through
    by_cli = cli("grants", "--role-arn", SALES, "--access-role-arn", PARTNER_ACCESS,
                 env=emulator.env)
    assert by_cli.stderr.strip() == "Error: " + through.split("UsageError: ", 1)[1].strip()


def test_emr_doctor_takes_a_ca_bundle_as_the_command_line_does(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    # The CA of the emulator's AWS endpoint, which signed no Livy certificate.
    args = f"--cluster-id {cluster} --ca-bundle {emulator.env['AWS_CA_BUNDLE']}"
    by_cli = cli("doctor", *args.split(), "--json", env=emulator.env)
    livy = next(c for c in json.loads(by_cli.stdout)["checks"] if c["id"] == "livy")
    assert livy["status"] == "fail", livy
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    shown = kernel.ok("import json\nreport = get_ipython().run_line_magic('emr_doctor', "
                      f"{args!r})\nprint(json.dumps(report.as_json()['checks']))")
    by_magic = next(c for c in json.loads(shown.strip().splitlines()[-1]) if c["id"] == "livy")
    assert by_magic == livy
    trusted = kernel.ok("print(get_ipython().run_line_magic('emr_doctor', "
                        f"'--cluster-id {cluster}').ready)")
    assert trusted.strip().endswith("True"), "the kernel's own CA bundle verifies Livy"


def test_idle_timeout_reaches_start_session(emulator: RunningEmulator, clusters: dict[str, str],
                                            notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["connect-analytics"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    before = emulator.open_connect_sessions(cluster)
    for bad, said in (("0", "positive number of whole minutes"), ("1.5", "invalid int value")):
        refused = kernel.refused(f"%connect --cluster-id {cluster} --engine spark-connect "
                                 f"--idle-timeout {bad}")
        assert said in refused and "--idle-timeout" in refused, refused
    assert emulator.open_connect_sessions(cluster) == before, "a refused option opens nothing"

    output = kernel.ok(f"%connect --cluster-id {cluster} --engine spark-connect "
                       "--idle-timeout 7")
    sid = connect_session_id(output, SALES, cluster, "spark")
    session = emulator.client("emr").get_session(ClusterId=cluster, SessionId=sid)["Session"]
    assert session["SessionIdleTimeoutInMinutes"] == 7
    kernel.ok("%disconnect spark")
    assert emulator.connect_sessions_end(cluster)

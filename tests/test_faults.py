"""A notebook on a flaky network and a busy account: `local up --faults` throttles EMR's calls,
drops Livy's answers and answers 5xx in Livy's place (before it acts, or after), and every
connect still opens one session, every cell runs exactly once or fails in one paragraph.

What ran is read from the session's side (a file each cell appends to), never from our
objects; what is open on the cluster from the emulator's status.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from demo_world import SALES
from emulators import RunningEmulator, start_emulator
from helpers import RunCli
from kernels import NotebookKernel, connected

CELLS = 30
CONNECTS = 4
FAULTS = "throttle=0.2,livy-5xx=0.1,livy-drop-answer=0.05,seed=20261207"


@pytest.fixture(scope="module")
def flaky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(tmp_path_factory.mktemp("flaky-livy"), "--spark", "fake",
                        "--faults", FAULTS) as running:
        yield running


def test_thirty_cells_under_5xx_and_dropped_answers_each_run_exactly_once(
        flaky: RunningEmulator, tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = flaky.livy_cluster_ids()["shared-analytics"]
    lines = tmp_path / "lines.txt"
    kernel = notebook(flaky)
    kernel.ok("%load_ext jupyter_emr_roles")
    connects = [kernel.ok(f"%connect --cluster-id {cluster} --name s{n}")
                for n in range(CONNECTS)]
    ids = [connected(output, SALES, cluster, f"s{n}") for n, output in enumerate(connects)]
    assert sorted(s["id"] for s in flaky.open_sessions(cluster)) == sorted(ids), \
        "one connect, one session, lost answers or not"
    throttled = flaky.status()["aws_faults_injected"].get("throttle", 0)
    assert throttled, "the connects met AWS's throttling"
    assert "AWS is throttling this account (ThrottlingException on " in "".join(connects)
    for n in range(1, CONNECTS):
        kernel.ok(f"%disconnect s{n}")

    outcomes = [kernel.run(f"%%spark -s s0\nwith open({str(lines)!r}, 'a') as out:\n"
                           f"    out.write('cell {n}\\n')\nprint('wrote', {n})")
                for n in range(CELLS)]

    written = lines.read_text().splitlines()
    assert len(written) == len(set(written)), f"a cell ran twice: {written}"
    for n, outcome in enumerate(outcomes):
        if f"wrote {n}" in outcome.output:
            assert f"cell {n}" in written
        else:
            paragraph = outcome.output.strip()
            assert "Traceback" not in paragraph and "\n\n" not in paragraph, paragraph
    succeeded = sum(f"wrote {n}" in o.output for n, o in enumerate(outcomes))
    assert succeeded >= CELLS - 2, [o.output for o in outcomes]
    kernel.ok("%disconnect --all")
    assert flaky.open_sessions(cluster) == []
    injected = flaky.status()["livy_faults_injected"]
    assert {"502", "503", "504", "drop"} <= set(injected), injected


def test_serverless_livy_connects_under_dropped_answers_open_one_session_each(
        flaky: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    """EMR Serverless's Livy endpoint takes Livy's session name too: a POST whose answer was
    lost is found by it, not sent again."""
    application = flaky.application_ids()["serverless-livy"]
    before = {s["id"] for s in flaky.open_serverless_sessions(application)}
    kernel = notebook(flaky)
    kernel.ok("%load_ext jupyter_emr_roles")
    ids = [connected(kernel.ok(f"%connect --application-id {application} --name sl{n}"), SALES,
                     application, f"sl{n}") for n in range(CONNECTS)]
    opened = {s["id"] for s in flaky.open_serverless_sessions(application)} - before
    assert sorted(opened) == sorted(ids), "one connect, one session, lost answers or not"
    kernel.ok("%disconnect --all")


def test_the_faults_are_refused_when_malformed_and_listed_by_help(cli: RunCli) -> None:
    proc = cli("local", "up", "--faults", "livy-5xx=1.5")
    assert proc.returncode != 0 and "share of requests from 0 to 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    unknown = cli("local", "up", "--faults", "livy-teapot=0.1")
    assert re.search(r"'livy-teapot' is not a fault the emulator injects; it knows .*"
                     r"livy-drop-answer", unknown.stderr), unknown.stderr
    livy_throttle = cli("local", "up", "--faults", "livy-throttle=0.1")
    assert "'livy-throttle' is not a fault" in livy_throttle.stderr, "Livy does not throttle"
    assert "--faults" in cli("local", "up", "--help").stdout


def _fault(emulator: RunningEmulator, cli: RunCli, *args: str) -> None:
    done = cli("local", "fault", *args, "--state-dir", str(emulator.state_dir))
    assert done.returncode == 0, done.stderr


def test_a_livy_restart_costs_the_next_cell_one_paragraph_with_the_line_to_reconnect(
        flaky: RunningEmulator, cli: RunCli, notebook: Callable[..., NotebookKernel]) -> None:
    cluster = flaky.livy_cluster_ids()["shared-analytics"]
    kernel = notebook(flaky)
    kernel.ok("%load_ext jupyter_emr_roles")
    session_id = connected(kernel.ok(f"%connect --cluster-id {cluster} --name restarted"), SALES,
                           cluster, "restarted")

    _fault(flaky, cli, "restart-livy", "--cluster-id", cluster)
    after = kernel.run("%%spark -s restarted\nprint(1)").output
    listed = kernel.ok("%emr_sessions")

    again = f"`%connect --cluster-id {cluster} --role-arn {SALES} --name restarted`"
    assert (f"Livy session {session_id} is gone: Livy no longer knows it (Livy restarted, or an "
            f"administrator deleted it). {again} opens a new one.") in after, after
    assert "Traceback" not in after and "restarted" not in listed, "no zombie in the registry"
    assert "Livy id" in kernel.ok(again.strip("`"))
    kernel.ok("%disconnect --all")


def test_a_terminated_cluster_is_named_with_emrs_reason_at_once(
        flaky: RunningEmulator, cli: RunCli, notebook: Callable[..., NotebookKernel]) -> None:
    cluster = flaky.livy_cluster_ids()["livy-port-on-instance-group"]
    kernel = notebook(flaky)
    kernel.ok("%load_ext jupyter_emr_roles")
    connected(kernel.ok(f"%connect --cluster-id {cluster} --name doomed"), SALES, cluster,
              "doomed")

    _fault(flaky, cli, "terminate-cluster", "--cluster-id", cluster)
    cell = kernel.run("%%spark -s doomed\nprint(1)", timeout=30).output
    listed = kernel.ok("%emr_sessions")

    reason = f"cluster {cluster} is TERMINATED (USER_REQUEST: Terminated by user request)"
    assert f"The Livy session is gone: {reason}." in cell, cell
    assert "ended" in listed and "Terminated by user request" in listed, listed
    assert flaky.client("emr").describe_cluster(ClusterId=cluster)["Cluster"]["Status"][
        "StateChangeReason"]["Code"] == "USER_REQUEST"

"""Which engine `%connect` opens, per cluster, in a real kernel against the emulator: the one
that works there. A session cluster without Livy takes Spark Connect; a cluster with Lake
Formation fine-grained access control, where EMR runs no Spark Connect sessions, takes Livy,
and asking it for Spark Connect is one paragraph that says why, before anything starts."""

from __future__ import annotations

from collections.abc import Callable

from emulators import RunningEmulator
from kernels import NotebookKernel


def test_auto_picks_the_engine_that_works_on_the_cluster(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    try:
        governed = kernel.ok(f"%connect --cluster-id {clusters['lake-formation-sessions']}")
        assert "Livy id" in governed, governed
        sessions = kernel.ok(f"%connect --cluster-id {clusters['spark-sessions']} --name sc")
        assert "Spark Connect id" in sessions, sessions
        assert kernel.ok("print(sc.range(6).count() * 7)").strip() == "42"
    finally:
        kernel.ok("%disconnect --all")


def test_spark_connect_where_emr_runs_no_sessions_is_one_paragraph(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["lake-formation-sessions"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    output = kernel.refused(f"%connect --cluster-id {cluster} --engine spark-connect")
    assert f"Cluster {cluster} cannot run a Spark Connect session" in output
    assert "Lake Formation fine-grained access control" in output
    assert "--engine livy" in output
    assert emulator.client("emr").list_sessions(ClusterId=cluster)["Sessions"] == []


def test_livy_on_a_cluster_without_it_is_one_paragraph_naming_spark_connect(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["spark-sessions"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    for options in ("--engine livy", "--language scala"):
        output = kernel.refused(f"%connect --cluster-id {cluster} {options}")
        assert f"Cluster {cluster} has no Livy (EMR lists its applications as Spark)" \
            in output, output
        assert "--engine spark-connect" in output

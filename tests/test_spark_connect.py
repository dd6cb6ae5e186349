"""EMR's Spark Connect sessions through `%connect --engine spark-connect`, in a real kernel against
the strict emulator, whose sessions are real Spark Connect servers run as the runtime role.

What runs where is read from the emulator (ListSessions) and from inside the session (a UDF
asks STS who it is), never from our own objects.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from demo_world import ELECTRONICS, MARKETING, MARKETING_ARN, SALES, SALES_ARN
from emulators import RunningEmulator
from kernels import NotebookKernel, connect_session_id

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)

# A UDF runs in the session's Python workers, with the session's credentials.
WHO = """
from pyspark.sql import functions as F
@F.udf("string")
def who(_):
    import boto3
    return boto3.client("sts").get_caller_identity()["Arn"]
print({name}.range(1).select(who("id")).first()[0])
"""


def refused_connect(emulator: RunningEmulator, notebook: Callable[..., NotebookKernel],
                    cell_text: str) -> str:
    """The output of a %connect cell in a new kernel that must fail as one paragraph."""
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    return kernel.refused(cell_text)


@pytest.fixture(scope="module")
def cluster(clusters: dict[str, str]) -> str:
    return clusters["connect-analytics"]


@pytest.fixture(autouse=True)
def no_session_left(emulator: RunningEmulator, cluster: str) -> Iterator[None]:
    """A test that failed midway (its kernel killed, not shut down) leaves no session for the
    next one to find, nor does another module on the same emulator."""
    def end_all() -> None:
        emr = emulator.client("emr")
        for session in emulator.open_connect_sessions(cluster):
            emr.terminate_session(ClusterId=cluster, SessionId=session["Id"])
        emulator.connect_sessions_end(cluster)

    end_all()
    yield
    end_all()


def test_spark_is_a_pyspark_session_in_the_kernel_running_as_the_role_and_two_do_not_cross_talk(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")

    output = kernel.ok(f"%connect --cluster-id {cluster} --role-arn {SALES} "
                       "--engine spark-connect")

    sid = connect_session_id(output, SALES, cluster, "spark")
    assert [s["Id"] for s in emulator.open_connect_sessions(cluster)] == [sid]
    assert "PySpark client is" not in output  # the client's line is the session's
    assert "count=3" in kernel.ok("df = spark.createDataFrame([(1, 'EU'), (2, 'US'), (3, 'EU')], "
                                  "['id', 'region'])\nprint(f'count={df.count()}')")
    assert kernel.ok("print(type(df.toPandas()).__name__)").strip() == "DataFrame"
    assert kernel.ok(WHO.format(name="spark")).strip().startswith(SALES_ARN)

    kernel.ok(f"%connect --cluster-id {cluster} --role-arn {MARKETING} --engine spark-connect "
              "--name marketing")
    assert kernel.ok(WHO.format(name="marketing")).strip().startswith(MARKETING_ARN)
    kernel.ok("spark.createDataFrame([(1,)], ['x']).createOrReplaceTempView('mine')")
    assert "TABLE_OR_VIEW_NOT_FOUND" in kernel.run("marketing.table('mine').count()").output
    listed = kernel.ok("%emr_sessions")
    assert "Spark Connect" in listed and sid in listed and cluster in listed
    mode = "import os; print(os.environ.get('SPARK_CONNECT_MODE_ENABLED'))"
    kernel.ok("%disconnect spark")
    assert "NameError" in kernel.run("spark").output
    assert kernel.ok(mode).strip() == "1", "PySpark's Connect mode while a session is open"
    kernel.ok("%disconnect --all")
    assert emulator.connect_sessions_end(cluster)
    assert kernel.ok(mode).strip() == "None", "and as the kernel had it after the last one"


def test_a_role_the_user_may_not_use_is_refused_and_starts_nothing(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    output = refused_connect(emulator, notebook,
                             f"%connect --cluster-id {cluster} --role-arn {ELECTRONICS} "
                             "--engine spark-connect")

    assert "AWS denied StartSession" in output and "elasticmapreduce:StartSession" in output
    assert emulator.connect_sessions_end(cluster)


def test_a_cluster_without_sessions_is_one_paragraph_with_the_fix(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    output = refused_connect(emulator, notebook,
                             f"%connect --cluster-id {clusters['shared-analytics']} "
                             "--engine spark-connect")

    assert "Spark Connect sessions are not enabled" in output
    assert "--engine livy" in output


def test_auto_picks_spark_connect_where_sessions_are_enabled_and_livy_elsewhere(
        emulator: RunningEmulator, cluster: str, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")

    assert "Spark Connect id" in kernel.ok(f"%connect --cluster-id {cluster}")
    assert "Livy id" in kernel.ok(f"%connect --cluster-id {clusters['shared-analytics']} "
                                  "--name livy_one")
    kernel.ok("%disconnect --all")


def test_spark_properties_from_the_cell_body_reach_the_session(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")

    kernel.ok(f"%%connect --cluster-id {cluster} --engine spark-connect\n"
              '{"conf": {"spark.sql.shuffle.partitions": "7"}}')

    assert kernel.ok("print(spark.conf.get('spark.sql.shuffle.partitions'))").strip() == "7"
    livy_only = kernel.run(f"%%connect --cluster-id {cluster} --engine spark-connect --name other\n"
                           '{"driverMemory": "2g"}')
    assert livy_only.status == "error" and "driverMemory, which are Livy's" in livy_only.output
    kernel.ok("%disconnect --all")


def test_a_session_emr_fails_says_why(emulator: RunningEmulator, cluster: str,
                                      notebook: Callable[..., NotebookKernel]) -> None:
    output = refused_connect(emulator, notebook,
                             f"%%connect --cluster-id {cluster} --engine spark-connect\n"
                             '{"conf": {"spark.driver.memory": "plenty"}}')

    assert re.search(r"The Spark Connect session is-\w+ on \S+ is FAILED: The session failed to "
                     r"start", output), output
    assert emulator.connect_sessions_end(cluster)


def test_a_session_still_starting_at_the_timeout_is_terminated(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    output = refused_connect(emulator, notebook,
                             f"%connect --cluster-id {cluster} --engine spark-connect --timeout 1")

    assert "was still STARTING after" in output and "longer --timeout" in output
    assert emulator.connect_sessions_end(cluster)


def test_a_kernel_without_a_spark_connect_client_gets_the_pip_line(
        emulator: RunningEmulator, cluster: str, tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    """A kernel whose `pyspark` cannot be imported, as in an environment without it."""
    shadow = tmp_path / "no-pyspark" / "pyspark"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named pyspark')\n")
    kernel = notebook(emulator, PYTHONPATH=str(shadow.parent))
    kernel.ok("%load_ext jupyter_emr_roles")

    output = kernel.refused(f"%connect --cluster-id {cluster} --engine spark-connect")

    assert "pip install 'jupyter-emr-roles[connect]'" in output
    assert "Spark Connect id" not in kernel.ok(f"%connect --cluster-id {cluster} --name auto_pick")
    assert emulator.open_connect_sessions(cluster) == []
    kernel.ok("%disconnect --all")


def test_a_pyspark_3_5_kernel_is_told_emrs_sessions_need_pyspark_4(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    """PySpark 3.5's client is EMR Serverless's line (tests/test_spark_connect_session_life.py),
    not EMR 8's: a cluster's session is refused with the pip line, and auto picks Livy."""
    kernel = notebook(emulator, PYTHONPATH=str(Path(sys.prefix) / "pyspark-3.5"))
    kernel.ok("%load_ext jupyter_emr_roles")

    output = kernel.refused(f"%connect --cluster-id {cluster} --engine spark-connect")

    assert re.search(r"This kernel's PySpark is 3\.5\.\d+; EMR's Spark Connect sessions need a "
                     r"PySpark 4\.0 or newer client: `pip install 'jupyter-emr-roles\[connect\]'`",
                     output), output
    assert "Livy id" in kernel.ok(f"%connect --cluster-id {cluster} --name auto_pick")
    assert emulator.open_connect_sessions(cluster) == []
    kernel.ok("%disconnect --all")


def test_disconnect_all_does_not_wait_on_an_endpoint_emr_already_ended(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    """An admin's TerminateSession ends one session behind the kernel's back: the next cell
    says so once, with EMR's reason and the line that opens a new one; closing both terminates
    the other and lets go of the dead one's client without retrying it."""
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    kernel.ok(f"%connect --cluster-id {cluster} --role-arn {SALES} --name alive")
    dead = connect_session_id(kernel.ok(f"%connect --cluster-id {cluster} --role-arn {SALES} "
                                "--name ended"), SALES, cluster, "ended")
    emulator.client("emr").terminate_session(ClusterId=cluster, SessionId=dead)
    assert emulator.connect_session_ends(cluster, dead)
    told = ""
    deadline = time.monotonic() + 15
    while "ended:" not in told and time.monotonic() < deadline:
        told = kernel.ok("print('next cell')")  # the heartbeat sees it within a second
        time.sleep(0.3)
    again = kernel.ok("print('next cell')")

    output = kernel.ok("%disconnect --all", timeout=60)

    assert (f"Spark Connect session ended ({dead} on {cluster}) ended: Terminated by the user "
            f"(TerminateSession). `%connect --cluster-id {cluster} --role-arn {SALES} --name "
            "ended` opens a new one.") in told, told
    assert told.count("ended:") == 1 and "ended:" not in again, ("said once", told, again)
    assert "disconnected alive" in output and "disconnected ended" in output
    assert emulator.connect_sessions_end(cluster)


def test_a_kernel_shutdown_with_a_dead_endpoint_among_three_terminates_every_session(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    """Jupyter gives a kernel a few seconds to exit before it signals it: every live session
    must be TERMINATED by then, whatever the dead one's client does."""
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    ids = [connect_session_id(kernel.ok(f"%connect --cluster-id {cluster} --role-arn {SALES} "
                                f"--name {name}"), SALES, cluster, name)
           for name in ("first", "second", "third")]
    emulator.client("emr").terminate_session(ClusterId=cluster, SessionId=ids[1])
    assert emulator.connect_session_ends(cluster, ids[1])

    kernel.shutdown(now=False)

    assert emulator.connect_sessions_end(cluster)
    states = {s["Id"]: s["State"] for s in emulator.client("emr").list_sessions(
        ClusterId=cluster)["Sessions"]}
    assert {states[sid] for sid in ids} == {"TERMINATED"}, states


def test_a_client_of_another_spark_line_is_warned_once(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    """A kernel with EMR 8's client line (pyspark-client 4.0, the `connect` extra's pin)
    against the emulator's Spark of another line: one line says so, and the session works."""
    client_4_0 = Path(sys.prefix) / "pyspark-client-4.0"
    assert (client_4_0 / "pyspark").is_dir(), "scripts/test.sh installs pyspark-client 4.0 there"
    kernel = notebook(emulator, PYTHONPATH=str(client_4_0))
    kernel.ok("%load_ext jupyter_emr_roles")
    from pyspark.version import __version__ as server_version  # the emulator's Spark

    assert not server_version.startswith("4.0."), "the emulator's Spark must be of another line"
    output = kernel.ok(f"%connect --cluster-id {cluster} --engine spark-connect")
    again = kernel.ok("print(spark.range(5).count())")

    warning = re.compile(r"This kernel's PySpark client is 4\.0\.\d+ and the session's Spark is "
                         + re.escape(server_version))
    assert len(warning.findall(output)) == 1, output
    assert again.strip() == "5"
    kernel.ok("%disconnect --all")


def test_a_botocore_without_the_session_calls_says_which_version_is_needed(
        emulator: RunningEmulator, cluster: str, notebook: Callable[..., NotebookKernel]) -> None:
    """botocore 1.43.22, the last without StartSession: its DescribeCluster drops SessionEnabled,
    so --engine spark-connect must say what the kernel lacks rather than blame the cluster."""
    old_botocore = Path(sys.prefix) / "botocore-1.43.22"
    assert (old_botocore / "botocore").is_dir(), "scripts/test.sh installs botocore 1.43.22 there"
    kernel = notebook(emulator, PYTHONPATH=str(old_botocore))
    kernel.ok("%load_ext jupyter_emr_roles")
    assert kernel.ok("import botocore; print(botocore.__version__)").strip() == "1.43.22"

    output = kernel.refused(f"%connect --cluster-id {cluster} --engine spark-connect")

    assert "botocore 1.43.22 has no EMR session calls" in output, output
    assert "'botocore>=1.43.23'" in output and "AttributeError" not in output
    assert emulator.open_connect_sessions(cluster) == []

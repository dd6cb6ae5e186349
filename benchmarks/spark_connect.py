"""Figures for EMR's Spark Connect sessions, each next to a baseline measured in the same run
(strict emulator, whose sessions are real Spark Connect servers).

    python benchmarks/spark_connect.py [--repeat 5] [--actions 20]

- ``%connect --engine spark-connect`` wall time against the same calls made bare: StartSession,
  GetSession every 20 ms until the session is live (the least any client waits),
  GetSessionEndpoint, a PySpark Connect session on the endpoint sending the proxy's two
  metadata entries (a fixed token and the session ID), a first ``spark.range(1).count()`` and
  ``spark.version`` (which %connect reads to compare the client's line) (goal: at most 1.15x). Both sides use a warm client and end the
  previous session outside the timing; they are timed alternately.
- A first DataFrame action, ``spark.range(1000).count()``, in the kernel through the Spark
  Connect session against the same action as a ``%%spark`` cell through a Livy session
  (``--spark real``, as the fake engine has no DataFrames), both on one emulator.

Prints a Markdown table; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
from measure import alternately, timed

CLI = [sys.executable, "-m", "jupyter_emr_roles"]
SALES = "arn:aws:iam::123456789012:role/sales-data-access"
LIVE = ("STARTED", "IDLE", "BUSY")


@contextlib.contextmanager
def emulator(spark: str) -> Iterator[dict[str, str]]:
    """A strict emulator; this process takes its variables (and none of this machine's CA
    variables), as a notebook kernel would."""
    state_dir = tempfile.mkdtemp(prefix="bench-spark-connect-")
    out = subprocess.run([*CLI, "local", "up", "--detach", "--state-dir", state_dir, "--strict",
                          "--spark", spark], check=True, capture_output=True, text=True).stdout
    env = dict(shlex.split(line)[1].split("=", 1) for line in out.splitlines())
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)
    os.environ.update(env)
    os.environ["SPARKMAGIC_CONF_DIR"] = tempfile.mkdtemp(prefix="bench-sparkmagic-")
    try:
        yield env
    finally:
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], capture_output=True)


class Bare:
    """The calls ``%connect --engine spark-connect`` makes, with nothing around them."""

    def __init__(self, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self.emr = boto3.Session().client("emr")
        self.opened: list[tuple[Any, str]] = []

    def connect(self) -> None:
        import grpc
        from pyspark.sql.connect.client import ChannelBuilder
        from pyspark.sql.connect.session import SparkSession

        session_id = self.emr.start_session(ClusterId=self.cluster_id, ExecutionRoleArn=SALES,
                                            Name="bare")["Id"]
        while self.emr.get_session(ClusterId=self.cluster_id, SessionId=session_id)[
                "Session"]["State"] not in LIVE:
            time.sleep(0.02)
        endpoint = self.emr.get_session_endpoint(ClusterId=self.cluster_id, SessionId=session_id)
        url = urlsplit(endpoint["Endpoint"])
        target = f"{url.hostname}:{url.port or 443}"
        with open(os.environ["AWS_CA_BUNDLE"], "rb") as stream:
            roots = stream.read()
        proxy_auth = (("x-aws-proxy-auth", endpoint["AuthToken"]), ("authorization", session_id))

        class Builder(ChannelBuilder):  # a fixed token: the least a client can do
            host = url.hostname

            def toChannel(self) -> Any:
                return self._secure_channel(target, grpc.composite_channel_credentials(
                    grpc.ssl_channel_credentials(roots), grpc.metadata_call_credentials(
                        lambda _context, callback: callback(proxy_auth, None))))

        spark = SparkSession.builder.channelBuilder(Builder()).create()
        spark.range(1).count()
        spark.version  # noqa: B018  %connect reads it too, to compare the client's line
        self.opened.append((spark, session_id))

    def clean_up(self) -> None:
        while self.opened:
            spark, session_id = self.opened.pop()
            spark.stop()
            self.emr.terminate_session(ClusterId=self.cluster_id, SessionId=session_id)


def quiet(function: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            function()
    return run


def connect_figures(repeat: int) -> tuple[float, float]:
    """(ours, bare) median seconds of one Spark Connect connect."""
    with emulator("fake"):
        from IPython.core.interactiveshell import InteractiveShell

        cluster_id = cluster_named("connect-analytics")
        shell = InteractiveShell.instance()
        quiet(lambda: shell.run_line_magic("load_ext", "jupyter_emr_roles"))()
        connect = quiet(lambda: shell.run_line_magic(
            "connect", f"--cluster-id {cluster_id} --role-arn {SALES} --engine spark-connect "
                       "--name bench"))
        disconnect = quiet(lambda: shell.run_line_magic("disconnect", "--all"))
        connect()  # warm-up: imports boto3 and PySpark's client
        bare = Bare(cluster_id)
        return alternately(connect, disconnect, bare.connect, bare.clean_up, repeat)


def action_figures(actions: int) -> tuple[float, float]:
    """(Spark Connect, Livy) median seconds of ``spark.range(1000).count()``, real Spark."""
    with emulator("real"):
        from IPython.core.interactiveshell import InteractiveShell

        cluster_id = cluster_named("connect-analytics")
        shell = InteractiveShell.instance()
        quiet(lambda: shell.run_line_magic("load_ext", "jupyter_emr_roles"))()
        quiet(lambda: shell.run_line_magic(
            "connect", f"--cluster-id {cluster_id} --engine spark-connect --name sc"))()
        quiet(lambda: shell.run_line_magic(
            "connect", f"--cluster-id {cluster_id} --engine livy --name livy"))()
        through_connect = quiet(lambda: shell.run_cell("sc.range(1000).count()"))
        through_livy = quiet(lambda: shell.run_cell_magic("spark", "-s livy",
                                                          "spark.range(1000).count()"))
        through_connect(), through_livy()  # the first action of each warms its JVM
        connect_samples, livy_samples = [], []
        for _ in range(actions):
            connect_samples.append(timed(through_connect, 1))
            livy_samples.append(timed(through_livy, 1))
        quiet(lambda: shell.run_line_magic("disconnect", "--all"))()
        return statistics.median(connect_samples), statistics.median(livy_samples)


def cluster_named(name: str) -> str:
    emr = boto3.Session().client("emr")
    return {c["Name"]: c["Id"] for c in emr.list_clusters()["Clusters"]}[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--actions", type=int, default=20)
    options = parser.parse_args()
    ours, bare = connect_figures(options.repeat)
    rows = [("`%connect --engine spark-connect` vs bare calls", ours, bare, "≤ 1.15")]
    via_connect, via_livy = action_figures(options.actions)
    rows.append(("`spark.range(1000).count()`: Spark Connect vs a `%%spark` cell on Livy "
                 "(real Spark)", via_connect, via_livy, "report"))
    print("| figure | ours | baseline | ratio | goal |")
    print("|---|---|---|---|---|")
    for label, value, baseline, goal in rows:
        print(f"| {label} | {value * 1000:.1f} ms | {baseline * 1000:.1f} ms | "
              f"{value / baseline:.2f}x | {goal} |")


if __name__ == "__main__":
    main()

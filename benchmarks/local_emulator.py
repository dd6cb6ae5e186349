"""Figures for the local emulator, each next to a baseline measured in the same run.

    python benchmarks/local_emulator.py [--repeat 3] [--statements 50]

- Livy session start with the real engine (POST /sessions until idle) against
  a bare ``SparkSession.builder.getOrCreate()`` in a fresh Python process:
  the gateway's overhead over Spark's own start (goal: at most 1.5x).
- A Scala session's start (kind ``spark``: the same, plus Spark's Scala
  interpreter in the session's JVM) against a PySpark session's, timed in turn
  on the same emulator, and a Scala statement's round trip against a Python one.
- A fake-engine statement round trip (POST a statement, poll until available)
  against a bare authenticated GET of the same gateway: the cost of running
  code in a worker over the cost of one HTTPS request.
- `local up --detach` until it serves, against starting a bare Python
  interpreter that imports moto's server: seeding and TLS over imports.
- Memory of one real session's process tree (worker + JVM).

Prints a Markdown table; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
import psutil
import requests
from measure import alternately, timed

CLI = [sys.executable, "-m", "jupyter_emr_roles"]
SALES = "arn:aws:iam::123456789012:role/sales-data-access"




class Emulator:
    def __init__(self, *args: str) -> None:
        self.state_dir = tempfile.mkdtemp(prefix="bench-emulator-")
        started = time.perf_counter()
        out = subprocess.run([*CLI, "local", "up", "--detach", "--state-dir", self.state_dir, *args],
                             check=True, capture_output=True, text=True).stdout
        self.start_seconds = time.perf_counter() - started
        self.env = dict(shlex.split(line)[1].split("=", 1) for line in out.splitlines())
        emr = boto3.client("emr", endpoint_url=self.env["AWS_ENDPOINT_URL"],
                           region_name=self.env["AWS_DEFAULT_REGION"],
                           aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"])
        cluster_id = {c["Name"]: c["Id"] for c in emr.list_clusters()["Clusters"]}["shared-analytics"]
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        port = next(c["Properties"]["livy.server.port"] for c in cluster["Configurations"]
                    if c["Classification"] == "livy-conf")
        self.url = f"https://{cluster['MasterPublicDnsName']}:{port}"
        login = emr.get_cluster_session_credentials(
            ClusterId=cluster_id, ExecutionRoleArn=SALES)["Credentials"]["UsernamePassword"]
        self.auth = (login["Username"], login["Password"])
        self.http = requests.Session()

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, self.url + path, auth=self.auth,
                                     verify=self.env["JUPYTER_EMR_ROLES_CA_BUNDLE"], timeout=300, **kwargs)
        response.raise_for_status()
        return response.json()

    def start_session(self, kind: str = "pyspark") -> dict:
        session = self.call("POST", "/sessions", json={"kind": kind})
        while session["state"] in ("not_started", "starting"):
            time.sleep(0.05)
            session = self.call("GET", f"/sessions/{session['id']}")
        assert session["state"] == "idle", session
        return session

    def run(self, session_id: int, code: str) -> dict:
        statement = self.call("POST", f"/sessions/{session_id}/statements", json={"code": code})
        assert statement["state"] != "error", statement
        while statement["state"] not in ("available", "error", "cancelled"):
            time.sleep(0.005)
            statement = self.call("GET", f"/sessions/{session_id}/statements/{statement['id']}")
        return statement

    def down(self) -> None:
        subprocess.run([*CLI, "local", "down", "--state-dir", self.state_dir], check=True,
                       capture_output=True)


def bare_spark_start() -> None:
    subprocess.run([sys.executable, "-c",
                    "from pyspark.sql import SparkSession; "
                    "SparkSession.builder.master('local[1]').config('spark.ui.enabled', 'false')"
                    ".getOrCreate().stop()"], check=True, capture_output=True)


def worker_tree_rss(session_owner_pid: int) -> int:
    """RSS of the newest child process tree of the emulator (the session's worker and its JVM)."""
    emulator = psutil.Process(session_owner_pid)
    workers = sorted(emulator.children(), key=lambda p: p.create_time())
    worker = workers[-1]
    return sum(p.memory_info().rss for p in [worker, *worker.children(recursive=True)])


def scala_rows(real: Emulator, repeat: int, statements: int) -> list[tuple[str, float, str, float]]:
    """A Scala session's start and statement next to a PySpark session's, in turn."""
    opened: list[dict] = []

    def start(kind: str) -> None:
        opened.append(real.start_session(kind))

    def close() -> None:
        while opened:
            real.call("DELETE", f"/sessions/{opened.pop()['id']}")

    scala, python = alternately(lambda: start("spark"), close, lambda: start("pyspark"), close,
                                repeat)
    sessions = {kind: real.start_session(kind)["id"] for kind in ("spark", "pyspark")}
    scala_statement, python_statement = alternately(
        lambda: real.run(sessions["spark"], "1 + 1"), lambda: None,
        lambda: real.run(sessions["pyspark"], "1 + 1"), lambda: None, statements)
    for session_id in sessions.values():
        real.call("DELETE", f"/sessions/{session_id}")
    return [("real-engine Scala session start", scala, "PySpark session start", python),
            ("Scala statement `1 + 1`", scala_statement, "Python statement `1 + 1`",
             python_statement)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--statements", type=int, default=50)
    args = parser.parse_args()
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    rows = []

    import_moto = timed(lambda: subprocess.run(
        [sys.executable, "-c", "import moto.server"], check=True), args.repeat)
    fake = Emulator("--spark", "fake")
    rows.append(("`local up --detach` (fake engine)", fake.start_seconds,
                 "python -c 'import moto.server'", import_moto))
    try:
        session = fake.start_session()
        fake.run(session["id"], "1+1")
        get_once = timed(lambda: fake.call("GET", "/sessions"), args.statements)
        round_trip = timed(lambda: fake.run(session["id"], "1+1"), args.statements)
        rows.append(("fake-engine statement round trip", round_trip,
                     "authenticated GET /sessions", get_once))
    finally:
        fake.down()

    bare = timed(bare_spark_start, args.repeat)
    real = Emulator("--spark", "real")
    try:
        starts = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            session = real.start_session()
            starts.append(time.perf_counter() - started)
            pid = json.loads(subprocess.run(
                [*CLI, "local", "status", "--json", "--state-dir", real.state_dir],
                check=True, capture_output=True, text=True).stdout)["pid"]
            rss = worker_tree_rss(pid)
            real.call("DELETE", f"/sessions/{session['id']}")
        rows.append(("real-engine Livy session start", statistics.median(starts),
                     "bare SparkSession getOrCreate, fresh process", bare))
        rows += scala_rows(real, args.repeat, args.statements)
    finally:
        real.down()

    print("| measured | seconds | baseline | seconds | ratio |")
    print("|---|---:|---|---:|---:|")
    for name, value, base_name, base in rows:
        print(f"| {name} | {value:.3f} | {base_name} | {base:.3f} | {value / base:.2f}x |")
    print(f"\nMemory of one real session (worker + JVM): {rss / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()

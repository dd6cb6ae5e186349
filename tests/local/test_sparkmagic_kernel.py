"""Real sparkmagic in a real IPython kernel, driven like a notebook, against `local up`.

Each test starts the venv's ``ipykernel_launcher`` through jupyter_client, with
its own HOME, IPython and Jupyter folders and sparkmagic configuration, and
runs cells as a notebook front end would: ``%load_ext sparkmagic.magics``,
``%spark add ... -t Basic_Access``, ``%%spark`` cells. The Livy user name and
password come from the emulated GetClusterSessionCredentials, and the Livy
URL follows the real rule (DescribeCluster's MasterPublicDnsName and the
livy-conf ``livy.server.port``, over HTTPS).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from emulators import RunningEmulator, start_emulator
from kernels import NotebookKernel, kernel_env

ACCOUNT = "123456789012"
SALES = f"arn:aws:iam::{ACCOUNT}:role/sales-data-access"
MARKETING = f"arn:aws:iam::{ACCOUNT}:role/marketing-data-access"
SALES_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/sales-data-access/"
MARKETING_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/marketing-data-access/"
CLUSTER = "shared-analytics"

WHO_AM_I = 'import boto3\nprint(boto3.client("sts").get_caller_identity()["Arn"])'


def read_cell(key: str) -> str:
    return ('import boto3\n'
            f'body = boto3.client("s3").get_object(Bucket="demo-data", Key="{key}")["Body"]\n'
            'print(body.read().decode().splitlines()[0])')


@pytest.fixture
def notebook(tmp_path: Path) -> Iterator[Callable[..., NotebookKernel]]:
    """``notebook(emulator, trust_emulator_ca=True)``: a fresh kernel, shut down after the test."""
    kernels: list[NotebookKernel] = []

    def start(emulator: RunningEmulator, trust_emulator_ca: bool = True) -> NotebookKernel:
        folder = tmp_path / f"kernel-{len(kernels)}"
        kernel = NotebookKernel(folder, kernel_env(folder, emulator, trust_emulator_ca))
        kernels.append(kernel)
        return kernel

    with contextlib.ExitStack() as shutdowns:  # every kernel is shut down even if one fails to
        yield start
        for kernel in kernels:
            shutdowns.callback(kernel.shutdown)


# ----- the AWS side: Livy credentials and URL, as a user's code finds them


@dataclass(frozen=True)
class LivyLogin:
    cluster_id: str
    url: str
    username: str
    password: str
    expires_at: datetime
    ca_bundle: str

    def add(self, session: str, password: str | None = None) -> str:
        """The ``%spark add`` line. ``-p=`` and not ``-p PASSWORD``: a password may start with
        '-', which argparse would take for an option ("expected one argument")."""
        return (f"%spark add -s {session} -l python -u {self.url} -t Basic_Access "
                f"-a {self.username} -p={password or self.password}")

    def sessions(self) -> list[dict[str, Any]]:
        """GET /sessions with these credentials and the emulator's CA only."""
        http = requests.Session()
        http.trust_env = False
        response = http.get(self.url + "/sessions", auth=(self.username, self.password),
                            verify=self.ca_bundle, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["sessions"]

    def session_ids(self) -> set[int]:
        return {session["id"] for session in self.sessions()}


def livy_login(emulator: RunningEmulator, role_arn: str) -> LivyLogin:
    emr = emulator.client("emr")
    clusters = {c["Name"]: c["Id"] for page in emr.get_paginator("list_clusters").paginate()
                for c in page["Clusters"]}
    url = emulator.livy_url(clusters[CLUSTER])
    answer = emr.get_cluster_session_credentials(ClusterId=clusters[CLUSTER],
                                                 ExecutionRoleArn=role_arn)
    login = answer["Credentials"]["UsernamePassword"]
    emulator.propagated(url, login["Username"], login["Password"])
    return LivyLogin(clusters[CLUSTER], url, login["Username"], login["Password"],
                     answer["ExpiresAt"], emulator.livy_ca)


def status_sessions(emulator: RunningEmulator) -> list[dict[str, Any]]:
    proc = emulator.cli("status", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["sessions"]


# ----- the tests


def test_a_notebook_runs_spark_cells_as_the_runtime_role_and_deletes_its_session(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    login = livy_login(emulator, SALES)
    before = login.session_ids()
    kernel = notebook(emulator)
    kernel.ok("%load_ext sparkmagic.magics")
    added = kernel.ok(login.add("sales"))
    assert "Starting Spark application" in added and "SparkSession available as 'spark'" in added
    [session_id] = login.session_ids() - before

    assert SALES_ARN in kernel.ok("%%spark\n" + WHO_AM_I)
    kernel.ok("%%spark\nregion_totals = {'EU': 162.6}")
    assert "162.6" in kernel.ok("%%spark -s sales\nprint(region_totals['EU'])"), \
        "the second cell runs in the same Livy session as the first"
    rows = [r for r in status_sessions(emulator)
            if r.get("cluster_id") == login.cluster_id and r["id"] == session_id]
    assert [(r["state"], r["role_arn"]) for r in rows] == [("idle", SALES)]

    assert f"Name: sales\tSession id: {session_id}\t" in kernel.ok("%spark info")
    kernel.ok("%spark delete -s sales")
    assert session_id not in login.session_ids()
    assert all(r["state"] in ("dead", "killed") for r in status_sessions(emulator)
               if r.get("cluster_id") == login.cluster_id and r["id"] == session_id)
    info = kernel.ok("%spark info")
    assert "Name: sales" not in info


def test_two_runtime_roles_side_by_side_in_one_kernel(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    sales, marketing = livy_login(emulator, SALES), livy_login(emulator, MARKETING)
    before = {"sales": sales.session_ids(), "marketing": marketing.session_ids()}
    kernel = notebook(emulator)
    kernel.ok("%load_ext sparkmagic.magics")
    kernel.ok(sales.add("sales"))
    kernel.ok(marketing.add("marketing"))
    [sales_id] = sales.session_ids() - before["sales"]
    [marketing_id] = marketing.session_ids() - before["marketing"]
    assert marketing_id not in sales.session_ids(), "each role sees only its own sessions"

    sales_arn = kernel.ok("%%spark -s sales\n" + WHO_AM_I)
    marketing_arn = kernel.ok("%%spark -s marketing\n" + WHO_AM_I)
    assert SALES_ARN in sales_arn and MARKETING_ARN not in sales_arn
    assert MARKETING_ARN in marketing_arn and SALES_ARN not in marketing_arn

    assert "order_id,region,amount" in kernel.ok(
        "%%spark -s sales\n" + read_cell("sales/orders.csv"))
    denied = kernel.run("%%spark -s sales\n" + read_cell("marketing/customers.csv"))
    assert "An error was encountered" in denied.output and "AccessDenied" in denied.output
    assert "customer_id" not in denied.output

    assert "customer_id,segment,opted_in" in kernel.ok(
        "%%spark -s marketing\n" + read_cell("marketing/customers.csv"))
    denied = kernel.run("%%spark -s marketing\n" + read_cell("sales/orders.csv"))
    assert "An error was encountered" in denied.output and "AccessDenied" in denied.output
    assert "order_id" not in denied.output

    assert SALES_ARN in kernel.ok("%%spark -s sales\n" + WHO_AM_I), \
        "an error in one session leaves it usable"
    kernel.ok("%spark cleanup")
    assert sales_id not in sales.session_ids() and marketing_id not in marketing.session_ids()


def test_sparkmagic_needs_the_emulators_ca_to_reach_livy_over_https(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    login = livy_login(emulator, SALES)
    before = login.session_ids()

    untrusting = notebook(emulator, trust_emulator_ca=False)
    untrusting.ok("%load_ext sparkmagic.magics")
    failed = untrusting.run(login.add("sales"))
    # sparkmagic shows a generic message for a failed request and logs the cause.
    assert "An error was encountered" in failed.output, failed.output
    assert "Error sending http request" in failed.output, failed.output
    assert "Starting Spark application" not in failed.output
    log = untrusting.sparkmagic_log.read_text()
    assert "SSLError" in log and "CERTIFICATE_VERIFY_FAILED" in log, log
    assert login.session_ids() == before

    trusting = notebook(emulator)
    trusting.ok("%load_ext sparkmagic.magics")
    assert "SparkSession available as 'spark'" in trusting.ok(login.add("sales"))
    assert SALES_ARN in trusting.ok("%%spark\n" + WHO_AM_I)
    trusting.ok("%spark cleanup")


def test_a_wrong_password_gets_a_401_in_the_notebook(
        emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    login = livy_login(emulator, SALES)
    wrong = ("y" if login.password.startswith("x") else "x") + login.password[1:]
    kernel = notebook(emulator)
    kernel.ok("%load_ext sparkmagic.magics")
    failed = kernel.run(login.add("sales", password=wrong))
    assert "An error was encountered" in failed.output, failed.output
    assert "Invalid status code '401'" in failed.output, failed.output
    assert "unknown user name or wrong password" in failed.output
    assert login.password not in failed.output and wrong not in failed.output


@pytest.fixture
def short_lived_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """A second emulator whose Livy credentials live 5 seconds."""
    with start_emulator(tmp_path_factory.mktemp("short-credentials"), "--spark", "fake",
                        "--credential-ttl", "5") as running:
        yield running


def test_expired_livy_credentials_get_a_401_in_the_notebook(
        short_lived_emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    login = livy_login(short_lived_emulator, SALES)
    kernel = notebook(short_lived_emulator)
    kernel.ok("%load_ext sparkmagic.magics")
    deadline = time.monotonic() + 15
    while datetime.now(UTC) <= login.expires_at:
        assert time.monotonic() < deadline, f"credentials still not expired: {login.expires_at}"
        time.sleep(0.2)
    time.sleep(0.5)
    failed = kernel.run(login.add("sales"))
    assert "An error was encountered" in failed.output, failed.output
    assert "Invalid status code '401'" in failed.output, failed.output
    assert "expired" in failed.output

    fresh = livy_login(short_lived_emulator, SALES)  # what a user does next: get new ones
    assert "SparkSession available as 'spark'" in kernel.ok(fresh.add("sales"))
    assert SALES_ARN in kernel.ok("%%spark\n" + WHO_AM_I)


needs_spark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None
    or (shutil.which("java") is None and not os.environ.get("JAVA_HOME")),
    reason="the real engine needs pyspark installed and Java 17 (java on PATH or JAVA_HOME)")


@pytest.fixture
def spark_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """A third emulator with the default engine: PySpark in local mode."""
    with start_emulator(tmp_path_factory.mktemp("real-spark"), "--spark", "real") as running:
        yield running


@needs_spark
def test_real_pyspark_session_from_a_notebook(
        spark_emulator: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    login = livy_login(spark_emulator, SALES)
    kernel = notebook(spark_emulator)
    kernel.ok("%load_ext sparkmagic.magics")
    assert "SparkSession available as 'spark'" in kernel.ok(login.add("sales"), timeout=150)
    counted = kernel.ok("%%spark\nspark.range(5).count()")
    assert counted.strip().splitlines()[-1] == "5", counted
    driver = kernel.ok('%%spark\nimport boto3\nboto3.client("sts").get_caller_identity()["Arn"]')
    assert SALES_ARN in driver, driver
    kernel.ok("%spark cleanup")

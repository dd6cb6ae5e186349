"""A notebook open longer than its logins live: Livy logins (GetClusterSessionCredentials) and
Spark Connect tokens (GetSessionEndpoint) of 20 s, cells every few seconds for 90 s, in one
kernel with a session of each engine, against one emulator; and a token whose renewal AWS
refuses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from demo_world import SALES_ARN, WHO_AM_I
from emulators import RunningEmulator, start_emulator
from kernels import NotebookKernel

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)

LIFETIME = 20


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """Logins and tokens that live 20 s; started from an environment where PySpark is in Spark
    Connect mode, as a notebook's is after a Spark Connect connect (its sessions' own Spark
    must not be)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
        running = start_emulator(tmp_path_factory.mktemp("short-lived"), "--spark", "fake",
                                 "--credential-ttl", str(LIFETIME),
                                 "--session-token-ttl", str(LIFETIME))
    with running:
        yield running


def test_both_engines_renew_their_logins_without_a_failed_cell(
        short_lived: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    clusters = short_lived.cluster_ids()
    kernel = notebook(short_lived)
    kernel.ok("%load_ext jupyter_emr_roles")
    before = short_lived.status()["calls"]
    kernel.ok(f"%connect --cluster-id {clusters['shared-analytics']} --engine livy")
    kernel.ok(f"%connect --cluster-id {clusters['connect-analytics']} --engine spark-connect")
    kernel.ok("df = spark.range(10)")

    started, failures, cells = time.monotonic(), [], 0
    while time.monotonic() - started < 90:
        for code, expected in (("%%spark\n" + WHO_AM_I, SALES_ARN), ("print(df.count())", "10")):
            cell = kernel.run(code)
            if cell.status != "ok" or expected not in cell.output:
                failures.append(cell.output)
        cells += 2
        time.sleep(3)
    runtime = time.monotonic() - started

    assert failures == [], failures[0]
    calls = short_lived.status()["calls"]
    logins = calls["GetClusterSessionCredentials"] - before.get("GetClusterSessionCredentials", 0)
    tokens = calls["GetSessionEndpoint"] - before.get("GetSessionEndpoint", 0)
    # Each renewed at 3/4 of its 20 s life: about runtime / 15 after the first, not per cell.
    assert 2 <= logins <= runtime / 15 + 3, (logins, runtime, cells)
    assert runtime // LIFETIME <= tokens <= runtime / 15 + 3, (tokens, runtime, cells)
    kernel.ok("%disconnect --all")


def test_a_token_that_cannot_be_renewed_is_one_paragraph_once_it_expires(
        short_lived: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    """An admin takes elasticmapreduce:GetSessionEndpoint away mid-notebook: cells go on with
    the token held until it expires, then say why in the words of AWS's refusal."""
    cluster = short_lived.cluster_ids()["connect-analytics"]
    kernel = notebook(short_lived)
    kernel.ok("%load_ext jupyter_emr_roles")
    kernel.ok(f"%connect --cluster-id {cluster} --engine spark-connect")
    admin = short_lived.env_of("platform-admin")
    iam = short_lived.client("iam", aws_access_key_id=admin["AWS_ACCESS_KEY_ID"],
                             aws_secret_access_key=admin["AWS_SECRET_ACCESS_KEY"])
    iam.put_user_policy(UserName="demo-analyst", PolicyName="no-session-endpoint",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Deny", "Action": "elasticmapreduce:GetSessionEndpoint",
                            "Resource": "*"}]}))
    try:
        assert kernel.ok("print(spark.range(4).count())").strip() == "4"
        time.sleep(LIFETIME + 1)
        cell = kernel.run("spark.range(4).count()")
    finally:
        iam.delete_user_policy(UserName="demo-analyst", PolicyName="no-session-endpoint")
    assert cell.status == "error"
    assert "AWS denied GetSessionEndpoint" in cell.output, cell.output
    assert "elasticmapreduce:GetSessionEndpoint" in cell.output
    kernel.ok("%disconnect --all")

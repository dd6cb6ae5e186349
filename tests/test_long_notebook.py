"""A notebook open longer than its logins live: Livy logins (GetClusterSessionCredentials),
Spark Connect tokens (EMR's and EMR Serverless's GetSessionEndpoint) and the notebook's own
assumed-role keys that sign a Serverless Livy endpoint's requests, all of 20 s, cells every few
seconds for 90 s, with a session of each of the four engines, against one emulator; a token
whose renewal AWS refuses; and an application slower to start than the connect may wait."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from demo_world import SALES, SALES_ARN, WHO_AM_I
from emulators import RunningEmulator, start_emulator
from kernels import NotebookKernel

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)

LIFETIME = 20


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """Logins, tokens and assumed roles' keys that live 20 s, and EMR Serverless applications
    that take 30 s for each state change once the world is up; started from an environment
    where PySpark is in Spark Connect mode, as a notebook's is after a Spark Connect connect
    (its sessions' own Spark must not be)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
        running = start_emulator(tmp_path_factory.mktemp("short-lived"), "--spark", "fake",
                                 "--credential-ttl", str(LIFETIME),
                                 "--session-token-ttl", str(LIFETIME),
                                 "--access-role-ttl", str(LIFETIME),
                                 "--serverless-transition", "30")
    with running:
        yield running


def test_every_engine_renews_its_login_without_a_failed_cell(
        short_lived: RunningEmulator, tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    """One kernel with a Livy and a Spark Connect session on clusters and a Spark Connect
    session on an application; another, whose own keys come from an assumed role, with a
    session on an application's Livy endpoint, each request signed with keys botocore renews."""
    clusters, applications = short_lived.cluster_ids(), short_lived.application_ids()
    kernel = notebook(short_lived)
    kernel.ok("%load_ext jupyter_emr_roles")
    before = short_lived.status()["calls"]
    kernel.ok(f"%connect --cluster-id {clusters['shared-analytics']} --engine livy")
    kernel.ok(f"%connect --cluster-id {clusters['connect-analytics']} --engine spark-connect")
    kernel.ok(f"%connect --application-id {applications['serverless-spark-connect']} "
              "--engine spark-connect --name serverless")
    kernel.ok("df, sdf = spark.range(10), serverless.range(7)")
    signed = notebook(short_lived, **short_lived.assumed_caller(tmp_path / "aws"))
    signed.ok("%load_ext jupyter_emr_roles")
    signed.ok(f"%connect --application-id {applications['serverless-livy']} --role-arn {SALES} "
              "--name signed")
    expiries = [_expiries(kernel, signed)]

    started, failures, cells = time.monotonic(), [], 0
    while time.monotonic() - started < 90:
        for where, code, expected in (
                (kernel, "%%spark -s sales-data-access\n" + WHO_AM_I, SALES_ARN),
                (kernel, "print(df.count(), sdf.count())", "10 7"),
                (signed, "%%spark -s signed\n" + WHO_AM_I, SALES_ARN)):
            cell = where.run(code)
            if cell.status != "ok" or expected not in cell.output:
                failures.append(cell.output)
        cells += 3
        time.sleep(3)
    runtime = time.monotonic() - started

    assert failures == [], failures[0]
    renewed = zip(expiries[0], _expiries(kernel, signed), strict=True)
    assert all(first < last for first, last in renewed), (expiries, cells)
    calls = short_lived.status()["calls"]
    logins = calls["GetClusterSessionCredentials"] - before.get("GetClusterSessionCredentials", 0)
    tokens = calls["GetSessionEndpoint"] - before.get("GetSessionEndpoint", 0)
    # Each renewed at 3/4 of its 20 s life: about runtime / 15 after the first, not per cell.
    assert 2 <= logins <= runtime / 15 + 3, (logins, runtime, cells)
    assert runtime // LIFETIME <= tokens <= runtime / 15 + 3, (tokens, runtime, cells)
    kernel.ok("%disconnect --all")
    signed.ok("%disconnect --all")


def _expiries(*kernels: NotebookKernel) -> list[str]:
    """When each session's login runs out, as %emr_sessions' rows say, by session name."""
    read = "import json\nrows = %emr_sessions\nprint(json.dumps(sorted((r['name'], " \
           "r['credentials_expire']) for r in rows.rows)))"
    return [expiry for kernel in kernels for _, expiry in json.loads(kernel.ok(read))]


def test_an_application_slow_to_start_ends_the_connect_at_its_timeout(
        short_lived: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    application = short_lived.application_ids()["serverless-stopped-auto-start"]
    kernel = notebook(short_lived)
    kernel.ok("%load_ext jupyter_emr_roles")
    output = kernel.refused(f"%connect --application-id {application} --engine livy "
                            "--timeout 3")
    assert f"application {application} did not reach STARTED within" in output, output
    assert "--timeout" in output
    assert short_lived.admin("emr-serverless").get_application(
        applicationId=application)["application"]["state"] == "STARTING"


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

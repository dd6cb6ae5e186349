"""``%connect`` against what real clusters do that a kind emulator would hide, each made real by
the strict emulator: credentials that take seconds to propagate, a Livy port set only on the
primary instance group, Livy over plain HTTP, a cluster of another account reached through an
access role whose keys expire, a first statement that never finishes, a session EMR ties to the
login it started with, and every way an AWS call fails before EMR answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aws_failures import aws_failures
from demo_world import PARTNER_ARN, PARTNER_ROLE, SALES, SALES_ARN, WHO_AM_I
from emulators import RunningEmulator, start_changed_world, start_emulator
from kernels import NotebookKernel, connected

pytestmark = pytest.mark.long  # mostly waits: scheduled first (tests/conftest.py)


@pytest.fixture(scope="module")
def propagating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """EMR's 2 s of propagation (the strict default) instead of the suite's short one."""
    with start_emulator(tmp_path_factory.mktemp("propagating"), "--spark", "fake",
                        strict=("--strict",)) as running:
        yield running


def test_each_connect_waits_out_propagation_with_one_credentials_call(
        propagating: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    cluster = propagating.cluster_ids()["shared-analytics"]
    kernel = notebook(propagating)
    kernel.ok("%load_ext jupyter_emr_roles")
    for number in range(3):
        before = propagating.calls("GetClusterSessionCredentials")
        started = time.monotonic()
        connected(kernel.ok(f"%connect --cluster-id {cluster} --name p{number}"), SALES, cluster,
                  f"p{number}")
        assert time.monotonic() - started >= 2.0, "Livy refuses the login for 2 s"
        assert propagating.calls("GetClusterSessionCredentials") - before == 1
        assert SALES_ARN in kernel.ok(f"%%spark -s p{number}\n" + WHO_AM_I)
    kernel.ok("%disconnect --all")


def test_a_livy_port_set_only_on_the_primary_instance_group(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["livy-port-on-instance-group"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    connected(kernel.ok(f"%connect --cluster-id {cluster} --name group"), SALES, cluster, "group")
    assert SALES_ARN in kernel.ok("%%spark -s group\n" + WHO_AM_I)
    kernel.ok("%disconnect --all")


def test_plain_http_livy_only_with_the_flag_and_a_warning_at_every_connect(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["livy-plain-http"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    refused = kernel.run(f"%connect --cluster-id {cluster}")
    assert refused.status == "error" and "answered plain HTTP" in refused.output
    assert "--ca-bundle" not in refused.output and "Traceback" not in refused.output
    for _ in range(2):
        output = kernel.ok(f"%connect --cluster-id {cluster} --name plain --allow-insecure-http")
        assert "WARNING: Livy at http://localhost:" in output and "speaks plain HTTP" in output
        connected(output, SALES, cluster, "plain")
    kernel.ok("%disconnect --all")


@pytest.fixture(scope="module")
def short_access(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """Access-role keys of 15 s and Livy logins of 20 s: renewals go through the access role."""
    with start_emulator(tmp_path_factory.mktemp("short-access"), "--spark", "fake",
                        "--access-role-ttl", "15", "--credential-ttl", "20") as running:
        yield running


def test_a_cross_account_session_outlives_two_access_role_lifetimes(
        short_access: RunningEmulator, notebook: Callable[..., NotebookKernel]) -> None:
    """No --access-role-arn: the roles file names the partner account's access role."""
    cluster = short_access.livy_cluster_ids()["partner-analytics"]
    kernel = notebook(short_access)
    kernel.ok("%load_ext jupyter_emr_roles")
    connected(kernel.ok(f"%connect --cluster-id {cluster}"), PARTNER_ROLE, cluster,
              "partner-analytics-access")
    before = short_access.calls("GetClusterSessionCredentials")
    started = time.monotonic()
    while time.monotonic() - started < 40:
        assert PARTNER_ARN in kernel.ok("%%spark\n" + WHO_AM_I)
        time.sleep(3)
    assert short_access.calls("GetClusterSessionCredentials") - before >= 2, "Livy logins were renewed, as the access role"
    kernel.ok("%disconnect --all")


def test_the_timeout_covers_the_first_statement(
        tmp_path: Path, notebook: Callable[..., NotebookKernel]) -> None:
    one_slow_cluster = {"clusters": [{"name": "slow", "statement_seconds": 600}]}
    with start_changed_world(tmp_path / "slow", lambda world: world.update(one_slow_cluster),
                             "--spark", "fake") as slow:
        cluster = slow.cluster_ids()["slow"]
        kernel = notebook(slow)
        kernel.ok("%load_ext jupyter_emr_roles")
        started = time.monotonic()
        result = kernel.run(f"%connect --cluster-id {cluster} --timeout 3")
        assert time.monotonic() - started < 20
        assert result.status == "error" and "Traceback" not in result.output, result.output
        assert "statement `spark` did not finish within 3 s" in result.output
        assert slow.open_sessions(cluster) == []


def test_a_session_tied_to_its_first_login_says_so_once_instead_of_failing_cell_after_cell(
        tmp_path: Path, notebook: Callable[..., NotebookKernel]) -> None:
    tied = {"clusters": [{"name": "tied", "sessions_tied_to_login": True}]}
    with start_changed_world(tmp_path / "tied", lambda world: world.update(tied), "--spark",
                             "fake", "--credential-ttl", "20") as emulator:
        cluster = emulator.cluster_ids()["tied"]
        kernel = notebook(emulator)
        kernel.ok("%load_ext jupyter_emr_roles")
        kernel.ok(f"%connect --cluster-id {cluster} --name tied")
        started = time.monotonic()
        while time.monotonic() - started < 18:
            assert SALES_ARN in kernel.ok("%%spark -s tied\n" + WHO_AM_I), "the old login serves"
            time.sleep(2)
        time.sleep(max(0.0, 21 - (time.monotonic() - started)))
        calls = emulator.calls("GetClusterSessionCredentials")
        for _ in range(3):
            failed = kernel.run("%%spark -s tied\n" + WHO_AM_I)
            assert "Livy refuses the renewed login for session tied on" in failed.output
            assert "Run the connect cell again" in failed.output
            assert "Traceback" not in failed.output and SALES_ARN not in failed.output
        assert emulator.calls("GetClusterSessionCredentials") == calls, "no new login per failing cell"
        connected(kernel.ok(f"%connect --cluster-id {cluster} --name tied"), SALES, cluster, "tied")
        assert SALES_ARN in kernel.ok("%%spark -s tied\n" + WHO_AM_I)
        kernel.ok("%disconnect --all")


def test_every_aws_failure_is_one_paragraph_in_connect_and_the_picker(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    cluster = clusters["shared-analytics"]
    for _, settings, expected in aws_failures(emulator, tmp_path):
        kernel = notebook(emulator, **settings)
        kernel.ok("%load_ext jupyter_emr_roles")
        for cell in (f"%connect --cluster-id {cluster} --timeout 30", "%emr_picker"):
            result = kernel.run(cell)
            assert result.status == "error", (settings, cell, result.output)
            assert "UsageError: " in result.output and expected in result.output, result.output
            assert "Traceback" not in result.output, result.output
            message = result.output.split("UsageError: ", 1)[1].strip()
            assert "\n" not in message, message
        kernel.shutdown()


def test_an_explicit_role_connects_even_when_a_roles_file_is_broken(
        emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path,
        notebook: Callable[..., NotebookKernel]) -> None:
    broken = tmp_path / "emr-roles.json"
    broken.write_text('{"version": 1, "accounts": {"12": {}}}')
    kernel = notebook(emulator, JUPYTER_EMR_ROLES_FILE=str(broken))
    kernel.ok("%load_ext jupyter_emr_roles")
    cluster = clusters["shared-analytics"]
    without = kernel.run(f"%connect --cluster-id {cluster}")
    assert without.status == "error" and "emr-roles.json" in without.output
    output = kernel.ok(f"%connect --cluster-id {cluster} --role-arn {SALES} --name explicit")
    assert "WARNING: Your roles files cannot be read" in output and str(broken) in output
    connected(output, SALES, cluster, "explicit")
    kernel.ok("%disconnect --all")

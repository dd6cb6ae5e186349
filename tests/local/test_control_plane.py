"""The emulated EMR control plane, called with boto3 over HTTP as any AWS client calls EMR."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import botocore.exceptions
import pytest
import requests
from emulators import RunningEmulator, start_emulator

ACCOUNT = "123456789012"
SALES = f"arn:aws:iam::{ACCOUNT}:role/sales-data-access"
MARKETING = f"arn:aws:iam::{ACCOUNT}:role/marketing-data-access"
ELECTRONICS = f"arn:aws:iam::{ACCOUNT}:role/electronics-data-access"
UNTRUSTED = f"arn:aws:iam::{ACCOUNT}:role/not-trusted-by-clusters"


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_world_clusters_are_listed_with_their_states(emulator: RunningEmulator) -> None:
    emr = emulator.client("emr")
    active = {c["Name"]: c["Status"]["State"]
              for c in emr.list_clusters(ClusterStates=["RUNNING", "WAITING"])["Clusters"]}
    assert set(active) == {"shared-analytics", "connect-analytics", "spark-sessions",
                           "lake-formation-sessions", "no-runtime-roles",
                           "no-security-configuration", "release-too-old", "multi-primary",
                           "livy-unreachable", "livy-plain-http", "livy-port-on-instance-group",
                           "s3-access-grants", "emrfs-credentials-provider"}
    assert "terminated" in emulator.cluster_ids()
    assert "partner-analytics" not in emulator.cluster_ids(), "it is in the partner account"


def test_get_cluster_session_credentials_issues_short_lived_livy_credentials(
        emulator: RunningEmulator) -> None:
    emr = emulator.client("emr")
    cluster = emulator.cluster_ids()["shared-analytics"]
    before = datetime.now(timezone.utc)
    answer = emr.get_cluster_session_credentials(ClusterId=cluster, ExecutionRoleArn=SALES)
    login = answer["Credentials"]["UsernamePassword"]
    assert login["Username"] and len(login["Password"]) >= 32
    assert before + timedelta(seconds=3590) <= answer["ExpiresAt"] <= before + timedelta(seconds=3610)
    again = emr.get_cluster_session_credentials(ClusterId=cluster, ExecutionRoleArn=SALES)
    assert again["Credentials"]["UsernamePassword"] != login


@pytest.mark.parametrize(("cluster", "words"), [
    ("no-runtime-roles", "EnableApplicationScopedIAMRole"),
    ("no-security-configuration", "has no security configuration"),
    ("release-too-old", "emr-6.9.0 or later"),
    ("multi-primary", "3 primary nodes"),
    ("terminated", "state TERMINATED"),
])
def test_each_broken_cluster_is_refused_with_its_reason(
        emulator: RunningEmulator, cluster: str, words: str) -> None:
    emr = emulator.client("emr")
    code, message = error_of(emr.get_cluster_session_credentials,
                             ClusterId=emulator.cluster_ids()[cluster], ExecutionRoleArn=SALES)
    assert code == "InvalidRequestException"
    assert words in message


def test_unknown_cluster_and_malformed_role(emulator: RunningEmulator) -> None:
    emr = emulator.client("emr")
    code, message = error_of(emr.get_cluster_session_credentials, ClusterId="j-NOSUCHCLUSTER",
                             ExecutionRoleArn=SALES)
    assert (code, message) == ("InvalidRequestException", "Cluster id 'j-NOSUCHCLUSTER' is not valid.")
    code, _ = error_of(emr.get_cluster_session_credentials,
                       ClusterId=emulator.cluster_ids()["shared-analytics"],
                       ExecutionRoleArn="role/sales-data-access-without-arn")
    assert code == "ValidationException"


def test_caller_without_permission_for_the_role_is_denied(emulator: RunningEmulator) -> None:
    """The demo user's policy allows GCSC only with ExecutionRoleArn in its two roles."""
    emr = emulator.client("emr")
    code, message = error_of(emr.get_cluster_session_credentials,
                             ClusterId=emulator.cluster_ids()["shared-analytics"],
                             ExecutionRoleArn=ELECTRONICS)
    assert code == "AccessDeniedException"
    assert "user/demo-analyst" in message and "elasticmapreduce:ExecutionRoleArn" in message


def test_unknown_access_key_is_rejected(emulator: RunningEmulator) -> None:
    emr = emulator.client("emr", aws_access_key_id="AKIAIMADETHISUP00000",
                          aws_secret_access_key="x" * 40)
    code, _ = error_of(emr.get_cluster_session_credentials,
                       ClusterId=emulator.cluster_ids()["shared-analytics"],
                       ExecutionRoleArn=SALES)
    assert code == "UnrecognizedClientException"


def test_the_primary_node_has_two_names_and_the_certificate_names_the_private_one(
        emulator: RunningEmulator) -> None:
    """--strict: MasterPublicDnsName is an address Livy's certificate does not name; the
    private DNS name of ListInstances and livy-conf's port reach the gateway over verified TLS."""
    emr = emulator.client("emr")
    cluster_id = emulator.cluster_ids()["shared-analytics"]
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    (primary,) = emr.list_instances(ClusterId=cluster_id,
                                    InstanceGroupTypes=["MASTER"])["Instances"]
    assert (cluster["MasterPublicDnsName"], primary["PrivateDnsName"]) == ("127.0.0.1", "localhost")
    url = emulator.livy_url(cluster_id)
    response = requests.get(url + "/sessions", verify=emulator.livy_ca, timeout=10)
    assert response.status_code == 401  # reached, and it wants the GCSC credentials
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    public = url.replace("localhost", cluster["MasterPublicDnsName"])
    with pytest.raises(requests.exceptions.SSLError, match="127.0.0.1"):
        requests.get(public + "/sessions", verify=emulator.livy_ca, timeout=10)


def test_list_instance_fleets(emulator: RunningEmulator) -> None:
    emr = emulator.client("emr")
    fleets = emr.list_instance_fleets(ClusterId=emulator.cluster_ids()["shared-analytics"])
    assert {f["InstanceFleetType"] for f in fleets["InstanceFleets"]} == {"MASTER", "CORE"}


def _wait_for_step(emr, cluster: str, step: str, final: set[str]) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = emr.describe_step(ClusterId=cluster, StepId=step)["Step"]["Status"]["State"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in final:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"step stuck: {seen}")


def test_steps_keep_their_execution_role_and_move_through_states(emulator: RunningEmulator) -> None:
    emr = emulator.client("emr")
    cluster = emulator.cluster_ids()["shared-analytics"]
    [step] = emr.add_job_flow_steps(JobFlowId=cluster, ExecutionRoleArn=SALES, Steps=[{
        "Name": "orders", "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar",
                          "Args": ["bash", "-c", '"echo orders"']}}])["StepIds"]
    assert _wait_for_step(emr, cluster, step, {"COMPLETED", "FAILED"}) == [
        "PENDING", "RUNNING", "COMPLETED"]
    described = emr.describe_step(ClusterId=cluster, StepId=step)["Step"]
    assert described["ExecutionRoleArn"] == SALES
    listed = emr.list_steps(ClusterId=cluster, StepStates=["COMPLETED"])["Steps"]
    assert step in [s["Id"] for s in listed]

    [missing] = emr.add_job_flow_steps(JobFlowId=cluster, ExecutionRoleArn=SALES, Steps=[{
        "Name": "missing", "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar",
                          "Args": ["spark-submit", "s3://demo-data/sales/nope.py"]}}])["StepIds"]
    assert _wait_for_step(emr, cluster, missing, {"COMPLETED", "FAILED"})[-1] == "FAILED"
    details = emr.describe_step(ClusterId=cluster, StepId=missing)["Step"]["Status"]
    assert "nope.py does not exist" in details["FailureDetails"]["Message"]


def test_steps_refuse_a_role_on_a_cluster_without_runtime_roles(emulator: RunningEmulator) -> None:
    emr = emulator.client("emr")
    code, message = error_of(emr.add_job_flow_steps,
                             JobFlowId=emulator.cluster_ids()["no-security-configuration"],
                             ExecutionRoleArn=SALES, Steps=[{
                                 "Name": "x", "HadoopJarStep": {"Jar": "command-runner.jar"}}])
    assert code == "InvalidRequestException" and "no security configuration" in message


def test_a_role_that_does_not_trust_the_cluster_gets_a_login_and_a_missing_one_none(
        tmp_path) -> None:
    """Without IAM enforcement any key may ask, so EMR's own checks answer: a role that does not
    trust the cluster gets a login, as on AWS (its session fails when the cluster assumes the
    role: test_doctor), and a role that does not exist is refused at once."""
    with start_emulator(tmp_path / "open", "--spark", "fake", "--no-enforce-iam") as open_emulator:
        emr = open_emulator.client("emr", aws_access_key_id="anything", aws_secret_access_key="x")
        answer = emr.get_cluster_session_credentials(
            ClusterId=open_emulator.cluster_ids()["shared-analytics"], ExecutionRoleArn=UNTRUSTED)
        assert answer["Credentials"]["UsernamePassword"]["Password"]
        code, message = error_of(emr.get_cluster_session_credentials,
                                 ClusterId=open_emulator.cluster_ids()["shared-analytics"],
                                 ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/no-such-role")
        assert code == "InvalidRequestException" and "does not exist" in message


def test_the_demo_user_cannot_read_data_itself(emulator: RunningEmulator) -> None:
    """Data is reachable only through a runtime role; the caller's own keys get AccessDenied."""
    s3 = emulator.client("s3")
    code, _ = error_of(s3.get_object, Bucket="demo-data", Key="sales/orders.csv")
    assert code == "AccessDenied"


def test_status_and_down(emulator: RunningEmulator, tmp_path) -> None:
    report = json.loads(emulator.cli("status", "--json").stdout)
    assert {c["name"] for c in report["clusters"]} >= {"shared-analytics", "multi-primary"}
    assert SALES in report["roles"].values()
    text = emulator.cli("status").stdout
    assert "shared-analytics" in text and "Livy sessions:" in text
    other = start_emulator(tmp_path / "short-lived", "--spark", "fake", "--no-tls")
    pid = json.loads(other.cli("status", "--json").stdout)["pid"]
    down = other.cli("down")
    assert down.returncode == 0 and str(pid) in down.stdout
    gone = other.cli("status")
    assert gone.returncode == 1 and "No local emulator is running" in gone.stderr


def test_list_clusters_pages_through_a_thousand_clusters(tmp_path) -> None:
    with start_emulator(tmp_path / "big", "--spark", "fake", "--clusters", "1000") as big:
        emr = big.client("emr")
        pages = list(emr.get_paginator("list_clusters").paginate())
        ids = [c["Id"] for page in pages for c in page["Clusters"]]
        assert len(ids) == len(set(ids)) == 1014  # 14 world clusters of the account + 1000 fillers
        assert len(pages) >= 20 and all(len(page["Clusters"]) <= 50 for page in pages)
        assert all("Marker" in page for page in pages[:-1]) and "Marker" not in pages[-1]


def test_a_world_file_of_ones_own(tmp_path) -> None:
    world = tmp_path / "world.json"
    world.write_text(json.dumps({
        "account": "123456789012", "region": "eu-west-1",
        "security_configurations": {"rr": {"AuthorizationConfiguration": {
            "IAMConfiguration": {"EnableApplicationScopedIAMRole": True}}}},
        "roles": [{"name": "finance", "reads": ["s3://finance-data/"]}],
        "buckets": {"finance-data": {"q3.csv": "a,b\n1,2\n"}},
        "clusters": [{"name": "finance-cluster", "security_configuration": "rr"}],
        "demo_user": {"name": "fiona", "roles": ["finance"], "default_role": "finance"},
    }))
    with start_emulator(tmp_path / "own", "--spark", "fake", "--world", str(world)) as own:
        assert own.env["AWS_DEFAULT_REGION"] == "eu-west-1"
        emr = own.client("emr")
        cluster = own.cluster_ids()["finance-cluster"]
        answer = emr.get_cluster_session_credentials(
            ClusterId=cluster, ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/finance")
        assert answer["Credentials"]["UsernamePassword"]["Username"]
        roles_file = json.loads(Path(own.env["JUPYTER_EMR_ROLES_FILE"]).read_text())
        assert roles_file["accounts"][ACCOUNT]["roles"] == [
            {"arn": f"arn:aws:iam::{ACCOUNT}:role/finance", "default": True}]


def test_a_broken_world_file_is_one_paragraph(tmp_path) -> None:
    from helpers import CLI
    world = tmp_path / "world.json"
    world.write_text('{"clusters": [{"nme": "typo"}]}')
    proc = subprocess.run([CLI, "local", "up", "--spark", "fake", "--world", str(world),
                           "--state-dir", str(tmp_path / "state")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "The world file" in proc.stderr and "nme" in proc.stderr

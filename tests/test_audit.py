"""`jupyter-emr-roles audit` and the emulator's CloudTrail: who ran which sessions and steps,
as which runtime role, with the SourceIdentity a role chain carried."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from demo_world import ACCOUNT, PARTNER_ACCESS, PARTNER_ACCOUNT, PARTNER_ROLE, SALES
from emulators import RunningEmulator
from helpers import RunCli
from kernels import NotebookKernel, connected

# Reads every CloudTrail event and session of its clusters: a world of its own, so no other
# module's calls show in its audits.
pytestmark = pytest.mark.own_world

USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/demo-analyst"


def audit(cli: RunCli, emulator: RunningEmulator, cluster: str, *args: str,
          env: dict[str, str] | None = None,
          until: Callable[[list[dict]], bool] = lambda entries: True) -> dict:
    """The audit's JSON, asked again until its entries satisfy ``until``: the strict emulator
    delivers CloudTrail events two seconds late, as CloudTrail delivers them minutes late."""
    deadline = time.monotonic() + 30
    while True:
        proc = cli("audit", "--cluster-id", cluster, "--json", *args, env=env or emulator.env)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        report = json.loads(proc.stdout)
        if until(report["entries"]) or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def everyone_known(count: int) -> Callable[[list[dict]], bool]:
    return lambda entries: len(entries) >= count and all(entry["who"] for entry in entries)


def test_sessions_and_steps_by_role_and_person(cli: RunCli, emulator: RunningEmulator,
                                               clusters: dict[str, str]) -> None:
    cluster = clusters["emrfs-credentials-provider"]
    emulator.client("emr").get_cluster_session_credentials(ClusterId=cluster,
                                                           ExecutionRoleArn=SALES)
    step_id = cli("steps", "submit", "--cluster-id", cluster, "--", "spark-submit", "--version",
                  env=emulator.env).stdout.strip()
    report = audit(cli, emulator, cluster, until=everyone_known(2))
    entries = {entry["kind"]: entry for entry in report["entries"]}
    assert entries["livy"]["role_arn"] == SALES and entries["livy"]["who"] == "demo-analyst"
    assert entries["livy"]["caller_arn"] == USER_ARN
    step = entries["step"]
    assert (step["step_id"], step["role_arn"], step["who"]) == (step_id, SALES, "demo-analyst")
    assert any("5 minutes" in note for note in report["notes"])
    text = cli("audit", "--cluster-id", cluster, env=emulator.env).stdout
    assert "sales-data-access" in text and "demo-analyst" in text and step_id in text


def test_a_livy_session_counts_once_across_its_renewals_and_the_doctor_is_a_probe(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """A %connect, two more logins of the same role and person while the first is valid (what
    the kernel's renewals send), and a doctor run: one Livy session, and the doctor's probe
    told apart by the user agent CloudTrail records."""
    cluster = clusters["livy-port-on-instance-group"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    connected(kernel.ok(f"%connect --cluster-id {cluster} --name audited"), SALES, cluster,
              "audited")
    emr = emulator.client("emr")
    for _ in range(2):
        emr.get_cluster_session_credentials(ClusterId=cluster, ExecutionRoleArn=SALES)
    doctor = cli("doctor", "--cluster-id", cluster, "--role-arn", SALES, env=emulator.env)
    assert "gcsc" in doctor.stdout, doctor.stderr
    report = audit(cli, emulator, cluster, until=lambda entries: any(
        e["kind"] == "doctor-probe" for e in entries) and sum(
        e["logins"] for e in entries if e["kind"] == "livy") >= 3)
    [livy] = [entry for entry in report["entries"] if entry["kind"] == "livy"]
    [probe] = [entry for entry in report["entries"] if entry["kind"] == "doctor-probe"]
    assert livy["logins"] >= 3 and livy["role_arn"] == SALES and livy["who"] == "demo-analyst"
    assert livy["last_login"] >= livy["time"]
    assert probe["role_arn"] == SALES and probe["who"] == "demo-analyst"
    text = cli("audit", "--cluster-id", cluster, env=emulator.env).stdout
    assert f"{livy['logins']} logins, the last at" in text and "doctor-probe" in text
    kernel.ok("%disconnect --all")


def test_spark_connect_sessions_come_from_start_session(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    cluster = clusters["spark-sessions"]
    emr = emulator.client("emr")
    session_id = emr.start_session(ClusterId=cluster, ExecutionRoleArn=SALES)["Id"]
    emr.terminate_session(ClusterId=cluster, SessionId=session_id)
    electronics = SALES.replace("sales", "electronics")
    with pytest.raises(Exception, match="AccessDenied"):
        emr.start_session(ClusterId=cluster, ExecutionRoleArn=electronics)
    report = audit(cli, emulator, cluster, until=everyone_known(2))
    sessions = {entry["role_arn"]: entry for entry in report["entries"]}
    assert sessions[SALES]["kind"] == "spark-connect" and sessions[SALES]["state"] is None
    assert sessions[SALES]["session_id"] == session_id
    assert sessions[SALES]["who"] == "demo-analyst"
    assert sessions[electronics]["kind"] == "spark-connect"
    assert sessions[electronics]["state"] == "refused: AccessDeniedException"


def test_a_refused_login_is_listed_as_refused(cli: RunCli, emulator: RunningEmulator,
                                              clusters: dict[str, str]) -> None:
    cluster = clusters["s3-access-grants"]
    electronics = SALES.replace("sales", "electronics")
    with pytest.raises(Exception, match="AccessDenied"):
        emulator.client("emr").get_cluster_session_credentials(ClusterId=cluster,
                                                               ExecutionRoleArn=electronics)
    [entry] = audit(cli, emulator, cluster, until=everyone_known(1))["entries"]
    assert entry["state"] == "refused: AccessDeniedException" and entry["role_arn"] == electronics


def test_the_person_crosses_accounts_as_source_identity(cli: RunCli, emulator: RunningEmulator,
                                                        clusters: dict[str, str]) -> None:
    """Through the partner's access role, assumed with SourceIdentity=alice (JupyterHub's
    user), the step and the person show in the partner account's trail."""
    cluster = emulator.livy_cluster_ids()["partner-analytics"]
    env = {**emulator.env, "JUPYTERHUB_USER": "alice"}
    proc = cli("steps", "submit", "--cluster-id", cluster, "--role-arn", PARTNER_ROLE, "--",
               "spark-submit", "--version", env=env)
    assert proc.returncode == 0, proc.stderr
    [step] = audit(cli, emulator, cluster, env=env, until=everyone_known(1))["entries"]
    assert step["who"] == "alice" and step["role_arn"] == PARTNER_ROLE
    assert step["caller_arn"] == (f"arn:aws:sts::{PARTNER_ACCOUNT}:assumed-role/"
                                  f"{PARTNER_ACCESS.rpartition('/')[2]}/alice")
    trail = emulator.client("cloudtrail")  # the demo user's account logs its AssumeRole too
    assumed = [json.loads(event["CloudTrailEvent"]) for event in trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}])[
        "Events"]]
    assert any(record["requestParameters"]["roleArn"] == PARTNER_ACCESS
               and record["requestParameters"].get("sourceIdentity") == "alice"
               and record["responseElements"]["sourceIdentity"] == "alice"
               for record in assumed), assumed


def test_without_cloudtrail_the_steps_alone_and_a_note(cli: RunCli, emulator: RunningEmulator,
                                                       clusters: dict[str, str]) -> None:
    cluster = clusters["livy-unreachable"]
    cli("steps", "submit", "--cluster-id", cluster, "--", "spark-submit", "--version",
        env=emulator.env)
    report = audit(cli, emulator, cluster, env=emulator.env_of("new-analyst"))
    [step] = report["entries"]
    assert step["kind"] == "step" and step["who"] is None and step["role_arn"] == SALES
    assert any("CloudTrail could not be read" in note and "cloudtrail:LookupEvents" in note
               for note in report["notes"])


@pytest.mark.parametrize("since", ["1 h", "1y", "91d", "0m", ""])
def test_a_bad_since_is_a_usage_error(cli: RunCli, emulator: RunningEmulator,
                                      clusters: dict[str, str], since: str) -> None:
    proc = cli("audit", "--cluster-id", clusters["shared-analytics"], "--since", since,
               env=emulator.env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--since" in proc.stderr

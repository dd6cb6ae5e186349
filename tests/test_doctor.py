"""`jupyter-emr-roles doctor` through the real CLI against the strict emulator, whose world has
a cluster or a role broken in each way the checks look for."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import botocore.exceptions
import pytest
from demo_world import ACCOUNT, PARTNER_ACCESS, PARTNER_ROLE, SALES
from emulators import RunningEmulator
from helpers import RunCli, by_id, doctor_report, statuses
from kernels import NotebookKernel

from jupyter_emr_roles.connect_request import ConnectRequest
from jupyter_emr_roles.doctor import (
    CHECK_IDS,
    CHECKS,
    ENGINE_CHECKS,
    READINESS_IDS,
    STEP_CHECKS,
    Finding,
    Outcome,
    diagnose,
)
from jupyter_emr_roles.identifiers import ClusterId

# Creates clusters and security configurations and edits IAM policies: a world of its own.
pytestmark = pytest.mark.own_world


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def doctor(cli: RunCli, emulator: RunningEmulator, cluster_id: str,
           *args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    return doctor_report(cli, {**emulator.env, **(env or {})}, "--cluster-id", cluster_id,
                         *args)


def test_every_check_is_run_once_in_the_contract_order() -> None:
    assert tuple(CHECKS) == CHECK_IDS and len(set(CHECK_IDS)) == 16
    others = {*READINESS_IDS, *STEP_CHECKS, *(i for own in ENGINE_CHECKS.values() for i in own)}
    assert others <= set(CHECKS), "the pickers and steps read rows of the one table"


def test_a_check_is_one_row_of_the_table(emulator: RunningEmulator, clusters: dict[str, str],
                                         home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a check is adding its row to doctor.CHECKS, nothing else: the function does not
    name itself, and every report runs every row, in the table's order."""
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setitem(CHECKS, "idle-timeout", lambda facts: Outcome(
        "warn", f"{facts.cluster['Name']} ends idle sessions.", "Set a longer timeout."))
    report = diagnose(ConnectRequest(ClusterId(clusters["shared-analytics"])), print)
    assert [finding.id for finding in report.checks] == [*CHECK_IDS, "idle-timeout"]
    assert report.checks[-1] == Finding("idle-timeout", "warn", "shared-analytics ends idle "
                                        "sessions.", "Set a longer timeout.")
    assert report.ready and "[warn] idle-timeout: shared-analytics" in report.text()


def test_a_ready_cluster_and_the_default_role_pass(cli: RunCli, emulator: RunningEmulator,
                                                   clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    code, report = doctor(cli, emulator, cluster)
    assert code == 0 and report["ready"] is True
    assert report["cluster_id"] == cluster and report["role_arn"] == SALES
    assert [check["id"] for check in report["checks"]] == list(CHECK_IDS)
    assert all(set(check) == {"id", "status", "message", "fix"} for check in report["checks"])
    passed = {i for i, status in statuses(report).items() if status == "pass"}
    assert passed == set(CHECK_IDS)
    assert "localhost" in by_id(report, "livy")["message"]
    assert emulator.open_sessions(cluster) == [], "the doctor opens no Livy session"


def test_the_text_report_has_a_verdict_and_no_password(cli: RunCli, emulator: RunningEmulator,
                                                       clusters: dict[str, str]) -> None:
    cluster = clusters["shared-analytics"]
    proc = cli("doctor", "--cluster-id", cluster, env=emulator.env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{cluster} with {SALES}: ready")
    login = emulator.client("emr").get_cluster_session_credentials(
        ClusterId=cluster, ExecutionRoleArn=SALES)["Credentials"]["UsernamePassword"]
    prefix = login["Password"][:8]
    assert prefix not in proc.stdout + proc.stderr


CLUSTER_FAILURES = [
    ("release-too-old", "release", "emr-6.9.0"),
    ("no-runtime-roles", "runtime-roles", "EnableApplicationScopedIAMRole"),
    ("no-security-configuration", "in-transit-encryption", "EnableInTransitEncryption"),
    ("multi-primary", "single-primary", "one primary node"),
    ("livy-unreachable", "livy", ""),
    ("livy-plain-http", "livy", ""),
]


@pytest.mark.parametrize(("cluster_name", "check_id", "in_fix"), CLUSTER_FAILURES)
def test_a_broken_cluster_fails_its_check_with_the_fix(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str], cluster_name: str,
        check_id: str, in_fix: str) -> None:
    code, report = doctor(cli, emulator, clusters[cluster_name])
    assert code == 1 and report["ready"] is False
    finding = by_id(report, check_id)
    assert finding["status"] == "fail", finding
    assert in_fix in (finding["fix"] or "") + finding["message"]


def test_plain_http_livy_warns_when_allowed_as_connect_allows_it(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    _, report = doctor(cli, emulator, clusters["livy-plain-http"], "--allow-insecure-http")
    finding = by_id(report, "livy")
    assert finding["status"] == "warn" and "plain HTTP" in finding["message"], finding


def test_spark_connect_is_reported_where_a_cluster_offers_it(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str], tmp_path: Path) -> None:
    code, offered = doctor(cli, emulator, clusters["connect-analytics"])
    _, livy_only = doctor(cli, emulator, clusters["shared-analytics"])
    shadow = tmp_path / "no-pyspark" / "pyspark"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named pyspark')\n")
    _, no_client = doctor(cli, emulator, clusters["connect-analytics"],
                          env={"PYTHONPATH": str(shadow.parent)})

    assert code == 0 and by_id(offered, "spark-connect")["status"] == "pass"
    assert "Spark Connect sessions are enabled" in by_id(offered, "spark-connect")["message"]
    assert by_id(livy_only, "spark-connect") == {
        "id": "spark-connect", "status": "pass", "fix": None,
        "message": "Spark Connect sessions are not enabled (they need emr-spark-8.0.0 or later); "
                   "%connect uses Livy here."}
    assert by_id(no_client, "spark-connect")["status"] == "warn"
    assert by_id(no_client, "spark-connect")["fix"] == "pip install 'jupyter-emr-roles[connect]'"


def test_a_session_cluster_without_livy_is_ready_for_spark_connect(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    """AWS's example session cluster: emr-spark-8.0.0, the Spark application only."""
    code, report = doctor(cli, emulator, clusters["spark-sessions"])
    assert code == 0 and report["ready"] is True, report
    assert by_id(report, "release")["message"].startswith("Release emr-spark-8.0.0.")
    for check_id in ("applications", "livy"):
        finding = by_id(report, check_id)
        assert finding["status"] == "warn", finding
        assert "not needed for Spark Connect" in finding["message"], finding
    assert statuses(report)["spark-connect"] == "pass"


def create_cluster(emulator: RunningEmulator, name: str, release: str, primaries: int = 1,
                   session_enabled: bool = True, security_configuration: str = "runtime-roles",
                   applications: tuple[str, ...] = ("Spark", "Livy")) -> str:
    """A cluster of a shape the world lacks, created through EMR's API by the platform admin."""
    return emulator.admin("emr").run_job_flow(
        Name=name, ReleaseLabel=release, SecurityConfiguration=security_configuration,
        Applications=[{"Name": app} for app in applications], JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole", SessionEnabled=session_enabled,
        Instances={"KeepJobFlowAliveWhenNoSteps": True, "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": primaries},
            {"InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 1}]},
    )["JobFlowId"]


def test_sessions_with_lake_formation_or_several_primaries_are_not_offered(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    _, lake_formation = doctor(cli, emulator, clusters["lake-formation-sessions"])
    finding = by_id(lake_formation, "spark-connect")
    assert finding["status"] == "warn" and "Lake Formation" in finding["message"], finding
    assert "primary" not in finding["message"] and "uses Livy here" in finding["message"]
    assert statuses(lake_formation)["livy"] == statuses(lake_formation)["applications"] == "pass"

    both = create_cluster(emulator, "lake-formation-and-three-primaries", "emr-spark-8.0.0", 3)
    finding = by_id(doctor(cli, emulator, both)[1], "spark-connect")
    assert finding["status"] == "warn", finding
    assert "Lake Formation" in finding["message"] and "3)" in finding["message"], finding


def test_a_session_cluster_without_livy_needs_no_tls_of_its_own(
        cli: RunCli, emulator: RunningEmulator) -> None:
    """In-transit encryption protects Livy's login; Spark Connect comes through AWS's endpoint."""
    emulator.admin("emr").create_security_configuration(
        Name="runtime-roles-no-tls", SecurityConfiguration=json.dumps({
            "AuthorizationConfiguration": {"IAMConfiguration": {
                "EnableApplicationScopedIAMRole": True}}}))
    cluster = create_cluster(emulator, "sessions-no-tls", "emr-spark-8.0.0",
                             security_configuration="runtime-roles-no-tls",
                             applications=("Spark",))
    code, report = doctor(cli, emulator, cluster)
    finding = by_id(report, "in-transit-encryption")
    assert finding["status"] == "warn" and "not needed for Spark Connect" in finding["message"]
    assert code == 0 and report["ready"] is True, report


@pytest.mark.parametrize("label", ["emr-8.0.0", "emr-spark-8", "EMR-7.1.0"])
def test_a_release_label_of_neither_family_is_unknown_not_too_old(
        cli: RunCli, emulator: RunningEmulator, label: str) -> None:
    cluster = create_cluster(emulator, f"label-{label}", label, session_enabled=False)
    _, report = doctor(cli, emulator, cluster)
    finding = by_id(report, "release")
    assert finding["status"] == "unknown" and repr(label) in finding["message"], finding
    assert "emr-spark-8.x.y" in finding["message"]


ROLE_FAILURES = [
    ("no-tag-session", "role-trust", "sts:TagSession"),
    ("no-source-identity", "source-identity", "sts:SetSourceIdentity"),
    ("wrong-external-id", "role-trust", "EMRDEMOEXTERNALID4F2K9Q"),
    ("not-trusted-by-clusters", "role-trust", "EMR_EC2_DefaultRole"),
    ("does-not-exist", "role-exists", "aws iam get-role --role-name does-not-exist"),
    ("electronics-data-access", "gcsc", "elasticmapreduce:ExecutionRoleArn"),
]


@pytest.mark.parametrize(("role_name", "check_id", "in_fix"), ROLE_FAILURES)
def test_a_broken_role_fails_its_check_with_the_fix(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str], role_name: str,
        check_id: str, in_fix: str) -> None:
    code, report = doctor(cli, emulator, clusters["shared-analytics"], "--role-arn",
                          role(role_name))
    assert code == 1
    finding = by_id(report, check_id)
    assert finding["status"] == "fail" and in_fix in finding["fix"], finding
    cluster_checks = ("cluster-state", "release", "applications", "single-primary",
                      "runtime-roles", "in-transit-encryption", "livy")
    assert all(statuses(report)[check] == "pass" for check in cluster_checks)


def test_a_missing_role_is_told_apart_from_a_refused_one(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    _, missing = doctor(cli, emulator, clusters["shared-analytics"], "--role-arn",
                        role("does-not-exist"))
    _, refused = doctor(cli, emulator, clusters["shared-analytics"], "--role-arn",
                        role("electronics-data-access"))
    assert statuses(missing)["role-exists"] == "fail"
    assert "does not exist" in by_id(missing, "gcsc")["message"]
    assert statuses(refused)["role-exists"] == "pass" and statuses(refused)["role-trust"] == "pass"
    assert "does not exist" not in by_id(refused, "gcsc")["message"]


def test_governance_settings_are_reported(cli: RunCli, emulator: RunningEmulator,
                                          clusters: dict[str, str]) -> None:
    _, ready = doctor(cli, emulator, clusters["shared-analytics"])
    assert "'Amazon EMR'" in by_id(ready, "lake-formation")["message"]
    assert statuses(ready)["source-identity"] == "pass"
    _, no_lf = doctor(cli, emulator, clusters["shared-analytics"], "--role-arn",
                      role("no-tag-session"))
    assert statuses(no_lf)["lake-formation"] == "fail"
    _, provider = doctor(cli, emulator, clusters["emrfs-credentials-provider"])
    finding = by_id(provider, "emrfs-credentials-provider")
    assert finding["status"] == "warn" and "PrefixRoleCredentialsProvider" in finding["message"]
    _, no_roles = doctor(cli, emulator, clusters["no-runtime-roles"])
    assert statuses(no_roles)["source-identity"] == "warn"
    _, grants = doctor(cli, emulator, clusters["s3-access-grants"])
    finding = by_id(grants, "s3-access-grants")
    assert finding["status"] == "pass" and "with fallback to IAM" in finding["message"]


def test_the_magics_show_the_report_the_grants_and_offer_the_doctor(
        emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    cluster = clusters["shared-analytics"]
    shown = kernel.ok(f"%emr_doctor --cluster-id {cluster}")
    assert "<table>" in shown and "gcsc" in shown and ": ready" in shown
    plain = kernel.ok("from IPython.lib.pretty import pretty\n"
                      "report = get_ipython().run_line_magic('emr_doctor', "
                      f"'--cluster-id {cluster}')\n"
                      "print(pretty(report))\n"
                      "print(report.ready, report._repr_json_()['checks'][0]['id'])")
    assert plain.startswith(f"{cluster} with {SALES}: ready") and "<" not in plain
    assert plain.strip().endswith("True cluster-state"), plain
    partner = emulator.livy_cluster_ids()["partner-analytics"]
    through = kernel.ok(f"%emr_doctor --cluster-id {partner} --role-arn {PARTNER_ROLE} "
                        f"--access-role-arn {PARTNER_ACCESS}")
    assert f"{partner} with {PARTNER_ROLE}" in through and "gcsc" in through
    assert "s3://demo-data/sales/* (grant" in kernel.ok(
        f"%emr_grants --role-arn {SALES}").replace("  ", " ")
    failed = kernel.run(f"%connect --cluster-id {clusters['release-too-old']}").output
    assert f"%emr_doctor --cluster-id {clusters['release-too-old']}" in failed
    assert emulator.open_sessions(cluster) == []


def test_checks_the_caller_may_not_run_say_unknown_and_name_the_permission(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    proc = cli("doctor", "--cluster-id", clusters["s3-access-grants"], "--json",
               env=emulator.env_of("new-analyst"))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ready"] is True, "unknown is not a failure"
    assert report["role_arn"] == SALES, "new-analyst's own roles file names its default"
    needs = {"role-exists": "iam:GetRole", "role-trust": "iam:GetRole",
             "lake-formation": "lakeformation:GetDataLakeSettings",
             "s3-access-grants": "s3:GetAccessGrantsInstance"}
    for check_id, action in needs.items():
        finding = by_id(report, check_id)
        assert finding["status"] == "unknown" and action in finding["message"], finding
        assert "<" not in finding["message"], "AWS's answer, not moto's XML"
    assert statuses(report)["gcsc"] == "pass"


def test_local_env_names_the_users_it_has(emulator: RunningEmulator) -> None:
    proc = emulator.cli("env", "--user", "nobody")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "demo-analyst, new-analyst" in proc.stderr
    other = emulator.env_of("new-analyst")
    assert other["AWS_ACCESS_KEY_ID"] != emulator.env["AWS_ACCESS_KEY_ID"]
    assert other["JUPYTER_EMR_ROLES_FILE"] != emulator.env["JUPYTER_EMR_ROLES_FILE"]


@pytest.mark.parametrize("args", [("--cluster-id", "j-bad id"),
                                  ("--cluster-id", "j-1K48XXXXXXHCB", "--role-arn", "sales")])
def test_a_malformed_option_is_a_usage_error(cli: RunCli, args: tuple[str, ...]) -> None:
    proc: subprocess.CompletedProcess[str] = cli("doctor", *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Invalid value" in proc.stderr


ADMIN_PROFILE_POLICY = ("EMR_EC2_DefaultRole", "assume-runtime-roles")


def as_admin(emulator: RunningEmulator) -> dict[str, str]:
    """The platform admin's settings, who may pass any role (so EMR, not IAM, decides)."""
    return emulator.env_of("platform-admin")


def test_a_role_the_cluster_may_not_assume_fails_when_its_session_or_step_starts(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel]) -> None:
    """As on AWS, GetClusterSessionCredentials and StartSession answer for a role whose trust
    lacks sts:TagSession; the session dies when the cluster assumes the role (a Livy session,
    a Spark Connect session FAILED with STS's reason), and so does a step.
    The doctor's gcsc passes, and role-trust says why the session will fail."""
    cluster, admin = clusters["shared-analytics"], as_admin(emulator)
    _, report = doctor(cli, emulator, cluster, "--role-arn", role("no-tag-session"), env=admin)
    assert statuses(report)["gcsc"] == "pass"
    assert statuses(report)["role-trust"] == "fail"
    assert "sts:TagSession" in by_id(report, "role-trust")["fix"]
    kernel = notebook(emulator, **{name: admin[name] for name in (
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "JUPYTER_EMR_ROLES_FILE")})
    kernel.ok("%load_ext jupyter_emr_roles")
    failed = kernel.refused(f"%connect --cluster-id {cluster} --role-arn {role('no-tag-session')}")
    assert "not authorized to perform: sts:TagSession" in failed, failed
    session = kernel.refused(f"%connect --cluster-id {clusters['connect-analytics']} "
                             f"--role-arn {role('no-tag-session')} --engine spark-connect")
    assert re.search(r"is FAILED: The session failed to start: .*not authorized to perform: "
                     r"sts:TagSession", session), session
    step = cli("steps", "submit", "--cluster-id", cluster, "--role-arn", role("no-tag-session"),
               "--wait", "--", "bash", "-c", "echo hi", env={**emulator.env, **admin})
    assert step.returncode == 1 and "Traceback" not in step.stderr, step.stderr
    assert "not authorized to perform: sts:TagSession" in step.stderr, step.stderr


@pytest.fixture
def profile_policy_allows(emulator: RunningEmulator) -> Iterator[Callable[[list[str]], None]]:
    """Replace what the clusters' instance profile role's own policy allows on the runtime
    roles, as an admin would by mistake; put back after the test."""
    iam = emulator.admin("iam")
    kept = iam.get_role_policy(RoleName=ADMIN_PROFILE_POLICY[0],
                               PolicyName=ADMIN_PROFILE_POLICY[1])["PolicyDocument"]

    def allow(actions: list[str]) -> None:
        document = {**kept, "Statement": [{**kept["Statement"][0], "Action": actions}]}
        iam.put_role_policy(RoleName=ADMIN_PROFILE_POLICY[0], PolicyName=ADMIN_PROFILE_POLICY[1],
                            PolicyDocument=json.dumps(document))

    yield allow
    iam.put_role_policy(RoleName=ADMIN_PROFILE_POLICY[0], PolicyName=ADMIN_PROFILE_POLICY[1],
                        PolicyDocument=json.dumps(kept))


def test_the_instance_profile_roles_own_policy_must_allow_assuming_the_role(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str],
        notebook: Callable[..., NotebookKernel],
        profile_policy_allows: Callable[[list[str]], None]) -> None:
    """The role's trust is right, but the profile role's policy allows only sts:AssumeRole:
    role-trust and source-identity fail with the policy to add, and a session fails as EMR's
    AssumeRole is refused."""
    cluster = clusters["shared-analytics"]
    profile_policy_allows(["sts:AssumeRole"])
    code, report = doctor(cli, emulator, cluster)
    assert code == 1 and statuses(report)["gcsc"] == "pass"
    trust, source = by_id(report, "role-trust"), by_id(report, "source-identity")
    assert trust["status"] == "fail" and "does not allow sts:TagSession" in trust["message"]
    assert "aws iam put-role-policy --role-name EMR_EC2_DefaultRole" in trust["fix"]
    assert source["status"] == "fail" and "sts:SetSourceIdentity" in source["fix"]
    kernel = notebook(emulator)
    kernel.ok("%load_ext jupyter_emr_roles")
    failed = kernel.run(f"%connect --cluster-id {cluster}")
    assert failed.status == "error" and "sts:TagSession" in failed.output, failed.output


@pytest.fixture
def data_lake_settings(emulator: RunningEmulator) -> Iterator[Callable[..., None]]:
    """Change Lake Formation's data lake settings for one test; put back after it."""
    lakeformation = emulator.admin("lakeformation")
    kept = lakeformation.get_data_lake_settings()["DataLakeSettings"]

    def change(**settings: object) -> None:
        lakeformation.put_data_lake_settings(DataLakeSettings={**kept, **settings})

    yield change
    lakeformation.put_data_lake_settings(DataLakeSettings=kept)


@pytest.mark.parametrize(("settings", "said"), [
    ({"AllowExternalDataFiltering": False}, "AllowExternalDataFiltering"),
    ({"ExternalDataFilteringAllowList": [{"DataLakePrincipalIdentifier": "210987654321"}]},
     f"account {ACCOUNT} is not in Lake Formation's external data filtering allow list"),
    ({"AuthorizedSessionTagValueList": ["Other"]}, "does not accept that tag"),
])
def test_lake_formation_must_allow_the_clusters_external_data_filtering(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str],
        data_lake_settings: Callable[..., None], settings: dict, said: str) -> None:
    data_lake_settings(**settings)
    _, report = doctor(cli, emulator, clusters["shared-analytics"])
    finding = by_id(report, "lake-formation")
    assert finding["status"] == "fail" and said in finding["message"], finding
    assert "Application integration settings" in finding["fix"] and ACCOUNT in finding["fix"]


def test_session_permissions_are_the_ones_aws_asks_for(
        cli: RunCli, emulator: RunningEmulator, clusters: dict[str, str]) -> None:
    """The demo user may not start sessions as the electronics role: the doctor says which
    actions IAM refuses, and StartSession is refused for the same reason."""
    cluster = clusters["connect-analytics"]
    _, allowed = doctor(cli, emulator, cluster)
    assert statuses(allowed)["session-permissions"] == "pass"
    electronics = role("electronics-data-access")
    _, report = doctor(cli, emulator, cluster, "--role-arn", electronics)
    finding = by_id(report, "session-permissions")
    assert finding["status"] == "fail", finding
    assert "elasticmapreduce:StartSession, iam:PassRole" in finding["message"]
    statements = json.loads(finding["fix"])
    assert {"Effect": "Allow", "Action": ["elasticmapreduce:GetSession",
                                          "elasticmapreduce:GetSessionEndpoint",
                                          "elasticmapreduce:TerminateSession"],
            "Resource": f"arn:aws:elasticmapreduce:us-east-1:{ACCOUNT}:cluster/*/session/*"
            } in statements
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        emulator.client("emr").start_session(ClusterId=cluster, ExecutionRoleArn=electronics)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    unknown = by_id(doctor(cli, emulator, cluster, env=emulator.env_of("new-analyst"))[1],
                    "session-permissions")
    assert unknown["status"] == "unknown" and "iam:SimulatePrincipalPolicy" in unknown["message"]

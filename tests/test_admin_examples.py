"""examples/admin/: what an admin applies, each loaded into the emulator through its world
file (so IAM's policy grammar and EMR's rules judge it) and then checked by the doctor."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from demo_world import ACCOUNT, SALES
from emulators import RunningEmulator, start_changed_world
from helpers import CLI, REPO

EXAMPLES = REPO / "examples" / "admin"
ELECTRONICS = f"arn:aws:iam::{ACCOUNT}:role/electronics-data-access"
EXAMPLE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/example-runtime-role"
# EMR generates a security configuration's ExternalId; the emulator's world states it.
EXTERNAL_ID = "EMRDEMOEXTERNALID4F2K9Q"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def with_the_examples(world: dict[str, Any]) -> None:
    security = example("security-configuration.json")
    security["AuthorizationConfiguration"]["IAMConfiguration"][
        "ApplicationScopedIAMRoleConfiguration"]["ExternalId"] = EXTERNAL_ID
    world["security_configurations"]["example"] = security
    world["roles"].append({"name": "example-runtime-role", "reads": [],
                           "trust_policy": example("runtime-role-trust-policy.json")})
    # Spark Connect sessions are not supported with Lake Formation's fine-grained access control.
    world["security_configurations"]["example-sessions"] = {
        **security, "AuthorizationConfiguration": {
            "IAMConfiguration": security["AuthorizationConfiguration"]["IAMConfiguration"]}}
    world["clusters"][:0] = [
        {"name": "example-grants", "security_configuration": "example",
         "configurations": example("cluster-configurations-s3-access-grants.json")},
        {"name": "example-provider", "security_configuration": "example",
         "configurations": example("cluster-configurations-emrfs-provider.json")},
        {"name": "example-sessions", "security_configuration": "example-sessions",
         "release": "emr-spark-8.0.0", "applications": ["Spark"], "session_enabled": True}]
    world["instance_profile_actions"] = []  # the example's policy is put in its place
    policy = example("caller-policy.json")
    policy["Statement"][1]["Condition"]["StringEquals"][
        "elasticmapreduce:ExecutionRoleArn"].append(EXAMPLE_ROLE)
    policy["Statement"][2]["Resource"].append(EXAMPLE_ROLE)
    world["demo_user"]["policy"] = policy


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict]:
    """The doctor's JSON for each (cluster, role) the tests look at, on one emulator."""
    asked = [("example-grants", EXAMPLE_ROLE), ("example-provider", SALES),
             ("example-grants", ELECTRONICS)]
    found: dict[Any, Any] = {}
    with start_changed_world(tmp_path_factory.mktemp("examples"), with_the_examples,
                             "--spark", "fake") as running:
        ids = running.cluster_ids()
        profile_policy = example("instance-profile-policy.json")
        for statement in profile_policy["Statement"]:
            statement["Resource"] += [ELECTRONICS, EXAMPLE_ROLE]
        running.admin("iam").put_role_policy(RoleName="EMR_EC2_DefaultRole",
                                             PolicyName="instance-profile-policy",
                                             PolicyDocument=json.dumps(profile_policy))
        found["sessions"] = _sessions(running, ids["example-sessions"])
        found["serverless"] = _doctor(running, "--application-id",
                                      running.application_ids()["serverless-livy"], EXAMPLE_ROLE)
        for cluster, role in asked:
            found[(cluster, role)] = _doctor(running, "--cluster-id", ids[cluster], role)
            found[("step", role)] = subprocess.run(
                [CLI, "steps", "submit", "--cluster-id", ids[cluster], "--role-arn", role,
                 "--json", "--", "spark-submit", "--version"], capture_output=True, text=True,
                timeout=120, env={**os.environ, **running.env})
    return found


def _doctor(running: RunningEmulator, flag: str, place: str, role: str) -> dict:
    proc = subprocess.run([CLI, "doctor", flag, place, "--role-arn", role, "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **running.env})
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _sessions(running: RunningEmulator, cluster_id: str) -> tuple[dict, str]:
    """The doctor on the session cluster, and what EMR answers the example user's GetSession
    of a session that does not exist (IAM authorizes it on cluster/ID/session/ID first)."""
    report = _doctor(running, "--cluster-id", cluster_id, EXAMPLE_ROLE)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        running.client("emr").get_session(ClusterId=cluster_id, SessionId="is-0000000000000")
    return report, caught.value.response["Error"]["Code"]


def statuses(report: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in report["checks"]}


def test_every_example_is_json_an_admin_can_paste() -> None:
    names = sorted(path.name for path in EXAMPLES.glob("*.json"))
    assert len(names) == 7
    for name in names:
        document = example(name)
        if "policy" in name:
            assert document["Version"] == "2012-10-17" and document["Statement"]


def test_the_security_configuration_trust_policy_and_caller_policy_pass_the_doctor(
        reports: dict) -> None:
    report = reports[("example-grants", EXAMPLE_ROLE)]
    assert set(statuses(report).values()) == {"pass"}, [
        c for c in report["checks"] if c["status"] != "pass"]


def test_the_caller_policy_lets_only_its_roles_through(reports: dict) -> None:
    refused = reports[("example-grants", ELECTRONICS)]
    gcsc = next(c for c in refused["checks"] if c["id"] == "gcsc")
    assert gcsc["status"] == "fail" and "ExecutionRoleArn" in gcsc["message"]


def test_the_caller_policy_passes_its_roles_to_steps_and_no_other(reports: dict) -> None:
    for role in (EXAMPLE_ROLE, SALES):
        assert reports[("step", role)].returncode == 0, reports[("step", role)].stderr
    refused = reports[("step", ELECTRONICS)]
    assert refused.returncode == 1 and "No step was added" in refused.stderr


def test_the_caller_policy_lets_its_roles_start_and_use_spark_connect_sessions(
        reports: dict) -> None:
    report, get_session = reports["sessions"]
    assert statuses(report)["session-permissions"] == "pass", report
    assert report["ready"] is True, [c for c in report["checks"] if c["status"] == "fail"]
    assert get_session != "AccessDeniedException", "cluster/*/session/* covers the session"


def test_the_caller_policy_and_trust_policy_serve_an_emr_serverless_application(
        reports: dict) -> None:
    """The same role and caller, on the world's Livy-endpoint application: the role trusts
    EMR Serverless of its account, and the caller may reach the endpoint and pass the role."""
    report = reports["serverless"]
    found = statuses(report)
    assert report["ready"] is True, [c for c in report["checks"] if c["status"] == "fail"]
    assert found["role-trust"] == found["livy-permissions"] == "pass", report


def test_the_emrfs_provider_is_reported_with_what_it_means(reports: dict) -> None:
    report = reports[("example-provider", SALES)]
    finding = next(c for c in report["checks"] if c["id"] == "emrfs-credentials-provider")
    assert finding["status"] == "warn" and "PrefixRoleCredentialsProvider" in finding["message"]
    assert "S3 Access Grants" in finding["fix"]


def test_the_tag_scoped_variant_is_valid_iam(tmp_path: Path) -> None:
    def scoped(world: dict[str, Any]) -> None:
        world["demo_user"]["policy"] = example("caller-policy-tag-scoped.json")

    with start_changed_world(tmp_path / "scoped", scoped, "--spark", "fake") as running:
        listed = running.client("emr").list_clusters()["Clusters"]
    assert listed, "the emulator accepted the policy, and it lets the user list clusters"

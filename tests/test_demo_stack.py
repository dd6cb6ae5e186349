"""examples/admin/demo-stack.sh, run by real bash with the real AWS CLI against the strict
emulator as its platform admin: a dry run changes nothing, create makes a stack the doctor
passes and a second create refuses, delete takes all of it away again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulators import RunningEmulator, start_emulator
from helpers import CLI, REPO

from jupyter_emr_roles.aws.s3control_host import drop_account_from_host

SCRIPT = REPO / "examples" / "admin" / "demo-stack.sh"
AWS = shutil.which("aws", path=str(Path(sys.executable).parent))
pytestmark = [pytest.mark.skipif(AWS is None, reason="the AWS CLI is not installed"),
              pytest.mark.long]  # mostly waits: scheduled first (tests/conftest.py)
# The states `aws emr list-clusters --active` asks for.
ACTIVE = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"]
RunScript = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningEmulator, dict]]:
    """An emulator of its own (the stack adds clusters and roles), and the settings of its
    platform admin, with the AWS CLI plugin S3 Control needs at a local endpoint."""
    folder = tmp_path_factory.mktemp("demo-stack")
    config = folder / "aws-config"
    config.write_text("[plugins]\njupyter_emr_roles = jupyter_emr_roles.awscli_plugin\n")
    with start_emulator(folder / "state", "--spark", "fake") as running:
        env = {**os.environ, **running.env_of("platform-admin"), "AWS_CONFIG_FILE": str(config),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        yield running, env


@pytest.fixture
def stack(admin: tuple[RunningEmulator, dict], tmp_path: Path) -> RunScript:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        out = ["--out", str(tmp_path / "out")] if args[0] in ("create", "delete") else []
        return subprocess.run(["bash", str(SCRIPT), *args[:1], *out, *args[1:]],
                              capture_output=True, text=True, timeout=300, env=admin[1])
    return run


def aws(env: dict, *args: str) -> str:
    proc = subprocess.run([str(AWS), *args, "--output", "json"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def account_contents(running: RunningEmulator, env: dict) -> dict[str, object]:
    """What the stack touches, as its admin lists it (through boto3 in this process: an AWS
    CLI start is half a second of CPU, and the script's own calls are what is under test)."""
    def client(service: str) -> Any:
        made = running.client(service, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        made.meta.events.register("before-sign.s3-control", drop_account_from_host)
        return made

    iam, emr, s3control = client("iam"), client("emr"), client("s3control")
    account = {"AccountId": "123456789012"}
    return {
        "roles": sorted(role["RoleName"] for role in iam.list_roles()["Roles"]),
        "profiles": sorted(p["InstanceProfileName"]
                           for p in iam.list_instance_profiles()["InstanceProfiles"]),
        "buckets": sorted(b["Name"] for b in client("s3").list_buckets()["Buckets"]),
        "security": sorted(c["Name"] for c in emr.list_security_configurations()[
            "SecurityConfigurations"]),
        "grants": sorted(g["GrantScope"]
                         for g in s3control.list_access_grants(**account)["AccessGrantsList"]),
        "locations": sorted(loc["LocationScope"] for loc in s3control.list_access_grants_locations(
            **account)["AccessGrantsLocationsList"]),
        "clusters": sorted(c["Name"] for c in emr.list_clusters(ClusterStates=ACTIVE)["Clusters"]),
    }


def test_a_dry_run_prints_the_changes_and_makes_none(admin: tuple[RunningEmulator, dict],
                                                    stack: RunScript) -> None:
    before = account_contents(*admin)
    proc = stack("create", "--name", "dry", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    planned = [line for line in proc.stderr.splitlines() if line.startswith("would run: aws ")]
    assert any(" emr create-cluster --name dry " in line for line in planned)
    assert any(" emr create-cluster --name dry-sessions --release-label emr-spark-8.0.0 " in line
               and " --applications Name=Spark --session-enabled " in line for line in planned)
    assert any(" s3control create-access-grant " in line and "GranteeIdentifier=arn:aws:iam::"
               "123456789012:role/dry-sales" in line for line in planned)
    assert account_contents(*admin) == before


def test_create_makes_a_stack_the_doctor_passes_a_second_create_is_refused_and_delete_ends_it(
        admin: tuple[RunningEmulator, dict], stack: RunScript, tmp_path: Path) -> None:
    running, env = admin
    before = account_contents(running, env)
    created = stack("create", "--name", "rolesdemo")
    assert created.returncode == 0, created.stderr
    sessions_line, doctor_line = created.stdout.strip().splitlines()[-2:]
    cluster_id, sessions_id = (line.rsplit(" ", 1)[1] for line in (doctor_line, sessions_line))
    roles_file = tmp_path / "out" / "roles.json"
    assert doctor_line.startswith(f"JUPYTER_EMR_ROLES_FILE={roles_file} jupyter-emr-roles doctor")

    # The emulator's Livy has a CA of its own: the one the script made is for a real cluster.
    doctor_env = {**env, "JUPYTER_EMR_ROLES_FILE": str(roles_file),
                  "JUPYTER_EMR_ROLES_CA_BUNDLE": running.livy_ca}
    checks, sessions = (stack_doctor(doctor_env, cluster) for cluster in (cluster_id, sessions_id))
    assert checks["role_arn"] == "arn:aws:iam::123456789012:role/rolesdemo-sales"
    assert {check["status"] for check in checks["checks"]} == {"pass"}, checks
    assert {c["id"]: c["status"] for c in sessions["checks"]}["session-permissions"] == "pass"
    described = json.loads(aws(env, "emr", "describe-cluster", "--cluster-id", sessions_id))
    assert described["Cluster"]["SessionEnabled"] is True
    assert [app["Name"] for app in described["Cluster"]["Applications"]] == ["Spark"]

    during = account_contents(running, env)
    assert "rolesdemo-marketing" in during["roles"] and "rolesdemo" in during["clusters"]
    twice = stack("create", "--name", "rolesdemo", "--no-wait")
    assert twice.returncode == 1
    assert twice.stderr.count("\n") == 1 and "already has an active cluster named rolesdemo" \
        in twice.stderr
    assert account_contents(running, env) == during
    deleted = stack("delete", "--name", "rolesdemo")
    assert deleted.returncode == 0, deleted.stderr
    assert account_contents(running, env) == before
    again = stack("delete", "--name", "rolesdemo")
    assert again.returncode == 0, "what is already gone is skipped"


def stack_doctor(env: dict, cluster_id: str) -> dict:
    """The doctor's report of a stack's cluster; it must be ready."""
    report = subprocess.run([CLI, "doctor", "--cluster-id", cluster_id, "--json"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert report.returncode == 0, report.stdout + report.stderr
    return json.loads(report.stdout)


@pytest.mark.parametrize("args", [("create", "--name", "Not_A_Bucket"), ("frobnicate",),
                                  ("create", "--name"), ("delete", "--colour", "red")])
def test_usage_errors_are_one_line_and_exit_2(stack: RunScript, args: tuple[str, ...]) -> None:
    proc = stack(*args)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("demo-stack.sh: ")


def test_help_names_both_actions_and_the_dry_run(stack: RunScript) -> None:
    proc = stack("--help")
    assert proc.returncode == 0
    assert all(word in proc.stdout for word in ("create ", "delete ", "--dry-run", "--no-wait"))


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_nothing() -> None:
    proc = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True,
                          check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_the_aws_cli_plugin_loads_nothing_beyond_the_standard_library() -> None:
    """Every `aws` command of an admin whose configuration names the plugin imports it: it must
    cost that command no library (it cost boto3, pydantic and the roles code once)."""
    code = ("import sys; before = set(sys.modules); import jupyter_emr_roles.awscli_plugin; "
            "print(*sorted(set(sys.modules) - before))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    ours = [name for name in loaded if name.startswith("jupyter_emr_roles")]
    assert "jupyter_emr_roles.aws.s3control_host" in ours, loaded
    assert set(ours) <= {"jupyter_emr_roles", "jupyter_emr_roles._version",
                         "jupyter_emr_roles.aws", "jupyter_emr_roles.aws.s3control_host",
                         "jupyter_emr_roles.awscli_plugin"}, ours
    libraries = [name for name in loaded if name not in ours
                 and name.split(".")[0] not in sys.stdlib_module_names]
    assert not libraries, libraries

"""Emulators started the way a user starts them: `jupyter-emr-roles local up --detach`."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import jupyter_emr_roles.local
from helpers import CLI, wait_until

DEFAULT_WORLD = Path(jupyter_emr_roles.local.__file__).parent / "world.default.json"
# Every emulator of the suite is strict (two names for the primary, AWS over HTTPS with a CA of
# its own, propagating credentials), with a short propagation where a test is not about it.
STRICT = ("--strict", "--credential-propagation", "0.3")
OPEN_STATES = ("not_started", "starting", "idle", "busy")
# A test's own look at the emulator outlasts `--faults throttle=0.2`: three attempts (botocore's
# standard mode) all throttled happened in CI; ten all throttled is one in ten million.
OBSERVER = Config(retries={"mode": "standard", "total_max_attempts": 10})


@dataclass
class RunningEmulator:
    state_dir: Path
    env: dict[str, str]

    def client(self, service: str, **credentials: str):
        """A boto3 client for the emulator, as the demo user unless other credentials are given;
        it trusts the emulator's AWS endpoint by its CA, as AWS_CA_BUNDLE tells botocore, and
        retries a throttled call as long as a faulty emulator may need."""
        keys = credentials or {"aws_access_key_id": self.env["AWS_ACCESS_KEY_ID"],
                               "aws_secret_access_key": self.env["AWS_SECRET_ACCESS_KEY"]}
        return boto3.client(service, endpoint_url=self.env["AWS_ENDPOINT_URL"],
                            region_name=self.env["AWS_DEFAULT_REGION"],
                            verify=self.env.get("AWS_CA_BUNDLE", True), config=OBSERVER,
                            **keys)

    def admin(self, service: str):
        """A boto3 client as the world's platform admin, who may do anything (create a
        cluster of a shape the world lacks, as an admin's script would)."""
        env = self.env_of("platform-admin")
        return self.client(service, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])

    @property
    def livy_ca(self) -> str:
        """The CA of the emulator's Livy certificates (not its AWS endpoint's)."""
        return self.env["JUPYTER_EMR_ROLES_CA_BUNDLE"]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, "local", *args, "--state-dir", str(self.state_dir)],
                              capture_output=True, text=True, timeout=120)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cli("down")

    def livy_url(self, cluster_id: str) -> str:
        """Livy by the rule a real cluster needs: the primary node's private DNS name (the name
        its certificate has) and livy-conf's port."""
        emr = self.client("emr")
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        (primary,) = emr.list_instances(ClusterId=cluster_id,
                                        InstanceGroupTypes=["MASTER"])["Instances"]
        livy_conf = next(c for c in cluster["Configurations"]
                         if c["Classification"] == "livy-conf")
        return f"https://{primary['PrivateDnsName']}:{livy_conf['Properties']['livy.server.port']}"

    def env_of(self, user: str) -> dict[str, str]:
        """``local env --user USER``: the settings of another user of the emulated account."""
        proc = self.cli("env", "--user", user)
        assert proc.returncode == 0, proc.stderr
        return parse_exports(proc.stdout)

    def propagated(self, url: str, username: str, password: str, wait: float = 15.0) -> None:
        """Wait until Livy accepts a login GetClusterSessionCredentials just issued, as AWS's
        own client waits for EMR to propagate it."""
        deadline = time.monotonic() + wait
        while True:
            status = requests.get(url + "/sessions", auth=(username, password),
                                  verify=self.livy_ca, timeout=10).status_code
            if status != 401 or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def delete_session(self, cluster_id: str, livy_id: int, role_arn: str) -> None:
        """Delete a Livy session behind a notebook's back: same role, same caller, a login of
        its own."""
        login = self.client("emr").get_cluster_session_credentials(
            ClusterId=cluster_id, ExecutionRoleArn=role_arn)["Credentials"]["UsernamePassword"]
        url = self.livy_url(cluster_id)
        self.propagated(url, login["Username"], login["Password"])
        response = requests.delete(f"{url}/sessions/{livy_id}", verify=self.livy_ca, timeout=30,
                                   auth=(login["Username"], login["Password"]))
        assert response.status_code == 200, response.text

    def serverless_livy(self, method: str, application_id: str, path: str) -> requests.Response:
        """A request to an application's Livy endpoint as the demo user, signed as AWS wants."""
        url = self.env["JUPYTER_EMR_ROLES_SERVERLESS_LIVY_URL"].format(
            application_id=application_id, region=self.env["AWS_DEFAULT_REGION"])
        request = AWSRequest(method=method, url=url + path)
        SigV4Auth(Credentials(self.env["AWS_ACCESS_KEY_ID"], self.env["AWS_SECRET_ACCESS_KEY"]),
                  "emr-serverless", self.env["AWS_DEFAULT_REGION"]).add_auth(request)
        return requests.request(method, request.url, headers=dict(request.headers), timeout=30,
                                verify=self.env.get("AWS_CA_BUNDLE", True))

    def delete_serverless_session(self, application_id: str, livy_id: int) -> None:
        """Delete a session of an application's Livy endpoint behind a notebook's back: the same
        caller, signing its own request."""
        response = self.serverless_livy("DELETE", application_id, f"/sessions/{livy_id}")
        assert response.status_code == 200, response.text

    def open_serverless_sessions(self, application_id: str) -> list[dict[str, Any]]:
        """The Livy sessions of an application's Livy endpoint that are not over, from the
        emulator's status (the endpoint itself may be told to drop answers: `--faults`)."""
        return [s for s in self.status()["sessions"]
                if s.get("application_id") == application_id and s["state"] in OPEN_STATES]

    def cluster_ids(self) -> dict[str, str]:
        """Cluster IDs by name, in every state the default world has (terminated included)."""
        pages = self.client("emr").get_paginator("list_clusters").paginate(
            ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATED"])
        return {c["Name"]: c["Id"] for page in pages for c in page["Clusters"]}

    def application_ids(self) -> dict[str, str]:
        """EMR Serverless application IDs by name (the world's, and any a test created)."""
        pages = self.admin("emr-serverless").get_paginator("list_applications").paginate()
        return {app["name"]: app["id"] for page in pages for app in page["applications"]}

    def assumed_caller(self, folder: Path) -> dict[str, str | None]:
        """A kernel's variables for the demo user acting through a role it assumes, as an SSO
        user's keys are: keys that expire (as soon as the emulator's --access-role-ttl says)
        and that botocore renews from an AWS profile. The role may use EMR Serverless and pass
        the sales role."""
        iam, name = self.admin("iam"), f"notebook-caller-{uuid.uuid4().hex[:8]}"
        user = self.client("sts").get_caller_identity()["Arn"]
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": user},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        iam.put_user_policy(UserName=user.rsplit("/", 1)[1], PolicyName=name,
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Allow", "Action": "sts:AssumeRole",
                                 "Resource": arn}]}))
        iam.put_role_policy(RoleName=name, PolicyName="serverless", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "emr-serverless:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "iam:PassRole",
                 "Resource": f"arn:aws:iam::{arn.split(':')[4]}:role/sales-data-access"}]}))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config").write_text(f"[profile caller]\nrole_arn = {arn}\n"
                                       "source_profile = base\n")
        (folder / "credentials").write_text(
            f"[base]\naws_access_key_id = {self.env['AWS_ACCESS_KEY_ID']}\n"
            f"aws_secret_access_key = {self.env['AWS_SECRET_ACCESS_KEY']}\n")
        return {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
                "AWS_CONFIG_FILE": str(folder / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"),
                "AWS_PROFILE": "caller"}

    def livy_cluster_ids(self) -> dict[str, str]:
        """IDs by name of the clusters with a Livy, in every account of the world."""
        return {cluster["name"]: cluster["id"] for cluster in self.status()["clusters"]}

    def status(self) -> dict[str, Any]:
        """``local status --json``: what is open on the clusters, and the calls EMR got."""
        proc = self.cli("status", "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def calls(self, operation: str) -> int:
        """How many calls of an EMR operation the emulator has answered so far."""
        return self.status()["calls"].get(operation, 0)

    def open_sessions(self, cluster_id: str) -> list[dict[str, Any]]:
        """The Livy sessions of a cluster that are not over."""
        return [s for s in self.status()["sessions"]
                if s.get("cluster_id") == cluster_id and s["state"] in OPEN_STATES]

    def open_connect_sessions(self, cluster_id: str) -> list[dict[str, Any]]:
        """The Spark Connect sessions of a cluster that are not over, as ListSessions has them."""
        sessions = self.client("emr").list_sessions(ClusterId=cluster_id)["Sessions"]
        return [s for s in sessions if s["State"] not in ("TERMINATED", "FAILED")]

    def connect_sessions_end(self, cluster_id: str, wait: float = 30) -> bool:
        """Whether every Spark Connect session of the cluster is TERMINATED (or FAILED) within
        ``wait`` seconds: TerminateSession answers TERMINATING, and EMR gets there on its own
        time."""
        return wait_until(lambda: not self.open_connect_sessions(cluster_id), wait, every=0.2)

    def connect_session_ends(self, cluster_id: str, session_id: str, wait: float = 30) -> bool:
        """Whether that one Spark Connect session is TERMINATED (or FAILED) within ``wait``
        seconds, as :meth:`connect_sessions_end` for the cluster's all."""
        return wait_until(lambda: session_id not in {
            s["Id"] for s in self.open_connect_sessions(cluster_id)}, wait, every=0.2)


def parse_exports(text: str) -> dict[str, str]:
    env = {}
    for line in text.splitlines():
        words = shlex.split(line)
        assert words[0] == "export", line
        name, _, value = words[1].partition("=")
        env[name] = value
    return env


def start_emulator(state_dir: Path, *args: str,
                   strict: tuple[str, ...] = STRICT) -> RunningEmulator:
    """``local up --detach --strict`` (or with ``strict`` instead); use it in a with block (or
    call ``cli("down")``) to stop it."""
    proc = subprocess.run([CLI, "local", "up", "--detach", "--state-dir", str(state_dir),
                           *strict, *args],
                          capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return RunningEmulator(state_dir, parse_exports(proc.stdout))


def module_emulator(factory: Any, name: str, *args: str) -> Iterator[RunningEmulator]:
    """A fake-engine emulator of a module's own (``yield from`` it in a module fixture), in a
    folder named ``name`` of pytest's temporary ones, with ``local up``'s ``args``."""
    with start_emulator(factory.mktemp(name), "--spark", "fake", *args) as running:
        yield running


def start_changed_world(folder: Path, change: Callable[[dict[str, Any]], None],
                        *args: str) -> RunningEmulator:
    """An emulator seeded with the default world as ``change`` edits it (a busy cluster, a
    user with fewer rights): the world file is the emulator's public way in."""
    world = json.loads(DEFAULT_WORLD.read_text())
    change(world)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "world.json").write_text(json.dumps(world))
    return start_emulator(folder / "state", "--world", str(folder / "world.json"), *args)

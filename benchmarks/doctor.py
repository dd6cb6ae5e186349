"""What one doctor report costs, against the same AWS calls and Livy handshake made bare.

    python benchmarks/doctor.py [--repeat 9]

On a strict emulator (AWS over HTTPS with its own CA, two names for the primary),
for the ready cluster and the demo user's default role: ``diagnose()`` in this
process (its clients warm after a first report, the Livy probe made fresh each
time as the doctor makes it) against the calls its checks need, made one after
another with warm boto3 clients: DescribeCluster, ListInstanceGroups,
DescribeSecurityConfiguration, GetRole, GetInstanceProfile, GetDataLakeSettings,
GetClusterSessionCredentials, ListInstances and one verified TLS handshake with
Livy. The two are timed alternately. The goal: at most about one connect's AWS
calls, so the ratio stays near or below 1. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile

import boto3
from measure import timed

CLI = [sys.executable, "-m", "jupyter_emr_roles"]
SALES = "arn:aws:iam::123456789012:role/sales-data-access"


def start_emulator() -> tuple[str, dict[str, str]]:
    state_dir = tempfile.mkdtemp(prefix="bench-doctor-")
    out = subprocess.run([*CLI, "local", "up", "--detach", "--state-dir", state_dir,
                          "--spark", "fake", "--strict"],
                         check=True, capture_output=True, text=True).stdout
    return state_dir, dict(shlex.split(line)[1].split("=", 1) for line in out.splitlines()
                           if line.startswith("export "))


class Bare:
    """The calls the checks make, one after another, with warm clients."""

    def __init__(self, cluster_id: str, livy_ca: str) -> None:
        self.cluster_id = cluster_id
        self.emr, self.iam = boto3.client("emr"), boto3.client("iam")
        self.lakeformation = boto3.client("lakeformation")
        self.context = ssl.create_default_context(cafile=livy_ca)

    def report(self) -> None:
        cluster = self.emr.describe_cluster(ClusterId=self.cluster_id)["Cluster"]
        self.emr.list_instance_groups(ClusterId=self.cluster_id)
        self.emr.describe_security_configuration(Name=cluster["SecurityConfiguration"])
        self.iam.get_role(RoleName="sales-data-access")
        self.iam.get_instance_profile(
            InstanceProfileName=cluster["Ec2InstanceAttributes"]["IamInstanceProfile"])
        self.lakeformation.get_data_lake_settings()
        self.emr.get_cluster_session_credentials(ClusterId=self.cluster_id,
                                                 ExecutionRoleArn=SALES)
        primary = self.emr.list_instances(ClusterId=self.cluster_id,
                                          InstanceGroupTypes=["MASTER"])["Instances"][0]
        port = next(int(c["Properties"]["livy.server.port"]) for c in cluster["Configurations"]
                    if c["Classification"] == "livy-conf")
        host = primary["PrivateDnsName"]
        with socket.create_connection((host, port), 5) as raw, \
                self.context.wrap_socket(raw, server_hostname=host):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    options = parser.parse_args()
    state_dir, env = start_emulator()
    try:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            os.environ.pop(name, None)
        os.environ.update(env)
        from jupyter_emr_roles.connect_request import ConnectRequest
        from jupyter_emr_roles.doctor import diagnose
        from jupyter_emr_roles.identifiers import ClusterId

        clusters = boto3.client("emr").list_clusters()["Clusters"]
        cluster_id = next(c["Id"] for c in clusters if c["Name"] == "shared-analytics")
        request = ConnectRequest(cluster_id=ClusterId(cluster_id, "the benchmark"))

        def ours() -> None:
            assert diagnose(request, lambda warning: None).ready

        bare = Bare(cluster_id, env["JUPYTER_EMR_ROLES_CA_BUNDLE"])
        ours()
        bare.report()
        samples = [(timed(ours, 1), timed(bare.report, 1)) for _ in range(options.repeat)]
    finally:
        subprocess.run([*CLI, "local", "down", "--state-dir", state_dir], capture_output=True)
    mine = statistics.median(s[0] for s in samples)
    base = statistics.median(s[1] for s in samples)
    print(f"| figure | ours | bare | ratio |\n|---|---|---|---|\n| doctor report (14 checks) vs "
          f"its calls made bare, one after another | {mine * 1000:.1f} ms | {base * 1000:.1f} ms "
          f"| {mine / base:.2f}x |")


if __name__ == "__main__":
    main()

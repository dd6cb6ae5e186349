"""What the quick start runs against `jupyter-emr-roles local up`: one Spark session under a runtime role.

It does by hand what the `%%connect` magic does for you: ask EMR for Livy
credentials for a runtime role (GetClusterSessionCredentials), find the
cluster's Livy endpoint the way a real client must (the primary node's private
DNS name from ListInstances, which its certificate names, and livy-conf's port
from DescribeCluster), wait until Livy accepts the new login (EMR propagates
it for a few seconds), open a session and run code in it. Livy's certificate is
checked against Livy's own CA (JUPYTER_EMR_ROLES_CA_BUNDLE), never AWS's.
"""

import os
import sys
import time

import boto3
import requests

ROLE = "arn:aws:iam::123456789012:role/sales-data-access"


def main() -> None:
    emr = boto3.client("emr")
    clusters = {c["Name"]: c["Id"] for c in emr.list_clusters(ClusterStates=["RUNNING", "WAITING"])["Clusters"]}
    cluster = emr.describe_cluster(ClusterId=clusters["shared-analytics"])["Cluster"]
    port = next(c["Properties"]["livy.server.port"] for c in cluster["Configurations"]
                if c["Classification"] == "livy-conf")
    (primary,) = emr.list_instances(ClusterId=cluster["Id"],
                                    InstanceGroupTypes=["MASTER"])["Instances"]
    livy = f"https://{primary['PrivateDnsName']}:{port}"
    print(f"cluster {cluster['Id']} ({cluster['Name']}, {cluster['ReleaseLabel']}), Livy at {livy}")

    answer = emr.get_cluster_session_credentials(ClusterId=cluster["Id"], ExecutionRoleArn=ROLE)
    login = answer["Credentials"]["UsernamePassword"]
    http = Livy(livy, (login["Username"], login["Password"]),
                os.environ["JUPYTER_EMR_ROLES_CA_BUNDLE"])
    print(f"Livy credentials for {ROLE} valid until {answer['ExpiresAt']:%H:%M:%S}")
    http.wait_until_accepted()

    session = http.call("POST", "/sessions", json={"kind": "pyspark"})
    started = time.monotonic()
    while session["state"] in ("not_started", "starting"):
        print(f"\rstarting Spark... {time.monotonic() - started:.0f} s", end="", flush=True)
        time.sleep(1)
        session = http.call("GET", f"/sessions/{session['id']}")
    print(f"\rSpark session {session['id']} is {session['state']}")
    try:
        for code in ['import boto3; boto3.client("sts").get_caller_identity()["Arn"]',
                     "spark.range(1000).selectExpr('sum(id)').first()[0]",
                     's3 = boto3.client("s3"); '
                     's3.get_object(Bucket="demo-data", Key="sales/orders.csv")["Body"].read().decode()',
                     's3.get_object(Bucket="demo-data", Key="marketing/customers.csv")']:
            print(f">>> {code}\n{run(http, session['id'], code)}")
    finally:
        http.call("DELETE", f"/sessions/{session['id']}")


class Livy:
    """A few Livy REST calls with Basic auth and the emulator's CA.

    The CA goes with every request: requests lets REQUESTS_CA_BUNDLE from the
    environment replace a Session's own ``verify``.
    """

    def __init__(self, url: str, auth: tuple[str, str], ca_bundle: str) -> None:
        self.url, self.auth, self.ca_bundle = url, auth, ca_bundle

    def call(self, method: str, path: str, **kwargs: object) -> dict:
        response = self.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return requests.request(method, self.url + path, auth=self.auth, verify=self.ca_bundle,
                                timeout=30, **kwargs)

    def wait_until_accepted(self, seconds: float = 15.0) -> None:
        """Livy answers 401 until EMR has propagated a fresh login."""
        deadline = time.monotonic() + seconds
        while self.request("GET", "/sessions").status_code == 401 and time.monotonic() < deadline:
            time.sleep(0.2)


def run(http: Livy, session_id: int, code: str) -> str:
    statement = http.call("POST", f"/sessions/{session_id}/statements", json={"code": code})
    while statement["state"] not in ("available", "error", "cancelled"):
        time.sleep(0.3)
        statement = http.call("GET", f"/sessions/{session_id}/statements/{statement['id']}")
    output = statement["output"]
    if output["status"] == "ok":
        return output["data"]["text/plain"]
    return f"{output['ename']}: {output['evalue']}"


if __name__ == "__main__":
    sys.exit(main())

"""Importing the emulator leaves moto as it is for every other user in the process: moto's
own mock_aws EMR, with moto's IAM checks on, still refuses a user no policy allows, and
still serves one that a policy allows."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

import jupyter_emr_roles.local.emulator  # noqa: F401  (all of it, as `local up` imports it)

EMR_USER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "elasticmapreduce:*", "Resource": "*"}]}


def keys_of(iam, user: str, policy: dict | None = None) -> dict[str, str]:
    """A new IAM user's access key (two or three IAM calls, which moto does not check)."""
    iam.create_user(UserName=user)
    if policy is not None:
        iam.put_user_policy(UserName=user, PolicyName="emr", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"]}


@set_initial_no_auth_action_count(5)
@mock_aws
def test_moto_s_own_emr_keeps_its_permission_checks(home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's mock reaches AWS's own endpoints only: no endpoint of the developer's shell."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    iam = boto3.client("iam", region_name="us-east-1")
    allowed = boto3.client("emr", region_name="us-east-1",
                           **keys_of(iam, "allowed", EMR_USER_POLICY))
    refused = boto3.client("emr", region_name="us-east-1", **keys_of(iam, "refused"))
    cluster = allowed.run_job_flow(Name="plain", ReleaseLabel="emr-7.1.0", Instances={
        "MasterInstanceType": "m5.xlarge", "InstanceCount": 1}, JobFlowRole="EMR_EC2",
        ServiceRole="EMR")["JobFlowId"]
    assert allowed.describe_cluster(ClusterId=cluster)["Cluster"]["Name"] == "plain"
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        refused.describe_cluster(ClusterId=cluster)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "is not authorized to perform: elasticmapreduce:DescribeCluster" in str(caught.value)

"""The emulator's seeded world, declared in one JSON file and created through the AWS API.

Seeding goes through boto3 against the running emulator, the same wire a
user's code takes, so a world file is also a small, readable script of what
an admin would set up in a real account: an instance profile, runtime roles
that trust it and may each read one S3 prefix, security configurations, a
runtime-role-ready cluster and one cluster of each broken kind.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import boto3
from pydantic import BaseModel, ConfigDict, Field

from ..errors import EmrRolesError
from ..identifiers import AccountId

log = logging.getLogger(__name__)

_MODEL = ConfigDict(extra="forbid", frozen=True)


class WorldRole(BaseModel):
    model_config = _MODEL
    name: str = Field(pattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$")
    label: str | None = None
    reads: list[str] = Field(default_factory=list, description="s3://bucket/prefix/ it may read")
    trusts_cluster: bool = Field(True, description="Whether its trust policy trusts the clusters' "
                                                   "instance profile role (false makes a broken role)")


class WorldCluster(BaseModel):
    model_config = _MODEL
    name: str
    release: str = "emr-7.1.0"
    security_configuration: str | None = "runtime-roles"
    primary_nodes: int = Field(1, ge=1, le=3)
    state: Literal["WAITING", "TERMINATED"] = "WAITING"
    applications: list[str] = Field(default_factory=lambda: ["Hadoop", "Spark", "Livy"])
    livy: Literal["up", "unreachable"] = Field(
        "up", description="unreachable: DescribeCluster names a Livy port nothing listens on")
    session_start_seconds: float = Field(
        0, ge=0, description="How long each new Livy session stays starting before its engine "
                             "starts (a busy cluster)")


class DemoUser(BaseModel):
    model_config = _MODEL
    name: str
    roles: list[str]
    default_role: str | None = None
    emr_actions: list[str] = Field(
        default_factory=lambda: ["elasticmapreduce:Describe*", "elasticmapreduce:List*",
                                 "elasticmapreduce:AddJobFlowSteps"],
        description="EMR actions the user may call on any cluster, besides "
                    "GetClusterSessionCredentials for its roles ([] makes a user who cannot "
                    "even list clusters)")


class World(BaseModel):
    model_config = _MODEL
    account: str = "123456789012"
    region: str = "us-east-1"
    instance_profile: str = "EMR_EC2_DefaultRole"
    security_configurations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    roles: list[WorldRole] = Field(default_factory=list)
    buckets: dict[str, dict[str, str]] = Field(default_factory=dict)
    clusters: list[WorldCluster] = Field(default_factory=list)
    demo_user: DemoUser | None = None


def load_world(path: Path | None = None) -> World:
    """The world in ``path``, or the one shipped with the package."""
    if path is None:
        text = resources.files(__package__).joinpath("world.default.json").read_text("utf-8")
        return World.model_validate_json(text)
    try:
        return World.model_validate_json(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise EmrRolesError(f"The world file {path} cannot be used: {exc}".replace("\n", " ")) \
            from None


@dataclass
class SeededWorld:
    """What seeding created, for `local up`'s output, the status and the tests."""

    account: str
    region: str
    clusters: dict[str, str] = field(default_factory=dict)  # name -> cluster ID
    roles: dict[str, str] = field(default_factory=dict)  # name -> role ARN
    labels: dict[str, str] = field(default_factory=dict)  # role ARN -> label
    instance_profile_role_arn: str = ""
    demo_user: str | None = None
    demo_access_key: tuple[str, str] | None = None
    demo_roles: list[str] = field(default_factory=list)
    demo_default_role: str | None = None

    def demo_roles_file(self) -> dict[str, Any]:
        """The demo user's roles file, in our own format."""
        roles = [{"arn": arn, **({"label": self.labels[arn]} if arn in self.labels else {}),
                  **({"default": True} if arn == self.demo_default_role else {})}
                 for arn in self.demo_roles]
        return {"version": 1, "accounts": {self.account: {"roles": roles}}}


def _trust_policy(principal_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": principal_arn},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]})


def _read_policy(prefixes: list[str]) -> str:
    statements = []
    for uri in prefixes:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        statements += [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
             "Condition": {"StringLike": {"s3:prefix": f"{prefix}*"}}},
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def seed(world: World, endpoint: str, filler_clusters: int = 0) -> SeededWorld:
    """Create ``world`` in the emulator at ``endpoint`` (plus N plain filler clusters)."""
    session = boto3.Session(aws_access_key_id="seed", aws_secret_access_key="seed",
                            region_name=world.region)
    iam, s3, emr = (session.client(name, endpoint_url=endpoint) for name in ("iam", "s3", "emr"))
    AccountId(world.account, "the world file's account")
    seeded = SeededWorld(account=world.account, region=world.region)

    ec2_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    profile_role = iam.create_role(RoleName=world.instance_profile,
                                   AssumeRolePolicyDocument=ec2_trust)["Role"]["Arn"]
    iam.create_instance_profile(InstanceProfileName=world.instance_profile)
    iam.add_role_to_instance_profile(InstanceProfileName=world.instance_profile,
                                     RoleName=world.instance_profile)
    seeded.instance_profile_role_arn = profile_role
    iam.create_role(RoleName="EMR_DefaultRole", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "elasticmapreduce.amazonaws.com"}}]}))

    for role in world.roles:
        trusted = profile_role if role.trusts_cluster else \
            f"arn:aws:iam::{world.account}:role/another-clusters-profile"
        arn = iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=_trust_policy(trusted),
                              Description=f"EMR runtime role: {role.label or role.name}")["Role"]["Arn"]
        if role.reads:
            iam.put_role_policy(RoleName=role.name, PolicyName="data-access",
                                PolicyDocument=_read_policy(role.reads))
        seeded.roles[role.name] = arn
        if role.label:
            seeded.labels[arn] = role.label

    for bucket, objects in world.buckets.items():
        s3.create_bucket(Bucket=bucket) if world.region == "us-east-1" else s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": world.region})
        for key, body in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))

    for name, config in world.security_configurations.items():
        emr.create_security_configuration(Name=name, SecurityConfiguration=json.dumps(config))

    for cluster in world.clusters:
        seeded.clusters[cluster.name] = _run_cluster(emr, world, cluster)
    for number in range(1, filler_clusters + 1):
        seeded.clusters[f"filler-{number:04d}"] = _run_cluster(
            emr, world, WorldCluster(name=f"filler-{number:04d}", applications=["Spark"]), simple=True)

    if world.demo_user:
        _seed_demo_user(iam, world.demo_user, seeded)
    log.info("seeded %d clusters and %d roles", len(seeded.clusters), len(seeded.roles))
    return seeded


def _run_cluster(emr: Any, world: World, cluster: WorldCluster, simple: bool = False) -> str:
    if simple:
        instances: dict[str, Any] = {"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                                     "KeepJobFlowAliveWhenNoSteps": True}
    else:
        instances = {"KeepJobFlowAliveWhenNoSteps": True, "InstanceGroups": [
            {"Name": "Primary", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge",
             "InstanceCount": cluster.primary_nodes, "Market": "ON_DEMAND"},
            {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge",
             "InstanceCount": 2, "Market": "ON_DEMAND"}]}
    request: dict[str, Any] = {
        "Name": cluster.name, "ReleaseLabel": cluster.release, "Instances": instances,
        "Applications": [{"Name": app} for app in cluster.applications],
        "JobFlowRole": world.instance_profile, "ServiceRole": "EMR_DefaultRole",
        "VisibleToAllUsers": True, "Tags": [{"Key": "jupyter-emr-roles:world", "Value": cluster.name}],
    }
    if cluster.security_configuration:
        request["SecurityConfiguration"] = cluster.security_configuration
    cluster_id = emr.run_job_flow(**request)["JobFlowId"]
    if cluster.state == "TERMINATED":
        emr.terminate_job_flows(JobFlowIds=[cluster_id])
    return cluster_id


def _seed_demo_user(iam: Any, user: DemoUser, seeded: SeededWorld) -> None:
    arns = [seeded.roles[name] for name in user.roles]
    iam.create_user(UserName=user.name)
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "elasticmapreduce:GetClusterSessionCredentials",
         "Resource": "*", "Condition": {"StringEquals": {"elasticmapreduce:ExecutionRoleArn": arns}}}]
    if user.emr_actions:
        statements.insert(0, {"Effect": "Allow", "Action": user.emr_actions, "Resource": "*"})
    iam.put_user_policy(UserName=user.name, PolicyName="emr-runtime-roles", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=user.name)["AccessKey"]
    seeded.demo_user = user.name
    seeded.demo_access_key = (key["AccessKeyId"], key["SecretAccessKey"])
    seeded.demo_roles = arns
    seeded.demo_default_role = seeded.roles[user.default_role] if user.default_role else None

"""The emulator's seeded world, declared in one JSON file and created through the AWS API.

Seeding goes through boto3 against the running emulator, the same wire a
user's code takes, so a world file is also a small, readable script of what
an admin would set up in a real account: an instance profile, runtime roles
that trust it and may each read one S3 prefix, security configurations, a
runtime-role-ready cluster and one cluster of each broken kind, and EMR Serverless
applications for each way in (a Livy endpoint, Spark Connect sessions), one stopped with
auto-start and one too old for either.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import boto3
from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    trust_actions: list[str] = Field(
        default_factory=lambda: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        description="What its trust policy allows the instance profile role (EMR needs "
                    "sts:AssumeRole and sts:TagSession, and sts:SetSourceIdentity with source "
                    "identity propagation)")
    external_id: str | None = Field(None, description="An sts:ExternalId its trust demands")
    trusts_serverless: bool = Field(True, description="Whether its trust policy also trusts "
                                                      "EMR Serverless (emr-serverless.amazonaws.com)"
                                                      " to assume it as a job role")
    trust_policy: dict[str, Any] | None = Field(
        None, description="A whole trust policy instead of the one the fields above make "
                          "(examples/admin/runtime-role-trust-policy.json)")


class WorldGrant(BaseModel):
    """An S3 Access Grant to a runtime role of the main account, as an admin or an external
    policy engine would create it."""

    model_config = _MODEL
    role: str
    prefix: str = Field(pattern=r"^s3://[a-z0-9.-]+/.*$",
                        description="What it covers, e.g. s3://demo-data/sales/*")
    permission: Literal["READ", "WRITE", "READWRITE"] = "READ"


class WorldCluster(BaseModel):
    model_config = _MODEL
    name: str
    release: str = "emr-7.1.0"
    security_configuration: str | None = "runtime-roles"
    primary_nodes: int = Field(1, ge=1, le=3)
    state: Literal["WAITING", "TERMINATED"] = "WAITING"
    applications: list[str] = Field(default_factory=lambda: ["Hadoop", "Spark", "Livy"])
    livy: Literal["up", "unreachable", "http"] = Field(
        "up", description="unreachable: DescribeCluster names a Livy port nothing listens on; "
                          "http: Livy serves plain HTTP, as EMR 6.9 to 7.3 do unless the admin "
                          "enables TLS for Livy")
    livy_port_in: Literal["cluster", "instance-group"] = Field(
        "cluster", description="Where livy-conf's livy.server.port is set: in the cluster's "
                               "configurations, or only in the primary instance group's")
    session_start_seconds: float = Field(
        0, ge=0, description="How long each new Livy session stays starting before its engine "
                             "starts (a busy cluster)")
    statement_seconds: float = Field(
        0, ge=0, description="How long each statement waits before it runs (busy executors)")
    log_uri: str | None = Field(None, pattern=r"^s3://[a-z0-9.-]+/.*$",
                                description="Where EMR puts the cluster's logs, steps' among "
                                            "them")
    configurations: list[dict[str, Any]] = Field(
        default_factory=list, description="EMR configurations (emrfs-site for S3 Access Grants "
                                          "or an EMRFS credentials provider, ...)")
    sessions_tied_to_login: bool = Field(
        False, description="Whether a Livy session belongs to the login that created it, so a "
                           "renewed login (a new user name) cannot reach it")
    session_enabled: bool = Field(
        False, description="SessionEnabled: EMR's Spark Connect sessions (StartSession) on the "
                           "cluster, from emr-spark-8.0.0")


class WorldServerlessApplication(BaseModel):
    """An EMR Serverless application of an account, created and brought to its state
    through the emr-serverless API, as an admin's script would."""

    model_config = _MODEL
    name: str = Field(pattern=r"^[A-Za-z0-9._/#-]{1,64}$")
    release: str = Field("emr-7.13.0", pattern=r"^emr-\d+\.\d+\.\d+$")
    state: Literal["CREATED", "STARTED", "STOPPED"] = "STARTED"
    livy_endpoint: bool = Field(False, description="interactiveConfiguration.livyEndpointEnabled "
                                                   "(emr-6.14.0 and later)")
    sessions: bool = Field(False, description="interactiveConfiguration.sessionEnabled: Spark "
                                              "Connect sessions (StartSession)")
    studio: bool = Field(False, description="interactiveConfiguration.studioEnabled")
    auto_start: bool = Field(True, description="autoStartConfiguration.enabled")
    auto_stop_minutes: int | None = Field(
        15, ge=1, le=10080, description="autoStopConfiguration.idleTimeoutMinutes; null turns "
                                        "auto-stop off, so the application keeps its state")

    def request(self) -> dict[str, Any]:
        """CreateApplication's parameters for it."""
        return {"name": self.name, "releaseLabel": self.release, "type": "SPARK",
                "autoStartConfiguration": {"enabled": self.auto_start},
                "autoStopConfiguration": {"enabled": False} if self.auto_stop_minutes is None
                else {"enabled": True, "idleTimeoutMinutes": self.auto_stop_minutes},
                "interactiveConfiguration": {"livyEndpointEnabled": self.livy_endpoint,
                                             "sessionEnabled": self.sessions,
                                             "studioEnabled": self.studio}}


class DemoUser(BaseModel):
    """An IAM user of the main account who may pass some of its runtime roles."""

    model_config = _MODEL
    name: str
    roles: list[str]
    default_role: str | None = None
    emr_actions: list[str] = Field(
        default_factory=lambda: ["elasticmapreduce:Describe*", "elasticmapreduce:List*",
                                 "elasticmapreduce:CancelSteps", "elasticmapreduce:GetSession",
                                 "elasticmapreduce:GetSessionEndpoint",
                                 "elasticmapreduce:TerminateSession"],
        description="EMR actions the user may call on any cluster, besides "
                    "GetClusterSessionCredentials and AddJobFlowSteps for its roles ([] makes "
                    "a user who cannot even list clusters)")
    serverless_actions: list[str] = Field(
        default_factory=lambda: ["emr-serverless:GetApplication", "emr-serverless:ListApplications",
                                 "emr-serverless:StartApplication",
                                 "emr-serverless:AccessLivyEndpoints",
                                 "emr-serverless:StartSession", "emr-serverless:GetSession",
                                 "emr-serverless:ListSessions",
                                 "emr-serverless:GetSessionEndpoint",
                                 "emr-serverless:TerminateSession",
                                 "emr-serverless:StartJobRun", "emr-serverless:GetJobRun",
                                 "emr-serverless:ListJobRuns", "emr-serverless:CancelJobRun",
                                 "emr-serverless:GetDashboardForJobRun"],
        description="EMR Serverless actions the user may call on any application (passing its "
                    "roles to EMR Serverless is allowed besides)")
    reads: list[str] = Field(default_factory=list,
                             description="s3://bucket/prefix/ it may read (step logs)")
    writes: list[str] = Field(default_factory=list,
                              description="s3://bucket/prefix/ it may write (step scripts)")
    policy: dict[str, Any] | None = Field(
        None, description="A whole IAM policy instead of the one emr_actions and read_actions "
                          "make (examples/admin/caller-policy.json)")
    read_actions: list[str] = Field(
        default_factory=lambda: ["iam:GetRole", "iam:GetInstanceProfile",
                                 "lakeformation:GetDataLakeSettings",
                                 "s3:GetAccessGrantsInstance", "s3:ListAccessGrants",
                                 "s3:ListAccessGrantsLocations", "cloudtrail:LookupEvents",
                                 "sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile",
                                 "sagemaker:DescribeSpace", "iam:SimulatePrincipalPolicy"],
        description="Read-only calls beyond EMR, which `jupyter-emr-roles doctor`, `grants` and "
                    "`audit` make")


class AccountWorld(BaseModel):
    """What one AWS account holds: the clusters' instance profile, security configurations,
    runtime roles, clusters and EMR Serverless applications."""

    model_config = _MODEL
    account: str = "123456789012"
    instance_profile: str = "EMR_EC2_DefaultRole"
    instance_profile_actions: list[str] = Field(
        default_factory=lambda: ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
        description="What the instance profile role's own policy allows on the account's "
                    "runtime roles (EMR needs sts:AssumeRole and sts:TagSession there as well as "
                    "in the roles' trust, and sts:SetSourceIdentity where source identity "
                    "propagates)")
    security_configurations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    roles: list[WorldRole] = Field(default_factory=list)
    clusters: list[WorldCluster] = Field(default_factory=list)
    serverless_applications: list[WorldServerlessApplication] = Field(default_factory=list)


class PartnerAccount(AccountWorld):
    """Another account, whose clusters the demo user reaches through an access role there
    (cross-account), as a platform team with clusters in several accounts has them."""

    account: str
    access_role: str = Field("emr-access", pattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$",
                             description="The role the demo user's account may assume here")
    demo_roles: list[str] = Field(default_factory=list,
                                  description="Runtime roles of this account the demo user "
                                              "may pass, through the access role")
    default_role: str | None = None
    access_role_allows_source_identity: bool = Field(
        True, description="Whether the access role's trust lets callers set a source identity "
                          "(sts:SetSourceIdentity)")
    access_role_serverless_actions: list[str] = Field(
        default_factory=list,
        description="EMR Serverless actions the access role may call on this account's "
                    "applications ([]: it may not even list them)")


class WorldEmrSettings(BaseModel):
    """Studio's JupyterLabAppSettings.EmrSettings: runtime roles and access roles, as ARNs."""

    model_config = _MODEL
    ExecutionRoleArns: list[str] = Field(default_factory=list)
    AssumableRoleArns: list[str] = Field(default_factory=list)


class WorldSpace(BaseModel):
    """A Studio space: shared (the domain's DefaultSpaceSettings apply), or private to the user
    profile that owns it."""

    model_config = _MODEL
    sharing: Literal["Private", "Shared"]
    owner: str | None = None


class WorldStudioDomain(BaseModel):
    """A SageMaker Studio domain of the main account, for DescribeDomain and
    DescribeUserProfile: the domain's default EmrSettings and each profile's own."""

    model_config = _MODEL
    domain_id: str = Field(pattern=r"^d-[a-z0-9]{1,61}$")
    default_emr_settings: WorldEmrSettings | None = None
    user_profiles: dict[str, WorldEmrSettings | None] = Field(default_factory=dict)
    default_space_emr_settings: WorldEmrSettings | None = Field(
        None, description="DefaultSpaceSettings' EmrSettings, which apply to shared spaces")
    spaces: dict[str, WorldSpace] = Field(default_factory=dict)


class World(AccountWorld):
    region: str = "us-east-1"
    studio_domain: WorldStudioDomain | None = None
    lake_formation_session_tags: list[str] = Field(
        default_factory=lambda: ["Amazon EMR"],
        description="The session tag values Lake Formation's external data filtering accepts")
    s3_access_grants: list[WorldGrant] = Field(
        default_factory=list, description="S3 Access Grants of the main account's instance "
                                          "(none: the account has no instance)")
    buckets: dict[str, dict[str, str]] = Field(default_factory=dict)
    demo_user: DemoUser | None = None
    other_users: list[DemoUser] = Field(
        default_factory=list, description="More users of the main account, whose settings "
                                          "`local env --user NAME` prints (the demo user alone "
                                          "reaches the partner accounts)")
    partner_accounts: list[PartnerAccount] = Field(default_factory=list)

    @model_validator(mode="after")
    def _application_names_once(self) -> World:
        """Seeding reports applications by name, whichever account holds them."""
        names = [app.name for account in (self, *self.partner_accounts)
                 for app in account.serverless_applications]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError("an EMR Serverless application name is used twice across the "
                             f"accounts: {', '.join(repeated)}")
        return self

    def all_clusters(self) -> list[tuple[str, WorldCluster]]:
        """Every cluster of every account, with its account."""
        return [(account.account, cluster) for account in (self, *self.partner_accounts)
                for cluster in account.clusters]


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
class SeededPartner:
    """A partner account as seeded: its access role and the runtime roles the demo user may
    pass there."""

    account: str
    access_role: str
    roles: list[str]
    default_role: str | None


@dataclass(frozen=True)
class SeededUser:
    """An IAM user as seeded: its access key and the runtime roles it may pass."""

    access_key: tuple[str, str]
    roles: list[str]
    default_role: str | None


@dataclass
class SeededWorld:
    """What seeding created, for `local up`'s output, the status and the tests."""

    account: str
    region: str
    clusters: dict[str, str] = field(default_factory=dict)  # name -> cluster ID
    cluster_accounts: dict[str, str] = field(default_factory=dict)  # cluster ID -> account
    roles: dict[str, str] = field(default_factory=dict)  # name -> role ARN, main account
    labels: dict[str, str] = field(default_factory=dict)  # role ARN -> label
    demo_user: str | None = None
    users: dict[str, SeededUser] = field(default_factory=dict)  # the demo user's among them
    partners: list[SeededPartner] = field(default_factory=list)
    applications: dict[str, str] = field(default_factory=dict)  # name -> Serverless app ID

    def roles_file(self, name: str) -> dict[str, Any]:
        """A user's roles file, in our own format: the main account's roles, and for the demo
        user each partner account's with its access role."""
        user = self.users[name]
        accounts: dict[str, Any] = {
            self.account: {"roles": self._entries(user.roles, user.default_role)}}
        for partner in self.partners if name == self.demo_user else ():
            accounts[partner.account] = {
                "roles": self._entries(partner.roles, partner.default_role),
                "access_role": partner.access_role}
        return {"version": 1, "accounts": accounts}

    def _entries(self, arns: list[str], default: str | None) -> list[dict[str, Any]]:
        return [{"arn": arn, **({"label": self.labels[arn]} if arn in self.labels else {}),
                 **({"default": True} if arn == default else {})} for arn in arns]


@dataclass(frozen=True)
class _Clients:
    """IAM, S3, EMR, Lake Formation and EMR Serverless clients that act in one account of the
    emulator."""

    iam: Any
    s3: Any
    emr: Any
    lakeformation: Any
    serverless: Any


def _clients(endpoint: str, region: str, account: str, verify: str | bool) -> _Clients:
    """Clients for ``account``: moto's server takes the account from its x-moto-account-id
    header while nothing is enforced, which is how seeding reaches a second account."""
    session = boto3.Session(aws_access_key_id="seed", aws_secret_access_key="seed",
                            region_name=region)
    made = [session.client(name, endpoint_url=endpoint, verify=verify)
            for name in ("iam", "s3", "emr", "lakeformation", "emr-serverless")]
    for client in made:
        client.meta.events.register(
            "before-send", lambda request, **_: request.headers.__setitem__(
                "x-moto-account-id", account))
    return _Clients(*made)


def _trust_policy(principal_arn: str, actions: tuple[str, ...] = (
        "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"),
        external_id: str | None = None, serverless: bool = False) -> str:
    """Trust in ``principal_arn`` (a cluster's instance profile role, an account), and with
    ``serverless`` in EMR Serverless too, as a job role's trust policy names it."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal_arn},
                                 "Action": list(actions)}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    statements = [statement]
    if serverless:
        statements.append({"Effect": "Allow",
                           "Principal": {"Service": "emr-serverless.amazonaws.com"},
                           "Action": "sts:AssumeRole"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _s3_statements(prefixes: list[str], actions: list[str]) -> list[dict[str, Any]]:
    return [{"Effect": "Allow", "Action": actions,
             "Resource": f"arn:aws:s3:::{uri.removeprefix('s3://')}*"} for uri in prefixes]


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


def _allow(policy: dict[str, Any], actions: list[str]) -> None:
    """Add ``actions`` on any resource to ``policy``; none adds no statement (an empty Action
    list is not a valid statement)."""
    if actions:
        policy["Statement"].append({"Effect": "Allow", "Action": actions, "Resource": "*"})


def _emr_policy(actions: list[str], runtime_roles: list[str]) -> dict[str, Any]:
    """EMR rights of a notebook user: ``actions`` on any cluster, and
    GetClusterSessionCredentials, AddJobFlowSteps and StartSession (with iam:PassRole) for
    ``runtime_roles`` only."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["elasticmapreduce:GetClusterSessionCredentials",
                                       "elasticmapreduce:AddJobFlowSteps",
                                       "elasticmapreduce:StartSession"],
         "Resource": "*",
         "Condition": {"StringEquals": {"elasticmapreduce:ExecutionRoleArn": runtime_roles}}}]
    if runtime_roles:
        statements.append({"Effect": "Allow", "Action": "iam:PassRole", "Resource": runtime_roles,
                           "Condition": {"StringEquals": {"iam:PassedToService": [
                               "elasticmapreduce.amazonaws.com",
                               "emr-serverless.amazonaws.com"]}}})
    if actions:
        statements.insert(0, {"Effect": "Allow", "Action": actions, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def seed(world: World, endpoint: str, filler_clusters: int = 0,
         verify: str | bool = True) -> SeededWorld:
    """Create ``world`` in the emulator at ``endpoint`` (plus N plain filler clusters)."""
    for account in (world, *world.partner_accounts):
        AccountId(account.account, "the world file's account")
    seeded = SeededWorld(account=world.account, region=world.region)
    main = _clients(endpoint, world.region, world.account, verify)
    seeded.roles = _seed_account(main, world, seeded)
    _seed_buckets(main.s3, world)
    main.lakeformation.put_data_lake_settings(DataLakeSettings={
        "AllowExternalDataFiltering": bool(world.lake_formation_session_tags),
        "ExternalDataFilteringAllowList": [{"DataLakePrincipalIdentifier": world.account}],
        "AuthorizedSessionTagValueList": world.lake_formation_session_tags})
    if world.s3_access_grants:
        _seed_access_grants(main.iam, _s3control(endpoint, world.region, world.account, verify),
                            world, seeded.roles)
    for number in range(1, filler_clusters + 1):
        name = f"filler-{number:04d}"
        cluster_id = _run_cluster(main.emr, world, WorldCluster(name=name, applications=["Spark"]),
                                  simple=True)
        seeded.clusters[name] = cluster_id
        seeded.cluster_accounts[cluster_id] = world.account
    partners = [(partner, _clients(endpoint, world.region, partner.account, verify))
                for partner in world.partner_accounts]
    partner_roles = [_seed_account(clients, partner, seeded) for partner, clients in partners]
    if world.demo_user:
        seeded.partners = [_seed_partner_access(clients, partner, roles, world.account)
                           for (partner, clients), roles in zip(partners, partner_roles)]
        seeded.demo_user = world.demo_user.name
        access_roles = [partner.access_role for partner in seeded.partners]
        seeded.users[world.demo_user.name] = _seed_user(main.iam, world.demo_user, seeded.roles,
                                                        access_roles)
    for user in world.other_users:
        seeded.users[user.name] = _seed_user(main.iam, user, seeded.roles, [])
    for account_world, clients in ((world, main), *partners):
        seeded.applications.update(_seed_applications(clients.serverless,
                                                      account_world.serverless_applications))
    log.info("seeded %d clusters in %d accounts", len(seeded.clusters), 1 + len(partners))
    return seeded


def _seed_account(clients: _Clients, world: AccountWorld, seeded: SeededWorld) -> dict[str, str]:
    """The instance profile, runtime roles, security configurations and clusters of one
    account; returns the runtime roles' ARNs by name."""
    iam = clients.iam
    ec2_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    profile_role = iam.create_role(RoleName=world.instance_profile,
                                   AssumeRolePolicyDocument=ec2_trust)["Role"]["Arn"]
    iam.create_instance_profile(InstanceProfileName=world.instance_profile)
    iam.add_role_to_instance_profile(InstanceProfileName=world.instance_profile,
                                     RoleName=world.instance_profile)
    iam.create_role(RoleName="EMR_DefaultRole", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "elasticmapreduce.amazonaws.com"}}]}))
    roles = {role.name: _create_runtime_role(iam, world, role, profile_role, seeded)
             for role in world.roles}
    if roles and world.instance_profile_actions:
        iam.put_role_policy(RoleName=world.instance_profile, PolicyName="assume-runtime-roles",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Action": world.instance_profile_actions,
                                "Resource": sorted(roles.values())}]}))
    for name, config in world.security_configurations.items():
        clients.emr.create_security_configuration(Name=name,
                                                  SecurityConfiguration=json.dumps(config))
    for cluster in world.clusters:
        cluster_id = _run_cluster(clients.emr, world, cluster)
        seeded.clusters[cluster.name] = cluster_id
        seeded.cluster_accounts[cluster_id] = world.account
    return roles


def _create_runtime_role(iam: Any, world: AccountWorld, role: WorldRole, profile_role: str,
                         seeded: SeededWorld) -> str:
    trusted = profile_role if role.trusts_cluster else \
        f"arn:aws:iam::{world.account}:role/another-clusters-profile"
    trust = json.dumps(role.trust_policy) if role.trust_policy else \
        _trust_policy(trusted, tuple(role.trust_actions), role.external_id,
                      role.trusts_serverless)
    arn: str = iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=trust,
                               Description=f"EMR runtime role: {role.label or role.name}"
                               )["Role"]["Arn"]
    if role.reads:
        iam.put_role_policy(RoleName=role.name, PolicyName="data-access",
                            PolicyDocument=_read_policy(role.reads))
    if role.label:
        seeded.labels[arn] = role.label
    return arn


def _s3control(endpoint: str, region: str, account: str, verify: str | bool) -> Any:
    """S3 Control at the emulator: botocore names the host after the account, which has no
    DNS here, so the request goes back to the endpoint's own host before it is signed."""
    client = boto3.client("s3control", endpoint_url=endpoint, region_name=region,
                          verify=verify, aws_access_key_id="seed", aws_secret_access_key="seed")
    netloc = urlsplit(endpoint).netloc

    def at_endpoint(request: Any, **_: Any) -> None:
        request.url = urlunsplit(urlsplit(request.url)._replace(netloc=netloc))

    client.meta.events.register("before-sign.s3-control", at_endpoint)
    return client


def _seed_access_grants(iam: Any, s3control: Any, world: World, roles: dict[str, str]) -> None:
    """The account's Access Grants instance, one location for all of S3, and the grants."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "access-grants.s3.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:SetContext"]}]})
    location_role = iam.create_role(RoleName="s3-access-grants-location",
                                    AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    s3control.create_access_grants_instance(AccountId=world.account)
    location = s3control.create_access_grants_location(
        AccountId=world.account, LocationScope="s3://", IAMRoleArn=location_role)
    for grant in world.s3_access_grants:
        s3control.create_access_grant(
            AccountId=world.account, AccessGrantsLocationId=location["AccessGrantsLocationId"],
            AccessGrantsLocationConfiguration={"S3SubPrefix": grant.prefix.removeprefix("s3://")},
            Grantee={"GranteeType": "IAM", "GranteeIdentifier": roles[grant.role]},
            Permission=grant.permission)


def _seed_buckets(s3: Any, world: World) -> None:
    for bucket, objects in world.buckets.items():
        s3.create_bucket(Bucket=bucket) if world.region == "us-east-1" else s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": world.region})
        for key, body in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))


def _run_cluster(emr: Any, world: AccountWorld, cluster: WorldCluster, simple: bool = False) -> str:
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
    if cluster.configurations:
        request["Configurations"] = cluster.configurations
    if cluster.log_uri:
        request["LogUri"] = cluster.log_uri
    if cluster.session_enabled:
        request["SessionEnabled"] = True
    cluster_id: str = emr.run_job_flow(**request)["JobFlowId"]
    if cluster.state == "TERMINATED":
        emr.terminate_job_flows(JobFlowIds=[cluster_id])
    return cluster_id


def _seed_partner_access(clients: _Clients, partner: PartnerAccount, roles: dict[str, str],
                         main_account: str) -> SeededPartner:
    """The access role of a partner account: the main account may assume it, and through it
    list and describe the clusters and get Livy credentials for the demo roles."""
    actions = ("sts:AssumeRole", "sts:TagSession") + (
        ("sts:SetSourceIdentity",) if partner.access_role_allows_source_identity else ())
    arn: str = clients.iam.create_role(
        RoleName=partner.access_role, AssumeRolePolicyDocument=_trust_policy(
            f"arn:aws:iam::{main_account}:root", actions),
        Description="EMR access role for notebooks of another account")["Role"]["Arn"]
    allowed = [roles[name] for name in partner.demo_roles]
    policy = _emr_policy(["elasticmapreduce:Describe*", "elasticmapreduce:List*",
                          "elasticmapreduce:CancelSteps", "elasticmapreduce:GetSession",
                          "elasticmapreduce:GetSessionEndpoint",
                          "elasticmapreduce:TerminateSession", "cloudtrail:LookupEvents"],
                         allowed)
    _allow(policy, partner.access_role_serverless_actions)
    clients.iam.put_role_policy(RoleName=partner.access_role, PolicyName="emr-notebooks",
                                PolicyDocument=json.dumps(policy))
    return SeededPartner(partner.account, arn, allowed,
                         roles[partner.default_role] if partner.default_role else None)


def _seed_user(iam: Any, user: DemoUser, roles: dict[str, str],
               access_roles: list[str]) -> SeededUser:
    """The user, its policy (the EMR and read actions it is given, GetClusterSessionCredentials
    for its roles, AssumeRole on the access roles) and an access key."""
    arns = [roles[name] for name in user.roles]
    iam.create_user(UserName=user.name)
    policy = _emr_policy(user.emr_actions, arns)
    _allow(policy, user.serverless_actions)
    _allow(policy, user.read_actions)
    if access_roles:
        policy["Statement"].append({"Effect": "Allow", "Action": "sts:AssumeRole",
                                    "Resource": access_roles})
    policy["Statement"] += _s3_statements(user.reads, ["s3:GetObject"])
    policy["Statement"] += _s3_statements(user.writes, ["s3:PutObject", "s3:GetObject"])
    iam.put_user_policy(UserName=user.name, PolicyName="emr-runtime-roles",
                        PolicyDocument=json.dumps(user.policy or policy))
    key = iam.create_access_key(UserName=user.name)["AccessKey"]
    return SeededUser((key["AccessKeyId"], key["SecretAccessKey"]), arns,
                      roles[user.default_role] if user.default_role else None)


def _seed_applications(serverless: Any, applications: list[WorldServerlessApplication]
                       ) -> dict[str, str]:
    """The EMR Serverless applications, each created, then started, then stopped as its state
    asks, waiting for each transition as an admin's script does; returns their IDs by name."""
    ids = {app.name: serverless.create_application(clientToken=f"world-{app.name}",
                                                   **app.request())["applicationId"]
           for app in applications}
    _wait_for(serverless, ids.values(), "CREATED")
    started = [ids[app.name] for app in applications if app.state != "CREATED"]
    for application_id in started:
        serverless.start_application(applicationId=application_id)
    _wait_for(serverless, started, "STARTED")
    stopped = [ids[app.name] for app in applications if app.state == "STOPPED"]
    for application_id in stopped:
        serverless.stop_application(applicationId=application_id)
    _wait_for(serverless, stopped, "STOPPED")
    return ids


def _wait_for(serverless: Any, application_ids: Iterable[str], state: str,
              timeout: float = 60.0) -> None:
    """Wait until every application is in ``state``, polling GetApplication."""
    deadline = time.monotonic() + timeout
    for application_id in application_ids:
        while serverless.get_application(applicationId=application_id)["application"][
                "state"] != state:
            if time.monotonic() > deadline:
                raise EmrRolesError(f"The world's EMR Serverless application {application_id} "
                                    f"did not reach {state} within {timeout:g} s.")
            time.sleep(0.1)

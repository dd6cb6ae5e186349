"""The AWS side of a connection: a boto3 session, the cluster's Livy URL, and Livy credentials.

Only the kernel calls this module: GetClusterSessionCredentials returns a
secret. Endpoints come from boto3's usual configuration (``AWS_ENDPOINT_URL``
included), so the local emulator and real AWS are reached the same way.
"""

from __future__ import annotations

import functools
import getpass
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from datetime import timezone
from typing import Any, TypeVar

import boto3
import botocore.exceptions
from botocore.config import Config

from .credentials import LivyLogin
from .errors import AwsCallError, ClusterNotReady
from .identifiers import ClusterId, RoleArn

log = logging.getLogger(__name__)

DEFAULT_LIVY_PORT = 8998
READY_STATES = ("RUNNING", "WAITING")
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10,
                  read_timeout=60)
T = TypeVar("T")
# The settings that decide who the caller is and where EMR is: a cached client is kept while
# they stay the same.
_AWS_ENV = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EMR",
            "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE")


def role_session_name(user: str | None = None) -> str:
    """A per-user STS session name, so CloudTrail shows who assumed the access role."""
    name = re.sub(r"[^\w+=,.@-]", "-", user or getpass.getuser())
    return f"jupyter-emr-roles-{name}"[:64]


def make_session(profile: str | None = None, region: str | None = None,
                 access_role_arn: RoleArn | None = None) -> boto3.Session:
    """A boto3 session for the caller, or for the cross-account access role it assumes first."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise AwsCallError(f"The AWS profile '{profile}' is not in your AWS config files; "
                           "check `aws configure list-profiles`, or leave --profile out.") from None
    if access_role_arn is None:
        return session
    sts = session.client("sts", config=_RETRIES)
    answer = _call(f"assuming the access role {access_role_arn}", lambda: sts.assume_role(
        RoleArn=access_role_arn, RoleSessionName=role_session_name()))
    keys = answer["Credentials"]
    return boto3.Session(aws_access_key_id=keys["AccessKeyId"],
                         aws_secret_access_key=keys["SecretAccessKey"],
                         aws_session_token=keys["SessionToken"],
                         region_name=session.region_name)


def caller_emr(profile: str | None = None, region: str | None = None) -> tuple[boto3.Session, Emr]:
    """The caller's session and EMR client, kept while the AWS settings stay the same.

    The AWS environment variables are part of the key, so ``%env AWS_PROFILE=...`` in a
    kernel (or new keys in the server's environment) takes effect: building a boto3 client
    loads the service model (about 150 ms), and boto3 refreshes the caller's credentials by
    itself. Access-role sessions are not kept: their keys expire."""
    return _caller_emr(profile, region, tuple(os.environ.get(name) for name in _AWS_ENV))


@functools.lru_cache(maxsize=8)
def _caller_emr(profile: str | None, region: str | None,
                environment: tuple[str | None, ...]) -> tuple[boto3.Session, Emr]:
    session = make_session(profile, region)
    return session, Emr(session)


class Emr:
    """The EMR calls a notebook connection makes."""

    def __init__(self, session: boto3.Session) -> None:
        self.client = session.client("emr", config=_RETRIES)

    def describe(self, cluster_id: ClusterId) -> dict[str, Any]:
        return _call(f"describing cluster {cluster_id}",
                     lambda: self.client.describe_cluster(ClusterId=cluster_id))["Cluster"]

    def list_clusters(self, states: Sequence[str], marker: str | None = None) -> dict[str, Any]:
        """One ListClusters page (EMR's own page size, 50): ``Clusters`` and maybe ``Marker``."""
        params: dict[str, Any] = {"ClusterStates": list(states)}
        if marker:
            params["Marker"] = marker
        return _call("listing clusters", lambda: self.client.list_clusters(**params))

    def security_configuration(self, name: str) -> dict[str, Any]:
        """The parsed JSON of a security configuration (EMR returns it as a string)."""
        answer = _call(f"reading the security configuration {name!r}",
                       lambda: self.client.describe_security_configuration(Name=name))
        try:
            document = json.loads(answer.get("SecurityConfiguration") or "{}")
        except ValueError:
            raise AwsCallError(f"The security configuration {name!r} is not valid JSON.") from None
        return document if isinstance(document, dict) else {}

    def primary_node_count(self, cluster: dict[str, Any]) -> int:
        """How many primary nodes the cluster asked for (more than one: high availability)."""
        cluster_id = cluster["Id"]
        if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
            fleets = _call(f"listing the instance fleets of {cluster_id}",
                           lambda: self.client.list_instance_fleets(ClusterId=cluster_id))
            return sum(fleet.get("TargetOnDemandCapacity", 0) + fleet.get("TargetSpotCapacity", 0)
                       for fleet in fleets.get("InstanceFleets", [])
                       if fleet.get("InstanceFleetType") == "MASTER")
        groups = _call(f"listing the instance groups of {cluster_id}",
                       lambda: self.client.list_instance_groups(ClusterId=cluster_id))
        return sum(group.get("RequestedInstanceCount", 0)
                   for group in groups.get("InstanceGroups", [])
                   if group.get("InstanceGroupType") == "MASTER")

    def livy_url(self, cluster: dict[str, Any]) -> str:
        """Livy on the primary node: always HTTPS (runtime roles need in-transit encryption)."""
        state = cluster["Status"]["State"]
        if state not in READY_STATES:
            raise ClusterNotReady(
                f"Cluster {cluster['Id']} ({cluster.get('Name', '')}) is {state}; a notebook "
                "session needs it RUNNING or WAITING. Pick another cluster, or wait until it is "
                "ready.")
        host = cluster.get("MasterPublicDnsName")
        if not host:
            raise ClusterNotReady(f"Cluster {cluster['Id']} reports no primary node DNS name yet; "
                                  "wait until it is RUNNING or WAITING.")
        port = DEFAULT_LIVY_PORT
        for configuration in cluster.get("Configurations", []):
            if configuration.get("Classification") == "livy-conf":
                port = int(configuration.get("Properties", {}).get("livy.server.port", port))
        return f"https://{host}:{port}"

    def session_credentials(self, cluster_id: ClusterId, role_arn: RoleArn) -> LivyLogin:
        answer = _call(
            f"GetClusterSessionCredentials for {role_arn} on {cluster_id}",
            lambda: self.client.get_cluster_session_credentials(ClusterId=cluster_id,
                                                                ExecutionRoleArn=role_arn),
            denied_fix=("Your identity needs elasticmapreduce:GetClusterSessionCredentials on this "
                        "cluster, with its elasticmapreduce:ExecutionRoleArn condition allowing "
                        f"{role_arn}; ask your admin, or pick a role you are allowed to use."))
        login = answer["Credentials"]["UsernamePassword"]
        expires = answer["ExpiresAt"]
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        return LivyLogin(login["Username"], login["Password"], expires)


def _call(what: str, call: Callable[[], T], denied_fix: str = "") -> T:
    """Run one AWS call; turn every failure into one paragraph that says what to do."""
    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", str(exc))
        if "AccessDenied" in code or code in ("UnauthorizedOperation", "AuthorizationError"):
            raise AwsCallError(f"AWS denied {what}: {message} "
                               f"{denied_fix or 'Ask your admin for the permission.'}",
                               "AccessDenied") from None
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
                    "ExpiredTokenException"):
            raise AwsCallError(f"AWS did not accept your credentials when {what} ({code}: "
                               f"{message}). Refresh them (e.g. `aws sso login`) and try "
                               "again.", "BadCredentials") from None
        not_found = code in ("ResourceNotFoundException", "NoSuchEntity") or (
            code == "InvalidRequestException" and "is not valid" in message)
        raise AwsCallError(f"EMR refused {what}: {message} ({code}).",
                           "NotFound" if not_found else "Refused") from None
    except botocore.exceptions.NoCredentialsError:
        raise AwsCallError(f"No AWS credentials were found for {what}. Configure them (aws "
                           "configure, AWS_PROFILE or --profile), or start the local emulator: "
                           "eval \"$(jupyter-emr-roles local up --detach)\".", "NoCredentials") from None
    except botocore.exceptions.NoRegionError:
        raise AwsCallError(f"No AWS region is set for {what}; pass --region or set "
                           "AWS_DEFAULT_REGION.", "NoRegion") from None
    except (botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError) as exc:
        raise AwsCallError(f"AWS could not be reached for {what}: {exc}. Check the network, the "
                           "region and AWS_ENDPOINT_URL.", "Unreachable") from None

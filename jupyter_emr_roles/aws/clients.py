"""The AWS side of a connection: boto3 sessions and the EMR calls we make.

Endpoints and trust come from boto3's usual configuration (``AWS_ENDPOINT_URL``
and ``AWS_CA_BUNDLE`` included), so the local emulator and real AWS are
reached the same way. Nothing here touches Livy: the cluster's CA is not
botocore's business, and botocore's is not Livy's.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.config import Config

from .access_roles import access_role_session
from .calls import ATTEMPTS, answer_field, aws_call, observe_retries
from .s3control_host import drop_account_from_host
from .settings import aws_settings
from ..errors import AwsCallError
from ..identifiers import ClusterId, RoleArn

log = logging.getLogger(__name__)

READY_STATES = ("RUNNING", "WAITING")
DEFAULT_READ_TIMEOUT = 60.0
# Added to the user agent of the doctor's probing calls: CloudTrail records a call's user agent
# (``userAgent``), so the audit can tell the doctor's GetClusterSessionCredentials from a login.
DOCTOR_USER_AGENT = "jupyter-emr-roles-doctor"


def client_config(read_timeout: float = DEFAULT_READ_TIMEOUT,
                  user_agent_extra: str | None = None) -> Config:
    """Standard retries (throttling included), and no single read longer than the caller
    can wait."""
    return Config(retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
                  connect_timeout=min(10.0, read_timeout), read_timeout=read_timeout,
                  user_agent_extra=user_agent_extra)


def make_session(profile: str | None = None, region: str | None = None,
                 access_role_arn: RoleArn | None = None,
                 read_timeout: float = DEFAULT_READ_TIMEOUT) -> boto3.Session:
    """A boto3 session for the caller, or for the cross-account access role it assumes first
    (with credentials that renew themselves)."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except Exception as exc:  # botocore's ProfileNotFound and other config errors
        raise AwsCallError(f"The AWS profile {profile!r} cannot be used ({exc}); check `aws "
                           "configure list-profiles`, or leave --profile out.",
                           "Configuration") from None
    if access_role_arn is None:
        return session
    return access_role_session(session, access_role_arn, client_config(read_timeout))


def caller_emr(profile: str | None = None, region: str | None = None,
               read_timeout: float = DEFAULT_READ_TIMEOUT) -> tuple[boto3.Session, Emr]:
    """The caller's session and EMR client, kept while the AWS settings stay the same.

    The AWS environment variables are part of the key, so ``%env AWS_PROFILE=...`` in a
    kernel (or new keys in the server's environment) takes effect: building a boto3 client
    loads the service model (about 150 ms), and boto3 refreshes the caller's credentials by
    itself. Access-role sessions are built per connect: they belong to one cluster account."""
    return _caller_emr(profile, region, read_timeout, aws_settings())


@functools.lru_cache(maxsize=8)
def _caller_emr(profile: str | None, region: str | None, read_timeout: float,
                environment: tuple[str | None, ...]) -> tuple[boto3.Session, Emr]:
    session = make_session(profile, region)
    return session, Emr(session, read_timeout)


def access_emr(access_role_arn: RoleArn, profile: str | None = None, region: str | None = None,
               read_timeout: float = DEFAULT_READ_TIMEOUT) -> Emr:
    """An EMR client acting as a cross-account access role, kept while the AWS settings stay
    the same: its keys renew themselves, so a picker listing page after page assumes the
    role once, not per page. A refused AssumeRole raises, and is not kept."""
    return _access_emr(access_role_arn, profile, region, read_timeout, aws_settings())


@functools.lru_cache(maxsize=16)
def _access_emr(access_role_arn: RoleArn, profile: str | None, region: str | None,
                read_timeout: float, environment: tuple[str | None, ...]) -> Emr:
    return Emr(make_session(profile, region, access_role_arn, read_timeout), read_timeout)


_CLIENTS_LOCK = threading.Lock()


@functools.lru_cache(maxsize=32)
def _cached_client(session: boto3.Session, service: str, read_timeout: float) -> Any:
    config = client_config(read_timeout)
    if service == "s3control":
        return s3control_client(session, config)
    return observe_retries(session.client(service, config=config))


def service_client(session: boto3.Session, service: str,
                   read_timeout: float = DEFAULT_READ_TIMEOUT) -> Any:
    """A client of ``service`` for ``session``, kept while the session is (the caller's is
    kept per AWS settings, see caller_emr): building one loads the service model. Made one
    at a time, since a boto3 session is not thread-safe; its clients are."""
    with _CLIENTS_LOCK:
        return _cached_client(session, service, read_timeout)


def s3control_client(session: boto3.Session, config: Config) -> Any:
    """An S3 Control client that also works at a custom endpoint (``AWS_ENDPOINT_URL``).

    S3 Control names its host after the account (``123456789012.s3-control.<region>...``);
    AWS has DNS for that, an emulator or a proxy at a fixed address has not, so there the
    account is dropped from the host again before the request is signed. AWS's own endpoints
    are left alone."""
    client = session.client("s3control", config=config)
    client.meta.events.register("before-sign.s3-control", drop_account_from_host)
    return observe_retries(client)


class Emr:
    """The EMR calls a notebook connection makes."""

    def __init__(self, session: boto3.Session, read_timeout: float = DEFAULT_READ_TIMEOUT,
                 user_agent_extra: str | None = None) -> None:
        self.session = session
        self.client = aws_call("creating an EMR client", lambda: observe_retries(session.client(
            "emr", config=client_config(read_timeout, user_agent_extra))))

    def describe(self, cluster_id: ClusterId) -> dict[str, Any]:
        what = f"describing cluster {cluster_id}"
        answer = aws_call(what, lambda: self.client.describe_cluster(ClusterId=cluster_id))
        cluster: dict[str, Any] = answer_field(answer, what, "Cluster")
        answer_field(cluster, what, "Status", "State")
        return cluster

    def list_clusters(self, states: Sequence[str], marker: str | None = None) -> dict[str, Any]:
        """One ListClusters page (EMR's own page size, 50): ``Clusters`` and maybe ``Marker``."""
        params: dict[str, Any] = {"ClusterStates": list(states)}
        if marker:
            params["Marker"] = marker
        return aws_call("listing clusters", lambda: self.client.list_clusters(**params))

    def security_configuration(self, name: str) -> dict[str, Any]:
        """The parsed JSON of a security configuration (EMR returns it as a string)."""
        answer = aws_call(f"reading the security configuration {name!r}",
                          lambda: self.client.describe_security_configuration(Name=name))
        try:
            document = json.loads(answer.get("SecurityConfiguration") or "{}")
        except ValueError:
            raise AwsCallError(f"The security configuration {name!r} is not valid JSON.") from None
        return document if isinstance(document, dict) else {}

    def primary_groups(self, cluster: dict[str, Any]) -> list[dict[str, Any]]:
        """The cluster's primary instance groups, or its primary instance fleets."""
        cluster_id = cluster["Id"]
        if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET":
            fleets = aws_call(f"listing the instance fleets of {cluster_id}",
                              lambda: self.client.list_instance_fleets(ClusterId=cluster_id))
            return [fleet for fleet in fleets.get("InstanceFleets", [])
                    if fleet.get("InstanceFleetType") == "MASTER"]
        groups = aws_call(f"listing the instance groups of {cluster_id}",
                          lambda: self.client.list_instance_groups(ClusterId=cluster_id))
        return [group for group in groups.get("InstanceGroups", [])
                if group.get("InstanceGroupType") == "MASTER"]

    def primary_node_count(self, cluster: dict[str, Any]) -> int:
        """How many primary nodes the cluster asked for (more than one: high availability)."""
        return sum(group.get("RequestedInstanceCount", 0) + group.get("TargetOnDemandCapacity", 0)
                   + group.get("TargetSpotCapacity", 0) for group in self.primary_groups(cluster))

    def primary_instances(self, cluster: dict[str, Any]) -> list[dict[str, Any]]:
        """The running primary node(s), with their private and public DNS names."""
        cluster_id = cluster["Id"]
        kind = ({"InstanceFleetType": "MASTER"}
                if cluster.get("InstanceCollectionType") == "INSTANCE_FLEET"
                else {"InstanceGroupTypes": ["MASTER"]})
        answer = aws_call(f"listing the primary node of {cluster_id}",
                          lambda: self.client.list_instances(
                              ClusterId=cluster_id, InstanceStates=["RUNNING"], **kind))
        return list(answer.get("Instances", []))

"""Which cluster a request means, reached as whom, and which runtime role it runs as.

Every face that acts on a cluster (a connect, the doctor, later steps) starts
here: the cluster is described as the caller, or through the access role the
roles files give for its account, and the role is the one asked for or the
account's default. It is one piece so that all of them find a cluster of
another account the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from . import roles
from .aws.clients import DEFAULT_READ_TIMEOUT, Emr, access_emr, caller_emr, service_client
from .aws.calls import answer_field, aws_call
from .connect_request import ConnectRequest
from .errors import AwsCallError, EmrRolesError, RolesFileError
from .identifiers import AccountId, RoleArn, account_in_arn
from .roles import AccountChoices


@dataclass(frozen=True)
class Target:
    """The cluster as DescribeCluster says it, the session and EMR client that could describe
    it, its account and what the roles files offer there, and the runtime role, if any."""

    session: boto3.Session
    emr: Emr
    cluster: dict[str, Any]
    account: AccountId | None  # None only where nobody asked STS (the pickers' readiness)
    choices: AccountChoices | None
    role: RoleArn | None

    def required_role(self) -> RoleArn:
        return required_role(self.role, self.account)


def required_role(role: RoleArn | None, account: AccountId | None) -> RoleArn:
    """The role a session runs as, which must be known by now."""
    if role is None:
        raise EmrRolesError(
            f"No --role-arn was given and the roles files name no default role for account "
            f"{account}. Pass --role-arn, or mark a default with `jupyter-emr-roles roles add "
            "ARN --default`.")
    return role


def account_emr(account: AccountId | None, profile: str | None = None,
                region: str | None = None) -> tuple[Emr, RoleArn | None]:
    """The EMR client that sees ``account``'s clusters, and the access role it acts as: the
    one the roles files give the account, else none (the caller, whose own account it is)."""
    if account is not None:
        choices = roles.load_catalog(profile=profile, region=region).account(account)
        if choices is not None and choices.access_role is not None:
            return access_emr(choices.access_role, profile, region), choices.access_role
    return caller_emr(profile, region)[1], None


def find_target(request: ConnectRequest, warn: Callable[[str], None]) -> Target:
    assert request.cluster_id is not None
    cluster_id = request.cluster_id
    catalog = load_catalog_for(request, warn)
    session, emr, cluster = reach(request, catalog, lambda via: via.describe(cluster_id))
    account = _cluster_account(cluster, session)
    choices = catalog.account(account) if catalog else None
    return Target(session, emr, cluster, account, choices,
                  pick_role(request.role_arn, account, choices, warn))


def load_catalog_for(request: ConnectRequest,
                     warn: Callable[[str], None]) -> roles.RolesCatalog | None:
    """The roles files; a broken one stops a connect only when a role must come from them."""
    try:
        return roles.load_catalog(profile=request.profile, region=request.region)
    except RolesFileError as exc:
        if request.role_arn is None:
            raise
        warn(f"Your roles files cannot be read, so {request.role_arn} is used as given, with no "
             f"access role, CA bundle or Livy URL from them. {exc}")
        return None


def reach(request: ConnectRequest, catalog: roles.RolesCatalog | None,
          look: Callable[[Emr], dict[str, Any]]) -> tuple[boto3.Session, Emr, dict[str, Any]]:
    """Look the cluster (or application) up as the caller, or through the access role the roles
    files give: ``look`` is the describing call, made with the EMR client of each in turn.

    A cluster of another account is not visible to the caller, and its account is what the
    roles files key the access role by: so without --access-role-arn the caller tries first,
    then each access role listed. The clients are kept (``aws.clients``), so a repeat connect
    reaches the cluster with the same one and can ask for its login early."""
    read_timeout = min(DEFAULT_READ_TIMEOUT, request.timeout)
    if request.access_role_arn is not None:
        emr = access_emr(request.access_role_arn, request.profile, request.region, read_timeout)
        return emr.session, emr, look(emr)
    session, emr = caller_emr(request.profile, request.region, read_timeout)
    try:
        return session, emr, look(emr)
    except AwsCallError as first:
        listed = [entry.access_role for entry in catalog.accounts if entry.access_role] \
            if catalog else []
        for access_role in listed:
            try:
                via = access_emr(access_role, request.profile, request.region, read_timeout)
                return via.session, via, look(via)
            except AwsCallError:
                continue
        raise first from None


def _cluster_account(cluster: dict[str, Any], session: boto3.Session) -> AccountId:
    """From the cluster's ARN; else the account of whoever could describe it."""
    arn = cluster.get("ClusterArn", "")
    account = account_in_arn(arn, "the cluster's ARN in DescribeCluster")
    if account is not None:
        return account
    identity = aws_call("asking STS who you are",
                        lambda: service_client(session, "sts").get_caller_identity())
    return AccountId(answer_field(identity, "asking STS who you are", "Account"),
                     "STS GetCallerIdentity")


def pick_role(given: RoleArn | None, account: AccountId, choices: AccountChoices | None,
               warn: Callable[[str], None]) -> RoleArn | None:
    """The role given, else the account's default role; None when there is neither."""
    if given is None:
        return choices.default_role if choices else None
    if choices is None or given not in {choice.arn for choice in choices.roles}:
        warn(f"{given} is not listed for account {account} in your roles files; trying it "
             "anyway (IAM decides).")
    return given

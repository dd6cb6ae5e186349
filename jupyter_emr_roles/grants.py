"""The S3 Access Grants that apply to a runtime role, and whether they cover a prefix.

On a cluster with S3 Access Grants enabled, a session's S3 reads and writes go
through the grants of the account's Access Grants instance, whoever created them
(an admin, or an external policy engine such as Immuta, seed 001); with fallback
to IAM, the role's own policies decide where no grant applies. This reads the
grants made to the role itself (grantee type IAM): what a person sees before a
job fails with AccessDenied on a prefix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from . import roles
from .aws.clients import make_session, service_client
from .aws.calls import aws_call
from .errors import AwsCallError, EmrRolesError, RolesFileError
from .identifiers import AccountId, RoleArn


@dataclass(frozen=True)
class RoleGrant:
    """One grant: the S3 scope it covers, its permission, and the grantee."""

    id: str
    scope: str
    permission: str
    grantee_type: str
    grantee: str
    location_id: str

    def covers(self, prefix: str) -> bool:
        """A scope ending in ``*`` covers everything that starts with the rest; another names
        one object."""
        if self.scope.endswith("*"):
            return prefix.startswith(self.scope[:-1])
        return prefix == self.scope


@dataclass(frozen=True)
class GrantsReport:
    role_arn: str
    account: str
    instance_arn: str
    grants: tuple[RoleGrant, ...]
    prefix: str | None = None

    @property
    def covering(self) -> RoleGrant | None:
        """The most specific grant covering ``prefix``."""
        found = [grant for grant in self.grants if self.prefix and grant.covers(self.prefix)]
        return max(found, key=lambda grant: len(grant.scope), default=None)

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"role_arn": self.role_arn, "account": self.account,
                                  "instance_arn": self.instance_arn,
                                  "grants": [asdict(grant) for grant in self.grants]}
        if self.prefix is not None:
            covering = self.covering
            answer["prefix"] = {"s3_prefix": self.prefix, "covered": covering is not None,
                                "grant": covering.id if covering else None}
        return answer

    def text(self) -> str:
        if not self.grants:
            lines = [f"No S3 Access Grants apply to {self.role_arn} in account {self.account}: "
                     "its S3 access comes from its IAM policies alone (or from fallback to IAM)."]
        else:
            lines = [f"S3 Access Grants of {self.role_arn} (instance {self.instance_arn}):"]
            width = max(len(grant.permission) for grant in self.grants)
            lines += [f"  {grant.permission:<{width}}  {grant.scope}  (grant {grant.id}, "
                      f"location {grant.location_id})" for grant in self.grants]
        if self.prefix is not None:
            covering = self.covering
            lines.append(f"{self.prefix} is covered by grant {covering.id} ({covering.permission} "
                         f"on {covering.scope})." if covering else
                         f"{self.prefix} is covered by no grant of this role.")
        return "\n".join(lines)


def role_grants(role_arn: RoleArn, prefix: str | None = None, profile: str | None = None,
                region: str | None = None, access_role_arn: RoleArn | None = None,
                ) -> GrantsReport:
    """The grants to ``role_arn`` in its account's Access Grants instance; one paragraph when
    the account has no instance or the caller may not read it."""
    account = role_arn.account
    session = make_session(profile, region,
                           access_role_arn or _access_role(account, profile, region))
    client = aws_call("creating an S3 Control client", lambda: service_client(session,
                                                                               "s3control"))
    denied = (f"Reading the grants needs s3:GetAccessGrantsInstance and s3:ListAccessGrants on "
              f"account {account}'s Access Grants instance; ask your admin.")
    try:
        instance = aws_call(f"reading account {account}'s S3 Access Grants instance",
                            lambda: client.get_access_grants_instance(AccountId=account), denied)
    except AwsCallError as exc:
        if exc.code != "NotFound":
            raise
        raise EmrRolesError(f"Account {account} has no S3 Access Grants instance, so no grant "
                            f"applies to {role_arn}: its S3 access comes from its IAM policies "
                            "alone. An admin creates one with `aws s3control "
                            f"create-access-grants-instance --account-id {account}`.") from None
    listed = _list(client, account, role_arn, denied)
    return GrantsReport(role_arn, account, instance.get("AccessGrantsInstanceArn", ""),
                        tuple(listed), prefix)


def _list(client: Any, account: AccountId, role_arn: RoleArn, denied: str) -> list[RoleGrant]:
    """Every page of ListAccessGrants for the role (S3 Control has no paginator for it)."""
    grants: list[RoleGrant] = []
    token: dict[str, str] = {}
    while True:
        page = aws_call(f"listing the S3 Access Grants of {role_arn}",
                        lambda: client.list_access_grants(AccountId=account, GranteeType="IAM",
                                                          GranteeIdentifier=role_arn, **token),
                        denied)
        grants += [RoleGrant(grant.get("AccessGrantId", ""), grant.get("GrantScope", ""),
                             grant.get("Permission", ""),
                             grant.get("Grantee", {}).get("GranteeType", ""),
                             grant.get("Grantee", {}).get("GranteeIdentifier", ""),
                             grant.get("AccessGrantsLocationId", ""))
                   for grant in page.get("AccessGrantsList", [])]
        if not page.get("NextToken"):
            return grants
        token = {"NextToken": page["NextToken"]}


def _access_role(account: AccountId, profile: str | None,
                 region: str | None) -> RoleArn | None:
    """The access role the roles files give for ``account``; none when they cannot be read."""
    try:
        entry = roles.load_catalog(profile=profile, region=region).account(account)
    except RolesFileError:
        return None
    return entry.access_role if entry else None

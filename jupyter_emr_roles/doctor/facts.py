"""What the doctor's checks read from AWS, each asked once however many checks need it.

Checks run concurrently, and several need the same answer (the security
configuration, the role): each fact is fetched by the first check that asks
and shared, so a report costs about the AWS calls of one connect. A fact the
caller may not read raises :class:`NotAllowed`, which names the IAM action, so
the checks that needed it say ``unknown`` and why instead of guessing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import boto3

from ..aws.clients import service_client
from ..aws.calls import aws_call
from ..cluster_target import Target
from ..connect_request import ConnectRequest
from ..errors import AwsCallError, EmrRolesError
from ..identifiers import AccountId, RoleArn

T = TypeVar("T")
_ASSUMED = re.compile(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+")


class NotAllowed(EmrRolesError):
    """The caller may not make a call a check needs: the check's outcome is unknown."""

    def __init__(self, action: str, exc: AwsCallError) -> None:
        super().__init__(f"Not checked: you may not call {action} ({exc})")
        self.action = action


class AccountFacts:
    """What any report asks of the account it looks into, whatever it checks (a cluster, an
    EMR Serverless application): the runtime role as IAM has it, who the caller is and what
    IAM's simulator lets it do; each answer asked once, thread-safe."""

    def __init__(self, session: boto3.Session, account: AccountId, role_arn: RoleArn | None,
                 request: ConnectRequest) -> None:
        self.session = session
        self.account = account
        self.role_arn = role_arn
        self.request = request
        self._lock = threading.Lock()
        self._locks: dict[tuple[str, Hashable], threading.Lock] = {}
        self._known: dict[tuple[str, Hashable], tuple[Any, Exception | None]] = {}

    def role(self) -> dict[str, Any] | None:
        """IAM's GetRole answer for the runtime role; None when IAM says it does not exist."""
        arn = self.role_arn
        assert arn is not None
        return self._once("iam:GetRole", lambda: self._get_role(arn.name))

    def caller_principal(self) -> str:
        """The caller as IAM's simulator names it: its user or role ARN (an assumed role's
        session as its role, which IAM names without the role's path)."""
        identity = self._once("sts:GetCallerIdentity", lambda: aws_call(
            "asking STS who you are", lambda: self._client("sts").get_caller_identity()))
        arn = str(identity.get("Arn", ""))
        found = _ASSUMED.fullmatch(arn)
        return f"arn:{found[1]}:iam::{found[2]}:role/{found[3]}" if found else arn

    def decisions(self, principal: str, actions: list[str], resource: str,
                  context: dict[str, str] | None = None) -> dict[str, str]:
        """IAM's policy simulator on ``principal``'s identity policies: each action's decision
        (``allowed``, ``implicitDeny``, ``explicitDeny``) on ``resource`` with ``context``."""
        entries = [{"ContextKeyName": key, "ContextKeyValues": [value],
                    "ContextKeyType": "string"} for key, value in (context or {}).items()]
        answer = self._once("iam:SimulatePrincipalPolicy", lambda: aws_call(
            f"simulating the IAM policies of {principal}", lambda: self._client(
                "iam").simulate_principal_policy(
                    PolicySourceArn=principal, ActionNames=actions, ResourceArns=[resource],
                    ContextEntries=entries)),
            key=(principal, tuple(actions), resource, tuple(sorted((context or {}).items()))))
        return {result["EvalActionName"]: result["EvalDecision"]
                for result in answer.get("EvaluationResults", [])}

    def refused(self, asks: list[tuple[list[str], str, dict[str, str] | None]]) -> list[str]:
        """The actions IAM's simulator does not allow the caller, of ``asks`` (each: actions,
        the resource, the context), in their order."""
        caller = self.caller_principal()
        decisions: dict[str, str] = {}
        for actions, resource, context in asks:
            decisions.update(self.decisions(caller, actions, resource, context))
        return [action for action, decision in decisions.items() if decision != "allowed"]

    @property
    def partition(self) -> str:
        """The partition (aws, aws-cn, aws-us-gov) every ARN the doctor writes into a fix is
        of: the checked resource's, which is the caller's."""
        return self.partition_of("")

    def partition_of(self, arn: str) -> str:
        """The partition (aws, aws-cn, aws-us-gov) of ``arn``, else of the session's region."""
        if arn.count(":") >= 5:
            return arn.split(":")[1]
        region = self.session.region_name
        return self.session.get_partition_for_region(region) if region else "aws"

    def _get_role(self, name: str) -> dict[str, Any] | None:
        try:
            return aws_call(f"reading the role {name}",
                            lambda: self._client("iam").get_role(RoleName=name))["Role"]
        except AwsCallError as exc:
            if exc.code == "NotFound":
                return None
            raise

    def _client(self, service: str) -> Any:
        return service_client(self.session, service, min(60.0, self.request.timeout))

    def _once(self, action: str, fetch: Callable[[], T], key: Hashable = None) -> T:
        """``fetch``'s answer, asked once per ``action`` (and ``key``, where one action asks
        several questions); a refusal names the action."""
        known = (action, key)
        with self._lock:
            lock = self._locks.setdefault(known, threading.Lock())
        with lock:
            if known not in self._known:
                try:
                    self._known[known] = (fetch(), None)
                except AwsCallError as exc:
                    self._known[known] = (None, NotAllowed(action, exc)
                                          if exc.code == "AccessDenied" else exc)
        value, error = self._known[known]
        if error is not None:
            raise error
        return value


class Facts(AccountFacts):
    """The cluster, role and account facts of one report; thread-safe."""

    def __init__(self, target: Target, request: ConnectRequest) -> None:
        super().__init__(target.session, target.account, target.role, request)
        self.target = target
        self.cluster = target.cluster

    def security_configuration(self) -> dict[str, Any] | None:
        name = self.cluster.get("SecurityConfiguration")
        if not name:
            return None
        return self._once("elasticmapreduce:DescribeSecurityConfiguration",
                          lambda: self.target.emr.security_configuration(name))

    def iam_configuration(self) -> dict[str, Any]:
        """The security configuration's IAMConfiguration ({} without one)."""
        document = self.security_configuration() or {}
        return document.get("AuthorizationConfiguration", {}).get("IAMConfiguration", {})

    def primary_node_count(self) -> int:
        return self._once("elasticmapreduce:ListInstanceGroups",
                          lambda: self.target.emr.primary_node_count(self.cluster))

    def profile_role_arns(self) -> list[str]:
        """The roles of the cluster's EC2 instance profile: who assumes the runtime role."""
        name = self.cluster.get("Ec2InstanceAttributes", {}).get("IamInstanceProfile", "")
        return self._once("iam:GetInstanceProfile", lambda: self._profile_roles(name))

    @property
    def partition(self) -> str:
        return self.partition_of(self.cluster.get("ClusterArn") or "")

    def cluster_arn(self) -> str:
        return self.cluster.get("ClusterArn") or (
            f"arn:{self.partition}:elasticmapreduce:{self.target.session.region_name}:"
            f"{self.target.account}:cluster/{self.cluster['Id']}")

    def data_lake_settings(self) -> dict[str, Any]:
        return self._once("lakeformation:GetDataLakeSettings", lambda: aws_call(
            "reading Lake Formation's data lake settings",
            lambda: self._client("lakeformation").get_data_lake_settings())
            .get("DataLakeSettings", {}))

    def access_grants_instance(self) -> dict[str, Any] | None:
        """The account's S3 Access Grants instance; None when it has none."""
        return self._once("s3:GetAccessGrantsInstance", self._grants_instance)

    def _profile_roles(self, name: str) -> list[str]:
        if not name:
            return []
        answer = aws_call(f"reading the instance profile {name}", lambda: self._client(
            "iam").get_instance_profile(InstanceProfileName=name.rpartition("/")[2]))
        return [role["Arn"] for role in answer["InstanceProfile"].get("Roles", [])]

    def _grants_instance(self) -> dict[str, Any] | None:
        try:
            return aws_call("reading the account's S3 Access Grants instance", lambda: self._client(
                "s3control").get_access_grants_instance(AccountId=self.target.account))
        except AwsCallError as exc:
            if exc.code == "NotFound":
                return None
            raise

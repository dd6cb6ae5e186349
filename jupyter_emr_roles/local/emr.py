"""EMR's clusters and steps as the emulator serves them: moto keeps the clusters, and this
backend adds what moto lacks for runtime roles.

GetClusterSessionCredentials, ListInstanceFleets, ListSecurityConfigurations and CancelSteps
are answered here; AddJobFlowSteps keeps its ExecutionRoleArn and runs its steps through
their states (``steps.py``); DescribeCluster, ListInstances and ListInstanceGroups describe
the local Livy gateway the way EMR describes a primary node: a public name in
``MasterPublicDnsName``, a private one in ``ListInstances``, and the Livy port in the
cluster's ``livy-conf`` or only in the primary instance group's. moto answers every other
EMR operation, once the router has authorized it. Every EMR call is recorded in CloudTrail.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any, Literal

from moto.emr.models import emr_backends
from moto.emr.responses import ElasticMapReduceResponse

from .callers import AwsError
from .connect.book import SessionBook
from .issued import CredentialRegistry, Identity
from .moto_bridge import Moto
from .operations import Backends, Call, JsonService, Operation, rows
from .protocols import Raw
from .runtime_roles import (
    NOTEBOOK_RELEASE,
    STEPS_RELEASE,
    check_ready,
    check_role_exists,
    propagates_source_identity,
)
from .steps import StepBook, StepSettings
from .sts import SourceIdentities
from .trail import TrailEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LivyPlacement:
    """Where a cluster's Livy listens, and where its port is configured."""

    port: int
    port_in: Literal["cluster", "instance-group"] = "cluster"


@dataclass(frozen=True)
class PrimaryNames:
    """The names the API gives the primary node: ``private`` in ListInstances'
    ``PrivateDnsName``, ``public`` in DescribeCluster's ``MasterPublicDnsName``. On EMR in a
    public subnet they differ, and the certificate names the private one."""

    private: str = "localhost"
    public: str = "localhost"


@dataclass
class EmrSettings:
    """What the EMR backends share: the Livy credentials they issue and for how long, where
    each cluster's Livy is and what the primary is called, what happens when RunJobFlow
    made a cluster, how steps run, the Spark Connect sessions, and the source identity of
    each key."""

    registry: CredentialRegistry
    identities: SourceIdentities = field(default_factory=SourceIdentities)
    credential_ttl: timedelta = timedelta(hours=1)
    livy: Callable[[str], LivyPlacement | None] = lambda cluster_id: None
    names: PrimaryNames = PrimaryNames()
    created: Callable[[Call, str], None] = lambda call, cluster_id: None
    terminated: Callable[[str], None] = lambda cluster_id: None
    steps: StepSettings | None = None
    sessions: SessionBook | None = None


# EMR's StateChangeReason message for a cluster TerminateJobFlows ended (code USER_REQUEST).
USER_REQUEST = "Terminated by user request"


def end_cluster(settings: EmrSettings, account: str, region: str, cluster_id: str) -> None:
    """What EMR does when a user terminates a cluster: TERMINATED, with its reason, and its
    Livy gone with it."""
    cluster = emr_backends[account][region].clusters.get(cluster_id)
    if cluster is None or cluster.termination_protected:
        return
    if cluster.state != "TERMINATED":
        cluster.terminate()
    cluster.last_state_change_reason = USER_REQUEST
    settings.terminated(cluster_id)


def cluster_of(call: Call, key: str = "ClusterId") -> Any:
    """The cluster the call names, in the signer's account and the call's region."""
    cluster_id = call.params.get(key)
    backend = emr_backends[call.caller.account][call.region]
    cluster = backend.clusters.get(cluster_id) if isinstance(cluster_id, str) else None
    if cluster is None:
        raise AwsError("InvalidRequestException", f"Cluster id '{cluster_id}' is not valid.")
    return cluster


def cluster_arn(call: Call) -> str:
    """The ARN IAM authorizes a call on: its cluster's, or ``*`` for a call that names none."""
    cluster_id = call.params.get("ClusterId") or call.params.get("JobFlowId")
    return (f"arn:aws:elasticmapreduce:{call.region}:{call.caller.account}:cluster/"
            f"{cluster_id}" if cluster_id else "*")


def session_identity(settings: EmrSettings, call: Call, cluster: Any) -> Identity:
    """Whom a runtime role's session or step is for, with the source identity the cluster
    passes on."""
    source_identity = settings.identities.of(call.access_key) \
        if propagates_source_identity(cluster) else None
    return Identity(cluster.id, call.params.get("ExecutionRoleArn", ""), call.caller.arn,
                    source_identity)


def check_role_parameter(params: dict[str, Any]) -> None:
    role_arn = params.get("ExecutionRoleArn")
    if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
        raise AwsError("ValidationException", "1 validation error detected: Value at "
                       "'executionRoleArn' failed to satisfy constraint: must be an IAM role ARN.")


class EmrService(JsonService):
    """What both halves of EMR (clusters and steps, sessions) share: the JSON protocol, the
    region by moto's EMR rule, and CloudTrail's record of every call."""

    name = "elasticmapreduce"
    target = "ElasticMapReduce"
    watched = True

    def __init__(self, settings: EmrSettings) -> None:
        self.settings = settings

    def region(self, environ: dict[str, Any]) -> str:
        """The region whose moto EMR backend holds the clusters, by moto's own EMR rule: a
        regional host name's, else its default (so a local endpoint, 127.0.0.1, always
        means that default)."""
        host = environ.get("HTTP_HOST", "")
        for regex in ElasticMapReduceResponse.emr_region_regex:
            match = regex.search(host)
            if match:
                return match.group(1)
        return ElasticMapReduceResponse.default_region

    def events(self, call: Call, row: Operation, answer: Any,
               error: str | None) -> list[TrailEvent]:
        """The call as CloudTrail records it: who (and the person behind a role chain), the
        parameters, what the row keeps of the answer; never a credential."""
        cluster_id = call.params.get("ClusterId") or call.params.get("JobFlowId")
        kept = None
        if error is None and row.trail_response is not None:
            kept = row.trail_response(json.loads(answer.body) if isinstance(answer, Raw)
                                      else answer)
        return [TrailEvent(
            call.operation, "elasticmapreduce.amazonaws.com", call.caller.account, call.caller,
            call.access_key, self.settings.identities.of(call.access_key),
            {key[:1].lower() + key[1:]: value for key, value in call.params.items()}, kept,
            error, (("AWS::EMR::Cluster", cluster_id),) if isinstance(cluster_id, str) else (),
            call.user_agent)]


class EmrClusters:
    """The clusters and steps of one account in one region: moto's clusters, and the steps
    the emulator runs."""

    def __init__(self, settings: EmrSettings, moto: Moto) -> None:
        self.settings = settings
        self.moto = moto
        self.steps = StepBook(settings.steps)

    def forward(self, call: Call) -> Raw:
        """moto's answer, for an operation moto serves as EMR does."""
        assert call.environ is not None
        return self.moto.answer(call.environ)

    def _rewritten(self, call: Call, rewrite: Callable[[dict[str, Any]], dict[str, Any]]
                   ) -> Raw | dict[str, Any]:
        answer = self.forward(call)
        return rewrite(json.loads(answer.body)) if answer.ok else answer

    def get_cluster_session_credentials(self, call: Call) -> dict[str, Any]:
        role_arn = call.params["ExecutionRoleArn"]
        cluster = cluster_of(call)
        check_ready(cluster, NOTEBOOK_RELEASE, "interactive sessions")
        check_role_exists(cluster, role_arn)
        issued = self.settings.registry.issue(session_identity(self.settings, call, cluster),
                                              self.settings.credential_ttl)
        log.info("issued Livy credentials for %s on %s to %s", role_arn, cluster.id,
                 call.caller.arn)
        return {"Credentials": {"UsernamePassword": {"Username": issued.username,
                                                     "Password": issued.password}},
                "ExpiresAt": issued.expires_at.timestamp()}

    def list_instance_fleets(self, call: Call) -> dict[str, Any]:
        """Fleets standing in for the cluster's instance groups (moto has no fleets); the
        primary fleet carries livy-conf where the cluster sets the port on its primary."""
        cluster = cluster_of(call)
        groups = [g for g in cluster.emr_backend.instance_groups.values()
                  if g.cluster_id == cluster.id]
        return {"InstanceFleets": [{
            "Id": group.id.replace("ig-", "if-"), "Name": group.name,
            "Status": {"State": "RUNNING"}, "InstanceFleetType": group.role,
            "TargetOnDemandCapacity": group.num_instances, "TargetSpotCapacity": 0,
            "ProvisionedOnDemandCapacity": group.num_instances, "ProvisionedSpotCapacity": 0,
            "InstanceTypeSpecifications": [{
                "InstanceType": group.instance_type, "WeightedCapacity": 1,
                **self._primary_configurations(cluster.id, group.role)}],
        } for group in groups]}

    def list_security_configurations(self, call: Call) -> dict[str, Any]:
        """moto stores security configurations but does not list them."""
        stored = emr_backends[call.caller.account][call.region].security_configurations
        return {"SecurityConfigurations": [
            {"Name": name, "CreationDateTime": configuration.creation_date_time.replace(
                tzinfo=timezone.utc).timestamp()}
            for name, configuration in sorted(stored.items())]}

    def add_job_flow_steps(self, call: Call) -> Raw | dict[str, Any]:
        """A step with a runtime role needs what a notebook session needs, from emr-6.7.0;
        its steps run as the role, for the caller (and the person behind it)."""
        role_arn = call.params.get("ExecutionRoleArn")
        if role_arn is not None:
            cluster = cluster_of(call, "JobFlowId")
            check_ready(cluster, STEPS_RELEASE, "steps")
            check_role_exists(cluster, role_arn)

        def record(answer: dict[str, Any]) -> dict[str, Any]:
            cluster = cluster_of(call, "JobFlowId")
            self.steps.record(call.params, answer, cluster, call.caller.account,
                              session_identity(self.settings, call, cluster))
            return answer

        return self._rewritten(call, record)

    def list_steps(self, call: Call) -> dict[str, Any]:
        return self.steps.list_steps(cluster_of(call), call.params)

    def describe_step(self, call: Call) -> Raw | dict[str, Any]:
        return self._rewritten(call, lambda answer: self.steps.describe(call.params, answer))

    def cancel_steps(self, call: Call) -> dict[str, Any]:
        return self.steps.cancel(cluster_of(call), call.params)

    def run_job_flow(self, call: Call) -> Raw | dict[str, Any]:
        """A cluster made by RunJobFlow gets what a seeded one has (a Livy when it runs Livy)
        before its ID is answered."""
        def created(answer: dict[str, Any]) -> dict[str, Any]:
            self.settings.created(call, answer["JobFlowId"])
            if call.params.get("SessionEnabled") is True and self.settings.sessions is not None:
                self.settings.sessions.enabled.add(answer["JobFlowId"])
            return answer

        return self._rewritten(call, created)

    def terminate_job_flows(self, call: Call) -> Raw | dict[str, Any]:
        """EMR's reason on each cluster it ends at a user's request, and its Livy gone with
        it (moto keeps no reason)."""
        def ended(answer: dict[str, Any]) -> dict[str, Any]:
            for cluster_id in call.params.get("JobFlowIds", []):
                end_cluster(self.settings, call.caller.account, call.region, cluster_id)
            return answer

        return self._rewritten(call, ended)

    def describe_cluster(self, call: Call) -> Raw | dict[str, Any]:
        return self._rewritten(call, self._described)

    def _described(self, answer: dict[str, Any]) -> dict[str, Any]:
        cluster, sessions = answer["Cluster"], self.settings.sessions
        cluster["SessionEnabled"] = sessions is not None and cluster["Id"] in sessions.enabled
        reason = cluster.get("Status", {}).get("StateChangeReason", {})
        if reason.get("Message") == USER_REQUEST:
            reason["Code"] = "USER_REQUEST"
        if cluster.get("LogUri", "").startswith("s3://"):  # EMR answers with Hadoop's scheme
            cluster["LogUri"] = "s3n://" + cluster["LogUri"].removeprefix("s3://")
        placement = self.settings.livy(cluster["Id"])
        if placement is not None:
            cluster["MasterPublicDnsName"] = self.settings.names.public
            configurations = [c for c in cluster.get("Configurations", [])
                              if c.get("Classification") != "livy-conf"]
            if placement.port_in == "cluster":
                configurations.append(_livy_conf(placement.port))
            cluster["Configurations"] = configurations
        return answer

    def list_instances(self, call: Call) -> Raw | dict[str, Any]:
        served = self.settings.livy(call.params.get("ClusterId", "")) is not None
        groups = emr_backends[call.caller.account][call.region].instance_groups

        def named(answer: dict[str, Any]) -> dict[str, Any]:
            for instance in answer.get("Instances", []) if served else []:
                group = groups.get(instance.get("InstanceGroupId", ""))
                if group is not None and group.role == "MASTER":
                    instance["PrivateDnsName"] = self.settings.names.private
                    instance["PublicDnsName"] = self.settings.names.public
            return answer

        return self._rewritten(call, named)

    def list_instance_groups(self, call: Call) -> Raw | dict[str, Any]:
        def configured(answer: dict[str, Any]) -> dict[str, Any]:
            for group in answer.get("InstanceGroups", []):
                group.update(self._primary_configurations(call.params.get("ClusterId", ""),
                                                          group.get("InstanceGroupType")))
            return answer

        return self._rewritten(call, configured)

    def _primary_configurations(self, cluster_id: str, role: str | None) -> dict[str, Any]:
        placement = self.settings.livy(cluster_id)
        if role != "MASTER" or placement is None or placement.port_in != "instance-group":
            return {}
        return {"Configurations": [_livy_conf(placement.port)]}


def _livy_conf(port: int) -> dict[str, Any]:
    return {"Classification": "livy-conf", "Properties": {"livy.server.port": str(port)}}


def emr_row(name: str, answer: Callable[[Any, Call], Any], **rules: Any) -> Operation:
    """An EMR operation: authorized on its cluster (``rules`` say what else), recorded in
    CloudTrail."""
    return Operation(name, answer, resource=rules.pop("resource", cluster_arn), recorded=True,
                     **rules)


_RUNTIME_ROLE = ("elasticmapreduce:ExecutionRoleArn",)


class EmrClustersService(EmrService):
    """EMR's clusters and steps: one ``EmrClusters`` per account and region."""

    operations = rows(
        emr_row("GetClusterSessionCredentials", EmrClusters.get_cluster_session_credentials,
                conditions=_RUNTIME_ROLE, validate=check_role_parameter,
                trail_response=lambda answer: {
                    "credentials": "HIDDEN_DUE_TO_SECURITY_REASONS",
                    "expiresAt": answer.get("ExpiresAt")}),
        emr_row("AddJobFlowSteps", EmrClusters.add_job_flow_steps, conditions=_RUNTIME_ROLE,
                passes_role=True,
                trail_response=lambda answer: {"stepIds": answer.get("StepIds", [])}),
        emr_row("ListSteps", EmrClusters.list_steps),
        emr_row("DescribeStep", EmrClusters.describe_step),
        emr_row("CancelSteps", EmrClusters.cancel_steps),
        emr_row("RunJobFlow", EmrClusters.run_job_flow),
        emr_row("TerminateJobFlows", EmrClusters.terminate_job_flows),
        emr_row("DescribeCluster", EmrClusters.describe_cluster),
        emr_row("ListInstances", EmrClusters.list_instances),
        emr_row("ListInstanceGroups", EmrClusters.list_instance_groups),
        emr_row("ListInstanceFleets", EmrClusters.list_instance_fleets),
        emr_row("ListSecurityConfigurations", EmrClusters.list_security_configurations),
    )
    default = emr_row("", EmrClusters.forward)  # moto's, named for each operation it serves

    def __init__(self, settings: EmrSettings, moto: Moto) -> None:
        super().__init__(settings)
        self.backends: Backends[EmrClusters] = Backends(
            lambda account, region: EmrClusters(settings, moto))

    def backend(self, call: Call) -> EmrClusters:
        return self.backends[call.caller.account, call.region]

    def close(self) -> None:
        """Stop every step still running, in every account and region."""
        for clusters in self.backends:
            clusters.steps.close()

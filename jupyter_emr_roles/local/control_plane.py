"""The emulated EMR control plane: moto's server, plus what moto lacks for runtime roles.

moto serves IAM, STS, S3 and most of EMR. This WSGI layer in front of it adds
GetClusterSessionCredentials and ListInstanceFleets, keeps AddJobFlowSteps'
ExecutionRoleArn and moves steps through their states, and makes
DescribeCluster / ListInstances name the local Livy gateway as the primary
node, so a client that follows the real rule (primary DNS name + livy-conf
port) finds it. Errors use the JSON shape AWS uses (``__type`` + message), so
clients are tested against the real wire format.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from moto.emr.models import emr_backends
from moto.emr.responses import ElasticMapReduceResponse
from moto.iam.access_control import IAMPolicy, PermissionResult, create_access_key
from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends

from ..clusters import NOTEBOOK_RELEASE, STEPS_RELEASE, release_version
from .issued import CredentialRegistry, Identity

log = logging.getLogger(__name__)

ANONYMOUS_CALLER = "arn:aws:iam::{account}:user/local-user"
_CREDENTIAL_RE = re.compile(r"Credential=([A-Za-z0-9]+)/")
# Seconds a step spends PENDING, then RUNNING, before it ends.
STEP_PENDING_SECONDS = 1.0
STEP_RUNNING_SECONDS = 2.0

WsgiStartResponse = Callable[..., Any]


class AwsError(Exception):
    """An error answered in AWS's JSON protocol shape."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class StepRecord:
    cluster_id: str
    execution_role_arn: str | None
    created: float
    failure: str | None


class ControlPlane:
    """A WSGI application: our EMR operations first, everything else to moto."""

    def __init__(self, registry: CredentialRegistry, account: str,
                 credential_ttl: timedelta = timedelta(hours=1),
                 livy_port: Callable[[str], int | None] = lambda cluster_id: None,
                 livy_host: str = "localhost", enforce_iam: bool = True) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.registry = registry
        self.account = account
        self.credential_ttl = credential_ttl
        self.livy_port = livy_port
        self.livy_host = livy_host
        self.enforce_iam = enforce_iam
        self.steps: dict[str, StepRecord] = {}
        self.calls: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: WsgiStartResponse) -> Iterable[bytes]:
        service, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        if service != "ElasticMapReduce":
            return self.moto(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        self.calls[operation] = self.calls.get(operation, 0) + 1
        try:
            params = json.loads(body or b"{}")
            region = self._region(environ)
            if operation == "GetClusterSessionCredentials":
                return _json(start_response, self._get_cluster_session_credentials(params, region, environ))
            # Every other EMR call is authorized here too, so an unknown key or a denied action
            # gets EMR's JSON error shape rather than moto's XML one.
            role_arn = params.get("ExecutionRoleArn") if operation == "AddJobFlowSteps" else None
            self._authorize_call(environ, f"elasticmapreduce:{operation}", region, params,
                                 {"elasticmapreduce:ExecutionRoleArn": role_arn} if role_arn else None)
            if operation == "ListInstanceFleets":
                return _json(start_response, self._list_instance_fleets(params, region))
            if operation == "ListSteps":
                return _json(start_response, self._list_steps(params, region))
            if operation == "AddJobFlowSteps":
                self._check_steps_role(params, region)
            status, headers, answer = self._moto_call(environ)
            if status.startswith("200") and operation in _REWRITES:
                return _json(start_response,
                             _REWRITES[operation](self, params, json.loads(answer), region))
            start_response(status, headers)
            return [answer]
        except AwsError as error:
            return _error(start_response, error)

    def _moto_call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        body = b"".join(self.moto(environ, start))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        return captured["status"], headers + [("Content-Length", str(len(body)))], body

    def _region(self, environ: dict[str, Any]) -> str:
        """The region whose moto EMR backend holds the clusters, by moto's own EMR rule.

        moto's EMR takes the region from a regional host name only, else its
        default; a local endpoint (127.0.0.1) therefore always means that default.
        """
        host = environ.get("HTTP_HOST", "")
        for regex in ElasticMapReduceResponse.emr_region_regex:
            match = regex.search(host)
            if match:
                return match.group(1)
        return ElasticMapReduceResponse.default_region

    def _caller(self, environ: dict[str, Any]) -> tuple[str, list[Any]]:
        """The caller's ARN and policies, from the access key that signed the request."""
        match = _CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        headers = {"X-Amz-Security-Token": environ["HTTP_X_AMZ_SECURITY_TOKEN"]} \
            if "HTTP_X_AMZ_SECURITY_TOKEN" in environ else {}
        try:
            key = create_access_key(self.account, "aws", match.group(1) if match else "", headers)
        except Exception:  # moto's CreateAccessKeyFailure: a key the emulator never issued
            if self.enforce_iam:
                raise AwsError("UnrecognizedClientException",
                               "The security token included in the request is invalid.") from None
            return ANONYMOUS_CALLER.format(account=self.account), []
        return key.arn, key.collect_policies()

    def _cluster(self, cluster_id: Any, region: str) -> Any:
        cluster = emr_backends[self.account][region].clusters.get(cluster_id) \
            if isinstance(cluster_id, str) else None
        if cluster is None:
            raise AwsError("InvalidRequestException", f"Cluster id '{cluster_id}' is not valid.")
        return cluster

    def _get_cluster_session_credentials(self, params: dict[str, Any], region: str,
                                         environ: dict[str, Any]) -> dict[str, Any]:
        cluster_id, role_arn = params.get("ClusterId"), params.get("ExecutionRoleArn")
        if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
            raise AwsError("ValidationException", "1 validation error detected: Value at "
                           "'executionRoleArn' failed to satisfy constraint: must be an IAM role ARN.")
        caller_arn = self._authorize_call(environ, "elasticmapreduce:GetClusterSessionCredentials",
                                          region, params, {"elasticmapreduce:ExecutionRoleArn": role_arn})
        cluster = self._cluster(cluster_id, region)
        self._check_runtime_role_ready(cluster, NOTEBOOK_RELEASE, "interactive sessions")
        self._check_role_assumable(cluster, role_arn)
        issued = self.registry.issue(Identity(cluster.id, role_arn, caller_arn, None),
                                     self.credential_ttl)
        log.info("issued Livy credentials for %s on %s to %s", role_arn, cluster.id, caller_arn)
        return {"Credentials": {"UsernamePassword": {"Username": issued.username,
                                                     "Password": issued.password}},
                "ExpiresAt": issued.expires_at.timestamp()}

    def _check_runtime_role_ready(self, cluster: Any, minimum: tuple[int, ...], what: str) -> None:
        if cluster.state not in ("RUNNING", "WAITING"):
            raise AwsError("InvalidRequestException",
                           f"Cluster {cluster.id} is in state {cluster.state}; it must be RUNNING "
                           "or WAITING.")
        release = release_version(cluster.release_label)
        if release < minimum:
            raise AwsError("InvalidRequestException",
                           f"Runtime roles for {what} need release emr-"
                           f"{'.'.join(map(str, minimum))} or later; cluster {cluster.id} runs "
                           f"{cluster.release_label}.")
        backend = cluster.emr_backend
        primaries = sum(group.num_instances for group in backend.instance_groups.values()
                        if group.cluster_id == cluster.id and group.role == "MASTER")
        if primaries > 1:
            raise AwsError("InvalidRequestException",
                           f"Runtime roles are not supported on cluster {cluster.id}: it has "
                           f"{primaries} primary nodes (high availability).")
        if not cluster.security_configuration:
            raise AwsError("InvalidRequestException",
                           f"Cluster {cluster.id} has no security configuration, so runtime roles "
                           "are not enabled on it.")
        if not _runtime_roles_enabled(backend, cluster.security_configuration):
            raise AwsError("InvalidRequestException",
                           f"Cluster {cluster.id} does not have runtime roles enabled: its security "
                           "configuration must set AuthorizationConfiguration.IAMConfiguration."
                           "EnableApplicationScopedIAMRole to true.")

    def _check_role_assumable(self, cluster: Any, role_arn: str) -> None:
        iam = iam_backends[self.account]["aws"]
        try:
            role = iam.get_role_by_arn(role_arn)
            profile = iam.get_instance_profile(cluster.role)
        except Exception:  # moto's IAMNotFoundException
            raise AwsError("InvalidRequestException",
                           f"The execution role {role_arn} does not exist or cannot be assumed by "
                           f"cluster {cluster.id}.") from None
        trusted = any(
            IAMPolicy(role.assume_role_policy_document).is_action_permitted(
                "sts:AssumeRole", principal=profile_role.arn) == PermissionResult.PERMITTED
            for profile_role in profile.roles)
        if not trusted:
            raise AwsError("InvalidRequestException",
                           f"The execution role {role_arn} does not trust the instance profile role "
                           f"of cluster {cluster.id}; add it as a principal with sts:AssumeRole to "
                           "the role's trust policy.")

    def _list_instance_fleets(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        cluster = self._cluster(params.get("ClusterId"), region)
        groups = [g for g in cluster.emr_backend.instance_groups.values() if g.cluster_id == cluster.id]
        return {"InstanceFleets": [{
            "Id": group.id.replace("ig-", "if-"), "Name": group.name,
            "Status": {"State": "RUNNING"}, "InstanceFleetType": group.role,
            "TargetOnDemandCapacity": group.num_instances, "TargetSpotCapacity": 0,
            "ProvisionedOnDemandCapacity": group.num_instances, "ProvisionedSpotCapacity": 0,
            "InstanceTypeSpecifications": [{"InstanceType": group.instance_type,
                                            "WeightedCapacity": 1}],
        } for group in groups]}

    def _check_steps_role(self, params: dict[str, Any], region: str) -> None:
        role_arn = params.get("ExecutionRoleArn")
        if role_arn is None:
            return
        cluster = self._cluster(params.get("JobFlowId"), region)
        self._check_runtime_role_ready(cluster, STEPS_RELEASE, "steps")
        self._check_role_assumable(cluster, role_arn)

    def _record_steps(self, params: dict[str, Any], answer: dict[str, Any], region: str) -> dict[str, Any]:
        for step_id, step in zip(answer.get("StepIds", []), params.get("Steps", [])):
            self.steps[step_id] = StepRecord(params["JobFlowId"], params.get("ExecutionRoleArn"),
                                             time.monotonic(), self._step_failure(step, region))
        return answer

    def _step_failure(self, step: dict[str, Any], region: str) -> str | None:
        """A step fails the way it would on EMR when the script it names is not in S3."""
        for arg in step.get("HadoopJarStep", {}).get("Args", []):
            if isinstance(arg, str) and arg.startswith("s3://"):
                bucket, _, key = arg.removeprefix("s3://").partition("/")
                found = s3_backends[self.account]["aws"].buckets.get(bucket)
                if found is None or key not in found.keys:
                    return f"{arg} does not exist."
        return None

    def _step_view(self, step: dict[str, Any]) -> dict[str, Any]:
        record = self.steps.get(step["Id"])
        if record is None:
            return step
        elapsed = time.monotonic() - record.created
        if elapsed < STEP_PENDING_SECONDS:
            state = "PENDING"
        elif elapsed < STEP_PENDING_SECONDS + STEP_RUNNING_SECONDS:
            state = "RUNNING"
        else:
            state = "FAILED" if record.failure else "COMPLETED"
        step["Status"]["State"] = state
        if state == "FAILED":
            step["Status"]["FailureDetails"] = {"Reason": "Step failed", "Message": record.failure}
        if record.execution_role_arn:
            step["ExecutionRoleArn"] = record.execution_role_arn
        return step

    def _describe_step(self, params: dict[str, Any], answer: dict[str, Any], region: str) -> dict[str, Any]:
        answer["Step"] = self._step_view(answer["Step"])
        return answer

    def _list_steps(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        """Served here, not by moto, because moto filters StepStates by its own idea of the state."""
        cluster = self._cluster(params.get("ClusterId"), region)
        steps = [self._step_view({
            "Id": step.id, "Name": step.name, "ActionOnFailure": step.action_on_failure,
            "Config": {"Jar": step.jar, "Args": step.args, "Properties": step.properties},
            "Status": {"State": step.state, "StateChangeReason": {},
                       "Timeline": {"CreationDateTime": step.creation_date_time.timestamp()}},
        }) for step in reversed(cluster.steps)]
        wanted, ids = params.get("StepStates"), params.get("StepIds")
        return {"Steps": [step for step in steps
                          if (not wanted or step["Status"]["State"] in wanted)
                          and (not ids or step["Id"] in ids)]}

    def _authorize_call(self, environ: dict[str, Any], action: str, region: str,
                        params: dict[str, Any], conditions: dict[str, str] | None = None) -> str:
        """The IAM check moto makes, for the operations we answer ourselves; returns the caller."""
        caller_arn, policies = self._caller(environ)
        if self.enforce_iam:
            cluster_id = params.get("ClusterId") or params.get("JobFlowId")
            resource = (f"arn:aws:elasticmapreduce:{region}:{self.account}:cluster/{cluster_id}"
                        if cluster_id else "*")
            _authorize(caller_arn, policies, action, resource, conditions or {})
        return caller_arn

    def _describe_cluster(self, params: dict[str, Any], answer: dict[str, Any], region: str) -> dict[str, Any]:
        cluster = answer["Cluster"]
        port = self.livy_port(cluster["Id"])
        if port is not None:
            cluster["MasterPublicDnsName"] = self.livy_host
            configurations = [c for c in cluster.get("Configurations", [])
                              if c.get("Classification") != "livy-conf"]
            configurations.append({"Classification": "livy-conf",
                                   "Properties": {"livy.server.port": str(port)}})
            cluster["Configurations"] = configurations
        return answer

    def _list_instances(self, params: dict[str, Any], answer: dict[str, Any], region: str) -> dict[str, Any]:
        cluster_id = params.get("ClusterId")
        if self.livy_port(cluster_id) is None:
            return answer
        groups = emr_backends[self.account][region].instance_groups
        for instance in answer.get("Instances", []):
            group = groups.get(instance.get("InstanceGroupId", ""))
            if group is not None and group.role == "MASTER":
                instance["PublicDnsName"] = instance["PrivateDnsName"] = self.livy_host
        return answer


_REWRITES: dict[str, Callable[[ControlPlane, dict[str, Any], dict[str, Any], str], dict[str, Any]]] = {
    "AddJobFlowSteps": ControlPlane._record_steps,
    "DescribeStep": ControlPlane._describe_step,
    "DescribeCluster": ControlPlane._describe_cluster,
    "ListInstances": ControlPlane._list_instances,
}


def _authorize(caller_arn: str, policies: list[Any], action: str, resource: str,
               conditions: dict[str, str]) -> None:
    results = [IAMPolicy(policy).is_action_permitted(action, resource,
                                                     incoming_condition_values=conditions)
               for policy in policies]
    if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
        detail = "".join(f" with {k} = {v}" for k, v in conditions.items())
        raise AwsError("AccessDeniedException",
                       f"User: {caller_arn} is not authorized to perform: {action} on resource: "
                       f"{resource}{detail} because no identity-based policy allows it.")


def _runtime_roles_enabled(backend: Any, name: str) -> bool:
    if name not in backend.security_configurations:
        return False
    try:
        config = json.loads(backend.security_configurations[name].security_configuration)
    except (TypeError, ValueError):
        return False
    iam_config = config.get("AuthorizationConfiguration", {}).get("IAMConfiguration", {})
    return iam_config.get("EnableApplicationScopedIAMRole") is True


def _json(start_response: WsgiStartResponse, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document, default=str).encode()
    start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                              ("Content-Length", str(len(body)))])
    return [body]


def _error(start_response: WsgiStartResponse, error: AwsError) -> list[bytes]:
    body = json.dumps({"__type": error.code, "Message": error.message}).encode()
    start_response(f"{error.status} Bad Request", [
        ("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", error.code),
        ("Content-Length", str(len(body)))])
    return [body]

"""The emulated EMR control plane: moto's server, plus what moto lacks for runtime roles.

moto serves IAM, STS, S3 and most of EMR. This WSGI layer in front of it adds
GetClusterSessionCredentials and ListInstanceFleets, EMR's Spark Connect sessions
(``connect/``: StartSession and the four calls around it), keeps AddJobFlowSteps'
ExecutionRoleArn (with IAM's iam:PassRole for it), runs steps one at a time through
their states and answers CancelSteps (``steps.py``), answers
STS AssumeRole with AWS's trust rules (``sts.py``), records every EMR and STS call
as CloudTrail would, SourceIdentity included, and answers LookupEvents over them
(``trail.py``), finds the caller's account
from the key that signed each request (``callers.py``), and makes
DescribeCluster, ListInstances and ListInstanceGroups describe the local Livy
gateway the way EMR describes a primary node: a public name in
``MasterPublicDnsName``, a private one in ``ListInstances``, and the Livy port
in the cluster's ``livy-conf`` or only in the primary instance group's. Errors
use the shapes AWS uses (JSON ``__type`` for EMR, XML for STS), so clients are
tested against the real wire format.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any, Literal

from moto.emr.models import emr_backends
from moto.emr.responses import ElasticMapReduceResponse
from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from .access_grants import AccessGrants, error_xml, grants_call
from .callers import AwsError, Caller, access_key_id, caller_of
from .connect.book import SessionBook
from .iam_simulation import iam_error, is_iam, is_simulation, principal_of, simulate
from .issued import CredentialRegistry, Identity
from .runtime_roles import (
    NOTEBOOK_RELEASE,
    STEPS_RELEASE,
    check_ready,
    check_role_exists,
    propagates_source_identity,
)
from .steps import StepBook
from .studio import OPERATIONS as STUDIO_OPERATIONS
from .studio import StudioDomain
from .sts import (
    check_assume_role,
    form_of,
    is_assume_role,
    is_sts,
    issued_key,
    shorten,
    sts_error,
    with_source_identity,
)
from .trail import TARGET_PREFIX, Trail, TrailEvent

log = logging.getLogger(__name__)

WsgiStartResponse = Callable[..., Any]
_GCSC = "GetClusterSessionCredentials"
# IAM authorizes these on the session (cluster/ID/session/SESSION_ID); StartSession and
# ListSessions on the cluster ("Interactive sessions with Spark Connect", its IAM policy).
_ON_A_SESSION = ("GetSession", "GetSessionEndpoint", "TerminateSession")


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


@dataclass(frozen=True)
class EmrCall:
    """One EMR request: its operation, parameters, region and signer."""

    operation: str
    params: dict[str, Any]
    region: str
    caller: Caller
    access_key: str = ""
    user_agent: str = ""

    def cluster(self, key: str = "ClusterId") -> Any:
        cluster_id = self.params.get(key)
        backend = emr_backends[self.caller.account][self.region]
        cluster = backend.clusters.get(cluster_id) if isinstance(cluster_id, str) else None
        if cluster is None:
            raise AwsError("InvalidRequestException", f"Cluster id '{cluster_id}' is not valid.")
        return cluster


class _SignatureOnly(IAMRequest):
    """moto's check of a request without its permission half. Every EMR call is authorized
    by the control plane before moto sees it, with the cluster's ARN and EMR's condition
    keys; moto would check again against resource ``*`` with no condition values, and so
    refuse a policy scoped to ``cluster/*`` that EMR accepts."""

    def check_action_permitted(self, resource: str) -> None:
        return None


def _emr_signature_only(response: ElasticMapReduceResponse, resource: str = "*") -> None:
    response._authenticate_and_authorize_action(_SignatureOnly, resource)


setattr(ElasticMapReduceResponse, "_authenticate_and_authorize_normal_action",
        _emr_signature_only)


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the caller's connection before the answer is written: the caller sees the
    connection closed with no answer, and cannot know whether the call was done."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


class ControlPlane:
    """A WSGI application: our EMR and STS operations first, everything else to moto."""

    def __init__(self, registry: CredentialRegistry, credential_ttl: timedelta = timedelta(hours=1),
                 livy: Callable[[str], LivyPlacement | None] = lambda cluster_id: None,
                 names: PrimaryNames = PrimaryNames(), enforce_iam: bool = True,
                 access_role_ttl: float | None = None,
                 created: Callable[[EmrCall, str], None] = lambda call, cluster_id: None,
                 trail_delay: float = 0.0, studio: StudioDomain | None = None,
                 sessions: SessionBook | None = None) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.registry = registry
        self.credential_ttl = credential_ttl
        self.livy = livy
        self.names = names
        self.enforce_iam = enforce_iam
        self.access_role_ttl = access_role_ttl
        self.created = created
        self.steps = StepBook()
        self.access_grants = AccessGrants()
        self.trail = Trail(trail_delay)
        self.studio = studio
        self.sessions = sessions
        self.calls: dict[str, int] = {}
        # EMR operations whose next answer is lost on the way back (the call itself is done),
        # as a network fault loses one: `local up --lose-first-answer OPERATION`.
        self.lose_answers: set[str] = set()

    def __call__(self, environ: dict[str, Any],
                 start_response: WsgiStartResponse) -> Iterable[bytes]:
        """Only EMR's JSON calls and STS's form calls are read here; every other body (S3's
        streamed, chunked uploads among them) goes to moto untouched."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service, _, operation = target.partition(".")
        if target == TARGET_PREFIX + "LookupEvents":
            return self._lookup_events(environ, start_response)
        if service == "SageMaker" and operation in STUDIO_OPERATIONS and self.studio:
            return self._studio(environ, operation, start_response)
        if service == "ElasticMapReduce":
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                return self._emr(environ, operation, _body(environ), start_response)
            except AwsError as error:
                return _error(start_response, error)
        if is_sts(environ) and is_assume_role(_body(environ)):
            return self._assume_role(environ, _body(environ), start_response)
        if is_iam(environ) and is_simulation(_body(environ)):
            return self._simulate(environ, start_response)
        if AccessGrants.handles(environ.get("PATH_INFO", "")):
            return self._access_grants(environ, start_response)
        if _SIGNED_FOR.search(environ.get("HTTP_AUTHORIZATION", "")):
            return _json_denials(self.moto, environ, start_response)
        return self.moto(environ, start_response)

    def _emr(self, environ: dict[str, Any], operation: str, body: bytes,
             start_response: WsgiStartResponse) -> Iterable[bytes]:
        """Every EMR call is authorized here, so an unknown key or a denied action gets EMR's
        JSON error shape rather than moto's XML one."""
        params = json.loads(body or b"{}")
        extension = _OPERATIONS.get(operation, Operation())
        if extension.validate is not None:
            extension.validate(params)
        call = EmrCall(operation, params, self._region(environ),
                       caller_of(environ, self.enforce_iam), access_key_id(environ),
                       environ.get("HTTP_USER_AGENT", ""))
        try:
            status, headers, answer = self._emr_answer(environ, call, extension)
        except AwsError as error:
            self._record_emr(call, None, error.code)
            raise
        succeeded = status.startswith("200")
        self._record_emr(call, answer if succeeded else None,
                         None if succeeded else _error_code(answer))
        start_response(status, headers)
        if operation in self.lose_answers:
            self.lose_answers.discard(operation)
            _drop_connection(environ)
            return []
        return [answer]

    def _emr_answer(self, environ: dict[str, Any], call: EmrCall,
                    extension: Operation) -> tuple[str, list[tuple[str, str]], bytes]:
        self._authorize(call)
        if extension.check is not None:
            extension.check(self, call)
        if extension.answer is not None:
            return _json_answer(extension.answer(self, call))
        status, headers, answer = self._moto_call(environ)
        if status.startswith("200") and extension.rewrite is not None:
            return _json_answer(extension.rewrite(self, call, json.loads(answer)))
        return status, headers, answer

    def _record_emr(self, call: EmrCall, answer: bytes | None, error: str | None) -> None:
        """The call as CloudTrail records it: who (and the person behind a role chain), the
        parameters, the step IDs it added; never a credential."""
        cluster_id = call.params.get("ClusterId") or call.params.get("JobFlowId")
        self.trail.record(TrailEvent(
            call.operation, "elasticmapreduce.amazonaws.com", call.caller.account, call.caller,
            call.access_key, self.trail.source_identity(call.access_key),
            {key[:1].lower() + key[1:]: value for key, value in call.params.items()},
            _response_elements(call.operation, answer), error,
            (("AWS::EMR::Cluster", cluster_id),) if isinstance(cluster_id, str) else (),
            call.user_agent))

    def _studio(self, environ: dict[str, Any], operation: str,
                start_response: WsgiStartResponse) -> Iterable[bytes]:
        """Studio's domain and user profile, with their EmrSettings (``studio.py``)."""
        assert self.studio is not None
        params = json.loads(_body(environ) or b"{}")
        try:
            caller = caller_of(environ, self.enforce_iam)
            if self.enforce_iam:
                _allowed(caller, f"sagemaker:{operation}",
                         self.studio.resource(operation, params), {})
            return _json(start_response, self.studio.answer(operation, params))
        except AwsError as error:
            return _error(start_response, error)

    def _simulate(self, environ: dict[str, Any],
                  start_response: WsgiStartResponse) -> Iterable[bytes]:
        """IAM's SimulatePrincipalPolicy (``iam_simulation.py``), authorized on the principal
        it simulates."""
        body = _body(environ)

        def answer() -> bytes:
            caller = caller_of(environ, self.enforce_iam)
            if self.enforce_iam:
                _allowed(caller, "iam:SimulatePrincipalPolicy", principal_of(body), {})
            return simulate(body)

        return _xml_answer(start_response, "text/xml", answer, iam_error)

    def _lookup_events(self, environ: dict[str, Any],
                       start_response: WsgiStartResponse) -> Iterable[bytes]:
        try:
            caller = caller_of(environ, self.enforce_iam)
            if self.enforce_iam:
                _allowed(caller, "cloudtrail:LookupEvents", "*", {})
            return _json(start_response, self.trail.lookup(caller.account,
                                                           json.loads(_body(environ) or b"{}")))
        except AwsError as error:
            return _error(start_response, error)

    def _assume_role(self, environ: dict[str, Any], body: bytes,
                     start_response: WsgiStartResponse) -> Iterable[bytes]:
        """AssumeRole with AWS's trust rules, the source identity kept for the new keys (set
        here, or carried from the caller's session, unchangeable along a chain), and the
        call in the trail of the role's account and the caller's."""
        form, key = form_of(body), access_key_id(environ)
        try:
            caller = caller_of(environ, self.enforce_iam)
            source_identity = self.trail.chained(key, form.get("SourceIdentity"))
            if self.enforce_iam:
                check_assume_role(caller, body)
        except AwsError as error:
            answer = sts_error(error)
            start_response(f"{error.status} Forbidden", [
                ("Content-Type", "text/xml"), ("Content-Length", str(len(answer)))])
            return [answer]
        status, headers, answer = self._moto_call(environ)
        if status.startswith("200"):
            if self.access_role_ttl is not None:
                answer = shorten(answer, self.access_role_ttl)
            answer = with_source_identity(answer, source_identity)
            self.trail.remember(issued_key(answer) or "", source_identity)
            self._record_assume_role(caller, key, form, issued_key(answer), source_identity)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(answer))))
        start_response(status, headers)
        return [answer]

    def _record_assume_role(self, caller: Caller, key: str, form: dict[str, str],
                            issued: str | None, source_identity: str | None) -> None:
        role_arn = form.get("RoleArn", "")
        request = {"roleArn": role_arn, "roleSessionName": form.get("RoleSessionName")}
        if "SourceIdentity" in form:
            request["sourceIdentity"] = form["SourceIdentity"]
        response = {"assumedRoleUser": {"arn": f"arn:aws:sts::{role_arn.split(':')[4]}:assumed-"
                                                f"role/{role_arn.rsplit('/', 1)[-1]}/"
                                                f"{form.get('RoleSessionName')}"},
                    "credentials": {"accessKeyId": issued}, "sourceIdentity": source_identity}
        for account in {role_arn.split(":")[4], caller.account}:
            self.trail.record(TrailEvent(
                "AssumeRole", "sts.amazonaws.com", account, caller, key,
                self.trail.source_identity(key), request, response,
                resources=(("AWS::IAM::Role", role_arn),)))

    def runtime_role_assumed(self, identity: Identity, session_name: str, issued: str) -> None:
        """EMR's own AssumeRole of a runtime role for a session, made as the cluster's
        instance profile role, with the caller's source identity where it propagates."""
        account = identity.role_arn.split(":")[4]
        self.trail.remember(issued, identity.source_identity)
        profile = Caller(account, f"arn:aws:sts::{account}:assumed-role/emr-instance-profile/"
                         f"{identity.cluster_id}", [])
        request = {"roleArn": identity.role_arn, "roleSessionName": session_name}
        if identity.source_identity:
            request["sourceIdentity"] = identity.source_identity
        self.trail.record(TrailEvent(
            "AssumeRole", "sts.amazonaws.com", account, profile, "", None, request,
            {"credentials": {"accessKeyId": issued},
             "sourceIdentity": identity.source_identity},
            resources=(("AWS::IAM::Role", identity.role_arn),)))

    def _access_grants(self, environ: dict[str, Any],
                       start_response: WsgiStartResponse) -> Iterable[bytes]:
        """S3 Access Grants (``access_grants.py``), authorized as S3 Control authorizes them:
        only the account's own principals, with the operation's s3: action."""
        region = _SIGNED_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        call = grants_call(environ, _body(environ), region.group(1) if region else "us-east-1")

        def answer() -> bytes:
            if self.enforce_iam:
                caller = caller_of(environ, True)
                if caller.account != call.account:
                    raise AwsError("AccessDenied", f"{caller.arn} may not use the Access Grants "
                                   f"instance of account {call.account}.", 403)
                _allowed(caller, self.access_grants.action(call), "*", {})
            return self.access_grants.answer(call)

        return _xml_answer(start_response, "application/xml", answer, error_xml)

    def _moto_call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        body = b"".join(self.moto(environ, start))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        return captured["status"], headers + [("Content-Length", str(len(body)))], body

    @staticmethod
    def _region(environ: dict[str, Any]) -> str:
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

    def _authorize(self, call: EmrCall) -> None:
        """The IAM check moto makes, with the condition key EMR adds for runtime roles."""
        if not self.enforce_iam:
            return
        cluster_id = call.params.get("ClusterId") or call.params.get("JobFlowId")
        resource = (f"arn:aws:elasticmapreduce:{call.region}:{call.caller.account}:cluster/"
                    f"{cluster_id}" if cluster_id else "*")
        if cluster_id and call.operation in _ON_A_SESSION:
            resource += f"/session/{call.params.get('SessionId')}"
        role_arn = call.params.get("ExecutionRoleArn")
        conditions = {"elasticmapreduce:ExecutionRoleArn": role_arn} if (
            role_arn and call.operation in (_GCSC, "AddJobFlowSteps", "StartSession")) else {}
        _allowed(call.caller, f"elasticmapreduce:{call.operation}", resource, conditions)

    def _get_cluster_session_credentials(self, call: EmrCall) -> dict[str, Any]:
        role_arn = call.params["ExecutionRoleArn"]
        cluster = call.cluster()
        check_ready(cluster, NOTEBOOK_RELEASE, "interactive sessions")
        check_role_exists(cluster, role_arn)
        issued = self.registry.issue(self._identity(call, cluster), self.credential_ttl)
        log.info("issued Livy credentials for %s on %s to %s", role_arn, cluster.id,
                 call.caller.arn)
        return {"Credentials": {"UsernamePassword": {"Username": issued.username,
                                                     "Password": issued.password}},
                "ExpiresAt": issued.expires_at.timestamp()}

    def _identity(self, call: EmrCall, cluster: Any) -> Identity:
        """Whom a runtime role's session is for, with the source identity the cluster passes on."""
        source_identity = self.trail.source_identity(call.access_key) \
            if propagates_source_identity(cluster) else None
        return Identity(cluster.id, call.params.get("ExecutionRoleArn", ""), call.caller.arn,
                        source_identity)

    def _book(self) -> SessionBook:
        if self.sessions is None:
            raise AwsError("InvalidRequestException", "This emulator serves no Spark Connect "
                                                      "sessions.")
        return self.sessions

    def _start_session(self, call: EmrCall) -> dict[str, Any]:
        """StartSession passes the runtime role to EMR, so IAM wants iam:PassRole for it too."""
        cluster = call.cluster()
        if self.enforce_iam and call.params.get("ExecutionRoleArn"):
            _allowed(call.caller, "iam:PassRole", call.params["ExecutionRoleArn"],
                     {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})
        return self._book().start(cluster, call.params, self._identity(call, cluster),
                                  call.region)

    def _get_session(self, call: EmrCall) -> dict[str, Any]:
        return self._book().get(call.cluster().id, call.params.get("SessionId"))

    def _list_sessions(self, call: EmrCall) -> dict[str, Any]:
        return self._book().list(call.cluster().id, call.params)

    def _get_session_endpoint(self, call: EmrCall) -> dict[str, Any]:
        return self._book().endpoint(call.cluster().id, call.params.get("SessionId"))

    def _terminate_session(self, call: EmrCall) -> dict[str, Any]:
        return self._book().terminate(call.cluster().id, call.params.get("SessionId"))

    def _list_instance_fleets(self, call: EmrCall) -> dict[str, Any]:
        """Fleets standing in for the cluster's instance groups (moto has no fleets); the
        primary fleet carries livy-conf where the cluster sets the port on its primary."""
        cluster = call.cluster()
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

    def _list_security_configurations(self, call: EmrCall) -> dict[str, Any]:
        """moto stores security configurations but does not list them."""
        stored = emr_backends[call.caller.account][call.region].security_configurations
        return {"SecurityConfigurations": [
            {"Name": name, "CreationDateTime": configuration.creation_date_time.replace(
                tzinfo=timezone.utc).timestamp()}
            for name, configuration in sorted(stored.items())]}

    def _check_steps_role(self, call: EmrCall) -> None:
        """A step with a runtime role needs what a notebook session needs, from emr-6.7.0,
        and the caller must be allowed to pass the role to EMR."""
        role_arn = call.params.get("ExecutionRoleArn")
        if role_arn is not None:
            if self.enforce_iam:
                _allowed(call.caller, "iam:PassRole", role_arn,
                         {"iam:PassedToService": "elasticmapreduce.amazonaws.com"})
            cluster = call.cluster("JobFlowId")
            check_ready(cluster, STEPS_RELEASE, "steps")
            check_role_exists(cluster, role_arn)

    def _list_steps(self, call: EmrCall) -> dict[str, Any]:
        return self.steps.list_steps(call.cluster(), call.params)

    def _record_steps(self, call: EmrCall, answer: dict[str, Any]) -> dict[str, Any]:
        """Steps run as their runtime role, for the caller (and the person behind it)."""
        cluster = call.cluster("JobFlowId")
        self.steps.record(call.params, answer, cluster, call.caller.account,
                          self._identity(call, cluster))
        return answer

    def _describe_step(self, call: EmrCall, answer: dict[str, Any]) -> dict[str, Any]:
        return self.steps.describe(call.params, answer)

    def _cancel_steps(self, call: EmrCall) -> dict[str, Any]:
        return self.steps.cancel(call.cluster(), call.params)

    def _cluster_created(self, call: EmrCall, answer: dict[str, Any]) -> dict[str, Any]:
        """A cluster made by RunJobFlow gets what a seeded one has (a Livy when it runs Livy)
        before its ID is answered."""
        self.created(call, answer["JobFlowId"])
        if call.params.get("SessionEnabled") is True and self.sessions is not None:
            self.sessions.enabled.add(answer["JobFlowId"])
        return answer

    def _describe_cluster(self, call: EmrCall, answer: dict[str, Any]) -> dict[str, Any]:
        cluster = answer["Cluster"]
        cluster["SessionEnabled"] = self.sessions is not None and \
            cluster["Id"] in self.sessions.enabled
        if cluster.get("LogUri", "").startswith("s3://"):  # EMR answers with Hadoop's scheme
            cluster["LogUri"] = "s3n://" + cluster["LogUri"].removeprefix("s3://")
        placement = self.livy(cluster["Id"])
        if placement is not None:
            cluster["MasterPublicDnsName"] = self.names.public
            configurations = [c for c in cluster.get("Configurations", [])
                              if c.get("Classification") != "livy-conf"]
            if placement.port_in == "cluster":
                configurations.append(_livy_conf(placement.port))
            cluster["Configurations"] = configurations
        return answer

    def _list_instances(self, call: EmrCall, answer: dict[str, Any]) -> dict[str, Any]:
        if self.livy(call.params.get("ClusterId", "")) is None:
            return answer
        groups = emr_backends[call.caller.account][call.region].instance_groups
        for instance in answer.get("Instances", []):
            group = groups.get(instance.get("InstanceGroupId", ""))
            if group is not None and group.role == "MASTER":
                instance["PrivateDnsName"] = self.names.private
                instance["PublicDnsName"] = self.names.public
        return answer

    def _list_instance_groups(self, call: EmrCall, answer: dict[str, Any]) -> dict[str, Any]:
        cluster_id = call.params.get("ClusterId", "")
        for group in answer.get("InstanceGroups", []):
            group.update(self._primary_configurations(cluster_id, group.get("InstanceGroupType")))
        return answer

    def _primary_configurations(self, cluster_id: str, role: str | None) -> dict[str, Any]:
        placement = self.livy(cluster_id)
        if role != "MASTER" or placement is None or placement.port_in != "instance-group":
            return {}
        return {"Configurations": [_livy_conf(placement.port)]}


def _body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for moto to read again."""
    body: bytes = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _check_optional_role_parameter(params: dict[str, Any]) -> None:
    if "ExecutionRoleArn" in params:
        _check_role_parameter(params)


def _check_role_parameter(params: dict[str, Any]) -> None:
    role_arn = params.get("ExecutionRoleArn")
    if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
        raise AwsError("ValidationException", "1 validation error detected: Value at "
                       "'executionRoleArn' failed to satisfy constraint: must be an IAM role ARN.")


@dataclass(frozen=True)
class Operation:
    """What the emulator adds to one EMR operation, in the order it happens: ``validate`` the
    parameters (before IAM, as AWS does), ``check`` them against the world (after IAM),
    ``answer`` in moto's place, or ``rewrite`` moto's answer."""

    validate: Callable[[dict[str, Any]], None] | None = None
    check: Callable[[ControlPlane, EmrCall], None] | None = None
    answer: Callable[[ControlPlane, EmrCall], dict[str, Any]] | None = None
    rewrite: Callable[[ControlPlane, EmrCall, dict[str, Any]], dict[str, Any]] | None = None


_OPERATIONS: dict[str, Operation] = {
    _GCSC: Operation(validate=_check_role_parameter,
                     answer=ControlPlane._get_cluster_session_credentials),
    "ListInstanceFleets": Operation(answer=ControlPlane._list_instance_fleets),
    "ListSteps": Operation(answer=ControlPlane._list_steps),
    "ListSecurityConfigurations": Operation(answer=ControlPlane._list_security_configurations),
    "AddJobFlowSteps": Operation(check=ControlPlane._check_steps_role,
                                 rewrite=ControlPlane._record_steps),
    "DescribeStep": Operation(rewrite=ControlPlane._describe_step),
    "CancelSteps": Operation(answer=ControlPlane._cancel_steps),
    "RunJobFlow": Operation(rewrite=ControlPlane._cluster_created),
    "StartSession": Operation(validate=_check_optional_role_parameter,
                              answer=ControlPlane._start_session),
    "GetSession": Operation(answer=ControlPlane._get_session),
    "ListSessions": Operation(answer=ControlPlane._list_sessions),
    "GetSessionEndpoint": Operation(answer=ControlPlane._get_session_endpoint),
    "TerminateSession": Operation(answer=ControlPlane._terminate_session),
    "DescribeCluster": Operation(rewrite=ControlPlane._describe_cluster),
    "ListInstances": Operation(rewrite=ControlPlane._list_instances),
    "ListInstanceGroups": Operation(rewrite=ControlPlane._list_instance_groups),
}


def _livy_conf(port: int) -> dict[str, Any]:
    return {"Classification": "livy-conf", "Properties": {"livy.server.port": str(port)}}


def _allowed(caller: Caller, action: str, resource: str, conditions: dict[str, str]) -> None:
    results = [IAMPolicy(policy).is_action_permitted(action, resource,
                                                     incoming_condition_values=conditions)
               for policy in caller.policies]
    if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
        detail = "".join(f" with {k} = {v}" for k, v in conditions.items())
        raise AwsError("AccessDeniedException",
                       f"User: {caller.arn} is not authorized to perform: {action} on resource: "
                       f"{resource}{detail} because no identity-based policy allows it.")


def _xml_answer(start_response: WsgiStartResponse, content_type: str,
                answer: Callable[[], bytes], error_body: Callable[[AwsError], bytes]) -> list[bytes]:
    """An XML service's answer, or its error; a denial is said as IAM and S3 say it
    (``AccessDenied``, 403), not in EMR's words."""
    try:
        body, status = answer(), "200 OK"
    except AwsError as error:
        if error.code == "AccessDeniedException":
            error = AwsError("AccessDenied", error.message, 403)
        body, status = error_body(error), f"{error.status} Error"
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response: WsgiStartResponse, document: dict[str, Any]) -> list[bytes]:
    status, headers, body = _json_answer(document)
    start_response(status, headers)
    return [body]


def _json_answer(document: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps(document, default=str).encode()
    return "200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                      ("Content-Length", str(len(body)))], body


def _response_elements(operation: str, answer: bytes | None) -> dict[str, Any] | None:
    """What CloudTrail keeps of an answer: the step IDs added, a session started, a login's
    expiry (never the login itself)."""
    if answer is None or operation not in ("AddJobFlowSteps", _GCSC, "StartSession"):
        return None
    document = json.loads(answer)
    if operation == "AddJobFlowSteps":
        return {"stepIds": document.get("StepIds", [])}
    if operation == "StartSession":
        return {"id": document.get("Id"), "arn": document.get("Arn")}
    return {"credentials": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "expiresAt": document.get("ExpiresAt")}


def _error_code(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("__type", "Error"))
    except (ValueError, AttributeError):
        return "Error"


# JSON-protocol services moto answers "access denied" for in XML, which AWS never does.
_SIGNED_REGION = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/")
_SIGNED_FOR = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/lakeformation/")
_XML_CODE = re.compile(rb"<Code>([^<]+)</Code>.*?<Message>([^<]*)</Message>", re.DOTALL)


def _json_denials(app: Any, environ: dict[str, Any],
                  start_response: WsgiStartResponse) -> Iterable[bytes]:
    """moto's answer, with an XML error of a JSON-protocol service said in JSON, as AWS says
    it; everything else passes through untouched."""
    captured: list[Any] = []
    body = b"".join(app(environ, lambda status, headers, *rest: captured.append(
        (status, headers)) or (lambda data: None)))
    status, headers = captured[0]
    found = _XML_CODE.search(body) if status.startswith("4") else None
    if found is None:
        start_response(status, headers)
        return [body]
    code = found.group(1).decode()
    return _error(start_response, AwsError(code if code.endswith("Exception") else
                                           f"{code}Exception", found.group(2).decode(),
                                           int(status.split()[0])))


def _error(start_response: WsgiStartResponse, error: AwsError) -> list[bytes]:
    body = json.dumps({"__type": error.code, "Message": error.message}).encode()
    start_response(f"{error.status} Bad Request", [
        ("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", error.code),
        ("Content-Length", str(len(body)))])
    return [body]

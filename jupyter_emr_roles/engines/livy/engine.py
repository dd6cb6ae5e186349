"""The Livy engine: a session on the cluster's Livy, logged in with GetClusterSessionCredentials.

The first login is asked for before Livy is looked for, so EMR's own checks of
the role come first and EMR propagates the login while the probe runs. Livy is
found by the one URL rule (``endpoint.py``) and trusted by Livy's own CA
(``tls.py``); where a remembered address stopped answering, it is found
once more. sparkmagic runs the session from there (``sparkmagic_bridge.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from .credentials import LivyCredentials, LivyLogin, session_login

# A cluster in these states runs nothing again.
ENDED_CLUSTER_STATES = ("TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS")
from ..base import LeftSession, StartPlan, aws_session_of
from ...errors import EmrRolesError, LivyUnreachable
from ...identifiers import ClusterId, RoleArn
from .endpoint import LivyEndpoint, find_livy, forget, trust_for, wanted_for
from .tls import LivyTrust
from .sparkmagic_bridge import (
    LivyHandle,
    LivyTarget,
    allow_unverified,
    delete_left,
    start_session,
)

if TYPE_CHECKING:
    from ...aws.clients import Emr
    from ...connect_request import ConnectRequest
    from ...identifiers import RoleArn


class LivyEngine:
    """Livy sessions through sparkmagic, as the runtime role."""

    def early(self, emr: Emr, request: ConnectRequest, role: RoleArn) -> Future[LivyLogin]:
        """The first login, asked for while the cluster is described: on a repeat connect its
        round trip overlaps DescribeCluster's instead of following it."""
        future: Future[LivyLogin] = Future()
        assert request.cluster_id is not None

        def ask() -> None:
            try:
                future.set_result(session_login(emr, request.cluster_id, role))
            except BaseException as exc:  # handed to the connect that takes the login
                future.set_exception(exc)

        threading.Thread(target=ask, name="emr-roles-early-login", daemon=True).start()
        return future

    def close_left(self, left: LeftSession) -> bool:
        """DELETE on Livy with a new login of the session's role (a login is not kept)."""
        from ...aws.clients import Emr

        emr = Emr(aws_session_of(left))
        cluster = ClusterId(left.place, "the session ledger")
        role = RoleArn(left.role_arn, "the session ledger")
        credentials = LivyCredentials(lambda: session_login(emr, cluster, role))
        credentials.label = f"session {left.name} on {cluster}"
        return delete_left(left.whereabouts, left.session_id, credentials)

    def start(self, plan: StartPlan) -> LivyHandle:
        request, cluster_id = plan.request, plan.request.cluster_id
        credentials = LivyCredentials(_first_login(plan))
        credentials.label = f"session {plan.name} on {cluster_id}"
        credentials.deadline = plan.deadline
        plan.progress(0.0, "asking EMR for the Livy login")
        try:
            trust = trust_for(request, plan.account)
            wanted = wanted_for(request, plan.account)
            credentials.for_request()
            endpoint = find_livy(plan.emr, plan.cluster, trust, wanted)
            plan.make_room()
            try:
                return _start(plan, endpoint, trust, credentials)
            except LivyUnreachable:
                forget(cluster_id)
                if not endpoint.remembered:
                    raise
            endpoint = find_livy(plan.emr, plan.cluster, trust, wanted)
            return _start(plan, endpoint, trust, credentials)
        finally:
            credentials.deadline = None


def _first_login(plan: StartPlan) -> Callable[[], LivyLogin]:
    """The credentials' source of logins: the early one first where the plan has it (its
    failure is this connect's, as a login asked for now would be), then new ones."""
    early = [plan.early] if plan.early is not None else []

    def login() -> LivyLogin:
        if early:
            return early.pop().result()
        return session_login(plan.emr, plan.request.cluster_id, plan.role)

    return login


def _terminated(emr: Emr, cluster_id: ClusterId) -> Callable[[], str | None]:
    """Whether the cluster is gone for good, in EMR's words (its StateChangeReason): asked
    only once its Livy stops answering."""
    def gone() -> str | None:
        try:
            status = emr.describe(cluster_id)["Status"]
        except EmrRolesError:
            return None
        if status["State"] not in ENDED_CLUSTER_STATES:
            return None
        reason = status.get("StateChangeReason") or {}
        said = ": ".join(str(part) for part in (reason.get("Code"), reason.get("Message")) if part)
        return f"cluster {cluster_id} is {status['State']}" + (f" ({said})" if said else "")

    return gone


def _start(plan: StartPlan, endpoint: LivyEndpoint, trust: LivyTrust,
           credentials: LivyCredentials) -> LivyHandle:
    request = plan.request
    if endpoint.insecure_http:
        plan.warn(f"Livy at {endpoint.url} speaks plain HTTP: the Livy login and every "
                  "statement cross the network readable (--allow-insecure-http). Enable TLS for "
                  "Livy on this cluster.")
    if request.no_verify:
        allow_unverified(endpoint.url)
    target = LivyTarget(endpoint.url, trust.verify, request.language, request.config,
                        plan.deadline, request.timeout, endpoint.insecure_http,
                        gone=_terminated(plan.emr, request.cluster_id),
                        again=request.again(plan.name, plan.role))
    return start_session(plan.shell, plan.name, target, credentials, plan.progress)

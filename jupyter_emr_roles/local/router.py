"""The emulated AWS endpoint's router: it finds the service and the operation's row for a
request, and does for every service what the rows say, in the order AWS does it.

Parameters are validated, the signer is found (``callers.py``), the service's own rules
about the signer apply (STS: the role's trust), IAM authorizes the row's action on its
resource with its condition keys (and iam:PassRole where the call passes a role), the
backend answers, CloudTrail records what the row says it records, and the answer or the
error goes out in the service's protocol. A request no service emulates goes to moto as
it came.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

from .callers import AwsError, Caller, access_key_id, caller_of
from .faults import DROP, NO_FAULTS, THROTTLE, Dice, Injector
from .moto_bridge import Moto
from .operations import Call, Operation, Service
from .protocols import Raw, WsgiStartResponse, json_error_code
from .trail import Trail


# The control planes a notebook calls, which `--faults aws-...` reaches.
FAULTED_SERVICES = ("elasticmapreduce", "emr-serverless")


class Router:
    """A WSGI application: the emulated services in the order they claim requests, then
    moto. ``enforce_iam`` off: any key may call anything, as an anonymous user when the
    emulator never issued it."""

    def __init__(self, services: Sequence[Service], trail: Trail, moto: Moto,
                 enforce_iam: bool = True) -> None:
        self.services = services
        self.trail = trail
        self.moto = moto
        self.enforce_iam = enforce_iam
        self.calls: dict[str, int] = {}
        # Operations of watched services whose next answer is lost on the way back (the
        # call itself is done), as a network fault loses one: `local up --lose-first-answer`.
        self.lose_answers: set[str] = set()
        # Faults injected into the control planes' calls (`local up --faults aws-...`).
        self.injector = Injector(NO_FAULTS, Dice(None))

    def __call__(self, environ: dict[str, Any],
                 start_response: WsgiStartResponse) -> Iterable[bytes]:
        """Only the requests a service claims are read here; every other body (S3's
        streamed, chunked uploads among them) goes to moto untouched."""
        for service in self.services:
            found = service.recognize(environ)
            if found is not None:
                return self._serve(service, *found, environ, start_response)
        return self.moto(environ, start_response)

    def _serve(self, service: Service, row: Operation, params: dict[str, Any],
               environ: dict[str, Any], start_response: WsgiStartResponse) -> Iterable[bytes]:
        operation = row.name
        if service.watched:
            self.calls[operation] = self.calls.get(operation, 0) + 1
        try:
            if row.validate is not None:
                row.validate(params)
            call = Call(operation, params, service.region(environ),
                        caller_of(environ, self.enforce_iam), access_key_id(environ),
                        environ.get("HTTP_USER_AGENT", ""), environ)
        except AwsError as error:
            return service.error(error).send(start_response)
        fault = self._fault(service)
        if Injector.before(fault):
            return service.error(_injected(fault)).send(start_response)
        answer = self._answer(service, row, call)
        if fault == 504:
            return service.error(_injected(fault)).send(start_response)
        start_response(answer.status, answer.headers)
        if fault == DROP or (service.watched and operation in self.lose_answers):
            self.lose_answers.discard(operation)
            _drop_connection(environ)
            return []
        return [answer.body]

    def _fault(self, service: Service) -> int | str | None:
        """The injected fault a control plane's call meets, after the injected latency."""
        if service.name not in FAULTED_SERVICES:
            return None
        if self.injector.faults.latency:
            time.sleep(self.injector.faults.latency)
        return self.injector.decide()

    def _answer(self, service: Service, row: Operation, call: Call) -> Raw:
        """The backend's answer, or the error, in the service's protocol; recorded in
        CloudTrail when the row says so."""
        try:
            self._authorize(service, row, call)
            answer = row.answer(service.backend(call), call)
        except AwsError as error:
            self._record(service, row, call, None, error.code)
            return service.error(error)
        rendered = service.render(answer)
        self._record(service, row, call, answer,
                     None if rendered.ok else json_error_code(rendered))
        return rendered

    def _authorize(self, service: Service, row: Operation, call: Call) -> None:
        """The service's own rules, then IAM's identity policies: the row's action on its
        resource with its condition keys, and iam:PassRole for a role passed to the
        service."""
        service.admit(call, self.enforce_iam)
        if not self.enforce_iam:
            return
        if row.identity_policies:
            allowed(call.caller, f"{service.name}:{call.operation}", row.resource(call),
                    row.condition_values(call.params))
        role_arn = call.params.get(row.role_parameter)
        if row.passes_role and role_arn is not None:
            allowed(call.caller, "iam:PassRole", role_arn,
                    {"iam:PassedToService": f"{service.name}.amazonaws.com"})

    def _record(self, service: Service, row: Operation, call: Call, answer: Any,
                error: str | None) -> None:
        if row.recorded:
            for event in service.events(call, row, answer, error):
                self.trail.record(event)


def allowed(caller: Caller, action: str, resource: str, conditions: dict[str, str]) -> None:
    """IAM's verdict on the caller's identity policies: allowed where one allows and none
    denies, else AccessDeniedException naming the action, resource and condition values."""
    results = [IAMPolicy(policy).is_action_permitted(action, resource,
                                                     incoming_condition_values=conditions)
               for policy in caller.policies]
    if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
        detail = "".join(f" with {k} = {v}" for k, v in conditions.items())
        raise AwsError("AccessDeniedException",
                       f"User: {caller.arn} is not authorized to perform: {action} on resource: "
                       f"{resource}{detail} because no identity-based policy allows it.")


def _injected(fault: int | str | None) -> AwsError:
    """An injected fault in AWS's words: a busy account's throttling, or a 5xx."""
    if fault == THROTTLE:
        return AwsError("ThrottlingException", "Rate exceeded", 400)
    return AwsError("InternalServerError" if fault != 503 else "ServiceUnavailable",
                    f"injected fault: HTTP {fault}", int(fault or 500))


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the caller's connection before the answer is written: the caller sees the
    connection closed with no answer, and cannot know whether the call was done."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)

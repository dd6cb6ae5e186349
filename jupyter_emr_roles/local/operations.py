"""What every emulated AWS service is made of, as moto makes its services: rows of operations,
and state per account and region.

A service (``Service``) recognizes its requests on the wire and keeps one backend per
account and region (``Backends``, moto's ``BackendDict``). Each of its operations is one
row (``Operation``): the backend method that answers it, the IAM action it needs, on which
resource, with which condition keys, the role it passes, and whether CloudTrail records
it. The router (``router.py``) reads the rows and does the rest, the same way for every
service: so adding an emulated call is one backend method and one row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from .callers import AwsError, Caller
from .protocols import (
    Raw,
    body_of,
    form_of,
    json_answer,
    json_error,
    signed_for,
    signed_region,
    xml,
    xml_error,
)
from .trail import TrailEvent

B = TypeVar("B")


@dataclass(frozen=True)
class Call:
    """One request, parsed: the operation, its parameters, its region and its signer."""

    operation: str
    params: dict[str, Any]
    region: str
    caller: Caller
    access_key: str = ""
    user_agent: str = ""
    environ: dict[str, Any] | None = None  # the request itself, for moto to answer


def _anywhere(call: Call) -> str:
    return "*"


@dataclass(frozen=True)
class Operation:
    """One emulated call. ``answer`` is the backend method (backend, call) that answers it.
    IAM authorizes the action named after the service and the call (``elasticmapreduce:
    StartSession``) on ``resource(call)``, with the ``conditions`` keys, each read from the
    request parameter named after the key's colon; ``identity_policies`` False leaves the
    decision to the service's own rule (STS's AssumeRole: the role's trust policy).
    ``passes_role``: the call passes the role its ``role_parameter`` names to the service, so
    IAM wants iam:PassRole for it too. ``validate`` checks the parameters before the signer is
    known, as AWS validates first. ``recorded``: CloudTrail records the call, keeping
    ``trail_response`` of its answer. ``route``: a REST service's method and path for it."""

    name: str
    answer: Callable[[Any, Call], Any]
    resource: Callable[[Call], str] = _anywhere
    conditions: tuple[str, ...] = ()
    identity_policies: bool = True
    passes_role: bool = False
    role_parameter: str = "ExecutionRoleArn"
    validate: Callable[[dict[str, Any]], None] | None = None
    recorded: bool = False
    trail_response: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    route: tuple[str, str] | None = None

    def condition_values(self, params: dict[str, Any]) -> dict[str, str]:
        """The condition keys' values this request brings (a key whose parameter is absent
        brings none)."""
        values = {key: params.get(key.partition(":")[2]) for key in self.conditions}
        return {key: value for key, value in values.items() if value}


class Backends(Generic[B]):
    """A service's state, one backend per (account, region), made on first use."""

    def __init__(self, make: Callable[[str, str], B]) -> None:
        self._make = make
        self._backends: dict[tuple[str, str], B] = {}
        self._lock = threading.Lock()

    def __getitem__(self, where: tuple[str, str]) -> B:
        with self._lock:
            if where not in self._backends:
                self._backends[where] = self._make(*where)
            return self._backends[where]

    def __iter__(self) -> Iterator[B]:
        with self._lock:
            return iter(list(self._backends.values()))


def rows(*operations: Operation) -> Mapping[str, Operation]:
    """A service's table of operations, by name."""
    return {operation.name: operation for operation in operations}


class Service:
    """One emulated AWS service: ``name`` is IAM's prefix for its actions and CloudTrail's
    event source; ``operations`` its rows; ``default`` the row of an operation not listed
    (None: moto answers it untouched)."""

    name = ""
    operations: Mapping[str, Operation] = {}
    default: Operation | None = None
    watched = False  # its calls are counted (`local status`) and may be lost on purpose

    def recognize(self, environ: dict[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
        """The row and parameters of a request this service emulates; None for any other."""
        raise NotImplementedError

    def row(self, operation: str) -> Operation | None:
        """The operation's row; the default row, named for it, when it has none."""
        row = self.operations.get(operation)
        return row if row is not None or self.default is None else \
            replace(self.default, name=operation)

    def region(self, environ: dict[str, Any]) -> str:
        return signed_region(environ)

    def backend(self, call: Call) -> Any:
        """The state the call acts on (the service itself where it keeps none)."""
        return self

    def admit(self, call: Call, enforce: bool) -> None:
        """The service's own rules about the signer, before IAM's identity policies (none
        by default); ``enforce``: IAM is enforced."""

    def error(self, error: AwsError) -> Raw:
        """The service's error, in its protocol."""
        raise NotImplementedError

    def render(self, answer: Any) -> Raw:
        """The service's answer, in its protocol."""
        raise NotImplementedError

    def events(self, call: Call, row: Operation, answer: Any,
               error: str | None) -> list[TrailEvent]:
        """The CloudTrail events of a recorded call (none by default)."""
        return []


class JsonService(Service):
    """A service of the JSON 1.1 protocol: the operation named in ``X-Amz-Target`` after
    ``target``, the parameters a JSON body."""

    target = ""

    def recognize(self, environ: dict[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
        service, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")
        row = self.row(operation) if service == self.target else None
        if row is None:
            return None
        return row, json.loads(body_of(environ) or b"{}")

    def error(self, error: AwsError) -> Raw:
        return json_error(error)

    def render(self, answer: Any) -> Raw:
        return answer if isinstance(answer, Raw) else json_answer(answer)


class QueryService(Service):
    """A service of the query protocol (a form body signed for ``name``, the operation in its
    Action field), answering in XML; its errors are ``error_body`` with ``status_word``."""

    status_word = "Error"

    @staticmethod
    def error_body(error: AwsError) -> bytes:
        raise NotImplementedError

    def recognize(self, environ: dict[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
        if not (signed_for(environ, self.name) and environ.get("CONTENT_TYPE", "").startswith(
                "application/x-www-form-urlencoded")):
            return None
        params = form_of(body_of(environ))
        row = self.operations.get(params.get("Action", ""))
        return (row, params) if row is not None else None

    def error(self, error: AwsError) -> Raw:
        return xml_error("text/xml", error, self.error_body, self.status_word)

    def render(self, answer: Any) -> Raw:
        return answer if isinstance(answer, Raw) else xml("text/xml", answer)

"""moto, in-process, as the emulator's router reaches it: its own server application, with
EMR's permission check left to the router, and nothing of moto's changed.

moto checks a call's permission against resource ``*`` with no condition values, so it
would refuse a policy scoped to ``cluster/*`` or to ``elasticmapreduce:ExecutionRoleArn``
that EMR accepts. The router authorizes every EMR call first, with the cluster's ARN and
EMR's condition keys; moto is then asked through a response class of our own
(``SignedEmrResponse``, a subclass, as every moto service is a ``BaseResponse`` subclass)
that keeps moto's signature check and drops its permission check. It is plugged in through
the application factory moto's ``DomainDispatcherApplication`` takes, so moto's own
``ElasticMapReduceResponse``, and every other in-process user of moto, is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Flask
from moto.core.utils import convert_to_flask_response
from moto.emr.responses import ElasticMapReduceResponse
from moto.iam.access_control import IAMRequest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from .callers import AwsError
from .protocols import Raw, WsgiStartResponse, json_error

# JSON-protocol services moto answers "access denied" for in XML, which AWS never does.
_SIGNED_FOR_JSON = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/lakeformation/")
_XML_CODE = re.compile(rb"<Code>([^<]+)</Code>.*?<Message>([^<]*)</Message>", re.DOTALL)


class _SignatureOnly(IAMRequest):
    """moto's check of a request without its permission half."""

    def check_action_permitted(self, resource: str) -> None:
        return None


class SignedEmrResponse(ElasticMapReduceResponse):
    """moto's EMR, with moto's signature check and without its permission check (the
    router's, with EMR's resource and condition keys, has been made)."""

    def _authenticate_and_authorize_normal_action(self, resource: str = "*") -> None:
        self._authenticate_and_authorize_action(_SignatureOnly, resource)


def _backend_app(service: Any) -> Flask:
    """moto's application for ``service``; EMR's dispatches to ``SignedEmrResponse``."""
    app = create_backend_app(service)
    for endpoint, view in list(app.view_functions.items()):
        if getattr(view, "callback", None) == ElasticMapReduceResponse.dispatch:
            app.view_functions[endpoint] = convert_to_flask_response(SignedEmrResponse.dispatch)
    return app


class Moto:
    """moto's server application, called in-process."""

    def __init__(self) -> None:
        self._app = DomainDispatcherApplication(_backend_app)

    def __call__(self, environ: dict[str, Any],
                 start_response: WsgiStartResponse) -> Iterable[bytes]:
        """moto's answer; an XML error of a JSON-protocol service is said in JSON, as AWS
        says it, and everything else passes through untouched."""
        if not _SIGNED_FOR_JSON.search(environ.get("HTTP_AUTHORIZATION", "")):
            return self._app(environ, start_response)
        answer = self.answer(environ)
        found = _XML_CODE.search(answer.body) if answer.status.startswith("4") else None
        if found is None:
            return answer.send(start_response)
        code = found.group(1).decode()
        return json_error(AwsError(code if code.endswith("Exception") else f"{code}Exception",
                                   found.group(2).decode(),
                                   int(answer.status.split()[0]))).send(start_response)

    def answer(self, environ: dict[str, Any]) -> Raw:
        """moto's whole answer to a request, with its Content-Length made right."""
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        body = b"".join(self._app(environ, start))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        return Raw(captured["status"], headers + [("Content-Length", str(len(body)))], body)

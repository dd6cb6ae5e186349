"""The REST handlers: authenticate, run the answer off the event loop, say errors as JSON.

Each handler is a few lines over ``api``; the one thing decided here is the
status of each error (docs/rest-api.md, "Errors"). boto3 blocks, so every
answer is computed in an executor of the extension's own while the event loop
keeps serving the notebooks: a burst of slow AWS calls (200 requests at once
against a throttled account) must not starve the loop's default executor, where
tornado resolves host names and other extensions run their work.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import AwsCallError, EmrRolesError, InvalidIdentifier, RolesFileError
from . import api, orphans

T = TypeVar("T")
# As many AWS calls at once as a botocore client keeps connections (its default pool).
AWS_WORKERS = 10
_AWS_CALLS = ThreadPoolExecutor(max_workers=AWS_WORKERS, thread_name_prefix="jupyter-emr-roles")
NAMESPACE = "jupyter-emr-roles"
# AwsCallError.code → status; any other code means AWS could not be asked, or refused.
_AWS_STATUS = {"AccessDenied": 403, "NotFound": 404}
_HTTP_CODES = {400: "BadRequest", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}


class ApiError(tornado.web.HTTPError):
    """An error answer: its status and the ``{code, message, ...}`` body."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(status, "%s: %s", code, message)
        self.body = {"code": code, "message": message, **extra}


def as_api_error(exc: EmrRolesError) -> ApiError:
    """The one place a project exception becomes a status and a code."""
    if isinstance(exc, InvalidIdentifier):
        return ApiError(400, "InvalidIdentifier", str(exc))
    if isinstance(exc, api.RoleNotListed):
        return ApiError(403, "RoleNotListed", str(exc))
    if isinstance(exc, RolesFileError):
        return ApiError(422, "RolesFileError", str(exc),
                        problems=[problem.as_dict() for problem in exc.problems])
    if isinstance(exc, AwsCallError):
        return ApiError(_AWS_STATUS.get(exc.code, 502), exc.code, str(exc))
    if isinstance(exc, orphans.CloseFailed):
        return ApiError(502, "CloseFailed", str(exc))
    return ApiError(400, "BadRequest", str(exc))


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except EmrRolesError as exc:
        raise as_api_error(exc) from None


class EmrRolesHandler(APIHandler):
    """Errors as ``{code, message}``; never a traceback, never a secret."""

    async def off_loop(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_AWS_CALLS, functools.partial(function, *args))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            body = error.body
        elif isinstance(error, tornado.web.HTTPError):
            body = {"code": _HTTP_CODES.get(status_code, "Error"),
                    "message": (error.log_message % error.args if error.args
                                else error.log_message) or self._reason}
        else:
            body = {"code": "InternalError", "message": "The jupyter-emr-roles server extension "
                    "failed unexpectedly; the Jupyter server log has the details."}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class RolesHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        with user_errors():
            self.finish(json.dumps(await self.off_loop(api.roles_json)))


class ClustersHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        with user_errors():
            states = api.parse_states(self.get_query_argument("states", None))
            marker = api.parse_marker(self.get_query_argument("marker", None))
            account = api.parse_account(self.get_query_argument("account", None))
            self.finish(json.dumps(await self.off_loop(api.clusters_json, states, marker,
                                                       account)))


class ClusterHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def get(self, cluster_id: str) -> None:
        with user_errors():
            cache = self.settings[f"{NAMESPACE}.readiness"]
            account = api.parse_account(self.get_query_argument("account", None))
            self.finish(json.dumps(await self.off_loop(api.readiness_json, cache, cluster_id,
                                                       None, account)))


class ApplicationsHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        with user_errors():
            marker = api.parse_marker(self.get_query_argument("marker", None))
            account = api.parse_account(self.get_query_argument("account", None))
            self.finish(json.dumps(await self.off_loop(api.applications_json, marker, account)))


class ApplicationHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def get(self, application_id: str) -> None:
        with user_errors():
            cache = self.settings[f"{NAMESPACE}.readiness"]
            account = api.parse_account(self.get_query_argument("account", None))
            self.finish(json.dumps(await self.off_loop(api.application_readiness_json, cache,
                                                       application_id, None, account)))


class DoctorHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        with user_errors():
            cluster_id = self.get_query_argument("cluster_id", None)
            role_arn = self.get_query_argument("role_arn", None)
            application_id = self.get_query_argument("application_id", None)
            self.finish(json.dumps(await self.off_loop(api.doctor_json, cluster_id, role_arn,
                                                       application_id)))


class CheckHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        with user_errors():
            cache = self.settings[f"{NAMESPACE}.readiness"]
            body = self.request.body
            self.finish(json.dumps(await self.off_loop(api.check_json, cache, body)))


class OrphansHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.finish(json.dumps(await self.off_loop(orphans.orphans_json)))


class CloseOrphansHandler(EmrRolesHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        with user_errors():
            self.finish(json.dumps(await self.off_loop(orphans.close_json)))


def setup_handlers(web_app: tornado.web.Application) -> None:
    """Route ``{base_url}jupyter-emr-roles/...`` to the handlers, with one readiness cache."""
    base = url_path_join(web_app.settings["base_url"], NAMESPACE)
    web_app.settings[f"{NAMESPACE}.readiness"] = api.ReadinessCache()
    web_app.add_handlers(".*$", [
        (url_path_join(base, "roles"), RolesHandler),
        (url_path_join(base, "clusters"), ClustersHandler),
        (url_path_join(base, "clusters", "([^/]+)"), ClusterHandler),
        (url_path_join(base, "applications"), ApplicationsHandler),
        (url_path_join(base, "applications", "([^/]+)"), ApplicationHandler),
        (url_path_join(base, "check"), CheckHandler),
        (url_path_join(base, "doctor"), DoctorHandler),
        (url_path_join(base, "orphans"), OrphansHandler),
        (url_path_join(base, "orphans", "close"), CloseOrphansHandler),
    ])

"""EMR Serverless applications as the emulator serves them: the ``emr-serverless`` control
plane (REST-JSON under ``/applications``), with AWS's states, auto-start and auto-stop.

moto keeps an application that is STARTED from its creation, never moves, and is found by
no state rule; AWS's application is CREATING, then CREATED, STARTING, STARTED, STOPPING,
STOPPED and, once deleted, TERMINATED (the user guide's "Application states"), starts when
work is submitted to it stopped (``autoStartConfiguration``) and stops after
``autoStopConfiguration.idleTimeoutMinutes`` without work. Here moto's application model is
kept for what it gets right (its ID of 16 lower-case alphanumerics, its ARN, the default
auto-start and auto-stop of 15 minutes, its release check), and the states move by the clock:
each transition takes ``transition`` seconds, and a minute of idle time is ``minute``
seconds, so a test may watch an auto-stop without waiting a quarter of an hour. States are
worked out whenever an application is read, so no thread keeps time. Job runs are
``serverless_jobs.py``'s, interactive sessions ``serverless_livy.py``'s and
``serverless_sessions.py``'s: each keeps its application from stopping idle while it lasts.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

from moto.emrserverless.models import Application

from .callers import AwsError
from .operations import Backends, Call, Operation, Service, rows
from .protocols import Raw, body_of, json_answer, json_error, signed_for
from .sts import role_of, trusts

_ID = re.compile(r"^[0-9a-z]+$")
_RELEASE = re.compile(r"^emr-(\d+)\.(\d+)\.\d+$")
# The release from which an application may have a Livy endpoint (the user guide's
# "Interactive workloads with Livy endpoints").
LIVY_RELEASE = (6, 14)
# The principal EMR Serverless assumes a job's (or a session's) execution role as.
SERVICE_PRINCIPAL = "emr-serverless.amazonaws.com"
_CHANGEABLE = ("CREATED", "STOPPED")  # where UpdateApplication and DeleteApplication may act
_PAGE = 50


class Interactive(Protocol):
    """Interactive work an application runs beside its job runs (its Livy endpoint's sessions,
    its Spark Connect sessions): live work keeps the application from stopping idle, as a
    running job does, and stopping the application ends the work."""

    def live(self, application_id: str) -> bool:
        """Whether the application has work that is not over."""

    def stop(self, application_id: str) -> None:
        """End the application's work (it is stopping); must not block."""


@dataclass
class ServerlessSettings:
    """How fast applications move: seconds per state transition, and seconds per minute of
    ``idleTimeoutMinutes`` (60 as on AWS; less to watch an auto-stop in a test). One object
    the applications share, so the emulator can seed its world at once and then slow down.
    ``interactive``: the interactive work of every application (``Interactive``);
    ``stop_refusals``: why StopApplication may not stop an application now, if it may not
    (each given the application's ID; None where it may). Job runs
    run with ``engine`` ("fake" or "real") in ``folder``, as their execution role, whose
    credentials ``role_credentials(role_arn, session_name)`` gives (None: no job runs)."""

    transition: float = 0.5
    minute: float = 60.0
    interactive: list[Interactive] = field(default_factory=list)
    stop_refusals: list[Callable[[str], str | None]] = field(default_factory=list)
    role_credentials: Callable[[str, str], dict[str, str]] | None = None
    engine: str = "fake"
    folder: Path | None = None


def not_found(application_id: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Application {application_id} does not exist",
                    404)


def wrong_state(application_id: str, state: str, allowed: tuple[str, ...]) -> AwsError:
    return AwsError("ValidationException", f"Application {application_id} must be in one of "
                    f"the following statuses [{', '.join(allowed)}]. Current status: {state}")


class ServerlessApplication(Application):
    """moto's application with AWS's states: ``refresh`` moves it on by the clock."""

    def __init__(self, params: dict[str, Any], account: str, region: str,
                 settings: ServerlessSettings) -> None:
        super().__init__(
            name=params.get("name", ""), release_label=params["releaseLabel"],
            application_type=params["type"], client_token=params.get("clientToken", ""),
            account_id=account, region_name=region,
            initial_capacity=params.get("initialCapacity"),
            maximum_capacity=params.get("maximumCapacity"), tags=params.get("tags"),
            auto_start_configuration=params.get("autoStartConfiguration"),
            auto_stop_configuration=params.get("autoStopConfiguration"),
            network_configuration=params.get("networkConfiguration"))
        self.settings = settings
        self.request = params
        self.interactive: dict[str, bool] = {}
        self.architecture = params.get("architecture", "X86_64")
        self.created_at = self.updated_at = datetime.now(timezone.utc)
        self.state = "CREATING"
        self.upcoming: tuple[str, float] | None = None
        self.idle_since = time.monotonic()
        self.configure(params)
        self.move("CREATED")

    def configure(self, params: dict[str, Any]) -> None:
        """What CreateApplication and UpdateApplication set beyond moto's fields."""
        for key, attribute in (("initialCapacity", "initial_capacity"),
                               ("maximumCapacity", "maximum_capacity"),
                               ("networkConfiguration", "network_configuration"),
                               ("architecture", "architecture"),
                               ("releaseLabel", "release_label")):
            if key in params:
                setattr(self, attribute, params[key])
        self.auto_start_configuration = params.get("autoStartConfiguration",
                                                   self.auto_start_configuration)
        stop = dict(params.get("autoStopConfiguration", self.auto_stop_configuration))
        if stop.get("enabled", True):
            stop = {"enabled": True, "idleTimeoutMinutes": stop.get("idleTimeoutMinutes", 15)}
        self.auto_stop_configuration = stop
        self.interactive = params.get("interactiveConfiguration", self.interactive)
        check_interactive(self.release_label, self.interactive)
        self.updated_at = datetime.now(timezone.utc)

    def move(self, upcoming: str, after: float | None = None) -> None:
        """Enter the transition to ``upcoming``, which ends ``transition`` seconds after
        ``after`` (now by default)."""
        start = time.monotonic() if after is None else after
        self.upcoming = (upcoming, start + self.settings.transition)
        self.updated_at = datetime.now(timezone.utc)

    def refresh(self) -> None:
        """Move on by the clock: a transition whose time has come ends, and a started
        application idle for its idle timeout begins to stop."""
        now = time.monotonic()
        while True:
            if self.upcoming is not None and now >= self.upcoming[1]:
                self.state, ended = self.upcoming
                self.upcoming = None
                self.idle_since = ended
                continue
            if self.state == "STARTED" and any(work.live(self.id)
                                               for work in self.settings.interactive):
                self.idle_since = now
            stop = self.auto_stop_configuration
            deadline = self.idle_since + stop.get("idleTimeoutMinutes", 0) * self.settings.minute
            if self.state == "STARTED" and stop.get("enabled") and now >= deadline:
                self.state = "STOPPING"
                self.move("STOPPED", after=deadline)
                continue
            return

    def start(self) -> None:
        """StartApplication: a created or stopped application starts; a starting or started
        one is left as it is."""
        if self.state in ("STARTING", "STARTED"):
            return
        if self.state not in _CHANGEABLE:
            raise wrong_state(self.id, self.state, _CHANGEABLE)
        self.state = "STARTING"
        self.move("STARTED")

    def stop(self) -> None:
        """StopApplication: a started application stops; a stopping, stopped or created one is
        left as it is; one whose work refuses it (``stop_refusals``) is refused."""
        if self.state in ("STOPPING", "STOPPED", "CREATED"):
            return
        if self.state != "STARTED":
            raise wrong_state(self.id, self.state, ("STARTED",))
        refused = next(filter(None, (why(self.id) for why in self.settings.stop_refusals)), None)
        if refused is not None:
            raise AwsError("ValidationException", refused)
        self.state = "STOPPING"
        self.move("STOPPED")
        for work in self.settings.interactive:
            work.stop(self.id)

    def submitted(self) -> None:
        """Work arrives: a stopped application with auto-start on starts, one with it off
        refuses the work, and the idle clock starts again."""
        if self.state == "TERMINATED":
            raise AwsError("ValidationException",
                           f"Application {self.id} is terminated. Cannot start job run.")
        if self.state not in ("STARTING", "STARTED"):
            if not self.auto_start_configuration.get("enabled", True):
                raise AwsError("ValidationException", f"Application {self.id} is in {self.state} "
                               "state and auto-start is disabled; start it with "
                               "StartApplication first.")
            self.start()
        self.idle_since = time.monotonic()

    def summary(self) -> dict[str, Any]:
        """ListApplications' shape of it."""
        return {"id": self.id, "name": self.name, "arn": self.arn,
                "releaseLabel": self.release_label, "type": self.type, "state": self.state,
                "createdAt": self.created_at.timestamp(),
                "updatedAt": self.updated_at.timestamp(), "architecture": self.architecture}

    def described(self) -> dict[str, Any]:
        """GetApplication's shape of it."""
        answer = {key: value for key, value in self.summary().items() if key != "id"}
        answer.update({"applicationId": self.id, "tags": self.tags,
                       "autoStartConfiguration": self.auto_start_configuration,
                       "autoStopConfiguration": self.auto_stop_configuration,
                       "interactiveConfiguration": self.interactive})
        for key, value in (("initialCapacity", self.initial_capacity),
                           ("maximumCapacity", self.maximum_capacity),
                           ("networkConfiguration", self.network_configuration)):
            if value:
                answer[key] = value
        return answer


def release_version(release: str) -> tuple[int, int]:
    """The (major, minor) a release label names; (0, 0) for a label of another shape."""
    found = _RELEASE.match(release)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def check_interactive(release: str, interactive: dict[str, bool]) -> None:
    """A Livy endpoint needs emr-6.14.0 or later."""
    if interactive.get("livyEndpointEnabled") and release_version(release) < LIVY_RELEASE:
        raise AwsError("ValidationException", f"Livy endpoint is not supported for release "
                       f"label {release}; it needs emr-6.14.0 or later.")


class ServerlessApplications:
    """The applications of one account in one region; thread-safe."""

    def __init__(self, account: str, region: str, settings: ServerlessSettings) -> None:
        self.account = account
        self.region = region
        self.settings = settings
        self.applications: dict[str, ServerlessApplication] = {}
        self._lock = threading.RLock()

    def find(self, call: Call) -> ServerlessApplication:
        """The application the call names, moved on to its present state."""
        return self.current(call.params["applicationId"])

    def current(self, application_id: str) -> ServerlessApplication:
        """The application of that ID, moved on to its present state."""
        with self._lock:
            application = self.applications.get(application_id)
            if application is None:
                raise not_found(application_id)
            application.refresh()
            return application

    def create_application(self, call: Call) -> dict[str, Any]:
        """A new application, CREATING; the same client token with the same request is the
        same application, with another request a conflict."""
        params = {key: value for key, value in call.params.items() if key != "query"}
        with self._lock:
            for application in self.applications.values():
                if application.client_token == params.get("clientToken"):
                    if application.request != params:
                        raise AwsError("ConflictException", "The client token was already "
                                       "used with a different request.", 409)
                    return _created(application)
            check_engine(params)
            application = ServerlessApplication(params, self.account, self.region,
                                                self.settings)
            self.applications[application.id] = application
        return _created(application)

    def get_application(self, call: Call) -> dict[str, Any]:
        with self._lock:
            return {"application": self.find(call).described()}

    def list_applications(self, call: Call) -> dict[str, Any]:
        """A page of the applications in the asked states (TERMINATED ones only when asked),
        in creation order, each page starting at the application its token names."""
        query = call.params["query"]
        states = query.get("states") or ["CREATING", "CREATED", "STARTING", "STARTED",
                                         "STOPPING", "STOPPED"]
        size = max_results(query.get("maxResults", [str(_PAGE)])[0])
        with self._lock:
            for application in self.applications.values():
                application.refresh()
            ids = [key for key, application in self.applications.items()
                   if application.state in states]
        token = query.get("nextToken", [None])[0]
        if token is not None and token not in ids:
            raise AwsError("ValidationException", "Invalid pagination token.")
        first = ids.index(token) if token else 0
        page = ids[first:first + size]
        answer: dict[str, Any] = {"applications": [self.applications[key].summary()
                                                   for key in page]}
        if first + size < len(ids):
            answer["nextToken"] = ids[first + size]
        return answer

    def start_application(self, call: Call) -> dict[str, Any]:
        with self._lock:
            self.find(call).start()
        return {}

    def stop_application(self, call: Call) -> dict[str, Any]:
        with self._lock:
            self.find(call).stop()
        return {}

    def update_application(self, call: Call) -> dict[str, Any]:
        with self._lock:
            application = self.find(call)
            if application.state not in _CHANGEABLE:
                raise wrong_state(application.id, application.state, _CHANGEABLE)
            application.configure(call.params)
            return {"application": application.described()}

    def delete_application(self, call: Call) -> dict[str, Any]:
        """A deleted application is TERMINATED, still found by GetApplication."""
        with self._lock:
            application = self.find(call)
            if application.state not in _CHANGEABLE:
                raise wrong_state(application.id, application.state, _CHANGEABLE)
            application.state = "TERMINATED"
            application.updated_at = datetime.now(timezone.utc)
        return {}


def role_refusal(role_arn: str) -> str | None:
    """Why EMR Serverless cannot assume a job's or a session's execution role, in STS's words
    (the role is missing, or its trust policy does not let emr-serverless.amazonaws.com
    sts:AssumeRole); None where it can. Found when the work starts, as on AWS."""
    role = role_of(role_arn)
    if role is None or not trusts(json.loads(role.assume_role_policy_document),
                                  SERVICE_PRINCIPAL, "sts:AssumeRole"):
        return (f"User: {SERVICE_PRINCIPAL} is not authorized to perform: sts:AssumeRole on "
                f"resource: {role_arn}")
    return None


def check_engine(params: dict[str, Any]) -> None:
    """The engine type and the release label's shape, in moto's words."""
    kind, release = params.get("type", ""), params.get("releaseLabel", "")
    if kind.upper() not in ("SPARK", "HIVE"):
        raise AwsError("ValidationException", f"Unsupported engine {kind}")
    if not _RELEASE.match(release):
        raise AwsError("ValidationException", f"Type '{kind}' is not supported for release "
                       f"label '{release}' or release label does not exist")


def _created(application: ServerlessApplication) -> dict[str, Any]:
    return {"applicationId": application.id, "name": application.name, "arn": application.arn}


def max_results(text: str) -> int:
    """A page size a List call asked for, within AWS's bounds (1 to 50)."""
    size = int(text) if text.isdigit() else 0
    if not 1 <= size <= _PAGE:
        raise AwsError("ValidationException", "1 validation error detected: Value at "
                       f"'maxResults' failed to satisfy constraint: Member must have value "
                       f"less than or equal to {_PAGE} and greater than or equal to 1")
    return size


def newest_page(items: list[Any], query: dict[str, list[str]], state: Callable[[Any], str],
                created: Callable[[Any], float]) -> tuple[list[Any], str | None]:
    """A page of a List call over an application's job runs or sessions: the items in the
    asked ``states``, created between ``createdAtAfter`` and ``createdAtBefore``, newest first,
    from the place ``nextToken`` names; and the next page's token, if there is a next page."""
    states = query.get("states")
    after, before = (epoch(query.get(key)) for key in ("createdAtAfter", "createdAtBefore"))
    kept = sorted((item for item in items if (not states or state(item) in states)
                   and (after is None or created(item) >= after)
                   and (before is None or created(item) <= before)), key=created, reverse=True)
    size = max_results(query.get("maxResults", [str(_PAGE)])[0])
    token = query.get("nextToken", ["0"])[0]
    if not token.isdigit():
        raise AwsError("ValidationException", "Invalid pagination token.")
    first = int(token)
    return kept[first:first + size], str(first + size) if first + size < len(kept) else None


def epoch(values: list[str] | None) -> float | None:
    """A timestamp botocore put in a query string (ISO 8601), in seconds since the epoch."""
    if not values:
        return None
    try:
        return datetime.fromisoformat(values[0].replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise AwsError("ValidationException", f"Invalid timestamp {values[0]}.") from None


def check_application_id(params: dict[str, Any]) -> None:
    """The application ID's pattern, checked before anything else as AWS validates first."""
    check_ids(params, "applicationId")


def check_ids(params: dict[str, Any], *names: str) -> None:
    """The patterns of the IDs ``names`` (applicationId, jobRunId, sessionId: all [0-9a-z]+)
    where the request has them, checked before anything else as AWS validates first."""
    for name in names:
        value = params.get(name)
        if value is not None and not _ID.match(value):
            raise AwsError("ValidationException", f"1 validation error detected: Value "
                           f"'{value}' at '{name}' failed to satisfy constraint: Member must "
                           "satisfy regular expression pattern: [0-9a-z]+")


def application_arn(call: Call) -> str:
    """The application's ARN, which IAM authorizes the calls on it on."""
    return (f"arn:aws:emr-serverless:{call.region}:{call.caller.account}:/applications/"
            f"{call.params.get('applicationId')}")


def _row(name: str, answer: Callable[[Any, Call], Any], method: str, path: str,
         **rules: Any) -> Operation:
    """An operation on one application, authorized on its ARN unless ``rules`` say."""
    return Operation(name, answer, resource=rules.pop("resource", application_arn),
                     validate=check_application_id, route=(method, path), **rules)


_A = ServerlessApplications
_ONE = "/applications/{applicationId}"


class EmrServerless(Service):
    """The ``emr-serverless`` calls on applications; the job runs' and sessions' services
    answer theirs, and moto every other call signed for the service."""

    name = "emr-serverless"
    operations = rows(
        _row("CreateApplication", _A.create_application, "POST", "/applications",
             resource=lambda call: "*"),
        _row("ListApplications", _A.list_applications, "GET", "/applications",
             resource=lambda call: "*"),
        _row("GetApplication", _A.get_application, "GET", _ONE),
        _row("UpdateApplication", _A.update_application, "PATCH", _ONE),
        _row("DeleteApplication", _A.delete_application, "DELETE", _ONE),
        _row("StartApplication", _A.start_application, "POST", _ONE + "/start"),
        _row("StopApplication", _A.stop_application, "POST", _ONE + "/stop"),
    )

    def __init__(self, settings: ServerlessSettings) -> None:
        self.backends: Backends[ServerlessApplications] = Backends(
            lambda account, region: ServerlessApplications(account, region, settings))

    def recognize(self, environ: dict[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
        if not signed_for(environ, self.name):
            return None
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        for row in self.operations.values():
            assert row.route is not None
            found = _route_pattern(row.route[1]).match(path) if row.route[0] == method else None
            if found is not None:
                body = body_of(environ)
                params: dict[str, Any] = json.loads(body) if body else {}
                params.update(found.groupdict())
                params["query"] = parse_qs(environ.get("QUERY_STRING", ""))
                return row, params
        return None

    def backend(self, call: Call) -> ServerlessApplications:
        return self.backends[call.caller.account, call.region]

    def error(self, error: AwsError) -> Raw:
        return json_error(error)

    def render(self, answer: Any) -> Raw:
        return json_answer(answer)


@functools.cache
def _route_pattern(path: str) -> re.Pattern[str]:
    """A route's path as a regular expression, each ``{name}`` one path segment."""
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")

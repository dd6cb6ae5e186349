"""What the REST API answers, as plain blocking functions over the core.

The handlers parse nothing and decide nothing: they run these functions off
the event loop and turn the project's exceptions into statuses. Keeping the
answers here, free of tornado, keeps each rule of the contract
(docs/rest-api.md) in one readable place.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from .. import application_list, clusters, roles
from ..aws.clients import READY_STATES, Emr, access_emr, caller_emr
from ..aws.serverless import Serverless
from ..cluster_target import account_emr
from ..connect_request import ConnectRequest
from ..errors import AwsCallError, EmrRolesError
from ..identifiers import AccountId, ApplicationId, ClusterId, RoleArn, account_in_arn, show

log = logging.getLogger(__name__)

LISTABLE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING")
READINESS_SECONDS = 30.0
# EMR's markers are opaque; whatever they are, they are short, printable and free of spaces.
_MARKER = re.compile(r"[\x21-\x7e]{1,4096}", re.ASCII)
_CHECK_FIELDS = {"cluster_id", "application_id", "role_arn", "access_role_arn"}


class BadRequest(EmrRolesError):
    """A query parameter or request body the API cannot use."""


class RoleNotListed(EmrRolesError):
    """A role that the user's roles files do not offer for the cluster's account."""


class ReadinessCache:
    """Readiness answers kept ``seconds`` per key, so a picker that re-renders does not
    describe the same cluster again; failures are never kept, so a fixed permission shows
    at once. Thread-safe: the handlers compute in executor threads."""

    def __init__(self, seconds: float = READINESS_SECONDS, size: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._kept: dict[Hashable, tuple[float, dict[str, Any]]] = {}

    def get(self, key: Hashable, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = compute()
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if v[0] > now}
            while len(self._kept) >= self.size:
                del self._kept[next(iter(self._kept))]
            self._kept[key] = (self.clock() + self.seconds, value)
        return value


def parse_states(text: str | None) -> tuple[str, ...]:
    """``?states=RUNNING,WAITING`` → the states; absent means RUNNING and WAITING."""
    if text is None:
        return READY_STATES
    states = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    wrong = [state for state in states if state not in LISTABLE_STATES]
    if wrong or not states:
        raise BadRequest(f"The states {show(text)} are not valid: give a comma-separated list "
                         f"of {', '.join(LISTABLE_STATES)} (or leave states out for RUNNING, "
                         "WAITING).")
    return states


def parse_marker(text: str | None) -> str | None:
    """The ``marker`` of a previous page, or None for the first page."""
    if text is None or text == "":
        return None
    if not _MARKER.fullmatch(text):
        raise BadRequest(f"The marker {show(text)} is not one this API gave out; pass the "
                         "marker of the previous page exactly, or leave it out to start from "
                         "the first page.")
    return text


def roles_json() -> dict[str, Any]:
    return roles.load_catalog().as_json()


def parse_account(text: str | None) -> AccountId | None:
    return None if text is None else AccountId(text, "the account query parameter")


def clusters_json(states: tuple[str, ...], marker: str | None,
                  account: AccountId | None = None) -> dict[str, Any]:
    """One ListClusters page, of the caller's account or of ``account`` through the access
    role the roles files give it. A marker that EMR refuses is the caller's mistake (400)."""
    emr, _ = account_emr(account)
    page = _page(marker, lambda: clusters.list_page(emr, states, marker))
    _same_account([cluster.arn for cluster in page.clusters], account, "clusters")
    return page.as_json()


def applications_json(marker: str | None, account: AccountId | None = None) -> dict[str, Any]:
    """One ListApplications page of EMR Serverless applications (all but TERMINATED), each
    with the engines it offers and its readiness; the account as for :func:`clusters_json`."""
    serverless = Serverless(account_emr(account)[0].session)
    page = _page(marker, lambda: application_list.list_page(serverless, marker))
    _same_account([row.arn for row in page.applications], account, "applications")
    return page.as_json()


Page = TypeVar("Page")


def _page(marker: str | None, list_page: Callable[[], Page]) -> Page:
    """``list_page()``; a marker that AWS refuses is the caller's mistake (400)."""
    try:
        return list_page()
    except AwsCallError as exc:
        if marker is None or exc.code != "Refused":
            raise
        raise BadRequest(f"AWS did not accept the marker {show(marker)} ({exc}) Leave the "
                         "marker out to start again from the first page.") from None


def _same_account(arns: list[str], account: AccountId | None, what: str) -> None:
    """Without an access role for ``account`` the caller lists its own clusters (or
    applications): they must be that account's, or the roles files lack its access role."""
    found = {account_in_arn(arn, f"an ARN of the {what}") for arn in arns} - {None}
    if account is not None and found and found != {account}:
        raise BadRequest(f"Your roles files give account {account} no access role, and your "
                         f"own identity lists the {what} of account {', '.join(found)}. Ask "
                         f"your admin for an access role in {account} in your roles files.")


def readiness_json(cache: ReadinessCache, cluster_id: str,
                   access_role_arn: RoleArn | None = None,
                   account: AccountId | None = None) -> dict[str, Any]:
    """The cluster's readiness, from the cache when it was asked in the last 30 seconds; as
    the caller, through ``access_role_arn``, or through ``account``'s access role."""
    cluster = ClusterId(cluster_id, "the URL")
    return _readiness(cache, cluster, access_role_arn, account,
                      lambda emr: clusters.assess(emr, cluster))


def application_readiness_json(cache: ReadinessCache, application_id: str,
                               access_role_arn: RoleArn | None = None,
                               account: AccountId | None = None) -> dict[str, Any]:
    """An EMR Serverless application's readiness, as :func:`readiness_json` a cluster's."""
    application = ApplicationId(application_id, "the URL")
    return _readiness(cache, application, access_role_arn, account, lambda emr: (
        application_list.assess(Serverless(emr.session), application)))


def _readiness(cache: ReadinessCache, key: ClusterId | ApplicationId,
               access_role_arn: RoleArn | None, account: AccountId | None,
               assess: Callable[[Emr], clusters.Readiness]) -> dict[str, Any]:
    """``assess`` with the EMR client of the caller, ``access_role_arn`` or ``account``'s
    access role, from the cache when it was asked in the last 30 seconds.

    The key holds the caller's cached EMR client, which changes with the AWS settings, so
    an answer given to one identity is never served to another."""
    _, caller = caller_emr()

    def compute() -> dict[str, Any]:
        emr = account_emr(account)[0] if access_role_arn is None else access_emr(access_role_arn)
        return assess(emr).as_json()

    return cache.get((type(key).__name__, key, access_role_arn, account, caller), compute)


def doctor_json(cluster_id: str | None, role_arn: str | None,
                application_id: str | None = None) -> dict[str, Any]:
    """``GET doctor``: the doctor's report of a cluster, or of an EMR Serverless application
    (``application_id``, instead), as ``jupyter-emr-roles doctor --json`` prints it. Its
    warnings (a role the roles files do not list) are logged, not answered."""
    from ..doctor import diagnose

    role = RoleArn(role_arn, "the role_arn query parameter") if role_arn else None
    if application_id is None:
        request = ConnectRequest(
            cluster_id=ClusterId(cluster_id, "the cluster_id query parameter"), role_arn=role)
    elif cluster_id is None:
        request = ConnectRequest(application_id=ApplicationId(
            application_id, "the application_id query parameter"), role_arn=role)
    else:
        raise BadRequest("Give cluster_id or application_id, not both.")
    return diagnose(request, lambda warning: log.info("doctor: %s", warning)).as_json()


def check_json(cache: ReadinessCache, body: bytes) -> dict[str, Any]:
    """``POST check``: the identifiers parse and the role is listed for the account of the
    cluster (or EMR Serverless application)."""
    request = _check_request(body)
    source = "the request body's {}".format
    serverless = request.get("application_id") is not None
    role_arn = RoleArn(request.get("role_arn"), source("role_arn"))
    access = request.get("access_role_arn")
    access_role_arn = None if access is None else RoleArn(access, source("access_role_arn"))
    catalog = roles.load_catalog()
    if serverless:
        what, field = "application", "application_id"
        found = application_readiness_json(cache, ApplicationId(request[field], source(field)),
                                           access_role_arn)
    else:
        what, field = "cluster", "cluster_id"
        found = readiness_json(cache, ClusterId(request.get(field), source(field)),
                               access_role_arn)
    account = found["account"]
    choices = catalog.account(AccountId(account, f"the {what}'s ARN")) if account else None
    role = next((r for r in choices.roles if r.arn == role_arn), None) if choices else None
    if role is None:
        listed = ", ".join(r.arn for r in choices.roles) if choices else ""
        offer = f"Pick one of {listed}" if listed else "No role is listed for that account"
        raise RoleNotListed(
            f"The role {role_arn} is not listed for account {account or '(unknown)'} of "
            f"{what} {request[field]} in your roles files. {offer}, or ask your admin to add "
            "it (`jupyter-emr-roles roles add ARN`).")
    return {what: found, "role": role.as_json()}


def _check_request(body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body or b"null")
    except ValueError:
        request = None
    if not isinstance(request, dict):
        raise BadRequest('The body must be a JSON object: {"cluster_id": "j-...", "role_arn": '
                         '"arn:aws:iam::...:role/...", "access_role_arn": null}.')
    unknown = sorted(set(request) - _CHECK_FIELDS)
    if unknown:
        raise BadRequest(f"The body has unknown fields {', '.join(map(show, unknown))}; it "
                         "takes cluster_id (or application_id), role_arn and access_role_arn.")
    if request.get("cluster_id") is not None and request.get("application_id") is not None:
        raise BadRequest("The body names both a cluster_id and an application_id; give one "
                         "of them.")
    return request

"""S3 Access Grants as S3 Control serves them: one instance per account, its locations, and
grants of READ, WRITE or READWRITE on a prefix to an IAM principal.

moto has none of it, and seeds 000 and 001 are about it: grants that an admin, or an external
policy engine such as Immuta, creates, and that a runtime role's S3 reads go through. The
wire format is S3 Control's REST-XML (paths under ``/v20180820/accessgrantsinstance``, the
account in ``x-amz-account-id``), with the error codes AWS uses.
"""

from __future__ import annotations

import re
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from .callers import AwsError

PATH = "/v20180820/accessgrantsinstance"
NAMESPACE = "http://awss3control.amazonaws.com/doc/2018-08-20/"
PERMISSIONS = ("READ", "WRITE", "READWRITE")


@dataclass(frozen=True)
class Location:
    id: str
    scope: str
    role_arn: str
    created: datetime


@dataclass(frozen=True)
class Grant:
    id: str
    location: Location
    sub_prefix: str
    grantee_type: str
    grantee: str
    permission: str
    created: datetime

    @property
    def scope(self) -> str:
        """The S3 prefix the grant covers: the location's scope and the grant's sub-prefix."""
        base = self.location.scope if self.location.scope == "s3://" else \
            self.location.scope.rstrip("/") + "/"
        return base + self.sub_prefix if self.sub_prefix else self.location.scope


@dataclass
class _Account:
    created: datetime
    locations: dict[str, Location]
    grants: list[Grant]


@dataclass(frozen=True)
class GrantsCall:
    """One S3 Control request for Access Grants: whose instance, and what was sent."""

    method: str
    route: str  # the path under PATH, with a grant's or location's ID as "{id}"
    resource_id: str
    account: str
    region: str
    query: dict[str, str]
    body: bytes


class AccessGrants:
    """Every account's Access Grants instance; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}

    @staticmethod
    def handles(path: str) -> bool:
        return path == PATH or path.startswith(PATH + "/")

    def action(self, call: GrantsCall) -> str:
        """The IAM action the request needs."""
        return _ROUTES.get((call.method, call.route), ("", None))[0] or "s3:AccessGrants"

    def answer(self, call: GrantsCall) -> bytes:
        """The XML answer, or AwsError with AWS's code."""
        found = _ROUTES.get((call.method, call.route))
        if found is None:
            raise AwsError("MethodNotAllowed", f"{call.method} {PATH}{call.route} is not "
                           "an S3 Access Grants operation.", 405)
        with self._lock:
            return found[1](self, call)

    def _instance(self, call: GrantsCall) -> _Account:
        account = self._accounts.get(call.account)
        if account is None:
            raise AwsError("AccessGrantsInstanceNotExistsError", "Access Grants Instance does "
                           "not exist", 404)
        return account

    def _create_instance(self, call: GrantsCall) -> bytes:
        if call.account in self._accounts:
            raise AwsError("AccessGrantsInstanceAlreadyExists", "Access Grants Instance "
                           "already exists", 409)
        self._accounts[call.account] = _Account(_now(), {}, [])
        return self._get_instance(call)

    def _get_instance(self, call: GrantsCall) -> bytes:
        account = self._instance(call)
        return _xml("GetAccessGrantsInstanceResult", {
            "AccessGrantsInstanceArn": _arn(call), "AccessGrantsInstanceId": "default",
            "CreatedAt": account.created})

    def _create_location(self, call: GrantsCall) -> bytes:
        account, body = self._instance(call), _parsed(call.body)
        scope = body.get("LocationScope", "")
        if not scope.startswith("s3://"):
            raise AwsError("InvalidRequest", f"LocationScope {scope!r} must start with s3://.")
        location_id = "default" if scope == "s3://" else secrets.token_hex(8)
        location = Location(location_id, scope, body.get("IAMRoleArn", ""), _now())
        account.locations[location_id] = location
        return _xml("CreateAccessGrantsLocationResult", _location_fields(call, location))

    def _list_locations(self, call: GrantsCall) -> bytes:
        account, scope = self._instance(call), call.query.get("locationscope")
        return _xml("ListAccessGrantsLocationsResult", {"AccessGrantsLocationsList": [
            ("AccessGrantsLocation", _location_fields(call, location))
            for location in account.locations.values() if scope in (None, location.scope)]})

    def _create_grant(self, call: GrantsCall) -> bytes:
        account, body = self._instance(call), _parsed(call.body)
        location = account.locations.get(body.get("AccessGrantsLocationId", ""))
        if location is None:
            raise AwsError("AccessGrantsLocationNotFoundError", "The location does not exist.",
                           404)
        if body.get("Permission") not in PERMISSIONS:
            raise AwsError("InvalidRequest", f"Permission must be one of {PERMISSIONS}.")
        grant = Grant(secrets.token_hex(8), location, body.get("S3SubPrefix", ""),
                      body.get("GranteeType", ""), body.get("GranteeIdentifier", ""),
                      body["Permission"], _now())
        account.grants.append(grant)
        return _xml("CreateAccessGrantResult", _grant_fields(call, grant))

    def _list_grants(self, call: GrantsCall) -> bytes:
        grants = [grant for grant in self._instance(call).grants if _asked(grant, call.query)]
        return _xml("ListAccessGrantsResult", {"AccessGrantsList": [
            ("AccessGrant", _grant_fields(call, grant)) for grant in grants]})

    def _delete_grant(self, call: GrantsCall) -> bytes:
        account = self._instance(call)
        kept = [grant for grant in account.grants if grant.id != call.resource_id]
        if len(kept) == len(account.grants):
            raise AwsError("AccessGrantNotFoundError", "The access grant does not exist.", 404)
        account.grants = kept
        return b""

    def _delete_location(self, call: GrantsCall) -> bytes:
        """A location with grants on it stays: AWS asks for its grants to be deleted first."""
        account = self._instance(call)
        if call.resource_id not in account.locations:
            raise AwsError("AccessGrantsLocationNotFoundError", "The location does not exist.",
                           404)
        if any(grant.location.id == call.resource_id for grant in account.grants):
            raise AwsError("AccessGrantsLocationNotEmptyError", "The location has grants; "
                           "delete them before the location.", 409)
        del account.locations[call.resource_id]
        return b""


_ROUTES: dict[tuple[str, str], tuple[str, Callable[[AccessGrants, GrantsCall], bytes]]] = {
    ("POST", ""): ("s3:CreateAccessGrantsInstance", AccessGrants._create_instance),
    ("GET", ""): ("s3:GetAccessGrantsInstance", AccessGrants._get_instance),
    ("POST", "/location"): ("s3:CreateAccessGrantsLocation", AccessGrants._create_location),
    ("GET", "/locations"): ("s3:ListAccessGrantsLocations", AccessGrants._list_locations),
    ("POST", "/grant"): ("s3:CreateAccessGrant", AccessGrants._create_grant),
    ("GET", "/grants"): ("s3:ListAccessGrants", AccessGrants._list_grants),
    ("DELETE", "/grant/{id}"): ("s3:DeleteAccessGrant", AccessGrants._delete_grant),
    ("DELETE", "/location/{id}"): ("s3:DeleteAccessGrantsLocation",
                                   AccessGrants._delete_location),
}
_ONE = re.compile(r"^/(grant|location)/([^/]+)$")


def grants_call(environ: dict[str, Any], body: bytes, region: str) -> GrantsCall:
    query = {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    route = environ.get("PATH_INFO", "").removeprefix(PATH).rstrip("/")
    one = _ONE.match(route)
    return GrantsCall(environ.get("REQUEST_METHOD", "GET"),
                      f"/{one.group(1)}/{{id}}" if one else route, one.group(2) if one else "",
                      environ.get("HTTP_X_AMZ_ACCOUNT_ID", ""), region, query, body)


def error_xml(error: AwsError) -> bytes:
    return _xml("ErrorResponse", {"Error": {"Code": error.code, "Message": error.message}},
                namespace=None)


def _arn(call: GrantsCall, *parts: str) -> str:
    return "/".join([f"arn:aws:s3:{call.region}:{call.account}:access-grants/default", *parts])


def _location_fields(call: GrantsCall, location: Location) -> dict[str, Any]:
    return {"CreatedAt": location.created, "AccessGrantsLocationId": location.id,
            "AccessGrantsLocationArn": _arn(call, "location", location.id),
            "LocationScope": location.scope, "IAMRoleArn": location.role_arn}


def _grant_fields(call: GrantsCall, grant: Grant) -> dict[str, Any]:
    return {"CreatedAt": grant.created, "AccessGrantId": grant.id,
            "AccessGrantArn": _arn(call, "grant", grant.id),
            "Grantee": {"GranteeType": grant.grantee_type, "GranteeIdentifier": grant.grantee},
            "Permission": grant.permission, "AccessGrantsLocationId": grant.location.id,
            "AccessGrantsLocationConfiguration": {"S3SubPrefix": grant.sub_prefix},
            "GrantScope": grant.scope}


def _asked(grant: Grant, query: dict[str, str]) -> bool:
    """ListAccessGrants' filters: grantee type and identifier, permission."""
    checks = (("granteetype", grant.grantee_type), ("granteeidentifier", grant.grantee),
              ("permission", grant.permission))
    return all(query.get(key) in (None, actual) for key, actual in checks)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _parsed(body: bytes) -> dict[str, str]:
    """The leaves of an XML request body by their local names (the shapes here are flat but
    for one level of nesting)."""
    try:
        root = ET.fromstring(body or b"<empty/>")
    except ET.ParseError:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed.") from None
    return {element.tag.rpartition("}")[2]: (element.text or "") for element in root.iter()
            if len(element) == 0}


def _xml(root: str, fields: dict[str, Any], namespace: str | None = NAMESPACE) -> bytes:
    element = ET.Element(root, {"xmlns": namespace} if namespace else {})
    _fill(element, fields)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(parent: ET.Element, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        child = ET.SubElement(parent, name)
        if isinstance(value, dict):
            _fill(child, value)
        elif isinstance(value, list):
            for member, member_fields in value:
                _fill(ET.SubElement(child, member), member_fields)
        elif isinstance(value, datetime):
            child.text = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            child.text = str(value)

"""S3 Access Grants as S3 Control serves them: one instance per account and Region, its
locations, and grants of READ, WRITE or READWRITE on a prefix to an IAM principal.

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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from .callers import AwsError
from .operations import Backends, Call, Operation, Service, rows
from .protocols import Raw, body_of, xml, xml_error

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


class AccessGrantsInstance:
    """The Access Grants instance of one account in one region (AWS allows one per Region per
    account), once CreateAccessGrantsInstance has made it; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.created: datetime | None = None
        self.locations: dict[str, Location] = {}
        self.grants: list[Grant] = []

    def _exists(self) -> None:
        if self.created is None:
            raise AwsError("AccessGrantsInstanceNotExistsError", "Access Grants Instance does "
                           "not exist", 404)

    def create_instance(self, call: Call) -> bytes:
        with self._lock:
            if self.created is not None:
                raise AwsError("AccessGrantsInstanceAlreadyExists", "Access Grants Instance "
                               "already exists", 409)
            self.created = _now()
        return self.get_instance(call)

    def get_instance(self, call: Call) -> bytes:
        self._exists()
        return _xml("GetAccessGrantsInstanceResult", {
            "AccessGrantsInstanceArn": _arn(call), "AccessGrantsInstanceId": "default",
            "CreatedAt": self.created})

    def create_location(self, call: Call) -> bytes:
        self._exists()
        body = _parsed(call.params["Body"])
        scope = body.get("LocationScope", "")
        if not scope.startswith("s3://"):
            raise AwsError("InvalidRequest", f"LocationScope {scope!r} must start with s3://.")
        location_id = "default" if scope == "s3://" else secrets.token_hex(8)
        location = Location(location_id, scope, body.get("IAMRoleArn", ""), _now())
        with self._lock:
            self.locations[location_id] = location
        return _xml("CreateAccessGrantsLocationResult", _location_fields(call, location))

    def list_locations(self, call: Call) -> bytes:
        self._exists()
        scope = call.params["Query"].get("locationscope")
        with self._lock:
            found = [location for location in self.locations.values()
                     if scope in (None, location.scope)]
        return _xml("ListAccessGrantsLocationsResult", {"AccessGrantsLocationsList": [
            ("AccessGrantsLocation", _location_fields(call, location)) for location in found]})

    def create_grant(self, call: Call) -> bytes:
        self._exists()
        body = _parsed(call.params["Body"])
        location = self.locations.get(body.get("AccessGrantsLocationId", ""))
        if location is None:
            raise AwsError("AccessGrantsLocationNotFoundError", "The location does not exist.",
                           404)
        if body.get("Permission") not in PERMISSIONS:
            raise AwsError("InvalidRequest", f"Permission must be one of {PERMISSIONS}.")
        grant = Grant(secrets.token_hex(8), location, body.get("S3SubPrefix", ""),
                      body.get("GranteeType", ""), body.get("GranteeIdentifier", ""),
                      body["Permission"], _now())
        with self._lock:
            self.grants.append(grant)
        return _xml("CreateAccessGrantResult", _grant_fields(call, grant))

    def list_grants(self, call: Call) -> bytes:
        self._exists()
        with self._lock:
            grants = [grant for grant in self.grants if _asked(grant, call.params["Query"])]
        return _xml("ListAccessGrantsResult", {"AccessGrantsList": [
            ("AccessGrant", _grant_fields(call, grant)) for grant in grants]})

    def delete_grant(self, call: Call) -> bytes:
        self._exists()
        with self._lock:
            kept = [grant for grant in self.grants if grant.id != call.params["Id"]]
            if len(kept) == len(self.grants):
                raise AwsError("AccessGrantNotFoundError", "The access grant does not exist.",
                               404)
            self.grants = kept
        return b""

    def delete_location(self, call: Call) -> bytes:
        """A location with grants on it stays: AWS asks for its grants to be deleted first."""
        self._exists()
        location_id = call.params["Id"]
        with self._lock:
            if location_id not in self.locations:
                raise AwsError("AccessGrantsLocationNotFoundError",
                               "The location does not exist.", 404)
            if any(grant.location.id == location_id for grant in self.grants):
                raise AwsError("AccessGrantsLocationNotEmptyError", "The location has grants; "
                               "delete them before the location.", 409)
            del self.locations[location_id]
        return b""

    def not_an_operation(self, call: Call) -> bytes:
        raise AwsError("MethodNotAllowed", f"{call.params['Method']} {PATH}"
                       f"{call.params['Route']} is not an S3 Access Grants operation.", 405)


_ONE = re.compile(r"^/(grant|location)/([^/]+)$")
_G = AccessGrantsInstance


class AccessGrants(Service):
    """S3 Control's Access Grants calls (REST-XML under ``PATH``), each needing the s3:
    action of its name; only the account's own principals may use its instance."""

    name = "s3"
    operations = rows(
        Operation("CreateAccessGrantsInstance", _G.create_instance, route=("POST", "")),
        Operation("GetAccessGrantsInstance", _G.get_instance, route=("GET", "")),
        Operation("CreateAccessGrantsLocation", _G.create_location, route=("POST", "/location")),
        Operation("ListAccessGrantsLocations", _G.list_locations, route=("GET", "/locations")),
        Operation("CreateAccessGrant", _G.create_grant, route=("POST", "/grant")),
        Operation("ListAccessGrants", _G.list_grants, route=("GET", "/grants")),
        Operation("DeleteAccessGrant", _G.delete_grant, route=("DELETE", "/grant/{id}")),
        Operation("DeleteAccessGrantsLocation", _G.delete_location,
                  route=("DELETE", "/location/{id}")),
    )
    default = Operation("AccessGrants", AccessGrantsInstance.not_an_operation)

    def __init__(self) -> None:
        self.backends: Backends[AccessGrantsInstance] = Backends(
            lambda account, region: AccessGrantsInstance())

    def recognize(self, environ: dict[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
        path = environ.get("PATH_INFO", "")
        if not (path == PATH or path.startswith(PATH + "/")):
            return None
        route = path.removeprefix(PATH).rstrip("/")
        one = _ONE.match(route)
        route = f"/{one.group(1)}/{{id}}" if one else route
        method = environ.get("REQUEST_METHOD", "GET")
        query = {key: values[0] for key, values in
                 parse_qs(environ.get("QUERY_STRING", "")).items()}
        row = next((row for row in self.operations.values() if row.route == (method, route)),
                   None) or self.row("AccessGrants")
        assert row is not None
        return row, {"Method": method, "Route": route, "Id": one.group(2) if one else "",
                     "AccountId": environ.get("HTTP_X_AMZ_ACCOUNT_ID", ""), "Query": query,
                     "Body": body_of(environ)}

    def backend(self, call: Call) -> AccessGrantsInstance:
        return self.backends[call.params["AccountId"], call.region]

    def admit(self, call: Call, enforce: bool) -> None:
        if enforce and call.caller.account != call.params["AccountId"]:
            raise AwsError("AccessDenied", f"{call.caller.arn} may not use the Access Grants "
                           f"instance of account {call.params['AccountId']}.", 403)

    def error(self, error: AwsError) -> Raw:
        return xml_error("application/xml", error, error_xml)

    def render(self, answer: Any) -> Raw:
        return xml("application/xml", answer)


def error_xml(error: AwsError) -> bytes:
    return _xml("ErrorResponse", {"Error": {"Code": error.code, "Message": error.message}},
                namespace=None)


def _arn(call: Call, *parts: str) -> str:
    return "/".join([f"arn:aws:s3:{call.region}:{call.params['AccountId']}:access-grants/"
                     "default", *parts])


def _location_fields(call: Call, location: Location) -> dict[str, Any]:
    return {"CreatedAt": location.created, "AccessGrantsLocationId": location.id,
            "AccessGrantsLocationArn": _arn(call, "location", location.id),
            "LocationScope": location.scope, "IAMRoleArn": location.role_arn}


def _grant_fields(call: Call, grant: Grant) -> dict[str, Any]:
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

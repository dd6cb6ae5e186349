"""SageMaker Studio's DescribeDomain, DescribeUserProfile and DescribeSpace, for a seeded domain.

moto can create a domain but has no user profiles or spaces, and none of these
calls carries the ``JupyterLabAppSettings.EmrSettings`` that newer Studio domains
use to give notebook users their EMR roles. The emulator answers them from the
world file's domain, in SageMaker's shapes and with its ``ResourceNotFound``
error: the domain's ``DefaultUserSettings`` (for user profiles that set none) and
``DefaultSpaceSettings`` (which SageMaker applies to shared spaces only), each
profile's ``UserSettings``, and each space's sharing type and owner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .callers import AwsError
from .operations import Call, JsonService, Operation, rows

EmrSettings = dict[str, list[str]]


@dataclass(frozen=True)
class StudioSpace:
    """A space: ``Shared`` (the domain's DefaultSpaceSettings apply) or ``Private`` to its
    owner (the owner's user settings apply)."""

    sharing: str
    owner: str | None = None


@dataclass(frozen=True)
class StudioDomain:
    """A domain: its default EmrSettings for users and for shared spaces, each user profile's
    own (None: inherits), and its spaces."""

    account: str
    region: str
    domain_id: str
    default_emr: EmrSettings | None = None
    profiles: dict[str, EmrSettings | None] = field(default_factory=dict)
    default_space_emr: EmrSettings | None = None
    spaces: dict[str, StudioSpace] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:domain/{self.domain_id}"

    def _check_domain(self, params: dict[str, Any]) -> None:
        if params.get("DomainId") != self.domain_id:
            raise AwsError("ResourceNotFound", f"Domain {params.get('DomainId')} not found.")

    def describe_domain(self, call: Call) -> dict[str, Any]:
        self._check_domain(call.params)
        answer = {"DomainId": self.domain_id, "DomainArn": self.arn, "Status": "InService",
                  "DefaultUserSettings": _app_settings(self.default_emr)}
        if self.default_space_emr is not None:
            answer["DefaultSpaceSettings"] = _app_settings(self.default_space_emr)
        return answer

    def describe_user_profile(self, call: Call) -> dict[str, Any]:
        self._check_domain(call.params)
        name = call.params.get("UserProfileName")
        if name not in self.profiles:
            raise AwsError("ResourceNotFound", f"User profile {name} not found.")
        return {"DomainId": self.domain_id, "UserProfileName": name, "Status": "InService",
                "UserProfileArn": f"{self.arn.replace(':domain/', ':user-profile/')}/{name}",
                "UserSettings": _app_settings(self.profiles[name])}

    def describe_space(self, call: Call) -> dict[str, Any]:
        self._check_domain(call.params)
        name = call.params.get("SpaceName")
        space = self.spaces.get(name) if isinstance(name, str) else None
        if space is None:
            raise AwsError("ResourceNotFound", f"Space {name} not found.")
        answer: dict[str, Any] = {
            "DomainId": self.domain_id, "SpaceName": name, "Status": "InService",
            "SpaceArn": f"{self.arn.replace(':domain/', ':space/')}/{name}",
            "SpaceSharingSettings": {"SharingType": space.sharing}}
        if space.owner:
            answer["OwnershipSettings"] = {"OwnerUserProfileName": space.owner}
        return answer


def _app_settings(emr: EmrSettings | None) -> dict[str, Any]:
    return {} if emr is None else {"JupyterLabAppSettings": {"EmrSettings": emr}}


def _resource(kind: str, *names: str) -> Callable[[Call], str]:
    """The ARN IAM authorizes a call on: the domain's, or one of its user profiles' or
    spaces' (``kind/DOMAIN/NAME``), in the domain's account and region."""
    def resource(call: Call) -> str:
        parts = "/".join(str(call.params.get(name)) for name in ("DomainId", *names))
        return f"arn:aws:sagemaker:{call.region}:{call.caller.account}:{kind}/{parts}"

    return resource


class Studio(JsonService):
    """SageMaker's calls for the world's one domain; moto answers every other."""

    name = "sagemaker"
    target = "SageMaker"
    operations = rows(
        Operation("DescribeDomain", StudioDomain.describe_domain, _resource("domain")),
        Operation("DescribeUserProfile", StudioDomain.describe_user_profile,
                  _resource("user-profile", "UserProfileName")),
        Operation("DescribeSpace", StudioDomain.describe_space,
                  _resource("space", "SpaceName")),
    )

    def __init__(self, domain: StudioDomain) -> None:
        self.domain = domain

    def backend(self, call: Call) -> StudioDomain:
        return self.domain

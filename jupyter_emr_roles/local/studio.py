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

from dataclasses import dataclass, field
from typing import Any

from .callers import AwsError

OPERATIONS = ("DescribeDomain", "DescribeUserProfile", "DescribeSpace")

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

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("DomainId") != self.domain_id:
            raise AwsError("ResourceNotFound", f"Domain {params.get('DomainId')} not found.")
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}:domain/{self.domain_id}"
        if operation == "DescribeDomain":
            answer = {"DomainId": self.domain_id, "DomainArn": arn, "Status": "InService",
                      "DefaultUserSettings": _app_settings(self.default_emr)}
            if self.default_space_emr is not None:
                answer["DefaultSpaceSettings"] = _app_settings(self.default_space_emr)
            return answer
        if operation == "DescribeSpace":
            return self._space(params.get("SpaceName"), arn)
        name = params.get("UserProfileName")
        if name not in self.profiles:
            raise AwsError("ResourceNotFound", f"User profile {name} not found.")
        return {"DomainId": self.domain_id, "UserProfileName": name, "Status": "InService",
                "UserProfileArn": f"{arn.replace(':domain/', ':user-profile/')}/{name}",
                "UserSettings": _app_settings(self.profiles[name])}

    def _space(self, name: Any, arn: str) -> dict[str, Any]:
        space = self.spaces.get(name) if isinstance(name, str) else None
        if space is None:
            raise AwsError("ResourceNotFound", f"Space {name} not found.")
        answer: dict[str, Any] = {
            "DomainId": self.domain_id, "SpaceName": name, "Status": "InService",
            "SpaceArn": f"{arn.replace(':domain/', ':space/')}/{name}",
            "SpaceSharingSettings": {"SharingType": space.sharing}}
        if space.owner:
            answer["OwnershipSettings"] = {"OwnerUserProfileName": space.owner}
        return answer

    def resource(self, operation: str, params: dict[str, Any]) -> str:
        """The ARN IAM authorizes the call on."""
        base = f"arn:aws:sagemaker:{self.region}:{self.account}"
        if operation == "DescribeDomain":
            return f"{base}:domain/{params.get('DomainId')}"
        if operation == "DescribeSpace":
            return f"{base}:space/{params.get('DomainId')}/{params.get('SpaceName')}"
        return f"{base}:user-profile/{params.get('DomainId')}/{params.get('UserProfileName')}"


def _app_settings(emr: EmrSettings | None) -> dict[str, Any]:
    return {} if emr is None else {"JupyterLabAppSettings": {"EmrSettings": emr}}

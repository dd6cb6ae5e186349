"""SageMaker Studio's DescribeDomain and DescribeUserProfile, for a seeded domain.

moto can create a domain but has no user profiles, and neither call carries the
``JupyterLabAppSettings.EmrSettings`` that newer Studio domains use to give
notebook users their EMR roles. The emulator answers both from the world file's
domain, in SageMaker's shapes and with its ``ResourceNotFound`` error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .callers import AwsError

OPERATIONS = ("DescribeDomain", "DescribeUserProfile")


@dataclass(frozen=True)
class StudioDomain:
    """A domain: its default EmrSettings and each user profile's own (None: inherits)."""

    account: str
    region: str
    domain_id: str
    default_emr: dict[str, list[str]] | None = None
    profiles: dict[str, dict[str, list[str]] | None] = field(default_factory=dict)

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("DomainId") != self.domain_id:
            raise AwsError("ResourceNotFound", f"Domain {params.get('DomainId')} not found.")
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}:domain/{self.domain_id}"
        if operation == "DescribeDomain":
            return {"DomainId": self.domain_id, "DomainArn": arn, "Status": "InService",
                    "DefaultUserSettings": _user_settings(self.default_emr)}
        name = params.get("UserProfileName")
        if name not in self.profiles:
            raise AwsError("ResourceNotFound", f"User profile {name} not found.")
        return {"DomainId": self.domain_id, "UserProfileName": name, "Status": "InService",
                "UserProfileArn": f"{arn.replace(':domain/', ':user-profile/')}/{name}",
                "UserSettings": _user_settings(self.profiles[name])}

    def resource(self, operation: str, params: dict[str, Any]) -> str:
        """The ARN IAM authorizes the call on."""
        base = f"arn:aws:sagemaker:{self.region}:{self.account}"
        if operation == "DescribeDomain":
            return f"{base}:domain/{params.get('DomainId')}"
        return f"{base}:user-profile/{params.get('DomainId')}/{params.get('UserProfileName')}"


def _user_settings(emr: dict[str, list[str]] | None) -> dict[str, Any]:
    return {} if emr is None else {"JupyterLabAppSettings": {"EmrSettings": emr}}

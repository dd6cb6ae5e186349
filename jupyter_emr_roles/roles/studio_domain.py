"""SageMaker Studio's own ``EmrSettings`` as a source of roles.

Newer Studio domains give EMR roles in the domain, user profile and shared-space
settings (``JupyterLabAppSettings.EmrSettings``: ``ExecutionRoleArns``, the
runtime roles; ``AssumableRoleArns``, the access roles of cluster accounts)
instead of files a lifecycle script writes. The domain, the profile and the
space are named in Studio's resource metadata file; without that file nothing
is asked, so outside Studio this source costs nothing. SageMaker is asked as the
AWS profile and in the region the face was given (``--profile``, ``--region``),
as the cluster is. The answers are kept for a few minutes (roles are
read on every connect and picker page), and a refused or unreachable API is a
warning beside the other sources, never a reason to offer no roles at all.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..aws.settings import aws_settings
from ..errors import AwsCallError, InvalidIdentifier, Problem
from ..identifiers import AccountId, RoleArn
from .formats import AccountRoles, RoleEntry

log = logging.getLogger(__name__)

# Where SageMaker Studio describes the app a notebook runs in: domain, user profile, space.
STUDIO_METADATA = Path("/opt/ml/metadata/resource-metadata.json")
STUDIO_METADATA_ENV = "JUPYTER_EMR_ROLES_STUDIO_METADATA"
KEEP_SECONDS = 300.0
KEEP_FAILURE_SECONDS = 60.0
_kept: dict[tuple[Any, ...], tuple[float, dict[str, list[str]] | AwsCallError]] = {}
_lock = threading.Lock()


class SourceUnavailable(Exception):
    """A source that could not be asked: its problem is shown as a warning, and the roles of
    the other sources are still offered."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def studio_metadata() -> dict[str, Any]:
    """Studio's resource metadata (``DomainId``, ``UserProfileName``, ...); {} outside Studio."""
    path = Path(os.environ.get(STUDIO_METADATA_ENV) or STUDIO_METADATA)
    try:
        metadata = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _text(metadata: dict[str, Any], key: str) -> str | None:
    value = metadata.get(key)
    return value if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class _Where:
    """Whose settings to read: the app's domain, user profile and space, asked as the AWS
    profile and region a face was given (None: the environment's)."""

    domain: str
    profile: str | None
    space: str | None
    aws_profile: str | None
    region: str | None

    def __str__(self) -> str:
        owner = f"space {self.space}" if self.space else f"user profile {self.profile}"
        return f"SageMaker domain {self.domain}, {owner}"


class StudioDomainSettings:
    """The runtime and access roles of the Studio app's space or user profile (else of its
    domain), asked as ``profile`` in ``region`` (the faces' --profile and --region)."""

    name = "studio-domain"

    def __init__(self, profile: str | None = None, region: str | None = None) -> None:
        self.profile = profile
        self.region = region

    def paths(self) -> list[Path]:
        return [Path(os.environ.get(STUDIO_METADATA_ENV) or STUDIO_METADATA)]

    def read(self) -> dict[AccountId, AccountRoles] | None:
        metadata = studio_metadata()
        domain = _text(metadata, "DomainId")
        profile, space = _text(metadata, "UserProfileName"), _text(metadata, "SpaceName")
        if domain is None or (profile is None and space is None):
            return None
        where = _Where(domain, profile, space, self.profile, self.region)
        settings = _emr_settings(where)
        try:
            if isinstance(settings, AwsCallError):
                raise settings
            return _by_account(settings, str(where))
        except (AwsCallError, InvalidIdentifier) as exc:
            raise SourceUnavailable(Problem(
                str(where), "EmrSettings", f"could not be read, so its roles are not offered: "
                f"{exc}", "allow sagemaker:DescribeUserProfile, sagemaker:DescribeSpace and "
                "sagemaker:DescribeDomain to the Studio execution role.")) from None


def _emr_settings(where: _Where) -> dict[str, list[str]] | AwsCallError:
    """The EmrSettings that apply to the app; kept KEEP_SECONDS (a failure
    KEEP_FAILURE_SECONDS, so an unreachable API does not slow every roles read)."""
    key = (where, aws_settings())
    now = time.monotonic()
    with _lock:
        kept = _kept.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    try:
        answer: dict[str, list[str]] | AwsCallError = _ask(where)
        until = now + KEEP_SECONDS
    except AwsCallError as exc:
        answer, until = exc, now + KEEP_FAILURE_SECONDS
    with _lock:
        _kept[key] = (until, answer)
    return answer


def _ask(where: _Where) -> dict[str, list[str]]:
    """SageMaker's rule: a shared space takes the domain's DefaultSpaceSettings; a private
    space, or an app of a user profile, the profile's UserSettings, else the domain's
    DefaultUserSettings."""
    from ..aws.calls import aws_call

    client = _client(where)
    owner = where.profile
    if where.space is not None:
        space = aws_call(f"reading Studio space {where.space}", lambda: client.describe_space(
            DomainId=where.domain, SpaceName=where.space))
        if (space.get("SpaceSharingSettings") or {}).get("SharingType") == "Shared":
            return _lists(_emr_of(_domain(client, where).get("DefaultSpaceSettings")))
        owner = (space.get("OwnershipSettings") or {}).get("OwnerUserProfileName") or owner
    settings = None
    if owner is not None:
        described = aws_call(f"reading Studio user profile {owner}", lambda: client
                             .describe_user_profile(DomainId=where.domain, UserProfileName=owner))
        settings = _emr_of(described.get("UserSettings"))
    return _lists(settings if settings is not None else
                  _emr_of(_domain(client, where).get("DefaultUserSettings")))


def _client(where: _Where) -> Any:
    import boto3
    from botocore.config import Config

    from ..aws.calls import aws_call, observe_retries

    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3,
                    read_timeout=5)
    return aws_call("creating a SageMaker client", lambda: observe_retries(boto3.Session(
        profile_name=where.aws_profile, region_name=where.region).client("sagemaker",
                                                                         config=config)))


def _domain(client: Any, where: _Where) -> dict[str, Any]:
    from ..aws.calls import aws_call

    return aws_call(f"reading Studio domain {where.domain}",
                    lambda: client.describe_domain(DomainId=where.domain))


def _lists(settings: dict[str, Any] | None) -> dict[str, list[str]]:
    settings = settings or {}
    return {"ExecutionRoleArns": list(settings.get("ExecutionRoleArns", [])),
            "AssumableRoleArns": list(settings.get("AssumableRoleArns", []))}


def _emr_of(user_settings: Any) -> dict[str, Any] | None:
    if not isinstance(user_settings, dict):
        return None
    settings = (user_settings.get("JupyterLabAppSettings") or {}).get("EmrSettings")
    return settings if isinstance(settings, dict) else None


def _by_account(settings: dict[str, list[str]],
                where: str) -> dict[AccountId, AccountRoles]:
    """Runtime roles under their own account; an access role under the account it is in
    (the first, when one account has several)."""
    found: dict[AccountId, dict[str, Any]] = {}
    for arn in settings["ExecutionRoleArns"]:
        role = RoleArn(arn, f"ExecutionRoleArns of {where}")
        found.setdefault(role.account, {"roles": [], "access_role": None})["roles"].append(
            RoleEntry(arn=role))
    for arn in settings["AssumableRoleArns"]:
        role = RoleArn(arn, f"AssumableRoleArns of {where}")
        entry = found.setdefault(role.account, {"roles": [], "access_role": None})
        if entry["access_role"] is None:
            entry["access_role"] = role
        else:
            log.warning("%s names two assumable roles in account %s; using %s", where,
                        role.account, entry["access_role"])
    return {account: AccountRoles(**entry) for account, entry in sorted(found.items())}

"""SageMaker Studio's own ``EmrSettings`` as a source of roles.

Newer Studio domains give EMR roles in the domain and user profile settings
(``JupyterLabAppSettings.EmrSettings``: ``ExecutionRoleArns``, the runtime roles;
``AssumableRoleArns``, the access roles of cluster accounts) instead of files a
lifecycle script writes. The domain and the profile are named in Studio's
resource metadata file; without that file nothing is asked, so outside Studio
this source costs nothing. The answers are kept for a few minutes (roles are
read on every connect and picker page), and a refused or unreachable API is a
warning beside the other sources, never a reason to offer no roles at all.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from .aws_settings import aws_settings
from .errors import AwsCallError, InvalidIdentifier, Problem
from .identifiers import AccountId, RoleArn
from .roles_format import AccountRoles, RoleEntry

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


class StudioDomainSettings:
    """The runtime and access roles of the Studio user profile (else of its domain)."""

    name = "studio-domain"

    def paths(self) -> list[Path]:
        return [Path(os.environ.get(STUDIO_METADATA_ENV) or STUDIO_METADATA)]

    def read(self) -> dict[AccountId, AccountRoles] | None:
        metadata = studio_metadata()
        domain, profile = _text(metadata, "DomainId"), _text(metadata, "UserProfileName")
        if domain is None or profile is None:
            return None
        settings = _emr_settings(domain, profile)
        where = f"SageMaker domain {domain}, user profile {profile}"
        try:
            if isinstance(settings, AwsCallError):
                raise settings
            return _by_account(settings, where)
        except (AwsCallError, InvalidIdentifier) as exc:
            raise SourceUnavailable(Problem(
                where, "EmrSettings", f"could not be read, so its roles are not offered: {exc}",
                "allow sagemaker:DescribeUserProfile and sagemaker:DescribeDomain to the "
                "Studio execution role.")) from None


def _emr_settings(domain: str, profile: str) -> dict[str, list[str]] | AwsCallError:
    """The profile's EmrSettings, else the domain's default; kept KEEP_SECONDS (a failure
    KEEP_FAILURE_SECONDS, so an unreachable API does not slow every roles read)."""
    key = (domain, profile, aws_settings())
    now = time.monotonic()
    with _lock:
        kept = _kept.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    try:
        answer: dict[str, list[str]] | AwsCallError = _ask(domain, profile)
        until = now + KEEP_SECONDS
    except AwsCallError as exc:
        answer, until = exc, now + KEEP_FAILURE_SECONDS
    with _lock:
        _kept[key] = (until, answer)
    return answer


def _ask(domain: str, profile: str) -> dict[str, list[str]]:
    import boto3
    from botocore.config import Config

    from .aws_errors import aws_call

    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3,
                    read_timeout=5)
    client = aws_call("creating a SageMaker client", lambda: boto3.client("sagemaker",
                                                                            config=config))
    described = aws_call(f"reading Studio user profile {profile}", lambda: client
                         .describe_user_profile(DomainId=domain, UserProfileName=profile))
    settings = _emr_of(described.get("UserSettings"))
    if settings is None:
        domain_answer = aws_call(f"reading Studio domain {domain}",
                                 lambda: client.describe_domain(DomainId=domain))
        settings = _emr_of(domain_answer.get("DefaultUserSettings")) or {}
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

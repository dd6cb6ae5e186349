"""Cross-account access roles: credentials that renew themselves, named after the person.

A cluster in another account is reached by assuming an access role there
first. Its keys expire (an hour by default), and a notebook runs for days: a
one-time AssumeRole frozen into static keys works for an hour and then breaks
every renewal of the Livy login. So the session built here carries botocore's
refreshable credentials, which call AssumeRole again before the keys expire.

The role session name is the person, not the container (CloudTrail shows
``assumed-role/emr-access/alice``), and ``SourceIdentity`` is set to the same
name where the role's trust policy allows ``sts:SetSourceIdentity``, so the
person stays visible through every role assumed after this one.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import threading
from datetime import datetime, timedelta
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials

from .calls import aws_call, observe_retries
from ..errors import AwsCallError
from ..identifiers import RoleArn
from ..roles.studio_domain import STUDIO_METADATA_ENV, studio_metadata

log = logging.getLogger(__name__)

_NAME_CHARS = re.compile(r"[^\w+=,.@-]", re.ASCII)
# botocore's defaults (refresh 15 min ahead, or 10 min when it must), shrunk for keys that live
# less than an hour, so short-lived keys are not renewed on every call.
_ADVISORY, _MANDATORY = timedelta(minutes=15), timedelta(minutes=10)


def person() -> str:
    """Who is behind this notebook: the Studio user profile name where Studio's metadata gives
    it, else JupyterHub's user, else the OS user; in the characters STS allows (2 to 64)."""
    name = _studio_user_profile() or os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    return _NAME_CHARS.sub("-", name)[:64].ljust(2, "-")


def _studio_user_profile() -> str | None:
    name = studio_metadata().get("UserProfileName")
    return name if isinstance(name, str) and name.strip() else None


__all__ = ["STUDIO_METADATA_ENV", "access_role_session", "person"]


class _AssumeRole:
    """Fetches an access role's keys in the shape botocore's refreshable credentials want.

    The first call tries with ``SourceIdentity``; when the role's trust does not allow it
    (AccessDenied), it is left out from then on, so a refresh does not pay twice."""

    def __init__(self, sts: Any, role_arn: RoleArn, name: str) -> None:
        self._sts = sts
        self._role_arn = role_arn
        self._name = name
        self._with_source_identity = True
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, str]:
        with self._lock:
            keys = self._assume()["Credentials"]
        return {"access_key": keys["AccessKeyId"], "secret_key": keys["SecretAccessKey"],
                "token": keys["SessionToken"], "expiry_time": keys["Expiration"].isoformat()}

    def _assume(self) -> dict[str, Any]:
        what = f"assuming the access role {self._role_arn}"
        if self._with_source_identity:
            try:
                return aws_call(what, lambda: self._sts.assume_role(
                    RoleArn=self._role_arn, RoleSessionName=self._name,
                    SourceIdentity=self._name))
            except AwsCallError as exc:
                if exc.code != "AccessDenied":
                    raise
                log.info("%s with SourceIdentity was denied; trying without it", what)
                self._with_source_identity = False
        return aws_call(what, lambda: self._sts.assume_role(RoleArn=self._role_arn,
                                                            RoleSessionName=self._name))


class _Fixed(CredentialProvider):
    """A credential provider that always gives the credentials it was made with."""

    METHOD = "assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def access_role_session(base: boto3.Session, role_arn: RoleArn, config: Config) -> boto3.Session:
    """A session acting as ``role_arn``, assumed with ``base``'s credentials and renewed
    before its keys expire; AssumeRole failures are one paragraph, at once."""
    sts = aws_call("creating an STS client",
                   lambda: observe_retries(base.client("sts", config=config)))
    fetch = _AssumeRole(sts, role_arn, person())
    first = fetch()
    lifetime = datetime.fromisoformat(first["expiry_time"]) - datetime.now(
        datetime.fromisoformat(first["expiry_time"]).tzinfo)
    credentials = RefreshableCredentials.create_from_metadata(
        metadata=first, refresh_using=fetch, method="assume-role",
        advisory_timeout=int(min(_ADVISORY, lifetime / 4).total_seconds()),
        mandatory_timeout=int(min(_MANDATORY, lifetime / 6).total_seconds()))
    core = botocore.session.Session(profile=base.profile_name
                                    if base.profile_name != "default" else None)
    core.register_component("credential_provider", CredentialResolver([_Fixed(credentials)]))
    return boto3.Session(botocore_session=core, region_name=base.region_name)

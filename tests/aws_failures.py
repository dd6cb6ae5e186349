"""AWS settings under which every AWS call fails before EMR answers, each made for real (an
expired SSO token in its cache file, an endpoint nothing listens on, the wrong CA, no region,
no credentials), and the words the one paragraph about each must hold. The notebook tests
and the REST tests use the same list."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from emulators import RunningEmulator

Settings = dict[str, str | None]  # environment variables; None removes one


def expired_sso(folder: Path) -> Settings:
    """An AWS profile signed in through IAM Identity Center whose cached token has expired."""
    start_url = "https://example.awsapps.com/start"
    cache = folder / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (folder / ".aws" / "config").write_text(
        f"[profile analyst]\nsso_start_url = {start_url}\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = Analyst\nregion = us-east-1\n")
    token = cache / (hashlib.sha1(start_url.encode()).hexdigest() + ".json")
    token.write_text(json.dumps({"startUrl": start_url, "region": "us-east-1",
                                 "accessToken": "expired", "expiresAt": "2020-01-01T00:00:00Z"}))
    return {"HOME": str(folder), "AWS_PROFILE": "analyst",
            "AWS_CONFIG_FILE": str(folder / ".aws" / "config"),
            "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}


def aws_failures(emulator: RunningEmulator, folder: Path) -> list[tuple[str, Settings, str]]:
    """(the failure's code, the settings that cause it, words of its paragraph)."""
    empty_home = folder / "empty-home"
    empty_home.mkdir(parents=True, exist_ok=True)
    return [
        ("SsoExpired", expired_sso(folder / "sso-home"), "aws sso login"),
        ("Unreachable", {"AWS_ENDPOINT_URL": "https://127.0.0.1:9"}, "AWS could not be reached"),
        ("Tls", {"AWS_CA_BUNDLE": emulator.livy_ca}, "never the cluster's Livy CA"),
        ("NoRegion", {"AWS_DEFAULT_REGION": None, "AWS_REGION": None}, "No AWS region is set"),
        ("NoCredentials", {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
                           "HOME": str(empty_home), "AWS_EC2_METADATA_DISABLED": "true"},
         "No AWS credentials were found"),
    ]

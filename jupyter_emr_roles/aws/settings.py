"""The settings that decide who the AWS caller is and where AWS is.

A client, or an answer, kept across calls is kept for these settings: a change of
profile, keys, region or endpoint (``%env AWS_PROFILE=...`` in a kernel, new keys in
the server's environment) starts afresh.
"""

from __future__ import annotations

import os

AWS_ENV = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
           "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EMR",
           "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE")


def aws_settings() -> tuple[str | None, ...]:
    """The current values of AWS_ENV, as a key for what is kept."""
    return tuple(os.environ.get(name) for name in AWS_ENV)

"""An AWS CLI (v1) plugin that lets ``aws s3control`` reach S3 Control at a custom endpoint
(the local emulator, a proxy).

S3 Control puts the account ID in front of the endpoint's host name, which only AWS's DNS
resolves; at another endpoint the plugin drops it again, as jupyter-emr-roles' own S3
Control client does. It is loaded by the CLI's configuration file::

    [plugins]
    jupyter_emr_roles = jupyter_emr_roles.awscli_plugin

and changes nothing for AWS's own endpoints.
"""

from __future__ import annotations

from typing import Any

from .aws.s3control_host import drop_account_from_host


def awscli_initialize(event_hooks: Any) -> None:
    """The AWS CLI's plugin entry point."""
    event_hooks.register("before-sign.s3-control", drop_account_from_host)

"""`jupyter-emr-roles grants`: the S3 Access Grants a runtime role has, and what they cover."""

from __future__ import annotations

import json
from typing import Any

import click

from .. import options
from ._common import click_options


@click.command()
@click_options(options.GRANTS)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
def grants(as_json: bool, **given: Any) -> None:
    """The S3 Access Grants that apply to a runtime role.

    Reads the grants of the role's account's Access Grants instance made to the
    role (grantee type IAM), whoever created them: an admin, or a policy engine.
    Each with its scope, permission (READ, WRITE, READWRITE) and grant. With
    --prefix, whether a grant covers that S3 prefix: exit status 1 when none does.
    """
    from ..grants import role_grants

    given = options.parse(given, options.GRANTS)
    report = role_grants(given["role_arn"], given["prefix"], given["profile"], given["region"],
                         given["access_role_arn"])
    shown: Any = report.as_json() if as_json else report.text()
    click.echo(json.dumps(shown, indent=2) if as_json else shown)
    raise SystemExit(1 if report.prefix is not None and report.covering is None else 0)

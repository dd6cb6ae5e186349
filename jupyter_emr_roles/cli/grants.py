"""`jupyter-emr-roles grants`: the S3 Access Grants a runtime role has, and what they cover."""

from __future__ import annotations

import json
from typing import Any

import click

from ..identifiers import RoleArn
from ._common import parsed


def _s3_prefix(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith("s3://"):
        raise click.BadParameter(f"{value!r} is not an S3 URI; give s3://BUCKET/PATH.")
    return value


@click.command()
@click.option("--role-arn", required=True, callback=parsed(RoleArn, "option"),
              help="The runtime role whose grants to list.")
@click.option("--prefix", callback=_s3_prefix,
              help="s3://BUCKET/PATH: say whether a grant of the role covers it, and which.")
@click.option("--access-role-arn", callback=parsed(RoleArn, "option"),
              help="A role of the role's account to assume first. Default: the access role "
              "your roles files give for that account.")
@click.option("--region", help="AWS region of the Access Grants instance. Default: boto3's.")
@click.option("--profile", help="AWS profile to use. Default: boto3's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
def grants(role_arn: RoleArn, prefix: str | None, access_role_arn: RoleArn | None,
           region: str | None, profile: str | None, as_json: bool) -> None:
    """The S3 Access Grants that apply to a runtime role.

    Reads the grants of the role's account's Access Grants instance made to the
    role (grantee type IAM), whoever created them: an admin, or a policy engine.
    Each with its scope, permission (READ, WRITE, READWRITE) and grant. With
    --prefix, whether a grant covers that S3 prefix: exit status 1 when none does.
    """
    from ..grants import role_grants

    report = role_grants(role_arn, prefix, profile, region, access_role_arn)
    shown: Any = report.as_json() if as_json else report.text()
    click.echo(json.dumps(shown, indent=2) if as_json else shown)
    raise SystemExit(1 if prefix is not None and report.covering is None else 0)

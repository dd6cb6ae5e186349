"""`jupyter-emr-roles doctor`: is a cluster and runtime role ready, before anyone connects."""

from __future__ import annotations

import json

import click

from ..connect_request import ConnectRequest
from ..identifiers import ClusterId, RoleArn
from ._common import parsed


@click.command()
@click.option("--cluster-id", required=True, callback=parsed(ClusterId, "option"),
              help="The EMR cluster, e.g. j-1K48XXXXXXHCB.")
@click.option("--role-arn", callback=parsed(RoleArn, "option"),
              help="The runtime role to check. Default: the default role of the cluster's "
              "account in your roles files.")
@click.option("--access-role-arn", callback=parsed(RoleArn, "option"),
              help="A role of the cluster's account to assume first (cross-account). Default: "
              "the access role your roles files give for it.")
@click.option("--region", help="AWS region of the cluster. Default: boto3's.")
@click.option("--profile", help="AWS profile to use. Default: boto3's.")
@click.option("--ca-bundle", help="PEM file of the CA that signed Livy's certificate, as for "
              "%connect. Default: $JUPYTER_EMR_ROLES_CA_BUNDLE, else the roles file's.")
@click.option("--allow-insecure-http", is_flag=True, help="Accept a Livy that speaks plain "
              "HTTP (EMR 6.9 to 7.3 without TLS for Livy), as %connect --allow-insecure-http "
              "does: the livy check then warns instead of failing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
def doctor(cluster_id: ClusterId, role_arn: RoleArn | None, access_role_arn: RoleArn | None,
           region: str | None, profile: str | None, ca_bundle: str | None,
           allow_insecure_http: bool, as_json: bool) -> None:
    """Check a cluster and a runtime role before connecting.

    Every check at once: the cluster's state, release, applications and primary
    nodes; its security configuration (runtime roles, in-transit encryption,
    source identity, Lake Formation); the role (it exists, its trust policy,
    whether EMR issues a Livy login for it, dropped at once); Livy's address and
    certificate as %connect finds them; on a cluster with Spark Connect sessions,
    whether IAM lets you start and use them as the role; S3 Access Grants and
    EMRFS credentials providers. Each says pass, warn, fail or unknown (not
    allowed to look), with the fix. Exit status 0 when nothing fails, 1 when something does, 2 for a
    malformed option.
    """
    from ..doctor import diagnose

    warnings: list[str] = []
    request = ConnectRequest(cluster_id=cluster_id, role_arn=role_arn,
                             access_role_arn=access_role_arn, region=region, profile=profile,
                             ca_bundle=ca_bundle, allow_insecure_http=allow_insecure_http)
    report = diagnose(request, warnings.append)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.text())
    raise SystemExit(0 if report.ready else 1)

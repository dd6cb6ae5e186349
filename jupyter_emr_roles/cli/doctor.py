"""`jupyter-emr-roles doctor`: is a cluster (or an EMR Serverless application) and runtime role
ready, before anyone connects."""

from __future__ import annotations

import json
from typing import Any

import click

from .. import options
from ._common import click_options


@click.command()
@click_options(options.DOCTOR)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
def doctor(as_json: bool, **given: Any) -> None:
    """Check a cluster (or an EMR Serverless application) and a runtime role before connecting.

    Every check at once: the cluster's state, release, applications and primary
    nodes; its security configuration (runtime roles, in-transit encryption,
    source identity, Lake Formation); the role (it exists, its trust policy,
    whether EMR issues a Livy login for it, dropped at once); Livy's address and
    certificate as %connect finds them; on a cluster with Spark Connect sessions,
    whether IAM lets you start and use them as the role; S3 Access Grants and
    EMRFS credentials providers.

    With --application-id: the application's state (and whether a connect can
    start it), which engines its release and interactive configuration offer
    (Livy endpoint, Spark Connect sessions), the role's trust in
    emr-serverless.amazonaws.com, whether IAM lets you use each engine there
    (AccessLivyEndpoints, StartSession, iam:PassRole), and its network (no VPC
    while this notebook reads S3 through a VPC endpoint warns). No session is
    opened.

    Each says pass, warn, fail or unknown (not allowed to look), with the fix.
    Exit status 0 when nothing fails, 1 when something does, 2 for a malformed
    option.
    """
    from ..doctor import diagnose

    warnings: list[str] = []
    report = diagnose(options.request(given, options.DOCTOR), warnings.append)
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.text())
    raise SystemExit(0 if report.ready else 1)

"""`jupyter-emr-roles audit`: who ran which sessions and steps on a cluster, as which role."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from ..errors import EmrRolesError
from ..identifiers import ClusterId, RoleArn
from ._common import cluster_options, cluster_target


def _since(ctx: click.Context, param: click.Parameter, value: str) -> tuple[timedelta, str]:
    from ..audit import parse_since

    try:
        return parse_since(value), value
    except EmrRolesError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@cluster_options
@click.option("--since", default="1h", show_default=True, callback=_since,
              help="How far back: 30m, 1h, 2d, 1h30m (CloudTrail keeps 90 days).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
def audit(cluster_id: ClusterId, access_role_arn: RoleArn | None, region: str | None,
          profile: str | None, since: tuple[timedelta, str], as_json: bool) -> None:
    """Sessions and steps of a cluster, by runtime role and the person behind each.

    Livy sessions come from CloudTrail's GetClusterSessionCredentials events:
    logins of one role and person, each made while the one before was still
    valid, are one session (its renewals counted), and the doctor's own login
    is shown as a doctor-probe. EMR Spark Connect sessions come from its
    StartSession events (with the session ID where the event has it), steps
    from EMR with their submitter from CloudTrail's AddJobFlowSteps events. The
    person is the source identity a role chain carried (SageMaker Studio's user
    profile, or the name jupyter-emr-roles sets when it assumes an access role),
    else the caller's own name. Without cloudtrail:LookupEvents, the steps alone
    are listed.
    """
    from ..audit import audit as run_audit

    report = run_audit(cluster_target(cluster_id, access_role_arn, region, profile), *since)
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.text())

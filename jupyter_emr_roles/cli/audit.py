"""`jupyter-emr-roles audit`: who ran which sessions and steps on a cluster, as which role."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click

from .. import options
from ..errors import EmrRolesError
from ._common import click_options, cluster_target


def _since(ctx: click.Context, param: click.Parameter, value: str) -> tuple[timedelta, str]:
    from ..audit import parse_since

    try:
        return parse_since(value), value
    except EmrRolesError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click_options(options.CLUSTER)
@click.option("--since", default="1h", show_default=True, callback=_since,
              help="How far back: 30m, 1h, 2d, 1h30m (CloudTrail keeps 90 days).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
def audit(since: tuple[timedelta, str], as_json: bool, **given: Any) -> None:
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

    report = run_audit(cluster_target(given), *since)
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.text())

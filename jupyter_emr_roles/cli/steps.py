"""`jupyter-emr-roles steps ...`: batch steps under a runtime role, from a terminal."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from .. import options
from ..identifiers import StepId
from ..text_table import text_table
from ._common import click_options, cluster_target, parsed

if TYPE_CHECKING:
    from ..steps import ClusterSteps, StepView


def _cluster_steps(given: dict[str, Any], face: str = options.CLUSTER) -> ClusterSteps:
    from ..steps import ClusterSteps

    return ClusterSteps(cluster_target(given, face))


@click.group()
def steps() -> None:
    """Batch steps under a runtime role: submit one, follow it, list, cancel, read its log.

    A step runs a command on the cluster (command-runner.jar: spark-submit,
    hive-script, ...) as the runtime role you pick, as a %connect session does.
    """


@steps.command(context_settings={"ignore_unknown_options": True})
@click_options(options.STEP)
@click.option("--name", help="The step's name. Default: its command line.")
@click.option("--wait", is_flag=True, help="Follow the step to its end (progress on stderr); "
              "exit 1 unless it COMPLETED.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@click.argument("args", nargs=-1, required=True, metavar="-- ARG...")
def submit(name: str | None, wait: bool, as_json: bool, args: tuple[str, ...],
           **given: Any) -> None:
    """Add a step that runs ARG... with command-runner.jar as a runtime role.

    \b
    jupyter-emr-roles steps submit --cluster-id j-1K48XXXXXXHCB \\
        --role-arn arn:aws:iam::123456789012:role/sales-data-access --wait \\
        -- spark-submit --deploy-mode cluster s3://bucket/job.py s3://bucket/out/

    The cluster is checked first (state, release 6.7+, one primary node, runtime
    roles on): a step EMR would refuse is not added. Each ARG is one argument of
    the command, as your shell split it (`-- bash -c "echo a b"`): an ARG with
    spaces or quotes is sent escaped, as command-runner.jar needs it under a
    runtime role. Prints the step ID; with --wait, follows it and exits 0 when it
    COMPLETED, 1 when it FAILED or was CANCELLED (with EMR's reason and the
    log's location).
    """
    cluster = _cluster_steps(given, options.STEP)
    step_id = cluster.submit(args, name)
    if not wait:
        click.echo(json.dumps({"step_id": step_id}) if as_json else step_id)
        return
    click.echo(f"Added step {step_id}; following it (Ctrl-C stops following, not the step).",
               err=True)
    view = _follow(cluster, step_id)
    if as_json:
        click.echo(json.dumps({"step_id": step_id, "step": view.as_json()}, indent=2))
    else:
        click.echo(step_id)
    click.echo(view.outcome(), err=True)
    raise SystemExit(0 if view.state == "COMPLETED" else 1)


def _follow(cluster: ClusterSteps, step_id: StepId) -> StepView:
    """Follow the step, its state and time on one line of a terminal, redrawn in place; one
    line per change of state when stderr is not a terminal (a CI log)."""
    live = sys.stderr.isatty()
    last: list[str] = []

    def show(view: StepView) -> None:
        if live:
            click.echo(f"\r\x1b[2K{view.progress()}", err=True, nl=view.final)
        elif not last or last[-1] != view.state:
            click.echo(view.progress(), err=True)
        last.append(view.state)

    try:
        return cluster.follow(step_id, show)
    except KeyboardInterrupt:
        click.echo(f"\nStopped following step {step_id}; it goes on. See it with "
                   f"`jupyter-emr-roles steps list --cluster-id {cluster.cluster_id}`.", err=True)
        raise SystemExit(130) from None


@steps.command("list")
@click_options(options.CLUSTER)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="The newest steps to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_steps(limit: int, as_json: bool, **given: Any) -> None:
    """The cluster's steps, newest first: state, runtime role, created and ended times."""
    views = _cluster_steps(given).list(limit)
    if as_json:
        click.echo(json.dumps([view.as_json() for view in views], indent=2))
    elif not views:
        click.echo(f"No steps on {given['cluster_id']}.")
    else:
        click.echo(_table(views))


def _table(views: list[StepView]) -> str:
    rows = [("STEP", "STATE", "ROLE", "CREATED", "ENDED", "NAME")] + [
        (view.id, view.state, (view.role_arn or "-").rpartition("/")[2],
         _time(view.created), _time(view.ended), view.name) for view in views]
    return "\n".join(text_table(rows))


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@steps.command()
@click_options(options.CLUSTER)
@click.argument("step_id", callback=parsed(StepId, "argument"))
def cancel(step_id: StepId, **given: Any) -> None:
    """Cancel a step: a pending one is dropped, a running one interrupted.

    EMR interrupts the step's own process only: a spark-submit in cluster mode
    leaves its YARN application running, and the answer names it (from the
    step's log, once EMR has uploaded it) and says how to stop it.
    """
    click.echo(_cluster_steps(given).cancel(step_id))


@steps.command()
@click_options(options.CLUSTER)
@click.option("--stream", type=click.Choice(("stderr", "stdout", "controller", "syslog")),
              default="stderr", show_default=True, help="Which of the step's logs.")
@click.argument("step_id", callback=parsed(StepId, "argument"))
def logs(stream: str, step_id: StepId, **given: Any) -> None:
    """Print a step's log as EMR keeps it in S3 under the cluster's log URI.

    The log is read gunzipped from LOG_URI/CLUSTER_ID/steps/STEP_ID/STREAM.gz. For
    a spark-submit in cluster mode, where the driver's output is in the YARN
    application's container logs (LOG_URI/CLUSTER_ID/containers/), a note on
    stderr says where.
    """
    cluster = _cluster_steps(given)
    click.echo(cluster.log(step_id, stream), nl=False)
    driver = cluster.driver_logs(step_id)
    if driver:
        click.echo(driver, err=True)

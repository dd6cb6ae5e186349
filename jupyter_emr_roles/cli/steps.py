"""`jupyter-emr-roles steps ...`: batch steps under a runtime role, from a terminal: steps of an
EMR cluster (--cluster-id), or job runs of an EMR Serverless application (--application-id)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from .. import options
from ..errors import EmrRolesError
from ..text_table import text_table
from ._common import click_options

if TYPE_CHECKING:
    from ..identifiers import JobRunId, StepId
    from ..steps import ApplicationJobs, ClusterSteps
    from ..steps.common import RunView


def _steps(given: dict[str, Any], face: str = options.RUNS) -> ClusterSteps | ApplicationJobs:
    """The cluster's steps or the application's job runs, as ``face``'s options name them;
    warnings on stderr."""
    from ..steps import open_steps

    return open_steps(options.request(given, face),
                      lambda text: click.echo(f"Warning: {text}", err=True))


def _run_id(value: str, given: dict[str, Any]) -> StepId | JobRunId:
    """The STEP_ID argument: a step's ID, or a job run's where --application-id is given."""
    from ..steps import run_id

    try:
        return run_id(value, given.get("application_id") is not None, "the argument STEP_ID")
    except EmrRolesError as exc:
        raise click.BadParameter(str(exc), param_hint="STEP_ID") from None


@click.group()
def steps() -> None:
    """Batch steps under a runtime role: submit one, follow it, list, cancel, read its log.

    A step runs a command on the cluster (command-runner.jar: spark-submit,
    hive-script, ...) as the runtime role you pick, as a %connect session does.
    With --application-id instead of --cluster-id, the same commands run and
    follow job runs of an EMR Serverless application (StartJobRun with the role
    as its execution role).
    """


@steps.command(context_settings={"ignore_unknown_options": True})
@click_options(options.STEP)
@click.option("--name", help="The step's (or job run's) name. Default: its command line.")
@click.option("--log-uri", help="(--application-id) s3://BUCKET/PREFIX/ for the job run's "
              "driver logs (PREFIX/applications/APP/jobs/JOB_RUN/SPARK_DRIVER/). Default: none "
              "in S3 (EMR Serverless keeps them in its managed storage).")
@click.option("--wait", is_flag=True, help="Follow the step or job run to its end (progress on "
              "stderr); exit 1 unless it COMPLETED (a job run: SUCCESS).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object for scripts.")
@click.argument("args", nargs=-1, required=True, metavar="-- ARG...")
def submit(name: str | None, log_uri: str | None, wait: bool, as_json: bool,
           args: tuple[str, ...], **given: Any) -> None:
    """Add a step that runs ARG... with command-runner.jar as a runtime role, or start a job
    run of an EMR Serverless application.

    \b
    jupyter-emr-roles steps submit --cluster-id j-1K48XXXXXXHCB \\
        --role-arn arn:aws:iam::123456789012:role/sales-data-access --wait \\
        -- spark-submit --deploy-mode cluster s3://bucket/job.py s3://bucket/out/
    jupyter-emr-roles steps submit --application-id 00fabcdefghij012 \\
        --role-arn arn:aws:iam::123456789012:role/sales-data-access --wait \\
        --log-uri s3://bucket/logs/ -- s3://bucket/job.py s3://bucket/out/

    The cluster is checked first (state, release 6.7+, one primary node, runtime
    roles on): a step EMR would refuse is not added. Each ARG is one argument of
    the command, as your shell split it (`-- bash -c "echo a b"`): an ARG with
    spaces or quotes is sent escaped, as command-runner.jar needs it under a
    runtime role. With --application-id, the first ARG is the job's entry point
    (a Python script in S3) and the rest its arguments: StartJobRun runs it with
    spark-submit as the role (its execution role), starting a stopped
    application that has auto-start on. Prints the step's or job run's ID; with
    --wait, follows it and exits 0 when it COMPLETED (a job run: SUCCESS), 1
    when it FAILED or was CANCELLED (with the reason and the log's location).
    """
    runs = _steps(given, options.STEP)
    run_id = runs.submit(args, name, log_uri)
    key = f"{runs.NOUN.replace(' ', '_')}_id"
    if not wait:
        click.echo(json.dumps({key: run_id}) if as_json else run_id)
        return
    click.echo(f"Submitted {runs.NOUN} {run_id}; following it (Ctrl-C stops following, not "
               f"the {runs.NOUN}).", err=True)
    view = _follow(runs, run_id)
    if as_json:
        click.echo(json.dumps({key: run_id, runs.NOUN.replace(" ", "_"): view.as_json()},
                              indent=2))
    else:
        click.echo(run_id)
    click.echo(view.outcome(), err=True)
    raise SystemExit(0 if view.succeeded else 1)


def _follow(runs: ClusterSteps | ApplicationJobs, run_id: str) -> RunView:
    """Follow the run, its state and time on one line of a terminal, redrawn in place; one
    line per change of state when stderr is not a terminal (a CI log)."""
    live = sys.stderr.isatty()
    last: list[str] = []

    def show(view: RunView) -> None:
        if live:
            click.echo(f"\r\x1b[2K{view.progress()}", err=True, nl=view.final)
        elif not last or last[-1] != view.state:
            click.echo(view.progress(), err=True)
        last.append(view.state)

    try:
        return runs.follow(run_id, show)
    except KeyboardInterrupt:
        click.echo(f"\nStopped following {runs.NOUN} {run_id}; it goes on. See it with "
                   f"`jupyter-emr-roles steps list {runs.FLAG} {runs.where}`.", err=True)
        raise SystemExit(130) from None


@steps.command("list")
@click_options(options.RUNS)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="The newest steps (or job runs) to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def list_steps(limit: int, as_json: bool, **given: Any) -> None:
    """The cluster's steps (or the application's job runs), newest first: state, runtime role,
    created and ended times."""
    runs = _steps(given)
    views = runs.list(limit)
    if as_json:
        click.echo(json.dumps([view.as_json() for view in views], indent=2))
    elif not views:
        click.echo(f"No {runs.NOUN}s on {runs.where}.")
    else:
        click.echo(_table(views, runs.NOUN.upper()))


def _table(views: list[Any], heading: str) -> str:
    rows = [(heading, "STATE", "ROLE", "CREATED", "ENDED", "NAME")] + [
        (view.id, view.state, (view.role_arn or "-").rpartition("/")[2],
         _time(view.created), _time(view.ended), view.name) for view in views]
    return "\n".join(text_table(rows))


def _time(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@steps.command()
@click_options(options.RUNS)
@click.argument("step_id")
def cancel(step_id: str, **given: Any) -> None:
    """Cancel a step (or a job run): a pending one is dropped, a running one interrupted.

    EMR interrupts the step's own process only: a spark-submit in cluster mode
    leaves its YARN application running, and the answer names it (from the
    step's log, once EMR has uploaded it) and says how to stop it. With
    --application-id, STEP_ID is a job run's ID, and EMR Serverless stops its
    driver.
    """
    run_id = _run_id(step_id, given)
    click.echo(_steps(given).cancel(run_id))


@steps.command()
@click_options(options.RUNS)
@click.option("--stream", type=click.Choice(("stderr", "stdout", "controller", "syslog")),
              default="stderr", show_default=True, help="Which of the step's logs (a job run "
              "has its driver's stderr and stdout).")
@click.argument("step_id")
def logs(stream: str, step_id: str, **given: Any) -> None:
    """Print a step's (or job run's) log as EMR keeps it in S3.

    A step's log is read gunzipped from LOG_URI/CLUSTER_ID/steps/STEP_ID/STREAM.gz,
    under the cluster's log URI. For a spark-submit in cluster mode, where the
    driver's output is in the YARN application's container logs
    (LOG_URI/CLUSTER_ID/containers/), a note on stderr says where. With
    --application-id, STEP_ID is a job run's ID and the log its driver's, from
    LOG_URI/applications/APP/jobs/STEP_ID/SPARK_DRIVER/STREAM.gz under the
    --log-uri it was submitted with.
    """
    run_id = _run_id(step_id, given)
    runs = _steps(given)
    click.echo(runs.log(run_id, stream), nl=False)
    driver = runs.driver_logs(run_id)
    if driver:
        click.echo(driver, err=True)

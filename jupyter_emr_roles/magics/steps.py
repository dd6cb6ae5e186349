"""``%emr_step`` and ``%%emr_step``: a batch step under a runtime role, from a notebook, on an
EMR cluster (``--cluster-id``) or as a job run of an EMR Serverless application
(``--application-id``).

``%%emr_step`` makes a cell prototyped with ``%%spark`` a step in one edit: the
cell's body is uploaded to S3 as a PySpark script, with ``spark`` and ``sc`` made
first as a Livy session makes them, and submitted with spark-submit (on an
application: as the job run's entry point). Like the other magics, loading
registers them only; boto3 comes on first use.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import Pretty, display

from .. import options
from ..errors import EmrRolesError

if TYPE_CHECKING:
    from ..steps import ApplicationJobs, ClusterSteps
    from ..steps.common import RunView


@magics_class
class EmrStepMagics(Magics):
    """Batch steps under a runtime role."""

    @magic_arguments()
    @options.magic_options(options.STEP)
    @argument("--name", help="The step's name. Default: its command line.")
    @argument("--wait", action="store_true", help="Follow the step to its end here, updated in "
              "place; the cell fails unless the step COMPLETED.")
    @argument("--upload-to", help="(%%%%emr_step) s3://BUCKET/PREFIX/ to upload the cell's script "
              "to; the runtime role must be able to read it.")
    @argument("--json", action="store_true", help="Show the step as JSON.")
    @argument("--log-uri", help="(--application-id) s3://BUCKET/PREFIX/ for the job run's driver "
              "logs. Default: none in S3.")
    @argument("args", nargs="*", help="After --: the command (%%emr_step), e.g. -- spark-submit "
              "s3://bucket/job.py, each word one argument as a shell splits them (-- bash -c "
              "\"echo a b\" keeps `echo a b` one, escaped as command-runner.jar needs it); with "
              "--application-id, the job's entry point in S3 and its arguments; with "
              "%%%%emr_step, the script's own arguments.")
    @line_cell_magic
    def emr_step(self, line: str, cell: str | None = None) -> None:
        """Submit a step that runs as a runtime role, as `jupyter-emr-roles steps submit` does.

        As a line magic, the command after `--` runs with command-runner.jar::

            %emr_step --cluster-id j-1K48XXXXXXHCB --wait -- spark-submit s3://bucket/job.py

        With --application-id, a job run of that EMR Serverless application runs the script
        after `--` (in S3) with its arguments::

            %emr_step --application-id 00fabcdefghij012 --wait -- s3://bucket/job.py

        As a cell magic, the body is a PySpark script (`spark` and `sc` are made for it,
        as in a %%spark cell): it is uploaded under --upload-to, named after its content,
        and submitted with `spark-submit --deploy-mode cluster`::

            %%emr_step --cluster-id j-1K48XXXXXXHCB --upload-to s3://bucket/steps/ --wait
            spark.read.csv("s3://demo-data/sales/").groupBy("region").count().show()
        """
        args = parse_argstring(self.emr_step, line)
        try:
            runs = _steps(args)
            args.args = _words_after_dashes(line, args.args)
            command = self._command(runs, args, cell)
            run_id = runs.submit(command, args.name, args.log_uri)
            if not args.wait:
                _show_added(runs, run_id, args)
                return
            view = _follow(runs, run_id)
        except EmrRolesError as exc:
            raise UsageError(str(exc)) from None
        if args.json:
            display({"application/json": view.as_json()}, raw=True)
        if not view.succeeded:
            raise UsageError(view.outcome())

    @staticmethod
    def _command(runs: ClusterSteps | ApplicationJobs, args: Any, cell: str | None) -> list[str]:
        if cell is None:
            if not args.args:
                raise EmrRolesError("Give the step's command after --, e.g. `%emr_step "
                                    "--cluster-id j-... -- spark-submit s3://bucket/job.py`.")
            if args.upload_to:
                raise EmrRolesError("--upload-to is for %%emr_step, whose cell is the script.")
            return list(args.args)
        if not args.upload_to:
            raise EmrRolesError("%%emr_step uploads the cell as a script: give --upload-to "
                                "s3://BUCKET/PREFIX/, a place the runtime role can read.")
        if not cell.strip():
            raise EmrRolesError("The %%emr_step cell is empty: write the PySpark script in it.")
        uri = runs.upload_script(args.upload_to, cell, args.name)
        return runs.script_command(uri, args.args)


def _words_after_dashes(line: str, parsed: list[str]) -> list[str]:
    """The words after ``--`` as a shell splits them: IPython splits a magic's line keeping
    quotes (``"echo a b"`` with its quotes), which would reach the step as part of the word."""
    _, separator, tail = f" {line}".partition(" -- ")
    if not separator:
        return parsed
    try:
        return shlex.split(tail)
    except ValueError as exc:
        raise EmrRolesError(f"The command after -- cannot be read: {exc}.") from None


def _steps(args: Any) -> ClusterSteps | ApplicationJobs:
    from ..steps import open_steps

    return open_steps(options.request(args, options.STEP),
                      lambda text: display(Pretty(f"WARNING: {text}")))


def _show_added(runs: ClusterSteps | ApplicationJobs, run_id: str, args: Any) -> None:
    key = f"{runs.NOUN.replace(' ', '_')}_id"
    if args.json:
        display({"application/json": {key: run_id},
                 "text/plain": json.dumps({key: run_id})}, raw=True)
        return
    display(Pretty(f"Added {runs.NOUN} {run_id} to {runs.where}. Follow it with "
                   f"`!jupyter-emr-roles steps list {runs.FLAG} {runs.where}`, or add --wait "
                   "next time."))


def _follow(runs: ClusterSteps | ApplicationJobs, run_id: str) -> RunView:
    """One output line, updated in place as the run moves; an interrupt stops following."""
    handle = display(Pretty(f"Added {runs.NOUN} {run_id}; following it."), display_id=True)

    def show(view: RunView) -> None:
        if handle is not None:
            handle.update(Pretty(view.outcome() if view.final else view.progress()))

    try:
        return runs.follow(run_id, show)
    except KeyboardInterrupt:
        raise UsageError(f"Stopped following {runs.NOUN} {run_id}; it goes on.") from None

"""``%emr_step`` and ``%%emr_step``: a batch step under a runtime role, from a notebook.

``%%emr_step`` makes a cell prototyped with ``%%spark`` a step in one edit: the
cell's body is uploaded to S3 as a PySpark script, with ``spark`` and ``sc`` made
first as a Livy session makes them, and submitted with spark-submit. Like the
other magics, loading registers them only; boto3 comes on first use.
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
    from ..steps import ClusterSteps, StepView


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
    @argument("args", nargs="*", help="After --: the command (%%emr_step), e.g. -- spark-submit "
              "s3://bucket/job.py, each word one argument as a shell splits them (-- bash -c "
              "\"echo a b\" keeps `echo a b` one, escaped as command-runner.jar needs it); with "
              "%%%%emr_step, the script's own arguments.")
    @line_cell_magic
    def emr_step(self, line: str, cell: str | None = None) -> None:
        """Submit a step that runs as a runtime role, as `jupyter-emr-roles steps submit` does.

        As a line magic, the command after `--` runs with command-runner.jar::

            %emr_step --cluster-id j-1K48XXXXXXHCB --wait -- spark-submit s3://bucket/job.py

        As a cell magic, the body is a PySpark script (`spark` and `sc` are made for it,
        as in a %%spark cell): it is uploaded under --upload-to, named after its content,
        and submitted with `spark-submit --deploy-mode cluster`::

            %%emr_step --cluster-id j-1K48XXXXXXHCB --upload-to s3://bucket/steps/ --wait
            spark.read.csv("s3://demo-data/sales/").groupBy("region").count().show()
        """
        args = parse_argstring(self.emr_step, line)
        try:
            cluster = _cluster_steps(args)
            args.args = _words_after_dashes(line, args.args)
            command = self._command(cluster, args, cell)
            step_id = cluster.submit(command, args.name)
            if not args.wait:
                _show_added(step_id, args)
                return
            view = _follow(cluster, step_id)
        except EmrRolesError as exc:
            raise UsageError(str(exc)) from None
        if args.json:
            display({"application/json": view.as_json()}, raw=True)
        if view.state != "COMPLETED":
            raise UsageError(view.outcome())

    @staticmethod
    def _command(cluster: ClusterSteps, args: Any, cell: str | None) -> list[str]:
        from ..steps import pyspark_command

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
        uri = cluster.upload_script(args.upload_to, cell, args.name)
        return pyspark_command(uri, args.args)


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


def _cluster_steps(args: Any) -> ClusterSteps:
    from ..cluster_target import find_target
    from ..steps import ClusterSteps

    return ClusterSteps(find_target(options.request(args, options.STEP),
                                    lambda text: display(Pretty(f"WARNING: {text}"))))


def _show_added(step_id: str, args: Any) -> None:
    if args.json:
        display({"application/json": {"step_id": step_id},
                 "text/plain": json.dumps({"step_id": step_id})}, raw=True)
        return
    display(Pretty(f"Added step {step_id} to {args.cluster_id}. Follow it with `!jupyter-emr-roles "
                   f"steps list --cluster-id {args.cluster_id}`, or add --wait next time."))


def _follow(cluster: ClusterSteps, step_id: str) -> StepView:
    """One output line, updated in place as the step moves; an interrupt stops following."""
    handle = display(Pretty(f"Added step {step_id}; following it."), display_id=True)

    def show(view: StepView) -> None:
        if handle is not None:
            handle.update(Pretty(view.outcome() if view.final else view.progress()))

    try:
        return cluster.follow(step_id, show)
    except KeyboardInterrupt:
        raise UsageError(f"Stopped following step {step_id}; it goes on.") from None

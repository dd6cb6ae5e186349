"""``jupyter-emr-roles sessions``: the sessions the user's kernels opened, from their ledgers,
and what kernels that are gone left open."""

from __future__ import annotations

import dataclasses
import json

import click

from ..errors import EmrRolesError


@click.command("sessions")
@click.option("--orphans", is_flag=True,
              help="Only the sessions kernels that are gone (killed, out of memory, restarted "
                   "from the UI) left open.")
@click.option("--close", is_flag=True,
              help="With --orphans: close them, each with the credentials of its role (the "
                   "profile, region and access role its kernel used).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON for scripts (with --close: each session's line and how many "
                   "could not be closed).")
def sessions(orphans: bool, close: bool, as_json: bool) -> None:
    """The Spark sessions your kernels opened on this machine, as their ledgers in Jupyter's
    runtime folder list them (no secret is kept there), and which kernel still runs.

    A kernel killed by SIGKILL or the OOM killer closes nothing: its sessions stay open,
    and billed, until Livy's or EMR's idle timeout. `sessions --orphans --close` closes
    them now.
    """
    if close and not orphans:
        raise click.UsageError("--close closes what --orphans lists: give both.")
    from .. import ledger

    found = ledger.orphans(with_living=not orphans)
    if close:
        from ..sessions import close_orphans

        lines, failed = close_orphans(found)
        if as_json:
            click.echo(json.dumps({"lines": lines, "failed": failed}, indent=2))
        else:
            click.echo("\n".join(lines) if lines else ledger.NONE_LEFT)
        if failed:
            raise EmrRolesError("Some sessions could not be closed (above); try again once "
                                "their service answers.")
        return
    if as_json:
        click.echo(json.dumps([{**dataclasses.asdict(o.session), "kernel_pid": o.pid,
                                "kernel_running": o.alive} for o in found], indent=2))
        return
    if not found:
        click.echo(ledger.NONE_LEFT if orphans else "No kernel's ledger lists a session.")
    for orphan in found:
        click.echo(orphan.describe())

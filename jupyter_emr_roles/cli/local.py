"""`jupyter-emr-roles local ...`: the emulated EMR + Livy for laptops and CI.

The emulator's modules (moto, tornado, cryptography) are imported inside the
commands, so the other commands stay quick to start.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click


def _state_dir(value: Path | None) -> Path:
    from ..local.state import default_state_dir

    return value or default_state_dir()


_state_dir_option = click.option(
    "--state-dir", type=click.Path(path_type=Path, file_okay=False),
    help="Where the running emulator keeps its state, CA and logs "
         "(default: $JUPYTER_EMR_ROLES_LOCAL_DIR, else Jupyter's runtime folder).")


@click.group()
def local() -> None:
    """An emulated EMR control plane and Livy gateway, for trying things without AWS.

    `local up` seeds a small world (a runtime-role-ready cluster, one cluster of
    each broken kind, three runtime roles, demo S3 data and a demo user) and
    prints the environment variables that point boto3, sparkmagic and
    jupyter-emr-roles at it.
    """


@local.command("up")
@click.option("--detach", is_flag=True, help="Run in the background and return once it serves.")
@click.option("--world", "world_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A world file to seed instead of the built-in one.")
@click.option("--clusters", "filler_clusters", type=click.IntRange(0, 5000), default=0,
              show_default=True, help="Extra plain clusters, for scale tests.")
@click.option("--spark", type=click.Choice(["real", "fake"]), default="real", show_default=True,
              help="real: PySpark in local mode (needs Java 17); fake: plain Python, no Java.")
@click.option("--credential-ttl", type=click.IntRange(5, 43200), default=3600, show_default=True,
              help="Seconds the Livy credentials of GetClusterSessionCredentials live.")
@click.option("--session-timeout", type=click.FloatRange(1, None), default=3600.0,
              show_default=True, help="Seconds a Livy session may be idle before it is killed.")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port of the AWS endpoint on 127.0.0.1 (default: a free one).")
@click.option("--no-tls", is_flag=True, help="Serve Livy over plain HTTP (real EMR uses HTTPS).")
@click.option("--no-enforce-iam", is_flag=True,
              help="Let any access key call anything (default: IAM policies are enforced).")
@_state_dir_option
def up(detach: bool, world_file: Path | None, filler_clusters: int, spark: str,
       credential_ttl: int, session_timeout: float, port: int, no_tls: bool,
       no_enforce_iam: bool, state_dir: Path | None) -> None:
    """Start the emulator and print `export` lines for your shell.

    \b
    eval "$(jupyter-emr-roles local up --detach)"
    """
    from ..local import runner
    from ..local.emulator import Emulator, EmulatorOptions, check_engine
    from ..local.world import load_world

    check_engine(spark)
    folder = _state_dir(state_dir)
    if detach:
        argv = ["local", "up", "--clusters", str(filler_clusters), "--spark", spark,
                "--credential-ttl", str(credential_ttl), "--session-timeout", str(session_timeout),
                "--port", str(port), "--state-dir", str(folder)]
        argv += ["--world", str(world_file.resolve())] if world_file else []
        argv += ["--no-tls"] if no_tls else []
        argv += ["--no-enforce-iam"] if no_enforce_iam else []
        state = runner.start_detached(argv, folder)
        click.echo(runner.export_lines(state["env"]))
        click.echo(f"Local EMR emulator running (pid {state['pid']}); stop it with "
                   "`jupyter-emr-roles local down`.", err=True)
        return
    options = EmulatorOptions(
        world=load_world(world_file), state_dir=folder, port=port, spark=spark,  # type: ignore[arg-type]
        credential_ttl=timedelta(seconds=credential_ttl), tls=not no_tls,
        filler_clusters=filler_clusters, enforce_iam=not no_enforce_iam,
        session_timeout=session_timeout)

    def ready(emulator: Emulator) -> None:
        click.echo(runner.export_lines(emulator.env()))
        sys.stdout.flush()
        click.echo(f"Local EMR emulator ready at {emulator.endpoint}; Ctrl-C stops it.", err=True)

    click.echo("Starting the local EMR emulator...", err=True)
    runner.run_foreground(options, ready)


@local.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@_state_dir_option
def status(as_json: bool, state_dir: Path | None) -> None:
    """Show clusters, roles and Livy sessions (by state and role) of the running emulator."""
    from ..local import runner

    report = runner.admin(runner.read_state(_state_dir(state_dir)), "status")
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(_format_status(report))


def _format_status(report: dict[str, Any]) -> str:
    lines = [f"Local EMR emulator at {report['endpoint']} (pid {report['pid']}, spark "
             f"{report['spark']}, IAM {'enforced' if report['enforce_iam'] else 'not enforced'})",
             "Clusters with Livy:"]
    lines += [f"  {c['id']}  {c['name']:<28} {c['livy_url']}" for c in report["clusters"]]
    if report["filler_clusters"]:
        lines.append(f"  and {report['filler_clusters']} filler clusters without Livy")
    lines.append("Runtime roles:")
    lines += [f"  {arn}" for arn in report["roles"].values()]
    sessions = report["sessions"]
    lines.append(f"Livy sessions: {len(sessions)}")
    counts: dict[tuple[str, str], int] = {}
    for session in sessions:
        key = (session["state"], session["role_arn"])
        counts[key] = counts.get(key, 0) + 1
    lines += [f"  {n} {state:<10} {role}" for (state, role), n in sorted(counts.items())]
    lines.append(f"Livy credentials issued: {report['credentials_issued']}")
    return "\n".join(lines)


@local.command("env")
@_state_dir_option
def env(state_dir: Path | None) -> None:
    """Print the `export` lines of the running emulator again."""
    from ..local import runner

    click.echo(runner.export_lines(runner.read_state(_state_dir(state_dir))["env"]))


@local.command("down")
@_state_dir_option
def down(state_dir: Path | None) -> None:
    """Stop the running emulator and every Livy session it runs."""
    from ..local import runner

    pid = runner.stop(_state_dir(state_dir))
    click.echo(f"Stopped the local EMR emulator (pid {pid}).")

"""`jupyter-emr-roles local ...`: the emulated EMR + Livy for laptops and CI.

The emulator's modules (moto, tornado, cryptography) are imported inside the
commands, so the other commands stay quick to start.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from ..errors import EmrRolesError
from ._extras import require_local_extra

if TYPE_CHECKING:
    from ..local.emulator import Emulator


def _state_dir(value: Path | None) -> Path:
    from ..local.state import default_state_dir

    return value or default_state_dir()


_state_dir_option = click.option(
    "--state-dir", type=click.Path(path_type=Path, file_okay=False),
    help="Where the running emulator keeps its state, CA and logs "
         "(default: $JUPYTER_EMR_ROLES_LOCAL_DIR, else Jupyter's runtime folder).")


def _seconds(flag: str, bounds: tuple[float, float], default: float,
             text: str) -> Callable[[Any], Any]:
    """A ``local up`` option of a number of seconds within ``bounds``, its default shown."""
    return click.option(flag, type=click.FloatRange(*bounds), default=default,
                        show_default=True, help=text)


def _valid_faults(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--faults checked before anything starts (a detached emulator would fail out of sight);
    kept as given, so it passes on to the detached process as it came."""
    from ..local.faults import parse_faults

    try:
        parse_faults(value)
    except EmrRolesError as exc:
        raise click.BadParameter(str(exc).removeprefix("--faults: ")) from None
    return value


@click.group()
def local() -> None:
    """An emulated EMR control plane and Livy gateway, for trying things without AWS.

    `local up` seeds a small world (a runtime-role-ready cluster, one cluster of
    each broken kind, three runtime roles, demo S3 data and a demo user) and
    prints the environment variables that point boto3, sparkmagic and
    jupyter-emr-roles at it.
    """


STRICT_PROPAGATION = 2.0
STRICT_TRAIL_DELAY = 2.0


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
@click.option("--strict", is_flag=True,
              help="Behave like a real cluster wherever a kind emulator would hide a client's "
                   "bug: --split-names, --aws-tls, --credential-propagation "
                   f"{STRICT_PROPAGATION:g} and --trail-delay {STRICT_TRAIL_DELAY:g} (unless "
                   "given).")
@click.option("--split-names", is_flag=True,
              help="Two names for the primary node, as in a public subnet: DescribeCluster's "
                   "MasterPublicDnsName is 127.0.0.1, while ListInstances' PrivateDnsName and "
                   "Livy's certificate name localhost only.")
@click.option("--aws-tls", is_flag=True,
              help="Serve the AWS endpoint over HTTPS with a CA of its own (AWS_CA_BUNDLE), "
                   "apart from Livy's (JUPYTER_EMR_ROLES_CA_BUNDLE).")
@click.option("--credential-propagation", type=click.FloatRange(0, 60), default=None,
              help="Seconds before Livy accepts freshly issued credentials (EMR's token "
                   "propagation; AWS's own client waits 3 s). Default: 0, or "
                   f"{STRICT_PROPAGATION:g} with --strict.")
@click.option("--access-role-ttl", type=click.IntRange(5, 43200), default=None,
              help="Seconds the keys of STS AssumeRole live (access roles), whatever the "
                   "caller asks for; for testing their renewal in minutes. Default: as asked.")
@click.option("--trail-delay", type=click.FloatRange(0, 900), default=None,
              help="Seconds before CloudTrail's LookupEvents shows a call (CloudTrail takes "
                   f"minutes). Default: 0, or {STRICT_TRAIL_DELAY:g} with --strict.")
@_seconds("--session-token-ttl", (5, 43200), 3600.0,
          "Seconds a Spark Connect session's token (GetSessionEndpoint) is accepted; short, to "
          "test its renewal in minutes.")
@_seconds("--session-lifetime", (5, 86400), 86400.0,
          "Seconds a Spark Connect session may live before EMR ends it (24 hours on EMR); "
          "short, to watch a notebook meet that end.")
@click.option("--lose-first-answer", "lose_answers", multiple=True, metavar="OPERATION",
              help="Do the first call of this EMR operation (e.g. StartSession), then close the "
                   "connection instead of answering, as a network fault loses an answer; to "
                   "watch a client retry it. Repeatable.")
@click.option("--faults", default="", metavar="SPEC", callback=_valid_faults,
              help="Faults to inject into Livy's requests, each a share of them (or, for "
                   "latency, a wait per answer): `livy-5xx=0.1,drop-answer=0.05,latency=200ms,"
                   "seed=7`. 5xx is 502 or 503 before Livy acts and 504 after; drop-answer "
                   "acts, then closes the connection unanswered. A seed repeats a run's "
                   "faults.")
@_seconds("--serverless-minute", (0.1, 60), 60.0,
          "Seconds a minute of an EMR Serverless application's idle timeout lasts "
          "(autoStopConfiguration.idleTimeoutMinutes); short, to watch an auto-stop.")
@_seconds("--serverless-transition", (0, 600), 0.5,
          "Seconds each state change of an EMR Serverless application takes once the world is "
          "up (STARTING to STARTED, say; a minute or two on AWS); long, to watch a connect give "
          "up waiting for one to start.")
@_state_dir_option
@click.pass_context
def up(ctx: click.Context, detach: bool, world_file: Path | None, filler_clusters: int,
       spark: str, credential_ttl: int, session_timeout: float, port: int, no_tls: bool,
       no_enforce_iam: bool, strict: bool, split_names: bool, aws_tls: bool,
       credential_propagation: float | None, access_role_ttl: int | None,
       trail_delay: float | None, session_token_ttl: float, session_lifetime: float,
       lose_answers: tuple[str, ...], faults: str, serverless_minute: float,
       serverless_transition: float, state_dir: Path | None) -> None:
    """Start the emulator and print `export` lines for your shell.

    \b
    eval "$(jupyter-emr-roles local up --detach)"
    """
    require_local_extra()
    from ..local import runner
    from ..local.emulator import EmulatorOptions, check_engine
    from ..local.faults import parse_faults
    from ..local.world import load_world

    check_engine(spark)
    folder = _state_dir(state_dir)
    if detach:
        state = runner.start_detached(_foreground_argv(ctx, folder), folder)
        click.echo(runner.export_lines(state["env"]))
        click.echo(f"Local EMR emulator running (pid {state['pid']}); stop it with "
                   "`jupyter-emr-roles local down`.", err=True)
        return
    options = EmulatorOptions(
        world=load_world(world_file), state_dir=folder, port=port, spark=spark,  # type: ignore[arg-type]
        credential_ttl=timedelta(seconds=credential_ttl), tls=not no_tls,
        filler_clusters=filler_clusters, enforce_iam=not no_enforce_iam,
        session_timeout=session_timeout, split_names=split_names or strict,
        credential_propagation=_or_strict(credential_propagation, strict, STRICT_PROPAGATION),
        aws_tls=aws_tls or strict, access_role_ttl=access_role_ttl,
        trail_delay=_or_strict(trail_delay, strict, STRICT_TRAIL_DELAY),
        session_token_ttl=session_token_ttl, session_lifetime=session_lifetime,
        lose_answers=lose_answers, faults=parse_faults(faults), serverless_minute=serverless_minute,
        serverless_transition=serverless_transition)
    click.echo("Starting the local EMR emulator...", err=True)
    runner.run_foreground(options, _print_ready)
    _exit_without_teardown()


def _exit_without_teardown() -> None:
    """End the stopped emulator's process now. Every session, gateway and state file is
    closed; Python's own teardown would spend seconds freeing the emulated accounts' objects
    (moto's IAM holds AWS's managed policies per account), which `local down` and every test
    would wait for."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _or_strict(value: float | None, strict: bool, strict_value: float) -> float:
    """An option as given; when not given, its --strict value with --strict, else 0."""
    return value if value is not None else strict_value if strict else 0.0


def _print_ready(emulator: Emulator) -> None:
    from ..local import runner

    click.echo(runner.export_lines(emulator.env()))
    sys.stdout.flush()
    click.echo(f"Local EMR emulator ready at {emulator.endpoint}; Ctrl-C stops it.", err=True)


def _foreground_argv(ctx: click.Context, state_dir: Path) -> list[str]:
    """This very command without --detach, from every option the user gave, so no option is
    lost on the way to the background process."""
    argv = ["local", "up", "--state-dir", str(state_dir)]
    for param in ctx.command.params:
        name = param.name or ""
        source = ctx.get_parameter_source(name)
        if name in ("detach", "state_dir") or source is ParameterSource.DEFAULT:
            continue
        value = ctx.params[name]
        if isinstance(param, click.Option) and param.is_flag:
            argv += [param.opts[0]] if value else []
        elif isinstance(param, click.Option) and param.multiple:
            argv += [part for item in value for part in (param.opts[0], str(item))]
        else:
            argv += [param.opts[0], str(value.resolve() if isinstance(value, Path) else value)]
    return argv


@local.command("fault")
@click.argument("fault", type=click.Choice(["restart-livy", "terminate-cluster", "kill-session"]))
@click.option("--cluster-id", required=True, help="The cluster, as `local status` lists it.")
@click.option("--session-id", default=None,
              help="kill-session: the Livy session's number, or a Spark Connect session's "
                   "is-... ID.")
@_state_dir_option
def fault(fault: str, cluster_id: str, session_id: str | None, state_dir: Path | None) -> None:
    """Break something under a running notebook, as happens on a shared cluster.

    \b
    restart-livy       Livy restarts: every Livy session of the cluster is lost
    terminate-cluster  the cluster is terminated (as TerminateJobFlows, reason USER_REQUEST);
                       its Livy goes with it
    kill-session       an admin deletes one session (--session-id)
    """
    from urllib.parse import urlencode

    from ..local import runner

    if fault == "kill-session" and not session_id:
        raise click.UsageError("kill-session needs --session-id (see `local status`).")
    query = urlencode({"cluster_id": cluster_id, "session_id": session_id or ""})
    answer = runner.admin(runner.read_state(_state_dir(state_dir)), f"fault/{fault}?{query}",
                          "POST")
    click.echo(answer["message"])


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
    lines += [f"  {c['id']}  {c['account']}  {c['name']:<28} {c['livy_url']}"
              for c in report["clusters"]]
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
@click.option("--user", metavar="NAME",
              help="Another user of the emulated account (its world's other_users; the default "
                   "world's new-analyst may connect but not make the doctor's read calls).")
@_state_dir_option
def env(user: str | None, state_dir: Path | None) -> None:
    """Print the `export` lines of the running emulator again, as the demo user or USER."""
    from ..local import runner

    state = runner.read_state(_state_dir(state_dir))
    if user is None:
        click.echo(runner.export_lines(state["env"]))
        return
    if user not in state["users"]:
        raise click.BadParameter(f"the emulator has no user {user!r}; it has "
                                 f"{', '.join(sorted(state['users']))}.", param_hint="--user")
    click.echo(runner.export_lines(state["users"][user]))


@local.command("down")
@_state_dir_option
def down(state_dir: Path | None) -> None:
    """Stop the running emulator and every Livy session it runs."""
    from ..local import runner

    pid = runner.stop(_state_dir(state_dir))
    click.echo(f"Stopped the local EMR emulator (pid {pid}).")

"""Pieces every command group shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..connect_request import ConnectRequest
from ..errors import EmrRolesError
from ..identifiers import ClusterId, RoleArn

if TYPE_CHECKING:
    from ..cluster_target import Target


class FriendlyGroup(click.Group):
    """Turns our errors into one paragraph and exit status 1 (a traceback only with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EmrRolesError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


def parsed(kind: Callable[[object, str], Any], what: str) -> Callable[..., Any]:
    """A click callback that parses an identifier at the edge and names the option it came from."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return kind(value, f"the {what} {param.human_readable_name}")
        except EmrRolesError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say which cluster, reached as whom (steps, audit)."""
    for option in reversed((
        click.option("--cluster-id", required=True, callback=parsed(ClusterId, "option"),
                     help="The EMR cluster, e.g. j-1K48XXXXXXHCB."),
        click.option("--access-role-arn", callback=parsed(RoleArn, "option"),
                     help="A role of the cluster's account to assume first (cross-account). "
                     "Default: the access role your roles files give for it."),
        click.option("--region", help="AWS region of the cluster. Default: boto3's."),
        click.option("--profile", help="AWS profile to use. Default: boto3's."),
    )):
        command = option(command)
    return command


def cluster_target(cluster_id: ClusterId, access_role_arn: RoleArn | None, region: str | None,
                   profile: str | None, role_arn: RoleArn | None = None) -> Target:
    """The cluster as the options name it, found as a connect finds it; warnings on stderr."""
    from ..cluster_target import find_target

    request = ConnectRequest(cluster_id=cluster_id, role_arn=role_arn,
                             access_role_arn=access_role_arn, region=region, profile=profile)
    return find_target(request, lambda text: click.echo(f"Warning: {text}", err=True))

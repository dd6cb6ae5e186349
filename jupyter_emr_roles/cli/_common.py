"""Pieces every command group shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..errors import EmrRolesError


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

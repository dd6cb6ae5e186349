"""Pieces every command group shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import options
from ..errors import EmrRolesError

if TYPE_CHECKING:
    from ..cluster_target import Target

Command = TypeVar("Command", bound=Callable[..., Any])


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


def parsed(kind: Callable[[Any, str], Any], what: str) -> Callable[..., Any]:
    """A click callback that parses an identifier at the edge and names the option it came from."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            return kind(value, f"the {what} {param.human_readable_name}")
        except EmrRolesError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def click_options(face: str) -> Callable[[Command], Command]:
    """The click options of ``face`` (``options.py``), in the table's order, each parsed at the
    edge: a malformed value is a usage error (exit status 2) naming the option."""

    def decorate(command: Command) -> Command:
        for option, shown in reversed(options.on_face(face)):
            command = click.option(option.flag, **_click_words(option, shown))(command)
        return command

    return decorate


def _click_words(option: options.Option, shown: options.Shown) -> dict[str, Any]:
    """click's words for an option: its help as is (click does not %-format it)."""
    words: dict[str, Any] = {"help": shown.help or option.help}
    if option.kind is bool:
        return {**words, "is_flag": True}
    words["required"] = shown.required
    words["type"] = click.Choice(option.choices) if option.choices else option.kind
    if option.default is not None:
        words["default"] = option.default
    if option.metavar:
        words["metavar"] = option.metavar
    if option.parse is not None:
        words["callback"] = parsed(option.parse, "option")
    return words


def cluster_target(given: Mapping[str, Any], face: str = options.CLUSTER) -> Target:
    """The cluster as ``face``'s options name it, found as a connect finds it; warnings on
    stderr."""
    from ..cluster_target import find_target

    return find_target(options.request(given, face),
                       lambda text: click.echo(f"Warning: {text}", err=True))

"""``jupyter-emr-roles``: the command line for users and admins.

Built on click: subcommands, ``--help`` on each, and usage errors with exit
status 2 come from it. Our own errors (a broken roles file, a bad ARN) exit
with status 1 and one paragraph on stderr; ``--debug`` shows the traceback.
Because the executable is named ``jupyter-emr-roles``, ``jupyter emr-roles``
works too.
"""

from __future__ import annotations

import logging

import click

from .._version import __version__
from ._common import FriendlyGroup
from .audit import audit
from .demo import demo
from .doctor import doctor
from .grants import grants
from .local import local
from .roles import roles
from .sessions import sessions
from .steps import steps


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="jupyter-emr-roles")
@click.option("--debug", is_flag=True, help="Log details and show tracebacks of errors.")
def main(debug: bool) -> None:
    """Run notebooks' Spark work on Amazon EMR under IAM runtime roles.

    Start with `jupyter-emr-roles roles list` to see which runtime roles you may
    pick, and where each one comes from; try everything without AWS with
    `jupyter-emr-roles local up`.
    """
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


main.add_command(roles)
main.add_command(local)
main.add_command(demo)
main.add_command(doctor)
main.add_command(grants)
main.add_command(steps)
main.add_command(audit)
main.add_command(sessions)

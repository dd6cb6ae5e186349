"""`jupyter-emr-roles roles ...`: see and edit the runtime roles a user may pick."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import Problem, RolesFileError
from ..identifiers import AccountId, RoleArn
from ..jsonfile import JsonFileProblem, display_path, read_json
from ..roles import (
    STUDIO_CROSS_ACCOUNT_FILE,
    STUDIO_ROLES_FILE,
    OwnRolesFile,
    RolesCatalog,
    SourceInfo,
    add_role,
    default_sources,
    load_catalog,
    remove_role,
)
from ..roles.formats import (
    ProblemList,
    check_label,
    json_schema,
    parse_own,
    parse_studio_cross_account,
    parse_studio_roles,
)
from ..text_table import text_table
from ._common import parsed


@click.group()
def roles() -> None:
    """The runtime roles you may pick, per cluster account.

    They are read from ~/.jupyter/emr-roles.json (or $JUPYTER_EMR_ROLES_FILE),
    then from SageMaker Studio's files that admins' lifecycle scripts write.
    `add` and `remove` change only the first.
    """


@roles.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--account", callback=parsed(AccountId, "option"),
              help="Only this cluster account (12 digits).")
def list_roles(as_json: bool, account: AccountId | None) -> None:
    """List every role you may pick, with its label, default and source."""
    catalog = load_catalog()
    if account:
        catalog = RolesCatalog(tuple(a for a in catalog.accounts if a.account == account),
                               catalog.sources, catalog.conflicts)
    for conflict in catalog.conflicts:
        click.echo(f"Warning: {conflict}", err=True)
    if as_json:
        click.echo(json.dumps(catalog.as_json(), indent=2))
        return
    click.echo(_format_catalog(catalog, account))


def _format_catalog(catalog: RolesCatalog, account: AccountId | None) -> str:
    if not catalog.accounts:
        scope = f" for account {account}" if account else ""
        return (f"No runtime roles are configured{scope}. Add one with "
                "`jupyter-emr-roles roles add ARN`, or ask your admin for the lifecycle "
                "script (see `jupyter-emr-roles roles path` for the files read).")
    lines = []
    for entry in catalog.accounts:
        lines.append(f"Clusters in account {entry.account}:")
        if entry.access_role:
            lines.append(f"  access role (assumed first): {entry.access_role}")
        if entry.offer_caller_role:
            lines.append("  your own (caller) role is offered too")
        rows = [("", "LABEL", "ROLE ARN", "SOURCE")] + [
            ("*" if role.default else "", role.label or "-", role.arn, ", ".join(role.sources))
            for role in entry.roles]
        lines += text_table(rows, indent="  ")
        lines.append("")
    lines.append("* = default role. Sources: " + "; ".join(
        f"{s.name} = {', '.join(display_path(p) for p in s.paths)}" for s in catalog.sources))
    return "\n".join(lines)


@roles.command("add")
@click.argument("arn", callback=parsed(RoleArn, "argument"))
@click.option("--account", callback=parsed(AccountId, "option"),
              help="Cluster account the role is offered for (default: the role's own account).")
@click.option("--label", callback=parsed(check_label, "option"),
              help="Name the selector shows, e.g. 'Sales (EU)'.")
@click.option("--default", "make_default", is_flag=True,
              help="Preselect this role for the account's clusters.")
def add(arn: RoleArn, account: AccountId | None, label: str | None, make_default: bool) -> None:
    """Add a runtime role (or change its label or default) in your own roles file."""
    source = OwnRolesFile()
    add_role(arn, account, label, make_default, source.path)
    click.echo(f"Added {arn} for account {account or arn.account} in {display_path(source.path)}.")


@roles.command("remove")
@click.argument("arn", callback=parsed(RoleArn, "argument"))
@click.option("--account", callback=parsed(AccountId, "option"),
              help="Remove it only for this cluster account.")
def remove(arn: RoleArn, account: AccountId | None) -> None:
    """Remove a runtime role from your own roles file."""
    source = OwnRolesFile()
    remove_role(arn, account, source.path)
    click.echo(f"Removed {arn} from {display_path(source.path)}.")


_PARSERS = {
    "own": parse_own,
    "studio": parse_studio_roles,
    "studio-cross-account": parse_studio_cross_account,
}


@roles.command("validate")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "file_format", type=click.Choice(["auto", *_PARSERS]), default="auto",
              show_default=True, help="Format of FILE; auto goes by its name, then its content.")
def validate(file: Path | None, file_format: str) -> None:
    """Check the roles files (or FILE) and list every problem with its key and fix.

    Exits with status 1 if there is any problem.
    """
    problems = _file_problems(file, file_format) if file else _all_problems()
    for problem in problems:
        click.echo(f"problem: {problem}")
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo("No problems found.")


def _all_problems() -> list[Problem]:
    try:
        catalog = load_catalog()
    except RolesFileError as exc:
        return exc.problems
    for source in default_sources():
        for path in source.paths():
            if path.exists():
                click.echo(f"ok: {display_path(path)}")
    return list(catalog.conflicts)


def _file_problems(file: Path, file_format: str) -> list[Problem]:
    try:
        document = read_json(file)
    except JsonFileProblem as exc:
        return [exc.problem]
    if document is None:
        return [Problem(str(file), "", "there is no such file.", "check the path.")]
    parser = _PARSERS[file_format if file_format != "auto" else _guess_format(file, document)]
    try:
        parser(document, display_path(file))
    except ProblemList as exc:
        return exc.problems
    click.echo(f"ok: {display_path(file)}")
    return []


def _guess_format(file: Path, document: Any) -> str:
    if file.name == STUDIO_ROLES_FILE.name:
        return "studio"
    if file.name == STUDIO_CROSS_ACCOUNT_FILE.name:
        return "studio-cross-account"
    if isinstance(document, dict) and "emr-execution-role-arns" in document:
        return "studio"
    if isinstance(document, dict) and document and "version" not in document and all(
            isinstance(value, str) for value in document.values()):
        return "studio-cross-account"
    return "own"


@roles.command("path")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def path(as_json: bool) -> None:
    """Show which files are read, in order of precedence, and which exist."""
    sources = default_sources()
    if as_json:
        click.echo(json.dumps(
            [SourceInfo(s.name, tuple(s.paths())).as_json() for s in sources], indent=2))
        return
    for rank, source in enumerate(sources, 1):
        for file in source.paths():
            state = "exists" if os.path.exists(file) else "absent"
            click.echo(f"{rank}. {source.name:<15} {state:<7} {file}")
    click.echo("Earlier files take precedence; `roles add` and `roles remove` write "
               f"{OwnRolesFile().path} (set $JUPYTER_EMR_ROLES_FILE to use another).")


@roles.command("schema")
def schema() -> None:
    """Print the JSON schema of ~/.jupyter/emr-roles.json (for editors and CI checks)."""
    click.echo(json.dumps(json_schema(), indent=2))


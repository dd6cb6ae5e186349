"""Every connection option once: its flag, the field it fills, how its text is parsed, its
default, its help, and which faces show it.

The faces are built from this table, so an option reads the same wherever it appears and a
new one is a row here plus the engine that uses it: :func:`magic_options` gives IPython's
argument decorators (``%connect``, ``%emr_doctor``, ``%emr_step``, ...), ``cli._common``'s
``click_options`` the click ones, :func:`request` the one ``ConnectRequest`` of the values,
and ``python -m jupyter_emr_roles.options`` the JSON the Lab extension's cell builder reads
(``labextension/src/options.json``, committed; a test holds it equal to :func:`lab_export`).

Plain on purpose (IPython and click are imported by the adapters that need them), so the
command line does not load IPython and ``%load_ext`` stays instant.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from . import jsonfile
from .connect_request import DEFAULT_ENGINE, DEFAULT_TIMEOUT, ENGINES, LANGUAGES, ConnectRequest
from .errors import EmrRolesError
from .identifiers import ApplicationId, ClusterId, RoleArn, SessionName, show

Function = TypeVar("Function", bound=Callable[..., Any])

# The faces an option can be shown on.
CONNECT = "connect"  # %connect and %%connect
LAB_CELL = "lab-cell"  # the %connect cell the Lab extension's dialog writes
DOCTOR = "doctor"  # %emr_doctor and `jupyter-emr-roles doctor`
GRANTS = "grants"  # %emr_grants and `jupyter-emr-roles grants`
STEP = "step"  # %emr_step and `jupyter-emr-roles steps submit`
RUNS = "runs"  # `jupyter-emr-roles steps list|cancel|logs`
CLUSTER = "cluster"  # `jupyter-emr-roles audit`
PICKER = "picker"  # %emr_picker


@dataclass(frozen=True)
class Shown:
    """An option on one face: there with the option's own help unless ``help`` says what the
    option means on that face, and ``required`` there or not."""

    face: str
    help: str | None = None
    required: bool = False


@dataclass(frozen=True)
class Option:
    """One option. ``parse(value, source)`` checks a given value (an identifier type, a range)
    and raises EmrRolesError naming ``source``; ``kind`` is what the text is first read as
    (str, float, int, or bool for a flag that takes no value); an option with an ``engine``
    is that engine's alone and reaches it in ``ConnectRequest.engine_options``."""

    flag: str
    help: str
    shown: tuple[Shown, ...]
    parse: Callable[[Any, str], Any] | None = None
    kind: type = str
    choices: tuple[str, ...] = ()
    default: Any = None
    metavar: str | None = None
    engine: str | None = None

    @property
    def field(self) -> str:
        """The ConnectRequest field (or, for an engine's option, the ``engine_options`` key)."""
        return self.flag.removeprefix("--").replace("-", "_")

    def on(self, face: str) -> Shown | None:
        return next((shown for shown in self.shown if shown.face == face), None)

    def value(self, given: Any) -> Any:
        """The given value parsed, None when the option was not given."""
        if given is None or self.parse is None:
            return given
        return self.parse(given, f"the {self.flag} option")


def faces(*names: str, required: bool = False) -> tuple[Shown, ...]:
    """The option on each of ``names`` with its own help."""
    return tuple(Shown(name, required=required) for name in names)


def s3_uri(value: str, source: str) -> str:
    """An S3 URI as given (``s3://BUCKET/PATH``): a grant's scope is compared with it as is."""
    if not value.startswith("s3://"):
        raise EmrRolesError(f"{show(value)} from {source} is not an S3 URI; give "
                            "s3://BUCKET/PATH.")
    return value


def _positive(unit: str) -> Callable[[Any, str], Any]:
    """A parser of a positive number of ``unit``."""

    def parse(value: Any, source: str) -> Any:
        if value <= 0:
            raise EmrRolesError(f"{source[:1].upper()}{source[1:]} must be a positive number "
                                f"of {unit}, not {value:g}.")
        return value

    return parse


_ENGINE_HELP = ("What runs the session: "
                + "; ".join(f"{name}, {what}" for name, what in ENGINES.items())
                + f". Default: {DEFAULT_ENGINE}.")

OPTIONS: tuple[Option, ...] = (
    Option("--cluster-id", "The EMR cluster, e.g. j-1K48XXXXXXHCB.", parse=ClusterId, shown=(
        *faces(CLUSTER, required=True),
        *(Shown(face, "The EMR cluster, e.g. j-1K48XXXXXXHCB (or give --application-id).")
          for face in (CONNECT, LAB_CELL, DOCTOR, STEP, RUNS)))),
    Option("--application-id", "The EMR Serverless application, e.g. 00fabcdefghij012 (instead "
           "of --cluster-id): a stopped one is started.", parse=ApplicationId, shown=(
               *faces(CONNECT, LAB_CELL),
               Shown(DOCTOR, "The EMR Serverless application to check, e.g. 00fabcdefghij012 "
                     "(instead of --cluster-id)."),
               *(Shown(face, "The EMR Serverless application whose job runs these are, e.g. "
                       "00fabcdefghij012 (instead of --cluster-id); a stopped one with "
                       "auto-start on starts for a job.") for face in (STEP, RUNS)))),
    Option("--role-arn", "The runtime role the session runs as. Default: the default role of "
           "the cluster's (or application's) account in your roles files (`jupyter-emr-roles "
           "roles list`). A role not listed there is tried with a warning: IAM decides.",
           parse=RoleArn, shown=(
               *faces(CONNECT, LAB_CELL),
               Shown(DOCTOR, "The runtime role to check. Default: the default role of the "
                     "cluster's (or application's) account in your roles files."),
               Shown(STEP, "The runtime role the step (or job run) runs as. Default: the "
                     "default role of the cluster's (or application's) account in your roles "
                     "files."),
               Shown(GRANTS, "The runtime role whose grants to list.", required=True))),
    Option("--name", "The session's name for `%%spark -s NAME`. Default: the role name. "
           "Connecting a name again deletes its old session first.", parse=SessionName,
           shown=faces(CONNECT, LAB_CELL)),
    Option("--language", "The session's language (Livy kinds pyspark, spark, sparkr); sql opens "
           "a PySpark session for %%sql cells (SQL runs in any session with %%sql or "
           "`%%spark -c sql`). Default: python (scala in sparkmagic's Spark kernel, whose plain "
           "cells are Scala).", choices=LANGUAGES, default="python",
           shown=faces(CONNECT, LAB_CELL)),
    Option("--engine", _ENGINE_HELP, choices=tuple(ENGINES), default=DEFAULT_ENGINE,
           shown=faces(CONNECT, LAB_CELL)),
    Option("--prefix", "s3://BUCKET/PATH: say whether a grant of the role covers it, and which.",
           parse=s3_uri, shown=faces(GRANTS)),
    Option("--access-role-arn", "A role of the cluster's account to assume first "
           "(cross-account). Default: the access role your roles files give for it.",
           parse=RoleArn, shown=(
               *faces(CONNECT, LAB_CELL, DOCTOR, STEP, RUNS, CLUSTER),
               Shown(GRANTS, "A role of the role's account to assume first. Default: the "
                     "access role your roles files give for that account."))),
    Option("--region", "AWS region of the cluster. Default: boto3's (AWS_DEFAULT_REGION, "
           "profile).", shown=(
               *faces(CONNECT, DOCTOR, STEP, RUNS, CLUSTER),
               Shown(GRANTS, "AWS region of the Access Grants instance. Default: boto3's "
                     "(AWS_DEFAULT_REGION, profile)."),
               Shown(PICKER, "AWS region whose clusters are listed. Default: boto3's "
                     "(AWS_DEFAULT_REGION, profile)."))),
    Option("--profile", "AWS profile to use. Default: boto3's (AWS_PROFILE, default).",
           shown=faces(CONNECT, DOCTOR, GRANTS, STEP, RUNS, CLUSTER, PICKER)),
    Option("--ca-bundle", "PEM file of the CA that signed Livy's certificate. Default: "
           "$JUPYTER_EMR_ROLES_CA_BUNDLE, else the ca_bundle your roles file gives the cluster's "
           "account, else the system's CAs. AWS_CA_BUNDLE is not used for Livy: it is "
           "botocore's, for the AWS endpoint.", shown=(
               *faces(CONNECT),
               Shown(DOCTOR, "PEM file of the CA that signed Livy's certificate, as for "
                     "%connect. Default: $JUPYTER_EMR_ROLES_CA_BUNDLE, else the roles "
                     "file's."))),
    Option("--no-verify", "Do not verify Livy's TLS certificate (warns every time; prefer "
           "--ca-bundle).", kind=bool, shown=faces(CONNECT)),
    Option("--livy-url", "https://HOST:PORT of Livy, instead of the primary node's names (an "
           "SSH tunnel, a proxy). Default: the cluster's livy_url in your roles file, else the "
           "primary node's private DNS name, then its public one, whichever certificate "
           "verifies.", shown=faces(CONNECT)),
    Option("--allow-insecure-http", "Accept a Livy that speaks plain HTTP (EMR 6.9 to 7.3 "
           "without TLS for Livy), on a private network only: warns at every connect, refused "
           "for a public name or address.", kind=bool, shown=(
               *faces(CONNECT),
               Shown(DOCTOR, "Accept a Livy that speaks plain HTTP (EMR 6.9 to 7.3 without TLS "
                     "for Livy), as %connect --allow-insecure-http does: the livy check then "
                     "warns instead of failing."))),
    Option("--timeout", "Seconds the whole connect may take: AWS calls, waiting for the new "
           "login to reach the cluster, starting the session and its first statement. "
           f"Default: {DEFAULT_TIMEOUT:g}.", parse=_positive("seconds"), kind=float,
           default=DEFAULT_TIMEOUT, shown=faces(CONNECT)),
    Option("--idle-timeout", "Minutes a Spark Connect session may stay idle before EMR "
           "terminates it (StartSession's SessionIdleTimeoutInMinutes; idleTimeoutMinutes on "
           "EMR Serverless). Default: EMR's, 60. "
           "Not used by a Livy session.", parse=_positive("whole minutes"), kind=int,
           metavar="MINUTES", engine="spark-connect", shown=faces(CONNECT)),
)
_REQUEST_FIELDS = frozenset(ConnectRequest.__dataclass_fields__)


def on_face(face: str) -> list[tuple[Option, Shown]]:
    """The options ``face`` shows, in the table's order, each with how it is shown there."""
    return [(option, shown) for option in OPTIONS if (shown := option.on(face)) is not None]


def option(flag: str) -> Option:
    """The option of ``flag`` (``--language``)."""
    return next(option for option in OPTIONS if option.flag == flag)


def parse(given: Namespace | Mapping[str, Any], face: str) -> dict[str, Any]:
    """The values of ``face``'s options in ``given`` (an argparse Namespace, or click's keyword
    arguments) by field, each parsed by its option: a bad one raises EmrRolesError naming the
    option. A value click already parsed parses to itself."""
    values = vars(given) if isinstance(given, Namespace) else given
    return {option.field: option.value(values.get(option.field))
            for option, _ in on_face(face) if option.field in values}


def request(given: Namespace | Mapping[str, Any], face: str,
            config: dict[str, Any] | None = None) -> ConnectRequest:
    """The ConnectRequest of ``face``'s options in ``given``, with ``config`` (the %%connect
    cell's body) as its settings; an option not given keeps ConnectRequest's default."""
    fields: dict[str, Any] = {}
    engine_options: dict[str, Any] = {}
    by_field = {option.field: option for option in OPTIONS}
    for field, value in parse(given, face).items():
        if value is None:
            continue
        if by_field[field].engine is not None:
            engine_options[field] = value
        elif field in _REQUEST_FIELDS:
            fields[field] = value
    return ConnectRequest(**fields, engine_options=engine_options, config=config or {})


def magic_options(face: str) -> Callable[[Function], Function]:
    """IPython ``@argument`` decorators for ``face``'s options, in the table's order; put it
    under ``@magic_arguments()`` as the ``@argument`` lines it stands for."""
    from IPython.core.magic_arguments import argument

    def decorate(function: Function) -> Function:
        for option, shown in reversed(on_face(face)):
            function = argument(option.flag, **_argparse(option, shown))(function)
        return function

    return decorate


def _argparse(option: Option, shown: Shown) -> dict[str, Any]:
    """argparse's words for an option; its help %-escaped, since argparse %-formats help."""
    words: dict[str, Any] = {"help": (shown.help or option.help).replace("%", "%%")}
    if option.kind is bool:
        return {**words, "action": "store_true"}
    if shown.required:
        words["required"] = True
    if option.kind is not str:
        words["type"] = option.kind
    if option.choices:
        words["choices"] = option.choices
    if option.default is not None:
        words["default"] = option.default
    if option.metavar:
        words["metavar"] = option.metavar
    return words


def lab_export() -> dict[str, Any]:
    """What the Lab extension's cell builder needs: the flag of each field it writes, and the
    defaults it leaves out of the cell."""
    shown = on_face(LAB_CELL)
    return {"flags": {option.field: option.flag for option, _ in shown},
            "defaults": {option.field: option.default for option, _ in shown
                         if option.default is not None}}


def lab_export_text() -> str:
    """:func:`lab_export` as the committed file holds it."""
    return jsonfile.lab_export_text("jupyter_emr_roles.options", lab_export())


def main() -> None:
    """Write the Lab extension's options.json to stdout."""
    sys.stdout.write(lab_export_text())


if __name__ == "__main__":
    main()

"""The runtime roles a user may pick: found in several files, merged, and edited safely.

Sources, highest precedence first:

1. our own file, ``~/.jupyter/emr-roles.json`` (``$JUPYTER_EMR_ROLES_FILE``);
2. SageMaker Studio Classic's files, read exactly as Studio writes them;
3. Studio's own ``EmrSettings`` of the user profile or domain (``roles/studio_domain.py``).

A source is any object with ``name``, ``paths()`` and ``read()``; one that asks
an API and cannot (``SourceUnavailable``) is a warning, and the other sources'
roles are still offered. The merged ``RolesCatalog``
remembers which sources list each role; disagreements between sources that
cannot be settled by a rule (two different defaults or access roles for one
account) are reported as conflicts and left unset, never guessed.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..errors import Problem, RolesFileError, RolesUpdateError
from ..identifiers import AccountId, RoleArn, show
from ..jsonfile import JsonFileProblem, display_path, locked, read_json, write_atomically
from .studio_domain import SourceUnavailable, StudioDomainSettings
from .formats import (
    AccountRoles,
    ProblemList,
    RoleEntry,
    RolesFileV1,
    check_label,
    parse_own,
    parse_studio_cross_account,
    parse_studio_roles,
    render,
)

log = logging.getLogger(__name__)

OWN_FILE_ENV = "JUPYTER_EMR_ROLES_FILE"
STUDIO_ROLES_FILE = Path(".sagemaker-analytics-configuration-DO_NOT_DELETE",
                         "emr-configurations-DO_NOT_DELETE.json")
STUDIO_CROSS_ACCOUNT_FILE = Path(".cross-account-configuration-DO_NOT_DELETE",
                                 "emr-discovery-iam-role-arns-DO_NOT_DELETE.json")

SourceData = dict[AccountId, AccountRoles]


def own_file_path() -> Path:
    """Where our file is: ``$JUPYTER_EMR_ROLES_FILE``, else ``~/.jupyter/emr-roles.json``."""
    override = os.environ.get(OWN_FILE_ENV)
    if not override:
        return Path.home() / ".jupyter" / "emr-roles.json"
    try:
        return Path(override).expanduser()
    except RuntimeError:  # ~name of a user that does not exist
        raise RolesFileError([Problem(
            f"${OWN_FILE_ENV}", "", f"the path {show(override)} starts with the home folder of "
            "a user that does not exist.", "write the file's full path.")]) from None


class RolesSource(Protocol):
    """One place roles come from. ``read`` returns None when the source has nothing."""

    name: str

    def paths(self) -> list[Path]: ...

    def read(self) -> SourceData | None: ...


def _read(path: Path) -> Any | None:
    try:
        return read_json(path)
    except JsonFileProblem as exc:
        raise RolesFileError([exc.problem]) from None


def _parse(parser: Callable[[Any, str], Any], document: Any, path: Path) -> Any:
    try:
        return parser(document, display_path(path))
    except ProblemList as exc:
        raise RolesFileError(exc.problems) from None


class OwnRolesFile:
    """Our versioned file: labels, defaults, access roles, the caller-role switch."""

    name = "emr-roles.json"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or own_file_path()

    def paths(self) -> list[Path]:
        return [self.path]

    def read_model(self) -> RolesFileV1 | None:
        document = _read(self.path)
        if document is None:
            return None
        return _parse(parse_own, document, self.path)

    def read(self) -> SourceData | None:
        model = self.read_model()
        return None if model is None else {AccountId(a): e for a, e in model.accounts.items()}


class StudioClassicFiles:
    """The two files Studio's lifecycle configurations write, read as they are."""

    name = "studio"

    def __init__(self, home: Path | None = None) -> None:
        home = home or Path.home()
        self.roles_path = home / STUDIO_ROLES_FILE
        self.cross_account_path = home / STUDIO_CROSS_ACCOUNT_FILE

    def paths(self) -> list[Path]:
        return [self.roles_path, self.cross_account_path]

    def read(self) -> SourceData | None:
        problems: list[Problem] = []
        roles_doc = cross_doc = None
        for path, parser in ((self.roles_path, parse_studio_roles),
                             (self.cross_account_path, parse_studio_cross_account)):
            try:
                document = _read(path)
                parsed = None if document is None else _parse(parser, document, path)
            except RolesFileError as exc:
                problems.extend(exc.problems)
                continue
            if path == self.roles_path:
                roles_doc = parsed
            else:
                cross_doc = parsed
        if problems:
            raise RolesFileError(problems)
        if roles_doc is None and cross_doc is None:
            return None
        role_arns = roles_doc.emr_execution_role_arns if roles_doc else {}
        access = cross_doc.root if cross_doc else {}
        return {
            AccountId(account): AccountRoles(
                roles=[RoleEntry(arn=arn) for arn in role_arns.get(account, [])],
                access_role=access.get(account),
            )
            for account in sorted(set(role_arns) | set(access))
        }


def default_sources(profile: str | None = None, region: str | None = None) -> list[RolesSource]:
    """The sources in precedence order, highest first; an API is asked as the AWS ``profile``
    in ``region`` a face was given (the environment's where None)."""
    return [OwnRolesFile(), StudioClassicFiles(), StudioDomainSettings(profile, region)]


@dataclass(frozen=True)
class RoleChoice:
    """A role as the selector shows it."""

    arn: RoleArn
    label: str | None
    default: bool
    sources: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"arn": self.arn, "label": self.label, "default": self.default,
                "sources": list(self.sources)}


@dataclass(frozen=True)
class AccountChoices:
    """Everything the user may pick for clusters of one account."""

    account: AccountId
    roles: tuple[RoleChoice, ...]
    access_role: RoleArn | None
    offer_caller_role: bool
    ca_bundle: tuple[str, str] | None = None  # (path, source name): Livy's CA for the account
    livy_urls: dict[str, tuple[str, str]] = field(default_factory=dict)  # cluster -> (url, source)

    @property
    def default_role(self) -> RoleArn | None:
        return next((role.arn for role in self.roles if role.default), None)

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "default_role": self.default_role,
                "access_role": self.access_role, "offer_caller_role": self.offer_caller_role,
                "ca_bundle": self.ca_bundle[0] if self.ca_bundle else None,
                "livy_urls": {cluster: url for cluster, (url, _) in self.livy_urls.items()},
                "roles": [role.as_json() for role in self.roles]}


@dataclass(frozen=True)
class SourceInfo:
    name: str
    paths: tuple[Path, ...]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name,
                "files": [{"path": str(p), "exists": os.path.exists(p)} for p in self.paths]}


@dataclass(frozen=True)
class RolesCatalog:
    """The merged view of every source."""

    accounts: tuple[AccountChoices, ...]
    sources: tuple[SourceInfo, ...]
    conflicts: tuple[Problem, ...] = field(default=())

    def account(self, account: AccountId) -> AccountChoices | None:
        return next((entry for entry in self.accounts if entry.account == account), None)

    def as_json(self) -> dict[str, Any]:
        return {"accounts": [entry.as_json() for entry in self.accounts],
                "sources": [source.as_json() for source in self.sources],
                "conflicts": [problem.as_dict() for problem in self.conflicts]}


def load_catalog(sources: Sequence[RolesSource] | None = None, profile: str | None = None,
                 region: str | None = None) -> RolesCatalog:
    """Read every source (the default ones asked as ``profile`` in ``region``) and merge them;
    a broken source raises RolesFileError (all problems)."""
    sources = default_sources(profile, region) if sources is None else sources
    problems: list[Problem] = []
    unavailable: list[Problem] = []
    found: list[tuple[str, SourceData]] = []
    for source in sources:
        try:
            data = source.read()
        except RolesFileError as exc:
            problems.extend(exc.problems)
            continue
        except SourceUnavailable as exc:
            unavailable.append(exc.problem)
            continue
        if data is not None:
            found.append((source.name, data))
    if problems:
        raise RolesFileError(problems)
    infos = tuple(SourceInfo(source.name, tuple(source.paths())) for source in sources)
    catalog = merge(found, infos)
    return replace(catalog, conflicts=catalog.conflicts + tuple(unavailable))


def merge(found: Iterable[tuple[str, SourceData]], infos: tuple[SourceInfo, ...] = ()) -> RolesCatalog:
    """Merge sources given highest precedence first.

    Roles are united (first label wins, every listing source is remembered);
    the caller-role switch is on if any source turns it on; a default or an
    access role that sources disagree on becomes a conflict and stays unset.
    """
    found = list(found)
    conflicts: list[Problem] = []
    accounts = []
    for account in sorted({account for _, data in found for account in data}):
        listings = [(name, data[account]) for name, data in found if account in data]
        access_role = _agreed(account, "access role", [
            (name, entry.access_role) for name, entry in listings if entry.access_role], conflicts)
        default = _agreed(account, "default role", [
            (name, role.arn) for name, entry in listings for role in entry.roles if role.default],
            conflicts)
        accounts.append(AccountChoices(
            account=account,
            roles=_united_roles(listings, default),
            access_role=RoleArn(access_role) if access_role else None,
            offer_caller_role=any(entry.offer_caller_role for _, entry in listings),
            ca_bundle=next(((entry.ca_bundle, name) for name, entry in listings
                            if entry.ca_bundle), None),
            livy_urls={cluster_id: (settings.livy_url, name)
                       for name, entry in reversed(listings)
                       for cluster_id, settings in entry.clusters.items()},
        ))
    return RolesCatalog(tuple(accounts), infos, tuple(conflicts))


def _agreed(account: str, what: str, claims: list[tuple[str, str]],
            conflicts: list[Problem]) -> str | None:
    values = {value for _, value in claims}
    if len(values) <= 1:
        return next(iter(values), None)
    said = "; ".join(f"{name} says {value}" for name, value in claims)
    conflicts.append(Problem(
        ", ".join(sorted({name for name, _ in claims})), f"accounts.{account}",
        f"the sources disagree on the {what} for account {account} ({said}), so none is used.",
        f"make them agree, or remove the {what} from all but one."))
    return None


def _united_roles(listings: list[tuple[str, AccountRoles]], default: str | None) -> tuple[RoleChoice, ...]:
    merged: dict[str, dict[str, Any]] = {}
    for name, entry in listings:
        for role in entry.roles:
            choice = merged.setdefault(role.arn, {"label": None, "sources": []})
            choice["label"] = choice["label"] or role.label
            if name not in choice["sources"]:
                choice["sources"].append(name)
    return tuple(RoleChoice(RoleArn(arn), c["label"], arn == default, tuple(c["sources"]))
                 for arn, c in merged.items())


def add_role(arn: RoleArn, account: AccountId | None = None, label: str | None = None,
             make_default: bool = False, path: Path | None = None) -> RolesFileV1:
    """Add (or update) a role in our file; the account defaults to the role's own account."""
    account = account or arn.account
    if label is not None:
        check_label(label)

    def change(model: RolesFileV1) -> RolesFileV1:
        entry = model.accounts.get(account, AccountRoles())
        existing = next((role for role in entry.roles if role.arn == arn), None)
        new_role = RoleEntry(arn=arn, label=label or (existing.label if existing else None),
                             default=make_default or bool(existing and existing.default))
        roles = [new_role if role.arn == arn else role for role in entry.roles]
        if existing is None:
            roles.append(new_role)
        if make_default:
            roles = [role if role.arn == arn else role.model_copy(update={"default": False})
                     for role in roles]
        return _with_account(model, account, entry.model_copy(update={"roles": roles}))

    return update_own_file(change, path)


def remove_role(arn: RoleArn, account: AccountId | None = None,
                path: Path | None = None) -> RolesFileV1:
    """Remove a role from our file (from every account, or only ``account``)."""

    def change(model: RolesFileV1) -> RolesFileV1:
        accounts = {a: e for a, e in model.accounts.items() if account is None or a == account}
        holders = [a for a, entry in accounts.items() if any(r.arn == arn for r in entry.roles)]
        if not holders:
            raise RolesUpdateError(_not_listed_message(arn, account, path))
        for holder in holders:
            entry = model.accounts[holder]
            kept = [role for role in entry.roles if role.arn != arn]
            model = _with_account(model, holder, entry.model_copy(update={"roles": kept}))
        return model

    return update_own_file(change, path)


def _not_listed_message(arn: RoleArn, account: AccountId | None, path: Path | None) -> str:
    where = f" for account {account}" if account else ""
    own = display_path(path or own_file_path())
    studio = StudioClassicFiles()
    in_studio = False
    try:
        data = studio.read() or {}
        in_studio = any(role.arn == arn for entry in data.values() for role in entry.roles)
    except RolesFileError:
        pass
    if in_studio:
        return (f"{arn} is not in {own}{where}; it comes from SageMaker Studio's file "
                f"{display_path(studio.roles_path)}, which your admin's lifecycle script writes, "
                "so change it there (or ask your admin).")
    return f"{arn} is not listed in {own}{where}, so there is nothing to remove."


def _with_account(model: RolesFileV1, account: str, entry: AccountRoles) -> RolesFileV1:
    accounts = dict(model.accounts)
    if entry.roles or entry.access_role or entry.offer_caller_role or entry.ca_bundle \
            or entry.clusters:
        accounts[account] = entry
    else:
        accounts.pop(account, None)
    return model.model_copy(update={"accounts": accounts})


def update_own_file(change: Callable[[RolesFileV1], RolesFileV1],
                    path: Path | None = None) -> RolesFileV1:
    """Read, change and atomically rewrite our file under its lock.

    Any error (a broken current file, a change that cannot be made, a result
    that breaks a rule) raises before anything is written. The change is tried
    once before the lock is taken, so a refusal leaves no lock file and no new
    folder behind either; under the lock it is made again on the current file.
    """
    source = OwnRolesFile(path)
    _changed(source, change)
    try:
        with locked(source.path):
            updated, text = _changed(source, change)
            write_atomically(source.path, text)
    except OSError as exc:
        raise RolesUpdateError(
            f"{display_path(source.path)} cannot be written ({exc.strerror or exc}). Fix: make "
            f"its folder writable by your user, or set ${OWN_FILE_ENV} to a file you may "
            "write.") from None
    return updated


def _changed(source: OwnRolesFile,
             change: Callable[[RolesFileV1], RolesFileV1]) -> tuple[RolesFileV1, str]:
    """The changed file and its exact text; raises if the change cannot be made."""
    updated = change(source.read_model() or RolesFileV1(version=1))
    text = render(updated)
    # Parse what we are about to write, so a rule the change broke stops the write.
    _parse(parse_own, json.loads(text), source.path)
    return updated, text

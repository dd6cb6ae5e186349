"""The formats of the roles files: ours (version 1) and SageMaker Studio's, as pydantic models.

The models are the single truth of each format: they validate what we read,
they generate the published JSON schema (``schemas/emr-roles.v1.schema.json``),
and ``render`` writes our file from them. Rules that span several fields (one
default per account, the access role in the cluster's account) are checked by
``rule_problems`` after the structure is known to be sound.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    WithJsonSchema,
)

from ..errors import InvalidLabel, Problem
from ..identifiers import (
    ACCOUNT_PATTERN,
    CLUSTER_PATTERN,
    ROLE_ARN_PATTERN,
    AccountId,
    ClusterId,
    RoleArn,
    show,
)
from ..jsonfile import dumps

FORMAT_VERSION = 1
MAX_LABEL = 100
SCHEMA_RESOURCE = "schemas/emr-roles.v1.schema.json"
SCHEMA_ID = "urn:jupyter-emr-roles:schema:emr-roles:v1"


# Control, invisible formatting and lone surrogate characters (the last cannot even be saved).
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs")


def check_label(value: str, source: str = "") -> str:
    """The one label rule, for the file's field and for a label given on the command line.

    Raises InvalidLabel (also a ValueError, so pydantic reports it against the field).
    """
    origin = f" from {source}" if source else ""
    if not value or value != value.strip(" "):
        raise InvalidLabel(f"the label {show(value)}{origin} is empty or has spaces at either end.")
    if len(value) > MAX_LABEL:
        raise InvalidLabel(
            f"the label {show(value, 40)}{origin} is longer than {MAX_LABEL} characters.")
    if any(unicodedata.category(char) in _HIDDEN_CATEGORIES for char in value):
        raise InvalidLabel(f"the label {show(value)}{origin} holds control, invisible "
                           "formatting or unpaired surrogate characters.")
    return value


def _checked_string(check: Any, **schema: Any) -> Any:
    """A string field checked by ``check`` (our own rule, raising a ValueError), published in
    the JSON schema with ``schema``'s keywords."""
    return Annotated[str, AfterValidator(check), WithJsonSchema({"type": "string", **schema})]


AccountKey = _checked_string(AccountId, pattern=ACCOUNT_PATTERN,
                             description="The 12-digit AWS account ID of the clusters.")
Arn = _checked_string(RoleArn, pattern=ROLE_ARN_PATTERN, description="The ARN of an IAM role.")
Label = _checked_string(check_label, minLength=1, maxLength=MAX_LABEL,
                        description="What the role selector shows instead of the ARN.")

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)
MAX_PATH = 4096
LIVY_URL_PATTERN = r"^https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?/?$"
_LIVY_URL = re.compile(LIVY_URL_PATTERN.removeprefix("^").removesuffix("$"), re.ASCII)


def _ca_path(value: str) -> str:
    if not value or len(value) > MAX_PATH or any(
            unicodedata.category(char) in ("Cc", "Cf") for char in value):
        raise ValueError(f"the CA bundle path {show(value, 60)} is empty, too long or holds "
                         "control characters")
    if not (value.startswith("/") or value.startswith("~/")):
        raise ValueError(f"the CA bundle path {show(value, 60)} is not absolute; write it from "
                         "/ (or ~/)")
    return value


def _livy_url(value: str) -> str:
    if not _LIVY_URL.fullmatch(value):
        raise ValueError(f"the Livy URL {show(value, 60)} is not of the form https://HOST:PORT")
    return value


CaPath = _checked_string(_ca_path, minLength=1, maxLength=MAX_PATH,
                         description="Absolute path (or ~/...) of a PEM file.")
LivyUrl = _checked_string(_livy_url, pattern=LIVY_URL_PATTERN,
                          description="https://HOST:PORT of a cluster's Livy.")
ClusterKey = _checked_string(ClusterId, pattern=CLUSTER_PATTERN, description="An EMR cluster ID.")


class RoleEntry(BaseModel):
    """One runtime role a user may pick."""

    model_config = _STRICT
    arn: Arn
    label: Label | None = None
    default: bool = Field(False, description="Preselect this role for clusters of the account.")


class ClusterSettings(BaseModel):
    """How to reach one cluster's Livy when the primary node's own names do not do."""

    model_config = _STRICT
    livy_url: LivyUrl = Field(description="https://HOST:PORT of the cluster's Livy (an SSH "
                                          "tunnel, a proxy, a DNS name its certificate names).")


class AccountRoles(BaseModel):
    """What a user may pick for clusters of one account, and how to trust their Livy."""

    model_config = _STRICT
    roles: list[RoleEntry] = Field(default_factory=list)
    access_role: Arn | None = Field(
        None, description="Role in the cluster's account to assume first (cross-account).")
    offer_caller_role: bool = Field(
        False, description="Also offer the user's own (caller) role, as Studio does.")
    ca_bundle: CaPath | None = Field(
        None, description="PEM file of the CA that signed the Livy certificates of this "
                          "account's clusters (their security configuration's certificates).")
    clusters: dict[ClusterKey, ClusterSettings] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False},
        description="Settings of single clusters of this account, by cluster ID.")


class RolesFileV1(BaseModel):
    """``~/.jupyter/emr-roles.json``: the runtime roles of one user, per cluster account."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True,
                              title="jupyter-emr-roles roles file, version 1")
    version: Literal[1]
    accounts: dict[AccountKey, AccountRoles] = Field(
        default_factory=dict, json_schema_extra={"additionalProperties": False})


class StudioRolesFile(BaseModel):
    """Studio's ``emr-configurations-DO_NOT_DELETE.json``; keys Studio may add later are ignored."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)
    emr_execution_role_arns: dict[AccountKey, list[Arn]] = Field(
        alias="emr-execution-role-arns")


class StudioCrossAccountFile(RootModel[dict[AccountKey, Arn]]):
    """Studio's ``emr-discovery-iam-role-arns-DO_NOT_DELETE.json``: account -> access role."""

    model_config = ConfigDict(strict=True, frozen=True)


def parse_own(document: Any, file: str) -> RolesFileV1:
    """Validate a parsed document as our format; raise the list of problems found."""
    _check_version(document, file)
    model = _validate(RolesFileV1, document, file)
    problems = rule_problems(model.accounts.items(), file)
    if problems:
        raise ProblemList(problems)
    return model


def parse_studio_roles(document: Any, file: str) -> StudioRolesFile:
    return _validate(StudioRolesFile, document, file)


def parse_studio_cross_account(document: Any, file: str) -> StudioCrossAccountFile:
    model = _validate(StudioCrossAccountFile, document, file)
    problems = [_access_role_problem(file, account, arn)
                for account, arn in model.root.items() if RoleArn(arn).account != account]
    if problems:
        raise ProblemList(problems)
    return model


class ProblemList(Exception):
    """Internal: every problem found in one document."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


def rule_problems(accounts: Iterable[tuple[str, AccountRoles]], file: str) -> list[Problem]:
    """The rules across fields of one account: one default, no contradicting duplicates."""
    problems = []
    for account, entry in accounts:
        key = f"accounts.{account}"
        defaults = [role.arn for role in entry.roles if role.default]
        if len(defaults) > 1:
            problems.append(Problem(
                file, f"{key}.roles",
                f"{len(defaults)} roles are marked as the default ({', '.join(defaults)}).",
                "mark exactly one of them with \"default\": true."))
        seen: dict[str, RoleEntry] = {}
        for index, role in enumerate(entry.roles):
            earlier = seen.setdefault(role.arn, role)
            if earlier != role:
                problems.append(Problem(
                    file, f"{key}.roles[{index}]",
                    f"{role.arn} is listed twice with a different label or default.",
                    "keep one entry for it."))
        if entry.access_role and RoleArn(entry.access_role).account != account:
            problems.append(_access_role_problem(file, account, entry.access_role, key + ".access_role"))
    return problems


def _access_role_problem(file: str, account: str, arn: str, key: str = "") -> Problem:
    return Problem(
        file, key or account,
        f"the access role {arn} is in account {RoleArn(arn).account}, but it is listed for "
        f"clusters of account {account}; an access role is assumed in the cluster's account.",
        f"list it under account {RoleArn(arn).account}, or name a role of account {account}.")


def _check_version(document: Any, file: str) -> None:
    if not isinstance(document, dict):
        return  # the schema reports the wrong top-level type
    version = document.get("version")
    if "version" not in document:
        raise ProblemList([Problem(file, "version", "the key \"version\" is missing.",
                                   f"add \"version\": {FORMAT_VERSION} at the top.")])
    if type(version) is int and version > FORMAT_VERSION:
        raise ProblemList([Problem(
            file, "version",
            f"the file is format version {version}, newer than this jupyter-emr-roles "
            f"understands (version {FORMAT_VERSION}).",
            "upgrade with `pip install -U jupyter-emr-roles`, or rewrite it as version 1.")])
    if version != FORMAT_VERSION or type(version) is not int:
        raise ProblemList([Problem(file, "version", f"the version {show(version)} is not known.",
                                   f"write \"version\": {FORMAT_VERSION} (a number).")])


def _validate(model: Any, document: Any, file: str) -> Any:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ProblemList([_problem(model, error, file) for error in exc.errors()]) from None


_EXPECTED = {
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "literal_error": "1",
}


def _problem(model: Any, error: Any, file: str) -> Problem:
    loc = tuple(part for part in error["loc"] if part != "[key]")
    key = _key_path(loc)
    kind = error["type"]
    if kind == "missing":
        return Problem(file, key, f"the key {json.dumps(str(loc[-1]))} is missing.", "add it.")
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(model, loc))
        return Problem(file, key, f"the key {show(str(loc[-1]))} is not part of the format.",
                       f"remove it or correct its spelling (allowed here: {allowed}).")
    if kind in _EXPECTED:
        what = "the file" if not loc else "the value"
        return Problem(file, key, f"{what} should be {_EXPECTED[kind]}, not "
                                  f"{_json_kind(error['input'])}.",
                       "see `jupyter-emr-roles roles schema` for the format.")
    if kind == "value_error":
        reason = str(error["ctx"]["error"])
        return Problem(file, key, reason[0].upper() + reason[1:] + ("" if reason.endswith(".") else "."))
    return Problem(file, key, error["msg"] + ".")


def _key_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            part = str(part)
            shown = part if part.replace("-", "").replace("_", "").isalnum() and part.isascii() \
                else show(part, 40)
            text += ("." if text else "") + shown
    return text


def _allowed_keys(model: Any, loc: tuple[Any, ...]) -> list[str]:
    if model is not RolesFileV1:
        return []
    if "roles" in loc[:-1]:
        fields = RoleEntry.model_fields
    elif "accounts" in loc[:-1]:
        fields = AccountRoles.model_fields
    else:
        fields = RolesFileV1.model_fields
    return list(fields)


def _json_kind(value: Any) -> str:
    names = {bool: "true/false", str: "a string", int: "a number", float: "a number",
             list: "a list", dict: "an object", type(None): "null"}
    kind = names.get(type(value), type(value).__name__)
    return f"{kind} ({show(value, 40)})" if isinstance(value, (str, int, float)) else kind


def render(model: RolesFileV1) -> str:
    """Our file's exact bytes: fixed key order, defaults left out, accounts sorted.

    The lifecycle scripts produce the same bytes, so a file written by either
    one is never rewritten by the other when nothing changed.
    """
    accounts: dict[str, Any] = {}
    for account in sorted(model.accounts):
        entry = model.accounts[account]
        rendered: dict[str, Any] = {"roles": [_render_role(role) for role in entry.roles]}
        if entry.access_role:
            rendered["access_role"] = entry.access_role
        if entry.offer_caller_role:
            rendered["offer_caller_role"] = True
        if entry.ca_bundle:
            rendered["ca_bundle"] = entry.ca_bundle
        if entry.clusters:
            rendered["clusters"] = {cluster_id: entry.clusters[cluster_id].model_dump()
                                    for cluster_id in sorted(entry.clusters)}
        accounts[account] = rendered
    return dumps({"version": FORMAT_VERSION, "accounts": accounts})


def _render_role(role: RoleEntry) -> dict[str, Any]:
    rendered: dict[str, Any] = {"arn": role.arn}
    if role.label:
        rendered["label"] = role.label
    if role.default:
        rendered["default"] = True
    return rendered


def json_schema() -> dict[str, Any]:
    """The JSON schema of our format, generated from the model (the published file is its copy)."""
    schema = RolesFileV1.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
